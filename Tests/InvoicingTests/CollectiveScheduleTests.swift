import Foundation
import GatewayCore
import Invoicing
import Testing

private let stockholm = TimeZone(identifier: "Europe/Stockholm")!

private func date(_ text: String) -> CivilDate { CivilDate(text)! }
private func instant(_ text: String) -> Date { Instant.parse(text)! }

private func schedule(_ interval: InvoicingModel.Interval, days: [Int] = [], last: Bool = false, from start: String,
                      at time: String = "18:00", zone: TimeZone = stockholm) -> CollectiveSchedule {
    CollectiveSchedule(interval: interval, days: days, lastDayOfMonth: last, startDate: date(start), time: TimeOfDay(time)!, timeZone: zone)
}

/// The cut-off days from `from` through `through`, as dates in the schedule's zone.
private func cutOffDays(_ s: CollectiveSchedule, _ from: String, _ through: String) -> [String] {
    s.cutOffs(after: instant(from + "T00:00:00Z").addingTimeInterval(-86_400 * 2), through: instant(through + "T23:59:59Z"))
        .map { CivilDate($0, in: s.timeZone).description }
        .filter { $0 >= from }
}

@Suite struct CollectiveScheduleTests {
    @Test func m3DailyAtTheTimeOfDayInTheClientsZone() {
        let s = schedule(.daily, from: "2026-12-01")
        #expect(s.cutOffs(after: nil, through: instant("2026-12-03T12:00:00+01:00"))
                == [instant("2026-12-01T18:00:00+01:00"), instant("2026-12-02T18:00:00+01:00")])
        // 18:00 exactly is due at 18:00; one second before it is not.
        #expect(s.cutOffs(after: instant("2026-12-02T18:00:00+01:00"), through: instant("2026-12-03T18:00:00+01:00")).count == 1)
        #expect(s.cutOffs(after: instant("2026-12-02T18:00:00+01:00"), through: instant("2026-12-03T17:59:59+01:00")).isEmpty)
        // Summer time: 18:00 is 16:00 UTC.
        #expect(s.cutOff(on: date("2027-07-01")) == instant("2027-07-01T16:00:00Z"))
    }

    @Test func aStartDateInTheFutureGivesNothingBeforeIt() {
        let s = schedule(.daily, from: "2027-03-10")
        #expect(s.cutOffs(after: nil, through: instant("2027-03-10T17:59:00+01:00")).isEmpty)
        #expect(s.next(after: instant("2026-12-07T10:00:00+01:00"), count: 2)
                == [instant("2027-03-10T18:00:00+01:00"), instant("2027-03-11T18:00:00+01:00")])
        #expect(s.latestCutOff(atOrBefore: instant("2027-03-09T23:00:00+01:00")) == nil)
    }

    @Test func weeklyOnTheStartDatesWeekday() {
        // 2026-12-02 is a Wednesday.
        let s = schedule(.weekly, from: "2026-12-02")
        #expect(cutOffDays(s, "2026-12-01", "2027-01-06") == ["2026-12-02", "2026-12-09", "2026-12-16", "2026-12-23", "2026-12-30", "2027-01-06"])
        #expect(s.description.contains("Wednesday"))
    }

    @Test func biweeklyKeepsItsParityAcrossTheYearBoundary() {
        let s = schedule(.biweekly, from: "2026-12-17")
        #expect(cutOffDays(s, "2026-12-01", "2027-02-28") == ["2026-12-17", "2026-12-31", "2027-01-14", "2027-01-28", "2027-02-11", "2027-02-25"])
        // Over several years every cut-off is fourteen days after the one before.
        let days = cutOffDays(s, "2026-12-17", "2030-12-31").map { date($0).dayNumber }
        #expect(zip(days, days.dropFirst()).allSatisfy { $1 - $0 == 14 })
        #expect(days.count == (date("2030-12-31").dayNumber - date("2026-12-17").dayNumber) / 14 + 1)
    }

    @Test func monthlyUsesTheLastDayInShorterMonths() {
        let s = schedule(.monthly, from: "2027-01-31")
        #expect(cutOffDays(s, "2027-01-01", "2027-06-30") == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30"])
        // 29 February in a leap year.
        #expect(cutOffDays(s, "2028-02-01", "2028-03-31") == ["2028-02-29", "2028-03-31"])
        let the30th = schedule(.monthly, from: "2027-01-30")
        #expect(cutOffDays(the30th, "2027-02-01", "2027-03-31") == ["2027-02-28", "2027-03-30"])
        #expect(cutOffDays(the30th, "2028-02-01", "2028-02-29") == ["2028-02-29"])
    }

    @Test func daysOfMonthSkipADayTheMonthLacks() {
        let s = schedule(.daysOfMonth, days: [5, 15, 30], from: "2027-01-01")
        #expect(cutOffDays(s, "2027-02-01", "2027-03-31") == ["2027-02-05", "2027-02-15", "2027-03-05", "2027-03-15", "2027-03-30"])
        let skipped = s.skippedDays(from: date("2027-01-01"), through: date("2027-04-30")).map { "\($0.year)-\($0.month)-\($0.day)" }
        #expect(skipped == ["2027-2-30"])
        let on31 = schedule(.daysOfMonth, days: [31], from: "2027-01-01")
        #expect(on31.skippedDays(from: date("2027-01-01"), through: date("2027-12-31")).map(\.month) == [2, 4, 6, 9, 11])
        #expect(cutOffDays(on31, "2027-02-01", "2027-05-31") == ["2027-03-31", "2027-05-31"])
    }

    @Test func m5TheLastDayOfTheMonthIsAddedToTheExplicitDays() {
        let s = schedule(.daysOfMonth, days: [5, 15, 25], last: true, from: "2027-08-01")
        #expect(cutOffDays(s, "2027-08-01", "2027-09-30") == ["2027-08-05", "2027-08-15", "2027-08-25", "2027-08-31",
                                                             "2027-09-05", "2027-09-15", "2027-09-25", "2027-09-30"])
        // 29 February is the last day in a leap year, the 28th otherwise.
        #expect(cutOffDays(s, "2028-02-26", "2028-02-29") == ["2028-02-29"])
        let fromJanuary = schedule(.daysOfMonth, days: [5, 15, 25], last: true, from: "2027-01-01")
        #expect(cutOffDays(fromJanuary, "2027-02-26", "2027-02-28") == ["2027-02-28"])
        // A listed day that is the last day is one cut-off, not two.
        let the30th = schedule(.daysOfMonth, days: [30], last: true, from: "2027-04-01")
        #expect(cutOffDays(the30th, "2027-04-01", "2027-04-30") == ["2027-04-30"])
    }

    @Test func theSpringNightsMissingTimeMeansTheEndOfTheGap() {
        // 2027-03-28: in Stockholm the clocks go from 02:00 to 03:00.
        let s = schedule(.daily, from: "2027-03-01", at: "02:30")
        #expect(s.cutOff(on: date("2027-03-28")) == instant("2027-03-28T03:00:00+02:00"))
        #expect(s.cutOff(on: date("2027-03-27")) == instant("2027-03-27T02:30:00+01:00"))
        #expect(s.cutOff(on: date("2027-03-29")) == instant("2027-03-29T02:30:00+02:00"))
        let days = s.cutOffs(after: instant("2027-03-26T12:00:00+01:00"), through: instant("2027-03-30T12:00:00+02:00"))
        #expect(days.count == 4)
        #expect(s.cutOff(on: date("2027-03-28")).timeIntervalSince(s.cutOff(on: date("2027-03-27"))) == 23 * 3600 + 1800)
    }

    @Test func theAutumnNightsDoubledTimeMeansItsFirstOccurrence() {
        // 2027-10-31: in Stockholm 02:00-03:00 happens twice; the first is still summer time.
        let s = schedule(.daily, from: "2027-10-01", at: "02:30")
        #expect(s.cutOff(on: date("2027-10-31")) == instant("2027-10-31T02:30:00+02:00"))
        #expect(s.cutOff(on: date("2027-11-01")) == instant("2027-11-01T02:30:00+01:00"))
        // The second 02:30 is not a second cut-off.
        #expect(s.cutOffs(after: instant("2027-10-31T02:30:00+02:00"), through: instant("2027-10-31T12:00:00+01:00")).isEmpty)
    }

    @Test func timesAroundMidnightStayOnTheirDay() {
        let s = schedule(.daily, from: "2027-03-27", at: "00:00")
        #expect(s.cutOff(on: date("2027-03-28")) == instant("2027-03-28T00:00:00+01:00"))
        #expect(s.cutOff(on: date("2027-03-29")) == instant("2027-03-29T00:00:00+02:00"))
        #expect(date("2027-03-29").start(in: stockholm) == instant("2027-03-29T00:00:00+02:00"))
        #expect(date("2027-10-31").start(in: stockholm) == instant("2027-10-31T00:00:00+02:00"))
    }

    @Test func m4TheLatestTimeIs2200() {
        #expect(CollectiveSchedule.latestTime == TimeOfDay("22:00"))
        #expect(TimeOfDay("22:01")! > CollectiveSchedule.latestTime)
        #expect(TimeOfDay("24:00") == nil)
        #expect(TimeOfDay("7:00") == nil)
    }

    @Test func aModelWithoutAScheduleIsNotCollective() {
        #expect(CollectiveSchedule(.running, timeZone: stockholm) == nil)
        let model = InvoicingModel(model: .collective, interval: .daily, startDate: date("2026-12-01"), time: "18:00")
        #expect(CollectiveSchedule(model, timeZone: stockholm)?.time == TimeOfDay("18:00"))
    }

    /// Every day of four years against every interval: a cut-off falls on exactly the days the
    /// rule names, once a day at most, at the time of day on the wall clock (or the gap's end).
    @Test func fourYearsOfEveryInterval() {
        let schedules = [schedule(.daily, from: "2027-01-01", at: "22:00"), schedule(.weekly, from: "2027-01-04", at: "06:15"),
                         schedule(.biweekly, from: "2027-01-04"), schedule(.monthly, from: "2027-01-29", at: "02:30"),
                         schedule(.daysOfMonth, days: [1, 29, 31], last: true, from: "2027-01-01", at: "02:30")]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = stockholm
        for s in schedules {
            let cuts = s.cutOffs(after: nil, through: instant("2030-12-31T23:59:59+01:00"))
            let days = cuts.map { CivilDate($0, in: stockholm) }
            #expect(Set(days).count == days.count)
            #expect(days == days.sorted())
            for day in (0...(date("2030-12-31").dayNumber - date("2027-01-01").dayNumber)).map({ date("2027-01-01").adding(days: $0) }) {
                #expect(days.contains(day) == s.isCutOffDay(day), "\(day)")
            }
            for cut in cuts {
                let c = calendar.dateComponents([.hour, .minute], from: cut)
                let wall = c.hour! * 60 + c.minute!
                #expect(wall == s.time.minutesSinceMidnight || (s.time == TimeOfDay("02:30") && wall == 180), "\(cut)")
            }
        }
    }
}
