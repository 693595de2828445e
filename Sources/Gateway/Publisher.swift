import Checksums
import Distribution
import Foundation
import GatewayCore
import Invoicing
import Ledger
import PDFRendering
import Rendering

public struct PublishSummary: Sendable, Codable {
    public var published = 0
    public var failed = 0
    /// Invoices published by each mapping or artefact (`peppol-bis3`, `pdf`, `email`, ...).
    public var rendered: [String: Int] = [:]
}

/// Renders invoices that are ready, validates them and publishes them to `outbox/<folder>/`
/// by atomic rename. A document that fails validation goes to `failed/` with its errors and
/// the invoice history says why; it is never published.
struct Publisher: Sendable {
    let home: GatewayHome
    let ledger: any Ledger
    let catalog: MappingCatalog
    let templates: TemplateCatalog
    let configuration: GatewayConfiguration
    let clock: any GatewayClock
    let gate: OutboxGate
    var batchSize = 256
    /// Bounds a batch of large invoices: what a batch holds in memory grows with its lines.
    var batchLines = 8192
    var progress: (@Sendable (String) -> Void)?
    var events: GatewayEvents?

    /// One file an invoice is published as, with what its history says of it.
    struct Output: Sendable {
        var fileName: String
        var folder: String
        /// The mapping or artefact it was made by: `peppol-bis3`, `pdf`, `email`, ...
        var format: String
        var parts: [[UInt8]]
        /// "peppol-bis3", "PDF (standard template, 2 pages)", ...
        var label: String
        /// "validated against ...", or nil.
        var qualifier: String?
    }

    enum Result: Sendable {
        case outputs([Output])
        /// A record for the run's autogiro file.
        case autogiro(AutogiroFile.Payment)
        case failure(String, bytes: [UInt8]?, fileName: String)
    }

    func run(producing: () -> Bool = { false }) throws -> PublishSummary {
        var summary = PublishSummary()
        let autogiro = AutogiroPublishing(home: home, ledger: ledger, configuration: configuration, clock: clock, afterSent: publishExport(ofSent:))
        try autogiro.writeMissing()
        // Should the run stop before the end, the next run's writeMissing writes the file.
        var autogiroFile: String?
        while true {
            // Read the flag before the queue: an intake that finished before this read has
            // committed everything this read can see.
            let more = producing()
            let invoices = try ledger.read { try $0.invoicesToPublish(limit: batchSize, lines: batchLines) }
            if invoices.isEmpty {
                if !more { break }
                // Short: for a single file dropped into a watched inbox this wait is most of the pickup time.
                Thread.sleep(forTimeInterval: 0.002)
                continue
            }
            // Rendering and validation are the expensive part and share nothing: use every core.
            let results = ResultBox<Result>(count: invoices.count)
            let catalog = catalog, templates = templates, configuration = configuration
            DispatchQueue.concurrentPerform(iterations: invoices.count) { i in
                results.set(i, Self.render(invoices[i], catalog: catalog, templates: templates, configuration: configuration))
            }
            // The files first, then what the ledger says of the whole batch in one transaction: a
            // crash in between leaves the invoices unpublished, and the next run writes the same
            // names again.
            let steps = try gate.withLock {
                var steps: [Step] = []
                for (invoice, result) in zip(invoices, results.values) {
                    if case .autogiro = result!, autogiroFile == nil {
                        autogiroFile = "outbox/\(autogiro.folder)/" + (try autogiro.fileName(at: clock.now))
                    }
                    steps.append(try publish(invoice, result!, autogiroFile: autogiroFile, &summary))
                }
                try ledger.write { tx in for step in steps { try step.record(tx) } }
                return steps
            }
            if let events { for step in steps { events(step.event) } }
            for case let number? in steps.map(\.exportOnceSent) { try publishExport(ofSent: number) }
            progress?("published \(summary.published), failed \(summary.failed)")
        }
        if let autogiroFile { try autogiro.write(autogiroFile) }
        return summary
    }

    /// Deterministic per invoice and format, so a restart re-publishes under the same name
    /// instead of adding a second file. Letters, digits and `_` only (Pagero's rule).
    static func fileName(client: ClientProfile, invoice: Invoice, format: String, extension: String) -> String {
        let clientPart = client.id.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        let uid = SHA256.hex("\(client.id)|\(client.numberSeries.name)|\(invoice.number)|\(format)").prefix(12)
        return "\(clientPart)_\(invoice.number)_\(uid).\(`extension`)"
    }

    static func render(_ invoice: Invoice, catalog: MappingCatalog, templates: TemplateCatalog,
                               configuration: GatewayConfiguration) -> Result {
        // D2: nothing can deliver it; the reason says why, and a change of what resolution
        // depends on (the customer, the invoice's e-mail address) tries again.
        guard let method = invoice.method else {
            return .failure(invoice.distribution?.decidedBy ?? "D2: no distribution method", bytes: nil, fileName: invoice.number)
        }
        let artefacts = OutputChoice.artefacts(for: invoice.settings, method: method, customerFormat: invoice.customer.invoiceSettings?.format)
        guard !artefacts.isEmpty else {
            return .failure("distribution method export needs an exportMapping (sap, oracle, dynamics or a file in mappings/)", bytes: nil,
                            fileName: "\(invoice.number)")
        }
        var outputs: [Output] = []
        for artefact in artefacts {
            let format = artefact.format
            let folder = configuration.outboxFolders[artefact.destination] ?? artefact.destination
            if format == "autogiro" {
                switch AutogiroPublishing.payment(for: invoice, configuration: configuration) {
                case .success(let payment): return .autogiro(payment)
                case .failure(let problem): return .failure(problem.description, bytes: nil, fileName: invoice.number)
                }
            }
            if format == InvoiceFormat.pdf.rawValue {
                switch PrintArtefacts.render(invoice, for: artefact, templates: templates, configuration: configuration, folder: folder) {
                case .success(let made): outputs += made
                case .failure(let problem): return .failure(problem.reason, bytes: nil, fileName: invoice.number)
                }
                continue
            }
            let output = catalog.mapping(named: format, for: invoice.kind)?.output ?? .xml
            let fileName = fileName(client: configuration.client, invoice: invoice, format: format, extension: output.rawValue)
            do {
                let document = try catalog.render(invoice, client: configuration.client, format: format)
                if !document.schemaErrors.isEmpty {
                    return .failure("\(format) failed validation against \(document.mapping.schema?.file ?? "its schema"): "
                                    + document.schemaErrors.prefix(5).joined(separator: "; "), bytes: document.bytes, fileName: fileName)
                }
                let validated = document.wasValidated ? "validated against \(document.mapping.schema!.file)"
                    : document.mapping.schema == nil ? "no schema" : "NOT validated: no schema folder is set for \(document.mapping.schema!.set)"
                outputs.append(Output(fileName: fileName, folder: folder, format: format, parts: document.parts, label: document.mapping.name, qualifier: validated))
            } catch {
                return .failure("\(format): \(error.message)", bytes: nil, fileName: fileName)
            }
        }
        if invoice.settings.system == .extend, method == .email {
            let folder = configuration.outboxFolders[DistributionMethod.email.rawValue] ?? DistributionMethod.email.rawValue
            switch PrintArtefacts.email(invoice, carrying: outputs.filter { $0.folder == folder }, templates: templates,
                                        configuration: configuration, folder: folder) {
            case .success(let message): outputs = outputs.filter { $0.folder != folder } + [message]
            case .failure(let problem): return .failure(problem.reason, bytes: nil, fileName: invoice.number)
            }
        }
        return .outputs(outputs)
    }

    /// Writes an output by atomic rename; several parts (one per article, say) get _1, _2, ...
    /// Returns the paths relative to the home.
    static func write(_ output: Output, home: GatewayHome) throws -> [String] {
        let folder = home.outbox.appendingPathComponent(output.folder)
        return try output.parts.enumerated().map { index, part in
            let name = output.parts.count == 1 ? output.fileName
                : (output.fileName as NSString).deletingPathExtension + "_\(index + 1)." + (output.fileName as NSString).pathExtension
            let target = folder.appendingPathComponent(name)
            try FileMoves.writeAtomically(part, to: target)
            return home.relative(target)
        }
    }

    /// What publishing an invoice leaves for the batch's transaction, and the invoice whose O3
    /// export follows once that is committed.
    private struct Step {
        var record: (any LedgerTransaction) throws -> Void
        var exportOnceSent: String?
        /// What is told once the batch is committed.
        var event: GatewayEvent
    }

    private func publish(_ invoice: Invoice, _ result: Result, autogiroFile: String?, _ summary: inout PublishSummary) throws -> Step {
        let now = clock.now
        switch result {
        case .autogiro(let payment):
            let path = autogiroFile!
            summary.published += 1
            summary.rendered["autogiro", default: 0] += 1
            return Step(record: { tx in
                try tx.addFile(invoice: invoice.number, path: path)
                try tx.markPublished(invoice: invoice.number, at: now)
                let what = payment.kind == .withdrawal ? "withdrawal" : "deposit"
                let detail = "autogiro \(what) of \((Decimal(payment.amountInOre) / 100).fixed(2)) \(invoice.currency) on \(payment.date) "
                    + "for payer number \(payment.payerNumber) in \(path)"
                try tx.apply(.published(detail), toInvoice: invoice.number, at: now)
            }, exportOnceSent: nil, event: .published(invoice: invoice.number, customer: invoice.customer.customerNumber, method: invoice.method?.rawValue,
                                                      formats: ["autogiro"], files: [path]))
        case .outputs(let outputs):
            var paths: [(String, Output)] = []
            for output in outputs {
                for path in try Self.write(output, home: home) { paths.append((path, output)) }
            }
            // A folder no transport serves is where the file is delivered (an export folder an
            // ERP reads, print/ with no printer set): there the invoice is sent once written.
            let unserved = Set(outputs.map(\.folder)).filter { configuration.isDeliveredByWriting(folder: $0) }.sorted()
            let deliveredHere = !outputs.isEmpty && unserved.count == Set(outputs.map(\.folder)).count
            summary.published += 1
            let formats = Array(Set(outputs.map(\.format))).sorted()
            for format in formats { summary.rendered[format, default: 0] += 1 }
            return Step(record: { tx in
                var details: [String] = []
                for (path, output) in paths {
                    try tx.addFile(invoice: invoice.number, path: path)
                    details.append("\(output.label) written to \(path)" + (output.qualifier.map { " (\($0))" } ?? ""))
                }
                try tx.markPublished(invoice: invoice.number, at: now)
                let detail = details.joined(separator: "; ")
                // D3: in the outbox, the invoice waits to be sent.
                try tx.apply(.published(detail), toInvoice: invoice.number, at: now)
                if deliveredHere {
                    // D4: it has left; the history says how and where.
                    let how = "delivered to " + unserved.map { "outbox/\($0)/" }.joined(separator: ", ")
                        + " (no transport serves " + (unserved.count == 1 ? "it" : "them") + ": "
                        + unserved.map { configuration.unservedNote(folder: $0) }.joined(separator: "; ") + ")"
                    try tx.apply(.delivered(how: how, to: nil), toInvoice: invoice.number, at: now)
                }
            }, exportOnceSent: deliveredHere && invoice.status == .ready ? invoice.number : nil,
               event: .published(invoice: invoice.number, customer: invoice.customer.customerNumber, method: invoice.method?.rawValue,
                                 formats: formats, files: paths.map(\.0)))
        case .failure(let reason, let bytes, let fileName):
            if let bytes {
                try FileMoves.writeAtomically(bytes, to: home.failed.appendingPathComponent(fileName))
                try FileMoves.writeAtomically(Array(reason.utf8) + [0x0A], to: home.failed.appendingPathComponent(fileName + ".errors.txt"))
            }
            summary.failed += 1
            return Step(record: { tx in
                try tx.markPublishFailed(invoice: invoice.number, at: now, reason: reason)
                try tx.apply(.noted("rendering failed", detail: reason), toInvoice: invoice.number, at: now)
            }, exportOnceSent: nil, event: .publishFailed(invoice: invoice.number, reason: reason))
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
