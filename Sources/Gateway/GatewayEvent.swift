/// What the gateway did, item by item, told as it is committed to the ledger: one event per
/// inbox file taken, invoice published or not, and file delivered or not. The service logs each
/// and counts them for its metrics. No event carries a secret: reasons are those the ledger
/// keeps in the invoices' history.
public enum GatewayEvent: Sendable, Equatable {
    /// An inbox file was taken: archived, or kept in refused/ or duplicates/ with the reason.
    /// `outcome` is `accepted`, `refused-in-part`, `refused` or `duplicate`.
    case file(name: String, sha256: String?, outcome: String, documentsAccepted: Int, documentsRefused: Int, reason: String?)
    /// An invoice's artefacts are in the outbox, made by these mappings (`peppol-bis3`, `pdf`, ...).
    case published(invoice: String, customer: String, method: String?, formats: [String], files: [String])
    /// Rendering or validation failed: nothing of the invoice was published.
    case publishFailed(invoice: String, reason: String)
    /// A file reached its destination (`email`, `printer`, an SFTP or folder destination).
    case delivered(destination: String, file: String, invoice: String?, placement: String, bytes: UInt64, alreadyThere: Bool)
    /// A file did not reach its destination and waits for `gateway send` or the next try.
    case sendFailed(destination: String, file: String, invoice: String?, reason: String)
}

public typealias GatewayEvents = @Sendable (GatewayEvent) -> Void
