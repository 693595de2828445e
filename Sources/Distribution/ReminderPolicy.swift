import Foundation
import GatewayCore
import Invoicing

/// D6–D8: whether an invoice is due a payment reminder, and what the reminder asks for. Pure:
/// the invoice's state and today in, a decision out.
public struct ReminderPolicy: Sendable, Hashable {
    /// "Distributionsmetod vid fakturapåminnelser" is on (D6).
    public var enabled: Bool
    /// A reminder is due this many days after the (latest) due date.
    public var daysAfterDue: Int
    /// The reminder fee, charged only where agreed; no VAT.
    public var fee: Decimal
    /// Whether the client's terms include the fee; a customer's `reminderFeeAgreed` overrides.
    public var feeAgreedByDefault: Bool
    /// Days from the reminder's date to its own due date.
    public var newDueDays: Int
    /// Late-payment interest by räntelagen (6 §): the reference rate plus 8 percentage points,
    /// from the due date; nil when not charged.
    public var referenceRate: Decimal?
    /// Förseningsersättning, 450 kr, for business customers (lag 1981:739, 4 a §).
    public var chargeCompensation: Bool

    public init(enabled: Bool = false, daysAfterDue: Int = 5, fee: Decimal = 0, feeAgreedByDefault: Bool = true, newDueDays: Int = 10,
                referenceRate: Decimal? = nil, chargeCompensation: Bool = false) {
        self.enabled = enabled
        self.daysAfterDue = daysAfterDue
        self.fee = fee
        self.feeAgreedByDefault = feeAgreedByDefault
        self.newDueDays = newDueDays
        self.referenceRate = referenceRate
        self.chargeCompensation = chargeCompensation
    }

    /// The highest reminder fee Swedish law allows (förordning 1981:1057 om ersättning för
    /// inkassokostnader m.m.): 60 kr.
    public static let maximumFee: Decimal = 60
    /// Lag (1981:739) om ersättning för inkassokostnader m.m., 4 a §.
    public static let compensation: Decimal = 450
    /// Räntelagen 6 §: the reference rate plus this many percentage points.
    public static let interestMargin: Decimal = 8

    /// The methods a reminder may go by (D6).
    public static let methods: Set<DistributionMethod> = [.ownPrinter, .email, .centralPrint]

    /// Why a fee cannot be charged as a reminder fee, or nil.
    public static func feeProblem(_ fee: Decimal) -> String? {
        if fee < 0 { return "a fee of at least 0" }
        if fee > maximumFee { return "at most \(maximumFee) SEK, the reminder fee Swedish law allows (förordning 1981:1057)" }
        return nil
    }

    /// What the policy needs to know about one invoice.
    public struct Account: Sendable, Hashable {
        public var kind: InvoiceKind
        public var status: InvoiceStatus
        public var customerKind: CustomerKind
        public var dueDate: CivilDate
        public var payable: Decimal
        public var paid: Decimal
        public var reminderCount: Int
        /// The last reminder's date, when one was sent.
        public var reminderDate: CivilDate?
        /// The customer's own agreement on the fee, when it has one.
        public var feeAgreed: Bool?

        public init(kind: InvoiceKind, status: InvoiceStatus, customerKind: CustomerKind, dueDate: CivilDate, payable: Decimal, paid: Decimal,
                    reminderCount: Int, reminderDate: CivilDate?, feeAgreed: Bool?) {
            self.kind = kind
            self.status = status
            self.customerKind = customerKind
            self.dueDate = dueDate
            self.payable = payable
            self.paid = paid
            self.reminderCount = reminderCount
            self.reminderDate = reminderDate
            self.feeAgreed = feeAgreed
        }
    }

    public enum Decision: Sendable, Hashable {
        case remind(ReminderNotice)
        /// Not due a reminder, and why (for the operator and the listing).
        case none(String)
    }

    public func decide(_ account: Account, today: CivilDate) -> Decision {
        guard enabled else { return .none("reminders are off (distribution.reminders.enabled)") }
        guard account.kind == .invoice else { return .none("a credit invoice is not reminded") }
        switch account.status {
        case .sent, .reminder: break
        case .paid: return .none("it is paid")
        case .credited: return .none("it is credited")
        case .review, .ready, .waiting: return .none("it has not been sent (status \(account.status.rawValue))")
        }
        let outstanding = account.payable - account.paid
        guard outstanding > 0 else { return .none("nothing is left to pay") }
        // The due date the customer was last given: the invoice's, or the last reminder's own.
        let latestDue = account.reminderDate.map { $0.adding(days: newDueDays) } ?? account.dueDate
        let dueOn = latestDue.adding(days: daysAfterDue)
        guard today >= dueOn else { return .none("a reminder is due on \(dueOn)") }
        let fee = (account.feeAgreed ?? feeAgreedByDefault) ? fee : 0
        var interest: Decimal = 0
        if let referenceRate {
            let days = Decimal(account.dueDate.days(until: today))
            interest = (outstanding * (referenceRate + Self.interestMargin) / 100 * days / 365).rounded(scale: 2)
        }
        let compensation = chargeCompensation && account.customerKind == .organisation && account.reminderCount == 0 ? Self.compensation : 0
        return .remind(ReminderNotice(sequence: account.reminderCount + 1, date: today, newDueDate: today.adding(days: newDueDays),
                                      paid: account.paid, fee: fee, interest: interest, compensation: compensation))
    }
}
