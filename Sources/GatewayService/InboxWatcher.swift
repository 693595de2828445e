@preconcurrency import Dispatch
import Foundation
import Gateway
import GatewayCore
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// Says when something may have arrived in `inbox/`: inotify's `IN_CLOSE_WRITE` (a writer
/// finished) and `IN_MOVED_TO` (an atomic writer renamed into place), or a listing every
/// `pollInterval` where inotify sees nothing (a network file system). One signal stands for
/// any number of files: the run it starts takes every ready file.
struct InboxChanges: AsyncSequence, Sendable {
    /// When the change was seen. Changes that come while a run is busy keep the first one's
    /// time, for the pickup latency of the run that takes them.
    typealias Element = ContinuousClock.Instant
    let stream: AsyncStream<ContinuousClock.Instant>

    struct Unwatchable: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "cannot watch \(path) with inotify: \(reason); set `service: {watch: poll}` in gateway.yml" }
    }

    static func inotify(_ inbox: URL) throws -> InboxChanges {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw Unwatchable(path: inbox.path, reason: String(cString: strerror(errno))) }
        guard inotify_add_watch(descriptor, inbox.path, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO)) >= 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Unwatchable(path: inbox.path, reason: reason)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: ContinuousClock.Instant.self, bufferingPolicy: .bufferingOldest(1))
        let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: DispatchQueue(label: "gateway.inbox-watch"))
        source.setEventHandler { @Sendable in
            // Drain the events; their names do not matter, the run lists the inbox itself.
            var buffer = [UInt8](repeating: 0, count: 4096)
            while read(descriptor, &buffer, buffer.count) > 0 {}
            continuation.yield(.now)
        }
        source.setCancelHandler { @Sendable in close(descriptor) }
        continuation.onTermination = { @Sendable _ in source.cancel() }
        source.resume()
        continuation.yield(.now)   // the files already there
        return InboxChanges(stream: stream)
    }

    static func polling(every interval: Duration) -> InboxChanges {
        let (stream, continuation) = AsyncStream.makeStream(of: ContinuousClock.Instant.self, bufferingPolicy: .bufferingOldest(1))
        let ticker = Task {
            while !Task.isCancelled {
                continuation.yield(.now)
                try? await Task.sleep(for: interval)
            }
        }
        continuation.onTermination = { @Sendable _ in ticker.cancel() }
        return InboxChanges(stream: stream)
    }

    func makeAsyncIterator() -> AsyncStream<ContinuousClock.Instant>.AsyncIterator { stream.makeAsyncIterator() }
}

/// The watcher: each change in `inbox/` becomes a `process` run. A run that fails (the ledger
/// cannot be written, a disk is full) is logged and the next change tries again: the files stay
/// in the inbox.
struct InboxWatcher: Service {
    let changes: InboxChanges
    let processing: ProcessRun
    let state: ServiceState
    let logger: Logger

    func run() async throws {
        await state.watcherStarted()
        for await seen in changes.cancelOnGracefulShutdown() {
            do {
                try await processing.run(changeSeen: seen)
            } catch is CancellationError {
                break
            } catch {
                // The failure is in the state for /health; the files stay in the inbox for the next run.
                logger.error("processing the inbox failed", metadata: ["error": "\(error)"])
            }
        }
        await state.watcherStopped()
    }
}

/// One `process` run of the service (intake, invoices due, publishing), logged; then the sends
/// that are not on a schedule are woken, to run in the delivery lane while intake goes on.
struct ProcessRun: Sendable {
    let worker: GatewayWorker
    let wakeDelivery: @Sendable () -> Void
    let metrics: ServiceMetrics
    let state: ServiceState
    let clock: any GatewayClock
    let logger: Logger

    /// `changeSeen`: when the watcher saw what this run takes, for the pickup latency.
    func run(changeSeen: ContinuousClock.Instant?) async throws {
        let summary: Gateway.ProcessSummary
        do {
            summary = try await worker.perform(.intake) { try $0.process() }
            await state.processSucceeded()
        } catch {
            await state.processFailed(error, at: clock.now)
            throw error
        }
        if let changeSeen, summary.publishing.published > 0 { metrics.pickup(ContinuousClock.now - changeSeen) }
        let intake = summary.intake
        if intake.filesAccepted + intake.filesPartlyRefused + intake.filesRefused + intake.filesDuplicate > 0 || summary.publishing.published > 0 {
            logger.info("processed the inbox", metadata: [
                "accepted": "\(intake.filesAccepted)", "partlyRefused": "\(intake.filesPartlyRefused)", "refused": "\(intake.filesRefused)",
                "duplicates": "\(intake.filesDuplicate)", "published": "\(summary.publishing.published)", "publishFailed": "\(summary.publishing.failed)",
            ])
        }
        for problem in intake.entriesNotTaken {
            logger.warning("an inbox entry was not taken", metadata: ["file": "\(problem.name)", "reason": "\(problem.reason)"])
        }
        if !summary.invoicedWhenDue.isEmpty {
            logger.info("invoiced when due", metadata: ["invoices": "\(summary.invoicedWhenDue.joined(separator: " "))"])
        }
        wakeDelivery()
    }
}

/// The sends not on a schedule (e-mail, print, destinations without one), in the delivery
/// lane each time intake wakes it; wakes that come while a run is busy make one more run.
struct UnscheduledDelivery: Service {
    let wanted: AsyncStream<Void>
    let delivery: DeliveryRun
    let logger: Logger

    func run() async throws {
        for await _ in wanted.cancelOnGracefulShutdown() {
            do {
                try await delivery.run()
            } catch is CancellationError {
                return
            } catch {
                logger.error("delivery failed", metadata: ["run": "\(delivery.label)", "error": "\(error)"])
            }
        }
    }
}
