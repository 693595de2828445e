import CQREncode
import Foundation
import GatewayCore
import Invoicing

/// The payment QR code Swedish bank apps scan: Visma's UsingQR format, one line of JSON.
public enum PaymentQR {
    /// The UsingQR payload for an invoice, or nil when there is nothing to pay (a credit
    /// invoice, a prepaid one) or no account to pay to. `acc` is the bankgiro when the client
    /// has one, else the plusgiro, else the IBAN (with the BIC as `bc`).
    /// A reminder asks for another amount by another date: `dueDate` and `amount` say so.
    public static func payload(for invoice: Invoice, client: ClientProfile, dueDate: CivilDate? = nil, amount: Decimal? = nil) -> String? {
        let amount = amount ?? invoice.totals.payable
        guard invoice.kind != .credit, amount > 0 else { return nil }
        let account: (type: String, number: String)
        if let bankgiro = client.bankgiro { account = ("BG", bankgiro) }
        else if let plusgiro = client.plusgiro { account = ("PG", plusgiro) }
        else if let iban = client.iban { account = ("IBAN", iban.filter { $0 != " " }) }
        else { return nil }
        // Keys in the specification's order; `due` is a JSON number, as the format has it.
        var members: [(String, String)] = [
            ("uqr", "1"), ("tp", "1"),
            ("nme", client.name.jsonQuoted),
            ("cc", (client.address.country ?? "SE").jsonQuoted),
            ("cid", client.organisationNumber.jsonQuoted),
            ("iref", invoice.ocr.jsonQuoted),
            ("idt", compact(invoice.issueDate).jsonQuoted),
            ("ddt", compact(dueDate ?? invoice.dueDate).jsonQuoted),
            ("due", amount.fixed(2)),
            ("cur", invoice.currency.jsonQuoted),
            ("pt", account.type.jsonQuoted),
            ("acc", account.number.jsonQuoted),
        ]
        if account.type == "IBAN", let bic = client.bic { members.append(("bc", bic.jsonQuoted)) }
        return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    private static func compact(_ date: CivilDate) -> String { date.description.filter { $0 != "-" } }
}

/// A QR code's modules, from libqrencode.
public struct QRMatrix: Sendable {
    public let size: Int
    private let dark: [Bool]

    /// Encodes UTF-8 text in byte mode with error correction level M (15 % of the code may be
    /// soiled or folded and it still reads).
    public init?(_ text: String) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        size = Int(code.pointee.width)
        dark = (0..<(size * size)).map { code.pointee.data[$0] & 1 == 1 }
    }

    public func isDark(row: Int, column: Int) -> Bool { dark[row * size + column] }
}
