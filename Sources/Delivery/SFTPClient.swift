import CLibSSH2
import Foundation
import GatewayCore
#if canImport(Glibc)
import Glibc
#endif

/// Where and how to reach one SFTP server.
public struct SFTPEndpoint: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var privateKey: String
    /// Read from an environment variable or a file by the caller; never from gateway.yml.
    public var passphrase: String?
    public var knownHosts: String
    public var connectTimeout: TimeInterval
    public var ioTimeout: TimeInterval

    public init(host: String, port: Int, user: String, privateKey: String, passphrase: String? = nil, knownHosts: String,
                connectTimeout: TimeInterval = 10, ioTimeout: TimeInterval = 30) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKey = privateKey
        self.passphrase = passphrase
        self.knownHosts = knownHosts
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
    }

    /// How known_hosts names a host on a non-standard port.
    public var knownHostsName: String { port == 22 ? host : "[\(host)]:\(port)" }
}

public enum SFTPError: Error, Sendable, CustomStringConvertible {
    case connection(String)
    case timeout(String)
    case hostKeyUnknown(host: String, fingerprint: String)
    case hostKeyChanged(host: String, fingerprint: String)
    case authentication(String)
    case remote(operation: String, path: String, code: UInt, message: String)
    case session(String)
    /// A file on this side that could not be read; the connection is fine.
    case localFile(String)

    /// The connection cannot be used any more (as opposed to one file's trouble).
    public var breaksConnection: Bool {
        switch self {
        case .connection, .timeout, .session: true
        default: false
        }
    }

    /// Worth another try later: the network or the server may come back.
    public var isTransient: Bool {
        switch self {
        case .connection, .timeout, .session: true
        case .remote(_, _, let code, _): code == UInt(LIBSSH2_FX_FAILURE) || code == UInt(LIBSSH2_FX_CONNECTION_LOST) || code == UInt(LIBSSH2_FX_NO_CONNECTION)
        case .hostKeyUnknown, .hostKeyChanged, .authentication, .localFile: false
        }
    }

    /// What libssh2 says went wrong with `operation` on `path`: the SFTP status the server
    /// answered with (`status`, or the channel's last one), otherwise the session's own error.
    static func last(_ operation: String, _ path: String = "", session: OpaquePointer?, sftp: OpaquePointer?,
                     status: UInt? = nil) -> SFTPError {
        if let sftp, status != nil || libssh2_session_last_errno(session) == LIBSSH2_ERROR_SFTP_PROTOCOL {
            let status = status ?? libssh2_sftp_last_error(sftp)
            return .remote(operation: operation, path: path, code: status, message: statusText(status))
        }
        let doing = path.isEmpty ? operation : "\(operation) \(path)"
        guard let session else { return .session(doing) }
        let (code, text) = lastMessage(session)
        return code == LIBSSH2_ERROR_TIMEOUT ? .timeout("\(doing): \(text)") : .session("\(doing): \(text)")
    }

    /// Another file already has the final name: never overwritten.
    public static func nameTaken(_ path: String, size: UInt64) -> SFTPError {
        .remote(operation: "uploading", path: path, code: UInt(LIBSSH2_FX_FILE_ALREADY_EXISTS),
                message: "a file of \(size) bytes already has that name on the server; not overwriting it")
    }

    /// The session's last error code and its text.
    static func lastMessage(_ session: OpaquePointer) -> (Int32, String) {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        return (code, message.map { String(cString: $0) } ?? "error \(code)")
    }

    static func statusText(_ status: UInt) -> String {
        switch status {
        case UInt(LIBSSH2_FX_NO_SUCH_FILE): "no such file"
        case UInt(LIBSSH2_FX_PERMISSION_DENIED): "permission denied"
        case UInt(LIBSSH2_FX_FAILURE): "failure"
        case UInt(LIBSSH2_FX_NO_SUCH_PATH): "no such path"
        case UInt(LIBSSH2_FX_FILE_ALREADY_EXISTS): "file already exists"
        case UInt(LIBSSH2_FX_WRITE_PROTECT): "write protected"
        case UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM), UInt(LIBSSH2_FX_QUOTA_EXCEEDED): "no space left"
        default: "status \(status)"
        }
    }

    public var description: String {
        switch self {
        case .connection(let text): return "connection failed: \(text)"
        case .timeout(let text): return "timed out: \(text)"
        case .hostKeyUnknown(let host, let fingerprint):
            return "the host key of \(host) is not in known_hosts (offered key SHA256:\(fingerprint)); if that is the server's key, run `gateway sftp trust DESTINATION --add`"
        case .hostKeyChanged(let host, let fingerprint):
            return "the host key of \(host) has CHANGED (offered key SHA256:\(fingerprint)); refusing to connect. If the operator announced a new key, remove the old line from known_hosts and run `gateway sftp trust DESTINATION --add`"
        case .authentication(let text):
            return "authentication refused: \(text) (use an ed25519 or ECDSA key: libssh2 1.10 signs RSA keys with SHA-1 only, which OpenSSH 9 refuses)"
        case .remote(let operation, let path, let code, let message): return "\(operation) \(path) failed: \(message) (SFTP status \(code))"
        case .session(let text): return "SSH session failed: \(text)"
        case .localFile(let text): return text
        }
    }
}

/// The host key a server offered, as a known_hosts line and its SHA-256 fingerprint.
public struct OfferedHostKey: Sendable {
    public var knownHostsLine: String
    public var fingerprint: String
}

/// One SSH connection with an SFTP channel over libssh2. Not shareable between threads
/// (libssh2 sessions are not); a pusher opens one per destination and sends every file over it.
public final class SFTPConnection {
    private let endpoint: SFTPEndpoint
    private var socket: Int32 = -1
    private var session: OpaquePointer?

    /// Set once the transport has failed: closing then skips the goodbyes, which would each
    /// wait out the time-out on a dead connection.
    var broken = false

    var sessionPointer: OpaquePointer? { session }
    var socketDescriptor: Int32 { socket }
    var ioTimeout: TimeInterval { endpoint.ioTimeout }
    var sftpChannel: OpaquePointer? { sftp }
    private var sftp: OpaquePointer?

    private static let initialise: Void = {
        libssh2_init(0)
        // A server that dies mid-write must give an error, not kill the gateway with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
    }()

    /// Connects, checks the host key strictly against known_hosts and authenticates.
    public init(_ endpoint: SFTPEndpoint) throws(SFTPError) {
        SFTPConnection.initialise
        self.endpoint = endpoint
        do throws(SFTPError) {
            try connectSocket()
            try startSession()
            let offered = try offeredKey()
            try checkHostKey(offered)
            try authenticate()
            guard let channel = libssh2_sftp_init(session) else { throw lastError("starting the SFTP subsystem") }
            sftp = channel
        } catch {
            close()
            throw error
        }
    }

    /// Connects only far enough to read the host key the server offers (for `sftp trust`).
    public static func offeredHostKey(_ endpoint: SFTPEndpoint) throws(SFTPError) -> OfferedHostKey {
        SFTPConnection.initialise
        let probe = SFTPConnection(unconnected: endpoint)
        defer { probe.close() }
        try probe.connectSocket()
        try probe.startSession()
        return try probe.offeredKey()
    }

    private init(unconnected endpoint: SFTPEndpoint) { self.endpoint = endpoint }

    deinit { close() }

    public func close() {
        if let sftp, !broken { libssh2_sftp_shutdown(sftp) }
        sftp = nil
        if let session {
            if !broken { libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "bye", "") }
            libssh2_session_free(session)
        }
        session = nil
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
    }

    // MARK: Connecting

    private func connectSocket() throws(SFTPError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result) == 0, let first = result else {
            throw .connection("cannot resolve \(endpoint.host)")
        }
        defer { freeaddrinfo(result) }
        let fd = Glibc.socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw .connection("cannot create a socket: \(String(cString: strerror(errno)))") }
        socket = fd
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw .connection("\(endpoint.host):\(endpoint.port): \(String(cString: strerror(errno)))") }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(endpoint.connectTimeout * 1000))
            guard ready > 0 else { throw .timeout("connecting to \(endpoint.host):\(endpoint.port) took longer than \(Int(endpoint.connectTimeout)) s") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw .connection("\(endpoint.host):\(endpoint.port): \(String(cString: strerror(error)))") }
        }
        _ = fcntl(fd, F_SETFL, flags)
        // SFTP is request and answer: without this, Nagle's algorithm holds back small requests.
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    private func startSession() throws(SFTPError) {
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else { throw .session("libssh2 could not create a session") }
        self.session = session
        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, Int(endpoint.ioTimeout * 1000))
        guard libssh2_session_handshake(session, socket) == 0 else { throw lastError("the SSH handshake with \(endpoint.host):\(endpoint.port)") }
    }

    private func offeredKey() throws(SFTPError) -> OfferedHostKey {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(session, &length, &type) else { throw .session("the server offered no host key") }
        let blob = Data(bytes: key, count: length)
        guard let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256) else { throw .session("cannot hash the host key") }
        let fingerprint = Data(bytes: hash, count: 32).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let name: String
        switch type {
        case LIBSSH2_HOSTKEY_TYPE_ED25519: name = "ssh-ed25519"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: name = "ecdsa-sha2-nistp256"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: name = "ecdsa-sha2-nistp384"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: name = "ecdsa-sha2-nistp521"
        case LIBSSH2_HOSTKEY_TYPE_RSA: name = "ssh-rsa"
        default: name = "ssh-dss"
        }
        return OfferedHostKey(knownHostsLine: "\(endpoint.knownHostsName) \(name) \(blob.base64EncodedString())", fingerprint: fingerprint)
    }

    /// Strict host-key checking: only a key known_hosts has for this host and port is accepted.
    private func checkHostKey(_ offered: OfferedHostKey) throws(SFTPError) {
        guard let hosts = libssh2_knownhost_init(session) else { throw .session("cannot read known hosts") }
        defer { libssh2_knownhost_free(hosts) }
        if FileManager.default.fileExists(atPath: endpoint.knownHosts) {
            guard libssh2_knownhost_readfile(hosts, endpoint.knownHosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) >= 0 else {
                throw .session("known_hosts file \(endpoint.knownHosts) could not be read")
            }
        }
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(session, &length, &type) else { throw .session("the server offered no host key") }
        var found: UnsafeMutablePointer<libssh2_knownhost>?
        let check = libssh2_knownhost_checkp(hosts, endpoint.host, Int32(endpoint.port), key, length,
                                             LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW, &found)
        switch check {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH: return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH: throw .hostKeyChanged(host: endpoint.knownHostsName, fingerprint: offered.fingerprint)
        default: throw .hostKeyUnknown(host: endpoint.knownHostsName, fingerprint: offered.fingerprint)
        }
    }

    private func authenticate() throws(SFTPError) {
        guard FileManager.default.isReadableFile(atPath: endpoint.privateKey) else {
            throw .authentication("the key file \(endpoint.privateKey) cannot be read")
        }
        let result = libssh2_userauth_publickey_fromfile_ex(session, endpoint.user, UInt32(endpoint.user.utf8.count), nil,
                                                            endpoint.privateKey, endpoint.passphrase)
        guard result == 0 else {
            let text = session.map { SFTPError.lastMessage($0).1 } ?? "code \(result)"
            throw .authentication("\(endpoint.user)@\(endpoint.host) with \(endpoint.privateKey): \(text)")
        }
    }

    private func lastError(_ operation: String, _ path: String = "") -> SFTPError {
        .last(operation, path, session: session, sftp: sftp)
    }

    // MARK: Files

    /// The size of a remote file, or nil when it does not exist.
    public func size(of path: String) throws(SFTPError) -> UInt64? {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let result = libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes)
        if result == 0 { return attributes.filesize }
        let error = lastError("stat", path)
        if case .remote(_, _, let code, _) = error, code == UInt(LIBSSH2_FX_NO_SUCH_FILE) || code == UInt(LIBSSH2_FX_NO_SUCH_PATH) { return nil }
        throw error
    }

    /// The names in a remote directory (without . and ..).
    public func list(_ directory: String) throws(SFTPError) -> [String] {
        guard let handle = libssh2_sftp_open_ex(sftp, directory, UInt32(directory.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR) else {
            throw lastError("opening directory", directory)
        }
        defer { libssh2_sftp_close_handle(handle) }
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 1024)
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        while true {
            let count = libssh2_sftp_readdir_ex(handle, &buffer, buffer.count, nil, 0, &attributes)
            if count <= 0 { break }
            let name = String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes an empty file (a done-marker).
    public func touch(_ path: String) throws(SFTPError) {
        let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
        guard let handle = libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), flags, 0o644, LIBSSH2_SFTP_OPENFILE) else {
            throw lastError("creating", path)
        }
        libssh2_sftp_close_handle(handle)
    }
}
