import Foundation
import GatewayCore
import Invoicing
import Testing
@testable import Distribution

/// D14 on the injected clock: the edges of the undo window.
@Suite struct UndoWindowTests {
    let start = Instant.parse("2026-11-25T10:00:00+01:00")!
    func at(_ minutes: Int, _ seconds: Int = 0) -> Date { start.addingTimeInterval(TimeInterval(minutes * 60 + seconds)) }

    @Test func aCreditAt4_59CancelsAndAt5_01DoesNot() {
        let window = UndoWindow(minutes: 5)
        #expect(window.canUndo(method: .email, waitingSince: start, now: at(4, 59)))
        #expect(!window.canUndo(method: .email, waitingSince: start, now: at(5, 1)))
        #expect(window.canUndo(method: .centralPrint, waitingSince: start, now: at(0)))
        // The window's last instant is 4:59.999; at 5:00 the send leaves.
        #expect(!window.holds(method: .email, waitingSince: start, now: at(5)))
        #expect(window.releaseTime(method: .email, waitingSince: start) == at(5))
    }

    @Test func onlyEmailAndCentralPrintAreHeldAndZeroTurnsTheHoldOff() {
        let window = UndoWindow(minutes: 5)
        for method in [DistributionMethod.eInvoice, .ownPrinter, .export, .autogiro] {
            #expect(window.releaseTime(method: method, waitingSince: start) == nil, "\(method)")
            #expect(!window.holds(method: method, waitingSince: start, now: at(1)))
        }
        #expect(!UndoWindow(minutes: 0).holds(method: .email, waitingSince: start, now: start))
        #expect(UndoWindow().minutes == 5)
    }
}

/// D6–D8: who is due a reminder, when, and what it asks for.
@Suite struct ReminderPolicyTests {
    let policy = ReminderPolicy(enabled: true, daysAfterDue: 5, fee: 60, newDueDays: 10)
    let due = CivilDate("2026-12-25")!

    func account(status: InvoiceStatus = .sent, kind: InvoiceKind = .invoice, customer: CustomerKind = .person, paid: Decimal = 0,
                 count: Int = 0, reminded: CivilDate? = nil, agreed: Bool? = nil) -> ReminderPolicy.Account {
        ReminderPolicy.Account(kind: kind, status: status, customerKind: customer, dueDate: due, payable: 1000, paid: paid,
                               reminderCount: count, reminderDate: reminded, feeAgreed: agreed)
    }

    func notice(_ decision: ReminderPolicy.Decision) -> ReminderNotice? {
        if case .remind(let notice) = decision { return notice }
        return nil
    }

    func reason(_ decision: ReminderPolicy.Decision) -> String? {
        if case .none(let reason) = decision { return reason }
        return nil
    }

    @Test func aSentInvoiceIsDueAReminderTheGivenDaysAfterItsDueDate() throws {
        #expect(reason(policy.decide(account(), today: CivilDate("2026-12-29")!)) == "a reminder is due on 2026-12-30")
        let reminder = try #require(notice(policy.decide(account(), today: CivilDate("2026-12-30")!)))
        #expect(reminder.sequence == 1 && reminder.date == CivilDate("2026-12-30")! && reminder.newDueDate == CivilDate("2027-01-09")!)
        #expect(reminder.fee == 60 && reminder.interest == 0 && reminder.compensation == 0)
    }

    @Test func aSecondReminderCountsFromTheFirstOnesDueDate() throws {
        let first = CivilDate("2026-12-30")!
        // The first reminder's due date is 2027-01-09; the second is due five days after it.
        let early = account(status: .reminder, count: 1, reminded: first)
        #expect(reason(policy.decide(early, today: CivilDate("2027-01-13")!)) == "a reminder is due on 2027-01-14")
        let second = try #require(notice(policy.decide(early, today: CivilDate("2027-01-14")!)))
        #expect(second.sequence == 2)
    }

    @Test func noReminderWhenOffPaidCreditedUnsentOrACredit() {
        let late = CivilDate("2027-02-01")!
        #expect(reason(ReminderPolicy(enabled: false).decide(account(), today: late)) == "reminders are off (distribution.reminders.enabled)")
        #expect(reason(policy.decide(account(status: .paid), today: late)) == "it is paid")
        #expect(reason(policy.decide(account(status: .credited), today: late)) == "it is credited")
        #expect(reason(policy.decide(account(status: .waiting), today: late)) == "it has not been sent (status waiting)")
        #expect(reason(policy.decide(account(kind: .credit), today: late)) == "a credit invoice is not reminded")
        #expect(reason(policy.decide(account(paid: 1000), today: late)) == "nothing is left to pay")
    }

    @Test func partialPaymentsAreDeductedAndTheFeeOnlyWhereAgreed() throws {
        let late = CivilDate("2027-01-04")!
        let partly = try #require(notice(policy.decide(account(paid: 400), today: late)))
        #expect(partly.paid == 400 && partly.fee == 60)
        #expect(try #require(notice(policy.decide(account(agreed: false), today: late))).fee == 0)
        var notAgreed = policy
        notAgreed.feeAgreedByDefault = false
        #expect(try #require(notice(notAgreed.decide(account(), today: late))).fee == 0)
        #expect(try #require(notice(notAgreed.decide(account(agreed: true), today: late))).fee == 60)
    }

    /// Räntelagen: the reference rate plus 8 points from the due date; 450 kr once, for businesses.
    @Test func interestAndCompensationWhenTheClientChargesThem() throws {
        var charging = policy
        charging.referenceRate = 2
        charging.chargeCompensation = true
        let today = CivilDate("2027-01-04")!   // 10 days after the due date
        let business = try #require(notice(charging.decide(account(customer: .organisation), today: today)))
        // 1000 × 10 % × 10 / 365 = 2.739... → 2.74
        #expect(business.interest == Decimal(string: "2.74")!)
        #expect(business.compensation == 450)
        let person = try #require(notice(charging.decide(account(customer: .person), today: today)))
        #expect(person.compensation == 0)
        let again = try #require(notice(charging.decide(account(status: .reminder, customer: .organisation, count: 1, reminded: CivilDate("2026-12-20")!),
                                                       today: CivilDate("2027-01-04")!)))
        #expect(again.compensation == 0)
    }

    @Test func aFeeAboveWhatTheLawAllowsIsAProblem() {
        #expect(ReminderPolicy.feeProblem(60) == nil)
        #expect(ReminderPolicy.feeProblem(0) == nil)
        #expect(ReminderPolicy.feeProblem(Decimal(string: "60.01")!)?.contains("at most 60 SEK") == true)
        #expect(ReminderPolicy.feeProblem(-1) != nil)
    }
}
