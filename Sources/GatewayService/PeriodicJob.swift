import Distribution
import Foundation
import Gateway
import GatewayCore
import Logging
import ServiceLifecycle

/// A job that runs at the times a pure schedule gives, once at start (a run missed while the
/// service was down happens then), until the service group stops.
struct PeriodicJob: Service {
    let name: String
    let clock: any GatewayClock
    /// The next run after the previous one.
    let next: @Sendable (Date) -> Date
    let job: @Sendable () async throws -> Void
    let state: ServiceState
    let logger: Logger

    func run() async throws {
        var last = clock.now
        while !Task.isShuttingDownGracefully {
            do {
                try await job()
            } catch is CancellationError {
                return
            } catch {
                // The next run tries again; the ledger already says what failed and why.
                logger.error("\(name) failed", metadata: ["error": "\(error)"])
            }
            let due = next(last)
            last = due
            await state.scheduled(name, next: due)
            let wait = due.timeIntervalSince(clock.now)
            if wait > 0 {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
                } catch {
                    return
                }
            }
        }
    }
}

/// One delivery run of the service, with a line in the log of what it did.
struct DeliveryRun: Sendable {
    let label: String
    let worker: GatewayWorker
    let metrics: ServiceMetrics
    let logger: Logger
    let push: @Sendable (Gateway) throws -> PushSummary

    func run() async throws {
        let started = ContinuousClock.now
        let summary = try await worker.perform(.delivery, push)
        metrics.deliveryRun(label, ContinuousClock.now - started)
        if summary.delivered + summary.failed + summary.held.count > 0 {
            logger.info("delivered", metadata: [
                "run": "\(label)", "delivered": "\(summary.delivered)", "failed": "\(summary.failed)", "held": "\(summary.held.count)",
            ])
        }
        for error in summary.errors { logger.warning("delivery failed", metadata: ["run": "\(label)", "error": "\(error)"]) }
    }
}
