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

    /// S6: a return gives a credit invoice against the original, always for review.
    /// Prices, discounts and VAT come from the original invoice's lines.
    public func creditInvoice(for returned: ReturnOrder, original: Invoice, alreadyReturned: [String: Decimal],
                              number: String, at now: Date) throws(InvoicingRefusal) -> Invoice {
        let today = CivilDate(now, in: timeZone)
        try checkReturn(returned, delivered: original.lines.map { ($0.articleNumber, $0.quantity) }, alreadyReturned: alreadyReturned,
                        on: "invoice \(original.number)")
        var lines: [InvoiceLine] = []
        for (i, item) in returned.lines.enumerated() {
            let source = original.lines.first { $0.articleNumber == item.articleNumber }!
            let orderLine = OrderLine(articleNumber: source.articleNumber, description: source.description, quantity: item.quantity,
                                      unit: source.unit, unitPrice: source.unitPrice, vatRate: source.vatRate,
                                      discountPercent: source.discountPercent)
            lines.append(InvoiceCalculator.line(position: i + 1, from: orderLine))
        }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: client.roundToWholeKronor, prepaid: false)
        var settings = original.settings
        settings.review = .review
        return Invoice(
            number: number, kind: .credit, status: .review, customer: original.customer,
            orderNumbers: original.orderNumbers, returnNumber: returned.returnNumber,
            creditedInvoiceNumber: original.number, creditedInvoiceIssueDate: original.issueDate,
            issueDate: today, dueDate: today, currency: original.currency,
            ocr: OCR.reference(for: number, lengthDigit: client.ocr.lengthDigit),
            settings: settings, yourReference: original.yourReference, ourReference: original.ourReference,
            externalOrderNumber: original.externalOrderNumber, endCustomerOrderNumber: original.endCustomerOrderNumber,
            invoiceEmail: original.invoiceEmail, deliveryName: original.deliveryName, deliveryAddress: original.deliveryAddress,
            deliveryDate: CivilDate(returned.completedAt, in: timeZone), paymentMethod: nil, lines: lines, totals: totals,
            createdAt: now, emailOverride: original.emailOverride, distribution: original.distribution)
    }

    /// The operator's credit (D14, `gateway credit N`): a credit invoice for everything on
    /// `original` that no return has credited yet, ready to send unless `status` says otherwise.
    public func fullCredit(of original: Invoice, alreadyReturned: [String: Decimal], number: String, status: InvoiceStatus = .ready,
                           at now: Date) throws(InvoicingRefusal) -> Invoice {
        let today = CivilDate(now, in: timeZone)
        var returned = alreadyReturned
        var lines: [InvoiceLine] = []
        for source in original.lines {
            let taken = min(returned[source.articleNumber] ?? 0, source.quantity)
            returned[source.articleNumber] = (returned[source.articleNumber] ?? 0) - taken
            let quantity = source.quantity - taken
            guard quantity > 0 else { continue }
            let orderLine = OrderLine(articleNumber: source.articleNumber, description: source.description, quantity: quantity,
                                      unit: source.unit, unitPrice: source.unitPrice, vatRate: source.vatRate,
                                      discountPercent: source.discountPercent)
            lines.append(InvoiceCalculator.line(position: lines.count + 1, from: orderLine))
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
            createdAt: now, emailOverride: original.emailOverride, distribution: original.distribution)
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

    public var timeZone: TimeZone { client.zone }
}
