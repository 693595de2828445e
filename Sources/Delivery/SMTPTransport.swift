import Foundation

/// The SMTP relay as a transport: every message it is given over one session, kept open
/// between calls (several messages per connection); each message's sender, recipient and
/// Message-ID read from its own headers.
public final class SMTPTransport: Transport {
    public let relay: SMTPRelay
    private var session: SMTPSession?

    public init(relay: SMTPRelay) { self.relay = relay }

    public func deliver(_ parcels: [Parcel], report: (Int, Result<Receipt, TransportFailure>) throws -> Void) throws {
        for (index, parcel) in parcels.enumerated() {
            let bytes: [UInt8]
            do { bytes = try [UInt8](Data(contentsOf: parcel.file)) } catch {
                try report(index, .failure(TransportFailure("\(parcel.file.lastPathComponent) cannot be read: \(error.localizedDescription)", isTransient: false)))
                continue
            }
            guard let envelope = Envelope(bytes) else {
                try report(index, .failure(TransportFailure("the file is not an e-mail the gateway wrote (no From:, To: or Message-ID: header)",
                                                            isTransient: false)))
                continue
            }
            let reply: String
            do throws(SMTPError) {
                if session == nil { session = try SMTPSession(relay) }
                reply = try session!.send(from: envelope.from, to: [envelope.to], message: bytes)
            } catch {
                session = nil
                let failure = TransportFailure(error.description, isTransient: error.isTransient)
                // An unreachable relay or a refused login or TLS: no message can go now.
                if [.unreachable, .tls, .authentication].contains(error.kind) { throw failure }
                try report(index, .failure(failure))
                continue
            }
            try report(index, .success(Receipt(
                placement: envelope.to,
                how: "e-mail through \(relay.host):\(relay.port), Message-ID \(envelope.messageID); the relay said: \(reply)",
                recipient: envelope.to, bytes: UInt64(bytes.count))))
        }
    }
}

/// The sender, recipient and Message-ID of a message the gateway wrote, from its headers.
public struct Envelope: Sendable {
    public let from: String
    public let to: String
    public let messageID: String

    public init?(_ bytes: [UInt8]) {
        var headers: [String: String] = [:]
        let head = String(decoding: bytes.prefix(16 << 10), as: UTF8.self)
        let block = head.components(separatedBy: "\r\n\r\n").first ?? ""
        // Unfold first (RFC 5322 2.2.3): a long encoded name continues on lines that start with a space.
        let unfolded = block.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ")
        for line in unfolded.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon]).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let from = headers["from"].map(Self.address), let to = headers["to"].map(Self.address), let id = headers["message-id"] else { return nil }
        self.from = from
        self.to = to
        messageID = id
    }

    /// The address of "Name <address>" or of a bare address.
    static func address(_ value: String) -> String {
        guard let open = value.lastIndex(of: "<"), let close = value.lastIndex(of: ">"), open < close else { return value }
        return String(value[value.index(after: open)..<close])
    }
}
