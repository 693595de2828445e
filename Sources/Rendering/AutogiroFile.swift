import Foundation
import GatewayCore

/// A Bankgirot Autogiro payment-order file ("betalningsunderlag"): records of 80 characters,
/// CRLF between them, ISO 8859-1. An opening record `01`, then one `82` (withdrawal from the
/// payer) or `32` (deposit to the payer, for a credit) per invoice.
public struct AutogiroFile: Sendable {
    public struct Payment: Sendable, Hashable {
        public enum Kind: String, Sendable { case withdrawal = "82", deposit = "32" }
        public var kind: Kind
        public var date: CivilDate
        public var payerNumber: String
        /// In öre; 0 up to what 12 digits hold.
        public var amountInOre: Int64
        public var reference: String

        public init(kind: Kind, date: CivilDate, payerNumber: String, amountInOre: Int64, reference: String) {
            self.kind = kind
            self.date = date
            self.payerNumber = payerNumber
            self.amountInOre = amountInOre
            self.reference = reference
        }
    }

    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public var writingDate: CivilDate
    /// Bankgirot's customer number for the payee (6 digits).
    public var customerNumber: String
    /// The payee's bankgiro number, digits only (up to 10).
    public var bankgiro: String
    public var payments: [Payment]

    public init(writingDate: CivilDate, customerNumber: String, bankgiro: String, payments: [Payment]) {
        self.writingDate = writingDate
        self.customerNumber = customerNumber
        self.bankgiro = bankgiro.filter(\.isNumber)
        self.payments = payments
    }

    /// An amount as the file holds it, or why it cannot be: whole öre, not negative, at most 12 digits.
    public static func ore(_ amount: Decimal) -> Result<Int64, Problem> {
        let ore = (amount * 100).rounded(scale: 0)
        guard ore >= 0 else { return .failure(Problem(description: "autogiro cannot draw a negative amount (\(amount.fixed(2)))")) }
        guard ore < Decimal(sign: .plus, exponent: 12, significand: 1), let value = Int64(ore.plainText) else {
            return .failure(Problem(description: "\(amount.fixed(2)) is more than the 12 digits of öre an autogiro record holds"))
        }
        return .success(value)
    }

    public var bytes: [UInt8] {
        var records = [
            "01" + writingDate.compact + "AUTOGIRO" + blank(44) + digits(customerNumber, 6) + digits(bankgiro, 10) + blank(2),
        ]
        for p in payments {
            records.append(p.kind.rawValue + p.date.compact + "0" + blank(3) + blank(1) + digits(p.payerNumber, 16)
                           + digits(String(p.amountInOre), 12) + digits(bankgiro, 10) + text(p.reference, 16) + blank(11))
        }
        // ISO 8859-1: every character here is ASCII but a reference could hold Latin-1 letters.
        return records.joined(separator: "\r\n").appending("\r\n").unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
    }

    private func blank(_ count: Int) -> String { String(repeating: " ", count: count) }
    private func digits(_ value: String, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - value.count)) + value.suffix(width)
    }
    private func text(_ value: String, _ width: Int) -> String {
        let cut = String(value.prefix(width))
        return cut + String(repeating: " ", count: width - cut.count)
    }
}
