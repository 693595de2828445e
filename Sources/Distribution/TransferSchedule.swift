import Foundation
import GatewayCore

/// When a destination's files are taken out (`schedule:` in gateway.yml): every so many
/// minutes, or at times of day in the client's time zone. Pure: the next run follows from the
/// previous one, or from now.
public struct TransferSchedule: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case every(minutes: Int)
        case at([TimeOfDay])
    }
    public let kind: Kind
    public let timeZone: TimeZone

    /// Nil when the destination has no schedule: its files go as soon as they are published.
    public init?(everyMinutes: Int?, timesOfDay: [TimeOfDay], timeZone: TimeZone) {
        if let everyMinutes, everyMinutes > 0 {
            kind = .every(minutes: everyMinutes)
        } else if !timesOfDay.isEmpty {
            kind = .at(timesOfDay.sorted())
        } else {
            return nil
        }
        self.timeZone = timeZone
    }

    /// The first run strictly after `instant`: `every` counts from the previous run; `at` takes
    /// the next listed time on the wall clock (on the spring night a time in the gap runs at
    /// its end, on the autumn night a doubled time runs once, at its first occurrence).
    public func next(after instant: Date) -> Date {
        switch kind {
        case .every(let minutes):
            return instant.addingTimeInterval(TimeInterval(minutes * 60))
        case .at(let times):
            var day = CivilDate(instant, in: timeZone)
            while true {
                if let time = times.first(where: { day.instant(at: $0, in: timeZone) > instant }) {
                    return day.instant(at: time, in: timeZone)
                }
                day = CivilDate(dayNumber: day.dayNumber + 1)
            }
        }
    }

    public var description: String {
        switch kind {
        case .every(let minutes): "every \(minutes) minute\(minutes == 1 ? "" : "s")"
        case .at(let times): "at " + times.map(\.description).joined(separator: ", ") + " (\(timeZone.identifier))"
        }
    }
}
