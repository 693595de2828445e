import GatewayCore
import Invoicing

/// One artefact an invoice is rendered to, and the outbox destination it goes to.
public struct Artefact: Sendable, Hashable {
    /// A mapping's format name (`peppol-bis3`, `fortnox`, `sap-idoc-invoic02`, ...).
    public var format: String
    /// The outbox destination key: a distribution method or a system (`e-invoice`, `fortnox`).
    public var destination: String
}

/// S2–S4: which artefacts an invoice's resolved settings and method call for.
public enum OutputChoice {
    /// The contract's short export names and the mappings that implement them.
    public static let exportMappings = ["sap": "sap-idoc-invoic02", "oracle": "oracle-ar", "dynamics": "dynamics-365"]

    /// `method` is the resolved one (the invoice's `distribution`). `customerFormat` is the
    /// format the customer's own settings name, if any: an e-mail carries the XML beside the
    /// PDF only when the customer asked for it.
    public static func artefacts(for settings: ResolvedSettings, method: DistributionMethod, customerFormat: InvoiceFormat? = nil) -> [Artefact] {
        switch settings.system {
        case .fortnox, .fortnoxFinans:
            // S3, S4: Fortnox chooses distribution and format itself; it gets the invoice, and
            // the customer and article payloads that keep its registers in step (F1).
            return ["fortnox-customer", "fortnox-article", "fortnox"].map { Artefact(format: $0, destination: settings.system.rawValue) }
        case .inexchange:
            return [Artefact(format: InvoiceFormat.peppolBIS3.rawValue, destination: settings.system.rawValue)]
        case .extend:
            // D1: invoice export is never combined with another method.
            if method == .export {
                guard let export = settings.exportMapping else { return [] }
                return [Artefact(format: exportMappings[export] ?? export, destination: DistributionMethod.export.rawValue)]
            }
            let pdf = Artefact(format: InvoiceFormat.pdf.rawValue, destination: method.rawValue)
            switch method {
            case .ownPrinter, .centralPrint:
                return [pdf]
            case .email:
                // The PDF for the reader, and the XML beside it when the customer's format is one.
                guard let format = customerFormat, format != .pdf else { return [pdf] }
                return [pdf, Artefact(format: format.rawValue, destination: method.rawValue)]
            case .autogiro:
                // One payment record in the run's autogiro file.
                return [Artefact(format: "autogiro", destination: method.rawValue)]
            case .eInvoice, .export:
                return [Artefact(format: settings.format.rawValue, destination: method.rawValue)]
            }
        }
    }

    /// D6: a payment reminder is a PDF (the reminder layout), by itself for the printers and
    /// inside the reminder e-mail; nil for a method reminders do not go by.
    public static func reminderArtefact(method: DistributionMethod) -> Artefact? {
        guard ReminderPolicy.methods.contains(method) else { return nil }
        return Artefact(format: InvoiceFormat.pdf.rawValue, destination: method.rawValue)
    }

    /// O3: once sent, an invoice is ready for export to the finance system: the ERP file of
    /// `exportMapping`, for invoices whose method is not `export` itself (that one is the send).
    public static func exportOnSent(for settings: ResolvedSettings, method: DistributionMethod?) -> Artefact? {
        guard method != .export, let export = settings.exportMapping else { return nil }
        return Artefact(format: exportMappings[export] ?? export, destination: DistributionMethod.export.rawValue)
    }
}
