import Foundation
import GatewayCore
import Rendering
import Testing

@Suite struct AutogiroFileTests {
    let file = AutogiroFile(writingDate: CivilDate("2026-11-25")!, customerNumber: "123456", bankgiro: "5050-1055", payments: [
        .init(kind: .withdrawal, date: CivilDate("2026-12-28")!, payerNumber: "8101011234", amountInOre: 92700, reference: "10017"),
        .init(kind: .deposit, date: CivilDate("2026-11-26")!, payerNumber: "42", amountInOre: 999_999_999_999, reference: "1234567890123456"),
    ])

    /// The characters from..through (1-based, as Bankgirot's layout counts positions).
    func field(_ record: String, _ from: Int, _ through: Int) -> String {
        let characters = Array(record)
        return String(characters[(from - 1)..<through])
    }

    @Test func everyRecordIsEightyCharactersSeparatedByCRLFInLatin1() throws {
        let bytes = file.bytes
        #expect(bytes.allSatisfy { $0 < 0x80 || $0 >= 0xA0 })
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasSuffix("\r\n"))
        let records = text.components(separatedBy: "\r\n").dropLast()
        #expect(records.count == 3)
        #expect(records.allSatisfy { $0.count == 80 && !$0.contains("\n") })
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
    }

    @Test func theOpeningRecordHasDateCustomerNumberAndBankgiro() {
        let record = String(decoding: file.bytes, as: UTF8.self).components(separatedBy: "\r\n")[0]
        #expect(field(record, 1, 2) == "01")
        #expect(field(record, 3, 10) == "20261125")
        #expect(field(record, 11, 18) == "AUTOGIRO")
        #expect(field(record, 19, 62) == String(repeating: " ", count: 44))
        #expect(field(record, 63, 68) == "123456")
        #expect(field(record, 69, 78) == "0050501055")
        #expect(field(record, 79, 80) == "  ")
    }

    @Test func paymentRecordsCarryDatePayerAmountInOreAndReference() {
        let records = String(decoding: file.bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let withdrawal = records[1], deposit = records[2]
        #expect(field(withdrawal, 1, 2) == "82")
        #expect(field(withdrawal, 3, 10) == "20261228")
        #expect(field(withdrawal, 11, 11) == "0")
        #expect(field(withdrawal, 12, 15) == "    ")
        #expect(field(withdrawal, 16, 31) == "0000008101011234")
        #expect(field(withdrawal, 32, 43) == "000000092700")
        #expect(field(withdrawal, 44, 53) == "0050501055")
        #expect(field(withdrawal, 54, 69) == "10017           ")
        #expect(field(withdrawal, 70, 80) == String(repeating: " ", count: 11))
        #expect(field(deposit, 1, 2) == "32")
        #expect(field(deposit, 16, 31) == "0000000000000042")
        #expect(field(deposit, 32, 43) == "999999999999")
        #expect(field(deposit, 54, 69) == "1234567890123456")
    }

    @Test func amountsAreWholeOreWithinTwelveDigitsAndNotNegative() throws {
        #expect(try AutogiroFile.ore(Decimal(string: "927.00")!).get() == 92700)
        #expect(try AutogiroFile.ore(Decimal(string: "9999999999.99")!).get() == 999_999_999_999)
        #expect(throws: AutogiroFile.Problem.self) { try AutogiroFile.ore(Decimal(string: "10000000000.00")!).get() }
        #expect(throws: AutogiroFile.Problem.self) { try AutogiroFile.ore(-1).get() }
    }
}
