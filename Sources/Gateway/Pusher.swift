import Checksums
import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger
import Rendering

public struct PushSummary: Sendable, Codable {
    public var delivered = 0
    public var alreadyThere = 0
    public var failed = 0
    public var bytes: UInt64 = 0
    public var errors: [String] = []
}

/// Delivers outbox files to SFTP destinations exactly once: one session per destination and
/// run, upload to a temporary name, size check, rename; the ledger records each delivery
/// before and after, so a restart never uploads a delivered file again.
struct Pusher {
    let home: GatewayHome
    let ledger: any Ledger
    let configuration: GatewayConfiguration
    let catalog: MappingCatalog
    let clock: any GatewayClock
    var sleep: (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }
    var random: () -> Double = { Double.random(in: 0...1) }
    var progress: ((String) -> Void)?

    enum Selection {
        /// Files not delivered yet, except those whose last try failed.
        case pending
        /// Also the failed ones (`push --retry-failed`).
        case pendingAndFailed
        /// The files of one invoice, whatever happened before (`send N`).
        case invoice(String)
    }

    func run(destinations names: [String]? = nil, selection: Selection = .pending) throws -> PushSummary {
        var summary = PushSummary()
        let chosen = (names ?? configuration.destinations.keys.sorted()).compactMap { configuration.destinations[$0] }
        for destination in chosen {
            try push(destination, selection: selection, &summary)
        }
        return summary
    }

    private func files(for destination: DestinationSettings, selection: Selection) throws -> [URL] {
        try Self.files(in: home.outbox.appendingPathComponent(destination.outboxFolder), destination: destination.name,
                       selection: selection, home: home, ledger: ledger)
    }

    /// The files of an outbox folder that a run delivers, by the selection.
    static func files(in folder: URL, destination: String, selection: Selection, home: GatewayHome, ledger: any Ledger) throws -> [URL] {
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
                case .invoice(let number): try tx.invoiceNumbers(forFile: home.relative(url)).contains(number)
                }
            }
        }
    }

    private func push(_ destination: DestinationSettings, selection: Selection, _ summary: inout PushSummary) throws {
        var remaining = try files(for: destination, selection: selection)
        guard !remaining.isEmpty else { return }
        var attempt = 1
        // On the server but without their done-marker yet: the next attempt or run finishes them.
        var unannounced: Set<URL> = []
        while !remaining.isEmpty {
            var delivered: [(file: URL, record: DeliveryRecord)] = []
            // Each file that failed with its own error; the others share the one that ended the attempt.
            var failures: [URL: SFTPError] = [:]
            do {
                // One session for every file of this destination: no connection per file. It is
                // made on another thread while the ledger is read and written below, so the
                // server's handshake and its start of the SFTP subsystem (about 70 ms on loopback)
                // overlap that work.
                let endpoint = try destination.connectionEndpoint()
                let connecting = Outcome<SFTPConnection>()
                DispatchQueue.global().async { connecting.set(Result { try SFTPConnection(endpoint) }) }
                // The session moves to this thread; it is never used by two at once.
                defer { if case .success(let connection) = connecting.wait() { connection.close() } }
                var uploads: [Prepared] = []
                let prepared = try prepare(remaining, for: destination)
                // Started where an earlier attempt may already have put the file (D3), until
                // that place is checked below.
                try recordStarted(prepared.filter { $0.earlier?.state != .delivered }, destination: destination) {
                    $0.earlierPath ?? finalPath($0, destination)
                }
                let connection = try connecting.wait().get()
                for item in prepared {
                    let found: DeliveryRecord?
                    do { found = try alreadyOnServer(item, destination: destination, connection: connection) } catch let error as SFTPError where !error.breaksConnection {
                        // Another file under its name: this one fails, the others go on.
                        try fail(item.file, error, attempt: nil, destination: destination, &summary)
                        remaining.removeAll { $0 == item.file }
                        continue
                    }
                    if let earlier = item.earlier, earlier.state == .delivered {
                        // Delivered and recorded before a crash; only the local move was left.
                        try finish(item.file, record: earlier)
                        summary.alreadyThere += 1
                        remaining.removeAll { $0 == item.file }
                    } else if let record = found {
                        // A crash between the rename and the marker would otherwise leave the
                        // file unannounced for good. A marker the server refuses fails this file alone.
                        if let marker = destination.doneMarker, let refusal = try announce(record.remotePath + marker, over: connection) {
                            try fail(item.file, refusal, attempt: nil, destination: destination, &summary)
                            remaining.removeAll { $0 == item.file }
                            continue
                        }
                        delivered.append((item.file, record))
                        summary.alreadyThere += 1
                        remaining.removeAll { $0 == item.file }
                    } else {
                        uploads.append(item)
                    }
                }
                try record(delivered, destination: destination)
                delivered.removeAll()
                // Not there: recorded under the name they go up with today (a `{date}` may differ).
                let moved = uploads.filter { item in item.earlierPath.map { $0 != finalPath(item, destination) } ?? false }
                try recordStarted(moved, destination: destination) { finalPath($0, destination) }
                // Files go up several at a time over parallel channels of the one session and are
                // recorded as they arrive, a few at a time: a crash before a file is recorded
                // leaves its `started` record, whose final name the next run finds on the server.
                // The SHA-256 of each file is computed on the other core while they upload.
                let hashes = FileHashes(uploads.map(\.file))
                func recordDelivered() throws {
                    let digests = hashes.wait(for: delivered.map(\.file))
                    for i in delivered.indices { delivered[i].record.sha256 = digests[delivered[i].file] ?? "" }
                    let sent = Set(delivered.map(\.file))
                    try record(delivered, destination: destination)
                    delivered.removeAll()
                    remaining.removeAll { sent.contains($0) }
                }
                var failure: SFTPError?
                let jobs = uploads.map { item in
                    let final = finalPath(item, destination)
                    return UploadJob(local: item.file, temporary: temporaryPath(item, destination), final: final,
                                     marker: destination.doneMarker.map { final + $0 })
                }
                do {
                    try connection.uploadMany(jobs) { index, result in
                        let item = uploads[index]
                        switch result {
                        case .success(let upload) where upload.markerFailure == nil:
                            delivered.append((item.file, DeliveryRecord(
                                destination: destination.name, path: item.path, invoiceNumber: item.invoice, remotePath: jobs[index].final,
                                size: Int(upload.bytes), sha256: "", state: .delivered, attempts: (item.earlier?.attempts ?? 0) + 1,
                                error: nil, at: clock.now)))
                            summary.delivered += 1
                            summary.bytes += upload.bytes
                            progress?("\(destination.name): \(item.file.lastPathComponent)")
                            if delivered.count >= Self.recordEvery { try recordDelivered() }
                        case .success(let upload):
                            // In place but not announced: never failed for the connection's sake (the
                            // next attempt or run finds it, writes the marker and records it, and
                            // never sends it again); a marker refused by the server fails it.
                            let error = upload.markerFailure!
                            if error.breaksConnection { unannounced.insert(item.file) } else { failures[item.file] = error }
                            if failure == nil, error.breaksConnection { failure = error }
                        case .failure(let error):
                            failures[item.file] = error
                            if failure == nil, error.breaksConnection { failure = error }
                        }
                    }
                } catch let error as SFTPError {
                    failure = failure ?? error
                }
                // Delivered before anything failed: recorded whatever comes next.
                try recordDelivered()
                if let failure { throw failure }
                // A file's own failure (a remote status, an unreadable local file) is recorded
                // now; the connection carried on with the others.
                for item in uploads where failures[item.file] != nil {
                    try fail(item.file, failures[item.file]!, attempt: nil, destination: destination, &summary)
                }
                remaining.removeAll { failures[$0] != nil }
                failures.removeAll()
            } catch let error as SFTPError {
                // Found on the server (and announced) before the connection failed.
                try record(delivered, destination: destination)
                if error.isTransient, attempt < destination.retry.attempts {
                    attempt += 1
                    let wait = destination.retry.delay(beforeAttempt: attempt, jitter: random())
                    progress?("\(destination.name): \(error); attempt \(attempt) of \(destination.retry.attempts) in \(String(format: "%.1f", wait)) s")
                    sleep(wait)
                    continue
                }
                for file in remaining where !unannounced.contains(file) {
                    try fail(file, failures[file] ?? error, attempt: attempt, destination: destination, &summary)
                }
                remaining.removeAll()
            }
        }
    }

    /// D5 for one file, with the summary's count and its (distinct) reasons.
    private func fail(_ file: URL, _ error: SFTPError, attempt: Int?, destination: DestinationSettings, _ summary: inout PushSummary) throws {
        let reason = error.isTransient && attempt != nil ? "\(error) (gave up after \(attempt!) attempts)" : "\(error)"
        if !summary.errors.contains("\(destination.name): \(reason)") { summary.errors.append("\(destination.name): \(reason)") }
        try recordFailure(file, destination: destination, reason: reason)
        summary.failed += 1
    }

    /// Writes a done-marker. The server's refusal is returned, to fail that file alone; a
    /// broken connection is thrown.
    private func announce(_ marker: String, over connection: SFTPConnection) throws(SFTPError) -> SFTPError? {
        do { try connection.touch(marker) } catch {
            if error.breaksConnection { throw error }
            return error
        }
        return nil
    }

    /// Delivered files are recorded (and moved to `sent/`) in groups of this many, which bounds
    /// what a crash leaves unrecorded; a group of 100 took about 4 ms here, 3 of them the moves.
    static let recordEvery = 100

    private func finalPath(_ item: Prepared, _ destination: DestinationSettings) -> String {
        destination.remoteDirectory + "/" + item.remoteName
    }

    private func temporaryPath(_ item: Prepared, _ destination: DestinationSettings) -> String {
        (destination.uploadDirectory ?? destination.remoteDirectory) + "/.\(item.remoteName).part"
    }

    private struct Prepared {
        var file: URL
        var path: String
        var invoice: String?
        var remoteName: String
        var earlier: DeliveryRecord?
        /// Where an earlier attempt put or meant to put the file.
        var earlierPath: String? { earlier.flatMap { $0.remotePath.isEmpty ? nil : $0.remotePath } }
    }

    /// Looks every file up in one read.
    private func prepare(_ files: [URL], for destination: DestinationSettings) throws -> [Prepared] {
        let today = CivilDate(clock.now, in: configuration.client.zone)
        return try ledger.read { tx in
            try files.map { file -> Prepared in
                let path = home.relative(file)
                let invoice = try tx.invoiceNumber(forFile: path)
                return Prepared(file: file, path: path, invoice: invoice,
                                remoteName: destination.remoteName(for: file.lastPathComponent, invoice: invoice, date: today),
                                earlier: try tx.delivery(destination: destination.name, path: path))
            }
        }
    }

    /// D3: uploads recorded as started, with the remote path where each file may appear, in one
    /// write before any byte leaves.
    private func recordStarted(_ items: [Prepared], destination: DestinationSettings, at remotePath: (Prepared) -> String) throws {
        guard !items.isEmpty else { return }
        let now = clock.now
        try ledger.write { tx in
            for item in items {
                try tx.recordSendStarted(DeliveryRecord(
                    destination: destination.name, path: item.path, invoiceNumber: item.invoice, remotePath: remotePath(item),
                    size: Self.size(of: item.file), sha256: "", state: .started, attempts: (item.earlier?.attempts ?? 0) + 1,
                    error: nil, at: now), triedBefore: item.earlier?.state == .failed, at: now)
            }
        }
    }

    /// stat(2) alone: FileManager's attributes also look up the owner's name, once per file.
    private static func size(of file: URL) -> Int {
        var status = stat()
        return stat(file.path, &status) == 0 ? Int(status.st_size) : 0
    }

    /// A file an earlier, interrupted run may have renamed into place before it could record
    /// that: counted as delivered when its final name holds a file of its size. A stranger's
    /// file under that name is never overwritten. Nil when the file still has to go up.
    private func alreadyOnServer(_ item: Prepared, destination: DestinationSettings, connection: SFTPConnection) throws -> DeliveryRecord? {
        guard let earlier = item.earlier, earlier.state != .delivered else { return nil }
        // Where the earlier attempt put it: a name with `{date}` may differ today.
        let final = item.earlierPath ?? finalPath(item, destination)
        guard let remoteSize = try connection.size(of: final) else { return nil }
        let size = Self.size(of: item.file)
        guard remoteSize == UInt64(size) else { throw SFTPError.nameTaken(final, size: remoteSize) }
        return DeliveryRecord(destination: destination.name, path: item.path, invoiceNumber: item.invoice, remotePath: final,
                              size: size, sha256: try SHA256.hex(fileAt: item.file), state: .delivered,
                              attempts: earlier.attempts, error: nil, at: clock.now)
    }

    /// D4: the deliveries, the invoices' new status and history, and where their files go, in
    /// one transaction; then the local files move to `sent/`. A crash between the two leaves
    /// delivered files in the outbox, which the next run moves without uploading them again.
    private func record(_ delivered: [(file: URL, record: DeliveryRecord)], destination: DestinationSettings) throws {
        guard !delivered.isEmpty else { return }
        var sent: Set<String> = []
        try ledger.write { tx in
            for (file, record) in delivered {
                let how = "\(destination.name): by SFTP to \(destination.endpoint.user)@\(destination.endpoint.host):\(record.remotePath) (\(record.size) bytes, SHA-256 \(record.sha256.prefix(16))...)"
                sent.formUnion(try tx.recordDelivered(record, sentPath: home.relative(Self.sentLocation(of: file)), how: how, to: nil))
            }
        }
        for (file, _) in delivered { try FileMoves.rename(file, to: Self.sentLocation(of: file)) }
        let exporter = SentExport(home: home, ledger: ledger, catalog: catalog, configuration: configuration, clock: clock)
        for invoice in sent.sorted() { try exporter.run(invoice) }
    }

    static func sentLocation(of file: URL) -> URL {
        file.deletingLastPathComponent().appendingPathComponent("sent").appendingPathComponent(file.lastPathComponent)
    }

    /// Moves a file delivered by an earlier, interrupted run to `sent/` and tells the ledger
    /// (which a later run may already have done).
    private func finish(_ file: URL, record: DeliveryRecord) throws {
        try Self.moveToSent(file, home: home, ledger: ledger)
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

    /// D5: the invoice goes back to its earlier status with the error in its history; the
    /// file stays in the outbox for `gateway send N` or `gateway push --retry-failed`.
    private func recordFailure(_ file: URL, destination: DestinationSettings, reason: String) throws {
        try Self.recordFailure(file, destination: destination.name, reason: reason, home: home, ledger: ledger, at: clock.now)
    }

    static func recordFailure(_ file: URL, destination: String, reason: String, home: GatewayHome, ledger: any Ledger, at now: Date) throws {
        try ledger.write { tx in try tx.recordSendFailed(path: home.relative(file), destination: destination, reason: reason, at: now) }
    }
}

/// SHA-256 of files, computed on a background thread.
final class FileHashes: @unchecked Sendable {
    /// Each file once hashed: its digest, or nil when it could not be read.
    private var digests: [URL: String?] = [:]
    private let progress = NSCondition()

    /// Hashes `files` in their order (the order they go up in).
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
