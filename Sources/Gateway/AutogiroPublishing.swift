import Foundation
import GatewayCore
import Invoicing
import Ledger
import Rendering

/// Invoices whose method is autogiro become payment records in one Bankgirot file per
/// publishing run in `outbox/autogiro/`. Each invoice is recorded with the file's name in the
/// transaction that publishes it; the file is written from the ledger when the run ends, and a
/// run after a crash writes any recorded file that is missing, so no payment is lost or doubled.
struct AutogiroPublishing {
    let home: GatewayHome
    let ledger: any Ledger
    let configuration: GatewayConfiguration
    let clock: any GatewayClock

    var folder: String { configuration.outboxFolders[DistributionMethod.autogiro.rawValue] ?? "autogiro" }

    /// The record an invoice gives, or why it cannot go by autogiro.
    static func payment(for invoice: Invoice, configuration: GatewayConfiguration) -> Result<AutogiroFile.Payment, AutogiroFile.Problem> {
        guard configuration.autogiro != nil else {
            return .failure(.init(description: "autogiro: gateway.yml has no autogiro: {customerNumber, bankgiro}"))
        }
        guard let mandate = invoice.customer.autogiro else {
            return .failure(.init(description: "autogiro: customer \(invoice.customer.customerNumber) has no autogiro mandate (autogiro.payerNumber)"))
        }
        let credit = invoice.kind == .credit
        let amount = credit ? invoice.totals.gross + invoice.totals.rounding : invoice.totals.payable
        guard amount > 0 else { return .failure(.init(description: "autogiro: invoice \(invoice.number) has nothing to draw or pay back")) }
        switch AutogiroFile.ore(amount) {
        case .failure(let problem): return .failure(.init(description: "autogiro: \(problem)"))
        case .success(let ore):
            // A withdrawal on the due date, a deposit on the issue date; either moves to the
            // next banking day when it falls on a weekend or a Swedish bank holiday.
            return .success(AutogiroFile.Payment(kind: credit ? .deposit : .withdrawal,
                                                 date: BankingCalendar.onOrAfter(credit ? invoice.issueDate : invoice.dueDate),
                                                 payerNumber: mandate.payerNumber, amountInOre: ore, reference: invoice.ocr))
        }
    }

    /// The file a run's autogiro invoices go into: its writing date and time in the name.
    func fileName(at now: Date) -> String {
        let zone = TimeZone(identifier: configuration.client.timeZone) ?? .current
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        let client = configuration.client.id.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        return String(format: "%@_autogiro_%04d%02d%02d_%02d%02d%02d.txt", client, c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// Writes the file from the invoices the ledger records in it; when the folder is where
    /// autogiro files are delivered, the invoices are then sent (D4).
    func write(_ path: String) throws {
        let numbers = try ledger.read { try $0.invoiceNumbers(forFile: path) }
        let invoices = try ledger.read { tx in try numbers.compactMap { try tx.invoice($0)?.invoice } }
        let payments = invoices.compactMap { try? Self.payment(for: $0, configuration: configuration).get() }
        guard let settings = configuration.autogiro, let date = Self.writingDate(of: path) else { return }
        let file = AutogiroFile(writingDate: date, customerNumber: settings.customerNumber, bankgiro: settings.bankgiro, payments: payments)
        try FileMoves.writeAtomically(file.bytes, to: home.root.appendingPathComponent(path))
        guard configuration.isDeliveredByWriting(folder: folder) else { return }
        let now = clock.now
        try ledger.write { tx in
            for invoice in invoices where try tx.status(ofInvoice: invoice.number) == .waiting {
                try tx.setStatus(invoice: invoice.number, to: .sent, at: now, event: "sent",
                                 detail: "delivered in \(path) (\(payments.count) payment record\(payments.count == 1 ? "" : "s")) for Bankgirot; no transport serves outbox/\(folder)/")
            }
        }
    }

    /// Writes every file the ledger records that is neither in the outbox nor in `sent/`.
    func writeMissing() throws {
        for path in try ledger.read({ try $0.files(under: "outbox/\(folder)/") }) where path.hasSuffix(".txt") && !path.contains("/sent/") {
            let url = home.root.appendingPathComponent(path)
            guard !FileManager.default.fileExists(atPath: url.path),
                  !FileManager.default.fileExists(atPath: Pusher.sentLocation(of: url).path) else { continue }
            try write(path)
        }
    }

    /// The writing date in a file name this type made.
    static func writingDate(of path: String) -> CivilDate? {
        let parts = (path as NSString).lastPathComponent.split(separator: "_")
        guard parts.count >= 4, parts[parts.count - 2].count == 8 else { return nil }
        let d = parts[parts.count - 2]
        return CivilDate("\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))")
    }
}
