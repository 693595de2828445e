import Foundation
import GatewayCore
import Invoicing
import PDFRendering

/// The PDF artefacts of an invoice: the PDF itself for e-mail and the own printer, and for
/// central print the print house's package (D2: the standard template with the client's logo,
/// and a metadata file beside it with the same stem).
enum PrintArtefacts {
    struct Problem: Error {
        let reason: String
    }

    /// The template central print always uses (D2).
    static let centralPrintTemplate = "standard"

    static func render(_ invoice: Invoice, for artefact: Artefact, templates: TemplateCatalog, configuration: GatewayConfiguration,
                       folder: String) -> Result<[Publisher.Output], Problem> {
        let central = artefact.destination == DistributionMethod.centralPrint.rawValue
        if central, let problem = invoice.customer.postalAddressProblem {
            return .failure(Problem(reason: "central print: \(problem); nothing was written"))
        }
        let templateName = central ? centralPrintTemplate : configuration.pdfTemplate
        let renderer: InvoicePDF
        switch templates.renderer(templateName) {
        case .success(let found): renderer = found
        case .failure(let error): return .failure(Problem(reason: "PDF: \(error)"))
        }
        let document = renderer.render(invoice, client: configuration.client)
        let name = Publisher.fileName(client: configuration.client, invoice: invoice, format: artefact.format, extension: "pdf")
        let pdf = Publisher.Output(fileName: name, folder: folder, parts: [document.bytes],
                                   label: "PDF", qualifier: "\(templateName) template, \(document.pages) page\(document.pages == 1 ? "" : "s")")
        guard central else { return .success([pdf]) }
        let metadata = PrintPackage(invoice: invoice, client: configuration.client, pdf: name, pages: document.pages,
                                    settings: configuration.printPackage)
        let stem = (name as NSString).deletingPathExtension
        return .success([pdf, Publisher.Output(fileName: stem + ".json", folder: folder, parts: [metadata.json],
                                               label: "print package metadata", qualifier: nil)])
    }
}

/// The metadata a print house needs to print, envelope and post one invoice.
struct PrintPackage: Encodable {
    struct Recipient: Encodable {
        var name: String
        var street: String
        var postalCode: String
        var city: String
        var country: String
    }

    var clientId: String
    var invoiceNumber: String
    var pdf: String
    var pages: Int
    var duplex: Bool
    var colour: Bool
    var postage: String
    var recipient: Recipient

    init(invoice: Invoice, client: ClientProfile, pdf: String, pages: Int, settings: PrintPackageSettings) {
        let address = invoice.customer.address
        clientId = client.id
        invoiceNumber = invoice.number
        self.pdf = pdf
        self.pages = pages
        duplex = settings.duplex
        colour = settings.colour
        postage = settings.postage
        recipient = Recipient(name: invoice.customer.name, street: address?.street ?? "", postalCode: address?.postalCode ?? "",
                              city: address?.city ?? "", country: address?.country ?? "SE")
    }

    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data()) + [0x0A]
    }
}
