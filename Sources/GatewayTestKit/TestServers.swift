import Foundation
import GatewayCore
#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH server on a free loopback port (scripts/sftp-server); no test mocks SFTP.
public final class TestSFTPServer: @unchecked Sendable {
    public let directory: URL
    public var values: [String: String] = [:]
    public var port: Int { Int(values["port"]!)! }
    public var root: String { values["root"]! }

    public static let isAvailable = FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")

    public init?() throws {
        guard Self.isAvailable else { return nil }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sftp-\(UUID().uuidString.prefix(8))")
        let output = try Self.script("start", directory)
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
        }
    }

    deinit { _ = try? Self.script("kill", directory) }

    public func kill() throws { _ = try Self.script("kill", directory) }
    public func restart() throws { _ = try Self.script("restart", directory) }

    @discardableResult
    public static func script(_ action: String, _ directory: URL) throws -> String {
        try Subprocess.run(repository.appendingPathComponent("scripts/sftp-server").path, [action, directory.path]).output
    }

    /// A destination block for gateway.yml.
    public func destination(_ name: String = "pagero", folder: String = "pagero", port: Int? = nil, key: String? = nil,
                     knownHosts: String? = nil, remote: String? = nil, upload: String? = nil, attempts: Int = 2,
                     timeout: Int = 5) -> String {
        """
        destinations:
          \(name):
            host: 127.0.0.1
            port: \(port ?? self.port)
            user: \(values["user"]!)
            key: \(key ?? values["key"]!)
            knownHosts: \(knownHosts ?? values["known_hosts"]!)
            remoteDirectory: \(remote ?? root + "/" + folder)
        \(upload.map { "    uploadDirectory: \($0)" } ?? "")
            outbox: \(folder)
            connectTimeout: \(timeout)
            timeout: \(timeout)
            retry: {attempts: \(attempts), initialDelay: 0, maxDelay: 0}
        """
    }
}

/// A real SMTP server (aiosmtpd, scripts/smtp-server) on loopback: a STARTTLS port with login
/// and a plain one, both keeping every message in a Maildir.
public final class TestSMTPServer: @unchecked Sendable {
    public static let isAvailable = (try? Subprocess.run("/usr/bin/env", ["python3", "-c", "import aiosmtpd"]))?.status == 0
        || (try? Subprocess.run("/usr/bin/env", ["pip", "install", "-q", "aiosmtpd"]))?.status == 0

    public let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString.prefix(8))")
    public var values: [String: String] = [:]

    public init() throws {
        let output = try Subprocess.run(repository.appendingPathComponent("scripts/smtp-server").path, ["start", directory.path]).output
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
        }
    }

    deinit { stop() }

    public func stop() { _ = try? Subprocess.run(repository.appendingPathComponent("scripts/smtp-server").path, ["stop", directory.path]) }

    public var startTLSPort: Int { Int(values["starttls_port"]!)! }
    public var plainPort: Int { Int(values["plain_port"]!)! }

    /// The `email:` section of gateway.yml for this server.
    public func settings(port: Int? = nil, passwordEnv: String, tls: Bool = true, attempts: Int = 2) -> String {
        """
        email:
          relay: {host: 127.0.0.1, port: \(port ?? (tls ? startTLSPort : plainPort)), security: \(tls ? "starttls" : "none"), \
        \(tls ? "user: gateway, passwordEnv: \(passwordEnv), caFile: \(values["cert"]!), " : "")connectTimeout: 3, timeout: 10}
          from: "Test & Söner AB <faktura@test.example>"
          replyTo: ekonomi@test.example
          retry: {attempts: \(attempts), initialDelay: 0, maxDelay: 0}
        """
    }

    /// The messages received: their envelopes (messages.jsonl) and bytes.
    public func received() throws -> [(recipients: [String], peerPort: Int, bytes: Data)] {
        guard let text = try? String(contentsOfFile: values["messages"]!, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let peer = entry["peer"] as! [Any]
            return (entry["rcpt_tos"] as! [String], peer[1] as! Int, try Data(contentsOf: URL(fileURLWithPath: entry["path"] as! String)))
        }
    }
}

/// Reads a message back with Python's own e-mail parser: what a mail program would see.
public func parsedMessage(_ bytes: Data) throws -> [String: Any] {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("message-\(UUID().uuidString).eml")
    try bytes.write(to: file)
    let script = """
    import email, email.policy, hashlib, json, sys
    m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
    parts = [{'type': p.get_content_type(), 'name': p.get_filename(),
              'sha256': hashlib.sha256(p.get_payload(decode=True) or b'').hexdigest(),
              'text': p.get_content() if p.get_content_maintype() == 'text' else None} for p in m.walk() if not p.is_multipart()]
    print(json.dumps({'subject': m['subject'], 'to': m['to'], 'from': m['from'], 'replyTo': m['reply-to'],
                      'messageID': m['message-id'], 'date': m['date'], 'parts': parts, 'defects': len(m.defects)}))
    """
    let run = try Subprocess.run("/usr/bin/env", ["python3", "-c", script, file.path])
    return try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as! [String: Any]
}

/// The PDF queue scripts/print-server sets up (CUPS with cups-pdf); CI starts it.
public enum TestPrinter {
    public static let queue = "gateway-pdf"
    public static let output = URL(fileURLWithPath: "/var/spool/cups-pdf/gateway")
    public static let isAvailable = (try? Subprocess.run("/usr/bin/lpstat", ["-p", queue]))?.status == 0
}

extension TestSMTPServer {
    /// Points a home's relay at this server, its password in an environment variable of its own.
    public func serve(_ home: URL) throws {
        let variable = "GATEWAY_TEST_SMTP_\(UUID().uuidString.prefix(8))"
        setenv(variable, "s3cret-test-pw", 1)
        try addSettings(settings(passwordEnv: variable), to: home)
    }
}

/// A loopback port that takes connections and never says a word: a server that hangs, for
/// the time-outs and for what must not wait behind them.
public final class SilentServer: @unchecked Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // The kernel completes the handshakes into the backlog; nobody ever accepts or answers.
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot listen on loopback: \(String(cString: strerror(errno)))"])
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// A loopback port nothing listens on (the kernel's choice, let go at once).
public func freeLoopbackPort() throws -> Int { try SilentServer().port }

/// `GET url` through Python's standard library (no HTTP client is linked into the tests): the
/// status code and the body.
public func httpGet(_ url: String) throws -> (status: Int, body: String) {
    let script = """
    import sys, urllib.request, urllib.error
    try:
        r = urllib.request.urlopen(sys.argv[1], timeout=30); code, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    sys.stdout.write(str(code) + "\\n" + body.decode())
    """
    let result = try Subprocess.run("/usr/bin/python3", ["-c", script, url])
    let lines = result.output.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    return (Int(lines.first ?? "") ?? 0, lines.count > 1 ? String(lines[1]) : "")
}
