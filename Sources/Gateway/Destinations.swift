import Delivery
import Foundation
import GatewayCore
import Intake

/// How often to try again after a transient failure: exponential backoff with jitter.
public struct RetryPolicy: Sendable, Hashable {
    public var attempts: Int
    public var initialDelay: TimeInterval
    public var maxDelay: TimeInterval

    public init(attempts: Int = 4, initialDelay: TimeInterval = 2, maxDelay: TimeInterval = 60) {
        self.attempts = attempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `n` (counting from 2), with ±20 % jitter so that many
    /// gateways do not hammer a recovering server in step.
    public func delay(beforeAttempt n: Int, jitter: Double) -> TimeInterval {
        let base = min(maxDelay, initialDelay * pow(2, Double(n - 2)))
        return base * (0.8 + 0.4 * min(max(jitter, 0), 1))
    }
}

/// One SFTP destination from gateway.yml (`destinations:`), as the operator's interconnect
/// specification gives it.
public struct DestinationSettings: Sendable {
    /// Where a key's passphrase is read from when connecting; gateway.yml never holds it.
    public enum PassphraseSource: Sendable, CustomStringConvertible {
        case environment(String)
        case file(String)
        public var description: String {
            switch self {
            case .environment(let name): "environment variable \(name)"
            case .file(let path): "file \(path)"
            }
        }
    }

    public var name: String
    /// The endpoint without its passphrase: see `connectionEndpoint()`.
    public var endpoint: SFTPEndpoint
    public var passphraseSource: PassphraseSource?
    public var remoteDirectory: String
    /// Where files are written before the rename; default: the remote directory itself.
    public var uploadDirectory: String?
    /// The outbox folder that feeds this destination.
    public var outboxFolder: String
    /// The remote name: `{name}` (the outbox file's name), `{stem}`, `{ext}`, `{invoice}`, `{date}`.
    public var fileName: String
    /// An empty file written after each upload under the final name plus this suffix.
    public var doneMarker: String?
    /// Minutes between runs, or times of day in the client's time zone; `gateway run` keeps them.
    public var everyMinutes: Int?
    public var timesOfDay: [TimeOfDay]
    public var retry: RetryPolicy

    /// The endpoint with the key's passphrase read from its source now, so that a missing
    /// passphrase stops only this destination, and never start-up.
    public func connectionEndpoint() throws(SFTPError) -> SFTPEndpoint {
        var endpoint = self.endpoint
        switch passphraseSource {
        case nil: break
        case .environment(let name)?:
            guard let value = ProcessInfo.processInfo.environment[name] else {
                throw .authentication("the key's passphrase is read from the environment variable \(name), which is not set")
            }
            endpoint.passphrase = value
        case .file(let path)?:
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw .authentication("the key's passphrase is read from \(path), which cannot be read")
            }
            endpoint.passphrase = text.trimmingCharacters(in: .newlines)
        }
        return endpoint
    }

    /// The `fileName` pattern filled in, in one pass (Foundation's string replacing goes
    /// through ICU's regular expressions on Linux, and this runs for every file of a push).
    func remoteName(for local: String, invoice: String?, date: CivilDate) -> String {
        Self.fill(fileName, local: local, invoice: invoice, date: date)
    }

    /// A file name pattern (`{name}`, `{stem}`, `{ext}`, `{invoice}`, `{date}`) filled in.
    static func fill(_ fileName: String, local: String, invoice: String?, date: CivilDate) -> String {
        let dot = local.lastIndex(of: ".").flatMap { $0 == local.startIndex ? nil : $0 }
        let stem = dot.map { String(local[..<$0]) } ?? local
        let ext = dot.map { String(local[local.index(after: $0)...]) } ?? ""
        let values = ["name": local, "stem": stem, "ext": ext, "invoice": invoice ?? stem, "date": date.compact]
        var name = ""
        var rest = fileName[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            name += rest[..<open]
            name += values[String(rest[rest.index(after: open)..<close])] ?? String(rest[open...close])
            rest = rest[rest.index(after: close)...]
        }
        return name + rest
    }

    /// `retry: {attempts, initialDelay, maxDelay}` (seconds), for a destination or the relay.
    static func readRetry(_ r: Fields) throws(DocumentRefusal) -> RetryPolicy {
        try r.allowOnly(["attempts", "initialDelay", "maxDelay"])
        return RetryPolicy(attempts: try r.optionalInteger("attempts", range: 1...20) ?? 4,
                           initialDelay: TimeInterval(try r.optionalInteger("initialDelay", range: 0...3600) ?? 2),
                           maxDelay: TimeInterval(try r.optionalInteger("maxDelay", range: 0...86400) ?? 60))
    }

    static func read(_ name: String, _ f: Fields, home: URL) throws(DocumentRefusal) -> DestinationSettings {
        try f.allowOnly(["host", "port", "user", "key", "passphraseEnv", "passphraseFile", "knownHosts", "remoteDirectory",
                         "uploadDirectory", "outbox", "fileName", "doneMarker", "schedule", "connectTimeout", "timeout", "retry"])
        func path(_ text: String) -> String { text.hasPrefix("/") ? text : home.appendingPathComponent(text).standardized.path }
        var source: PassphraseSource?
        if let variable = try f.optionalText("passphraseEnv") {
            source = .environment(variable)
        } else if let file = try f.optionalText("passphraseFile", maxLength: 1000) {
            source = .file(path(file))
        }
        let remote = try f.requiredText("remoteDirectory", maxLength: 500)
        let pattern = try f.optionalText("fileName", maxLength: 200) ?? "{name}"
        if pattern.contains("/") { throw DocumentRefusal(field: f.path("fileName"), expected: "a file name pattern without /", found: pattern) }
        var every: Int?
        var times: [TimeOfDay] = []
        if let schedule = try f.optionalObject("schedule") {
            try schedule.allowOnly(["every", "at"])
            every = try schedule.optionalInteger("every", range: 1...1440)
            if let at = schedule.members["at"], case .array(let items) = at {
                for item in items {
                    guard case .string(let text) = item, let time = TimeOfDay(text) else {
                        throw DocumentRefusal(field: schedule.path("at"), expected: "times of day HH:MM", found: item.shortDescription)
                    }
                    times.append(time)
                }
            }
        }
        let retry = try f.optionalObject("retry").map { (r: Fields) throws(DocumentRefusal) in try readRetry(r) } ?? RetryPolicy()
        return DestinationSettings(
            name: name,
            endpoint: SFTPEndpoint(
                host: try f.requiredText("host"), port: try f.optionalInteger("port", range: 1...65535) ?? 22,
                user: try f.requiredText("user"), privateKey: path(try f.requiredText("key", maxLength: 1000)),
                knownHosts: path(try f.optionalText("knownHosts", maxLength: 1000) ?? "known_hosts"),
                connectTimeout: TimeInterval(try f.optionalInteger("connectTimeout", range: 1...600) ?? 10),
                ioTimeout: TimeInterval(try f.optionalInteger("timeout", range: 1...3600) ?? 30)),
            passphraseSource: source, remoteDirectory: remote, uploadDirectory: try f.optionalText("uploadDirectory", maxLength: 500),
            outboxFolder: try f.optionalIdentifier("outbox") ?? name, fileName: pattern,
            doneMarker: try f.optionalText("doneMarker", maxLength: 20), everyMinutes: every, timesOfDay: times, retry: retry)
    }
}

/// A local or mounted directory that an outbox folder is delivered to (`folders:` in
/// gateway.yml), such as the share an ERP imports from.
public struct FolderDestination: Sendable {
    public var name: String
    public var directory: String
    /// The outbox folder that feeds it.
    public var outboxFolder: String
    /// The file's name there, with the placeholders of an SFTP destination's `fileName`.
    public var fileName: String
    public var retry: RetryPolicy

    static func read(_ name: String, _ f: Fields, home: URL) throws(DocumentRefusal) -> FolderDestination {
        try f.allowOnly(["directory", "outbox", "fileName", "retry"])
        let directory = try f.requiredText("directory", maxLength: 1000)
        let pattern = try f.optionalText("fileName", maxLength: 200) ?? "{name}"
        if pattern.contains("/") { throw DocumentRefusal(field: f.path("fileName"), expected: "a file name pattern without /", found: pattern) }
        return FolderDestination(
            name: name, directory: directory.hasPrefix("/") ? directory : home.appendingPathComponent(directory).standardized.path,
            outboxFolder: try f.optionalIdentifier("outbox") ?? name, fileName: pattern,
            retry: try f.optionalObject("retry").map { (r: Fields) throws(DocumentRefusal) in try DestinationSettings.readRetry(r) } ?? RetryPolicy(attempts: 1))
    }

    /// The name a file goes under: the same placeholders as an SFTP destination's.
    func name(for local: String, invoice: String?, date: CivilDate) -> String {
        DestinationSettings.fill(fileName, local: local, invoice: invoice, date: date)
    }
}
