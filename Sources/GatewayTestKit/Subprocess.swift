import Foundation
import GatewayCore
#if canImport(Glibc)
import Glibc
#endif

/// What this machine offers the tests that need more than Swift; a test that needs one is
/// skipped visibly with the reason (`.enabled(if:)`), never passed by returning early.
public enum Probes {
    public static let haveSharedReference = FileManager.default.fileExists(atPath: sharedReference.path)

    public static let haveOfficialValidator = FileManager.default.fileExists(atPath: validatorTool.path)
        && (try? Subprocess.run("/usr/bin/env", ["python3", "-c", "import saxonche"]))?.status == 0

    /// chattr +i on the temporary folder's file system (root on ext4 and the like).
    public static let canMakeImmutable: Bool = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)")
        guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else { return false }
        defer { try? FileManager.default.removeItem(at: folder) }
        guard (try? Subprocess.run("/usr/bin/chattr", ["+i", folder.path]))?.status == 0 else { return false }
        return (try? Subprocess.run("/usr/bin/chattr", ["-i", folder.path]))?.status == 0
    }()

    /// Mounting a small tmpfs (root with CAP_SYS_ADMIN).
    public static let canMountTmpfs: Bool = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)")
        guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else { return false }
        defer { try? FileManager.default.removeItem(at: folder) }
        guard (try? Subprocess.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", folder.path]))?.status == 0 else { return false }
        return (try? Subprocess.run("/usr/bin/umount", [folder.path]))?.status == 0
    }()
}

/// A child process started with posix_spawn and reaped with waitpid. Foundation's Process
/// waits on a run loop and a SIGCHLD dispatch source, which crashed when several tests ran
/// processes at once; this is all the tests need.
public struct Subprocess {
    public let pid: pid_t
    private let output: Int32?

    /// Starts `path` with `arguments`; stdout is captured when `capture`, else discarded.
    public init(_ path: String, _ arguments: [String], capture: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if capture {
            // Close-on-exec: only the dup2 onto 1 reaches the child, so a daemon it starts cannot hold the pipe open.
            guard pipe(&pipeEnds) == 0 else { throw CocoaError(.fileReadUnknown) }
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, nil, argv, environ)
        if capture { close(pipeEnds[1]) }
        guard result == 0 else {
            if capture { close(pipeEnds[0]) }
            throw CocoaError(.executableLoad, userInfo: [NSFilePathErrorKey: path])
        }
        pid = child
        output = capture ? pipeEnds[0] : nil
    }

    /// Reads all output (when captured) and waits for the exit; returns the exit status.
    @discardableResult
    public func wait() -> (status: Int32, output: String) {
        var text = Data()
        if let output {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(output, &buffer, buffer.count)
                if n <= 0 { break }
                text.append(contentsOf: buffer[0..<n])
            }
            close(output)
        }
        var status: Int32 = 0
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        return ((status >> 8) & 0xff, String(decoding: text, as: UTF8.self))
    }

    /// The child's own resource use once it has been waited for (ru_maxrss: its peak, in KiB).
    public var usage: rusage {
        get { usageBox.value }
        nonmutating set { usageBox.value = newValue }
    }
    private let usageBox = UsageBox()
    private final class UsageBox: @unchecked Sendable { var value = rusage() }

    /// Whether the child is still running (without reaping it).
    public var isRunning: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == 0
    }

    @discardableResult
    public static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess(path, arguments, capture: true).wait()
    }
}
