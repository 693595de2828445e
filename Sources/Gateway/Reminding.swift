import Distribution
import Foundation
import GatewayCore
import Invoicing
import Ledger
import PDFRendering
import Rendering

/// What a reminder run did: each invoice reminded, and why each one asked for was not.
public struct ReminderSummary: Sendable, Codable {
    public struct Reminded: Sendable, Codable {
        public var invoiceNumber: String
        public var sequence: Int
        public var method: String
        public var recipient: String?
        public var amountDue: String
        public var files: [String]
    }
    public struct NotReminded: Sendable, Codable {
        public var invoiceNumber: String
        public var reason: String
    }
    public var reminded: [Reminded] = []
    public var notReminded: [NotReminded] = []
}

/// `gateway remind` (D6–D8): for every invoice due a reminder, or those named, the reminder's
/// method is resolved like the invoice's among the own printer, e-mail and central print; its
/// artefacts (the PDF reminder layout, the reminder e-mail) are written to the outbox, and the
/// invoice's send begins (`waiting`, the reminder count up and its date set, in one
/// transaction). `gateway push` delivers them; a failed send puts all three back (D8).
struct Reminding {
    let home: GatewayHome
    let ledger: any Ledger
    let templates: TemplateCatalog
    let configuration: GatewayConfiguration
    let clock: any GatewayClock
    let routing: InvoiceRouting
    let gate: OutboxGate

    struct Disabled: Error, CustomStringConvertible {
        var description: String { "reminders are off: set distribution.reminders.enabled: true in gateway.yml (rule D6)" }
    }

    func run(numbers: [String]?) throws -> ReminderSummary {
        let now = clock.now
        // Decided in one read; the home's lock keeps them true until they are written.
        let (due, decided) = try self.due(numbers: numbers, at: now)
        var summary = decided
        for (record, notice, decision) in due {
            var invoice = record.invoice
            invoice.distribution = decision
            switch render(invoice, notice, method: decision.method!) {
            case .failure(let problem):
                summary.notReminded.append(.init(invoiceNumber: invoice.number, reason: problem.reason))
            case .success(let outputs):
                let folders = Set(outputs.map(\.folder))
                let deliveredHere = folders.allSatisfy { configuration.isDeliveredByWriting(folder: $0) }
                let paths = try gate.withLock {
                    var paths: [String] = []
                    for output in outputs { paths += try Publisher.write(output, home: home) }
                    try ledger.write { tx in
                        for path in paths { try tx.addFile(invoice: invoice.number, path: path) }
                        let detail = "reminder \(notice.sequence) of \(notice.date), \(notice.amountDue(invoice).fixed(2)) \(invoice.currency) due \(notice.newDueDate)"
                            + (notice.fee > 0 ? " (fee \(notice.fee.fixed(2)), no VAT)" : "") + "; " + decision.summary + "; "
                            + zip(outputs, paths).map { "\($0.label) written to \($1)" }.joined(separator: "; ")
                        try tx.apply(.reminded(on: notice.date, detail), toInvoice: invoice.number, at: now)
                        if deliveredHere {
                            let how = "delivered to " + folders.sorted().map { "outbox/\($0)/ (\(configuration.unservedNote(folder: $0)))" }.joined(separator: ", ")
                            try tx.apply(.delivered(how: how, to: decision.recipient), toInvoice: invoice.number, at: now)
                        }
                    }
                    return paths
                }
                summary.reminded.append(.init(invoiceNumber: invoice.number, sequence: notice.sequence, method: decision.method!.rawValue,
                                              recipient: decision.recipient, amountDue: notice.amountDue(invoice).fixed(2), files: paths))
            }
        }
        return summary
    }

    /// The reminders to write now: every invoice due one, or those named (the summary says why
    /// a named one is not), each with how it goes.
    func due(numbers: [String]?, at now: Date) throws -> (due: [(InvoiceRecord, ReminderNotice, DistributionDecision)], summary: ReminderSummary) {
        let policy = configuration.distribution.reminders
        guard policy.enabled else { throw Disabled() }
        let today = CivilDate(now, in: configuration.client.timeZone)
        var summary = ReminderSummary()
        let due: [(InvoiceRecord, ReminderNotice, DistributionDecision)] = try ledger.read { tx in
            let records: [InvoiceRecord]
            if let numbers {
                records = try numbers.compactMap { number in
                    guard let record = try tx.invoice(number) else {
                        summary.notReminded.append(.init(invoiceNumber: number, reason: "there is no invoice \(number)"))
                        return nil
                    }
                    return record
                }
            } else {
                records = try tx.invoices(status: .sent, customerNumber: nil) + tx.invoices(status: .reminder, customerNumber: nil)
            }
            var due: [(InvoiceRecord, ReminderNotice, DistributionDecision)] = []
            for record in records {
                let invoice = record.invoice
                let account = ReminderPolicy.Account(kind: invoice.kind, status: invoice.status, customerKind: invoice.customer.kind,
                                                     dueDate: invoice.dueDate, payable: invoice.totals.payable, paid: record.paid,
                                                     reminderCount: record.reminderCount, reminderDate: record.reminderDate,
                                                     feeAgreed: invoice.customer.reminderFeeAgreed)
                switch policy.decide(account, today: today) {
                case .none(let reason):
                    if numbers != nil { summary.notReminded.append(.init(invoiceNumber: invoice.number, reason: reason)) }
                case .remind(let notice):
                    let decision = try routing.reminderRoute(invoice, customer: try tx.customer(invoice.customer.customerNumber), tx)
                    guard decision.method != nil else {
                        summary.notReminded.append(.init(invoiceNumber: invoice.number, reason: "no reminder: " + decision.decidedBy))
                        continue
                    }
                    due.append((record, notice, decision))
                }
            }
            return due
        }
        return (due, summary)
    }

    private func render(_ invoice: Invoice, _ notice: ReminderNotice, method: DistributionMethod) -> Result<[Publisher.Output], PrintArtefacts.Problem> {
        let folder = configuration.outboxFolders[method.rawValue] ?? method.rawValue
        guard let artefact = OutputChoice.reminderArtefact(method: method) else {
            return .failure(PrintArtefacts.Problem(reason: "no reminder by \(method.rawValue) (rule D6)"))
        }
        switch PrintArtefacts.render(invoice, for: artefact, templates: templates, configuration: configuration, folder: folder, reminder: notice) {
        case .failure(let problem):
            return .failure(problem)
        case .success(let outputs):
            guard method == .email else { return .success(outputs) }
            return PrintArtefacts.email(invoice, carrying: outputs, templates: templates, configuration: configuration, folder: folder, reminder: notice)
                .map { [$0] }
        }
    }
}
