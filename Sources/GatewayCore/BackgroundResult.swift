import Foundation

/// Work started on another thread at once, whose result is waited for where it is needed (as
/// often as needed): the publishing beside intake, an SFTP session opened while the ledger is read.
public final class BackgroundResult<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<Value, any Error>!

    public init(_ work: @escaping @Sendable () throws -> Value) {
        DispatchQueue.global().async { [self] in
            outcome = Result { try work() }
            done.signal()
        }
    }

    /// Waits for the work the first time; later calls return at once.
    public var result: Result<Value, any Error> {
        done.wait()
        done.signal()
        return outcome
    }
}
