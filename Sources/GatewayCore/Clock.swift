import Foundation

/// Where "now" comes from. Injected everywhere so that schedules and windows test without sleeping.
public protocol GatewayClock: Sendable {
    var now: Date { get }
}

public struct SystemClock: GatewayClock {
    public init() {}
    public var now: Date { Date() }
}

/// A clock that stands still until told to move; for tests.
public final class FixedClock: GatewayClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    public init(_ date: Date) { current = date }
    public var now: Date { lock.withLock { current } }
    public func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// A clock that starts at a chosen instant and runs on with real time: `GATEWAY_NOW`, with
/// which operators rehearse a schedule or a reminder run and end-to-end tests skip waiting.
/// It moves what the gateway calls "now" and nothing else: sleeps, time-outs and retries run
/// on real time.
public struct ShiftedClock: GatewayClock {
    public static let variable = "GATEWAY_NOW"
    /// How far the gateway's "now" is from the real one, in seconds.
    public let offset: TimeInterval

    public init(startingAt start: Date, realNow: Date = Date()) {
        offset = start.timeIntervalSince(realNow)
    }

    public var now: Date { Date().addingTimeInterval(offset) }

    public struct Problem: Error, CustomStringConvertible {
        public let value: String
        public var description: String {
            "\(ShiftedClock.variable) is \"\(value)\", not an ISO 8601 instant such as 2027-01-15T09:00:00+01:00 (unset it to use the real time)"
        }
    }

    /// The clock `GATEWAY_NOW` asks for, or nil when it is not set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(Problem) -> ShiftedClock? {
        guard let value = environment[variable], !value.isEmpty else { return nil }
        guard let start = Instant.parse(value) else { throw Problem(value: value) }
        return ShiftedClock(startingAt: start)
    }
}
