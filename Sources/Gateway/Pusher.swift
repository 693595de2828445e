import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger

public struct PushSummary: Sendable, Codable {
    public var delivered = 0
    public var alreadyThere = 0
    public var failed = 0
    public var bytes: UInt64 = 0
    public var errors: [String] = []
}

/// Delivers outbox files to SFTP destinations exactly once: one session per destination and
/// run, upload to a temporary name, size check, rename; the ledger records each delivery
/// before and after, so a restart never uploads a delivered file again.
struct Pusher {
    let home: GatewayHome
    let ledger: any Ledger
    let configuration: GatewayConfiguration
    let clock: any GatewayClock
    var sleep: (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }
    var random: () -> Double = { Double.random(in: 0...1) }
    var progress: ((String) -> Void)?

    enum Selection {
        /// Files not delivered yet, except those whose last try failed.
        case pending
        /// Also the failed ones (`push --retry-failed`).
        case pendingAndFailed
        /// The files of one invoice, whatever happened before (`send N`).
        case invoice(String)
    }

    func run(destinations names: [String]? = nil, selection: Selection = .pending) throws -> PushSummary {
        var summary = PushSummary()
        let chosen = (names ?? configuration.destinations.keys.sorted()).compactMap { configuration.destinations[$0] }
        for destination in chosen {
            try push(destination, selection: selection, &summary)
        }
        return summary
    }

    private func files(for destination: DestinationSettings, selection: Selection) throws -> [URL] {
        let folder = home.outbox.appendingPathComponent(destination.outboxFolder)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return try names.compactMap { name -> URL? in
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
            let path = home.relative(url)
            switch selection {
            case .pending:
                return try ledger.read { try $0.delivery(destination: destination.name, path: path) }?.state == .failed ? nil : url
            case .pendingAndFailed:
                return url
            case .invoice(let number):
                return try ledger.read { try $0.invoiceNumber(forFile: path) } == number ? url : nil
            }
        }
    }

    private func push(_ destination: DestinationSettings, selection: Selection, _ summary: inout PushSummary) throws {
        var remaining = try files(for: destination, selection: selection)
        guard !remaining.isEmpty else { return }
        var attempt = 1
        while !remaining.isEmpty {
            do {
                // One session for every file of this destination: no connection per file.
                let connection = try SFTPConnection(try destination.connectionEndpoint())
                defer { connection.close() }
                while let file = remaining.first {
                    try deliver(file, to: destination, over: connection, &summary)
                    remaining.removeFirst()
                }
            } catch let error as SFTPError {
                if error.isTransient, attempt < destination.retry.attempts {
                    attempt += 1
                    let wait = destination.retry.delay(beforeAttempt: attempt, jitter: random())
                    progress?("\(destination.name): \(error); attempt \(attempt) of \(destination.retry.attempts) in \(String(format: "%.1f", wait)) s")
                    sleep(wait)
                    continue
                }
                let reason = error.isTransient ? "\(error) (gave up after \(attempt) attempts)" : "\(error)"
                summary.errors.append("\(destination.name): \(reason)")
                for file in remaining { try recordFailure(file, destination: destination, reason: reason) }
                summary.failed += remaining.count
                remaining.removeAll()
            }
        }
    }

    private func deliver(_ file: URL, to destination: DestinationSettings, over connection: SFTPConnection,
                         _ summary: inout PushSummary) throws {
        let now = clock.now
        let path = home.relative(file)
        let bytes = try Data(contentsOf: file)
        let sha = SHA256.hex(Array(bytes))
        let invoice = try ledger.read { try $0.invoiceNumber(forFile: path) }
        let remoteName = destination.remoteName(for: file.lastPathComponent, invoice: invoice,
                                                date: CivilDate(now, in: TimeZone(identifier: configuration.client.timeZone) ?? .current))
        let final = destination.remoteDirectory + "/" + remoteName
        let temporary = (destination.uploadDirectory ?? destination.remoteDirectory) + "/.\(remoteName).part"
        let earlier = try ledger.read { try $0.delivery(destination: destination.name, path: path) }
        var record = DeliveryRecord(destination: destination.name, path: path, invoiceNumber: invoice, remotePath: final,
                                    size: bytes.count, sha256: sha, state: .started, attempts: (earlier?.attempts ?? 0) + 1,
                                    error: nil, at: now)
        if let earlier, earlier.state == .delivered, earlier.sha256 == sha {
            // Delivered and recorded before a crash; only the local move was left.
            try finish(file, record: earlier)
            summary.alreadyThere += 1
            return
        }
        try ledger.write { tx in try tx.saveDelivery(record) }
        let remoteSize = try connection.size(of: final)
        if let remoteSize {
            // The final name exists: ours from a run that died before recording it, or a
            // stranger's. Only the first may count as delivered; nothing is ever overwritten.
            guard earlier?.state == .started, earlier?.sha256 == sha, remoteSize == UInt64(bytes.count) else {
                throw SFTPError.remote(operation: "uploading", path: final, code: 11,
                                       message: "a file of \(remoteSize) bytes already has that name on the server; not overwriting it")
            }
            summary.alreadyThere += 1
        } else {
            progress?("\(destination.name): \(file.lastPathComponent)")
            summary.bytes += try connection.upload(file, temporary: temporary, final: final)
            if let marker = destination.doneMarker { try connection.touch(final + marker) }
            summary.delivered += 1
        }
        record.state = .delivered
        record.at = clock.now
        let how = "by SFTP to \(destination.endpoint.user)@\(destination.endpoint.host):\(final) (\(bytes.count) bytes, SHA-256 \(sha.prefix(16))...)"
        try ledger.write { tx in
            try tx.saveDelivery(record)
            if let invoice, let current = try tx.invoice(invoice)?.invoice {
                // D4: sent, and the history says when, how and to whom.
                let status: InvoiceStatus = current.status == .waiting || current.status == .ready ? .sent : current.status
                try tx.setStatus(invoice: invoice, to: status, at: record.at, event: "sent", detail: "\(destination.name): \(how)")
            }
        }
        try finish(file, record: record)
    }

    /// Moves a delivered file to `sent/` beside it and tells the ledger where it went.
    private func finish(_ file: URL, record: DeliveryRecord) throws {
        let target = file.deletingLastPathComponent().appendingPathComponent("sent").appendingPathComponent(file.lastPathComponent)
        try FileMoves.rename(file, to: target)
        if let invoice = record.invoiceNumber {
            try ledger.write { tx in try tx.moveFile(invoice: invoice, from: record.path, to: home.relative(target)) }
        }
    }

    /// D5: the invoice goes back to its earlier status with the error in its history; the
    /// file stays in the outbox for `gateway send N` or `gateway push --retry-failed`.
    private func recordFailure(_ file: URL, destination: DestinationSettings, reason: String) throws {
        let now = clock.now
        let path = home.relative(file)
        try ledger.write { tx in
            let earlier = try tx.delivery(destination: destination.name, path: path)
            let invoice = try tx.invoiceNumber(forFile: path)
            try tx.saveDelivery(DeliveryRecord(
                destination: destination.name, path: path, invoiceNumber: invoice, remotePath: earlier?.remotePath ?? "",
                size: earlier?.size ?? 0, sha256: earlier?.sha256 ?? "", state: .failed, attempts: (earlier?.attempts ?? 0) + (earlier == nil ? 1 : 0),
                error: reason, at: now))
            if let invoice, let current = try tx.invoice(invoice)?.invoice {
                let status: InvoiceStatus = current.status == .waiting ? .ready : current.status
                try tx.setStatus(invoice: invoice, to: status, at: now, event: "send failed", detail: "\(destination.name): \(reason)")
            }
        }
    }
}
