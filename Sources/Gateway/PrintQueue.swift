import Checksums
import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger
import Rendering

/// Prints the own-printer PDFs in `outbox/print/` on the CUPS queue of `printing.printer`:
/// each recorded as started before it goes to CUPS and as delivered with CUPS's job id (D4);
/// a queue that is unknown, stopped or refusing fails the job (D5) and the PDF stays.
struct PrintQueue {
    static let destination = "printer"

    let home: GatewayHome
    let ledger: any Ledger
    let configuration: GatewayConfiguration
    let catalog: MappingCatalog
    let clock: any GatewayClock
    let printer: CUPSPrinter

    var folder: URL { home.outbox.appendingPathComponent(configuration.outboxFolders[DistributionMethod.ownPrinter.rawValue] ?? "print") }

    func run(selection: Pusher.Selection, _ summary: inout PushSummary) throws {
        for file in try Pusher.files(in: folder, destination: Self.destination, selection: selection, home: home, ledger: ledger)
        where file.pathExtension == "pdf" {
            let path = home.relative(file)
            let earlier = try ledger.read { try $0.delivery(destination: Self.destination, path: path) }
            if earlier?.state == .delivered {
                // Printed and recorded by a run that stopped before moving the PDF.
                try Pusher.moveToSent(file, home: home, ledger: ledger)
                continue
            }
            if earlier?.state == .started, case .pending = selection {
                // A run stopped between CUPS taking the job and the ledger recording it.
                try fail(file, reason: "a run stopped while this PDF was being handed to CUPS, so it may have printed; `gateway send N` prints it again", &summary)
                continue
            }
            let invoice = try ledger.read { try $0.invoiceNumber(forFile: path) }
            let bytes = try Data(contentsOf: file)
            var record = DeliveryRecord(destination: Self.destination, path: path, invoiceNumber: invoice, remotePath: printer.queue,
                                        size: bytes.count, sha256: SHA256.hex(bytes), state: .started,
                                        attempts: (earlier?.attempts ?? 0) + 1, error: nil, at: clock.now)
            try ledger.write { [record] in try $0.recordSendStarted(record, triedBefore: earlier != nil, at: record.at) }
            let job: String
            do throws(CUPSPrinter.Failure) {
                job = try printer.print(file, title: "\(configuration.client.id) invoice \(invoice ?? file.lastPathComponent)")
            } catch {
                try fail(file, reason: error.description, &summary)
                continue
            }
            let now = clock.now
            record.state = .delivered
            record.remotePath = job
            record.at = now
            let sent = try ledger.write { [record] tx in
                try tx.recordDelivered(record, sentPath: home.relative(Pusher.sentLocation(of: file)),
                                       how: "printed on \(printer.queue) as CUPS job \(job)", to: nil)
            }
            try FileMoves.rename(file, to: Pusher.sentLocation(of: file))
            let exporter = SentExport(home: home, ledger: ledger, catalog: catalog, configuration: configuration, clock: clock)
            for invoice in sent { try exporter.run(invoice) }
            summary.delivered += 1
            summary.bytes += UInt64(bytes.count)
        }
    }

    private func fail(_ file: URL, reason: String, _ summary: inout PushSummary) throws {
        try Pusher.recordFailure(file, destination: Self.destination, reason: reason, home: home, ledger: ledger, at: clock.now)
        summary.failed += 1
        summary.errors.append("\(Self.destination): \(file.lastPathComponent): \(reason)")
    }
}
