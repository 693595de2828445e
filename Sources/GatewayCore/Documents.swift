import Foundation

// The inbox documents of CONTRACT.md as typed values. Intake builds them; the ledger stores
// them; invoicing reads them. Field names follow the contract.

public struct PostalAddress: Codable, Hashable, Sendable {
    public var street: String?
    public var postalCode: String?
    public var city: String?
    public var country: String?

    public init(street: String? = nil, postalCode: String? = nil, city: String? = nil, country: String? = nil) {
        self.street = street
        self.postalCode = postalCode
        self.city = city
        self.country = country
    }

    /// One line for listings: "Storgatan 1, 111 22 Stockholm".
    public var singleLine: String {
        [street, [postalCode, city].compactMap { $0 }.joined(separator: " ")]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
    }
}

public enum CustomerKind: String, Codable, Sendable, CaseIterable { case person, organisation }

public enum DistributionSystem: String, Codable, Sendable, CaseIterable {
    case extend, fortnox, fortnoxFinans = "fortnox-finans", inexchange
}

public enum DistributionMethod: String, Codable, Sendable, CaseIterable {
    case ownPrinter = "own-printer", email, centralPrint = "central-print", eInvoice = "e-invoice", export, autogiro
}

public enum InvoiceFormat: String, Codable, Sendable, CaseIterable {
    case pdf, svefaktura, peppolBIS3 = "peppol-bis3"
}

public enum ReviewSetting: String, Codable, Sendable, CaseIterable {
    case review, noReview = "no-review"
}

/// How a customer's deliveries become invoices (M1–M6). Only `running` is acted on so far;
/// the collective models are stored so that the scheduling issue can use them.
public struct InvoicingModel: Codable, Hashable, Sendable {
    public enum Model: String, Codable, Sendable, CaseIterable {
        case running, collective, collectiveOtherCustomer = "collective-other-customer"
    }
    public enum Interval: String, Codable, Sendable, CaseIterable {
        case daily, weekly, biweekly, monthly, daysOfMonth = "days-of-month"
    }
    public var model: Model
    public var interval: Interval?
    public var days: [Int]?
    public var lastDayOfMonth: Bool?
    public var startDate: CivilDate?
    public var time: String?
    public var payingCustomerNumber: String?

    public init(model: Model, interval: Interval? = nil, days: [Int]? = nil, lastDayOfMonth: Bool? = nil,
                startDate: CivilDate? = nil, time: String? = nil, payingCustomerNumber: String? = nil) {
        self.model = model
        self.interval = interval
        self.days = days
        self.lastDayOfMonth = lastDayOfMonth
        self.startDate = startDate
        self.time = time
        self.payingCustomerNumber = payingCustomerNumber
    }

    public static let running = InvoicingModel(model: .running)
}

/// Invoice settings as they may be given on one level (invoice, customer, client); nil = not set here (S1).
public struct InvoiceSettings: Codable, Hashable, Sendable {
    public var system: DistributionSystem?
    public var distributionMethod: DistributionMethod?
    public var format: InvoiceFormat?
    public var exportMapping: String?
    public var review: ReviewSetting?
    public var termsOfPaymentDays: Int?
    public var invoicingModel: InvoicingModel?
    public var invoiceAfterDesiredDeliveryDate: Bool?

    public init(system: DistributionSystem? = nil, distributionMethod: DistributionMethod? = nil,
                format: InvoiceFormat? = nil, exportMapping: String? = nil, review: ReviewSetting? = nil,
                termsOfPaymentDays: Int? = nil, invoicingModel: InvoicingModel? = nil,
                invoiceAfterDesiredDeliveryDate: Bool? = nil) {
        self.system = system
        self.distributionMethod = distributionMethod
        self.format = format
        self.exportMapping = exportMapping
        self.review = review
        self.termsOfPaymentDays = termsOfPaymentDays
        self.invoicingModel = invoicingModel
        self.invoiceAfterDesiredDeliveryDate = invoiceAfterDesiredDeliveryDate
    }
}

/// A customer's autogiro mandate: the payer number Bankgirot knows the payer by.
public struct AutogiroMandate: Codable, Hashable, Sendable {
    public var payerNumber: String
    public var bankAccount: String?
    public init(payerNumber: String, bankAccount: String? = nil) {
        self.payerNumber = payerNumber
        self.bankAccount = bankAccount
    }
}

public struct Customer: Codable, Hashable, Sendable {
    public var customerNumber: String
    public var kind: CustomerKind
    public var name: String
    public var organisationNumber: String?
    public var vatNumber: String?
    public var email: String?
    public var invoiceEmail: String?
    public var address: PostalAddress?
    public var peppolId: String?
    public var gln: String?
    public var organisation: String?
    public var invoiceReference: String?
    /// The invoice reference's own e-mail address (D10).
    public var invoiceReferenceEmail: String?
    /// Whether a reminder fee was agreed with this customer (D6–D8); absent: the client's setting.
    public var reminderFeeAgreed: Bool?
    public var linkInvoiceToOrganisation: Bool?
    public var invoiceSettings: InvoiceSettings?
    public var autogiro: AutogiroMandate?

    public init(customerNumber: String, kind: CustomerKind, name: String, organisationNumber: String? = nil,
                vatNumber: String? = nil, email: String? = nil, invoiceEmail: String? = nil,
                address: PostalAddress? = nil, peppolId: String? = nil, gln: String? = nil,
                organisation: String? = nil, invoiceReference: String? = nil, invoiceReferenceEmail: String? = nil,
                reminderFeeAgreed: Bool? = nil,
                linkInvoiceToOrganisation: Bool? = nil, invoiceSettings: InvoiceSettings? = nil, autogiro: AutogiroMandate? = nil) {
        self.customerNumber = customerNumber
        self.kind = kind
        self.name = name
        self.organisationNumber = organisationNumber
        self.vatNumber = vatNumber
        self.email = email
        self.invoiceEmail = invoiceEmail
        self.address = address
        self.peppolId = peppolId
        self.gln = gln
        self.organisation = organisation
        self.invoiceReference = invoiceReference
        self.invoiceReferenceEmail = invoiceReferenceEmail
        self.reminderFeeAgreed = reminderFeeAgreed
        self.linkInvoiceToOrganisation = linkInvoiceToOrganisation
        self.invoiceSettings = invoiceSettings
        self.autogiro = autogiro
    }
}

/// O1: the order's progress. The raw values are the contract's words; the order is their rank.
public enum OrderStatus: String, Codable, Sendable, CaseIterable, Comparable {
    case created, reserved, picked, completed

    public var rank: Int { OrderStatus.allCases.firstIndex(of: self)! }
    public static func < (a: OrderStatus, b: OrderStatus) -> Bool { a.rank < b.rank }
}

/// VAT rates a Swedish invoice may carry (25, 12, 6 and 0 %).
public enum VATRate: Int, Codable, Sendable, CaseIterable, Comparable {
    case zero = 0, six = 6, twelve = 12, twentyFive = 25
    public var percent: Decimal { Decimal(rawValue) }
    public static func < (a: VATRate, b: VATRate) -> Bool { a.rawValue < b.rawValue }
}

public struct OrderLine: Codable, Hashable, Sendable {
    public var articleNumber: String
    public var description: String
    public var quantity: Decimal
    public var unit: String?
    public var unitPrice: Decimal
    public var vatRate: VATRate
    public var discountPercent: Decimal?

    public init(articleNumber: String, description: String, quantity: Decimal, unit: String? = nil,
                unitPrice: Decimal, vatRate: VATRate, discountPercent: Decimal? = nil) {
        self.articleNumber = articleNumber
        self.description = description
        self.quantity = quantity
        self.unit = unit
        self.unitPrice = unitPrice
        self.vatRate = vatRate
        self.discountPercent = discountPercent
    }
}

public struct Order: Codable, Hashable, Sendable {
    public var orderNumber: String
    public var customerNumber: String
    public var status: OrderStatus
    public var orderDate: CivilDate
    public var completedAt: Date?
    public var desiredDeliveryDate: CivilDate?
    public var externalOrderNumber: String?
    public var endCustomerOrderNumber: String?
    public var yourReference: String?
    public var ourReference: String?
    public var paymentMethod: String?
    public var prepaid: Bool?
    public var currency: String?
    public var invoiceEmail: String?
    public var deliveryName: String?
    public var deliveryAddress: PostalAddress?
    public var lines: [OrderLine]

    public init(orderNumber: String, customerNumber: String, status: OrderStatus, orderDate: CivilDate,
                completedAt: Date? = nil, desiredDeliveryDate: CivilDate? = nil, externalOrderNumber: String? = nil,
                endCustomerOrderNumber: String? = nil, yourReference: String? = nil, ourReference: String? = nil,
                paymentMethod: String? = nil, prepaid: Bool? = nil, currency: String? = nil,
                invoiceEmail: String? = nil, deliveryName: String? = nil, deliveryAddress: PostalAddress? = nil,
                lines: [OrderLine]) {
        self.orderNumber = orderNumber
        self.customerNumber = customerNumber
        self.status = status
        self.orderDate = orderDate
        self.completedAt = completedAt
        self.desiredDeliveryDate = desiredDeliveryDate
        self.externalOrderNumber = externalOrderNumber
        self.endCustomerOrderNumber = endCustomerOrderNumber
        self.yourReference = yourReference
        self.ourReference = ourReference
        self.paymentMethod = paymentMethod
        self.prepaid = prepaid
        self.currency = currency
        self.invoiceEmail = invoiceEmail
        self.deliveryName = deliveryName
        self.deliveryAddress = deliveryAddress
        self.lines = lines
    }

    /// M1: an order paid in advance, by flag or by payment method.
    public var isPrepaid: Bool { prepaid == true || paymentMethod == "prepaid" }
}

public struct ReturnLine: Codable, Hashable, Sendable {
    public var articleNumber: String
    public var quantity: Decimal
    public init(articleNumber: String, quantity: Decimal) {
        self.articleNumber = articleNumber
        self.quantity = quantity
    }
}

public struct ReturnOrder: Codable, Hashable, Sendable {
    public var returnNumber: String
    public var orderNumber: String
    public var completedAt: Date
    public var lines: [ReturnLine]
    public init(returnNumber: String, orderNumber: String, completedAt: Date, lines: [ReturnLine]) {
        self.returnNumber = returnNumber
        self.orderNumber = orderNumber
        self.completedAt = completedAt
        self.lines = lines
    }
}

public struct Payment: Codable, Hashable, Sendable {
    public var invoiceNumber: String
    public var amount: Decimal
    public var paidAt: Date
    public init(invoiceNumber: String, amount: Decimal, paidAt: Date) {
        self.invoiceNumber = invoiceNumber
        self.amount = amount
        self.paidAt = paidAt
    }
}

/// Operator commands that arrive as documents.
public enum OperatorCommand: String, Codable, Sendable, CaseIterable {
    case approve, credit, remind, send
}

/// One accepted inbox document.
public enum InboxDocument: Sendable, Hashable {
    case customer(Customer)
    case order(Order)
    case returnOrder(ReturnOrder)
    case payment(Payment)
    /// `template` only with `send`: the PDF template to draw the invoice with for this send.
    case command(OperatorCommand, invoiceNumber: String, template: String? = nil)

    public var typeName: String {
        switch self {
        case .customer: "customer"
        case .order: "order"
        case .returnOrder: "return"
        case .payment: "payment"
        case .command(let command, _, _): command.rawValue
        }
    }
}
