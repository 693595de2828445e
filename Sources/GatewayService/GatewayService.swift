import Distribution
import Foundation
import Gateway
import GatewayCore
import Logging
import ServiceLifecycle
import UnixSignals

/// `gateway run`: the gateway as one long-running process, a `ServiceGroup` of small services
/// that share one worker with two lanes, intake and delivery (a run on the home is never two
/// at once in a lane, and a slow server never holds up the inbox):
/// - the inbox watcher: each change becomes a `process` run, which wakes the sends that are not
///   on a schedule;
/// - what time alone makes due (collective cut-offs M2, passed desired delivery dates M7,
///   sends whose undo time is over D14), every `service.duePollSeconds`;
/// - the day's payment reminders at `service.remindAt` (D6–D8), when reminders are enabled;
/// - each SFTP destination with a `schedule`, at its times;
/// - with `service.http`, `GET /metrics` and `GET /health` on that loopback address.
/// Each file taken, invoice published and file sent is a line in the log and a count in the
/// metrics.
/// SIGHUP reads gateway.yml and the mappings again (a broken one is refused and the running
/// configuration kept). SIGTERM and SIGINT stop it: each service finishes its job in hand; after
/// `service.stopSeconds` a job still running is abandoned as a crash would leave it.
public struct GatewayService: Sendable {
    private let services: [any Service]
    private let worker: GatewayWorker
    private let state: ServiceState
    private let settings: ServiceSettings
    private let logger: Logger

    /// The gateway must hold its home already (`holdHome(as: "run")`).
    public init(gateway: Gateway, logger: Logger) throws {
        let configuration = gateway.configuration
        let clock = gateway.clock
        self.settings = configuration.service
        self.logger = logger
        let metrics = ServiceMetrics()
        let state = ServiceState(home: gateway.home)
        gateway.events = { event in
            logger.log(event)
            metrics.record(event)
        }
        let worker = GatewayWorker(gateway) { @Sendable [logger] in
            logger.warning("stopped with a job in flight after the stop time-out; the next start resumes it")
            exit(0)
        }
        let timeZone = configuration.client.timeZone
        var scheduled: [(String, TransferSchedule)] = []
        var unscheduled: [String] = configuration.folders.keys.sorted()
        for (name, destination) in configuration.destinations.sorted(by: { $0.key < $1.key }) {
            if let schedule = TransferSchedule(everyMinutes: destination.everyMinutes, timesOfDay: destination.timesOfDay, timeZone: timeZone) {
                scheduled.append((name, schedule))
            } else {
                unscheduled.append(name)
            }
        }
        let deliverUnscheduled = DeliveryRun(label: "unscheduled", worker: worker, metrics: metrics, logger: logger) { [unscheduled] in
            try $0.push(only: unscheduled, mailAndPrint: true)
        }
        let (deliveryWanted, wakeDelivery) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let periodic = { (name: String, next: @escaping @Sendable (Date) -> Date, job: @escaping @Sendable () async throws -> Void) in
            PeriodicJob(name: name, clock: clock, next: next, job: job, state: state, logger: logger)
        }
        let changes: InboxChanges
        switch settings.watch {
        case .inotify: changes = try .inotify(gateway.home.inbox)
        case .poll: changes = .polling(every: settings.pollInterval)
        }
        let processing = ProcessRun(worker: worker, wakeDelivery: { wakeDelivery.yield() }, metrics: metrics, state: state, clock: clock, logger: logger)
        var services: [any Service] = [
            InboxWatcher(changes: changes, processing: processing, state: state, logger: logger),
            UnscheduledDelivery(wanted: deliveryWanted, delivery: deliverUnscheduled, logger: logger),
        ]
        let dueInterval = TimeInterval(settings.dueInterval.components.seconds)
        services.append(periodic("due work", { $0.addingTimeInterval(dueInterval) }, { try await processing.run(changeSeen: nil) }))
        if configuration.distribution.reminders.enabled {
            let daily = TransferSchedule(everyMinutes: nil, timesOfDay: [settings.remindAt], timeZone: timeZone)!
            services.append(periodic("reminders", daily.next(after:), {
                let summary = try await worker.perform(.intake) { try $0.remind() }
                if !summary.reminded.isEmpty {
                    logger.info("reminders written", metadata: ["invoices": "\(summary.reminded.map(\.invoiceNumber).joined(separator: " "))"])
                }
                wakeDelivery.yield()
            }))
        }
        for (name, schedule) in scheduled {
            logger.info("destination on a schedule", metadata: ["destination": "\(name)", "schedule": "\(schedule)"])
            let delivery = DeliveryRun(label: name, worker: worker, metrics: metrics, logger: logger) { try $0.push(only: [name], mailAndPrint: false) }
            services.append(periodic("push \(name)", schedule.next(after:), delivery.run))
        }
        if let address = settings.http {
            services.append(Monitoring.application(address: address, worker: worker, state: state, metrics: metrics, clock: clock, logger: logger))
        }
        services.append(ConfigurationReload(worker: worker, logger: logger))
        self.services = services
        self.worker = worker
        self.state = state
    }

    /// Runs until SIGTERM or SIGINT, then stops within `service.stopSeconds`.
    public func run() async throws {
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.stopTimeout
        logger.info("gateway service started", metadata: ["pid": "\(getpid())", "watch": "\(settings.watch.rawValue)"])
        for path in try await worker.perform(.intake, { try $0.home.removeLeftoverTemporaries() }) {
            logger.notice("removed a temporary file a crash left", metadata: ["file": "\(path)"])
        }
        defer { logger.info("gateway service stopped") }
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            await state.clear()
            throw error
        }
        await state.clear()
    }
}

/// SIGHUP: the configuration, mappings and templates read again, for the jobs that follow.
/// The watcher and the schedules keep the settings they started with (`service:`, a
/// destination's `schedule`); changing those takes a restart.
struct ConfigurationReload: Service {
    let worker: GatewayWorker
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                try await worker.reload()
                logger.notice("reloaded gateway.yml, the mappings and the templates")
            } catch {
                logger.error("refused the new configuration; the running one is kept", metadata: ["error": "\(error)"])
            }
        }
    }
}
