import GatewayCore

/// Swedish banking days: Monday to Friday except the days banks and Bankgirot are closed
/// (New Year's Day, Epiphany, Good Friday, Easter Monday, 1 May, Ascension Day, National Day,
/// Midsummer Eve, Christmas Eve, Christmas Day, Boxing Day and New Year's Eve).
public enum BankingCalendar {
    public static func isBankingDay(_ date: CivilDate) -> Bool {
        !isWeekend(date) && !holidays(in: date.year).contains(date)
    }

    /// The date itself when it is a banking day, else the next one (a payment due on a
    /// Saturday is drawn on Monday).
    public static func onOrAfter(_ date: CivilDate) -> CivilDate {
        var day = date
        while !isBankingDay(day) { day = day.adding(days: 1) }
        return day
    }

    static func isWeekend(_ date: CivilDate) -> Bool {
        // 1970-01-01 was a Thursday: day 0 → weekday 3 counting Monday as 0.
        let weekday = ((date.dayNumber % 7) + 7 + 3) % 7
        return weekday >= 5
    }

    public static func holidays(in year: Int) -> Set<CivilDate> {
        let easter = easterSunday(year)
        // Midsummer Eve: the Friday from 19 to 25 June.
        let midsummerEve = (19...25).compactMap { CivilDate(year: year, month: 6, day: $0) }.first { weekdayIndex($0) == 4 }!
        var days: Set<CivilDate> = [easter.adding(days: -2), easter.adding(days: 1), easter.adding(days: 39), midsummerEve]
        for (month, day) in [(1, 1), (1, 6), (5, 1), (6, 6), (12, 24), (12, 25), (12, 26), (12, 31)] {
            days.insert(CivilDate(year: year, month: month, day: day)!)
        }
        return days
    }

    private static func weekdayIndex(_ date: CivilDate) -> Int { ((date.dayNumber % 7) + 7 + 3) % 7 }

    /// Easter Sunday (the anonymous Gregorian algorithm).
    static func easterSunday(_ year: Int) -> CivilDate {
        let a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4
        let f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30
        let i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31, day = ((h + l - 7 * m + 114) % 31) + 1
        return CivilDate(year: year, month: month, day: day)!
    }
}
