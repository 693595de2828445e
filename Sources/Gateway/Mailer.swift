import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger

/// The route of the invoice e-mails in `outbox/email/`: through the SMTP relay, all of a run's
/// messages over one session, each recorded as started just before it goes and as delivered,
/// with the relay's reply, once the relay has accepted it (D4). A refused recipient or login
/// fails that message (D5); an unreachable relay or a 4xx reply is tried again with the
/// backoff of `email.retry`.
struct Mailer {
    /// The name deliveries by e-mail are recorded under.
    static let destination = "email"

    let dispatch: Dispatch
    let configuration: GatewayConfiguration
    var environment: [String: String] = ProcessInfo.processInfo.environment

    var folder: URL { dispatch.home.outbox.appendingPathComponent(configuration.outboxFolders[DistributionMethod.email.rawValue] ?? "email") }

    func run(selection: Dispatch.Selection, _ summary: inout PushSummary) throws {
        let files = try dispatch.files(in: folder, destination: Self.destination, selection: selection)
        guard !files.isEmpty else { return }
        guard let settings = configuration.email else {
            summary.errors.append("\(files.count) e-mail(s) wait in \(dispatch.home.relative(folder))/: gateway.yml has no email relay (email: relay: ...)")
            return
        }
        var relay = settings.relay
        if let variable = settings.passwordEnv {
            guard let password = environment[variable], !password.isEmpty else {
                try dispatch.fail(files, destination: Self.destination,
                                  reason: "the relay's password is read from the environment variable \(variable), which is not set", &summary)
                return
            }
            relay.password = password
        }
        let route = Dispatch.Route(
            destination: Self.destination, label: nil, retry: settings.retry, handOverOneByOne: true, recordEvery: 1,
            inDoubt: "a run stopped while this message was being sent, so the relay may already have it; `gateway send N` sends it again",
            parcel: { file, _, _ in
                // The recipient is recorded as the delivery's place before the message goes.
                let head = (try? FileHandle(forReadingFrom: file).read(upToCount: 16 << 10)).flatMap { $0 }.map { [UInt8]($0) } ?? []
                return Parcel(file: file, placement: Envelope(head)?.to ?? "", title: file.lastPathComponent)
            })
        let transport = SMTPTransport(relay: relay)
        try dispatch.run(files, route: route, selection: selection, transport: { transport }, &summary)
    }
}
