import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger
import PDFRendering
import Rendering

/// A send with a chosen template (`gateway send N --template NAME`, a `send` document's
/// `template`): the invoice's PDF, and the e-mail that carries it, are drawn again with that
/// template under the names they were published as, so the send delivers them instead.
/// Only artefacts that have not left are redrawn; central print always uses the standard
/// template (D2), and an e-invoice has none.
struct Redrawing {
    let home: GatewayHome
    let catalog: MappingCatalog
    let templates: TemplateCatalog
    let configuration: GatewayConfiguration

    /// Nil when redrawn; else why not.
    func redraw(_ number: String, template: String, at now: Date, _ tx: any LedgerTransaction) throws -> DocumentRefusal? {
        guard let record = try tx.invoice(number) else {
            return DocumentRefusal(field: "invoiceNumber", expected: "the number of an invoice", found: number)
        }
        guard let method = record.invoice.method, [.email, .ownPrinter].contains(method) else {
            return DocumentRefusal(field: "template", expected: "an invoice sent by e-mail or the own printer: central print always uses the standard template (rule D2) and other methods send no PDF",
                                   found: record.invoice.method?.rawValue ?? "no method")
        }
        if case .failure(let error) = templates.renderer(template) {
            return DocumentRefusal(field: "template", expected: "a template in templates/", found: "\(template) (\(error))")
        }
        let waiting = Set(try tx.undeliveredFiles(invoice: number))
        guard !waiting.isEmpty else {
            return DocumentRefusal(field: "invoiceNumber", expected: "an invoice with files still to send: \(number)'s have left", found: number)
        }
        var drawn = configuration
        drawn.pdfTemplate = template
        guard case .outputs(let outputs) = Publisher.render(record.invoice, catalog: catalog, templates: templates, configuration: drawn) else {
            return DocumentRefusal(field: "template", expected: "a template the invoice can be drawn with", found: template)
        }
        var written: [String] = []
        for output in outputs {
            let paths = output.parts.indices.map { index in
                let name = output.parts.count == 1 ? output.fileName
                    : (output.fileName as NSString).deletingPathExtension + "_\(index + 1)." + (output.fileName as NSString).pathExtension
                return "outbox/\(output.folder)/\(name)"
            }
            // Only what still waits in the outbox; a file that has left stays as it was sent.
            guard paths.allSatisfy(waiting.contains) else { continue }
            written += try Publisher.write(output, home: home)
        }
        try tx.apply(.noted("redrawn", detail: "with the \(template) template for this send: " + written.joined(separator: ", ")), toInvoice: number, at: now)
        return nil
    }
}
