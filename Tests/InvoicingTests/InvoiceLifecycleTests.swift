import GatewayCore
import Testing
@testable import Invoicing

/// The invoice lifecycle (issue 11; S5, D3–D8, D14): every event in every state, allowed or refused.
@Suite struct InvoiceLifecycleTests {
    typealias State = InvoiceLifecycle
    static let sending = State(status: .waiting, pending: .init(kind: .invoice, returnTo: .ready))
    static let resending = State(status: .waiting, pending: .init(kind: .invoice, returnTo: .sent))
    static let reminding = State(status: .waiting, pending: .init(kind: .reminder, returnTo: .sent))
    static let remindingAgain = State(status: .waiting, pending: .init(kind: .reminder, returnTo: .reminder))

    static let events: [(String, InvoiceLifecycle.Event)] = [
        ("approved", .approved), ("published", .published("x")), ("sendStarted", .sendStarted("x")),
        ("delivered", .delivered(how: "x", to: "y")), ("sendFailed", .sendFailed("x")), ("undone", .undone("x")),
        ("reminded", .reminded(on: CivilDate("2026-12-30")!, "x")), ("paymentReceived", .paymentReceived("x")), ("paid", .paid("x")),
        ("credited", .credited("x")), ("noted", .noted("exported", detail: nil)),
    ]

    /// For each state, what each event leads to; nil where the lifecycle refuses it.
    static let table: [(State, [String: State?])] = [
        (State(status: .review), [
            "approved": State(status: .ready), "published": nil, "sendStarted": nil, "delivered": nil, "sendFailed": nil,
            "undone": nil, "reminded": nil, "paymentReceived": State(status: .review), "paid": State(status: .paid),
            "credited": nil, "noted": State(status: .review),
        ]),
        (State(status: .ready), [
            "approved": nil, "published": sending, "sendStarted": sending, "delivered": nil, "sendFailed": nil,
            "undone": nil, "reminded": nil, "paymentReceived": State(status: .ready), "paid": State(status: .paid),
            "credited": State(status: .credited), "noted": State(status: .ready),
        ]),
        (sending, [
            "approved": nil, "published": nil, "sendStarted": nil, "delivered": State(status: .sent), "sendFailed": State(status: .ready),
            "undone": State(status: .credited), "reminded": nil, "paymentReceived": sending, "paid": State(status: .paid),
            "credited": State(status: .credited), "noted": sending,
        ]),
        (resending, [
            "approved": nil, "published": nil, "sendStarted": nil, "delivered": State(status: .sent), "sendFailed": State(status: .sent),
            "undone": State(status: .credited), "reminded": nil, "paymentReceived": resending, "paid": State(status: .paid),
            "credited": State(status: .credited), "noted": resending,
        ]),
        (reminding, [
            "approved": nil, "published": nil, "sendStarted": nil, "delivered": State(status: .reminder), "sendFailed": State(status: .sent),
            "undone": nil, "reminded": nil, "paymentReceived": reminding, "paid": State(status: .paid),
            "credited": State(status: .credited), "noted": reminding,
        ]),
        (remindingAgain, [
            "approved": nil, "published": nil, "sendStarted": nil, "delivered": State(status: .reminder), "sendFailed": State(status: .reminder),
            "undone": nil, "reminded": nil, "paymentReceived": remindingAgain, "paid": State(status: .paid),
            "credited": State(status: .credited), "noted": remindingAgain,
        ]),
        (State(status: .sent), [
            "approved": nil, "published": resending, "sendStarted": resending, "delivered": nil, "sendFailed": nil,
            "undone": nil, "reminded": reminding, "paymentReceived": State(status: .sent), "paid": State(status: .paid),
            "credited": State(status: .credited), "noted": State(status: .sent),
        ]),
        (State(status: .reminder), [
            "approved": nil, "published": State(status: .waiting, pending: .init(kind: .invoice, returnTo: .reminder)),
            "sendStarted": State(status: .waiting, pending: .init(kind: .invoice, returnTo: .reminder)), "delivered": nil, "sendFailed": nil,
            "undone": nil, "reminded": remindingAgain, "paymentReceived": State(status: .reminder), "paid": State(status: .paid),
            "credited": State(status: .credited), "noted": State(status: .reminder),
        ]),
        // A settled invoice's documents still go out (prepaid, M1); a send changes nothing.
        (State(status: .paid), [
            "approved": nil, "published": State(status: .paid), "sendStarted": State(status: .paid), "delivered": State(status: .paid),
            "sendFailed": State(status: .paid), "undone": nil, "reminded": nil, "paymentReceived": State(status: .paid), "paid": nil,
            "credited": State(status: .credited), "noted": State(status: .paid),
        ]),
        (State(status: .credited), [
            "approved": nil, "published": nil, "sendStarted": nil, "delivered": nil, "sendFailed": nil, "undone": nil, "reminded": nil,
            "paymentReceived": State(status: .credited), "paid": nil, "credited": nil, "noted": State(status: .credited),
        ]),
    ]

    @Test func everyEventInEveryStateIsAllowedOrRefusedAsTheTableSays() throws {
        #expect(Set(Self.table.map(\.0.status)) == Set(InvoiceStatus.allCases))
        for (state, expected) in Self.table {
            #expect(Set(expected.keys) == Set(Self.events.map(\.0)), "\(state): the table misses an event")
            for (name, event) in Self.events {
                let outcome = Result { () throws(LifecycleError) in try state.applying(event) }
                switch (outcome, expected[name]!) {
                case (.success(let next), .some(let wanted)):
                    #expect(next == wanted, "\(state) + \(name)")
                case (.failure(let error), .none):
                    #expect(error.status == state.status && error.event == event.name)
                    #expect(error.description.contains("cannot happen to an invoice that is \(state.status.rawValue)"))
                case (.success(let next), .none):
                    Issue.record("\(state) + \(name) was allowed (to \(next)); the lifecycle must refuse it")
                case (.failure(let error), .some):
                    Issue.record("\(state) + \(name) was refused: \(error)")
                }
            }
        }
    }

    /// D5, D8: a failed send gives back the exact status the invoice had, whichever it was.
    @Test func aFailedSendPutsBackTheStatusItHad() throws {
        for before in [InvoiceStatus.ready, .sent, .reminder] {
            let waiting = try State(status: before).applying(.sendStarted("retry"))
            #expect(waiting.status == .waiting)
            #expect(try waiting.applying(.sendFailed("refused")).status == before)
        }
        let reminder = try State(status: .sent).applying(.reminded(on: CivilDate("2026-12-30")!, "first reminder"))
        #expect(try reminder.applying(.sendFailed("refused")).status == .sent)
        #expect(try reminder.applying(.delivered(how: "e-mail", to: "a@example.se")).status == .reminder)
    }

    @Test func theHistoryWordsAndDetails() {
        #expect(InvoiceLifecycle.Event.delivered(how: "by SFTP", to: "0007:5566778899").name == "sent")
        #expect(InvoiceLifecycle.Event.delivered(how: "by SFTP", to: "0007:5566778899").detail == "to 0007:5566778899: by SFTP")
        #expect(InvoiceLifecycle.Event.delivered(how: "printed", to: nil).detail == "printed")
        #expect(InvoiceLifecycle.Event.sendFailed("x").name == "send failed")
        #expect(InvoiceLifecycle.Event.approved.detail == "review done (rule S5)")
        #expect(InvoiceLifecycle.Event.noted("exported", detail: "d").name == "exported")
    }
}
