import Checksums
import Foundation
import GatewayCore
import Invoicing

/// The single source of truth. Every state change happens inside `write`, in one transaction;
/// SQL stays behind this seam so that a PostgreSQL ledger for several hosts is one new type.
public protocol Ledger: Sendable {
    @discardableResult
    func write<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T
    func read<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T
    /// A consistent copy of the whole ledger as of one moment, taken while others read and
    /// write, to a new file at `path` (which must not exist yet).
    func backup(to path: String) throws
}

public struct ProcessedFile: Sendable, Hashable {
    public var sha256: String
    public var name: String
    public var outcome: String
    public var at: Date
    public init(sha256: String, name: String, outcome: String, at: Date) {
        self.sha256 = sha256
        self.name = name
        self.outcome = outcome
        self.at = at
    }
}

public struct StoredOrder: Sendable, Hashable {
    public var order: Order
    public var invoiceNumber: String?
}

public struct HistoryEntry: Sendable, Hashable, Codable {
    public var at: Date
    public var status: InvoiceStatus
    public var event: String
    public var detail: String?
    public init(at: Date, status: InvoiceStatus, event: String, detail: String?) {
        self.at = at
        self.status = status
        self.event = event
        self.detail = detail
    }
}

public struct InvoiceRecord: Sendable, Hashable {
    public var invoice: Invoice
    /// Artefacts written, as paths relative to the gateway home.
    public var files: [String]
    /// The sum of the payments recorded for it.
    public var paid: Decimal = 0
    /// D7: the reminders sent, and the last one's date.
    public var reminderCount = 0
    public var reminderDate: CivilDate?

    /// What was paid beyond the amount to pay, for the accountant to refund or settle.
    public var overpaid: Decimal? {
        paid > invoice.totals.payable && invoice.kind != .credit ? paid - invoice.totals.payable : nil
    }
}

extension LedgerTransaction {
    /// Applies `event` where the invoice's lifecycle allows it, else writes `note` (an event
    /// that changes no status) instead. Returns the new status, or nil when the note was written.
    @discardableResult
    public func apply(_ event: InvoiceLifecycle.Event, orNote note: InvoiceLifecycle.Event, toInvoice number: String, at: Date) throws -> InvoiceStatus? {
        do {
            return try apply(event, toInvoice: number, at: at)
        } catch is LifecycleError {
            // Refused before anything was written, so the transaction goes on.
            try apply(note, toInvoice: number, at: at)
            return nil
        }
    }
}

/// An invoice's send under way: by which method, since when (the undo window counts from it).
public struct WaitingSend: Sendable, Hashable {
    public var invoiceNumber: String
    public var method: DistributionMethod
    public var since: Date
}

/// An invoice number the ledger does not hold.
public struct UnknownInvoiceError: Error, Sendable, CustomStringConvertible {
    public let number: String
    public init(number: String) { self.number = number }
    public var description: String { "there is no invoice \(number) (see `gateway invoices list`)" }
}

/// An inbox entry the last intake run could not claim, read or move, and why.
public struct EntryProblemRecord: Sendable, Hashable {
    public var name: String
    public var reason: String
    public var at: Date
    public init(name: String, reason: String, at: Date) {
        self.name = name
        self.reason = reason
        self.at = at
    }
}

public struct RefusedFileRecord: Sendable, Hashable {
    public var name: String
    public var at: Date
    public var reason: String
}

/// One file's delivery to one destination (D3–D5).
public struct DeliveryRecord: Sendable, Hashable {
    public enum State: String, Sendable { case started, delivered, failed }
    public var destination: String
    /// The local file, relative to the home, as it was when the delivery started.
    public var path: String
    public var invoiceNumber: String?
    public var remotePath: String
    public var size: Int
    public var sha256: String
    public var state: State
    public var attempts: Int
    public var error: String?
    public var at: Date

    public init(destination: String, path: String, invoiceNumber: String?, remotePath: String, size: Int, sha256: String,
                state: State, attempts: Int, error: String?, at: Date) {
        self.destination = destination
        self.path = path
        self.invoiceNumber = invoiceNumber
        self.remotePath = remotePath
        self.size = size
        self.sha256 = sha256
        self.state = state
        self.attempts = attempts
        self.error = error
        self.at = at
    }
}

/// The operations the pipeline needs, in domain words.
public protocol LedgerTransaction {
    // Files and document identity (DESIGN.md: key on content and on document identity).
    func processedFile(sha256: String) throws -> ProcessedFile?
    func recordFile(_ file: ProcessedFile) throws
    /// Whether this exact version of a document (type, key, content hash) was applied before.
    func hasSeen(type: String, key: String, hash: String) throws -> Bool
    func markSeen(type: String, key: String, hash: String) throws
    /// What the last intake run could not take; each run replaces the list.
    func replaceEntryProblems(_ problems: [EntryProblemRecord]) throws
    func entryProblems() throws -> [EntryProblemRecord]

    func customer(_ number: String) throws -> Customer?
    func saveCustomer(_ customer: Canonical<Customer>, at: Date) throws

    func order(_ number: String) throws -> StoredOrder?
    func saveOrder(_ order: Canonical<Order>, at: Date) throws
    func setOrderInvoice(orderNumber: String, invoiceNumber: String) throws
    /// Orders recorded as completed that have no invoice yet, oldest first.
    func uninvoicedCompletedOrders(customerNumber: String?) throws -> [Order]
    /// Completed orders waiting because their customer is not known yet.
    func ordersWaitingForCustomer() throws -> [Order]
    /// The customers that have completed orders not invoiced yet.
    func customersWithUninvoicedOrders() throws -> [String]
    /// M3: the last cut-off made for a collective customer; nil before its first.
    func lastCutOff(customerNumber: String) throws -> Date?
    /// Records the cut-off made (nil forgets it: a new schedule starts afresh).
    func setLastCutOff(_ cutOff: Date?, customerNumber: String) throws

    func saveReturn(_ returned: Canonical<ReturnOrder>, creditInvoiceNumber: String?, at: Date) throws
    func pendingReturns(orderNumber: String?) throws -> [ReturnOrder]
    func isReturnRecorded(_ number: String) throws -> Bool
    /// What credit invoices against an invoice have given back, per order and article.
    func returnedQuantities(creditedInvoice: String) throws -> [DeliveredArticle: Decimal]

    /// The next number of a gap-free series; the caller's transaction makes it final.
    func nextSequence(series: String, first: Int) throws -> Int

    func insertInvoice(_ invoice: Invoice, at: Date, event: String, detail: String?) throws
    func invoice(_ number: String) throws -> InvoiceRecord?
    func status(ofInvoice number: String) throws -> InvoiceStatus?
    /// The one way an invoice's status changes or its history grows: the lifecycle decides the
    /// new status (or refuses the event with `LifecycleError`), and the status and the history
    /// entry are written together in this transaction. Returns the new status.
    @discardableResult
    func apply(_ event: InvoiceLifecycle.Event, toInvoice number: String, at: Date) throws -> InvoiceStatus
    func history(invoice number: String) throws -> [HistoryEntry]
    func addFile(invoice number: String, path: String) throws

    /// Invoices not published yet (status review or ready) of the customer, or of a person
    /// whose snapshot names the customer as its organisation: those whose distribution a
    /// customer update may change (D10).
    func unpublishedInvoices(concerning customerNumber: String) throws -> [Invoice]
    /// Stores a not yet published invoice's D11 e-mail address and resolved distribution, and
    /// puts it back in the publishing queue should its rendering have failed.
    func saveDistribution(of invoice: Invoice) throws

    /// The invoice sends under way (status waiting) by these methods, and when each began.
    func waitingSends(by methods: Set<DistributionMethod>) throws -> [WaitingSend]
    /// When the invoice's own send began (D14), or nil when it is not waiting for one (a
    /// reminder's send is not undone by a credit).
    func waitingSince(invoice number: String) throws -> Date?

    /// Invoices ready to be rendered and published that have no artefact yet, by number: at
    /// most `limit`, and none after the invoice that brings the batch to `lines` lines (so a
    /// batch of large collective invoices stays as small in memory as one of ordinary ones).
    func invoicesToPublish(limit: Int, lines: Int) throws -> [Invoice]
    func markPublished(invoice number: String, at: Date) throws
    func markPublishFailed(invoice number: String, at: Date, reason: String) throws
    /// Puts every invoice whose rendering failed back in the queue.
    func retryFailedPublications() throws

    /// Records a payment; returns what has been paid of the invoice in all.
    func addPayment(_ payment: Payment, at: Date) throws -> Decimal
    /// Invoices paid beyond their amount to pay, oldest first.
    func overpaidInvoices() throws -> [(number: String, payable: Decimal, paid: Decimal)]

    func invoices(status: InvoiceStatus?, customerNumber: String?) throws -> [InvoiceRecord]
    func countsByStatus() throws -> [InvoiceStatus: Int]
    func refusedFiles() throws -> [RefusedFileRecord]
    func failedPublications() throws -> [(number: String, reason: String)]

    /// The invoice an outbox file belongs to (by its path relative to the home).
    func invoiceNumber(forFile path: String) throws -> String?
    /// Every invoice a file belongs to (an autogiro file holds many).
    func invoiceNumbers(forFile path: String) throws -> [String]
    /// The distinct artefact paths that start with `prefix` (relative to the home).
    func files(under prefix: String) throws -> [String]
    func moveFile(invoice number: String, from: String, to: String) throws
    /// The invoice's artefacts that have not left yet: those not moved into a `sent/` folder.
    func undeliveredFiles(invoice number: String) throws -> [String]
    func delivery(destination: String, path: String) throws -> DeliveryRecord?
    func saveDelivery(_ record: DeliveryRecord) throws
    func failedDeliveries() throws -> [DeliveryRecord]
    /// Makes the invoice's failed deliveries pending again, for the next push; returns how many.
    func retryFailedDeliveries(invoice number: String) throws -> Int

    /// `remind` documents: invoices to remind at the end of the run that applied them.
    func requestReminder(invoice number: String, at: Date) throws
    func requestedReminders() throws -> [String]
    func clearReminderRequests(_ numbers: [String]) throws

    /// When each destination last had a file delivered (`email`, `printer` and folders too).
    func lastDeliveries() throws -> [String: Date]
    /// The invoice that has waited longest on the gateway itself: to be published (since it
    /// was made) or to be sent (since its send began). Invoices for review wait on a person.
    func oldestWaitingInvoice() throws -> WaitingInvoice?
    /// A write that proves the ledger takes writes (the service's health check), with who
    /// checked and when.
    func recordHeartbeat(by holder: String, at: Date) throws
}

public struct WaitingInvoice: Sendable, Hashable {
    public enum Stage: String, Sendable { case publishing = "to be published", sending = "to be sent" }
    public var number: String
    public var stage: Stage
    public var since: Date
    public init(number: String, stage: Stage, since: Date) {
        self.number = number
        self.stage = stage
        self.since = since
    }
}
