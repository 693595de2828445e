import CCurl
import Foundation

/// The SMTP relay e-mail goes through (`email.relay` in gateway.yml).
public struct SMTPRelay: Sendable {
    public enum Security: String, Sendable, CaseIterable {
        /// Plain connection upgraded with STARTTLS before anything else is said; refused without it.
        case starttls
        /// TLS from the first byte (SMTPS, port 465).
        case tls
        /// No encryption: only for a relay on loopback.
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var user: String?
    /// Read from the environment at start-up; never written to a log, an error or the history.
    public var password: String?
    /// A CA certificate to trust for this relay besides the system's (a relay with its own CA).
    public var caFile: String?
    public var connectTimeout: Duration
    public var timeout: Duration

    public init(host: String, port: Int, security: Security, user: String? = nil, password: String? = nil, caFile: String? = nil,
                connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self.password = password
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}

/// Why a message did not go, in words a person can act on; never with the password.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case recipientRefused = "recipient refused"
        case authentication = "login refused"
        case tls = "TLS failed"
        case unreachable = "relay unreachable"
        case refused = "message refused"
        case local = "local error"
    }

    public let kind: Kind
    public let message: String
    /// The relay's reply code, when it gave one.
    public let code: Int?

    /// Worth another try later: the relay was unreachable, timed out or answered 4xx.
    public var isTransient: Bool {
        switch kind {
        case .unreachable: true
        case .refused, .recipientRefused: (code ?? 500) < 500
        case .authentication, .tls, .local: false
        }
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// One SMTP session through libcurl: messages sent one after another reuse the connection
/// (and its TLS and login), so a batch costs one handshake, not one per e-mail.
public final class SMTPSession {
    private let relay: SMTPRelay
    private let handle: UnsafeMutableRawPointer
    private let replies = Replies()

    /// The relay's replies, collected from libcurl's debug callback (incoming lines only:
    /// what the gateway sends, its login among it, is never looked at).
    private final class Replies {
        var last = ""
        var lines: [String] = []
    }

    private final class Body {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    private static let initialised: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    public init(_ relay: SMTPRelay) throws(SMTPError) {
        guard Self.initialised, let handle = curl_easy_init() else {
            throw SMTPError(kind: .local, message: "libcurl could not be initialised", code: nil)
        }
        self.relay = relay
        self.handle = handle
        let scheme = relay.security == .tls ? "smtps" : "smtp"
        // The EHLO name: the gateway's host, as relays expect a name and not "localhost".
        let url = "\(scheme)://\(relay.host):\(relay.port)/\(ProcessInfo.processInfo.hostName)"
        _ = gw_curl_set_string(handle, CURLOPT_URL, url)
        if relay.security == .starttls { _ = gw_curl_set_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }
        if let user = relay.user { _ = gw_curl_set_string(handle, CURLOPT_USERNAME, user) }
        if let password = relay.password { _ = gw_curl_set_string(handle, CURLOPT_PASSWORD, password) }
        if let caFile = relay.caFile { _ = gw_curl_set_string(handle, CURLOPT_CAINFO, caFile) }
        _ = gw_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(relay.connectTimeout.components.seconds * 1000))
        _ = gw_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(relay.timeout.components.seconds * 1000))
        _ = gw_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = gw_curl_set_long(handle, CURLOPT_UPLOAD, 1)
        _ = gw_curl_set_long(handle, CURLOPT_VERBOSE, 1)
        let collect: curl_debug_callback = { _, type, data, size, context in
            guard type == CURLINFO_HEADER_IN, let data, let context else { return 0 }
            let replies = Unmanaged<Replies>.fromOpaque(context).takeUnretainedValue()
            let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            replies.last = text
            replies.lines.append(text)
            if replies.lines.count > 50 { replies.lines.removeFirst(25) }
            return 0
        }
        _ = gw_curl_set_debug_function(handle, collect)
        _ = gw_curl_set_pointer(handle, CURLOPT_DEBUGDATA, Unmanaged.passUnretained(replies).toOpaque())
    }

    deinit { curl_easy_cleanup(handle) }

    /// Sends one message; returns the relay's reply to it (the "250 ... queued as ..." line).
    public func send(from sender: String, to recipients: [String], message: [UInt8]) throws(SMTPError) -> String {
        var list: UnsafeMutablePointer<curl_slist>?
        for recipient in recipients { list = curl_slist_append(list, "<\(recipient)>") }
        defer { curl_slist_free_all(list) }
        let body = Body(message)
        replies.last = ""
        _ = gw_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(sender)>")
        _ = gw_curl_set_list(handle, CURLOPT_MAIL_RCPT, list)
        _ = gw_curl_set_long(handle, CURLOPT_INFILESIZE_LARGE, message.count)
        let read: curl_read_callback = { buffer, size, count, context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeUnretainedValue()
            let n = min(size * count, body.bytes.count - body.offset)
            body.bytes.withUnsafeBufferPointer { bytes in
                UnsafeMutableRawPointer(buffer!).copyMemory(from: bytes.baseAddress! + body.offset, byteCount: n)
            }
            body.offset += n
            return n
        }
        _ = gw_curl_set_read_function(handle, read)
        _ = gw_curl_set_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(body).toOpaque())
        var errorText = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let result = errorText.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            _ = gw_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            defer { _ = gw_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, nil) }
            return withExtendedLifetime(body) { curl_easy_perform(handle) }
        }
        // The list and the body die with this call; the handle must not keep pointing at them.
        _ = gw_curl_set_list(handle, CURLOPT_MAIL_RCPT, nil)
        _ = gw_curl_set_pointer(handle, CURLOPT_READDATA, nil)
        var code = 0
        _ = gw_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &code)
        guard result == CURLE_OK else {
            let written = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let detail = written.isEmpty ? String(cString: curl_easy_strerror(result)) : written
            throw classify(result, code: code, detail: detail)
        }
        return replies.last
    }

    private func classify(_ result: CURLcode, code: Int, detail: String) -> SMTPError {
        let reply = replies.last.isEmpty ? detail : "\(detail) (the relay said: \(replies.last))"
        switch result {
        case CURLE_LOGIN_DENIED:
            return SMTPError(kind: .authentication, message: "\(relay.user ?? "no user") at \(relay.host):\(relay.port): \(reply)", code: code)
        case CURLE_USE_SSL_FAILED, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return SMTPError(kind: .tls, message: "\(relay.host):\(relay.port): \(detail)", code: nil)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING:
            return SMTPError(kind: .unreachable, message: "\(relay.host):\(relay.port): \(detail)", code: nil)
        default:
            if detail.contains("RCPT") { return SMTPError(kind: .recipientRefused, message: reply, code: code) }
            if code == 0 { return SMTPError(kind: .unreachable, message: "\(relay.host):\(relay.port): \(detail)", code: nil) }
            return SMTPError(kind: .refused, message: reply, code: code)
        }
    }
}
