import Delivery
import Distribution
import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger
import PDFRendering
import Rendering

/// The gateway over one home: configuration, ledger, mappings and the pipeline that runs
/// inbox → ledger → invoices → outbox.
public final class Gateway {
    public let home: GatewayHome
    public let configuration: GatewayConfiguration
    public let ledger: any Ledger
    public let catalog: MappingCatalog
    public let templates: TemplateCatalog
    public let clock: any GatewayClock
    let routing: InvoiceRouting
    public var progress: (@Sendable (String) -> Void)?
    /// Told of each file taken, invoice published and file delivered, once committed.
    public var events: GatewayEvents?
    private var lock: HomeLock?
    /// Shared with a successor after a reload, so that publishing and delivery keep one gate.
    private var outboxGate = OutboxGate()

    /// Loads and checks everything before any file is touched: a wrong setting or a broken
    /// mapping stops here with the file, key or line to fix.
    public init(home: URL, clock: any GatewayClock = SystemClock()) throws {
        self.home = GatewayHome(home)
        self.configuration = try GatewayConfiguration.load(home: home)
        self.catalog = try MappingCatalog(folder: self.home.mappings, schemaFolders: configuration.schemaFolders,
                                          values: configuration.mappingValues)
        self.templates = try TemplateCatalog(folder: self.home.templates, logo: configuration.logoPath.map(URL.init(fileURLWithPath:)))
        self.clock = clock
        self.routing = InvoiceRouting(policy: configuration.distributionPolicy)
        try self.home.createFolders()
        self.ledger = try SQLiteLedger(path: configuration.ledgerPath)
    }

    /// Warnings worth saying before work that publishes or sends: formats that will not be validated.
    public var startupWarnings: [String] {
        catalog.unvalidatedSets.sorted().map {
            "schema validation of \($0) is off: gateway.yml sets no folder for it under `schemas:`"
        }
    }

    /// Each schema set the mappings name, and whether documents of it are validated.
    public var schemaSets: [(set: String, validated: Bool)] {
        Set(catalog.mappings.compactMap { $0.schema?.set }).sorted().map { ($0, !catalog.unvalidatedSets.contains($0)) }
    }

    /// Runs `body` holding the home's lock (one run at a time per home), waiting for another
    /// holder as `lockWaitSeconds` allows. Every operation that changes the ledger or the
    /// folders runs inside it; a long-lived caller (the service) takes it once around its life.
    /// Takes the home for the life of this gateway, as `gateway run` does: refused at once
    /// when another command or service holds it.
    public func holdHome(as command: String) throws {
        lock = try HomeLock.acquire(home, command: command, timeout: .zero)
    }

    /// Gives the home this gateway holds to `successor` (a reload: the same home with its
    /// configuration and mappings read again), without a moment in which neither holds it,
    /// and with it the gate between publishing and delivery and who listens to its events.
    public func handOverHome(to successor: Gateway) {
        successor.lock = lock
        successor.outboxGate = outboxGate
        successor.events = events
        lock = nil
    }

    public func exclusively<T>(_ command: String, _ body: () throws -> T) throws -> T {
        if lock != nil { return try body() }
        lock = try HomeLock.acquire(home, command: command, timeout: configuration.lockWait)
        defer { lock = nil }
        return try body()
    }

    public struct ProcessSummary: Sendable, Codable {
        public var intake: IntakeSummary
        public var publishing: PublishSummary
        /// Wall-clock seconds: intake alone, and the whole run (publishing overlaps intake).
        public var intakeSeconds: Double
        public var publishingSeconds: Double
        /// What the run's `remind` documents gave, when it had any.
        public var reminders: ReminderSummary?
        /// Invoices made for deliveries that waited: at a collective cut-off that has passed
        /// (M2, M3), or once a desired delivery date passed (M7).
        public var invoicedWhenDue: [String] = []
    }

    /// O2, M2–M7: every invoice due now for deliveries not yet invoiced, customer by customer
    /// (each in its own transaction, so one customer's deliveries are in memory at a time).
    func invoiceDueDeliveries() throws -> [String] {
        let now = clock.now
        let making = InvoiceMaking(factory: InvoiceFactory(client: configuration.client), routing: routing, now: now)
        var invoiced: [String] = []
        for customerNumber in try ledger.read({ try $0.customersWithUninvoicedOrders() }) {
            invoiced += try ledger.write { tx in try making.invoiceDue(customerNumber: customerNumber, tx) }
        }
        return invoiced
    }

    /// The `remind` documents' reminders; each one not written says why in its history.
    private func requestedReminders() throws -> ReminderSummary? {
        let requested = try ledger.read { try $0.requestedReminders() }
        guard !requested.isEmpty else { return nil }
        var summary = ReminderSummary()
        if configuration.distribution.reminders.enabled {
            summary = try Reminding(home: home, ledger: ledger, templates: templates, configuration: configuration, clock: clock, routing: routing, gate: outboxGate)
                .run(numbers: requested)
        } else {
            summary.notReminded = requested.map { .init(invoiceNumber: $0, reason: Reminding.Disabled().description) }
        }
        let now = clock.now
        try ledger.write { tx in
            for skipped in summary.notReminded where try tx.status(ofInvoice: skipped.invoiceNumber) != nil {
                try tx.apply(.noted("reminder not written", detail: skipped.reason), toInvoice: skipped.invoiceNumber, at: now)
            }
            try tx.clearReminderRequests(requested)
        }
        return summary
    }

    /// One batch run: every ready file in the inbox, and every invoice ready to publish.
    /// Publishing runs beside intake, so rendering uses the second core while files are read.
    /// `retryFailed` first puts back invoices whose rendering failed (after a mapping or a
    /// setting was fixed), so they are rendered again.
    public func process(retryFailed: Bool = false) throws -> ProcessSummary {
        try exclusively("process") { try processHoldingLock(retryFailed: retryFailed) }
    }

    private func processHoldingLock(retryFailed: Bool) throws -> ProcessSummary {
        if retryFailed {
            let now = clock.now
            try ledger.write { tx in
                for (number, _) in try tx.failedPublications() {
                    try tx.apply(.noted("rendering retried", detail: nil), toInvoice: number, at: now)
                }
                try tx.retryFailedPublications()
            }
        }
        var intake = InboxProcessor(home: home, ledger: ledger, factory: InvoiceFactory(client: configuration.client),
                                    routing: routing, crediting: crediting, redrawing: redrawing, clock: clock)
        intake.progress = progress
        intake.events = events
        intake.remindersEnabled = configuration.distribution.reminders.enabled
        var publisher = self.publisher
        publisher.progress = progress
        let intakeRunning = Flag(true)
        let started = DispatchTime.now()
        let publishing = BackgroundResult { [publisher] in try publisher.run(producing: { intakeRunning.value }) }
        // Deliveries whose time has come are invoiced after the inbox's documents are in, while
        // publishing still runs.
        let intakeResult = Result { (try intake.run(), try invoiceDueDeliveries()) }
        intakeRunning.value = false
        let intakeDone = DispatchTime.now()
        let published = try publishing.result.get()
        let seconds = { (a: DispatchTime, b: DispatchTime) in Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e9 }
        let (intakeSummary, invoicedWhenDue) = try intakeResult.get()
        var summary = ProcessSummary(intake: intakeSummary, publishing: published,
                                     intakeSeconds: seconds(started, intakeDone), publishingSeconds: seconds(started, DispatchTime.now()))
        summary.invoicedWhenDue = invoicedWhenDue
        summary.reminders = try requestedReminders()
        return summary
    }

    /// S5: approve an invoice that waits for review; publish it at once.
    public func approve(_ number: String) throws -> DocumentOutcome {
        try exclusively("approve") { try approveHoldingLock(number) }
    }

    private func approveHoldingLock(_ number: String) throws -> DocumentOutcome {
        let now = clock.now
        let outcome = try ledger.write { tx in try Operations.approve(number, at: now, tx) }
        if case .applied = outcome {
            _ = try publisher.run()
        }
        return outcome
    }

    var publisher: Publisher {
        var publisher = Publisher(home: home, ledger: ledger, catalog: catalog, templates: templates, configuration: configuration, clock: clock, gate: outboxGate)
        publisher.events = events
        return publisher
    }

    var redrawing: Redrawing {
        Redrawing(home: home, catalog: catalog, templates: templates, configuration: configuration)
    }

    var crediting: Crediting {
        Crediting(factory: InvoiceFactory(client: configuration.client), routing: routing, undo: configuration.distribution.undo, home: home)
    }

    /// Credits an invoice in full: inside the undo window of its e-mail or central-print send
    /// the send is cancelled (D14); otherwise the credit invoice is published at once.
    public func credit(_ number: String) throws -> DocumentOutcome {
        try exclusively("credit") {
            let now = clock.now
            let outcome = try ledger.write { tx in try crediting.credit(number, at: now, tx) }
            if case .applied = outcome {
                _ = try publisher.run()
            }
            return outcome
        }
    }

    /// D6–D8: reminds every invoice that is due a reminder, or those named; `push` delivers them.
    public func remind(_ numbers: [String]? = nil) throws -> ReminderSummary {
        try exclusively("remind") {
            try Reminding(home: home, ledger: ledger, templates: templates, configuration: configuration, clock: clock, routing: routing, gate: outboxGate)
                .run(numbers: numbers)
        }
    }

    /// D6–D8: the invoices due a reminder now, read only (what `remind` without numbers would
    /// remind; handed to a running service one `remind` document each).
    public func remindersDue() throws -> [String] {
        try Reminding(home: home, ledger: ledger, templates: templates, configuration: configuration, clock: clock, routing: routing, gate: outboxGate)
            .due(numbers: nil, at: clock.now).due.map(\.0.invoice.number)
    }

    /// D11: sets the invoice's own e-mail address, or with nil derives it again by D10.
    public func setEmail(_ address: String?, ofInvoice number: String) throws -> DocumentOutcome {
        try exclusively("invoices email") {
            let now = clock.now
            return try ledger.write { tx in try routing.setEmail(address, ofInvoice: number, at: now, tx) }
        }
    }

    // MARK: Delivery

    /// One delivery run now: every SFTP destination (one session each) and the e-mail relay,
    /// or only the named destinations, or only the transports of the named methods.
    public func push(destinations: [String]? = nil, methods: [DistributionMethod]? = nil, retryFailed: Bool = false) throws -> PushSummary {
        let known = Set(configuration.destinations.keys).union(configuration.folders.keys)
        if let unknown = destinations?.first(where: { !known.contains($0) }) {
            throw ConfigurationError(file: GatewayConfiguration.fileName, key: "destinations.\(unknown)",
                                     expected: "a destination: " + known.sorted().joined(separator: ", "), found: "nothing")
        }
        var sftp = destinations?.filter { configuration.destinations[$0] != nil } ?? configuration.destinations.keys.sorted()
        var folders = destinations?.filter { configuration.folders[$0] != nil } ?? configuration.folders.keys.sorted()
        var mail = destinations == nil, print = destinations == nil
        if let methods {
            let outbox = Set(methods.compactMap { configuration.outboxFolders[$0.rawValue] })
            sftp = sftp.filter { outbox.contains(configuration.destinations[$0]!.outboxFolder) }
            folders = folders.filter { outbox.contains(configuration.folders[$0]!.outboxFolder) }
            mail = mail && methods.contains(.email)
            print = print && methods.contains(.ownPrinter)
        }
        let selection: Dispatch.Selection = retryFailed ? .pendingAndFailed : .pending
        return try exclusively("push") { try deliver(sftp: sftp, folders: folders, mail: mail, print: print, selection: selection) }
    }

    /// The service's delivery run: these SFTP destinations and folders (those on a schedule
    /// when it is due, the others after each publishing), and the e-mail relay and printer
    /// when `mailAndPrint`. Sends inside their undo time stay held (D14).
    public func push(only destinations: [String], mailAndPrint: Bool) throws -> PushSummary {
        try exclusively("push") {
            try deliver(sftp: destinations.filter { configuration.destinations[$0] != nil }, folders: destinations.filter { configuration.folders[$0] != nil },
                        mail: mailAndPrint, print: mailAndPrint, selection: .pending)
        }
    }

    /// Sends the files of these invoices now, whatever happened before: after a failed send,
    /// or one a stopped run left in doubt. Sends inside their undo time stay held (D14).
    /// With `template`, their PDFs (and the e-mails carrying them) are drawn again with it first.
    public func send(_ numbers: [String], template: String? = nil) throws -> PushSummary {
        for number in numbers where try ledger.read({ try $0.status(ofInvoice: number) }) == nil { throw UnknownInvoiceError(number: number) }
        return try exclusively("send") {
            if let template {
                let now = clock.now
                try ledger.write { tx in
                    for number in numbers {
                        if let refusal = try redrawing.redraw(number, template: template, at: now, tx) { throw SendRefusal(number: number, refusal: refusal) }
                    }
                }
            }
            return try deliver(sftp: configuration.destinations.keys.sorted(), folders: configuration.folders.keys.sorted(),
                               mail: true, print: true, selection: .invoices(Set(numbers)))
        }
    }

    /// Why a send with a template did not start.
    public struct SendRefusal: Error, CustomStringConvertible {
        public let number: String
        public let refusal: DocumentRefusal
        public var description: String { "invoice \(number): \(refusal); nothing was sent" }
    }

    private func deliver(sftp: [String], folders: [String], mail: Bool, print: Bool, selection: Dispatch.Selection) throws -> PushSummary {
                var dispatch = Dispatch(home: home, ledger: ledger, clock: clock, gate: outboxGate, afterSent: publisher.publishExport(ofSent:))
        dispatch.progress = progress
        dispatch.events = events
        dispatch.held = try heldSends()
        var summary = PushSummary()
        let pusher = Pusher(dispatch: dispatch, configuration: configuration)
        try pusher.run(destinations: sftp, selection: selection, &summary)
        try pusher.runFolders(folders, selection: selection, &summary)
        if mail { try Mailer(dispatch: dispatch, configuration: configuration).run(selection: selection, &summary) }
        if print, let printer = configuration.printer {
            try PrintQueue(dispatch: dispatch, configuration: configuration, printer: CUPSPrinter(queue: printer)).run(selection: selection, &summary)
        }
        return summary
    }

    /// D14: the e-mail and central-print sends whose undo window is still open, with when it closes.
    func heldSends() throws -> [String: Date] {
        let now = clock.now, undo = configuration.distribution.undo
        guard undo.minutes > 0 else { return [:] }
        var held: [String: Date] = [:]
        for send in try ledger.read({ try $0.waitingSends(by: UndoWindow.heldMethods) }) {
            if undo.holds(method: send.method, waitingSince: send.since, now: now) {
                held[send.invoiceNumber] = undo.releaseTime(method: send.method, waitingSince: send.since)
            }
        }
        return held
    }

    public func destination(_ name: String) throws -> DestinationSettings {
        guard let destination = configuration.destinations[name] else {
            throw ConfigurationError(file: GatewayConfiguration.fileName, key: "destinations.\(name)",
                                     expected: "a destination: " + configuration.destinations.keys.sorted().joined(separator: ", "), found: "nothing")
        }
        return destination
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
        public var failedDeliveries: [DeliveryRecord]
        /// Invoices paid beyond their amount to pay, for the accountant.
        public var overpaid: [(number: String, payable: Decimal, paid: Decimal)]
        /// What waits in inbox/ (and inbox/.processing), with a note where it is not a plain file.
        public var inbox: [(name: String, note: String?)]
        /// Entries the last run could not claim, read or move, and why.
        public var entriesNotTaken: [EntryProblemRecord]
        /// Deliveries of known customers waiting for a cut-off, a payer or a date (M2, M6, M7).
        public var waitingDeliveries: [WaitingDeliveries]
        /// When each destination last had a file delivered.
        public var lastDeliveries: [String: Date]
        /// What has waited longest: the oldest file in inbox/ (by its modification time) and
        /// the invoice waiting longest to be published or sent.
        public var oldestInboxFile: (name: String, since: Date)?
        public var oldestWaitingInvoice: WaitingInvoice?
    }

    public func status() throws -> Status {
        let inbox = InboxProcessor.pending(home)
        let oldestInboxFile = oldestFile(in: inbox)
        return try ledger.read { tx in
            Status(counts: try tx.countsByStatus(), waitingOrders: try tx.ordersWaitingForCustomer(),
                   refusedFiles: try tx.refusedFiles(), failedPublications: try tx.failedPublications(),
                   failedDeliveries: try tx.failedDeliveries(), overpaid: try tx.overpaidInvoices(), inbox: inbox,
                   entriesNotTaken: try tx.entryProblems(), waitingDeliveries: try waitingDeliveries(tx),
                   lastDeliveries: try tx.lastDeliveries(), oldestInboxFile: oldestInboxFile, oldestWaitingInvoice: try tx.oldestWaitingInvoice())
        }
    }

    /// What the service's health check needs of the home, read in one go; and a write into the
    /// ledger, which fails (with SQLite's reason) when the ledger cannot be written.
    public func healthProbe(checkedBy holder: String) throws -> HealthProbe {
        let now = clock.now
        try ledger.write { tx in try tx.recordHeartbeat(by: holder, at: now) }
        let oldestInboxFile = oldestFile(in: InboxProcessor.pending(home))
        return try ledger.read { tx in
            HealthProbe(counts: try tx.countsByStatus(), oldestInboxFile: oldestInboxFile, lastDeliveries: try tx.lastDeliveries(),
                        oldestWaitingInvoice: try tx.oldestWaitingInvoice(), failedDeliveries: try tx.failedDeliveries().count)
        }
    }

    private func oldestFile(in inbox: [(name: String, note: String?)]) -> (name: String, since: Date)? {
        inbox.compactMap { entry -> (name: String, since: Date)? in
            let path = home.inbox.appendingPathComponent(entry.name).path
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return nil }
            return (entry.name, modified)
        }.min { $0.since < $1.since }
    }

    public struct HealthProbe: Sendable {
        public var counts: [InvoiceStatus: Int]
        public var oldestInboxFile: (name: String, since: Date)?
        public var lastDeliveries: [String: Date]
        public var oldestWaitingInvoice: WaitingInvoice?
        public var failedDeliveries: Int
    }

    /// Checks a file as `process` would, without applying anything.
    public static func validate(file: URL) throws -> [ReadDocument] {
        var documents: [ReadDocument] = []
        try InboxFileReader().read(path: file.path) { documents.append($0) }
        return documents
    }
}

/// A boolean shared between the intake and publishing threads.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Bool
    init(_ value: Bool) { current = value }
    var value: Bool {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}
