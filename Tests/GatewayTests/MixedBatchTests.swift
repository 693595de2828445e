import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// Issue 11 end to end: a realistic mixed batch through `process` and `push` against the real
/// servers (OpenSSH for Pagero and 21 Grams, aiosmtpd for the relay, CUPS for the printer).
/// Each invoice goes by the right method to the right recipient, the undo time holds e-mail
/// and central print, and each history tells the story.
@Suite(.serialized, .enabled(if: TestSFTPServer.isAvailable && TestSMTPServer.isAvailable && TestPrinter.isAvailable,
                             "needs sshd, aiosmtpd and CUPS with the gateway-pdf queue"))
struct MixedBatchTests {
    @Test func everyInvoiceGoesByItsMethodToItsRecipient() throws {
        let sftp = try #require(try TestSFTPServer())
        let smtp = try TestSMTPServer()
        defer { smtp.stop() }
        for folder in ["pagero", "21grams"] { try FileManager.default.createDirectory(atPath: sftp.root + "/" + folder, withIntermediateDirectories: true) }
        let home = try makeHome()
        let printHouse = sftp.destination("21grams", folder: "21grams").split(separator: "\n").dropFirst().joined(separator: "\n")
        try addSettings(sftp.destination() + "\n" + printHouse, to: home)
        try smtp.serve(home)
        try addSettings("""
        printing: {printer: \(TestPrinter.queue)}
        distribution:
          activeMethods: [e-invoice, email, central-print, own-printer]
          reserveMethod: central-print
          undoMinutes: 5
        """, to: home)
        func method(_ m: String) -> String { #""invoiceSettings": {"distributionMethod": "\#(m)"}"# }
        try drop("""
        [\(customer("K1", name: "Bygg AB")),
         \(customer("K2", name: "Export AB", extra: #", "invoiceSettings": {"distributionMethod": "export", "exportMapping": "sap"}"#)),
         \(customer("ORG", name: "Moderbolaget AB", extra: #", "invoiceReference": "Karin Ek", "invoiceReferenceEmail": "karin@moder.example", "# + method("email"))),
         \(customer("P1", kind: "person", name: "Åsa Öberg", extra: #", "email": "asa@example.se", "# + method("email"))),
         \(customer("P2", kind: "person", name: "Märta Berg", extra: ", " + method("central-print"))),
         \(customer("P3", kind: "person", name: "Örjan Ödlund", extra: ", " + method("own-printer"))),
         \(customer("P4", kind: "person", name: "Anställd Ett", extra: #", "email": "p4@example.se", "organisation": "ORG", "linkInvoiceToOrganisation": true"#)),
         \(customer("P5", kind: "person", name: "Utan Epost", extra: ", " + method("email"))),
         \(["K1", "K2", "P1", "P2", "P3", "P4", "P5"].map { order("O-\($0)", customer: $0) }.joined(separator: ",\n"))]
        """, as: "batch.json", in: home)
        let clock = FixedClock(testClock.now)
        let gateway = try Gateway(home: home, clock: clock)
        let processed = try gateway.process()
        #expect(processed.publishing.published == 7 && processed.publishing.failed == 0)

        let expected: [(customer: String, method: DistributionMethod, recipient: String, decidedBy: String)] = [
            ("K1", .eInvoice, "0007:5566778899", "S1: the client's default method"),
            ("K2", .eInvoice, "0007:5566778899", "D12: export is not active for the client, so the client's default e-invoice"),
            ("P1", .email, "asa@example.se", "S1: the customer's method"),
            ("P2", .centralPrint, "Märta Berg, Gatan 1, 111 22 Stockholm", "S1: the customer's method"),
            ("P3", .ownPrinter, "Örjan Ödlund, Gatan 1, 111 22 Stockholm", "S1: the customer's method"),
            ("P4", .email, "karin@moder.example", "D10: the organisation ORG's method; D10: the invoice reference Karin Ek of ORG"),
            ("P5", .centralPrint, "Utan Epost, Gatan 1, 111 22 Stockholm", "D13: no e-mail address, reserve central-print"),
        ]
        let invoices = try gateway.invoices()
        func record(_ customer: String) throws -> InvoiceRecord { try #require(invoices.first { $0.invoice.customer.customerNumber == customer }) }
        for e in expected {
            let d = try record(e.customer).invoice.distribution
            #expect(d?.method == e.method && d?.recipient == e.recipient && d?.decidedBy == e.decidedBy, "\(e.customer): \(String(describing: d))")
        }

        // A minute later: e-invoices and the printer go; e-mail and central print are held (D14).
        clock.advance(by: 60)
        let first = try gateway.push()
        #expect(first.failed == 0, "\(first.errors)")
        #expect(first.delivered == 3)   // two e-invoices, one print job
        #expect(Set(first.held.map(\.invoiceNumber)) == Set(["P1", "P2", "P4", "P5"].map { try! record($0).invoice.number }))
        #expect(try smtp.received().isEmpty)

        // Six minutes after publishing, the held ones leave.
        clock.advance(by: 300)
        let second = try gateway.push()
        #expect(second.failed == 0 && second.held.isEmpty, "\(second.errors)")
        #expect(second.delivered == 6)   // two e-mails, two PDFs with their metadata at 21 Grams
        #expect(Set(try smtp.received().flatMap(\.recipients)) == ["asa@example.se", "karin@moder.example"])
        let printHouseFiles = ((try? FileManager.default.contentsOfDirectory(atPath: sftp.root + "/21grams")) ?? []).filter { !$0.hasPrefix(".") }
        #expect(printHouseFiles.filter { $0.hasSuffix(".pdf") }.count == 2 && printHouseFiles.filter { $0.hasSuffix(".json") }.count == 2)

        for e in expected {
            let number = try record(e.customer).invoice.number
            let (final, history) = try #require(try gateway.invoice(number))
            #expect(final.invoice.status == .sent, "\(e.customer)")
            #expect(history.first?.event == "created" && history.first?.detail?.contains(e.decidedBy) == true, "\(e.customer)")
            // K2 keeps its exportMapping: once sent, its ERP file follows (O3).
            // Central print's PDF and metadata: the first to arrive is "file delivered", the last makes it sent.
            let story = ["created", "published"] + (e.method == .centralPrint ? ["file delivered"] : []) + ["sent"] + (e.customer == "K2" ? ["exported"] : [])
            #expect(history.map(\.event) == story, "\(e.customer): \(history.map(\.event))")
            let sent = history.first { $0.event == "sent" }
            if e.method == .email { #expect(sent?.detail?.hasPrefix("to \(e.recipient)") == true, "\(sent?.detail ?? "")") }
        }
    }
}
