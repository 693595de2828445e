import Checksums
import Foundation
import GatewayCore
import Invoicing
import Testing
@testable import Ledger

/// The ledger applies the lifecycle in one place: status, pending send and history together.
@Suite struct LedgerLifecycleTests {
    let client = ClientProfile(id: "test", name: "Test AB", organisationNumber: "556000-0001",
                               address: PostalAddress(city: "Göteborg", country: "SE"), bankgiro: "5050-1055")
    let now = Instant.parse("2026-11-25T10:00:00+01:00")!

    func ledgerWithInvoice() throws -> (SQLiteLedger, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).sqlite").path
        let ledger = try SQLiteLedger(path: path)
        let customer = Customer(customerNumber: "K1", kind: .person, name: "Åsa")
        let order = Order(orderNumber: "1", customerNumber: "K1", status: .completed, orderDate: CivilDate("2026-11-20")!,
                          completedAt: now, lines: [OrderLine(articleNumber: "A", description: "x", quantity: 1, unitPrice: 100, vatRate: .twentyFive)])
        let invoice = InvoiceFactory(client: client).invoice(for: order, customer: customer, number: "1001", at: now)
        try ledger.write { tx in
            try tx.saveCustomer(try Canonical(customer), at: now)
            try tx.insertInvoice(invoice, at: now, event: "created", detail: nil)
        }
        return (ledger, invoice.number)
    }

    @Test func anEventWritesTheStatusAndItsHistoryTogether() throws {
        let (ledger, number) = try ledgerWithInvoice()
        let statuses = try ledger.write { tx in
            try [InvoiceLifecycle.Event.published("written"), .sendFailed("refused"), .sendStarted("again"), .delivered(how: "by SFTP", to: "0007:1")]
                .map { try tx.apply($0, toInvoice: number, at: now) }
        }
        #expect(statuses == [.waiting, .ready, .waiting, .sent])
        let history = try ledger.read { try $0.history(invoice: number) }
        #expect(history.map(\.event) == ["created", "published", "send failed", "send started", "sent"])
        #expect(history.map(\.status) == [.ready, .waiting, .ready, .waiting, .sent])
        #expect(history.last?.detail == "to 0007:1: by SFTP")
        #expect(try ledger.read { try $0.status(ofInvoice: number) } == .sent)
    }

    /// The pending send is kept in the ledger, so another run (after a crash) still knows
    /// what a failure puts back and that a reminder's delivery makes it `reminder`.
    @Test func thePendingSendSurvivesAcrossTransactions() throws {
        let (ledger, number) = try ledgerWithInvoice()
        try ledger.write { tx in
            try tx.apply(.published("written"), toInvoice: number, at: now)
            try tx.apply(.delivered(how: "x", to: nil), toInvoice: number, at: now)
            try tx.apply(.reminded(on: CivilDate("2026-12-30")!, "first"), toInvoice: number, at: now)
        }
        #expect(try ledger.write { try $0.apply(.sendFailed("refused"), toInvoice: number, at: now) } == .sent)
        try ledger.write { try $0.apply(.reminded(on: CivilDate("2026-12-30")!, "again"), toInvoice: number, at: now) }
        #expect(try ledger.write { try $0.apply(.delivered(how: "e-mail", to: "a@example.se"), toInvoice: number, at: now) } == .reminder)
    }

    /// D14 counts from when the invoice's own send began; D7/D8 count reminders in the same
    /// transitions: up when one begins, back when its send fails, kept when it is delivered.
    @Test func theSendsStartTheUndoWindowAndRemindersCountInTheirTransitions() throws {
        let (ledger, number) = try ledgerWithInvoice()
        let later = now.addingTimeInterval(90)
        try ledger.write { try $0.apply(.published("written"), toInvoice: number, at: later) }
        #expect(try ledger.read { try $0.waitingSince(invoice: number) } == later)
        try ledger.write { try $0.apply(.delivered(how: "x", to: nil), toInvoice: number, at: later) }
        #expect(try ledger.read { try $0.waitingSince(invoice: number) } == nil)

        func reminders() throws -> (Int, CivilDate?) {
            let record = try #require(try ledger.read { try $0.invoice(number) })
            return (record.reminderCount, record.reminderDate)
        }
        try ledger.write { try $0.apply(.reminded(on: CivilDate("2026-12-30")!, "first"), toInvoice: number, at: later) }
        // A reminder's send is no invoice send a credit could undo.
        #expect(try ledger.read { try $0.waitingSince(invoice: number) } == nil)
        try ledger.write { try $0.apply(.delivered(how: "x", to: nil), toInvoice: number, at: later) }
        #expect(try reminders() == (1, CivilDate("2026-12-30")))
        try ledger.write { try $0.apply(.reminded(on: CivilDate("2027-01-15")!, "second"), toInvoice: number, at: later) }
        #expect(try reminders() == (2, CivilDate("2027-01-15")))
        try ledger.write { try $0.apply(.sendFailed("550"), toInvoice: number, at: later) }
        #expect(try reminders() == (1, CivilDate("2026-12-30")))
    }

    /// Where the lifecycle refuses the event, the note is written instead and the status stays.
    @Test func anEventOrItsNote() throws {
        let (ledger, number) = try ledgerWithInvoice()
        let outcomes = try ledger.write { tx in
            [try tx.apply(.delivered(how: "x", to: nil), orNote: .noted("file delivered", detail: "x"), toInvoice: number, at: now),
             try tx.apply(.published("written"), orNote: .noted("published again", detail: nil), toInvoice: number, at: now)]
        }
        #expect(outcomes == [nil, .waiting])
        #expect(try ledger.read { try $0.history(invoice: number) }.map(\.event) == ["created", "file delivered", "published"])
    }

    @Test func aRefusedEventWritesNothing() throws {
        let (ledger, number) = try ledgerWithInvoice()
        #expect(throws: LifecycleError.self) {
            try ledger.write { try $0.apply(.delivered(how: "x", to: nil), toInvoice: number, at: now) }
        }
        #expect(try ledger.read { try $0.history(invoice: number) }.map(\.event) == ["created"])
        #expect(try ledger.read { try $0.status(ofInvoice: number) } == .ready)
        #expect(throws: UnknownInvoiceError.self) {
            try ledger.write { try $0.apply(.approved, toInvoice: "9999", at: now) }
        }
    }
}
