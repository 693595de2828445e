import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// The `send` and `remind` documents: the same operations as `gateway send` and `gateway remind`,
/// dropped into the inbox by an order system.
@Suite(.serialized) struct CommandDocumentTests {
    @Test func aSendDocumentSendsAFailedInvoiceAgainWithTheNextPush() throws {
        let home = try makeHome()
        let share = home.appendingPathComponent("operator")
        try addSettings("folders: {operator: {directory: \(share.path), outbox: pagero}}", to: home)
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        #expect(try gateway.push().failed == 1)   // the share is not there yet
        #expect(try gateway.invoice("1001")?.0.invoice.status == .ready)
        #expect(try gateway.push().failed == 0)   // a failed file waits to be asked for
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        try drop(#"{"type": "send", "invoiceNumber": "1001"}"#, as: "2.json", in: home)
        #expect(try gateway.process().intake.documentsApplied == 1)
        #expect(try gateway.push().delivered == 1)
        let (record, history) = try #require(try gateway.invoice("1001"))
        #expect(record.invoice.status == .sent)
        #expect(history.suffix(2).map(\.event) == ["send started", "sent"])
        #expect(history.suffix(2).first?.detail?.hasPrefix("requested by a send document") == true)
    }

    @Test func aRemindDocumentWritesTheReminderAtTheEndOfTheRun() throws {
        let home = try makeHome()
        try addSettings(ReminderTests.reminders, to: home)
        try drop("[\(customer("P1", kind: "person", extra: #", "invoiceSettings": {"distributionMethod": "own-printer"}"#)), \(order("O1", customer: "P1"))]",
                 as: "1.json", in: home)
        let clock = FixedClock(testClock.now)
        let gateway = try Gateway(home: home, clock: clock)
        _ = try gateway.process()
        try drop(#"[{"type": "remind", "invoiceNumber": "1001"}]"#, as: "2.json", in: home)
        let early = try gateway.process()
        #expect(early.reminders?.notReminded.first?.reason == "a reminder is due on 2026-12-30")
        #expect(try gateway.invoice("1001")?.1.last?.event == "reminder not written")

        clock.advance(by: 40 * 86_400)
        try drop(#"[{"type": "remind", "invoiceNumber": "1001"} ]"#, as: "3.json", in: home)   // other bytes: not a duplicate file
        let run = try gateway.process()
        #expect(run.reminders?.reminded.map(\.invoiceNumber) == ["1001"])
        #expect(try gateway.invoice("1001")?.0.reminderCount == 1)
    }
}

/// A send with a chosen template: the PDF and its e-mail are drawn again before they go.
@Suite(.serialized) struct SendWithTemplateTests {
    @Test func aSendDocumentWithATemplateRedrawsTheEmailThatHasNotLeft() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try drop("[\(customer("P1", kind: "person", extra: #", "email": "p1@example.se", "invoiceSettings": {"distributionMethod": "email"}"#)), \(order("O1", customer: "P1"))]",
                 as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        let path = try #require(try gateway.invoice("1001")?.0.files.first)
        let before = try String(contentsOf: home.appendingPathComponent(path), encoding: .utf8)
        #expect(before.contains("Faktura-1001.pdf"))
        try drop(#"{"type": "send", "invoiceNumber": "1001", "template": "standard-en"}"#, as: "2.json", in: home)
        let run = try gateway.process()
        #expect(run.intake.documentsApplied == 1)
        let after = try String(contentsOf: home.appendingPathComponent(path), encoding: .utf8)
        #expect(after.contains("Invoice-1001.pdf") && !after.contains("Faktura-1001.pdf"))
        #expect(try gateway.invoice("1001")?.1.contains { $0.event == "redrawn" && $0.detail?.contains("standard-en") == true } == true)

        // A template on another command, or one templates/ does not have, is refused.
        try drop(#"[{"type": "approve", "invoiceNumber": "1001", "template": "standard-en"}, {"type": "send", "invoiceNumber": "1001", "template": "nosuch"}]"#,
                 as: "3.json", in: home)
        let refused = try gateway.process()
        #expect(refused.intake.documentsRefused == 2)
    }

    @Test(.enabled(if: TestSMTPServer.isAvailable, "needs Python's aiosmtpd (pip install aiosmtpd)"))
    func gatewaySendWithATemplateDeliversTheRedrawnMessage() throws {
        let server = try TestSMTPServer()
        defer { server.stop() }
        let home = try makeHome()
        try server.serve(home)
        try addSettings("distribution: {undoMinutes: 0}", to: home)
        try drop("[\(customer("P1", kind: "person", extra: #", "email": "p1@example.se", "invoiceSettings": {"distributionMethod": "email"}"#)), \(order("O1", customer: "P1"))]",
                 as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        #expect(try gateway.send(["1001"], template: "standard-en").delivered == 1)
        let received = try server.received()
        #expect(received.count == 1)
        #expect(try parsedMessage(try #require(received.first).bytes)["subject"] as? String == "Invoice 1001 from Test & Söner AB")
        #expect(throws: Gateway.SendRefusal.self) { try gateway.send(["1001"], template: "standard-en") }   // it has left
    }
}
