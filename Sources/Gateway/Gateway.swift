import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger
import Rendering

/// The gateway over one home: configuration, ledger, mappings and the pipeline that runs
/// inbox → ledger → invoices → outbox.
public final class Gateway {
    public let home: GatewayHome
    public let configuration: GatewayConfiguration
    public let ledger: any Ledger
    public let catalog: MappingCatalog
    public let clock: any GatewayClock
    public var progress: ((String) -> Void)?

    /// Loads and checks everything before any file is touched: a wrong setting or a broken
    /// mapping stops here with the file, key or line to fix.
    public init(home: URL, clock: any GatewayClock = SystemClock()) throws {
        self.home = GatewayHome(home)
        self.configuration = try GatewayConfiguration.load(home: home)
        self.catalog = try MappingCatalog(folder: self.home.mappings, schemaFolders: configuration.schemaFolders)
        self.clock = clock
        try self.home.createFolders()
        self.ledger = try SQLiteLedger(path: configuration.ledgerPath)
    }

    /// Warnings worth saying at start-up, such as formats that will not be validated.
    public var startupWarnings: [String] {
        catalog.unvalidatedSets.sorted().map {
            "schema validation of \($0) is off: gateway.yml sets no folder for it under `schemas:`"
        }
    }

    public struct ProcessSummary: Sendable, Codable {
        public var intake: IntakeSummary
        public var publishing: PublishSummary
        /// Wall-clock seconds of each stage, for operators and benchmarks.
        public var intakeSeconds: Double
        public var publishingSeconds: Double
    }

    /// One batch run: every ready file in the inbox, then every invoice ready to publish.
    public func process() throws -> ProcessSummary {
        var intake = InboxProcessor(home: home, ledger: ledger, factory: InvoiceFactory(client: configuration.client), clock: clock)
        intake.progress = progress
        let started = DispatchTime.now()
        let intakeSummary = try intake.run()
        let intakeDone = DispatchTime.now()
        var publisher = Publisher(home: home, ledger: ledger, catalog: catalog, configuration: configuration, clock: clock)
        publisher.progress = progress
        let publishing = try publisher.run()
        let seconds = { (a: DispatchTime, b: DispatchTime) in Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e9 }
        return ProcessSummary(intake: intakeSummary, publishing: publishing,
                              intakeSeconds: seconds(started, intakeDone), publishingSeconds: seconds(intakeDone, DispatchTime.now()))
    }

    /// S5: approve an invoice that waits for review; publish it at once.
    public func approve(_ number: String) throws -> DocumentOutcome {
        let now = clock.now
        let outcome = try ledger.write { tx in try Operations.approve(number, at: now, tx) }
        if case .applied = outcome {
            _ = try Publisher(home: home, ledger: ledger, catalog: catalog, configuration: configuration, clock: clock).run()
        }
        return outcome
    }

    public func invoices(status: InvoiceStatus? = nil, customer: String? = nil) throws -> [InvoiceRecord] {
        try ledger.read { try $0.invoices(status: status, customerNumber: customer) }
    }

    public func invoice(_ number: String) throws -> (InvoiceRecord, [HistoryEntry])? {
        try ledger.read { tx in
            guard let record = try tx.invoice(number) else { return nil }
            return (record, try tx.history(invoice: number))
        }
    }

    public struct Status: Sendable {
        public var counts: [InvoiceStatus: Int]
        public var waitingOrders: [Order]
        public var refusedFiles: [RefusedFileRecord]
        public var failedPublications: [(number: String, reason: String)]
        public var inboxFiles: [String]
    }

    public func status() throws -> Status {
        let inboxFiles = ((try? FileManager.default.contentsOfDirectory(atPath: home.inbox.path)) ?? [])
            .filter(InboxProcessor.isReady).sorted()
        return try ledger.read { tx in
            Status(counts: try tx.countsByStatus(), waitingOrders: try tx.ordersWaitingForCustomer(),
                   refusedFiles: try tx.refusedFiles(), failedPublications: try tx.failedPublications(), inboxFiles: inboxFiles)
        }
    }

    /// Checks a file as `process` would, without applying anything.
    public static func validate(file: URL) throws -> [ReadDocument] {
        var documents: [ReadDocument] = []
        try InboxFileReader().read(file) { documents.append($0) }
        return documents
    }
}
