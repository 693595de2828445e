import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// D14: e-mail and central-print sends wait the undo time; a credit inside it cancels the send,
/// a credit after it is an ordinary credit invoice. Measured on the injected clock.
@Suite(.serialized) struct UndoTests {
    static func emailCustomers(_ numbers: [String]) -> String {
        numbers.enumerated().map { i, number in
            customer(number, kind: "person", name: "Person \(number)",
                     extra: #", "email": "\#(number.lowercased())@example.se", "invoiceSettings": {"distributionMethod": "email"}"#)
                + ",\n" + order("O\(i + 1)", customer: number)
        }.joined(separator: ",\n")
    }

    @Test func aCreditAt4m59CancelsTheSendAndOneAt5m01IsAnOrdinaryCredit() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)   // the relay's port has no server: nothing may reach it
        try drop("[\(Self.emailCustomers(["P1", "P2"]))]", as: "1.json", in: home)
        let clock = FixedClock(testClock.now)
        let gateway = try Gateway(home: home, clock: clock)
        #expect(try gateway.process().publishing.published == 2)
        let first = try #require(try gateway.invoice("1001")), second = try #require(try gateway.invoice("1002"))
        #expect(first.0.invoice.status == .waiting && second.0.invoice.status == .waiting)

        // Inside the window a push hands nothing over, opens no session, and says until when.
        clock.advance(by: 120)
        let push = try gateway.push()
        #expect(push.delivered == 0 && push.failed == 0 && push.errors.isEmpty, "\(push.errors)")
        let until = Instant.format(testClock.now.addingTimeInterval(300))
        #expect(push.held.map(\.invoiceNumber).sorted() == ["1001", "1002"] && push.held.allSatisfy { $0.until == until })

        // 4:59: the send is cancelled, its e-mail withdrawn, a credit invoice cancels it in the ledger.
        clock.advance(by: 179)
        guard case .applied(let undone) = try gateway.credit("1001") else { Issue.record("credit 1001 refused"); return }
        #expect(undone.contains("undone inside its undo time (rule D14)"), "\(undone)")
        let (cancelled, history) = try #require(try gateway.invoice("1001"))
        #expect(cancelled.invoice.status == .credited)
        #expect(cancelled.files.count == 1 && cancelled.files[0].hasPrefix("outbox/email/withdrawn/"))
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent(cancelled.files[0]).path))
        #expect(files(in: home.appendingPathComponent("outbox/email")).filter { $0.hasSuffix(".eml") }.count == 1)   // 1002's e-mail only
        #expect(history.last?.event == "undone")
        #expect(history.last?.detail?.contains("credited by 1003 4:59 into the undo time of 5 minutes (rule D14)") == true)
        let (cancelling, cancellingHistory) = try #require(try gateway.invoice("1003"))
        #expect(cancelling.invoice.kind == .credit && cancelling.invoice.creditedInvoiceNumber == "1001")
        #expect(cancelling.invoice.status == .credited && cancelling.files.isEmpty)
        #expect(cancelling.invoice.totals.payable == cancelled.invoice.totals.payable)
        #expect(cancellingHistory.first?.detail?.contains("not sent to the customer") == true)
        #expect(try gateway.credit("1001").isUnchanged)

        // 5:01: too late to cancel; the credit is a credit invoice of its own, sent like any other.
        clock.advance(by: 2)
        guard case .applied(let credited) = try gateway.credit("1002") else { Issue.record("credit 1002 refused"); return }
        #expect(credited.contains("invoice 1002 credited by 1004, which goes by email to p2@example.se"), "\(credited)")
        let (original, _) = try #require(try gateway.invoice("1002"))
        #expect(original.invoice.status == .credited)
        #expect(original.files.count == 1 && original.files[0].hasPrefix("outbox/email/") && !original.files[0].contains("withdrawn"))
        let (credit, _) = try #require(try gateway.invoice("1004"))
        #expect(credit.invoice.kind == .credit && credit.invoice.creditedInvoiceNumber == "1002" && credit.invoice.status == .waiting)
        #expect(credit.files.count == 1 && credit.files[0].hasPrefix("outbox/email/"))
        let message = try String(contentsOf: home.appendingPathComponent(credit.files[0]), encoding: .utf8)
        #expect(message.contains("Kreditfaktura-1004.pdf"))
    }

    @Test func withUndoMinutesZeroNothingIsHeldAndOtherMethodsAreNeverHeld() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try addSettings("distribution: {undoMinutes: 0}", to: home)
        try drop("[\(Self.emailCustomers(["P1"]))]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        #expect(try gateway.heldSends().isEmpty)
        guard case .applied(let text) = try gateway.credit("1001") else { Issue.record("credit refused"); return }
        #expect(text.contains("credited by 1002"))

        // An e-invoice leaves at once, whatever the undo time.
        let other = try makeHome()
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "1.json", in: other)
        let einvoice = try Gateway(home: other, clock: testClock)
        _ = try einvoice.process()
        #expect(try einvoice.heldSends().isEmpty)
    }

    @Test func creditsThatCannotBeAreRefusedWithTheReason() throws {
        let home = try makeHome(defaults: ", review: review")
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        guard case .refused(let review) = try gateway.credit("1001") else { Issue.record("a credit in review was accepted"); return }
        #expect(review.expected.contains("waits for review (rule S5)"))
        guard case .refused(let unknown) = try gateway.credit("9999") else { Issue.record("an unknown invoice was credited"); return }
        #expect(unknown.expected.contains("the number of an invoice"))
    }

    /// Through the command line against the real SMTP server, with the clock set from outside:
    /// the credited e-mail never arrives, the other one does.
    @Test(.enabled(if: haveBinary && TestSMTPServer.isAvailable, "needs the gateway binary (swift build) and Python's aiosmtpd"))
    func theCreditedEmailNeverArrivesAndTheOtherOneDoes() throws {
        let server = try TestSMTPServer()
        defer { server.stop() }
        let home = try makeHome()
        try server.serve(home)
        try drop("[\(Self.emailCustomers(["P1", "P2"]))]", as: "1.json", in: home)
        func gateway(_ arguments: String, at now: String) throws -> (status: Int32, output: String) {
            try Subprocess.run("/bin/sh", ["-c", "GATEWAY_NOW='\(now)' '\(gatewayBinary.path)' \(arguments) --home '\(home.path)' 2>&1"])
        }
        #expect(try gateway("process", at: "2026-11-25T10:00:00+01:00").status == 0)
        let held = try gateway("push", at: "2026-11-25T10:02:00+01:00")
        #expect(held.status == 0 && held.output.contains("held for the undo time (rule D14): 2 invoice(s)"), "\(held.output)")
        #expect(try server.received().isEmpty)
        let credit = try gateway("credit 1001", at: "2026-11-25T10:03:00+01:00")
        #expect(credit.status == 0 && credit.output.contains("undone inside its undo time"), "\(credit.output)")
        let push = try gateway("push", at: "2026-11-25T10:06:00+01:00")
        #expect(push.status == 0 && push.output.contains("delivered 1 file(s)"), "\(push.output)")
        #expect(try server.received().map(\.recipients) == [["p2@example.se"]])
        let show = try gateway("invoices show 1001", at: "2026-11-25T10:07:00+01:00")
        #expect(show.output.contains("status credited") && show.output.contains("undone"), "\(show.output)")
    }
}

extension DocumentOutcome {
    var isUnchanged: Bool {
        if case .unchanged = self { return true }
        return false
    }
}
