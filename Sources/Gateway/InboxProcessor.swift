import Checksums
import Foundation
import GatewayCore
import Intake
import Invoicing
import Ledger

/// What one run of intake did.
public struct IntakeSummary: Sendable, Codable {
    public var filesAccepted = 0
    public var filesPartlyRefused = 0
    public var filesRefused = 0
    public var filesDuplicate = 0
    public var documentsApplied = 0
    public var documentsUnchanged = 0
    public var documentsRefused = 0
}

/// The machine-readable reason written next to a refused file.
struct RefusalReport: Codable {
    struct Entry: Codable {
        var document: Int?
        var field: String?
        var expected: String
        var found: String?
    }
    var file: String
    var sha256: String
    var at: String
    var outcome: String
    var reason: String
    var documentsAccepted: Int
    var refused: [Entry]
}

/// Claims complete files from `inbox/`, applies their documents to the ledger in bounded
/// transactions and moves each file to `archive/`, `refused/` or `duplicates/`.
struct InboxProcessor {
    let home: GatewayHome
    let ledger: any Ledger
    let factory: InvoiceFactory
    let clock: any GatewayClock
    let reader = InboxFileReader()
    /// Documents per transaction: bounded, so memory and lock time do not grow with a batch.
    var chunkSize = 500
    var progress: (@Sendable (String) -> Void)?

    /// Files the contract says are not ready: `NAME.tmp` and `.NAME`.
    static func isReady(_ name: String) -> Bool { !name.hasPrefix(".") && !name.hasSuffix(".tmp") }

    func run() throws -> IntakeSummary {
        var summary = IntakeSummary()
        try home.createFolders()
        // Files a crashed run had claimed come first, so they finish before anything new.
        for url in try listFiles(home.processing) { try process(claimed: url, resumed: true, &summary) }
        for url in try listFiles(home.inbox) {
            let claimed = home.processing.appendingPathComponent(url.lastPathComponent)
            guard !FileManager.default.fileExists(atPath: claimed.path) else { continue }
            try FileMoves.rename(url, to: claimed)
            try process(claimed: claimed, resumed: false, &summary)
        }
        return summary
    }

    private func listFiles(_ folder: URL) throws -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter(Self.isReady).sorted().compactMap { name in
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
            return url
        }
    }

    private func process(claimed url: URL, resumed: Bool, _ summary: inout IntakeSummary) throws {
        let name = url.lastPathComponent
        let hash = try SHA256.hex(fileAt: url)
        let now = clock.now
        if let known = try ledger.read({ try $0.processedFile(sha256: hash) }) {
            if resumed {
                // The ledger committed this file before the crash; only the move was left.
                try finish(url, hash: hash, outcome: FileOutcome(rawValue: known.outcome) ?? .refused, report: nil)
            } else {
                summary.filesDuplicate += 1
                try finish(url, hash: hash, outcome: .duplicate, report: RefusalReport(
                    file: name, sha256: hash, at: Instant.format(now), outcome: "duplicate",
                    reason: "the same content was processed before as \(known.name) on \(Instant.format(known.at)) (\(known.outcome)); nothing was applied",
                    documentsAccepted: 0, refused: []))
            }
            return
        }
        let applier = DocumentApplier(factory: factory, now: now)
        var refused: [RefusalReport.Entry] = []
        var accepted = 0
        var pending: [ReadDocument] = []
        var verdict: (outcome: FileOutcome, reason: String)?

        /// Applies the pending documents in one transaction. The last call also records the
        /// file as processed in that same transaction (DESIGN.md: never mark a file done
        /// before its documents are committed, nor after).
        func flush(final: Bool) throws {
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            try ledger.write { tx in
                var batchApplied = 0, batchUnchanged = 0
                var batchRefused: [RefusalReport.Entry] = []
                for read in batch {
                    let outcome: DocumentOutcome
                    switch read.result {
                    case .failure(let refusal): outcome = .refused(refusal)
                    case .success(let document): outcome = try applier.apply(document, tx)
                    }
                    switch outcome {
                    case .applied: batchApplied += 1
                    case .unchanged: batchUnchanged += 1
                    case .refused(let r): batchRefused.append(.init(document: read.index, field: r.field, expected: r.expected, found: r.found))
                    }
                }
                let batchAccepted = batchApplied + batchUnchanged
                if final {
                    let result = Self.verdict(accepted: accepted + batchAccepted, refused: refused.count + batchRefused.count, fileRefusal: nil)
                    try tx.recordFile(ProcessedFile(sha256: hash, name: name, outcome: result.outcome.rawValue, at: now))
                    verdict = result
                }
                accepted += batchAccepted
                refused += batchRefused
                summary.documentsApplied += batchApplied
                summary.documentsUnchanged += batchUnchanged
                summary.documentsRefused += batchRefused.count
            }
            progress?("\(name): \(accepted + refused.count) documents")
        }

        do {
            try reader.read(url) { document in
                pending.append(document)
                if pending.count >= chunkSize { try flush(final: false) }
            }
            try flush(final: true)
        } catch let error as FileRefusal {
            // Only .json files are refused whole, and before any of their documents is read.
            let result = Self.verdict(accepted: 0, refused: 0, fileRefusal: error)
            try ledger.write { tx in try tx.recordFile(ProcessedFile(sha256: hash, name: name, outcome: result.outcome.rawValue, at: now)) }
            verdict = result
        }
        let (outcome, reason) = verdict!
        switch outcome {
        case .accepted: summary.filesAccepted += 1
        case .refusedInPart: summary.filesPartlyRefused += 1
        case .refused: summary.filesRefused += 1
        case .duplicate: summary.filesDuplicate += 1
        }
        let report = outcome == .accepted ? nil : RefusalReport(
            file: name, sha256: hash, at: Instant.format(now), outcome: outcome.rawValue, reason: reason, documentsAccepted: accepted, refused: refused)
        try finish(url, hash: hash, outcome: outcome, report: report)
    }

    enum FileOutcome: String {
        case accepted, refusedInPart = "refused in part", refused, duplicate
    }

    static func verdict(accepted: Int, refused: Int, fileRefusal: FileRefusal?) -> (outcome: FileOutcome, reason: String) {
        if let fileRefusal { return (.refused, fileRefusal.reason) }
        if refused == 0, accepted > 0 { return (.accepted, "all \(accepted) documents accepted") }
        if accepted == 0 { return (.refused, refused == 0 ? "the file holds no documents" : "every document was refused") }
        return (.refusedInPart, "\(accepted) documents accepted and applied, \(refused) refused (listed below); resend only the refused ones")
    }

    /// Moves a claimed file to where its outcome says, with a reason file beside it.
    private func finish(_ url: URL, hash: String, outcome: FileOutcome, report: RefusalReport?) throws {
        let folder: URL
        switch outcome {
        case .accepted: folder = home.archive
        case .duplicate: folder = home.duplicates
        case .refused, .refusedInPart: folder = home.refused
        }
        let stamp = Instant.format(clock.now).filter { $0 != "-" && $0 != ":" }
        let target = folder.appendingPathComponent("\(stamp)_\(hash.prefix(8))_\(url.lastPathComponent)")
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try FileMoves.writeAtomically(Array(try encoder.encode(report)), to: target.appendingPathExtension("reason.json"))
        }
        try FileMoves.rename(url, to: target)
    }
}
