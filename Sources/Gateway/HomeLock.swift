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
    public var description: String {
        "the gateway home \(home) is busy: another gateway command holds it" + (holder.map { " (\($0))" } ?? "")
            + "; waited \(waited.components.seconds) s (lockWaitSeconds in gateway.yml). Try again when it has finished."
    }
}

/// One run at a time per home: an exclusive `flock` on `.gateway.lock` in the home, taken by
/// every command that changes the ledger or the folders, and released when the lock is
/// dropped (or when the process dies, which the kernel sees to: no stale lock survives
/// `kill -9`). Commands that only read never take it; SQLite's WAL lets them read while a
/// run writes.
public final class HomeLock {
    public static let fileName = ".gateway.lock"
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
            guard errno == EWOULDBLOCK || errno == EINTR, clock.now < deadline else {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                close(descriptor)
                throw HomeBusy(home: home.root.path, waited: timeout, holder: holder?.isEmpty == false ? holder : nil)
            }
            Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
            pause = min(pause * 2, .milliseconds(200))
        }
        let note = "pid \(getpid()), `gateway \(command)`, since \(Instant.format(Date()))\n"
        _ = ftruncate(descriptor, 0)
        _ = note.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return HomeLock(descriptor: descriptor)
    }

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit {
        _ = ftruncate(descriptor, 0)
        close(descriptor)
    }
}
