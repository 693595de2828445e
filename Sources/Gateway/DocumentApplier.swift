import Checksums
import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger

/// What became of one document.
public enum DocumentOutcome: Sendable {
    case applied(String)
    /// Already known with the same content: nothing changed (CONTRACT.md).
    case unchanged(String)
    case refused(DocumentRefusal)
}

/// Applies inbox documents to the ledger inside the caller's transaction. Every check that
/// can refuse a document runs before its first write, so a refusal leaves nothing behind.
struct DocumentApplier {
    let factory: InvoiceFactory
    let routing: InvoiceRouting
    let crediting: Crediting
    let redrawing: Redrawing
    let remindersEnabled: Bool
    let now: Date

    private var making: InvoiceMaking { InvoiceMaking(factory: factory, routing: routing, now: now) }

    func apply(_ document: InboxDocument, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        switch document {
        case .customer(let customer): return try apply(customer, tx)
        case .order(let order): return try apply(order, tx)
        case .returnOrder(let returned): return try apply(returned, tx)
        case .payment(let payment): return try apply(payment, tx)
        case .command(let command, let number, let template): return try apply(command, invoiceNumber: number, template: template, tx)
        }
    }

    private func apply(_ customer: Customer, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        let canonical = try Canonical(customer)
        let hash = canonical.hash
        // An earlier version sent again is a change back, not a repeat.
        let previous = try tx.customer(customer.customerNumber)
        if previous == customer, try tx.hasSeen(type: "customer", key: customer.customerNumber, hash: hash) {
            return .unchanged("customer \(customer.customerNumber) is already known with this content")
        }
        let existed = previous != nil
        try tx.saveCustomer(canonical, at: now)
        try tx.markSeen(type: "customer", key: customer.customerNumber, hash: hash)
        var text = "customer \(customer.customerNumber) \(existed ? "updated" : "added")"
        // A new model or schedule applies from now to every delivery not yet invoiced: a
        // collective one from its next cut-off, the running one at once (M1–M3).
        let model = factory.settings(for: customer).invoicingModel
        let before = previous.map { factory.settings(for: $0).invoicingModel }
        if before != model, model.model != .running || (before.map { $0.model != .running } ?? false) {
            try tx.setLastCutOff(model.model == .running ? nil : now, customerNumber: customer.customerNumber)
            if let schedule = CollectiveSchedule(model, timeZone: factory.timeZone) {
                text += "; invoiced collectively \(schedule)"
            }
        }
        // Orders that waited for this customer are invoiced now (CONTRACT.md, order).
        var invoiced: [String] = []
        for order in try tx.uninvoicedCompletedOrders(customerNumber: customer.customerNumber) {
            if let number = try making.invoiceIfDue(order, customer: customer, tx) { invoiced.append(number) }
        }
        // Invoices not yet published go where the customer's new settings say.
        let rerouted = existed ? try routing.reroute(concerning: customer.customerNumber, at: now, tx) : []
        if !rerouted.isEmpty { text += "; distribution of \(rerouted.joined(separator: ", ")) resolved again" }
        if !invoiced.isEmpty { text += "; waiting orders invoiced as \(invoiced.joined(separator: ", "))" }
        return .applied(text)
    }

    private func apply(_ order: Order, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        let canonical = try Canonical(order)
        let hash = canonical.hash
        if try tx.hasSeen(type: "order", key: order.orderNumber, hash: hash) {
            return .unchanged("order \(order.orderNumber) is already known with this content")
        }
        if let (field, amount) = factory.amountOverLimit(order) {
            return .refused(DocumentRefusal(field: field, expected: "line amounts and an invoice total of at most 12 digits before the point (999999999999.99)",
                                            found: amount.fixed(2)))
        }
        if let stored = try tx.order(order.orderNumber) {
            if let invoice = stored.invoiceNumber {
                return .refused(DocumentRefusal(field: "orderNumber", expected: "a new order number or the same content: order \(order.orderNumber) is already invoiced as \(invoice)", found: "other content"))
            }
            // O1: an order may only move forward; the same status again must be the same order.
            if order.status < stored.order.status {
                return .refused(DocumentRefusal(field: "status", expected: "\(stored.order.status.rawValue) or later: order \(order.orderNumber) has already reached \(stored.order.status.rawValue) (rule O1)", found: order.status.rawValue))
            }
            if order.status == stored.order.status {
                return .refused(DocumentRefusal(field: "orderNumber", expected: "the same content as the order \(order.orderNumber) already recorded as \(order.status.rawValue), or a later status", found: "other content"))
            }
            if order.customerNumber != stored.order.customerNumber {
                return .refused(DocumentRefusal(field: "customerNumber", expected: "\(stored.order.customerNumber), the customer order \(order.orderNumber) was recorded for", found: order.customerNumber))
            }
        }
        try tx.saveOrder(canonical, at: now)
        try tx.markSeen(type: "order", key: order.orderNumber, hash: hash)
        guard order.status == .completed else {
            return .applied("order \(order.orderNumber) recorded as \(order.status.rawValue) (invoiced when completed, rule O2)")
        }
        guard let customer = try tx.customer(order.customerNumber) else {
            return .applied("order \(order.orderNumber) completed; waiting for customer \(order.customerNumber)")
        }
        if let number = try making.invoiceIfDue(order, customer: customer, tx) {
            return .applied("order \(order.orderNumber) invoiced as \(number)")
        }
        return .applied("order \(order.orderNumber) completed; " + (try making.whenInvoiced(order, customer: customer, tx)))
    }

    private func apply(_ returned: ReturnOrder, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        let canonical = try Canonical(returned)
        let hash = canonical.hash
        if try tx.hasSeen(type: "return", key: returned.returnNumber, hash: hash) {
            return .unchanged("return \(returned.returnNumber) is already known with this content")
        }
        if try tx.isReturnRecorded(returned.returnNumber) {
            return .refused(DocumentRefusal(field: "returnNumber", expected: "a new return number: return \(returned.returnNumber) is already recorded with other content", found: returned.returnNumber))
        }
        guard let order = try tx.order(returned.orderNumber) else {
            return .refused(DocumentRefusal(field: "orderNumber", expected: "the number of a recorded order", found: returned.orderNumber))
        }
        guard let invoiceNumber = order.invoiceNumber, let original = try tx.invoice(invoiceNumber) else {
            // Checked now against the order, so that it can be credited when the order is invoiced.
            var pending: [String: Decimal] = [:]
            for earlier in try tx.pendingReturns(orderNumber: returned.orderNumber) {
                for line in earlier.lines { pending[line.articleNumber, default: 0] += line.quantity }
            }
            do {
                try factory.checkReturn(returned, delivered: order.order.lines.map { ($0.articleNumber, $0.quantity) },
                                        alreadyReturned: pending, on: "order \(returned.orderNumber)")
            } catch {
                return .refused(DocumentRefusal(field: nil, expected: "a return that matches order \(returned.orderNumber)", found: error.reason))
            }
            try tx.saveReturn(canonical, creditInvoiceNumber: nil, at: now)
            try tx.markSeen(type: "return", key: returned.returnNumber, hash: hash)
            return .applied("return \(returned.returnNumber) recorded; credited when order \(returned.orderNumber) is invoiced")
        }
        let outcome = try making.credit(returned, original: original.invoice, tx)
        if case .applied = outcome { try tx.markSeen(type: "return", key: returned.returnNumber, hash: hash) }
        return outcome
    }

    private func apply(_ payment: Payment, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        let hash = try Canonical(payment).hash
        if try tx.hasSeen(type: "payment", key: payment.invoiceNumber, hash: hash) {
            return .unchanged("this payment of invoice \(payment.invoiceNumber) is already recorded")
        }
        guard let record = try tx.invoice(payment.invoiceNumber), record.invoice.kind != .credit else {
            return .refused(DocumentRefusal(field: "invoiceNumber", expected: "the number of an invoice", found: payment.invoiceNumber))
        }
        let total = try tx.addPayment(payment, at: now)
        try tx.markSeen(type: "payment", key: payment.invoiceNumber, hash: hash)
        let invoice = record.invoice
        var detail = "\(payment.amount.fixed(2)) \(invoice.currency) paid \(Instant.format(payment.paidAt)); \(total.fixed(2)) of \(invoice.totals.payable.fixed(2)) paid in all"
        if total > invoice.totals.payable {
            detail += "; overpaid by \((total - invoice.totals.payable).fixed(2)) \(invoice.currency), to be refunded or settled"
        }
        let settles = total >= invoice.totals.payable && invoice.status != .paid && invoice.status != .credited
        try tx.apply(settles ? .paid(detail) : .paymentReceived(detail), toInvoice: invoice.number, at: now)
        return .applied("payment of invoice \(payment.invoiceNumber) recorded")
    }

    private func apply(_ command: OperatorCommand, invoiceNumber: String, template: String?, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        switch command {
        case .approve:
            return try Operations.approve(invoiceNumber, at: now, tx)
        case .credit:
            return try crediting.credit(invoiceNumber, at: now, tx)
        case .send:
            guard let template else { return try Operations.send(invoiceNumber, at: now, tx) }
            if let refusal = try redrawing.redraw(invoiceNumber, template: template, at: now, tx) { return .refused(refusal) }
            if case .unchanged = try Operations.send(invoiceNumber, at: now, tx) {
                return .applied("invoice \(invoiceNumber) drawn with the \(template) template; it goes with the next push")
            }
            return .applied("invoice \(invoiceNumber) drawn with the \(template) template and sent again with the next push")
        case .remind:
            guard remindersEnabled else {
                return .refused(DocumentRefusal(field: "type", expected: "reminders turned on (distribution.reminders.enabled: true, rule D6)", found: "remind"))
            }
            guard try tx.invoice(invoiceNumber) != nil else {
                return .refused(DocumentRefusal(field: "invoiceNumber", expected: "the number of an invoice", found: invoiceNumber))
            }
            // Written when the run's documents are in: the reminder's artefacts are rendered files.
            try tx.requestReminder(invoice: invoiceNumber, at: now)
            return .applied("invoice \(invoiceNumber): reminder requested")
        }
    }
}

/// Operator actions shared by the command line and command documents.
enum Operations {
    /// D3–D5: an invoice's failed deliveries go again with the next push (the `send` document;
    /// `gateway send N` sends at once).
    static func send(_ number: String, at now: Date, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        guard let record = try tx.invoice(number) else {
            return .refused(DocumentRefusal(field: "invoiceNumber", expected: "the number of an invoice", found: number))
        }
        if record.invoice.status == .review {
            return .refused(DocumentRefusal(field: "invoiceNumber", expected: "an invoice that has left review: approve \(number) first (rule S5)", found: number))
        }
        let retried = try tx.retryFailedDeliveries(invoice: number)
        guard retried > 0 else { return .unchanged("invoice \(number) has no failed delivery to send again (status \(record.invoice.status.rawValue))") }
        let detail = "requested by a send document: \(retried) failed deliver\(retried == 1 ? "y goes" : "ies go") again with the next push"
        try tx.apply(.sendStarted(detail), orNote: .noted("send requested", detail: detail), toInvoice: number, at: now)
        return .applied("invoice \(number): sent again with the next push")
    }

    /// S5: an invoice for review becomes ready to send.
    static func approve(_ number: String, at now: Date, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        guard let record = try tx.invoice(number) else {
            return .refused(DocumentRefusal(field: "invoiceNumber", expected: "the number of an invoice", found: number))
        }
        guard record.invoice.status == .review else {
            return .unchanged("invoice \(number) is not waiting for review (status \(record.invoice.status.rawValue))")
        }
        try tx.apply(.approved, toInvoice: number, at: now)
        return .applied("invoice \(number) approved")
    }
}
