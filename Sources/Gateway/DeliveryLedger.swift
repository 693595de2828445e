import Foundation
import GatewayCore
import Invoicing
import Ledger

/// How every transport tells the ledger what happened to a file it carries (D3–D5). A file
/// may carry several invoices (an autogiro file) and an invoice several files (Fortnox's
/// three payloads): an invoice is delivered when the last of its files has left.
extension LedgerTransaction {
    /// D3: a file's send begins. One that was tried before (a retry, `gateway send N`) starts
    /// its invoices' send again where a failure had put them back.
    func recordSendStarted(_ record: DeliveryRecord, triedBefore: Bool, at now: Date) throws {
        try saveDelivery(record)
        guard triedBefore else { return }
        let detail = "again by \(record.destination)"
        for invoice in try invoiceNumbers(forFile: record.path) {
            try apply(.sendStarted(detail), orNote: .noted("send started", detail: detail), toInvoice: invoice, at: now)
        }
    }

    /// D4: the file has left and moves to `sentPath`. Returns the invoices it made `sent`.
    func recordDelivered(_ record: DeliveryRecord, sentPath: String, how: String, to: String?) throws -> [String] {
        try saveDelivery(record)
        var sent: [String] = []
        for invoice in try invoiceNumbers(forFile: record.path) {
            try moveFile(invoice: invoice, from: record.path, to: sentPath)
            // One of several files, or a file of an invoice whose send is not under way: noted.
            let note = InvoiceLifecycle.Event.noted("file delivered", detail: (to.map { "to \($0): " } ?? "") + how)
            guard try undeliveredFiles(invoice: invoice).isEmpty else {
                try apply(note, toInvoice: invoice, at: record.at)
                continue
            }
            if try apply(.delivered(how: how, to: to), orNote: note, toInvoice: invoice, at: record.at) == .sent { sent.append(invoice) }
        }
        return sent
    }

    /// D5: the file's send failed; each invoice it carries gets back the status it had.
    func recordSendFailed(path: String, destination: String, reason: String, at now: Date) throws {
        let earlier = try delivery(destination: destination, path: path)
        let invoices = try invoiceNumbers(forFile: path)
        try saveDelivery(DeliveryRecord(
            destination: destination, path: path, invoiceNumber: invoices.first, remotePath: earlier?.remotePath ?? "",
            size: earlier?.size ?? 0, sha256: earlier?.sha256 ?? "", state: .failed, attempts: (earlier?.attempts ?? 0) + (earlier == nil ? 1 : 0),
            error: reason, at: now))
        let detail = "\(destination): \(reason)"
        for invoice in invoices {
            try apply(.sendFailed(detail), orNote: .noted("send failed", detail: detail), toInvoice: invoice, at: now)
        }
    }
}
