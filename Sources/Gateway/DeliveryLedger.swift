import Foundation
import GatewayCore
import Invoicing
import Ledger

/// How every transport tells the ledger what happened to a file it carries (D3–D5). A file
/// may carry several invoices (an autogiro file) and an invoice several files (Fortnox's
/// three payloads): an invoice is delivered when the last of its files has left.
extension LedgerTransaction {
    /// D3: a file's send begins. One that was tried before (a retry, `gateway send N`) starts
    /// its invoices' send again when a failure had put them back.
    func recordSendStarted(_ record: DeliveryRecord, triedBefore: Bool, at now: Date) throws {
        try saveDelivery(record)
        guard triedBefore else { return }
        for invoice in try invoiceNumbers(forFile: record.path) {
            guard let status = try status(ofInvoice: invoice), [.ready, .sent, .reminder].contains(status) else { continue }
            try apply(.sendStarted("again by \(record.destination)"), toInvoice: invoice, at: now)
        }
    }

    /// D4: the file has left and moves to `sentPath`. Returns the invoices it made `sent`.
    func recordDelivered(_ record: DeliveryRecord, sentPath: String, how: String, to: String?) throws -> [String] {
        try saveDelivery(record)
        var sent: [String] = []
        for invoice in try invoiceNumbers(forFile: record.path) {
            try moveFile(invoice: invoice, from: record.path, to: sentPath)
            let status = try status(ofInvoice: invoice)
            let last = status == .waiting || status == .paid ? try undeliveredFiles(invoice: invoice).isEmpty : false
            if last {
                if try apply(.delivered(how: how, to: to), toInvoice: invoice, at: record.at) == .sent { sent.append(invoice) }
            } else {
                // One of several files, or a file of an invoice whose send is not under way.
                try apply(.noted("file delivered", detail: (to.map { "to \($0): " } ?? "") + how), toInvoice: invoice, at: record.at)
            }
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
        for invoice in invoices {
            let status = try status(ofInvoice: invoice)
            let detail = "\(destination): \(reason)"
            try apply(status == .waiting || status == .paid ? .sendFailed(detail) : .noted("send failed", detail: detail), toInvoice: invoice, at: now)
        }
    }
}
