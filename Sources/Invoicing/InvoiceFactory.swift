import Foundation
import GatewayCore

/// Why an invoice could not be made from what the ledger holds.
public struct InvoicingRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Pure rules that turn completed orders and returns into invoices (M1, S1, S5, S6).
public struct InvoiceFactory: Sendable {
    public let client: ClientProfile

    public init(client: ClientProfile) { self.client = client }

    /// O2, M7: whether a recorded order is to be invoiced now.
    public func isDue(_ order: Order, settings: ResolvedSettings, today: CivilDate) -> Bool {
        guard order.status == .completed else { return false }
        if settings.invoiceAfterDesiredDeliveryDate, let desired = order.desiredDeliveryDate { return desired < today }
        return true
    }

    public func settings(for customer: Customer) -> ResolvedSettings {
        ResolvedSettings.resolve(customer: customer.invoiceSettings, client: client.defaults)
    }

    /// M1: one invoice per completed order, also when it was paid otherwise; prepaid is marked paid.
    public func invoice(for order: Order, customer: Customer, number: String, at now: Date) -> Invoice {
        let today = CivilDate(now, in: timeZone)
        let settings = settings(for: customer)
        let lines = order.lines.enumerated().map { InvoiceCalculator.line(position: $0.offset + 1, from: $0.element) }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: client.roundToWholeKronor, prepaid: order.isPrepaid)
        let completedDay = order.completedAt.map { CivilDate($0, in: timeZone) }
        return Invoice(
            number: number, kind: .invoice,
            status: order.isPrepaid ? .paid : (settings.review == .review ? .review : .ready),
            customer: customer, orderNumbers: [order.orderNumber], returnNumber: nil,
            creditedInvoiceNumber: nil, creditedInvoiceIssueDate: nil,
            issueDate: today, dueDate: today.adding(days: settings.termsOfPaymentDays),
            currency: order.currency ?? client.currency,
            ocr: OCR.reference(for: number, lengthDigit: client.ocr.lengthDigit),
            settings: settings, yourReference: order.yourReference, ourReference: order.ourReference,
            externalOrderNumber: order.externalOrderNumber, endCustomerOrderNumber: order.endCustomerOrderNumber,
            invoiceEmail: order.invoiceEmail ?? customer.invoiceEmail ?? customer.email,
            deliveryName: order.deliveryName, deliveryAddress: order.deliveryAddress, deliveryDate: completedDay,
            paymentMethod: order.paymentMethod, lines: lines, totals: totals, createdAt: now,
            emailOverride: order.invoiceEmail)
    }

    /// M7: the instant from which a completed order may be invoiced: when it was completed,
    /// or, when the customer is invoiced after the desired delivery date, once that date has
    /// passed in the client's time zone (the start of the next day). Nil when not completed.
    public func invoiceableFrom(_ order: Order, settings: ResolvedSettings) -> Date? {
        guard order.status == .completed, let completed = order.completedAt else { return nil }
        guard settings.invoiceAfterDesiredDeliveryDate, let desired = order.desiredDeliveryDate else { return completed }
        return max(completed, desired.adding(days: 1).start(in: timeZone))
    }

    /// M2, M3, M6: the collective invoice of `deliveries` (one customer's, one currency, in the
    /// order they were completed), addressed to and settled by the settings of `payer`; its
    /// lines grouped under each order. Prepaid orders are invoiced on their own (M1).
    public func collectiveInvoice(of deliveries: [Order], orderedBy: Customer, payer: Customer, number: String, at now: Date) -> Invoice {
        precondition(!deliveries.isEmpty, "no empty collective invoices (M3)")
        let today = CivilDate(now, in: timeZone)
        let settings = settings(for: payer)
        var lines: [InvoiceLine] = []
        lines.reserveCapacity(deliveries.reduce(0) { $0 + $1.lines.count })
        var orders: [InvoicedOrder] = []
        for order in deliveries {
            for orderLine in order.lines {
                var line = InvoiceCalculator.line(position: lines.count + 1, from: orderLine)
                line.orderNumber = order.orderNumber
                lines.append(line)
            }
            orders.append(InvoicedOrder(
                orderNumber: order.orderNumber, deliveryDate: order.completedAt.map { CivilDate($0, in: timeZone) },
                orderedBy: orderedBy.customerNumber, orderedByName: orderedBy.name, yourReference: order.yourReference,
                ourReference: order.ourReference, externalOrderNumber: order.externalOrderNumber,
                endCustomerOrderNumber: order.endCustomerOrderNumber))
        }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: client.roundToWholeKronor, prepaid: false)
        /// A header field that every order on the invoice gives alike, else nil.
        func common<T: Equatable>(_ value: (Order) -> T?) -> T? {
            let first = value(deliveries[0])
            return deliveries.allSatisfy { value($0) == first } ? first : nil
        }
        let otherPayer = payer.customerNumber != orderedBy.customerNumber
        let emailOverride = otherPayer ? nil : common(\.invoiceEmail)
        return Invoice(
            number: number, kind: .invoice, status: settings.review == .review ? .review : .ready,
            customer: payer, orderNumbers: deliveries.map(\.orderNumber), returnNumber: nil,
            creditedInvoiceNumber: nil, creditedInvoiceIssueDate: nil,
            issueDate: today, dueDate: today.adding(days: settings.termsOfPaymentDays),
            currency: deliveries[0].currency ?? client.currency,
            ocr: OCR.reference(for: number, lengthDigit: client.ocr.lengthDigit),
            settings: settings, yourReference: common(\.yourReference), ourReference: common(\.ourReference),
            externalOrderNumber: common(\.externalOrderNumber), endCustomerOrderNumber: common(\.endCustomerOrderNumber),
            invoiceEmail: emailOverride ?? payer.invoiceEmail ?? payer.email,
            deliveryName: common(\.deliveryName), deliveryAddress: common(\.deliveryAddress),
            deliveryDate: orders.compactMap(\.deliveryDate).max(),
            paymentMethod: common(\.paymentMethod), lines: lines, totals: totals, createdAt: now,
            emailOverride: emailOverride, orders: orders, orderingCustomerNumber: otherPayer ? orderedBy.customerNumber : nil)
    }

    /// S6: a return gives a credit invoice against the original, always for review.
    /// Prices, discounts and VAT come from the original invoice's lines; on a collective
    /// invoice, from the lines of the returned order's group (M2).
    public func creditInvoice(for returned: ReturnOrder, original: Invoice, alreadyReturned: [DeliveredArticle: Decimal],
                              number: String, at now: Date) throws(InvoicingRefusal) -> Invoice {
        let today = CivilDate(now, in: timeZone)
        let sources = Self.lines(of: returned.orderNumber, on: original)
        let orderKey = sources.first?.orderNumber
        var before: [String: Decimal] = [:]
        for (key, quantity) in alreadyReturned where key.orderNumber == orderKey { before[key.articleNumber, default: 0] += quantity }
        try checkReturn(returned, delivered: sources.map { ($0.articleNumber, $0.quantity) }, alreadyReturned: before,
                        on: "invoice \(original.number)")
        var lines: [InvoiceLine] = []
        for (i, item) in returned.lines.enumerated() {
            let source = sources.first { $0.articleNumber == item.articleNumber }!
            let orderLine = OrderLine(articleNumber: source.articleNumber, description: source.description, quantity: item.quantity,
                                      unit: source.unit, unitPrice: source.unitPrice, vatRate: source.vatRate,
                                      discountPercent: source.discountPercent)
            var line = InvoiceCalculator.line(position: i + 1, from: orderLine)
            line.orderNumber = source.orderNumber
            lines.append(line)
        }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: client.roundToWholeKronor, prepaid: false)
        var settings = original.settings
        settings.review = .review
        let group = original.orders.first { $0.orderNumber == returned.orderNumber }
        return Invoice(
            number: number, kind: .credit, status: .review, customer: original.customer,
            orderNumbers: group == nil ? original.orderNumbers : [returned.orderNumber], returnNumber: returned.returnNumber,
            creditedInvoiceNumber: original.number, creditedInvoiceIssueDate: original.issueDate,
            issueDate: today, dueDate: today, currency: original.currency,
            ocr: OCR.reference(for: number, lengthDigit: client.ocr.lengthDigit),
            settings: settings, yourReference: group?.yourReference ?? original.yourReference,
            ourReference: group?.ourReference ?? original.ourReference,
            externalOrderNumber: group?.externalOrderNumber ?? original.externalOrderNumber,
            endCustomerOrderNumber: group?.endCustomerOrderNumber ?? original.endCustomerOrderNumber,
            invoiceEmail: original.invoiceEmail, deliveryName: original.deliveryName, deliveryAddress: original.deliveryAddress,
            deliveryDate: CivilDate(returned.completedAt, in: timeZone), paymentMethod: nil, lines: lines, totals: totals,
            createdAt: now, emailOverride: original.emailOverride, distribution: original.distribution,
            orders: group.map { [$0] } ?? [], orderingCustomerNumber: original.orderingCustomerNumber)
    }

    /// The lines an order delivered on `invoice`: its group on a collective invoice, else all.
    static func lines(of orderNumber: String, on invoice: Invoice) -> [InvoiceLine] {
        invoice.lines.contains { $0.orderNumber != nil } ? invoice.lines.filter { $0.orderNumber == orderNumber } : invoice.lines
    }

    /// The operator's credit (D14, `gateway credit N`): a credit invoice for everything on
    /// `original` that no return has credited yet, ready to send unless `status` says otherwise.
    public func fullCredit(of original: Invoice, alreadyReturned: [DeliveredArticle: Decimal], number: String, status: InvoiceStatus = .ready,
                           at now: Date) throws(InvoicingRefusal) -> Invoice {
        let today = CivilDate(now, in: timeZone)
        var returned = alreadyReturned
        var lines: [InvoiceLine] = []
        for source in original.lines {
            let key = DeliveredArticle(orderNumber: source.orderNumber, articleNumber: source.articleNumber)
            let taken = min(returned[key] ?? 0, source.quantity)
            returned[key] = (returned[key] ?? 0) - taken
            let quantity = source.quantity - taken
            guard quantity > 0 else { continue }
            let orderLine = OrderLine(articleNumber: source.articleNumber, description: source.description, quantity: quantity,
                                      unit: source.unit, unitPrice: source.unitPrice, vatRate: source.vatRate,
                                      discountPercent: source.discountPercent)
            var line = InvoiceCalculator.line(position: lines.count + 1, from: orderLine)
            line.orderNumber = source.orderNumber
            lines.append(line)
        }
        guard !lines.isEmpty else { throw InvoicingRefusal("everything on invoice \(original.number) has been credited already (by returns)") }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: client.roundToWholeKronor, prepaid: false)
        return Invoice(
            number: number, kind: .credit, status: status, customer: original.customer,
            orderNumbers: original.orderNumbers, returnNumber: nil,
            creditedInvoiceNumber: original.number, creditedInvoiceIssueDate: original.issueDate,
            issueDate: today, dueDate: today, currency: original.currency,
            ocr: OCR.reference(for: number, lengthDigit: client.ocr.lengthDigit),
            settings: original.settings, yourReference: original.yourReference, ourReference: original.ourReference,
            externalOrderNumber: original.externalOrderNumber, endCustomerOrderNumber: original.endCustomerOrderNumber,
            invoiceEmail: original.invoiceEmail, deliveryName: original.deliveryName, deliveryAddress: original.deliveryAddress,
            deliveryDate: original.deliveryDate, paymentMethod: nil, lines: lines, totals: totals,
            createdAt: now, emailOverride: original.emailOverride, distribution: original.distribution,
            orders: original.orders, orderingCustomerNumber: original.orderingCustomerNumber)
    }

    /// A return gives back only articles that were delivered, and no more of each than was
    /// delivered less what earlier returns took back. `on` names the source for the message.
    public func checkReturn(_ returned: ReturnOrder, delivered: [(articleNumber: String, quantity: Decimal)],
                            alreadyReturned: [String: Decimal], on source: String) throws(InvoicingRefusal) {
        var before = alreadyReturned
        for (i, item) in returned.lines.enumerated() {
            let quantities = delivered.filter { $0.articleNumber == item.articleNumber }.map(\.quantity)
            guard !quantities.isEmpty else {
                throw InvoicingRefusal("lines[\(i)].articleNumber: article \(item.articleNumber) is not on \(source) (order \(returned.orderNumber))")
            }
            let total = quantities.reduce(Decimal(0), +)
            let returnedBefore = before[item.articleNumber] ?? 0
            guard returnedBefore + item.quantity <= total else {
                throw InvoicingRefusal("lines[\(i)].quantity: \(item.quantity.plainText) of \(item.articleNumber) would return more than the \(total.plainText) delivered (\(returnedBefore.plainText) already returned)")
            }
            before[item.articleNumber] = returnedBefore + item.quantity
        }
    }

    /// The contract's amounts have at most 12 digits before the point, as ERP fields do.
    public static let amountLimit = Decimal(sign: .plus, exponent: 12, significand: 1)
    /// 7.9 × 10^11: with 25 % VAT and öre rounding still under `amountLimit`.
    private static let quickBound = Decimal(sign: .plus, exponent: 10, significand: 79)

    /// The first line amount or invoice total of an order that would need more than 12 digits
    /// before the point (a quantity of 9 digits times a price of 12 can), or nil.
    public func amountOverLimit(_ order: Order) -> (field: String, amount: Decimal)? {
        // Quantity × price before discounts, with 25 % VAT, bounds every amount: an order well
        // inside needs no exact check (intake runs this for every order).
        var bound = Decimal(0)
        for line in order.lines { bound += line.quantity * line.unitPrice }
        if bound < Self.quickBound { return nil }
        let lines = order.lines.enumerated().map { InvoiceCalculator.line(position: $0.offset + 1, from: $0.element) }
        if let index = lines.firstIndex(where: { $0.grossAmount >= Self.amountLimit }) {
            return ("lines[\(index)]", lines[index].grossAmount)
        }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: client.roundToWholeKronor, prepaid: false)
        let largest = max(totals.gross, totals.payable)
        return largest >= Self.amountLimit ? ("lines", largest) : nil
    }

    public var timeZone: TimeZone { client.timeZone }
}

/// An article as one order delivered it: the key that returns are counted by, so that two
/// orders on one collective invoice with the same article are credited each on its own (S6).
public struct DeliveredArticle: Hashable, Sendable {
    /// Nil on an invoice of one order (M1).
    public var orderNumber: String?
    public var articleNumber: String
    public init(orderNumber: String?, articleNumber: String) {
        self.orderNumber = orderNumber
        self.articleNumber = articleNumber
    }
}
