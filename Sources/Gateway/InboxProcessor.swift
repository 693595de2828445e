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
    /// Entries that could not be claimed, read or moved, and why; they stay where they are.
    public var entriesNotTaken: [EntryProblem] = []
}

/// An inbox entry that a run could not take, named so that a person can act on it.
public struct EntryProblem: Sendable, Codable, Hashable {
    public var name: String
    public var reason: String
}

/// The machine-readable reason written next to a refused file.
struct RefusalReport: Codable {
    struct Entry: Codable {
        var document: Int?
        var field: String?
        var expected: String
        var found: String?
    }
    /// The name the file had in inbox/ (non-UTF-8 bytes as %XX).
    var file: String
    /// The content's digest; absent for an entry that was not read (a link, a FIFO, a file too large).
    var sha256: String?
    var at: String
    var outcome: String
    var reason: String
    var documentsAccepted: Int
    /// Every refused document, counted; `refused` lists the first `listed` of them.
    var documentsRefused: Int
    var refused: [Entry]

    /// A file of millions of bad documents gets a reason file a person can open.
    static let listed = 1_000
}

/// Claims complete files from `inbox/`, applies their documents to the ledger in bounded
/// transactions and moves each file to `archive/`, `refused/` or `duplicates/`. Every entry
/// gets an outcome: one that cannot be claimed, read or moved is named in the summary, and
/// never stops the entries after it.
struct InboxProcessor {
    let home: GatewayHome
    let ledger: any Ledger
    let factory: InvoiceFactory
    let routing: InvoiceRouting
    let crediting: Crediting
    let redrawing: Redrawing
    var remindersEnabled = false
    let clock: any GatewayClock
    let reader = InboxFileReader()
    /// Documents per transaction: bounded, so memory and lock time do not grow with a batch.
    var chunkSize = 500
    var progress: (@Sendable (String) -> Void)?
    var events: GatewayEvents?

    func run() throws -> IntakeSummary {
        var summary = IntakeSummary()
        try home.createFolders()
        // Files a crashed run had claimed come first, so they finish before anything new.
        for entry in try EntryName.entries(of: home.processing.path) where entry.isReady {
            take(entry, in: home.processing, resumed: true, &summary)
        }
        for entry in try EntryName.entries(of: home.inbox.path) where entry.isReady {
            take(entry, in: home.inbox, resumed: false, &summary)
        }
        let now = clock.now
        let problems = summary.entriesNotTaken.map { EntryProblemRecord(name: $0.name, reason: $0.reason, at: now) }
        try ledger.write { tx in try tx.replaceEntryProblems(problems) }
        return summary
    }

    /// Claims an entry by renaming it into `inbox/.processing` under a name that is UTF-8
    /// and fits, then processes it; whatever fails is the entry's own problem.
    private func take(_ entry: EntryName, in folder: URL, resumed: Bool, _ summary: inout IntakeSummary) {
        let name = StoredNames.fitted(entry.text, maxBytes: StoredNames.nameMax)
        let claimed = home.processing.appendingPathComponent(name)
        do {
            if folder != home.processing || name != entry.text || !entry.isUTF8 {
                if !resumed, EntryKind.of(path: claimed.path) != .missing {
                    summary.entriesNotTaken.append(EntryProblem(name: entry.text, reason: "an entry of the same name is still in inbox/.processing; this one is taken after it"))
                    return
                }
                try FileMoves.rename(entry, in: folder, to: claimed)
            }
            try process(claimed: claimed, resumed: resumed, &summary)
        } catch {
            summary.entriesNotTaken.append(EntryProblem(name: entry.text, reason: "\(error)"))
        }
    }

    /// What is in inbox/ now and what the next run will make of it (for `gateway status`).
    static func pending(_ home: GatewayHome) -> [(name: String, note: String?)] {
        var result: [(name: String, note: String?)] = []
        for entry in (try? EntryName.entries(of: home.processing.path)) ?? [] where entry.isReady {
            result.append((entry.text, "claimed by a run that stopped; the next run finishes it first"))
        }
        for entry in (try? EntryName.entries(of: home.inbox.path)) ?? [] where entry.isReady {
            let kind = EntryKind.of(path: home.inbox.path + "/" + entry.text)
            var note: String?
            if entry.isUTF8, kind != .regularFile, kind != .missing {
                note = "\(kind.rawValue): the next run refuses it into refused/"
            } else if !entry.isUTF8 {
                note = "the name is not UTF-8: the next run takes it as \(entry.text)"
            }
            result.append((entry.text, note))
        }
        return result
    }

    private func process(claimed url: URL, resumed: Bool, _ summary: inout IntakeSummary) throws {
        let name = url.lastPathComponent
        let now = clock.now
        let file: InboxFile
        switch InboxFile.open(url.path) {
        case .success(let opened): file = opened
        case .failure(let why):
            return try refuseUnread(url, identity: why.identity, reason: why.description, &summary)
        }
        let content: InboxContent
        let hash: String
        if InboxFileReader.isNDJSON(name) {
            var hasher = SHA256()
            try file.forEachChunk { hasher.update($0) }
            hash = hasher.finalizeHex()
            content = .ndjson(file)
        } else {
            // Checked before a byte is read: a huge .json file costs nothing.
            if let refusal = reader.sizeRefusal(file.size) {
                return try refuseUnread(url, identity: file.identity, reason: refusal.reason, &summary)
            }
            let bytes = try file.readAll()
            hash = SHA256.hex(bytes)
            content = .json(bytes)
        }
        if let known = try ledger.read({ try $0.processedFile(sha256: hash) }) {
            if resumed {
                // The ledger committed this file before the crash; only the move was left.
                try finish(url, hash: hash, outcome: FileOutcome(rawValue: known.outcome) ?? .refused, report: nil)
            } else {
                summary.filesDuplicate += 1
                let reason = "the same content was processed before as \(known.name) on \(Instant.format(known.at)) (\(known.outcome)); nothing was applied"
                try finish(url, hash: hash, outcome: .duplicate, report: RefusalReport(
                    file: name, sha256: hash, at: Instant.format(now), outcome: "duplicate", reason: reason,
                    documentsAccepted: 0, documentsRefused: 0, refused: []))
                events?(.file(name: name, sha256: hash, outcome: FileOutcome.duplicate.rawValue, documentsAccepted: 0, documentsRefused: 0, reason: reason))
            }
            return
        }
        let applier = DocumentApplier(factory: factory, routing: routing, crediting: crediting, redrawing: redrawing, remindersEnabled: remindersEnabled, now: now)
        var refused: [RefusalReport.Entry] = []
        var refusedCount = 0
        var accepted = 0
        var pending: [(Int, InboxDocument)] = []
        var verdict: (outcome: FileOutcome, reason: String)?

        /// Counts a refused document and keeps the first ones for the reason file.
        func note(_ index: Int, _ refusal: DocumentRefusal) {
            refusedCount += 1
            summary.documentsRefused += 1
            if refused.count < RefusalReport.listed {
                refused.append(.init(document: index, field: refusal.field, expected: refusal.expected, found: refusal.found))
            }
        }

        /// Applies the pending documents in one transaction. The last call also records the
        /// file as processed in that same transaction (DESIGN.md: never mark a file done
        /// before its documents are committed, nor after).
        func flush(final: Bool) throws {
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            try ledger.write { tx in
                var batchApplied = 0, batchUnchanged = 0
                var batchRefused: [(Int, DocumentRefusal)] = []
                for (index, document) in batch {
                    switch try applier.apply(document, tx) {
                    case .applied: batchApplied += 1
                    case .unchanged: batchUnchanged += 1
                    case .refused(let r): batchRefused.append((index, r))
                    }
                }
                let batchAccepted = batchApplied + batchUnchanged
                if final {
                    let result = Self.verdict(accepted: accepted + batchAccepted, refused: refusedCount + batchRefused.count, fileRefusal: nil)
                    try tx.recordFile(ProcessedFile(sha256: hash, name: name, outcome: result.outcome.rawValue, at: now))
                    verdict = result
                }
                accepted += batchAccepted
                for (index, refusal) in batchRefused { note(index, refusal) }
                summary.documentsApplied += batchApplied
                summary.documentsUnchanged += batchUnchanged
            }
            progress?("\(name): \(accepted + refusedCount) documents")
        }
        do {
            try reader.read(content) { document in
                switch document.result {
                // Refused as read: nothing for the ledger to do.
                case .failure(let refusal): note(document.index, refusal)
                case .success(let valid): pending.append((document.index, valid))
                }
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
            file: name, sha256: hash, at: Instant.format(now), outcome: outcome.rawValue,
            reason: reason + (refusedCount > refused.count ? "; the first \(refused.count) of the \(refusedCount) refused documents are listed" : ""),
            documentsAccepted: accepted,
            documentsRefused: refusedCount, refused: refused)
        try finish(url, hash: hash, outcome: outcome, report: report)
        events?(.file(name: name, sha256: hash, outcome: outcome.rawValue, documentsAccepted: accepted, documentsRefused: refusedCount,
                      reason: outcome == .accepted ? nil : reason))
    }

    /// Refuses an entry that is not read at all: a link, a FIFO, a directory, a device, a
    /// file that cannot be opened or a .json file over its size. Its key comes from what the
    /// file system says of it, so a run that resumes it after a crash does not count it twice.
    private func refuseUnread(_ url: URL, identity: String, reason: String, _ summary: inout IntakeSummary) throws {
        let name = url.lastPathComponent
        let key = SHA256.hex("unread \(identity) \(name)")
        let now = clock.now
        try ledger.write { tx in
            if try tx.processedFile(sha256: key) == nil {
                try tx.recordFile(ProcessedFile(sha256: key, name: name, outcome: FileOutcome.refused.rawValue, at: now))
            }
        }
        summary.filesRefused += 1
        try finish(url, hash: key, outcome: .refused, report: RefusalReport(
            file: name, sha256: nil, at: Instant.format(now), outcome: FileOutcome.refused.rawValue, reason: reason,
            documentsAccepted: 0, documentsRefused: 0, refused: []))
        events?(.file(name: name, sha256: nil, outcome: FileOutcome.refused.rawValue, documentsAccepted: 0, documentsRefused: 0, reason: reason))
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
        let target = folder.appendingPathComponent(StoredNames.fitted("\(stamp)_\(hash.prefix(8))_\(url.lastPathComponent)"))
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try FileMoves.writeAtomically(Array(try encoder.encode(report)), to: target.appendingPathExtension("reason.json"))
        }
        try FileMoves.rename(url, to: target)
    }
}
