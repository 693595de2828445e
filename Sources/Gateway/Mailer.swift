import Checksums
import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger
import Rendering

/// Delivers the invoice e-mails in `outbox/email/` through the SMTP relay: one session for the
/// run (several messages over one connection), each message recorded as started before it
/// goes and as delivered, with the relay's reply, once the relay has accepted it (D4). A
/// refused recipient or login fails that message (D5); an unreachable relay or a 4xx reply is
/// tried again with the backoff of `email.retry`.
struct Mailer {
    /// The name deliveries by e-mail are recorded under.
    static let destination = "email"

    let home: GatewayHome
    let ledger: any Ledger
    let configuration: GatewayConfiguration
    let catalog: MappingCatalog
    let clock: any GatewayClock
    var sleep: (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }
    var random: () -> Double = { Double.random(in: 0...1) }
    var environment: [String: String] = ProcessInfo.processInfo.environment

    var folder: URL { home.outbox.appendingPathComponent(configuration.outboxFolders[DistributionMethod.email.rawValue] ?? "email") }

    func run(selection: Pusher.Selection, _ summary: inout PushSummary) throws {
        let files = try Pusher.files(in: folder, destination: Self.destination, selection: selection, home: home, ledger: ledger)
        guard !files.isEmpty else { return }
        guard let settings = configuration.email else {
            summary.errors.append("\(files.count) e-mail(s) wait in \(home.relative(folder))/: gateway.yml has no email relay (email: relay: ...)")
            return
        }
        var relay = settings.relay
        if let variable = settings.passwordEnv {
            guard let password = environment[variable], !password.isEmpty else {
                for file in files { try fail(file, reason: "the relay's password is read from the environment variable \(variable), which is not set", &summary) }
                return
            }
            relay.password = password
        }
        var session: SMTPSession?
        var relayDown: SMTPError?
        for file in files {
            let path = home.relative(file)
            let earlier = try ledger.read { try $0.delivery(destination: Self.destination, path: path) }
            if earlier?.state == .delivered {
                try Pusher.moveToSent(file, home: home, ledger: ledger)
                continue
            }
            if earlier?.state == .started, case .pending = selection {
                // A run stopped between handing the message over and recording the relay's
                // answer: it may have gone. Sending it again is a person's decision.
                try fail(file, reason: "a run stopped while this message was being sent, so the relay may already have it; `gateway send N` sends it again", &summary)
                continue
            }
            if let relayDown {
                try fail(file, reason: relayDown.description, &summary)
                continue
            }
            let bytes = try [UInt8](Data(contentsOf: file))
            guard let envelope = Envelope(bytes) else {
                try fail(file, reason: "the file is not an e-mail the gateway wrote (no From:, To: or Message-ID: header)", &summary)
                continue
            }
            let invoice = try ledger.read { try $0.invoiceNumber(forFile: path) }
            let started = DeliveryRecord(destination: Self.destination, path: path, invoiceNumber: invoice, remotePath: envelope.to,
                                         size: bytes.count, sha256: SHA256.hex(bytes), state: .started,
                                         attempts: (earlier?.attempts ?? 0) + 1, error: nil, at: clock.now)
            try ledger.write { try $0.recordSendStarted(started, triedBefore: earlier != nil, at: started.at) }
            var attempt = 1
            while true {
                let reply: String
                do throws(SMTPError) {
                    if session == nil { session = try SMTPSession(relay) }
                    reply = try session!.send(from: envelope.from, to: [envelope.to], message: bytes)
                } catch {
                    session = nil
                    if error.isTransient, attempt < settings.retry.attempts {
                        attempt += 1
                        sleep(settings.retry.delay(beforeAttempt: attempt, jitter: random()))
                        continue
                    }
                    if error.kind == .unreachable || error.kind == .tls || error.kind == .authentication { relayDown = error }
                    try fail(file, reason: error.description + (attempt > 1 ? " (after \(attempt) attempts)" : ""), &summary)
                    break
                }
                try delivered(file, started, reply: reply, messageID: envelope.messageID, relay: relay)
                summary.delivered += 1
                summary.bytes += UInt64(bytes.count)
                break
            }
        }
    }

    /// D4: delivered, with the relay's reply and the Message-ID in the history; the message
    /// moves to `sent/`, where the home keeps it as it was sent.
    private func delivered(_ file: URL, _ started: DeliveryRecord, reply: String, messageID: String, relay: SMTPRelay) throws {
        let now = clock.now
        var record = started
        record.state = .delivered
        record.at = now
        let sent = try ledger.write { tx in
            try tx.recordDelivered(record, sentPath: home.relative(Pusher.sentLocation(of: file)),
                                   how: "e-mail through \(relay.host):\(relay.port), Message-ID \(messageID); the relay said: \(reply)",
                                   to: record.remotePath)
        }
        try FileMoves.rename(file, to: Pusher.sentLocation(of: file))
        let exporter = SentExport(home: home, ledger: ledger, catalog: catalog, configuration: configuration, clock: clock)
        for invoice in sent { try exporter.run(invoice) }
    }

    /// D5: the invoice goes back to its earlier status with the error in its history.
    private func fail(_ file: URL, reason: String, _ summary: inout PushSummary) throws {
        try Pusher.recordFailure(file, destination: Self.destination, reason: reason, home: home, ledger: ledger, at: clock.now)
        summary.failed += 1
        summary.errors.append("\(Self.destination): \(file.lastPathComponent): \(reason)")
    }
}

/// The sender, recipient and Message-ID of a message the gateway wrote, from its headers.
struct Envelope {
    let from: String
    let to: String
    let messageID: String

    init?(_ bytes: [UInt8]) {
        var headers: [String: String] = [:]
        let head = String(decoding: bytes.prefix(16 << 10), as: UTF8.self)
        let block = head.components(separatedBy: "\r\n\r\n").first ?? ""
        // Unfold first (RFC 5322 2.2.3): a long encoded name continues on lines that start with a space.
        let unfolded = block.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ")
        for line in unfolded.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon]).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        func address(_ value: String?) -> String? {
            guard let value else { return nil }
            return EmailSettings.split(value).address
        }
        guard let from = address(headers["from"]), let to = address(headers["to"]), let id = headers["message-id"] else { return nil }
        self.from = from
        self.to = to
        messageID = id
    }
}
