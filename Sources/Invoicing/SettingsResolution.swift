import GatewayCore

/// Settings after S1: every value decided, from the most specific level that sets it.
public struct ResolvedSettings: Sendable, Hashable, Codable {
    public var system: DistributionSystem
    public var distributionMethod: DistributionMethod
    public var format: InvoiceFormat
    public var exportMapping: String?
    public var review: ReviewSetting
    public var termsOfPaymentDays: Int
    public var invoicingModel: InvoicingModel
    public var invoiceAfterDesiredDeliveryDate: Bool

    /// S1: invoice > customer > client default; the built-in defaults fill what the client leaves open.
    public static func resolve(invoice: InvoiceSettings? = nil, customer: InvoiceSettings?, client: InvoiceSettings) -> ResolvedSettings {
        let levels = [invoice, customer, client, ClientProfile.builtInDefaults].compactMap { $0 }
        func pick<T>(_ key: KeyPath<InvoiceSettings, T?>) -> T? { levels.lazy.compactMap { $0[keyPath: key] }.first }
        return ResolvedSettings(
            system: pick(\.system)!,
            distributionMethod: pick(\.distributionMethod)!,
            format: pick(\.format)!,
            exportMapping: pick(\.exportMapping),
            review: pick(\.review)!,
            termsOfPaymentDays: pick(\.termsOfPaymentDays)!,
            invoicingModel: pick(\.invoicingModel)!,
            invoiceAfterDesiredDeliveryDate: pick(\.invoiceAfterDesiredDeliveryDate)!)
    }
}
