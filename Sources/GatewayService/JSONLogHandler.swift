import Foundation
import GatewayCore
import Logging

/// `--log-format json`: one JSON object per line on stderr (`time`, `level`, `message`, then
/// the metadata as strings), for journald or a log shipper.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let clock: any GatewayClock

    public init(label: String, clock: any GatewayClock = SystemClock()) {
        self.label = label
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = ["time": Instant.format(clock.now), "level": event.level.rawValue,
                                        "message": event.message.description, "logger": label]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) where fields[key] == nil {
            fields[key] = value.description
        }
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(line)
    }
}
