import CLibSSH2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file to upload: written to `temporary`, renamed to `final` when whole, and then
/// announced by an empty `marker` file where the receiver wants one.
public struct UploadJob: Sendable {
    public var local: URL
    public var temporary: String
    public var final: String
    public var marker: String?
    public init(local: URL, temporary: String, final: String, marker: String? = nil) {
        self.local = local
        self.temporary = temporary
        self.final = final
        self.marker = marker
    }
}

/// A file whole under its final name.
public struct UploadResult: Sendable {
    public var bytes: UInt64
    /// Why its done-marker could not be written; the file itself is in place.
    public var markerFailure: SFTPError?
}

extension SFTPConnection {
    /// Uploads many files over several SFTP channels of this one SSH session at once.
    ///
    /// Each upload writes to the temporary name, fsyncs where the server offers it, checks the
    /// size on the open handle and renames to the final name, so the final name never shows a
    /// partial file. libssh2 runs in non-blocking mode and each file's steps form a small state
    /// machine: while one file waits for the server's answer, the others go on.
    /// Done-markers are written one at a time over the connection's own channel, so the
    /// file's channel goes on meanwhile. `completed` is called on this thread for each job, in
    /// completion order; what it throws ends the call (files in flight then stay under their
    /// temporary names, or arrive without being reported: the ledger's started records cover both).
    public func uploadMany(_ jobs: [UploadJob], channels: Int = 8,
                           completed: (Int, Result<UploadResult, SFTPError>) throws -> Void) throws {
        guard !jobs.isEmpty else { return }
        guard let ownChannel = sftpChannel else { throw SFTPError.session("the connection has no SFTP channel") }
        var lanes: [Lane] = []
        for _ in 0..<min(channels, jobs.count) {
            guard let channel = libssh2_sftp_init(sessionPointer) else { break }
            lanes.append(Lane(sftp: channel))
        }
        guard !lanes.isEmpty else { throw SFTPError.session("no SFTP channel could be opened for parallel uploads") }
        let announcer = Announcer(sftp: ownChannel)
        defer {
            libssh2_session_set_blocking(sessionPointer, 1)
            if !broken {
                for lane in lanes {
                    for upload in [lane.back, lane.front] { if let handle = upload?.handle { libssh2_sftp_close_handle(handle) } }
                    libssh2_sftp_shutdown(lane.sftp)
                }
                if let handle = announcer.handle { libssh2_sftp_close_handle(handle) }
            }
        }
        libssh2_session_set_blocking(sessionPointer, 0)
        var next = 0
        var active = 0
        // A request that libssh2 could send only in part (the socket was full) must be finished
        // before any other request goes out on the session (libssh2 keeps the rest of that one
        // packet), so an upload stuck sending is the only one stepped until it is through.
        enum Stepper { case upload(Lane, Upload), announcer }
        var pinned: Stepper?
        var progressed = false
        var starved = false
        /// Acts on one step's outcome; false when the session is pinned to the one who took it.
        func handle(_ outcome: Upload.Outcome, of stepper: Stepper, finished: (Result<UploadResult, SFTPError>) throws -> Void) throws -> Bool {
            switch outcome {
            case .waiting:
                if libssh2_session_block_directions(sessionPointer) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
                    pinned = stepper
                    return false
                }
            case .starved:
                starved = true
            case .progressed:
                progressed = true
                pinned = nil
            case .finished(let result):
                progressed = true
                pinned = nil
                if case .failure(let error) = result, error.breaksConnection { broken = true }
                if case .success(let upload) = result, let error = upload.markerFailure, error.breaksConnection { broken = true }
                try finished(result)
            }
            return true
        }
        func step(_ stepper: Stepper) throws -> Bool {
            switch stepper {
            case .upload(let lane, let upload):
                return try handle(upload.step(session: sessionPointer, lane: lane), of: stepper) { result in
                    lane.remove(upload)
                    if case .success(let done) = result, let marker = upload.job.marker {
                        announcer.queue.append(Announcer.Item(index: upload.index, marker: marker, result: done))
                    } else {
                        active -= 1
                        try completed(upload.index, result)
                    }
                }
            case .announcer:
                guard let (index, outcome) = announcer.step(session: sessionPointer, broken: broken) else { return true }
                return try handle(outcome, of: stepper) { result in
                    active -= 1
                    try completed(index, result)
                }
            }
        }
        repeat {
            progressed = false
            starved = false
            if let stepper = pinned {
                if try !step(stepper) {
                    if !progressed { try wait() }
                    continue
                }
            }
            lanes: do {
                for lane in lanes {
                    if let back = lane.back, try !step(.upload(lane, back)) { break lanes }
                    if lane.promote() { progressed = true }
                    if lane.front == nil, next < jobs.count {
                        lane.front = Upload(index: next, job: jobs[next])
                        next += 1
                        active += 1
                        progressed = true
                    }
                    if let front = lane.front, !front.wantsBack, try !step(.upload(lane, front)) { break lanes }
                }
                _ = try step(.announcer)
            }
            if !progressed { try wait() }
        } while active > 0

        func wait() throws(SFTPError) {
            do {
                try waitForSocket(starved: starved)
                if starved { try readArrivals(channels: lanes.map(\.channel) + [announcer.channel]) }
            } catch {
                broken = true
                throw error
            }
        }
    }

    /// Has libssh2 read what the server sent: an upload that found its channel's window too
    /// small has called nothing that would, and only the server's window adjustment moves it
    /// on. Waiting for a channel's end reads everything that has arrived and nothing else; a
    /// channel whose end has come (its SFTP server is gone) reads nothing, so the next is asked.
    private func readArrivals(channels: [OpaquePointer]) throws(SFTPError) {
        for channel in channels {
            let result = libssh2_channel_wait_eof(channel)
            if result == LIBSSH2_ERROR_EAGAIN { return }
            if result < 0 { throw .last("reading from the server", session: sessionPointer, sftp: nil) }
        }
        throw .session("every SFTP channel of the session has ended")
    }

    /// Waits until the socket can move in the direction libssh2 is blocked on (or, for a
    /// starved channel, until the server says something: its window adjustment).
    private func waitForSocket(starved: Bool) throws(SFTPError) {
        let directions = libssh2_session_block_directions(sessionPointer)
        var events: Int16 = 0
        if starved || directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var poller = pollfd(fd: socketDescriptor, events: events, revents: 0)
        let ready = poll(&poller, 1, Int32(ioTimeout * 1000))
        if ready == 0 { throw .timeout("the server did not answer within \(Int(ioTimeout)) s") }
        if ready < 0, errno != EINTR { throw .connection("waiting for the server: \(String(cString: strerror(errno)))") }
    }
}

/// Writes the done-markers of files renamed into place, one at a time, over the connection's
/// own SFTP channel, so that a file's channel goes on with the next file meanwhile.
final class Announcer {
    struct Item {
        var index: Int
        var marker: String
        var result: UploadResult
    }

    let sftp: OpaquePointer
    let channel: OpaquePointer
    var queue: [Item] = []
    private var next = 0
    var handle: OpaquePointer?
    /// The current request has gone out; its answer is awaited.
    private var requested = false

    init(sftp: OpaquePointer) {
        self.sftp = sftp
        channel = libssh2_sftp_get_channel(sftp)
    }

    /// The index of the file whose marker moved and how; nil with nothing to do.
    func step(session: OpaquePointer?, broken: Bool) -> (Int, Upload.Outcome)? {
        guard next < queue.count else { return nil }
        let item = queue[next]
        func done(_ failure: SFTPError?) -> (Int, Upload.Outcome) {
            requested = false
            next += 1
            if next == queue.count {
                queue.removeAll(keepingCapacity: true)
                next = 0
            }
            var result = item.result
            result.markerFailure = failure
            return (item.index, .finished(.success(result)))
        }
        if broken { return done(.session("the connection failed before the done-marker \(item.marker) was written")) }
        guard requested || Int(libssh2_channel_window_write_ex(channel, nil)) >= Upload.small(item.marker) else { return (item.index, .starved) }
        guard let handle else {
            let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
            guard let opened = libssh2_sftp_open_ex(sftp, item.marker, UInt32(item.marker.utf8.count), flags, 0o644, LIBSSH2_SFTP_OPENFILE) else {
                if libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN {
                    requested = true
                    return (item.index, .waiting)
                }
                return done(.last("creating the done-marker", item.marker, session: session, sftp: sftp))
            }
            handle = opened
            requested = false
            return (item.index, .progressed)
        }
        let closed = libssh2_sftp_close_handle(handle)
        if closed == LIBSSH2_ERROR_EAGAIN {
            requested = true
            return (item.index, .waiting)
        }
        self.handle = nil
        return done(closed == 0 ? nil : .last("closing the done-marker", item.marker, session: session, sftp: sftp))
    }
}

/// One SFTP channel, working on up to two files at once: the front one opens and writes while
/// the back one is flushed, checked, closed and renamed. The server takes a channel's requests
/// in turn, so the next file's open and write go out behind the last one's fsync instead of
/// two round trips later.
///
/// Two files share the channel's one byte stream, so no request may ever go out in part: a
/// request cut at the channel's flow-control window (the server's allowance of unread bytes)
/// would have the other file's next request land in its middle, and so would a failed file's
/// close (libssh2 drops the rest of a cut write when the server refuses an earlier one). libssh2
/// cuts requests at the window and does not say so, so every request is given only when it
/// fits whole: writes pass only what fits, less `reserve` bytes kept for the small
/// requests, and a small request waits until the window has room for it. (libssh2 also cuts at
/// the server's largest packet; a write request of up to 30,281 bytes stays whole with servers
/// that take 32 KB packets, as OpenSSH does and RFC 4254 expects.)
///
/// libssh2 keeps one request of each kind in progress per channel (open, write, fsync, fstat,
/// rename and unlink each have one slot), so opening and writing are the front's alone and
/// the rest the back's; a front that has written its file (or failed) waits until the back
/// slot is free.
final class Lane {
    let sftp: OpaquePointer
    let channel: OpaquePointer
    var front: Upload?
    var back: Upload?

    init(sftp: OpaquePointer) {
        self.sftp = sftp
        channel = libssh2_sftp_get_channel(sftp)
        var initial: UInt = 0
        libssh2_channel_window_write_ex(channel, &initial)
        reserve = min(Upload.reserve, Int(initial) / 4)
    }

    /// Bytes the server will take on this channel now without waiting.
    var window: Int { Int(libssh2_channel_window_write_ex(channel, nil)) }

    /// libssh2 is waiting for the acknowledgements of this channel's last write: its next
    /// write call collects them and makes no new requests (libssh2 keeps this per channel).
    var writeAwaitsAcks = false

    /// Window the writes leave for the small requests: `Upload.reserve`, or a quarter of what
    /// a server with a small window allows (so that its writes are not starved for good).
    let reserve: Int

    func remove(_ upload: Upload) {
        if front === upload { front = nil }
        if back === upload { back = nil }
    }

    /// Moves a front that has written its file (or failed) to the back, when the back is free.
    func promote() -> Bool {
        guard back == nil, let front, front.wantsBack else { return false }
        back = front
        self.front = nil
        return true
    }
}

/// One file's way to the server in five round trips: open; the writes (pipelined by libssh2);
/// fsync and fstat sent together and answered in order; close; and the rename, which waits
/// for the size check because it makes the file visible. Close goes alone because libssh2
/// frees the handle when it ends: sent with the other two, a close that ended early left fsync
/// a freed handle (a crash in about one push in 25).
final class Upload {
    enum Step { case open, write, finish, close, rename, abandon, discard }
    enum Outcome {
        case waiting
        /// The channel's window has no room for the next request: only the server's window
        /// adjustment can move this upload on.
        case starved
        case progressed
        case finished(Result<UploadResult, SFTPError>)
    }

    /// The two requests that end a file's writing, sent one after the other without waiting.
    enum Closing: Int, CaseIterable { case fsync, fstat }

    /// How a request of the closing group ended: its libssh2 result and, for a protocol
    /// error, the SFTP status it came with (read at once: the next request overwrites it).
    struct Answer { var code: Int32; var status: UInt }

    let index: Int
    let job: UploadJob
    var handle: OpaquePointer?
    var step = Step.open
    var input: FileHandle?
    /// The file's bytes from the first one the server has not acknowledged (`unacknowledged`)
    /// on: what libssh2 has in flight and what is read ahead to keep it in flight.
    var buffer: [UInt8] = []
    var unacknowledged = 0
    /// Bytes of the file handed to libssh2 so far (written and in flight).
    var handedOver: UInt64 = 0
    var endOfFile = false
    var written: UInt64 = 0
    var sent: Set<Closing> = []
    var partial: Closing?
    var answers: [Closing: Answer] = [:]
    var attributes = LIBSSH2_SFTP_ATTRIBUTES()
    /// Why this file failed, kept while its handle is closed and the partial upload removed,
    /// so the channel is clean for the files after it.
    var failure: SFTPError?
    /// The current step's request has gone out (its answer is awaited; the window no longer matters).
    private var requested = false
    /// A write libssh2 could send only in part (the socket was full): it is called again with
    /// the same bytes before anything else, and nothing is read from the file meanwhile.
    private var resending: Int?

    /// Bytes of one file kept outstanding, as OpenSSH's own client does (64 requests of 32 KB).
    /// Measured for 20 MB over a 20 ms round trip: 2 MB topped up at three quarters 0.71 s (the
    /// client 0.74 s), at half 0.85 s; 4 MB 0.68 s but slower on loopback, where libssh2 walks
    /// its longer list of outstanding packets on every call.
    static let inFlight = 2 << 20

    /// Window the writes leave for the small requests: more than any of them takes (a rename
    /// carries two paths of at most 4 KB each).
    static let reserve = 16 << 10

    /// An SFTP handle's longest form (the protocol's limit); libssh2 does not say a handle's length.
    static let handleLimit = 256

    init(index: Int, job: UploadJob) {
        self.index = index
        self.job = job
        input = FileHandle(forReadingAtPath: job.local.path)
    }

    deinit { try? input?.close() }

    /// Written or failed: what is left (flushing, checking, closing, renaming, removing a
    /// partial upload) is the back slot's work. A failed front closes its own handle first
    /// (libssh2 keeps a close's progress on the handle, not the channel).
    var wantsBack: Bool { step != .open && step != .write && step != .abandon }

    private func again(_ session: OpaquePointer?) -> Bool { libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN }

    /// A request libssh2 could send only in part: it must be called again before anything else.
    private func sending(_ session: OpaquePointer?) -> Bool {
        libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
    }

    private func error(_ operation: String, _ path: String, _ session: OpaquePointer?, _ lane: Lane, status: UInt? = nil) -> SFTPError {
        .last(operation, path, session: session, sftp: lane.sftp, status: status)
    }

    /// Ends this file with `error`, after closing its handle if one is open and removing the
    /// partial upload (which would otherwise hold the space a full disk needs for the next file).
    private func fail(_ error: SFTPError) -> Outcome {
        failure = error
        return go(handle == nil ? .discard : .abandon)
    }

    private func go(_ next: Step) -> Outcome {
        step = next
        requested = false
        return .progressed
    }

    /// Whether the current step's request may be called: it has gone out already, or the
    /// channel's window has room for all of its `bytes`.
    private func room(_ bytes: Int, _ lane: Lane) -> Bool { requested || lane.window >= bytes }

    /// libssh2 says to call again: the request has gone out (or part of it, which the pin finishes).
    private func awaiting() -> Outcome {
        requested = true
        return .waiting
    }

    /// The most file bytes whose write requests take at most `wire` bytes of the channel:
    /// libssh2 makes a request of every 30,000 bytes, each with a header of 25 bytes and the handle.
    static func payload(fitting wire: Int) -> Int {
        let header = 25 + handleLimit
        let request = 30_000 + header
        guard wire > 0 else { return 0 }
        return wire / request * 30_000 + max(0, wire % request - header)
    }

    /// The size on the wire of a small request: its fields and, at most, a handle or two paths.
    static func small(_ paths: String...) -> Int { 64 + handleLimit + paths.reduce(0) { $0 + $1.utf8.count } }

    func step(session: OpaquePointer?, lane: Lane) -> Outcome {
        switch step {
        case .open:
            guard input != nil else { return .finished(.failure(.localFile("cannot read \(job.local.path)"))) }
            guard room(Upload.small(job.temporary), lane) else { return .starved }
            let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
            guard let opened = libssh2_sftp_open_ex(lane.sftp, job.temporary, UInt32(job.temporary.utf8.count), flags, 0o644, LIBSSH2_SFTP_OPENFILE) else {
                return again(session) ? awaiting() : .finished(.failure(error("creating", job.temporary, session, lane)))
            }
            handle = opened
            return go(.write)
        case .write:
            return write(session: session, lane: lane)
        case .finish:
            // fsync and fstat go out together, each once the window has room for it whole. One
            // that went out only in part (the socket was full) is finished before anything else.
            if let partial {
                guard settle(partial, session, lane) else { return .waiting }
                self.partial = nil
            }
            for request in Closing.allCases where !sent.contains(request) {
                guard lane.window >= Upload.small() else { return .starved }
                guard settle(request, session, lane) else {
                    partial = request
                    return .waiting
                }
            }
            for request in Closing.allCases where answers[request] == nil {
                let code = call(request, lane)
                if code == LIBSSH2_ERROR_EAGAIN { return .waiting }
                answers[request] = answer(code, lane)
            }
            return go(.close)
        case .close:
            // Alone and last: libssh2 frees the handle when the close ends, however it ends.
            guard room(Upload.small(), lane) else { return .starved }
            let result = libssh2_sftp_close_handle(handle)
            if result == LIBSSH2_ERROR_EAGAIN { return awaiting() }
            handle = nil
            let closing = result == 0 ? nil : error("closing", job.temporary, session, lane)
            if let failure = checkClosing(session, lane) ?? closing { return fail(failure) }
            return go(.rename)
        case .rename:
            // Never asked to overwrite: a file already under the final name is not ours to replace.
            guard room(Upload.small(job.temporary, job.final), lane) else { return .starved }
            let flags = Int(LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE)
            let result = libssh2_sftp_rename_ex(lane.sftp, job.temporary, UInt32(job.temporary.utf8.count), job.final, UInt32(job.final.utf8.count), flags)
            if result == LIBSSH2_ERROR_EAGAIN { return awaiting() }
            guard result == 0 else { return fail(error("renaming \(job.temporary) to", job.final, session, lane)) }
            return .finished(.success(UploadResult(bytes: written)))
        case .abandon:
            guard room(Upload.small(), lane) else { return .starved }
            if libssh2_sftp_close_handle(handle) == LIBSSH2_ERROR_EAGAIN { return awaiting() }
            handle = nil
            return go(.discard)
        case .discard:
            // Only over a working connection; a failed transport has nothing more to say.
            if failure?.breaksConnection == false {
                guard room(Upload.small(job.temporary), lane) else { return .starved }
                if libssh2_sftp_unlink_ex(lane.sftp, job.temporary, UInt32(job.temporary.utf8.count)) == LIBSSH2_ERROR_EAGAIN { return awaiting() }
            }
            return .finished(.failure(failure!))
        }
    }

    /// libssh2 turns each call's buffer into pipelined write requests and returns what the
    /// server acknowledged; the next call passes the rest and may pass more. Topping the buffer
    /// up keeps close to `inFlight` bytes outstanding, so a distant server is never waited on per
    /// buffer; the acknowledged front is dropped once per `inFlight` bytes, which keeps the
    /// copying to about once per byte.
    private func write(session: OpaquePointer?, lane: Lane) -> Outcome {
        var count: Int
        if let resending {
            count = resending
        } else {
            let pending = buffer.count - unacknowledged
            if !endOfFile, pending <= Upload.inFlight * 3 / 4 {
                if unacknowledged >= Upload.inFlight {
                    buffer.removeFirst(unacknowledged)
                    unacknowledged = 0
                }
                do {
                    let more = try input!.read(upToCount: Upload.inFlight - pending) ?? Data()
                    if more.isEmpty { endOfFile = true } else { buffer.append(contentsOf: more) }
                } catch {
                    return fail(.localFile("reading \(job.local.path): \(error)"))
                }
            }
            if unacknowledged == buffer.count {
                return endOfFile ? go(.finish) : .progressed
            }
            // Beyond what libssh2 already holds, only new bytes whose requests fit the window
            // whole, less the reserve, so nothing it sends in this call can be cut.
            let held = Int(handedOver - written)
            count = min(buffer.count - unacknowledged, held + Upload.payload(fitting: lane.window - lane.reserve))
            if count == 0 { return .starved }
        }
        let windowBefore = lane.window
        let offersMore = written + UInt64(count) > handedOver
        // libssh2 turns the new bytes into requests only when it is not collecting acknowledgements.
        let makesRequests = !lane.writeAwaitsAcks
        let acknowledged = buffer.withUnsafeBufferPointer { bytes in
            bytes.baseAddress!.advanced(by: unacknowledged).withMemoryRebound(to: CChar.self, capacity: count) {
                libssh2_sftp_write(handle, $0, count)
            }
        }
        if makesRequests { handedOver = max(handedOver, written + UInt64(count)) }
        let cutShort = acknowledged == Int(LIBSSH2_ERROR_EAGAIN) && sending(session)
        // EAGAIN otherwise: the requests are out (they always fit the window) and libssh2 waits for their answers.
        lane.writeAwaitsAcks = acknowledged == Int(LIBSSH2_ERROR_EAGAIN) && !cutShort
        resending = cutShort ? count : nil
        if acknowledged == Int(LIBSSH2_ERROR_EAGAIN) { return .waiting }
        // 0: nothing acknowledged and no wait for the socket. Given no new bytes, libssh2 keeps
        // what it read for the next call, which the window may now allow; given new bytes, it
        // was still answering an earlier file's last write (a file that failed while its
        // writes were out) and takes them on the next call.
        if acknowledged == 0 {
            return offersMore || lane.window > windowBefore ? .progressed : .starved
        }
        guard acknowledged > 0 else { return fail(error("writing", job.temporary, session, lane)) }
        unacknowledged += acknowledged
        written += UInt64(acknowledged)
        return .progressed
    }

    /// Sends `request` (or answers it, when the answer is already there). False while libssh2
    /// still holds part of it.
    private func settle(_ request: Closing, _ session: OpaquePointer?, _ lane: Lane) -> Bool {
        let code = call(request, lane)
        if code == LIBSSH2_ERROR_EAGAIN {
            if sending(session) { return false }
        } else {
            answers[request] = answer(code, lane)
        }
        sent.insert(request)
        return true
    }

    private func answer(_ code: Int32, _ lane: Lane) -> Answer {
        Answer(code: code, status: code == LIBSSH2_ERROR_SFTP_PROTOCOL ? libssh2_sftp_last_error(lane.sftp) : 0)
    }

    private func call(_ request: Closing, _ lane: Lane) -> Int32 {
        switch request {
        case .fsync: libssh2_sftp_fsync(handle)
        case .fstat: libssh2_sftp_fstat_ex(handle, &attributes, 0)
        }
    }

    /// What is wrong with a closed file; nil when it may be renamed into place.
    private func checkClosing(_ session: OpaquePointer?, _ lane: Lane) -> SFTPError? {
        let path = job.temporary
        if let fsync = answers[.fsync], fsync.code != 0,
           !(fsync.code == LIBSSH2_ERROR_SFTP_PROTOCOL && fsync.status == UInt(LIBSSH2_FX_OP_UNSUPPORTED)) {
            // fsync@openssh.com where offered; a server without it still gets the size check.
            return error("flushing", path, session, lane, status: fsync.code == LIBSSH2_ERROR_SFTP_PROTOCOL ? fsync.status : nil)
        }
        if let fstat = answers[.fstat], fstat.code != 0 {
            return error("checking the size of", path, session, lane, status: fstat.code == LIBSSH2_ERROR_SFTP_PROTOCOL ? fstat.status : nil)
        }
        if attributes.flags & UInt(LIBSSH2_SFTP_ATTR_SIZE) == 0 {
            return .remote(operation: "checking the size of", path: path, code: UInt(LIBSSH2_FX_FAILURE),
                           message: "the server did not say the file's size, so it cannot be checked before the rename")
        }
        if attributes.filesize != written {
            return .remote(operation: "checking the size of", path: path, code: UInt(LIBSSH2_FX_FAILURE),
                           message: "the server has \(attributes.filesize) bytes, \(written) were sent")
        }
        return nil
    }
}
