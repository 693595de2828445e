import Foundation
import GatewayCore
import Invoicing

/// What a payment reminder ("Påminnelse", D6–D7) says beyond the invoice it is about: which
/// reminder it is, its date, the new due date and what is added. The reminder fee carries no
/// VAT (it is a charge for the reminding, not a supply), so it is added after the VAT summary.
public struct ReminderNotice: Sendable, Hashable {
    /// 1 for the first reminder of an invoice, 2 for the second, and so on.
    public var sequence: Int
    public var date: CivilDate
    public var newDueDate: CivilDate
    /// Already paid on the invoice (partial payments).
    public var paid: Decimal
    /// The reminder fee; zero when none was agreed.
    public var fee: Decimal
    /// Late-payment interest by räntelagen, when charged.
    public var interest: Decimal
    /// Förseningsersättning (lag 1981:739) for a business customer, when charged.
    public var compensation: Decimal

    public init(sequence: Int, date: CivilDate, newDueDate: CivilDate, paid: Decimal = 0, fee: Decimal = 0, interest: Decimal = 0,
                compensation: Decimal = 0) {
        self.sequence = sequence
        self.date = date
        self.newDueDate = newDueDate
        self.paid = paid
        self.fee = fee
        self.interest = interest
        self.compensation = compensation
    }

    /// What is left of the invoice.
    public func outstanding(_ invoice: Invoice) -> Decimal { invoice.totals.payable - paid }

    /// What the customer is asked to pay by the new due date.
    public func amountDue(_ invoice: Invoice) -> Decimal { outstanding(invoice) + fee + interest + compensation }
}
