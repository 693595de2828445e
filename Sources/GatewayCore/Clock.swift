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
