import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A CUPS print queue, used through CUPS's own `lp` and `lpstat` (the cups-client package).
public struct CUPSPrinter: Sendable {
    public let queue: String

    public init(queue: String) { self.queue = queue }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Hands a PDF to the queue; returns CUPS's job id ("gateway-pdf-12"). A queue that does not
    /// exist, does not accept jobs or is stopped (where a job would wait unseen) is a failure.
    public func print(_ file: URL, title: String) throws(Failure) -> String {
        let state = try run("/usr/bin/lpstat", ["-p", queue])
        guard state.status == 0 else {
            throw Failure(description: "printer \(queue): " + Self.firstLine(state.error, else: "unknown to CUPS (lpstat -p \(queue))"))
        }
        if state.output.contains("disabled") {
            throw Failure(description: "printer \(queue) is stopped: \(Self.firstLine(state.output, else: "disabled")); start it with cupsenable \(queue)")
        }
        let job = try run("/usr/bin/lp", ["-d", queue, "-t", title, file.path])
        guard job.status == 0 else {
            throw Failure(description: "printer \(queue) refused the job: " + Self.firstLine(job.error, else: "lp exited with \(job.status)"))
        }
        guard let range = job.output.range(of: #"request id is (\S+)"#, options: .regularExpression) else {
            throw Failure(description: "printer \(queue): lp gave no job id (\(job.output))")
        }
        return String(job.output[range].split(separator: " ").last!)
    }

    private static func firstLine(_ text: String, else fallback: String) -> String {
        text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? fallback
    }

    /// Runs a command with its output and errors captured, ended after 30 s.
    private func run(_ path: String, _ arguments: [String]) throws(Failure) -> (status: Int32, output: String, error: String) {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure(description: "\(path) is missing: install CUPS's client (cups-client)")
        }
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0 else { throw Failure(description: "cannot make a pipe for \(path)") }
        guard pipe(&err) == 0 else {
            out.forEach { close($0) }
            throw Failure(description: "cannot make a pipe for \(path)")
        }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(out[1])
        close(err[1])
        defer { close(out[0]); close(err[0]) }
        guard spawned == 0 else { throw Failure(description: "cannot start \(path): \(String(cString: strerror(spawned)))") }
        // Both pipes are read by polling, so a full stderr cannot block the child.
        var output = [UInt8](), error = [UInt8]()
        var open = [out[0], err[0]]
        let deadline = Date().addingTimeInterval(30)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !open.isEmpty, Date() < deadline {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 1000) >= 0 || errno == EINTR else { break }
            for entry in fds where entry.revents != 0 {
                let n = read(entry.fd, &buffer, buffer.count)
                if n <= 0 { open.removeAll { $0 == entry.fd }; continue }
                if entry.fd == out[0] { output += buffer[0..<n] } else { error += buffer[0..<n] }
            }
        }
        if !open.isEmpty { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        guard open.isEmpty else { throw Failure(description: "\(path) did not finish in 30 s") }
        // Exited: its code; ended by a signal: not a success, whatever the bits say.
        let signal = status & 0x7f
        guard signal == 0 else { throw Failure(description: "\(path) was ended by signal \(signal)") }
        return ((status >> 8) & 0xff, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }
}

/// The printer as a transport: each PDF handed to the queue, its job id the receipt.
extension CUPSPrinter: Transport {
    public func deliver(_ parcels: [Parcel], report: (Int, Result<Receipt, TransportFailure>) throws -> Void) throws {
        for (index, parcel) in parcels.enumerated() {
            let outcome: Result<Receipt, TransportFailure>
            do throws(Failure) {
                let job = try print(parcel.file, title: parcel.title)
                outcome = .success(Receipt(placement: job, how: "printed on \(queue) as CUPS job \(job)", bytes: UInt64(LocalFile.size(of: parcel.file) ?? 0)))
            } catch {
                outcome = .failure(TransportFailure(error.description, isTransient: false))
            }
            try report(index, outcome)
        }
    }
}
