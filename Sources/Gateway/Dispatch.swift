import Checksums
import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger

public struct PushSummary: Sendable, Codable {
    public var delivered = 0
    public var alreadyThere = 0
    public var failed = 0
    public var bytes: UInt64 = 0
    public var errors: [String] = []
    /// Sends held for the client's undo time (D14): nothing of them left in this run.
    public var held: [HeldSend] = []

    public struct HeldSend: Sendable, Codable, Hashable {
        public var invoiceNumber: String
        /// When the undo window closes and the send may leave (ISO 8601).
        public var until: String
    }

    mutating func hold(_ invoice: String, until: Date) {
        guard !held.contains(where: { $0.invoiceNumber == invoice }) else { return }
        held.append(HeldSend(invoiceNumber: invoice, until: Instant.format(until)))
    }
}

/// The push orchestration: drives any `Transport` the same way (D3–D5). Each file is recorded
/// as started before it leaves, handed over, and recorded as delivered (its invoices `sent`
/// when their last file has left, the file moved to `sent/`, the O3 export written) or as
/// failed (its invoices back to the status they had) as the transport reports it. A session
/// that fails transiently is tried again with the route's backoff. A file recorded before a
/// crash is never sent twice: one whose delivery was recorded is only moved, and one that was
/// started is looked for by a transport that can look (SFTP) or left to `gateway send N`.
struct Dispatch {
    let home: GatewayHome
    let ledger: any Ledger
    let clock: any GatewayClock
    let gate: OutboxGate
    /// What publishing does for the invoices a delivery made `sent` (their O3 export).
    let afterSent: (String) throws -> Void
    var sleep: (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }
    var random: () -> Double = { Double.random(in: 0...1) }
    var progress: ((String) -> Void)?
    var events: GatewayEvents?
    /// Invoices whose send is held for the undo time (D14), with when each window closes.
    var held: [String: Date] = [:]

    enum Selection {
        /// Files not delivered yet, except those whose last try failed.
        case pending
        /// Also the failed ones (`push --retry-failed`).
        case pendingAndFailed
        /// The files of these invoices, whatever happened before (`send N...`).
        case invoices(Set<String>)
    }

    /// How one transport's files go.
    struct Route {
        /// The name deliveries are recorded under (a destination's, `email`, `printer`).
        var destination: String
        /// Put before each receipt in the history, when the transport's own words do not name it.
        var label: String?
        var retry: RetryPolicy
        /// Whether files are handed over one per call, each recorded as started just before:
        /// for transports that cannot look for a file an interrupted call may have delivered
        /// (SMTP, the printer), so that a crash leaves at most one in doubt. Otherwise (SFTP,
        /// a folder, which look) all go in one call. Delivered ones are recorded in groups of
        /// `recordEvery`.
        var handOverOneByOne: Bool
        var recordEvery: Int
        /// Why a file started by an earlier run is not sent again by itself, for transports
        /// that cannot look for it; nil for those that can.
        var inDoubt: String?
        /// Where a file goes, given its invoice and what an earlier attempt recorded.
        var parcel: (URL, String?, DeliveryRecord?) throws -> Parcel
    }

    /// The files of an outbox folder that a run delivers, by the selection.
    func files(in folder: URL, destination: String, selection: Selection) throws -> [URL] {
        try gate.withLock { try Self.files(in: folder, destination: destination, selection: selection, home: home, ledger: ledger) }
    }

    private static func files(in folder: URL, destination: String, selection: Selection, home: GatewayHome, ledger: any Ledger) throws -> [URL] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let files = names.map { folder.appendingPathComponent($0) }.filter { url in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        return try ledger.read { tx in
            try files.filter { url in
                switch selection {
                case .pending: try tx.delivery(destination: destination, path: home.relative(url))?.state != .failed
                case .pendingAndFailed: true
                case .invoices(let numbers): try !numbers.isDisjoint(with: tx.invoiceNumbers(forFile: home.relative(url)))
                }
            }
        }
    }

    private struct Item {
        let file: URL
        let path: String
        let invoice: String?
        let earlier: DeliveryRecord?
        let parcel: Parcel
    }

    func run(_ files: [URL], route: Route, selection: Selection, transport makeTransport: () throws -> any Transport,
             _ summary: inout PushSummary) throws {
        var remaining = try withoutHeld(files, &summary)
        var attempt = 1
        // Files this run has started: their `started` records are ours, not a stopped run's.
        var startedHere: Set<URL> = []
        // In place but unannounced when the session broke: the next attempt or run looks again.
        var inDoubt: Set<URL> = []
        while !remaining.isEmpty {
            var retryLater: Set<URL> = []
            do {
                // Made first: a transport with a session starts opening it while the ledger is read.
                let transport = try makeTransport()
                var items: [Item] = []
                for item in try prepare(remaining, route: route) {
                    if item.earlier?.state == .delivered {
                        // Delivered and recorded before a crash; only the local move was left.
                        try Self.moveToSent(item.file, home: home, ledger: ledger)
                        summary.alreadyThere += 1
                        remaining.removeAll { $0 == item.file }
                    } else if let reason = route.inDoubt, item.earlier?.state == .started, !startedHere.contains(item.file),
                              case .pending = selection {
                        try fail(item.file, TransportFailure(reason, isTransient: false), attempt: attempt, route: route, &summary)
                        remaining.removeAll { $0 == item.file }
                    } else {
                        items.append(item)
                    }
                }
                let groups = route.handOverOneByOne ? items.map { [$0] } : [items]
                let hashes = FileHashes(items.map(\.file))
                for group in groups where !group.isEmpty {
                    try recordStarted(group, route: route)
                    startedHere.formUnion(group.map(\.file))
                    var delivered: [(item: Item, receipt: Receipt)] = []
                    func recordDelivered() throws {
                        try record(delivered, route: route, digests: hashes.wait(for: delivered.map(\.item.file)))
                        let done = Set(delivered.map(\.item.file))
                        remaining.removeAll { done.contains($0) }
                        delivered.removeAll()
                    }
                    do {
                        try transport.deliver(group.map(\.parcel)) { index, result in
                            let item = group[index]
                            switch result {
                            case .success(let receipt):
                                delivered.append((item, receipt))
                                if receipt.alreadyThere { summary.alreadyThere += 1 } else {
                                    summary.delivered += 1
                                    summary.bytes += receipt.bytes
                                    progress?("\(route.destination): \(item.file.lastPathComponent)")
                                }
                                if delivered.count >= route.recordEvery { try recordDelivered() }
                            case .failure(let failure) where failure.inDoubt:
                                inDoubt.insert(item.file)
                            case .failure(let failure) where failure.isTransient && attempt < route.retry.attempts:
                                retryLater.insert(item.file)
                            case .failure(let failure):
                                try fail(item.file, failure, attempt: attempt, route: route, &summary)
                                remaining.removeAll { $0 == item.file }
                            }
                        }
                    } catch let failure as TransportFailure {
                        // What arrived before the session failed is recorded whatever comes next.
                        try recordDelivered()
                        throw failure
                    }
                    try recordDelivered()
                }
                guard !retryLater.isEmpty else { break }
                remaining = remaining.filter { retryLater.contains($0) }
                try backOff(before: attempt + 1, route: route, because: "a file was refused for now")
                attempt += 1
            } catch let failure as TransportFailure {
                if failure.isTransient, attempt < route.retry.attempts {
                    try backOff(before: attempt + 1, route: route, because: failure.description)
                    attempt += 1
                    continue
                }
                for file in remaining where !inDoubt.contains(file) {
                    try fail(file, failure, attempt: attempt, route: route, &summary)
                }
                remaining.removeAll()
            }
        }
    }

    /// D14: inside the undo window nothing of an invoice is handed over (a credit then cancels
    /// the send), and no session is opened for a run that has only held files.
    private func withoutHeld(_ files: [URL], _ summary: inout PushSummary) throws -> [URL] {
        guard !held.isEmpty, !files.isEmpty else { return files }
        let invoices = try ledger.read { tx in try files.map { try tx.invoiceNumber(forFile: home.relative($0)) } }
        var going: [URL] = []
        for (file, invoice) in zip(files, invoices) {
            if let invoice, let until = held[invoice] { summary.hold(invoice, until: until) } else { going.append(file) }
        }
        return going
    }

    private func backOff(before attempt: Int, route: Route, because reason: String) throws {
        let wait = route.retry.delay(beforeAttempt: attempt, jitter: random())
        progress?("\(route.destination): \(reason); attempt \(attempt) of \(route.retry.attempts) in \(String(format: "%.1f", wait)) s")
        sleep(wait)
    }

    /// Looks every file up in one read.
    private func prepare(_ files: [URL], route: Route) throws -> [Item] {
        let found = try ledger.read { tx in
            try files.map { file -> (URL, String, String?, DeliveryRecord?) in
                let path = home.relative(file)
                return (file, path, try tx.invoiceNumber(forFile: path), try tx.delivery(destination: route.destination, path: path))
            }
        }
        return try found.map { file, path, invoice, earlier in
            Item(file: file, path: path, invoice: invoice, earlier: earlier, parcel: try route.parcel(file, invoice, earlier))
        }
    }

    /// D3: the files recorded as started, with where each may appear, in one write before any
    /// byte leaves; one tried before starts its invoices' send again.
    private func recordStarted(_ items: [Item], route: Route) throws {
        let now = clock.now
        try ledger.write { tx in
            for item in items {
                try tx.recordSendStarted(DeliveryRecord(
                    destination: route.destination, path: item.path, invoiceNumber: item.invoice,
                    remotePath: item.parcel.earlierPlacement ?? item.parcel.placement, size: LocalFile.size(of: item.file) ?? 0, sha256: "",
                    state: .started, attempts: (item.earlier?.attempts ?? 0) + 1, error: nil, at: now), triedBefore: item.earlier != nil, at: now)
            }
        }
    }

    /// D4: the deliveries, the invoices' new status and history, and where their files go, in
    /// one transaction; then the local files move to `sent/` and sent invoices get their O3
    /// export. A crash between the two leaves delivered files in the outbox, which the next
    /// run moves without sending them again.
    private func record(_ delivered: [(item: Item, receipt: Receipt)], route: Route, digests: [URL: String]) throws {
        guard !delivered.isEmpty else { return }
        let now = clock.now
        let sent = try ledger.write { tx in
            var sent: [String] = []
            for (item, receipt) in delivered {
                let sha256 = digests[item.file] ?? ""
                let record = DeliveryRecord(destination: route.destination, path: item.path, invoiceNumber: item.invoice,
                                            remotePath: receipt.placement, size: Int(receipt.bytes), sha256: sha256, state: .delivered,
                                            attempts: (item.earlier?.attempts ?? 0) + 1, error: nil, at: now)
                let how = (route.label.map { "\($0): " } ?? "") + receipt.how + " (\(receipt.bytes) bytes, SHA-256 \(sha256.prefix(16))...)"
                sent += try tx.recordDelivered(record, sentPath: home.relative(Self.sentLocation(of: item.file)), how: how, to: receipt.recipient)
            }
            return sent
        }
        for (item, receipt) in delivered {
            try FileMoves.rename(item.file, to: Self.sentLocation(of: item.file))
            events?(.delivered(destination: route.destination, file: item.path, invoice: item.invoice, placement: receipt.placement,
                               bytes: receipt.bytes, alreadyThere: receipt.alreadyThere))
        }
        for invoice in sent { try afterSent(invoice) }
    }

    private func fail(_ file: URL, _ failure: TransportFailure, attempt: Int, route: Route, _ summary: inout PushSummary) throws {
        let reason = failure.isTransient && attempt > 1 ? "\(failure) (gave up after \(attempt) attempts)" : failure.description
        try fail([file], destination: route.destination, reason: reason, &summary)
    }

    /// D5 for files, with the summary's count and its (distinct) reasons; also for files that
    /// cannot go at all (a relay whose password is not set).
    func fail(_ files: [URL], destination: String, reason: String, _ summary: inout PushSummary) throws {
        if !summary.errors.contains("\(destination): \(reason)") { summary.errors.append("\(destination): \(reason)") }
        for file in files {
            let now = clock.now
            let path = home.relative(file)
            let invoice = try ledger.write { tx in
                try tx.recordSendFailed(path: path, destination: destination, reason: reason, at: now)
                return try tx.invoiceNumber(forFile: path)
            }
            summary.failed += 1
            events?(.sendFailed(destination: destination, file: path, invoice: invoice, reason: reason))
        }
    }

    static func sentLocation(of file: URL) -> URL {
        file.deletingLastPathComponent().appendingPathComponent("sent").appendingPathComponent(file.lastPathComponent)
    }

    /// Moves a file whose delivery the ledger has recorded to `sent/`, and the paths of every
    /// invoice it belongs to with it (which a later run may already have done).
    static func moveToSent(_ file: URL, home: GatewayHome, ledger: any Ledger) throws {
        let path = home.relative(file)
        let target = sentLocation(of: file)
        try FileMoves.rename(file, to: target)
        try ledger.write { tx in
            for invoice in try tx.invoiceNumbers(forFile: path) { try tx.moveFile(invoice: invoice, from: path, to: home.relative(target)) }
        }
    }
}

/// SHA-256 of files, computed on a background thread while they go.
final class FileHashes: @unchecked Sendable {
    /// Each file once hashed: its digest, or nil when it could not be read.
    private var digests: [URL: String?] = [:]
    private let progress = NSCondition()

    /// Hashes `files` in their order (the order they go in).
    init(_ files: [URL]) {
        DispatchQueue.global().async { [self] in
            for file in files {
                let digest = try? SHA256.hex(fileAt: file)
                progress.lock()
                digests[file] = .some(digest)
                progress.broadcast()
                progress.unlock()
            }
        }
    }

    /// The digests of `files` (which must be among those given), once each is computed;
    /// nil for a file that could not be read.
    func wait(for files: [URL]) -> [URL: String] {
        progress.lock()
        defer { progress.unlock() }
        var found: [URL: String] = [:]
        for file in files {
            while digests[file] == nil { progress.wait() }
            found[file] = digests[file]!
        }
        return found
    }
}
