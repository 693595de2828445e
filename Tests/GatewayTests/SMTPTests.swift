import Delivery
import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
@testable import PDFRendering
import Testing
@testable import Gateway

@Suite(.serialized, .enabled(if: TestSMTPServer.isAvailable, "needs Python's aiosmtpd (pip install aiosmtpd)"))
struct SMTPDeliveryTests {
    /// A home whose customers get their invoices by e-mail, processed, with the relay set.
    func home(_ server: TestSMTPServer, customers: [(String, String)], port: Int? = nil, tls: Bool = true, password: String = "s3cret-test-pw",
              attempts: Int = 2) throws -> (URL, Gateway, String) {
        let home = try makeHome()
        let variable = "GATEWAY_TEST_SMTP_\(UUID().uuidString.prefix(8))"
        setenv(variable, password, 1)
        let yml = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: yml, encoding: .utf8) + "\n" + server.settings(port: port, passwordEnv: variable, tls: tls, attempts: attempts)
                       // The undo hold (D14) has tests of its own; here messages go at once.
                       + "\ndistribution: {undoMinutes: 0}\n").utf8)
            .write(to: yml)
        var documents: [String] = []
        for (i, (number, address)) in customers.enumerated() {
            documents.append(customer(number, kind: "person", name: "Åsa Öberg \(i)",
                                      extra: #", "email": "\#(address)", "invoiceSettings": {"distributionMethod": "email", "format": "svefaktura"}"#))
            documents.append(order("O\(i)", customer: number))
        }
        try drop("[" + documents.joined(separator: ",\n") + "]", as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let published = try gateway.process()
        #expect(published.publishing.published == customers.count)
        return (home, gateway, variable)
    }

    @Test func d4EachInvoiceGoesAsOneMessageOverOneSessionWithStartTLSAndLogin() throws {
        let server = try TestSMTPServer()
        let (home, gateway, _) = try home(server, customers: [("P1", "asa@example.se"), ("P2", "bo@example.se"), ("P3", "cia@example.se")])
        let summary = try gateway.push()
        #expect(summary.delivered == 3 && summary.failed == 0, "\(summary.errors)")
        let received = try server.received()
        #expect(received.map(\.recipients) == [["asa@example.se"], ["bo@example.se"], ["cia@example.se"]])
        #expect(Set(received.map(\.peerPort)).count == 1, "one SMTP connection for the run")
        for invoice in try gateway.invoices() {
            let (record, history) = try #require(try gateway.invoice(invoice.invoice.number))
            #expect(record.invoice.status == .sent)
            let kept = try #require(record.files.first)
            #expect(kept.hasPrefix("outbox/email/sent/") && kept.hasSuffix(".eml"))
            let bytes = try Data(contentsOf: home.appendingPathComponent(kept))
            let message = try #require(received.first { $0.recipients == [record.invoice.invoiceEmail!] })
            #expect(message.bytes == bytes, "the relay got exactly the message the home keeps")
            let parsed = try parsedMessage(bytes)
            #expect(parsed["defects"] as? Int == 0)
            #expect(parsed["subject"] as? String == "Faktura \(record.invoice.number) från Test & Söner AB")
            #expect(parsed["from"] as? String == "Test & Söner AB <faktura@test.example>")
            #expect(parsed["replyTo"] as? String == "ekonomi@test.example")
            let parts = try #require(parsed["parts"] as? [[String: Any]])
            #expect(parts.map { $0["type"] as? String } == ["text/plain", "text/html", "application/pdf", "application/xml"])
            #expect((parts[0]["text"] as? String)?.contains("OCR-nummer: \(record.invoice.ocr)") == true)
            #expect((parts[1]["text"] as? String)?.contains("<p>Hej!</p>") == true)
            #expect(parts[2]["name"] as? String == "Faktura-\(record.invoice.number).pdf")
            let sent = try #require(history.last)
            #expect(sent.event == "sent")
            #expect(sent.detail?.hasPrefix("to \(record.invoice.invoiceEmail!): e-mail through 127.0.0.1:\(server.startTLSPort)") == true)
            #expect(sent.detail?.contains("Message-ID \(parsed["messageID"] as! String)") == true)
            #expect(sent.detail?.contains("the relay said: 250") == true, "\(sent.detail ?? "")")
        }
        #expect(files(in: home.appendingPathComponent("outbox/email")) == ["sent"])
        // Nothing goes twice.
        #expect(try gateway.push().delivered == 0)
        #expect(try server.received().count == 3)
    }

    @Test func aRelayOnLoopbackWithoutTLSOrLogin() throws {
        let server = try TestSMTPServer()
        let (_, gateway, _) = try home(server, customers: [("P1", "asa@example.se")], tls: false)
        #expect(try gateway.push(methods: [.email]).delivered == 1)
        #expect(try server.received().count == 1)
    }

    @Test func d5ARefusedRecipientFailsThatMessageAloneAndPutsTheStatusBack() throws {
        let server = try TestSMTPServer()
        let (_, gateway, _) = try home(server, customers: [("P1", "refused@example.se"), ("P2", "bo@example.se")])
        let summary = try gateway.push()
        #expect(summary.delivered == 1 && summary.failed == 1)
        #expect(summary.errors.first?.contains("recipient refused") == true && summary.errors.first?.contains("550") == true, "\(summary.errors)")
        let invoices = try gateway.invoices()
        let refused = try #require(invoices.first { $0.invoice.invoiceEmail == "refused@example.se" })
        #expect(refused.invoice.status == .ready)
        let history = try #require(try gateway.invoice(refused.invoice.number)).1
        #expect(history.last?.event == "send failed" && history.last?.detail?.contains("550") == true)
        #expect(try gateway.status().failedDeliveries.map(\.invoiceNumber) == [refused.invoice.number])
        #expect(invoices.first { $0.invoice.invoiceEmail == "bo@example.se" }?.invoice.status == .sent)
    }

    @Test func aRelayThatIsDownIsTriedAgainThenTheSendFails() throws {
        let server = try TestSMTPServer()
        let (_, gateway, _) = try home(server, customers: [("P1", "asa@example.se"), ("P2", "bo@example.se")], attempts: 3)
        server.stop()
        let summary = try gateway.push()
        #expect(summary.delivered == 0 && summary.failed == 2)
        #expect(summary.errors.first?.contains("relay unreachable") == true && summary.errors.first?.contains("after 3 attempts") == true,
                "\(summary.errors)")
        #expect(try gateway.invoices().allSatisfy { $0.invoice.status == .ready })
        #expect(try gateway.status().failedDeliveries.count == 2)
    }

    @Test func aRefusedLoginFailsAndThePasswordAppearsNowhere() throws {
        let server = try TestSMTPServer()
        let wrong = "Wr0ng-Pa55word-\(UUID().uuidString.prefix(6))"
        let (home, gateway, _) = try home(server, customers: [("P1", "asa@example.se")], password: wrong)
        let summary = try gateway.push()
        #expect(summary.failed == 1)
        #expect(summary.errors.first?.contains("login refused") == true, "\(summary.errors)")
        let everything = summary.errors.joined() + (try gateway.invoice(try gateway.invoices()[0].invoice.number)!.1.map { $0.detail ?? "" }.joined())
            + (try gateway.status().failedDeliveries.compactMap(\.error).joined())
        #expect(!everything.contains(wrong))
        if haveBinary {
            let status = try Subprocess.run(gatewayBinary.path, ["status", "--json", "--home", home.path])
            let show = try Subprocess.run(gatewayBinary.path, ["invoices", "show", try gateway.invoices()[0].invoice.number, "--json", "--home", home.path])
            #expect(!status.output.contains(wrong) && !show.output.contains(wrong))
            #expect(status.output.contains("login refused"))
        }
    }

    @Test func anAddressThatIsNotAnEmailAddressIsAReasonNotAnAttempt() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try drop("[\(customer("P1", kind: "person", name: "Åsa", extra: #", "invoiceSettings": {"distributionMethod": "email"}"#)), \(order("O1", customer: "P1"))]",
                 as: "a.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        #expect(try gateway.process().publishing.failed == 1)
        let history = try #require(try gateway.invoice(try gateway.invoices()[0].invoice.number)).1
        #expect(history.last?.detail?.hasPrefix("D2: no e-mail address") == true)
    }
}

@Suite struct EnvelopeTests {
    @Test func aLongNonASCIISenderNameIsUnfoldedSoTheAddressIsFound() throws {
        let message = EmailMessage(fromName: "Åkessons Trävaror & Byggmaterial i Västra Götaland Aktiebolag", fromAddress: "faktura@trä.example",
                                                to: "kund@example.se", replyTo: nil, subject: "Faktura 1001", text: "Hej", date: Date(timeIntervalSince1970: 0),
                                                timeZone: TimeZone(identifier: "Europe/Stockholm")!, messageID: "<1@x.example>", attachments: [])
        let envelope = try #require(Envelope(message.bytes))
        #expect(envelope.from == "faktura@trä.example")
        #expect(envelope.to == "kund@example.se")
        #expect(envelope.messageID == "<1@x.example>")
    }

    @Test func anAutogiroFileNameGivesItsWritingDateWithOrWithoutASequence() {
        #expect(AutogiroPublishing.writingDate(of: "outbox/autogiro/test_autogiro_20261125_100000.txt")?.description == "2026-11-25")
        #expect(AutogiroPublishing.writingDate(of: "outbox/autogiro/test_autogiro_20261125_100000_2.txt")?.description == "2026-11-25")
    }
}
