import Foundation
import GatewayCore
#if canImport(Glibc)
import Glibc
#endif

/// An operator command given while `gateway run` holds the home: written into `inbox/` as the
/// contract's operator document (approve, credit, remind, send), where the service applies it
/// like any other file, and waited for until the file is archived or refused.
public struct ServiceHandOver {
    public enum Outcome: Equatable {
        case applied
        /// What the refusal report says.
        case refused(String)
        /// The service has not finished the file yet; it stays in the inbox.
        case waiting(file: String)
    }

    public let home: GatewayHome
    public var timeout: Duration = .seconds(60)

    public init(home: GatewayHome) { self.home = home }

    /// Hands `documents` (objects of the inbox contract) to the service and waits for them.
    public func submit(_ documents: [[String: String]], command: String) throws -> Outcome {
        let name = "\(command)-\(getpid())-\(UUID().uuidString.prefix(8)).json"
        // The wrapper's other members are not read; this one makes each hand-over a file of its
        // own, so that giving the same command again is not taken for a duplicate file.
        let wrapper: [String: Any] = ["documents": documents, "handedOverBy": "gateway \(command), pid \(getpid()), \(name)"]
        let bytes = try JSONSerialization.data(withJSONObject: wrapper, options: [.sortedKeys])
        // Written under a temporary name and renamed in, so the watcher sees it whole.
        let target = home.inbox.appendingPathComponent(name)
        let temporary = home.inbox.appendingPathComponent(FileMoves.temporaryName(of: name))
        try Data(bytes).write(to: temporary)
        try FileMoves.rename(temporary, to: target)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let archived = stored(name, in: home.archive), !archived.hasSuffix(".reason.json") { return .applied }
            if let report = stored(name + ".reason.json", in: home.refused) {
                return .refused(Self.reasons(in: home.refused.appendingPathComponent(report)))
            }
            usleep(50_000)
        }
        return .waiting(file: home.relative(target))
    }

    /// The refusal report in a line per refused document: "invoiceNumber: expected ..., found ...".
    static func reasons(in report: URL) -> String {
        guard let data = try? Data(contentsOf: report),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return report.path }
        let refused = (object["refused"] as? [[String: Any]] ?? []).map { entry in
            let said = [(entry["expected"] as? String).map { "expected \($0)" }, (entry["found"] as? String).map { "found \($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
            return (entry["field"] as? String).map { "\($0): \(said)" } ?? said
        }
        let reason = object["reason"] as? String ?? "refused"
        return ([reason] + refused.map { "  " + $0 }).joined(separator: "\n") + "\n(report: \(report.path))"
    }

    /// Kept files are named `STAMP_HASH_NAME`.
    private func stored(_ name: String, in folder: URL) -> String? {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).first { $0.hasSuffix("_" + name) }
    }
}
