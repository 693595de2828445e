import Checksums
import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger

/// Makes invoices from the completed deliveries the ledger holds, by each customer's model
/// (O2, M1–M7), inside the caller's transaction: numbered gap-free, routed, recorded with the
/// orders they invoice, and the returns that waited for them credited.
struct InvoiceMaking {
    let factory: InvoiceFactory
    let routing: InvoiceRouting
    let now: Date

    private var today: CivilDate { CivilDate(now, in: factory.timeZone) }

    /// M1, M7: the running model's invoice for a completed order, when it is due now.
    func invoiceIfDue(_ order: Order, customer: Customer, _ tx: any LedgerTransaction) throws -> String? {
        let settings = factory.settings(for: customer)
        guard order.isPrepaid || settings.invoicingModel.model == .running,
              factory.isDue(order, settings: settings, today: today) else { return nil }
        let number = try nextNumber(tx)
        let invoice = try routing.routed(factory.invoice(for: order, customer: customer, number: number, at: now), tx)
        let detail = "from order \(order.orderNumber)" + (order.isPrepaid ? "; prepaid, marked paid (rule M1)" : "")
            + (invoice.status == .review ? "; review required (rule S5)" : "") + "; " + invoice.distribution!.summary
        try record(invoice, of: [order], detail: detail, tx)
        return number
    }

    /// Every invoice due now for one customer's completed deliveries not yet invoiced: the
    /// running model's one per order, or the collective model's one per cut-off that has passed
    /// (and per currency), each with the deliveries that were invoiceable at its cut-off.
    func invoiceDue(customerNumber: String, _ tx: any LedgerTransaction) throws -> [String] {
        guard let customer = try tx.customer(customerNumber) else { return [] }
        let settings = factory.settings(for: customer)
        let orders = try tx.uninvoicedCompletedOrders(customerNumber: customerNumber)
        guard let schedule = CollectiveSchedule(settings.invoicingModel, timeZone: factory.timeZone) else {
            return try orders.compactMap { try invoiceIfDue($0, customer: customer, tx) }
        }
        var numbers: [String] = []
        var collected: [Order] = []
        for order in orders {
            // M1: a prepaid order is paid already, so it is not collected onto an invoice to pay.
            if order.isPrepaid {
                if let number = try invoiceIfDue(order, customer: customer, tx) { numbers.append(number) }
            } else {
                collected.append(order)
            }
        }
        guard let payer = try payer(of: customer, settings: settings, tx) else { return numbers }
        let last = try tx.lastCutOff(customerNumber: customerNumber)
        var byCutOff: [Date: [String: [Order]]] = [:]
        for order in collected {
            guard let from = factory.invoiceableFrom(order, settings: settings),
                  let cutOff = schedule.firstCutOff(notBefore: from, after: last), cutOff <= now else { continue }
            byCutOff[cutOff, default: [:]][order.currency ?? factory.client.currency, default: []].append(order)
        }
        for cutOff in byCutOff.keys.sorted() {
            for (_, deliveries) in byCutOff[cutOff]!.sorted(by: { $0.key < $1.key }) {
                let number = try nextNumber(tx)
                let invoice = try routing.routed(
                    factory.collectiveInvoice(of: deliveries, orderedBy: customer, payer: payer, number: number, at: now), tx)
                var detail = "collective invoice (rule M2) at the cut-off \(Instant.wallClock(cutOff, factory.timeZone)) of \(schedule): "
                    + "\(deliveries.count) deliver\(deliveries.count == 1 ? "y" : "ies")"
                if let ordering = invoice.orderingCustomerNumber { detail += " ordered by \(ordering), paid by \(payer.customerNumber) (rule M6)" }
                detail += (invoice.status == .review ? "; review required (rule S5)" : "") + "; " + invoice.distribution!.summary
                try record(invoice, of: deliveries, detail: detail, tx)
                numbers.append(number)
            }
        }
        if let made = schedule.latestCutOff(atOrBefore: now), made > (last ?? .distantPast) {
            try tx.setLastCutOff(made, customerNumber: customerNumber)
        }
        return numbers
    }

    /// When a completed order that is not invoiced yet will be, and why not now.
    func whenInvoiced(_ order: Order, customer: Customer, _ tx: any LedgerTransaction) throws -> String {
        let settings = factory.settings(for: customer)
        guard let schedule = CollectiveSchedule(settings.invoicingModel, timeZone: factory.timeZone) else {
            let desired = order.desiredDeliveryDate.map { " \($0)" } ?? ""
            return "invoiced once its desired delivery date\(desired) has passed (rule M7)"
        }
        if try payer(of: customer, settings: settings, tx) == nil {
            return "waiting for its paying customer \(settings.invoicingModel.payingCustomerNumber ?? "") (rule M6)"
        }
        let from = max(factory.invoiceableFrom(order, settings: settings) ?? now, now)
        guard let next = schedule.firstCutOff(notBefore: from, after: try tx.lastCutOff(customerNumber: customer.customerNumber)) else {
            return "collected for a collective invoice (rule M2); the schedule \(schedule) has no coming cut-off"
        }
        return "collected for the collective invoice at the cut-off \(Instant.wallClock(next, factory.timeZone)) (rule M2"
            + (from > now ? ", after its desired delivery date, rule M7)" : ")")
    }

    /// M6: the customer who pays a collective invoice; nil while that customer is not known.
    func payer(of customer: Customer, settings: ResolvedSettings, _ tx: any LedgerTransaction) throws -> Customer? {
        guard settings.invoicingModel.model == .collectiveOtherCustomer, let number = settings.invoicingModel.payingCustomerNumber,
              number != customer.customerNumber else { return customer }
        return try tx.customer(number)
    }

    private func record(_ invoice: Invoice, of orders: [Order], detail: String, _ tx: any LedgerTransaction) throws {
        try tx.insertInvoice(invoice, at: now, event: "created", detail: detail)
        for order in orders {
            try tx.setOrderInvoice(orderNumber: order.orderNumber, invoiceNumber: invoice.number)
            for returned in try tx.pendingReturns(orderNumber: order.orderNumber) {
                // Checked against the order when it arrived; should the credit still be refused,
                // the invoice's history says why rather than the return waiting unseen.
                if case .refused(let refusal) = try credit(returned, original: invoice, tx) {
                    try tx.apply(.noted("return not credited", detail: "return \(returned.returnNumber): \(refusal.found ?? refusal.expected)"),
                                 toInvoice: invoice.number, at: now)
                }
            }
        }
    }

    func nextNumber(_ tx: any LedgerTransaction) throws -> String {
        let series = factory.client.numberSeries
        return series.number(try tx.nextSequence(series: series.name, first: series.first))
    }

    /// S6: the credit invoice for a return, always for review; on a collective invoice it
    /// credits the lines of the returned order.
    func credit(_ returned: ReturnOrder, original: Invoice, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        if try tx.status(ofInvoice: original.number) == .credited {
            return .refused(DocumentRefusal(field: "orderNumber", expected: "a return against an invoice not yet credited: invoice \(original.number) is credited in full",
                                            found: returned.orderNumber))
        }
        let already = try tx.returnedQuantities(creditedInvoice: original.number)
        // Checked with a placeholder number first, so a refusal takes no number from the series.
        do {
            _ = try factory.creditInvoice(for: returned, original: original, alreadyReturned: already, number: "0", at: now)
        } catch {
            return .refused(DocumentRefusal(field: nil, expected: "a return that matches invoice \(original.number)", found: error.reason))
        }
        let number = try nextNumber(tx)
        let creditInvoice = try routing.routed(
            factory.creditInvoice(for: returned, original: original, alreadyReturned: already, number: number, at: now),
            customer: try tx.customer(original.customer.customerNumber), tx)
        try tx.insertInvoice(creditInvoice, at: now, event: "created",
                             detail: "credit for return \(returned.returnNumber) against invoice \(original.number)"
                                + (original.isCollective ? ", order \(returned.orderNumber)" : "") + "; review required (rule S6)")
        try tx.saveReturn(try Canonical(returned), creditInvoiceNumber: number, at: now)
        return .applied("return \(returned.returnNumber) credited as \(number) (for review, rule S6)")
    }
}
