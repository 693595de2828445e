import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// Reminders through the pipeline (D6–D8): due after the due date, by own printer, e-mail or
/// central print only, the count and date up on a send and back on a failed one.
@Suite(.serialized) struct ReminderTests {
    static let reminders = "distribution: {reminders: {enabled: true, daysAfterDue: 5, fee: 60, newDueDays: 10}}"

    /// Terms of 30 days from 2026-11-25: due 2026-12-25, a reminder due from 2026-12-30.
    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func aSentInvoiceIsRemindedAfterItsDueDateOnceAndAPaidOneNever() throws {
        let home = try makeHome()
        try addSettings(Self.reminders, to: home)
        try FileManager.default.createDirectory(at: home.appendingPathComponent("operator"), withIntermediateDirectories: true)
        try addSettings("folders: {operator: {directory: \(home.appendingPathComponent("operator").path), outbox: pagero}}", to: home)
        let printed = #", "invoiceSettings": {"distributionMethod": "own-printer"}"#
        try drop("""
        [\(customer("P1", kind: "person", name: "Åsa Öberg", extra: printed)), \(customer("P2", kind: "person", name: "Bo Berg", extra: printed)),
         \(customer("K1")), \(order("O1", customer: "P1")), \(order("O2", customer: "P2")), \(order("O3", customer: "K1"))]
        """, as: "1.json", in: home)
        let clock = FixedClock(testClock.now)
        let gateway = try Gateway(home: home, clock: clock)
        _ = try gateway.process()
        #expect(try gateway.push().delivered == 1)   // K1's e-invoice
        // No printer is set, so own-printer invoices are sent once written to outbox/print/.
        #expect(try gateway.invoice("1001")?.0.invoice.status == .sent)
        try drop(#"{"type": "payment", "invoiceNumber": "1002", "amount": "500.00", "paidAt": "2026-12-01T10:00:00+01:00"}"#, as: "2.json", in: home)
        _ = try gateway.process()
        #expect(try gateway.invoice("1002")?.0.invoice.status == .paid)

        clock.advance(by: 34 * 86_400)   // 2026-12-29
        let early = try gateway.remind(["1001"])
        #expect(early.reminded.isEmpty && early.notReminded.first?.reason == "a reminder is due on 2026-12-30")

        clock.advance(by: 86_400)        // 2026-12-30
        let run = try gateway.remind()
        #expect(run.reminded.map(\.invoiceNumber) == ["1001"])
        let reminded = try #require(run.reminded.first)
        let payable = try #require(try gateway.invoice("1001")).0.invoice.totals.payable
        #expect(reminded.sequence == 1 && reminded.method == "own-printer" && reminded.amountDue == (payable + 60).fixed(2))
        #expect(reminded.files.count == 1 && reminded.files[0].hasPrefix("outbox/print/"))
        let (record, history) = try #require(try gateway.invoice("1001"))
        #expect(record.files.count == 2 && record.files.contains(reminded.files[0]))   // the invoice's PDF and the reminder's
        #expect(record.invoice.status == .reminder && record.reminderCount == 1 && record.reminderDate == CivilDate("2026-12-30"))
        #expect(history.suffix(2).map(\.event) == ["reminded", "sent"])
        #expect(history.suffix(2).first?.detail?.contains("reminder 1 of 2026-12-30") == true)
        #expect(history.suffix(2).first?.detail?.contains("due 2027-01-09 (fee 60.00, no VAT)") == true)

        // Once is enough until the reminder's own due date has passed too.
        #expect(try gateway.remind().reminded.isEmpty)
        // A paid invoice gets none; an e-invoice customer gets none either, with the reason (D6).
        let asked = try gateway.remind(["1002", "1003"])
        #expect(asked.notReminded.map(\.reason).first == "it is paid")
        #expect(asked.notReminded.last?.reason.hasPrefix("no reminder: D6: a reminder goes by own printer, e-mail or central print, not e-invoice") == true)

        let shown = try Subprocess.run(gatewayBinary.path, ["invoices", "show", "1001", "--json", "--home", home.path])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        #expect(json["reminderCount"] as? Int == 1 && json["reminderDate"] as? String == "2026-12-30")
    }

    @Test func remindersThatAreOffSayHowToTurnThemOn() throws {
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: testClock)
        #expect { try gateway.remind() } throws: { "\($0)".contains("distribution.reminders.enabled: true") }
    }

    /// D8 against the real SMTP server: a refused recipient puts the status, the count and the
    /// date back, with the error in the history; the other reminder is sent.
    @Test(.enabled(if: TestSMTPServer.isAvailable, "needs Python's aiosmtpd (pip install aiosmtpd)"))
    func aFailedReminderSendPutsTheCountAndTheDateBack() throws {
        let server = try TestSMTPServer()
        defer { server.stop() }
        let home = try makeHome()
        try server.serve(home)
        try addSettings("distribution: {undoMinutes: 0, reminders: {enabled: true, fee: 0}}", to: home)
        func person(_ number: String, _ address: String) -> String {
            customer(number, kind: "person", name: "Person \(number)", extra: #", "email": "\#(address)", "invoiceSettings": {"distributionMethod": "email"}"#)
        }
        try drop("[\(person("P1", "p1@example.se")), \(person("P2", "p2@example.se")), \(order("O1", customer: "P1")), \(order("O2", customer: "P2"))]",
                 as: "1.json", in: home)
        let clock = FixedClock(testClock.now)
        let gateway = try Gateway(home: home, clock: clock)
        _ = try gateway.process()
        #expect(try gateway.push().delivered == 2)
        // P1's address changes to one the relay refuses; the reminder goes where the customer is now.
        try drop("[\(person("P1", "refused@example.se"))]", as: "2.json", in: home)
        _ = try gateway.process()

        clock.advance(by: 40 * 86_400)
        let run = try gateway.remind()
        #expect(run.reminded.map(\.recipient) == ["refused@example.se", "p2@example.se"])
        #expect(try gateway.invoice("1001")?.0.reminderCount == 1)
        let push = try gateway.push()
        #expect(push.delivered == 1 && push.failed == 1)

        let (failed, history) = try #require(try gateway.invoice("1001"))
        #expect(failed.invoice.status == .sent && failed.reminderCount == 0 && failed.reminderDate == nil)
        #expect(history.last?.event == "send failed" && history.last?.detail?.contains("550") == true, "\(history.last?.detail ?? "")")
        let (sent, sentHistory) = try #require(try gateway.invoice("1002"))
        #expect(sent.invoice.status == .reminder && sent.reminderCount == 1 && sent.reminderDate == CivilDate("2027-01-04"))
        #expect(sentHistory.last?.event == "sent" && sentHistory.last?.detail?.hasPrefix("to p2@example.se") == true)
        let received = try server.received()
        #expect(received.map(\.recipients) == [["p1@example.se"], ["p2@example.se"], ["p2@example.se"]])
        #expect(try parsedMessage(received[2].bytes)["subject"] as? String == "Påminnelse: faktura 1002 från Test & Söner AB")
    }
}
