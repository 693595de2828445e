import Foundation
import Gateway
import Invoicing
import Metrics
import Prometheus

/// The service's counters and histograms, through swift-metrics into a Prometheus registry of
/// its own (nothing global is bootstrapped), for `GET /metrics`.
struct ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // A file's way from the inbox to the outbox takes milliseconds; a delivery run, seconds.
        factory.durationHistogramBuckets["gateway_pickup_seconds"] = [
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        factory.durationHistogramBuckets["gateway_delivery_run_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15),
            .seconds(30), .seconds(60), .seconds(300),
        ]
        self.factory = factory
    }

    /// One event of the pipeline, counted by what it was.
    func record(_ event: GatewayEvent) {
        switch event {
        case .file(_, _, let outcome, let accepted, let refused, _):
            Counter(label: "gateway_files_total", dimensions: [("outcome", outcome)], factory: factory).increment()
            if accepted > 0 { Counter(label: "gateway_documents_total", dimensions: [("outcome", "accepted")], factory: factory).increment(by: accepted) }
            if refused > 0 { Counter(label: "gateway_documents_total", dimensions: [("outcome", "refused")], factory: factory).increment(by: refused) }
        case .published(_, _, _, let formats, _):
            for format in formats {
                Counter(label: "gateway_renders_total", dimensions: [("mapping", format), ("outcome", "published")], factory: factory).increment()
            }
        case .publishFailed:
            Counter(label: "gateway_renders_total", dimensions: [("mapping", "any"), ("outcome", "failed")], factory: factory).increment()
        case .delivered(let destination, _, _, _, _, let alreadyThere):
            Counter(label: "gateway_sends_total", dimensions: [("destination", destination), ("outcome", alreadyThere ? "already-there" : "delivered")],
                    factory: factory).increment()
        case .sendFailed(let destination, _, _, _):
            Counter(label: "gateway_sends_total", dimensions: [("destination", destination), ("outcome", "failed")], factory: factory).increment()
        }
    }

    /// From a change seen in inbox/ to the end of the run that took it and published its invoices.
    func pickup(_ duration: Duration) {
        Metrics.Timer(label: "gateway_pickup_seconds", factory: factory).record(duration: duration)
    }

    func deliveryRun(_ label: String, _ duration: Duration) {
        Metrics.Timer(label: "gateway_delivery_run_seconds", dimensions: [("run", label)], factory: factory).record(duration: duration)
    }

    /// What the ledger says at the moment of a scrape: invoices by status, deliveries in doubt
    /// or failed, and when each destination last delivered.
    func observe(_ probe: Gateway.HealthProbe, at now: Date) {
        for status in InvoiceStatus.allCases {
            Gauge(label: "gateway_invoices", dimensions: [("status", status.rawValue)], factory: factory).record(probe.counts[status] ?? 0)
        }
        Gauge(label: "gateway_failed_deliveries", factory: factory).record(probe.failedDeliveries)
        for (destination, last) in probe.lastDeliveries {
            Gauge(label: "gateway_last_delivery_timestamp_seconds", dimensions: [("destination", destination)], factory: factory)
                .record(last.timeIntervalSince1970)
        }
        Gauge(label: "gateway_oldest_waiting_invoice_seconds", factory: factory)
            .record(probe.oldestWaitingInvoice.map { max(0, now.timeIntervalSince($0.since)) } ?? 0)
    }

    /// The Prometheus text format.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
