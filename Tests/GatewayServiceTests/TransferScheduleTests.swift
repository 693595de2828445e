import Distribution
import Foundation
import GatewayCore
import Testing

/// When a destination's files go out (`schedule:` in gateway.yml), on the client's wall clock.
@Suite struct TransferScheduleTests {
    let stockholm = TimeZone(identifier: "Europe/Stockholm")!
    func time(_ text: String) -> TimeOfDay { TimeOfDay(text)! }
    func instant(_ text: String) -> Date { Instant.parse(text)! }

    @Test func noScheduleMeansAsSoonAsPublished() {
        #expect(TransferSchedule(everyMinutes: nil, timesOfDay: [], timeZone: stockholm) == nil)
    }

    @Test func everyCountsFromThePreviousRun() throws {
        let schedule = try #require(TransferSchedule(everyMinutes: 15, timesOfDay: [], timeZone: stockholm))
        #expect(schedule.next(after: instant("2026-12-07T10:00:00+01:00")) == instant("2026-12-07T10:15:00+01:00"))
        #expect(schedule.description == "every 15 minutes")
    }

    @Test func atTakesTheNextListedTimeAndThenTheNextDay() throws {
        let schedule = try #require(TransferSchedule(everyMinutes: nil, timesOfDay: [time("18:00"), time("06:00")], timeZone: stockholm))
        #expect(schedule.next(after: instant("2026-12-07T05:59:00+01:00")) == instant("2026-12-07T06:00:00+01:00"))
        #expect(schedule.next(after: instant("2026-12-07T06:00:00+01:00")) == instant("2026-12-07T18:00:00+01:00"))
        #expect(schedule.next(after: instant("2026-12-07T18:00:00+01:00")) == instant("2026-12-08T06:00:00+01:00"))
        #expect(schedule.next(after: instant("2026-12-31T19:00:00+01:00")) == instant("2027-01-01T06:00:00+01:00"))
        #expect(schedule.description == "at 06:00, 18:00 (Europe/Stockholm)")
    }

    @Test func theDaylightSavingNightsRunEachTimeOnce() throws {
        // Spring, 2027-03-28: 02:00-03:00 does not exist; 02:30 runs at 03:00.
        let spring = try #require(TransferSchedule(everyMinutes: nil, timesOfDay: [time("02:30")], timeZone: stockholm))
        #expect(spring.next(after: instant("2027-03-28T01:00:00+01:00")) == instant("2027-03-28T03:00:00+02:00"))
        #expect(spring.next(after: instant("2027-03-28T03:00:00+02:00")) == instant("2027-03-29T02:30:00+02:00"))
        // Autumn, 2026-10-25: 02:00-03:00 happens twice; 02:30 runs at the first, not again.
        let autumn = try #require(TransferSchedule(everyMinutes: nil, timesOfDay: [time("02:30")], timeZone: stockholm))
        let first = instant("2026-10-25T02:30:00+02:00")
        #expect(autumn.next(after: instant("2026-10-25T01:00:00+02:00")) == first)
        #expect(autumn.next(after: first) == instant("2026-10-26T02:30:00+01:00"))
    }

    @Test func theClientsTimeZoneDecides() throws {
        let auckland = try #require(TransferSchedule(everyMinutes: nil, timesOfDay: [time("09:00")], timeZone: TimeZone(identifier: "Pacific/Auckland")!))
        #expect(auckland.next(after: instant("2026-12-07T00:00:00Z")) == instant("2026-12-07T20:00:00Z"))
    }
}
