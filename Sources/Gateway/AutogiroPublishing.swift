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
    /// Publishing's step for invoices that became `sent` (their O3 export).
    let afterSent: (String) throws -> Void

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

    /// The file a run's autogiro invoices go into: its writing date and time in the name, and
    /// a sequence number when a run in the same second already used that name (a second file
    /// under an earlier run's name would send that run's payments to the bank again).
    func fileName(at now: Date) throws -> String {
        let zone = configuration.client.timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        let client = configuration.client.id.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        let stem = String(format: "%@_autogiro_%04d%02d%02d_%02d%02d%02d", client, c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        let used = Set(try ledger.read { try $0.files(under: "outbox/\(folder)/") }.map { ($0 as NSString).lastPathComponent })
        var name = stem + ".txt"
        var sequence = 1
        while used.contains(name) {
            sequence += 1
            name = "\(stem)_\(sequence).txt"
        }
        return name
    }

    /// Writes the file from the invoices the ledger records in it, then marks them sent.
    func write(_ path: String) throws {
        let numbers = try ledger.read { try $0.invoiceNumbers(forFile: path) }
        let invoices = try ledger.read { tx in try numbers.compactMap { try tx.invoice($0)?.invoice } }
        guard let settings = configuration.autogiro, let date = Self.writingDate(of: path) else {
            throw AutogiroFile.Problem(description: "\(path): gateway.yml has no autogiro: section to write it with")
        }
        var payments: [AutogiroFile.Payment] = []
        for invoice in invoices {
            switch Self.payment(for: invoice, configuration: configuration) {
            case .success(let payment): payments.append(payment)
            // Checked when the invoice was published; a change since (a mandate removed) must not drop a payment unseen.
            case .failure(let problem): throw AutogiroFile.Problem(description: "\(path): invoice \(invoice.number): \(problem)")
            }
        }
        let file = AutogiroFile(writingDate: date, customerNumber: settings.customerNumber, bankgiro: settings.bankgiro, payments: payments)
        try FileMoves.writeAtomically(file.bytes, to: home.root.appendingPathComponent(path))
        try markSent(path, invoices: invoices.map(\.number), records: payments.count)
    }

    /// D4 for a folder where autogiro files are delivered by being written: the file's
    /// invoices that still wait become sent, and get their O3 export. Safe to repeat.
    private func markSent(_ path: String, invoices: [String], records: Int) throws {
        guard configuration.isDeliveredByWriting(folder: folder) else { return }
        let now = clock.now
        var sent: [String] = []
        try ledger.write { tx in
            for invoice in invoices where try tx.status(ofInvoice: invoice) == .waiting {
                let how = "delivered in \(path) (\(records) payment record\(records == 1 ? "" : "s")) for Bankgirot; no transport serves outbox/\(folder)/"
                try tx.apply(.delivered(how: how, to: nil), toInvoice: invoice, at: now)
                sent.append(invoice)
            }
        }
        for invoice in sent { try afterSent(invoice) }
    }

    /// After a crash: writes every file the ledger records that is neither in the outbox nor
    /// in `sent/`, and finishes the sending of those that were written.
    func writeMissing() throws {
        for path in try ledger.read({ try $0.files(under: "outbox/\(folder)/") }) where path.hasSuffix(".txt") && !path.contains("/sent/") {
            let url = home.root.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: url.path) || FileManager.default.fileExists(atPath: Dispatch.sentLocation(of: url).path) {
                let numbers = try ledger.read { try $0.invoiceNumbers(forFile: path) }
                try markSent(path, invoices: numbers, records: numbers.count)
            } else {
                try write(path)
            }
        }
    }

    /// The writing date in a file name this type made (`CLIENT_autogiro_YYYYMMDD_HHMMSS[_N].txt`).
    static func writingDate(of path: String) -> CivilDate? {
        let parts = (path as NSString).lastPathComponent.split(separator: "_")
        guard let at = parts.lastIndex(of: "autogiro"), at + 1 < parts.count, parts[at + 1].count == 8 else { return nil }
        let d = parts[at + 1]
        return CivilDate("\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))")
    }
}
