import Foundation

/// Keeps publishing and delivery in one process from seeing each other's half-done work when
/// they run beside each other (the service): a file is written into the outbox before the
/// ledger records whose it is, so a delivery that listed the folder in between would send a
/// file its invoice does not know of yet. Publishing holds the gate from its first file to its
/// commit; a delivery holds it while it lists and looks up what to send. Both are short: no
/// rendering and no network happen inside.
final class OutboxGate: Sendable {
    private let lock = NSLock()

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try lock.withLock(body)
    }
}
