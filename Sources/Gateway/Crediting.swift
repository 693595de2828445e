import Distribution
import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger

/// `gateway credit N` and the `credit` document. Inside the undo window of a held send (D14)
/// the send is cancelled: its files leave the outbox before anything is recorded, so a crash
/// in between can only keep the customer from getting it, and a credit invoice cancels the
/// invoice in the ledger without being sent. Otherwise the credit is an ordinary credit
/// invoice, distributed like any other, with a reference to the invoice it credits.
struct Crediting {
    let factory: InvoiceFactory
    let routing: InvoiceRouting
    let undo: UndoWindow
    let home: GatewayHome

    func credit(_ number: String, at now: Date, _ tx: any LedgerTransaction) throws -> DocumentOutcome {
        guard let record = try tx.invoice(number), record.invoice.kind == .invoice else {
            return .refused(DocumentRefusal(field: "invoiceNumber", expected: "the number of an invoice (not of a credit invoice)", found: number))
        }
        let original = record.invoice
        switch original.status {
        case .credited:
            return .unchanged("invoice \(number) is credited already")
        case .review:
            return .refused(DocumentRefusal(field: "invoiceNumber",
                                            expected: "an invoice that has left review: \(number) waits for review (rule S5) and has not been sent", found: number))
        default:
            break
        }
        let already = try tx.returnedQuantities(creditedInvoice: number)
        // Checked with a placeholder number first, so a refusal takes no number from the series.
        do {
            _ = try factory.fullCredit(of: original, alreadyReturned: already, number: "0", at: now)
        } catch {
            return .refused(DocumentRefusal(field: "invoiceNumber", expected: "an invoice with something left to credit", found: error.reason))
        }
        let series = factory.client.numberSeries
        let creditNumber = series.number(try tx.nextSequence(series: series.name, first: series.first))

        if let since = try tx.waitingSince(invoice: number), let method = original.method,
           undo.canUndo(method: method, waitingSince: since, now: now) {
            let withdrawn = try withdraw(try tx.undeliveredFiles(invoice: number))
            for (from, to) in withdrawn { try tx.moveFile(invoice: number, from: from, to: to) }
            let cancelling = try factory.fullCredit(of: original, alreadyReturned: already, number: creditNumber, status: .credited, at: now)
            try tx.insertInvoice(cancelling, at: now, event: "created",
                                 detail: "cancels invoice \(number) inside its undo time (rule D14); kept for the books, not sent to the customer")
            try tx.markPublished(invoice: creditNumber, at: now)
            let elapsed = Int(now.timeIntervalSince(since))
            try tx.apply(.undone("credited by \(creditNumber) \(elapsed / 60):\(String(format: "%02d", elapsed % 60)) into the undo time of "
                                 + "\(undo.minutes) minutes (rule D14): the \(method.rawValue) send was withdrawn before it left"
                                 + (withdrawn.isEmpty ? "" : " (" + withdrawn.map(\.to).joined(separator: ", ") + ")") + "; nothing reached the customer"),
                         toInvoice: number, at: now)
            return .applied("invoice \(number) undone inside its undo time (rule D14): nothing was sent; credit invoice \(creditNumber) cancels it in the ledger")
        }

        let credit = try routing.routed(try factory.fullCredit(of: original, alreadyReturned: already, number: creditNumber, at: now),
                                        customer: try tx.customer(original.customer.customerNumber), tx)
        try tx.insertInvoice(credit, at: now, event: "created",
                             detail: "credits invoice \(number) of \(original.issueDate) in full" + (already.isEmpty ? "" : " (less what returns credited)")
                                 + "; " + credit.distribution!.summary)
        try tx.apply(.credited("by credit invoice \(creditNumber)"), toInvoice: number, at: now)
        return .applied("invoice \(number) credited by \(creditNumber), which goes by " + credit.distribution!.summary)
    }

    /// Moves the invoice's files out of the outbox into `withdrawn/` beside them, where no
    /// transport looks; one moved by an earlier attempt counts as moved.
    private func withdraw(_ paths: [String]) throws -> [(from: String, to: String)] {
        try paths.compactMap { path in
            let file = home.root.appendingPathComponent(path)
            let target = file.deletingLastPathComponent().appendingPathComponent("withdrawn").appendingPathComponent(file.lastPathComponent)
            if FileManager.default.fileExists(atPath: file.path) {
                try FileMoves.rename(file, to: target)
            } else if !FileManager.default.fileExists(atPath: target.path) {
                return nil
            }
            return (path, home.relative(target))
        }
    }
}
