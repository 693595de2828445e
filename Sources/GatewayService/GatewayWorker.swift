import Dispatch
import Foundation
import Gateway

/// Where the service's work on the home happens, off the concurrency pool (a gateway run
/// blocks on SQLite, libxml2 and sockets for as long as it takes), in two lanes of one job at a
/// time each: intake (the inbox, invoicing, publishing, reminders) and delivery (every push).
/// A slow or unreachable server then holds up only the sends behind it, never the inbox.
/// The gateway keeps the two apart where they meet, in the outbox and the ledger. Reading
/// (the health check, the metrics) happens beside both.
/// `@unchecked Sendable`: the gateway is replaced only while both lanes are held, and under
/// `current`'s lock for readers.
final class GatewayWorker: @unchecked Sendable {
    enum Lane: Sendable {
        case intake
        case delivery
    }

    private var gateway: Gateway
    private let current = NSLock()
    private let intake = DispatchQueue(label: "gateway.intake")
    private let delivery = DispatchQueue(label: "gateway.delivery")
    /// Runs when the group gives up waiting on a job at the stop time-out.
    private let abandon: @Sendable () -> Void

    init(_ gateway: Gateway, abandon: @escaping @Sendable () -> Void) {
        self.gateway = gateway
        self.abandon = abandon
    }

    /// Reads gateway.yml, the mappings and the templates again into a new gateway that takes
    /// over the home, once neither lane has a job in hand; when any of them is broken, says
    /// why and keeps the running one.
    func reload() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            intake.async {
                continuation.resume(with: Result {
                    try self.delivery.sync {
                        let fresh = try Gateway(home: self.gateway.home.root, clock: self.gateway.clock)
                        self.gateway.handOverHome(to: fresh)
                        self.current.withLock { self.gateway = fresh }
                    }
                })
            }
        }
    }

    /// A job cannot stop half-way; when the service group's stop time-out cancels the wait,
    /// `abandon` ends the process, leaving the job as a `kill -9` would, which every step is
    /// built to resume from.
    func perform<T: Sendable>(_ lane: Lane, _ job: @escaping @Sendable (Gateway) throws -> T) async throws -> T {
        let queue = lane == .intake ? intake : delivery
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async { continuation.resume(with: Result { try job(self.gateway) }) }
            }
        } onCancel: {
            abandon()
        }
    }

    /// Reads the home beside both lanes (SQLite's WAL lets readers be), off the concurrency
    /// pool: a read may wait on the disk.
    func inspect<T: Sendable>(_ job: @escaping @Sendable (Gateway) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try job(self.current.withLock { self.gateway }) })
            }
        }
    }
}
