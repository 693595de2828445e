import Distribution
import Foundation
import GatewayCore
import Invoicing
import Ledger
import Rendering

extension Publisher {
    /// O3: once an invoice is sent, its ERP export (the customer's `exportMapping`) is
    /// published to the export folder, once. Called wherever an invoice becomes sent: after a
    /// push delivered its last file, or when a folder no transport serves was written.
    func publishExport(ofSent number: String) throws {
        guard let record = try ledger.read({ try $0.invoice(number) }), record.invoice.status == .sent,
              let artefact = OutputChoice.exportOnSent(for: record.invoice.settings, method: record.invoice.method) else { return }
        let folder = configuration.outboxFolders[artefact.destination] ?? artefact.destination
        let output = catalog.mapping(named: artefact.format, for: record.invoice.kind)?.output ?? .xml
        let name = Publisher.fileName(client: configuration.client, invoice: record.invoice, format: artefact.format, extension: output.rawValue)
        let stem = "outbox/\(folder)/" + (name as NSString).deletingPathExtension
        guard !record.files.contains(where: { $0.hasPrefix(stem) }) else { return }
        let now = clock.now
        do {
            let document = try catalog.render(record.invoice, client: configuration.client, format: artefact.format)
            try gate.withLock {
                let paths = try Publisher.write(Publisher.Output(fileName: name, folder: folder, format: artefact.format, parts: document.parts,
                                                                 label: artefact.format, qualifier: nil), home: home)
                try ledger.write { tx in
                    for path in paths { try tx.addFile(invoice: number, path: path) }
                    try tx.apply(.noted("exported", detail: "\(artefact.format) written to \(paths.joined(separator: ", ")) for the finance system (rule O3)"),
                                 toInvoice: number, at: now)
                }
            }
        } catch let error as RenderError {
            try ledger.write { tx in
                try tx.apply(.noted("export failed", detail: "\(artefact.format): \(error.message)"), toInvoice: number, at: now)
            }
        }
    }
}
