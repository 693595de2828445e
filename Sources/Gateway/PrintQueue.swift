import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger

/// The route of the own-printer PDFs in `outbox/print/`: onto the CUPS queue of
/// `printing.printer`, each recorded as started just before it goes to CUPS and as delivered
/// with CUPS's job id (D4); a queue that is unknown, stopped or refusing fails the job (D5)
/// and the PDF stays.
struct PrintQueue {
    static let destination = "printer"

    let dispatch: Dispatch
    let configuration: GatewayConfiguration
    let printer: CUPSPrinter

    var folder: URL { dispatch.home.outbox.appendingPathComponent(configuration.outboxFolders[DistributionMethod.ownPrinter.rawValue] ?? "print") }

    func run(selection: Dispatch.Selection, _ summary: inout PushSummary) throws {
        let files = try dispatch.files(in: folder, destination: Self.destination, selection: selection)
            .filter { $0.pathExtension == "pdf" }
        guard !files.isEmpty else { return }
        let route = Dispatch.Route(
            destination: Self.destination, label: nil, retry: RetryPolicy(attempts: 1), handOverOneByOne: true, recordEvery: 1,
            inDoubt: "a run stopped while this PDF was being handed to CUPS, so it may have printed; `gateway send N` prints it again",
            parcel: { [configuration, printer] file, invoice, _ in
                Parcel(file: file, placement: printer.queue, title: "\(configuration.client.id) invoice \(invoice ?? file.lastPathComponent)")
            })
        try dispatch.run(files, route: route, selection: selection, transport: { printer }, &summary)
    }
}
