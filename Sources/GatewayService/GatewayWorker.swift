import Dispatch
import Foundation
import Gateway

/// Where the service's work on the home happens, one job at a time and off the concurrency
/// pool: a gateway run blocks on SQLite, libxml2 and sockets for as long as it takes.
/// `@unchecked Sendable`: the gateway is only touched (and replaced) on the serial queue.
final class GatewayWorker: @unchecked Sendable {
    private var gateway: Gateway
    private let queue = DispatchQueue(label: "gateway.worker")
    /// Runs when the group gives up waiting on a job at the stop time-out.
    private let abandon: @Sendable () -> Void

    init(_ gateway: Gateway, abandon: @escaping @Sendable () -> Void) {
        self.gateway = gateway
        self.abandon = abandon
    }

    /// Reads gateway.yml, the mappings and the templates again into a new gateway that takes
    /// over the home; when any of them is broken, says why and keeps the running one.
    func reload() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async {
                continuation.resume(with: Result {
                    let fresh = try Gateway(home: self.gateway.home.root, clock: self.gateway.clock)
                    self.gateway.handOverHome(to: fresh)
                    self.gateway = fresh
                })
            }
        }
    }

    /// A job cannot stop half-way; when the service group's stop time-out cancels the wait,
    /// `abandon` ends the process, leaving the job as a `kill -9` would, which every step is
    /// built to resume from.
    func perform<T: Sendable>(_ job: @escaping @Sendable (Gateway) throws -> T) async throws -> T {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async { continuation.resume(with: Result { try job(self.gateway) }) }
            }
        } onCancel: {
            abandon()
        }
    }
}
