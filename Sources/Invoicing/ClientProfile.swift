import Foundation
import GatewayCore

/// The company that issues the invoices (the seller), as `gateway.yml` describes it.
public struct ClientProfile: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var organisationNumber: String
    public var vatNumber: String?
    public var address: PostalAddress
    public var email: String?
    public var phone: String?
    public var bankgiro: String?
    public var plusgiro: String?
    public var iban: String?
    public var bic: String?
    /// "Godkänd för F-skatt": Swedish invoices must say so when it applies.
    public var approvedForFTax: Bool
    /// The one time zone that decides what "today", a schedule's time of day and a file name's
    /// date mean (CONTRACT.md), parsed once from `client.timeZone`.
    public var timeZone: TimeZone
    public var currency: String
    public var numberSeries: NumberSeries
    public var ocr: OCRSettings
    /// Round the amount to pay to whole kronor (öresavrundning), showing the rounding.
    public var roundToWholeKronor: Bool
    /// The client default level of S1.
    public var defaults: InvoiceSettings

    public init(id: String, name: String, organisationNumber: String, vatNumber: String? = nil, address: PostalAddress,
                email: String? = nil, phone: String? = nil, bankgiro: String? = nil, plusgiro: String? = nil,
                iban: String? = nil, bic: String? = nil, approvedForFTax: Bool = true, timeZone: TimeZone = ClientProfile.defaultTimeZone,
                currency: String = "SEK", numberSeries: NumberSeries = NumberSeries(), ocr: OCRSettings = OCRSettings(),
                roundToWholeKronor: Bool = true, defaults: InvoiceSettings = ClientProfile.builtInDefaults) {
        self.id = id
        self.name = name
        self.organisationNumber = organisationNumber
        self.vatNumber = vatNumber
        self.address = address
        self.email = email
        self.phone = phone
        self.bankgiro = bankgiro
        self.plusgiro = plusgiro
        self.iban = iban
        self.bic = bic
        self.approvedForFTax = approvedForFTax
        self.timeZone = timeZone
        self.currency = currency
        self.numberSeries = numberSeries
        self.ocr = ocr
        self.roundToWholeKronor = roundToWholeKronor
        self.defaults = defaults
    }

    public static let defaultTimeZone = TimeZone(identifier: "Europe/Stockholm")!

    /// What applies when neither gateway.yml nor the customer says anything.
    public static let builtInDefaults = InvoiceSettings(
        system: .extend, distributionMethod: .eInvoice, format: .peppolBIS3, review: .noReview,
        termsOfPaymentDays: 30, invoicingModel: .running, invoiceAfterDesiredDeliveryDate: false)
}

/// Invoice numbers: gap-free per series (Swedish VAT law), `prefix` + a running number.
public struct NumberSeries: Sendable, Hashable, Codable {
    public var name: String
    public var prefix: String
    public var first: Int
    public init(name: String = "default", prefix: String = "", first: Int = 1001) {
        self.name = name
        self.prefix = prefix
        self.first = first
    }

    public func number(_ sequence: Int) -> String { prefix + String(sequence) }
}

public struct OCRSettings: Sendable, Hashable, Codable {
    /// Add a length digit before the check digit (Bankgirot's "variable length with length digit").
    public var lengthDigit: Bool
    public init(lengthDigit: Bool = false) { self.lengthDigit = lengthDigit }
}
