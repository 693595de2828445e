import Foundation
import GatewayCore

public enum InvoiceKind: String, Codable, Sendable, CaseIterable { case invoice, credit, reminder }

/// The statuses of CONTRACT.md's last section; the comments give the seed's words.
public enum InvoiceStatus: String, Codable, Sendable, CaseIterable {
    case review      // Granskning krävs
    case ready
    case waiting     // Väntar på att skickas
    case sent        // Skickad
    case reminder    // Påminnelse
    case paid
    case credited
}

public struct InvoiceLine: Codable, Hashable, Sendable {
    public var position: Int
    public var articleNumber: String
    public var description: String
    public var quantity: Decimal
    public var unit: String?
    public var unitPrice: Decimal
    public var discountPercent: Decimal?
    public var vatRate: VATRate
    /// quantity × unit price, rounded to öre.
    public var grossAmount: Decimal
    /// The line discount in kronor, rounded to öre.
    public var discountAmount: Decimal
    /// grossAmount − discountAmount: the amount VAT is computed on.
    public var net: Decimal
    /// The order the line was delivered on, on an invoice that covers several (M2); a credit
    /// line names the order of the line it credits.
    public var orderNumber: String?

    public init(position: Int, articleNumber: String, description: String, quantity: Decimal, unit: String?, unitPrice: Decimal, discountPercent: Decimal?, vatRate: VATRate, grossAmount: Decimal, discountAmount: Decimal, net: Decimal,
                orderNumber: String? = nil) {
        self.position = position
        self.articleNumber = articleNumber
        self.description = description
        self.quantity = quantity
        self.unit = unit
        self.unitPrice = unitPrice
        self.discountPercent = discountPercent
        self.vatRate = vatRate
        self.grossAmount = grossAmount
        self.discountAmount = discountAmount
        self.net = net
        self.orderNumber = orderNumber
    }
}

/// One order on a collective invoice (M2, M6): the heading of its group of lines.
public struct InvoicedOrder: Codable, Hashable, Sendable {
    public var orderNumber: String
    /// The day the delivery was completed, in the client's time zone.
    public var deliveryDate: CivilDate?
    /// The customer who ordered (a department or subsidiary when another customer pays, M6).
    public var orderedBy: String
    public var orderedByName: String
    public var yourReference: String?
    public var ourReference: String?
    public var externalOrderNumber: String?
    public var endCustomerOrderNumber: String?

    public init(orderNumber: String, deliveryDate: CivilDate?, orderedBy: String, orderedByName: String, yourReference: String? = nil,
                ourReference: String? = nil, externalOrderNumber: String? = nil, endCustomerOrderNumber: String? = nil) {
        self.orderNumber = orderNumber
        self.deliveryDate = deliveryDate
        self.orderedBy = orderedBy
        self.orderedByName = orderedByName
        self.yourReference = yourReference
        self.ourReference = ourReference
        self.externalOrderNumber = externalOrderNumber
        self.endCustomerOrderNumber = endCustomerOrderNumber
    }
}

public struct VATSubtotal: Codable, Hashable, Sendable {
    public var rate: VATRate
    public var taxable: Decimal
    public var amount: Decimal

    public init(rate: VATRate, taxable: Decimal, amount: Decimal) {
        self.rate = rate
        self.taxable = taxable
        self.amount = amount
    }
}

public struct InvoiceTotals: Codable, Hashable, Sendable {
    public var net: Decimal
    public var vat: Decimal
    /// net + vat
    public var gross: Decimal
    /// payable + prepaid − gross: öresavrundning, shown on the invoice.
    public var rounding: Decimal
    public var prepaid: Decimal
    /// What the customer is asked to pay.
    public var payable: Decimal
    public var vatBreakdown: [VATSubtotal]

    public init(net: Decimal, vat: Decimal, gross: Decimal, rounding: Decimal, prepaid: Decimal, payable: Decimal, vatBreakdown: [VATSubtotal]) {
        self.net = net
        self.vat = vat
        self.gross = gross
        self.rounding = rounding
        self.prepaid = prepaid
        self.payable = payable
        self.vatBreakdown = vatBreakdown
    }
}

extension InvoicedOrder {
    /// "Order 5001, levererad 2026-12-03, beställd av K7 Avdelning Syd, er referens Eva": the
    /// heading of an order's lines on a collective invoice (M2), naming who ordered when another
    /// customer pays (M6); Peppol carries it as each line's note (BT-127).
    public func heading(namingOrderer: Bool) -> String {
        var parts = ["Order \(orderNumber)"]
        if let deliveryDate { parts.append("levererad \(deliveryDate)") }
        if namingOrderer { parts.append("beställd av \(orderedBy) \(orderedByName)") }
        if let yourReference { parts.append("er referens \(yourReference)") }
        return parts.joined(separator: ", ")
    }
}

/// An invoice or credit invoice as the ledger keeps it and the renderers read it.
public struct Invoice: Codable, Hashable, Sendable {
    public var number: String
    public var kind: InvoiceKind
    public var status: InvoiceStatus
    public var customer: Customer
    public var orderNumbers: [String]
    public var returnNumber: String?
    public var creditedInvoiceNumber: String?
    public var creditedInvoiceIssueDate: CivilDate?
    public var issueDate: CivilDate
    public var dueDate: CivilDate
    public var currency: String
    public var ocr: String
    public var settings: ResolvedSettings
    public var yourReference: String?
    public var ourReference: String?
    public var externalOrderNumber: String?
    public var endCustomerOrderNumber: String?
    public var invoiceEmail: String?
    public var deliveryName: String?
    public var deliveryAddress: PostalAddress?
    public var deliveryDate: CivilDate?
    public var paymentMethod: String?
    public var lines: [InvoiceLine]
    public var totals: InvoiceTotals
    /// When the invoice was made; its day in the client's time zone is the issue date.
    public var createdAt: Date
    /// D11: the invoice's own e-mail address (the order's `invoiceEmail`, or the operator's),
    /// which wins over the customer's.
    public var emailOverride: String?
    /// Where it goes and why (D2, D9–D13); nil until resolved.
    public var distribution: DistributionDecision?
    /// A collective invoice's orders (M2), in the order of its line groups; empty for an
    /// invoice of one order made when it was completed (M1).
    public var orders: [InvoicedOrder]
    /// M6: the customer who ordered, when another customer (`customer`) pays.
    public var orderingCustomerNumber: String?

    public init(number: String, kind: InvoiceKind, status: InvoiceStatus, customer: Customer, orderNumbers: [String], returnNumber: String?, creditedInvoiceNumber: String?, creditedInvoiceIssueDate: CivilDate?, issueDate: CivilDate, dueDate: CivilDate, currency: String, ocr: String, settings: ResolvedSettings, yourReference: String?, ourReference: String?, externalOrderNumber: String?, endCustomerOrderNumber: String?, invoiceEmail: String?, deliveryName: String?, deliveryAddress: PostalAddress?, deliveryDate: CivilDate?, paymentMethod: String?, lines: [InvoiceLine], totals: InvoiceTotals, createdAt: Date,
                emailOverride: String? = nil, distribution: DistributionDecision? = nil, orders: [InvoicedOrder] = [],
                orderingCustomerNumber: String? = nil) {
        self.number = number
        self.kind = kind
        self.status = status
        self.customer = customer
        self.orderNumbers = orderNumbers
        self.returnNumber = returnNumber
        self.creditedInvoiceNumber = creditedInvoiceNumber
        self.creditedInvoiceIssueDate = creditedInvoiceIssueDate
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.currency = currency
        self.ocr = ocr
        self.settings = settings
        self.yourReference = yourReference
        self.ourReference = ourReference
        self.externalOrderNumber = externalOrderNumber
        self.endCustomerOrderNumber = endCustomerOrderNumber
        self.invoiceEmail = invoiceEmail
        self.deliveryName = deliveryName
        self.deliveryAddress = deliveryAddress
        self.deliveryDate = deliveryDate
        self.paymentMethod = paymentMethod
        self.lines = lines
        self.totals = totals
        self.createdAt = createdAt
        self.emailOverride = emailOverride
        self.distribution = distribution
        self.orders = orders
        self.orderingCustomerNumber = orderingCustomerNumber
    }

    /// M6: the customer who pays, when it is not the one who ordered.
    public var payingCustomerNumber: String? { orderingCustomerNumber == nil ? nil : customer.customerNumber }

    /// Whether the invoice covers several orders, each a group of lines (M2).
    public var isCollective: Bool { orders.count > 1 || orderingCustomerNumber != nil }
}
