import Gateway
import Logging

extension Logger {
    /// One line per inbox file, invoice and file sent, with their ids.
    func log(_ event: GatewayEvent) {
        switch event {
        case .file(let name, let sha256, let outcome, let accepted, let refused, let reason):
            var metadata: Logger.Metadata = ["file": "\(name)", "outcome": "\(outcome)", "documentsAccepted": "\(accepted)", "documentsRefused": "\(refused)"]
            if let sha256 { metadata["sha256"] = "\(sha256)" }
            if let reason { metadata["reason"] = "\(reason)" }
            log(level: outcome == "accepted" ? .info : .warning, "inbox file taken", metadata: metadata)
        case .published(let invoice, let customer, let method, let formats, let files):
            info("invoice published", metadata: [
                "invoice": "\(invoice)", "customer": "\(customer)", "method": "\(method ?? "none")",
                "formats": "\(formats.joined(separator: " "))", "files": "\(files.joined(separator: " "))",
            ])
        case .publishFailed(let invoice, let reason):
            error("invoice not published", metadata: ["invoice": "\(invoice)", "reason": "\(reason)"])
        case .delivered(let destination, let file, let invoice, let placement, let bytes, let alreadyThere):
            info(alreadyThere ? "file found delivered" : "file delivered", metadata: [
                "destination": "\(destination)", "file": "\(file)", "invoice": "\(invoice ?? "none")", "to": "\(placement)", "bytes": "\(bytes)",
            ])
        case .sendFailed(let destination, let file, let invoice, let reason):
            warning("file not delivered", metadata: [
                "destination": "\(destination)", "file": "\(file)", "invoice": "\(invoice ?? "none")", "reason": "\(reason)",
            ])
        }
    }
}
