import Distribution
import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger

/// Resolution (S1, D2, D9–D13) with what the ledger knows: the customer's organisation. Every
/// invoice is routed when it is made, and again whenever something routing reads changes (a
/// customer update, the invoice's own e-mail address), so one waiting for review already
/// shows where it will go.
struct InvoiceRouting: Sendable {
    let policy: DistributionPolicy

    /// The invoice with its distribution decided; `customer` is the customer as the ledger
    /// holds it now (the invoice's own snapshot when nil).
    func routed(_ invoice: Invoice, customer: Customer? = nil, _ tx: any LedgerTransaction) throws -> Invoice {
        let customer = customer ?? invoice.customer
        let organisation = try customer.organisation.flatMap { try tx.customer($0) }
        let decision = MethodResolver.resolve(customer: customer, organisation: organisation, emailOverride: invoice.emailOverride,
                                              exportMapping: invoice.settings.exportMapping, system: invoice.settings.system, policy: policy)
        var routed = invoice
        routed.distribution = decision
        if let email = decision.email { routed.invoiceEmail = email }
        return routed
    }

    /// D6: a reminder goes by the own printer, e-mail or central print only: resolved like the
    /// invoice's among those of them the client has active.
    func reminderRoute(_ invoice: Invoice, customer: Customer?, _ tx: any LedgerTransaction) throws -> DistributionDecision {
        var reminders = policy
        reminders.activeMethods = policy.activeMethods.intersection(ReminderPolicy.methods)
        if let reserve = reminders.reserveMethod, !reminders.activeMethods.contains(reserve) { reminders.reserveMethod = nil }
        var decision = try InvoiceRouting(policy: reminders).routed(invoice, customer: customer, tx).distribution!
        if let own = invoice.method, !ReminderPolicy.methods.contains(own) {
            decision.decidedBy = "D6: a reminder goes by own printer, e-mail or central print, not \(own.rawValue); " + decision.decidedBy
        }
        return decision
    }

    /// Routes again the invoices not yet published that a change of `customerNumber`
    /// concerns; a changed decision is stored with a history entry. Returns their numbers.
    func reroute(concerning customerNumber: String, at now: Date, _ tx: any LedgerTransaction) throws -> [String] {
        var changed: [String] = []
        for invoice in try tx.unpublishedInvoices(concerning: customerNumber) {
            let current = try tx.customer(invoice.customer.customerNumber)
            if try store(try routed(invoice, customer: current, tx), replacing: invoice, at: now, tx) { changed.append(invoice.number) }
        }
        return changed
    }

    /// D11: sets (or with nil clears) the invoice's own e-mail address and routes it again.
    func setEmail(_ address: String?, ofInvoice number: String, at now: Date, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        guard let record = try tx.invoice(number) else {
            return .refused(DocumentRefusal(field: "invoiceNumber", expected: "the number of an invoice", found: number))
        }
        let invoice = record.invoice
        guard [.review, .ready].contains(invoice.status), record.files.isEmpty else {
            return .refused(DocumentRefusal(field: "invoiceNumber",
                                            expected: "an invoice not yet published (review or ready without files): \(number) has status \(invoice.status.rawValue)"
                                                + (record.files.isEmpty ? "" : " and its files are written; credit it and invoice again"),
                                            found: number))
        }
        if let address, !EmailAddress.isValid(address) {
            return .refused(DocumentRefusal(field: "address", expected: "an e-mail address such as faktura@example.se", found: "\"\(address)\""))
        }
        var changed = invoice
        changed.emailOverride = address
        let current = try tx.customer(invoice.customer.customerNumber)
        let routed = try routed(changed, customer: current, tx)
        try tx.saveDistribution(of: routed)
        try tx.apply(.noted(address == nil ? "e-mail address cleared" : "e-mail address set",
                            detail: (address.map { "\($0) (rule D11); " } ?? "derived again (rules D10, D11); ") + routed.distribution!.summary),
                     toInvoice: number, at: now)
        return .applied("invoice \(number): " + routed.distribution!.summary)
    }

    private func store(_ routed: Invoice, replacing invoice: Invoice, at now: Date, _ tx: any LedgerTransaction) throws -> Bool {
        guard routed.distribution != invoice.distribution || routed.invoiceEmail != invoice.invoiceEmail else { return false }
        try tx.saveDistribution(of: routed)
        try tx.apply(.noted("distribution resolved again", detail: routed.distribution!.summary), toInvoice: invoice.number, at: now)
        return true
    }
}
