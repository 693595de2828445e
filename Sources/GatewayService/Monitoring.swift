import Foundation
import Gateway
import GatewayCore
import Hummingbird
import Logging
import ServiceLifecycle

/// `GET /health`: 200 when the watcher runs and the ledger takes a write, 503 with the reasons
/// when not; with what an operator looks at next either way.
struct HealthReport: Codable, Sendable {
    struct Waiting: Codable, Sendable {
        var invoice: String?
        var file: String?
        var stage: String
        var since: String
        var seconds: Int
    }

    var status: String
    var problems: [String]
    var watcher: String
    var ledger: String
    var lastProcessFailure: String?
    /// When each destination last had a file delivered.
    var lastDelivery: [String: String]
    var failedDeliveries: Int
    var oldestWaitingInvoice: Waiting?
    var oldestInboxFile: Waiting?
    var nextRuns: [String: String]

    var isHealthy: Bool { problems.isEmpty }

    static func check(worker: GatewayWorker, state: ServiceState, metrics: ServiceMetrics, clock: any GatewayClock) async -> HealthReport {
        var problems: [String] = []
        let watcher = await state.watcher
        if watcher == .stopped { problems.append("the inbox watcher has stopped: files dropped in inbox/ are not taken; restart the service") }
        let probe: Result<Gateway.HealthProbe, any Error>
        do {
            probe = .success(try await worker.inspect { try $0.healthProbe(checkedBy: "`gateway run`, pid \(getpid())") })
        } catch {
            probe = .failure(error)
            problems.append("the ledger cannot be written: \(error)")
        }
        let now = clock.now
        let failure = await state.lastProcessFailure
        var report = HealthReport(
            status: problems.isEmpty ? "ok" : "unhealthy", problems: problems, watcher: watcher.rawValue,
            ledger: (try? probe.get()) == nil ? "not writable" : "writable",
            lastProcessFailure: failure.map { "\(Instant.format($0.at)): \($0.error)" },
            lastDelivery: [:], failedDeliveries: 0,
            nextRuns: await state.nextRuns.mapValues { Instant.format($0) })
        if case .success(let probe) = probe {
            metrics.observe(probe, at: now)
            report.lastDelivery = probe.lastDeliveries.mapValues { Instant.format($0) }
            report.failedDeliveries = probe.failedDeliveries
            report.oldestWaitingInvoice = probe.oldestWaitingInvoice.map {
                Waiting(invoice: $0.number, stage: $0.stage.rawValue, since: Instant.format($0.since), seconds: Int(max(0, now.timeIntervalSince($0.since))))
            }
            report.oldestInboxFile = probe.oldestInboxFile.map {
                Waiting(file: $0.name, stage: "to be taken from inbox/", since: Instant.format($0.since), seconds: Int(max(0, now.timeIntervalSince($0.since))))
            }
        }
        return report
    }
}

/// The loopback HTTP endpoint (`service.http`): `GET /metrics` in the Prometheus text format
/// and `GET /health` as JSON. Hummingbird's application is itself a service of the group.
enum Monitoring {
    static func application(address: ServiceSettings.HTTPAddress, worker: GatewayWorker, state: ServiceState, metrics: ServiceMetrics,
                            clock: any GatewayClock, logger: Logger) -> some Service {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            // A scrape brings the ledger's figures (invoices by status, ...) up to date first.
            _ = await HealthReport.check(worker: worker, state: state, metrics: metrics, clock: clock)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        router.get("health") { _, _ -> Response in
            let report = await HealthReport.check(worker: worker, state: state, metrics: metrics, clock: clock)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let body = (try? encoder.encode(report)) ?? Data()
            return Response(status: report.isHealthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: Array(body) + [0x0A])))
        }
        var serverLogger = logger
        serverLogger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
                           onServerRunning: { _ in logger.info("metrics and health served", metadata: ["address": "http://\(address)"]) },
                           logger: serverLogger)
    }
}
