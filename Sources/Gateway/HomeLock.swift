import Foundation
import GatewayCore
#if canImport(Glibc)
import Glibc
#endif

/// Said when another gateway command holds the home longer than this one would wait.
public struct HomeBusy: Error, CustomStringConvertible {
    public let home: String
    public let waited: Duration
    /// What the holder wrote into the lock file: its pid, command and start.
    public let holder: String?
    /// What was asked for: `gateway process`, `gateway run`, ...
    public var command = ""
    /// The holder is `gateway run`, which keeps the home for its whole life.
    public var byService: Bool { holder?.contains(HomeLock.serviceCommand) == true }
    public var description: String {
        guard byService else {
            return "the gateway home \(home) is busy: another gateway command holds it" + (holder.map { " (\($0))" } ?? "")
                + "; waited \(waited.components.seconds) s (lockWaitSeconds in gateway.yml). Try again when it has finished."
        }
        if command == "run" {
            return "a gateway service already runs on \(home) (\(holder!)); one service per home. Stop it first (systemctl stop, or SIGTERM to its pid)."
        }
        if ["process", "push"].contains(command) {
            return "a gateway service runs on \(home) (\(holder!)) and does this work itself: `gateway \(command)` is not needed while it runs. "
                + "Stop the service first to run it by hand."
        }
        return "a gateway service runs on \(home) (\(holder!)); `gateway \(command)` changes the home and cannot run beside it: stop the service first."
    }
}

/// One run at a time per home: an exclusive `flock` on `.gateway.lock` in the home, taken by
/// every command that changes the ledger or the folders, and released when the lock is
/// dropped (or when the process dies, which the kernel sees to: no stale lock survives
/// `kill -9`). Commands that only read never take it; SQLite's WAL lets them read while a
/// run writes.
public final class HomeLock {
    public static let fileName = ".gateway.lock"
    static let serviceCommand = "`gateway run`"
    private let descriptor: Int32

    /// Takes the lock, waiting up to `timeout` for a holder to finish.
    public static func acquire(_ home: GatewayHome, command: String, timeout: Duration,
                               clock: ContinuousClock = ContinuousClock()) throws -> HomeLock {
        let path = home.root.appendingPathComponent(fileName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                NSLocalizedDescriptionKey: "cannot open the home's lock file \(path): \(String(cString: strerror(errno)))"])
        }
        let deadline = clock.now.advanced(by: timeout)
        // flock(2) has no time-out of its own; a short, growing pause between tries bounds the wait.
        var pause = Duration.milliseconds(10)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            // The service never lets go, so waiting for it would only delay the answer.
            guard errno == EWOULDBLOCK || errno == EINTR, clock.now < deadline, holder?.contains(serviceCommand) != true else {
                close(descriptor)
                throw HomeBusy(home: home.root.path, waited: timeout, holder: holder?.isEmpty == false ? holder : nil, command: command)
            }
            Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
            pause = min(pause * 2, .milliseconds(200))
        }
        let note = "pid \(getpid()), `gateway \(command)`, since \(Instant.format(Date()))\n"
        _ = ftruncate(descriptor, 0)
        _ = note.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return HomeLock(descriptor: descriptor)
    }

    /// What the running `gateway run` wrote into the lock ("pid 4711, `gateway run`, since
    /// ..."), or nil when no service holds the home. Takes nothing: a probe with a shared lock
    /// that is let go at once.
    public static func service(of home: GatewayHome) -> String? {
        let path = home.root.appendingPathComponent(fileName).path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(descriptor, LOCK_UN)
            return nil
        }
        let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return holder?.contains(serviceCommand) == true ? holder : nil
    }

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit {
        _ = ftruncate(descriptor, 0)
        close(descriptor)
    }
}

/// What `gateway run` keeps in the home's `.gateway-service.json` for `gateway status`: when
/// each of its scheduled jobs runs next (ISO 8601), by job name (`push pagero`, `reminders`, ...).
public struct ServiceSchedule: Codable, Sendable, Equatable {
    public var nextRuns: [String: String]
    public init(nextRuns: [String: String]) { self.nextRuns = nextRuns }

    /// The schedule the running service wrote, or nil when there is none to read.
    public static func read(_ home: GatewayHome) -> ServiceSchedule? {
        guard let data = try? Data(contentsOf: home.serviceState) else { return nil }
        return try? JSONDecoder().decode(ServiceSchedule.self, from: data)
    }
}
