import Distribution
import Foundation
import GatewayCore
import Invoicing
import PDFRendering
import Rendering

/// The PDF artefacts of an invoice: the PDF itself for e-mail and the own printer, and for
/// central print the print house's package (D2: the standard template with the client's logo,
/// and a metadata file beside it with the same stem).
enum PrintArtefacts {
    struct Problem: Error {
        let reason: String
    }

    /// The template central print always uses (D2).
    static let centralPrintTemplate = "standard"

    /// With `reminder`, the payment reminder for the invoice (D6), named apart from the invoice's own files.
    static func render(_ invoice: Invoice, for artefact: Artefact, templates: TemplateCatalog, configuration: GatewayConfiguration,
                       folder: String, reminder: ReminderNotice? = nil) -> Result<[Publisher.Output], Problem> {
        let central = artefact.destination == DistributionMethod.centralPrint.rawValue
        if central, invoice.distribution?.addressee == nil, let problem = invoice.customer.postalAddressProblem {
            return .failure(Problem(reason: "central print: \(problem); nothing was written"))
        }
        let templateName = central ? centralPrintTemplate : configuration.pdfTemplate
        let renderer: InvoicePDF
        switch templates.renderer(templateName) {
        case .success(let found): renderer = found
        case .failure(let error): return .failure(Problem(reason: "PDF: \(error)"))
        }
        let document = renderer.render(invoice, client: configuration.client, reminder: reminder)
        let name = Publisher.fileName(client: configuration.client, invoice: invoice, format: artefact.format + (reminder.map { "-reminder\($0.sequence)" } ?? ""),
                                      extension: "pdf")
        let pdf = Publisher.Output(fileName: name, folder: folder, format: artefact.format, parts: [document.bytes],
                                   label: reminder == nil ? "PDF" : "reminder PDF", qualifier: "\(templateName) template, \(document.pages) page\(document.pages == 1 ? "" : "s")")
        guard central else { return .success([pdf]) }
        let package = PrintPackage(invoice: invoice, client: configuration.client, pdfName: name, pages: document.pages,
                                   layout: configuration.printPackage)
        let files = package.files(pdf: document.bytes, modified: invoice.createdAt, timeZone: configuration.client.timeZone)
        return .success(files.map { file in
            file.name == name ? pdf : Publisher.Output(fileName: file.name, folder: folder, format: artefact.format, parts: [file.bytes], label: file.label,
                                                       qualifier: file.name.hasSuffix(".zip") ? pdf.qualifier : nil)
        })
    }
}

extension PrintArtefacts {
    /// The invoice e-mail (D9, D11: to the invoice's e-mail address): one message that carries
    /// the PDF and any XML rendered for the e-mail folder, in place of those files.
    static func email(_ invoice: Invoice, carrying outputs: [Publisher.Output], templates: TemplateCatalog,
                      configuration: GatewayConfiguration, folder: String, reminder: ReminderNotice? = nil) -> Result<Publisher.Output, Problem> {
        guard let to = invoice.distribution?.email ?? invoice.invoiceEmail else {
            return .failure(Problem(reason: "e-mail: customer \(invoice.customer.customerNumber) has no e-mail address (invoiceEmail or email, or the order's invoiceEmail)"))
        }
        guard EmailAddress.isValid(to) else {
            return .failure(Problem(reason: "e-mail: \"\(to)\" is not a valid e-mail address; nothing was sent"))
        }
        let sender = configuration.email.map { ($0.fromName, $0.fromAddress) } ?? configuration.client.email.map { (configuration.client.name, $0) }
        guard let (fromName, fromAddress) = sender else {
            return .failure(Problem(reason: "e-mail: gateway.yml sets no email.from and the client has no email to send from"))
        }
        let template: InvoiceTemplate
        switch templates.renderer(configuration.pdfTemplate) {
        case .success(let renderer): template = renderer.template
        case .failure(let error): return .failure(Problem(reason: "e-mail: \(error)"))
        }
        let title = reminder != nil ? template.text("reminder") : invoice.kind == .credit ? template.text("creditInvoice") : template.text("invoice")
        let attachments = outputs.flatMap { output in
            output.parts.map { part in
                let ext = (output.fileName as NSString).pathExtension
                let type = ["pdf": "application/pdf", "xml": "application/xml", "json": "application/json"][ext] ?? "application/octet-stream"
                let name = ext == "pdf" ? "\(title)-\(invoice.number).pdf".replacingOccurrences(of: " ", with: "-") : "\(invoice.number)-\(output.label).\(ext)"
                return EmailMessage.Attachment(fileName: name, contentType: type, bytes: part)
            }
        }
        let message = EmailMessage.invoice(invoice, client: configuration.client, template: template, fromName: fromName, fromAddress: fromAddress,
                                           replyTo: configuration.email?.replyTo, to: to, attachments: attachments, reminder: reminder)
        let name = Publisher.fileName(client: configuration.client, invoice: invoice, format: "email" + (reminder.map { "-reminder\($0.sequence)" } ?? ""),
                                      extension: "eml")
        let carried = outputs.map { $0.label + ($0.qualifier.map { ", \($0)" } ?? "") }.joined(separator: "; ")
        return .success(Publisher.Output(fileName: name, folder: folder, format: "email", parts: [message.bytes], label: (reminder == nil ? "e-mail to " : "reminder e-mail to ") + to,
                                         qualifier: "\(message.messageID), carrying \(carried)"))
    }
}
