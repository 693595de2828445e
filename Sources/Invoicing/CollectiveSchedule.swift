import Foundation
import GatewayCore

/// When a collective customer's invoices are made (M2–M5): the cut-offs of its schedule, as
/// instants, in the client's time zone.
///
/// A cut-off is the schedule's time of day on each of its days. On the spring night a time
/// that does not exist (02:30 in Stockholm) means the first instant after the gap (03:00);
/// on the autumn night a time that occurs twice means its first occurrence.
public struct CollectiveSchedule: Sendable, Hashable {
    public let interval: InvoicingModel.Interval
    /// The days of the month for `days-of-month`, sorted.
    public let days: [Int]
    /// M5: the month's last day as well.
    public let lastDayOfMonth: Bool
    public let startDate: CivilDate
    public let time: TimeOfDay
    public let timeZone: TimeZone

    /// M4: the latest time of day a collective invoice may be made.
    public static let latestTime = TimeOfDay(hour: 22, minute: 0)!

    /// A schedule is looked for so far ahead before the search gives up (days-of-month [31]
    /// finds a day within two months; two years covers every schedule the contract allows).
    static let searchDays = 800

    public init(interval: InvoicingModel.Interval, days: [Int] = [], lastDayOfMonth: Bool = false, startDate: CivilDate,
                time: TimeOfDay, timeZone: TimeZone) {
        self.interval = interval
        self.days = Array(Set(days)).sorted()
        self.lastDayOfMonth = lastDayOfMonth
        self.startDate = startDate
        self.time = time
        self.timeZone = timeZone
    }

    /// The schedule of a collective model as intake accepted it; nil for the running model.
    public init?(_ model: InvoicingModel, timeZone: TimeZone) {
        guard model.model != .running, let interval = model.interval, let startDate = model.startDate,
              let text = model.time, let time = TimeOfDay(text) else { return nil }
        self.init(interval: interval, days: model.days ?? [], lastDayOfMonth: model.lastDayOfMonth ?? false,
                  startDate: startDate, time: time, timeZone: timeZone)
    }

    /// Whether the schedule makes invoices on `day`.
    public func isCutOffDay(_ day: CivilDate) -> Bool {
        guard day >= startDate else { return false }
        let lastDay = CivilDate.daysIn(month: day.month, year: day.year)
        if lastDayOfMonth, day.day == lastDay { return true }
        switch interval {
        case .daily: return true
        case .weekly: return startDate.days(until: day) % 7 == 0
        case .biweekly: return startDate.days(until: day) % 14 == 0
        case .monthly: return day.day == min(startDate.day, lastDay)
        case .daysOfMonth: return days.contains(day.day)
        }
    }

    /// The instant of the cut-off on `day` (whether or not `day` is one of the schedule's).
    public func cutOff(on day: CivilDate) -> Date {
        day.instant(at: time, in: timeZone)
    }

    /// The first cut-off at or after `instant` and, when `last` is given, after it.
    public func firstCutOff(notBefore instant: Date, after last: Date? = nil) -> Date? {
        let from = max(instant, last.map { $0.addingTimeInterval(1) } ?? instant)
        var day = max(startDate, CivilDate(from, in: timeZone).adding(days: -1))
        for _ in 0..<Self.searchDays {
            if isCutOffDay(day) {
                let cut = cutOff(on: day)
                if cut >= from { return cut }
            }
            day = day.adding(days: 1)
        }
        return nil
    }

    /// The latest cut-off at or before `instant`, nil when there is none yet.
    public func latestCutOff(atOrBefore instant: Date) -> Date? {
        var day = CivilDate(instant, in: timeZone).adding(days: 1)
        for _ in 0..<Self.searchDays {
            guard day >= startDate else { return nil }
            if isCutOffDay(day) {
                let cut = cutOff(on: day)
                if cut <= instant { return cut }
            }
            day = day.adding(days: -1)
        }
        return nil
    }

    /// The cut-offs due: after the last one made (from the start date when none was) and at or
    /// before `now`, oldest first.
    public func cutOffs(after last: Date?, through now: Date) -> [Date] {
        var result: [Date] = []
        var next = firstCutOff(notBefore: last ?? cutOff(on: startDate), after: last)
        while let cut = next, cut <= now {
            result.append(cut)
            next = firstCutOff(notBefore: cut, after: cut)
        }
        return result
    }

    /// The next `count` cut-offs after `instant`.
    public func next(after instant: Date, count: Int) -> [Date] {
        var result: [Date] = []
        var next = firstCutOff(notBefore: instant, after: instant)
        while let cut = next, result.count < count {
            result.append(cut)
            next = firstCutOff(notBefore: cut, after: cut)
        }
        return result
    }

    /// For `days-of-month`: the listed days that the months from `from` through `through`
    /// lack (31 in April, 30 in February), which the schedule skips.
    public func skippedDays(from: CivilDate, through: CivilDate) -> [(year: Int, month: Int, day: Int)] {
        guard interval == .daysOfMonth else { return [] }
        var result: [(year: Int, month: Int, day: Int)] = []
        var year = from.year, month = from.month
        while (year, month) <= (through.year, through.month) {
            let length = CivilDate.daysIn(month: month, year: year)
            for day in days where day > length { result.append((year, month, day)) }
            (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
        }
        return result
    }
}

extension CollectiveSchedule: CustomStringConvertible {
    /// "daily at 18:00 from 2026-12-01", "days 5, 15, 25 and the last day of the month at 18:00 from ..."
    public var description: String {
        var text: String
        switch interval {
        case .daily: text = "daily"
        case .weekly: text = "weekly on \(Self.weekdayName(startDate))s"
        case .biweekly: text = "every other \(Self.weekdayName(startDate))"
        case .monthly: text = startDate.day >= 29 ? "monthly on day \(startDate.day) (the last day in shorter months)" : "monthly on day \(startDate.day)"
        case .daysOfMonth: text = "on days " + days.map(String.init).joined(separator: ", ")
        }
        if lastDayOfMonth { text += (interval == .daysOfMonth ? " and" : ", and on") + " the last day of the month (M5)" }
        return text + " at \(time) from \(startDate)"
    }

    static func weekdayName(_ day: CivilDate) -> String {
        // 1970-01-01 was a Thursday.
        ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"][((day.dayNumber % 7) + 7) % 7]
    }
}
