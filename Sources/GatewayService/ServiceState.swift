import Foundation
import Gateway
import GatewayCore

/// What the service knows of itself that the ledger does not: whether the watcher runs, how
/// the last inbox run ended, and when each scheduled job runs next (kept in the home for
/// `gateway status` too).
actor ServiceState {
    enum Watcher: String, Sendable {
        case starting, watching, stopped
    }

    private(set) var watcher = Watcher.starting
    private(set) var lastProcessFailure: (at: Date, error: String)?
    private(set) var nextRuns: [String: Date] = [:]
    private let home: GatewayHome

    init(home: GatewayHome) { self.home = home }

    func watcherStarted() { watcher = .watching }
    func watcherStopped() { watcher = .stopped }
    func processSucceeded() { lastProcessFailure = nil }
    func processFailed(_ error: any Error, at: Date) { lastProcessFailure = (at, "\(error)") }

    func scheduled(_ job: String, next: Date) {
        nextRuns[job] = next
        let schedule = ServiceSchedule(nextRuns: nextRuns.mapValues { Instant.format($0) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Only a convenience for `gateway status`: a failed write costs nothing else.
        try? encoder.encode(schedule).write(to: home.serviceState, options: .atomic)
    }

    /// The service has stopped: its schedule no longer holds.
    func clear() {
        try? FileManager.default.removeItem(at: home.serviceState)
    }
}
