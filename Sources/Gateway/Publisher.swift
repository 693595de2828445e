import Checksums
import Foundation
import GatewayCore
import Invoicing
import Ledger
import Rendering

public struct PublishSummary: Sendable, Codable {
    public var published = 0
    public var failed = 0
}

/// Renders invoices that are ready, validates them and publishes them to `outbox/<folder>/`
/// by atomic rename. A document that fails validation goes to `failed/` with its errors and
/// the invoice history says why; it is never published.
struct Publisher: Sendable {
    let home: GatewayHome
    let ledger: any Ledger
    let catalog: MappingCatalog
    let configuration: GatewayConfiguration
    let clock: any GatewayClock
    var batchSize = 256
    var progress: (@Sendable (String) -> Void)?

    private enum Result: Sendable {
        case documents([(RenderedDocument, fileName: String, folder: String)])
        case failure(String, bytes: [UInt8]?, fileName: String)
    }

    func run(producing: () -> Bool = { false }) throws -> PublishSummary {
        var summary = PublishSummary()
        while true {
            // Read the flag before the queue: an intake that finished before this read has
            // committed everything this read can see.
            let more = producing()
            let invoices = try ledger.read { try $0.invoicesToPublish(limit: batchSize) }
            if invoices.isEmpty {
                if !more { break }
                Thread.sleep(forTimeInterval: 0.02)
                continue
            }
            // Rendering and validation are the expensive part and share nothing: use every core.
            let results = ResultBox<Result>(count: invoices.count)
            let catalog = catalog, configuration = configuration
            DispatchQueue.concurrentPerform(iterations: invoices.count) { i in
                results.set(i, Self.render(invoices[i], catalog: catalog, configuration: configuration))
            }
            for (invoice, result) in zip(invoices, results.values) {
                try publish(invoice, result!, &summary)
            }
            progress?("published \(summary.published), failed \(summary.failed)")
        }
        return summary
    }

    /// Deterministic per invoice and format, so a restart re-publishes under the same name
    /// instead of adding a second file. Letters, digits and `_` only (Pagero's rule).
    static func fileName(client: ClientProfile, invoice: Invoice, format: String, output: Mapping.Output) -> String {
        let clientPart = client.id.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        let uid = SHA256.hex("\(client.id)|\(client.numberSeries.name)|\(invoice.number)|\(format)").prefix(12)
        return "\(clientPart)_\(invoice.number)_\(uid).\(output.rawValue)"
    }

    /// Writes a rendered document by atomic rename; several documents from one mapping (one
    /// per article, say) get _1, _2, ... Returns the paths relative to the home.
    static func write(_ document: RenderedDocument, named fileName: String, in folder: URL, home: GatewayHome) throws -> [String] {
        try document.parts.enumerated().map { index, part in
            let name = document.parts.count == 1 ? fileName
                : (fileName as NSString).deletingPathExtension + "_\(index + 1)." + (fileName as NSString).pathExtension
            let target = folder.appendingPathComponent(name)
            try FileMoves.writeAtomically(part, to: target)
            return home.relative(target)
        }
    }

    private static func render(_ invoice: Invoice, catalog: MappingCatalog, configuration: GatewayConfiguration) -> Result {
        let artefacts = OutputChoice.artefacts(for: invoice.settings)
        guard !artefacts.isEmpty else {
            return .failure("distribution method export needs an exportMapping (sap, oracle, dynamics or a file in mappings/)", bytes: nil,
                            fileName: "\(invoice.number)")
        }
        var documents: [(RenderedDocument, fileName: String, folder: String)] = []
        for artefact in artefacts {
            let format = artefact.format
            guard format != InvoiceFormat.pdf.rawValue else {
                return .failure("format pdf: PDF rendering is not available yet; set format svefaktura or peppol-bis3 for this customer",
                                bytes: nil, fileName: invoice.number)
            }
            let output = catalog.mapping(named: format, for: invoice.kind)?.output ?? .xml
            let fileName = fileName(client: configuration.client, invoice: invoice, format: format, output: output)
            do {
                let document = try catalog.render(invoice, client: configuration.client, format: format)
                if !document.schemaErrors.isEmpty {
                    return .failure("\(format) failed validation against \(document.mapping.schema?.file ?? "its schema"): "
                                    + document.schemaErrors.prefix(5).joined(separator: "; "), bytes: document.bytes, fileName: fileName)
                }
                documents.append((document, fileName, configuration.outboxFolders[artefact.destination] ?? artefact.destination))
            } catch {
                return .failure("\(format): \(error.message)", bytes: nil, fileName: fileName)
            }
        }
        return .documents(documents)
    }

    private func publish(_ invoice: Invoice, _ result: Result, _ summary: inout PublishSummary) throws {
        let now = clock.now
        switch result {
        case .documents(let documents):
            var paths: [(String, RenderedDocument)] = []
            for (document, fileName, folder) in documents {
                for path in try Self.write(document, named: fileName, in: home.outbox.appendingPathComponent(folder), home: home) {
                    paths.append((path, document))
                }
            }
            try ledger.write { tx in
                var details: [String] = []
                for (path, document) in paths {
                    try tx.addFile(invoice: invoice.number, path: path)
                    let validated = document.wasValidated ? "validated against \(document.mapping.schema!.file)"
                        : document.mapping.schema == nil ? "no schema" : "NOT validated: no schema folder is set for \(document.mapping.schema!.set)"
                    details.append("\(document.mapping.name) written to \(path) (\(validated))")
                }
                try tx.markPublished(invoice: invoice.number, at: now)
                let detail = details.joined(separator: "; ")
                if invoice.status == .ready {
                    // D3: in the outbox, the invoice waits to be sent.
                    try tx.setStatus(invoice: invoice.number, to: .waiting, at: now, event: "published", detail: detail)
                } else {
                    try tx.appendHistory(invoice: invoice.number, HistoryEntry(at: now, status: invoice.status, event: "published", detail: detail))
                }
            }
            summary.published += 1
        case .failure(let reason, let bytes, let fileName):
            if let bytes {
                try FileMoves.writeAtomically(bytes, to: home.failed.appendingPathComponent(fileName))
                try FileMoves.writeAtomically(Array(reason.utf8) + [0x0A], to: home.failed.appendingPathComponent(fileName + ".errors.txt"))
            }
            try ledger.write { tx in
                try tx.markPublishFailed(invoice: invoice.number, at: now, reason: reason)
                try tx.appendHistory(invoice: invoice.number, HistoryEntry(at: now, status: invoice.status, event: "rendering failed", detail: reason))
            }
            summary.failed += 1
        }
    }
}

/// Results written from concurrent iterations, each index once.
private final class ResultBox<T>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: T) { lock.withLock { storage[index] = value } }
    var values: [T?] { lock.withLock { storage } }
}
