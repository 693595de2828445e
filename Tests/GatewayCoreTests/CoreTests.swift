import Foundation
@testable import GatewayCore
import Testing

@Suite struct MoneyTests {
    @Test func parsesDecimalsExactly() {
        #expect(Decimal(exactly: "12.50") == Decimal(string: "12.5"))
        #expect(Decimal(exactly: "0.1")! + Decimal(exactly: "0.2")! == Decimal(exactly: "0.3")!)
        #expect(Decimal(exactly: "1e2") == nil)
        #expect(Decimal(exactly: "12.") == nil)
        #expect(Decimal(exactly: "") == nil)
    }

    @Test func roundsHalfAwayFromZeroToOre() {
        #expect(Decimal(exactly: "2.675")!.roundedToOre == Decimal(exactly: "2.68")!)
        #expect(Decimal(exactly: "-2.675")!.roundedToOre == Decimal(exactly: "-2.68")!)
        #expect(Decimal(exactly: "2.5")!.rounded(scale: 0) == 3)
        #expect(Decimal(exactly: "2.49")!.rounded(scale: 0) == 2)
    }

    @Test func writesFixedDecimals() {
        #expect(Decimal(exactly: "12.5")!.fixed(2) == "12.50")
        #expect(Decimal(3).fixed(2) == "3.00")
        #expect(Decimal(exactly: "-0.001")!.fixed(2) == "0.00")
    }
}

@Suite struct CivilDateTests {
    @Test func refusesImpossibleDates() {
        #expect(CivilDate("2026-02-30") == nil)
        #expect(CivilDate("2024-02-29") != nil)
        #expect(CivilDate("2026-1-01") == nil)
    }

    @Test func addsDaysAcrossMonthsAndYears() {
        #expect(CivilDate("2026-11-25")!.adding(days: 30).description == "2026-12-25")
        #expect(CivilDate("2026-12-15")!.adding(days: 20).description == "2027-01-04")
    }

    @Test func theClientTimeZoneDecidesTheDay() {
        let instant = Instant.parse("2026-11-24T23:30:00Z")!
        #expect(CivilDate(instant, in: TimeZone(identifier: "Europe/Stockholm")!).description == "2026-11-25")
        #expect(CivilDate(instant, in: TimeZone(identifier: "UTC")!).description == "2026-11-24")
    }
}

@Suite struct DecimalTextTests {
    @Test func plainTextMatchesFoundationForManyValues() {
        for text in ["0", "1", "-1", "12.5", "12.50", "0.001", "-0.25", "1000", "123456789012.3456", "0.1", "99.99", "1e3",
                     "18446744073709551615", "18446744073709551616", "-0.0001", "65536", "4294967296.5"] {
            let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))!
            #expect(value.plainText == NSDecimalNumber(decimal: value).stringValue, "\(text)")
        }
        #expect(DecimalText.layoutHolds, "the fast path is off on this toolchain: rendering is slower but still right")
        let big = Decimal(string: "12345678901234567890123456789")!
        #expect(big.plainText == "12345678901234567890123456789")
    }
}

/// GATEWAY_NOW (issue 11): the clock from outside starts where it is told and runs on.
@Suite struct ShiftedClockTests {
    @Test func itStartsAtTheGivenInstantAndRunsOn() throws {
        let start = Instant.parse("2027-01-15T09:00:00+01:00")!
        let clock = ShiftedClock(startingAt: start)
        let first = clock.now
        #expect(abs(first.timeIntervalSince(start)) < 1)
        Thread.sleep(forTimeInterval: 0.02)
        #expect(clock.now > first)
    }

    @Test func theEnvironmentTurnsItOnAndAWrongValueIsRefused() throws {
        #expect(try ShiftedClock.fromEnvironment([:]) == nil)
        #expect(try ShiftedClock.fromEnvironment(["GATEWAY_NOW": ""]) == nil)
        let clock = try #require(try ShiftedClock.fromEnvironment(["GATEWAY_NOW": "2027-01-15T09:00:00Z"]))
        #expect(abs(clock.now.timeIntervalSince(Instant.parse("2027-01-15T09:00:00Z")!)) < 1)
        #expect(throws: ShiftedClock.Problem.self) { try ShiftedClock.fromEnvironment(["GATEWAY_NOW": "tomorrow"]) }
        do { _ = try ShiftedClock.fromEnvironment(["GATEWAY_NOW": "tomorrow"]) } catch {
            #expect(error.description.contains("not an ISO 8601 instant"))
        }
    }
}
