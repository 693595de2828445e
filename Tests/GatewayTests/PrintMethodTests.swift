import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// Invoices for people (issue 10): PDFs for e-mail, the own printer and central print, and
/// folders that are delivered by being written.
@Suite(.serialized) struct PrintMethodTests {
    static let batch = """
    [\(customer("P1", kind: "person", name: "Åsa Öberg", extra: #", "email": "asa@example.se", "invoiceSettings": {"distributionMethod": "email", "format": "svefaktura"}"#)),
     \(customer("P2", kind: "person", name: "Örjan Ödlund", extra: #", "invoiceSettings": {"distributionMethod": "own-printer"}"#)),
     \(customer("P3", kind: "person", name: "Märta Berg", extra: #", "invoiceSettings": {"distributionMethod": "central-print"}"#)),
     {"type": "customer", "customerNumber": "P4", "kind": "person", "name": "Utan Adress", "address": {"city": "Lund"},
      "invoiceSettings": {"distributionMethod": "central-print"}},
     \(customer("K5", extra: #", "invoiceSettings": {"distributionMethod": "export", "exportMapping": "sap"}"#)),
     \(order("O1", customer: "P1")), \(order("O2", customer: "P2")), \(order("O3", customer: "P3")), \(order("O4", customer: "P4")),
     \(order("O5", customer: "K5"))]
    """

    func invoice(_ gateway: Gateway, order: String) throws -> (InvoiceRecord, [HistoryEntry]) {
        let number = try #require(try gateway.invoices().first { $0.invoice.orderNumbers == [order] }?.invoice.number)
        return try #require(try gateway.invoice(number))
    }

    @Test func eachPrintMethodGetsItsArtefactsAndTheHistorySaysWhere() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try drop(Self.batch, as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.publishing.published == 4)
        #expect(summary.publishing.failed == 1)

        // E-mail: one message carrying the PDF and, since the customer asked for Svefaktura, the
        // XML; it waits in outbox/email/ for the relay.
        let (email, emailHistory) = try invoice(gateway, order: "O1")
        #expect(email.files.count == 1 && email.files[0].hasPrefix("outbox/email/") && email.files[0].hasSuffix(".eml"))
        #expect(email.invoice.status == .waiting)
        let message = try String(contentsOf: home.appendingPathComponent(email.files[0]), encoding: .utf8)
        #expect(message.contains("\r\nTo: <asa@example.se>\r\n"))
        #expect(message.contains("Content-Type: application/pdf; name=\"Faktura-\(email.invoice.number).pdf\""))
        #expect(message.contains("Content-Type: application/xml"))
        #expect(message.contains("Content-Type: text/plain; charset=utf-8") && message.contains("Content-Type: text/html; charset=utf-8"))
        #expect(emailHistory.last?.detail?.contains("e-mail to asa@example.se written to \(email.files[0])") == true)
        #expect(emailHistory.last?.detail?.contains("carrying PDF, standard template, 1 page; svefaktura") == true)

        // Own printer without a printer: the PDF in print/, and that is its delivery (D4).
        let (printed, printedHistory) = try invoice(gateway, order: "O2")
        #expect(printed.files.count == 1 && printed.files[0].hasPrefix("outbox/print/") && printed.files[0].hasSuffix(".pdf"))
        #expect(printed.invoice.status == .sent)
        #expect(printedHistory.last?.event == "sent")
        #expect(printedHistory.last?.detail?.contains("delivered to outbox/print/") == true)
        #expect(printedHistory.last?.detail?.contains("no printer is set") == true)

        // Central print: the PDF and its metadata, same stem, waiting for the 21 Grams destination.
        let (central, centralHistory) = try invoice(gateway, order: "O3")
        #expect(central.files.count == 2)
        let stems = Set(central.files.map { ($0 as NSString).deletingPathExtension })
        #expect(stems.count == 1 && stems.first!.hasPrefix("outbox/21grams/"))
        let metadataPath = try #require(central.files.first { $0.hasSuffix(".json") })
        let metadata = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: home.appendingPathComponent(metadataPath))) as? [String: Any])
        #expect(metadata["invoiceNumber"] as? String == central.invoice.number)
        #expect(metadata["pages"] as? Int == 1)
        #expect(metadata["clientId"] as? String == "test")
        #expect(metadata["postage"] as? String == "B" && metadata["duplex"] as? Bool == true)
        let recipient = try #require(metadata["recipient"] as? [String: String])
        #expect(recipient == ["name": "Märta Berg", "street": "Gatan 1", "postalCode": "111 22", "city": "Stockholm", "country": "SE"])
        #expect(centralHistory.last?.detail?.contains("standard template, 1 page") == true)
        #expect(central.invoice.status == .waiting)

        // Without a complete postal address: a clear reason and nothing written.
        let (noAddress, noAddressHistory) = try invoice(gateway, order: "O4")
        #expect(noAddress.files.isEmpty)
        #expect(noAddressHistory.last?.event == "rendering failed")
        #expect(noAddressHistory.last?.detail?.contains("no complete postal address (street, postal code missing for customer P4)") == true)
        #expect(try gateway.status().failedPublications.map(\.number) == [noAddress.invoice.number])

        // Export is active only when it is the client's one method: beside the others, K5's
        // export falls back to the client's default, e-invoice (D1, D12).
        let (exported, _) = try invoice(gateway, order: "O5")
        #expect(exported.invoice.method == .eInvoice)
        #expect(exported.invoice.distribution?.decidedBy == "D12: export is not active for the client, so the client's default e-invoice")
        #expect(exported.files.count == 1 && exported.files[0].hasPrefix("outbox/pagero/"))
    }

    @Test func aBrokenTemplateStopsStartUpWithTheFileAndTheKey() throws {
        let home = try makeHome()
        let template = home.appendingPathComponent("templates/standard.yml")
        let text = try String(contentsOf: template, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "accent: \"#1F4E79\"", with: "accent: \"blue\"").utf8).write(to: template)
        #expect(throws: (any Error).self) { try Gateway(home: home, clock: testClock) }
        do { _ = try Gateway(home: home, clock: testClock) } catch {
            #expect("\(error)".contains("templates/standard.yml: colours.accent: expected a colour #RRGGBB"), "\(error)")
        }
    }

    @Test func theClientsLogoMustBeAPNG() throws {
        let home = try makeHome()
        try Data("not a png".utf8).write(to: home.appendingPathComponent("logo.png"))
        let yml = home.appendingPathComponent("gateway.yml")
        let text = try String(contentsOf: yml, encoding: .utf8).replacingOccurrences(of: "  bankgiro: 5050-1055", with: "  bankgiro: 5050-1055\n  logo: logo.png")
        try Data(text.utf8).write(to: yml)
        do {
            _ = try Gateway(home: home, clock: testClock)
            Issue.record("a logo that is not a PNG was accepted")
        } catch {
            #expect("\(error)".contains("logo.png: expected a PNG image"), "\(error)")
        }
    }

    /// The print house's specification decides the package: here one ZIP with XML metadata.
    @Test func centralPrintPackagesFollowTheConfiguredLayout() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try addSettings("centralPrint: {package: zip, metadata: xml, xmlRoot: Job, fieldNames: {invoiceNumber: InvoiceNo}}", to: home)
        try drop("[\(customer("P3", kind: "person", name: "Märta Berg", extra: #", "invoiceSettings": {"distributionMethod": "central-print"}"#)), \(order("O3", customer: "P3"))]",
                 as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        #expect(try gateway.process().publishing.published == 1)
        let (central, history) = try invoice(gateway, order: "O3")
        #expect(central.files.count == 1 && central.files[0].hasPrefix("outbox/21grams/") && central.files[0].hasSuffix(".zip"))
        #expect(history.last?.detail?.contains("print package (zip: PDF and xml metadata)") == true)
        let zip = try Data(contentsOf: home.appendingPathComponent(central.files[0]))
        let text = String(decoding: zip, as: UTF8.self)
        #expect(zip.prefix(4) == Data([0x50, 0x4B, 0x03, 0x04]))
        #expect(text.contains("<Job>") && text.contains("<InvoiceNo>\(central.invoice.number)</InvoiceNo>"))
        #expect(text.contains("%PDF-"))
    }

    @Test func aPrintPackageLayoutThePrintHouseCannotReadIsRefusedAtStartUp() throws {
        for (setting, complaint) in [
            ("centralPrint: {package: tar}", "centralPrint.package: expected files (the PDF and the metadata side by side) or zip"),
            ("centralPrint: {fieldNames: {pages: \"2 sidor\"}}", "centralPrint.fieldNames.pages: expected a field name"),
            ("centralPrint: {fieldNames: {pages: pdf}}", "also the name of pdf"),
            ("centralPrint: {fieldNames: {weight: Vikt}}", "centralPrint.fieldNames"),
        ] {
            let home = try makeHome()
            try addSettings(setting, to: home)
            do {
                _ = try Gateway(home: home, clock: testClock)
                Issue.record("\(setting) was accepted")
            } catch {
                #expect("\(error)".contains(complaint), "\(error)")
            }
        }
    }
}

@Suite(.serialized) struct AutogiroTests {
    @Test func autogiroInvoicesBecomeOneBankgirotFilePerRun() throws {
        let home = try makeHome()
        let yml = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: yml, encoding: .utf8) + "\nautogiro: {customerNumber: \"123456\", bankgiro: 5050-1055}\n").utf8).write(to: yml)
        let mandate = #", "invoiceSettings": {"distributionMethod": "autogiro"}, "autogiro": {"payerNumber": "8101011234"}"#
        try drop("""
        [\(customer("P1", kind: "person", name: "Åsa", extra: mandate)), \(customer("P2", kind: "person", name: "Bo", extra: mandate.replacingOccurrences(of: "8101011234", with: "42"))),
         \(customer("P3", kind: "person", name: "Utan Medgivande", extra: #", "invoiceSettings": {"distributionMethod": "autogiro"}"#)),
         \(order("O1", customer: "P1")), \(order("O2", customer: "P2")), \(order("O3", customer: "P3"))]
        """, as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.publishing.published == 2 && summary.publishing.failed == 1)
        let files = files(in: home.appendingPathComponent("outbox/autogiro"))
        #expect(files.count == 1 && files[0].hasPrefix("test_autogiro_20261125_"))
        let bytes = [UInt8](try Data(contentsOf: home.appendingPathComponent("outbox/autogiro/\(files[0])")))
        let records = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").dropLast()
        #expect(records.count == 3)
        let invoices = try gateway.invoices()
        for (record, order) in zip(records.dropFirst(), ["O1", "O2"]) {
            let invoice = try #require(invoices.first { $0.invoice.orderNumbers == [order] }).invoice
            #expect(record.hasPrefix("82" + BankingCalendar.onOrAfter(invoice.dueDate).compact))
            let ore = Array(record)[31..<43].map(String.init).joined()
            #expect(Decimal(string: ore)! / 100 == invoice.totals.payable)
            #expect(String(Array(record)[53..<69]).trimmingCharacters(in: .whitespaces) == invoice.ocr)
            #expect(invoice.status == .sent)
        }
        let refused = try #require(invoices.first { $0.invoice.orderNumbers == ["O3"] })
        #expect(try gateway.invoice(refused.invoice.number)?.1.last?.detail?.contains("D2: no autogiro mandate") == true)
        // A second run with nothing new writes no file.
        _ = try gateway.process()
        #expect(self.files(in: home.appendingPathComponent("outbox/autogiro")).count == 1)
    }

    func files(in folder: URL) -> [String] { GatewayTestKit.files(in: folder) }

    @Test func aFileRecordedBeforeACrashIsWrittenByTheNextRun() throws {
        let home = try makeHome()
        let yml = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: yml, encoding: .utf8) + "\nautogiro: {customerNumber: \"123456\", bankgiro: 5050-1055}\n").utf8).write(to: yml)
        try drop("[\(customer("P1", kind: "person", name: "Åsa", extra: #", "invoiceSettings": {"distributionMethod": "autogiro"}, "autogiro": {"payerNumber": "1"}"#)), \(order("O1", customer: "P1"))]",
                 as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        let folder = home.appendingPathComponent("outbox/autogiro")
        let name = try #require(files(in: folder).first)
        let original = try Data(contentsOf: folder.appendingPathComponent(name))
        // As if the run had stopped after the ledger recorded the file and before it was written.
        try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        _ = try gateway.process()
        #expect(try Data(contentsOf: folder.appendingPathComponent(name)) == original)
        #expect(files(in: folder) == [name])
    }
}
