import Foundation
import GatewayCore

/// Where an invoice is in its life, and the one place that says what may happen next (S5,
/// D3–D8, D14). The ledger applies every event through `applying(_:)`, writing the new status
/// and the history entry in the same transaction; an event the lifecycle does not allow is an
/// error, never a silent write.
public struct InvoiceLifecycle: Sendable, Hashable {
    public var status: InvoiceStatus
    /// While the invoice is `waiting`: what is being sent and the status a failure puts back.
    public var pending: PendingSend?

    public init(status: InvoiceStatus, pending: PendingSend? = nil) {
        self.status = status
        self.pending = pending
    }

    public struct PendingSend: Sendable, Hashable {
        public enum Kind: String, Sendable { case invoice, reminder }
        public var kind: Kind
        /// D5, D8: the exact status the invoice had before the send.
        public var returnTo: InvoiceStatus

        public init(kind: Kind, returnTo: InvoiceStatus) {
            self.kind = kind
            self.returnTo = returnTo
        }
    }

    public enum Event: Sendable, Hashable {
        /// S5: the review is done.
        case approved
        /// The invoice's artefacts are in the outbox: its send begins (D3).
        case published(String)
        /// A send begins again: a retry after a failure, or `gateway send N` on purpose.
        case sendStarted(String)
        /// D4: the artefact has left: how, and to whom.
        case delivered(how: String, to: String?)
        /// D5: the send failed; the invoice gets back the status it had.
        case sendFailed(String)
        /// D14: credited inside the undo window: nothing reached the customer.
        case undone(String)
        /// D6, D7: a reminder's send begins; `on` is the reminder's date.
        case reminded(on: CivilDate, String)
        /// A payment that leaves something to pay.
        case paymentReceived(String)
        case paid(String)
        case credited(String)
        /// Something worth knowing that changes no status (a rendering that failed, an export).
        case noted(String, detail: String?)
    }

    /// The state after `event`, or why the event cannot happen now.
    public func applying(_ event: Event) throws(LifecycleError) -> InvoiceLifecycle {
        func refuse(_ allowed: String) -> LifecycleError {
            LifecycleError(event: event.name, status: status, allowed: allowed)
        }
        switch event {
        case .approved:
            guard status == .review else { throw refuse("only for an invoice in review") }
            return InvoiceLifecycle(status: .ready)
        case .published, .sendStarted:
            switch status {
            case .ready, .sent, .reminder:
                return InvoiceLifecycle(status: .waiting, pending: PendingSend(kind: .invoice, returnTo: status))
            case .paid:
                // Settled already (prepaid, M1): its documents still go out, for the books.
                return self
            case .review, .waiting, .credited:
                throw refuse("for a ready, sent or reminded invoice, or a paid one")
            }
        case .reminded:
            guard status == .sent || status == .reminder else { throw refuse("only for a sent or reminded invoice") }
            return InvoiceLifecycle(status: .waiting, pending: PendingSend(kind: .reminder, returnTo: status))
        case .delivered:
            if status == .paid { return self }
            guard status == .waiting, let pending else { throw refuse("only for a waiting invoice (or a paid one)") }
            return InvoiceLifecycle(status: pending.kind == .reminder ? .reminder : .sent)
        case .sendFailed:
            if status == .paid { return self }
            guard status == .waiting, let pending else { throw refuse("only for a waiting invoice (or a paid one)") }
            return InvoiceLifecycle(status: pending.returnTo)
        case .undone:
            guard status == .waiting, pending?.kind == .invoice else { throw refuse("only while an invoice's send is held") }
            return InvoiceLifecycle(status: .credited)
        case .paymentReceived, .noted:
            return self
        case .paid:
            guard status != .paid, status != .credited else { throw refuse("for an invoice that is neither paid nor credited") }
            return InvoiceLifecycle(status: .paid)
        case .credited:
            guard status != .credited, status != .review else { throw refuse("for an invoice that is not in review or credited") }
            return InvoiceLifecycle(status: .credited)
        }
    }
}

extension InvoiceLifecycle.Event {
    /// Whether the event begins a send (so its undo window starts now, D14).
    public var startsSend: Bool {
        switch self {
        case .published, .sendStarted, .reminded: true
        default: false
        }
    }

    /// The history's word for the event.
    public var name: String {
        switch self {
        case .approved: "approved"
        case .published: "published"
        case .sendStarted: "send started"
        case .delivered: "sent"
        case .sendFailed: "send failed"
        case .undone: "undone"
        case .reminded: "reminded"
        case .paymentReceived: "payment"
        case .paid: "paid"
        case .credited: "credited"
        case .noted(let name, _): name
        }
    }

    /// The history's detail.
    public var detail: String? {
        switch self {
        case .approved: "review done (rule S5)"
        case .reminded(_, let d): d
        case .published(let d), .sendStarted(let d), .sendFailed(let d), .undone(let d), .paymentReceived(let d),
             .paid(let d), .credited(let d):
            d
        case .delivered(let how, let to): (to.map { "to \($0): " } ?? "") + how
        case .noted(_, let detail): detail
        }
    }
}

/// An event the invoice's lifecycle does not allow in its status.
public struct LifecycleError: Error, Sendable, CustomStringConvertible, Equatable {
    public let event: String
    public let status: InvoiceStatus
    public let allowed: String
    public var description: String { "\"\(event)\" cannot happen to an invoice that is \(status.rawValue): it is \(allowed)" }
}
