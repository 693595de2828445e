import Foundation
import GatewayCore

/// An SFTP destination as a transport: one session per delivery, each file written under a
/// temporary name, its size checked and renamed into place (then its done-marker), several
/// files at a time over parallel channels. A file an earlier attempt may have put in place
/// is looked for first and never uploaded again; a stranger's file is never overwritten.
public final class SFTPTransport: Transport {
    public struct Layout: Sendable {
        /// Where files are written before their rename, when not beside their final name.
        public var uploadDirectory: String?
        public var remoteDirectory: String
        /// An empty `NAME + doneMarker` written after each file, when the server wants one.
        public var doneMarker: String?

        public init(remoteDirectory: String, uploadDirectory: String? = nil, doneMarker: String? = nil) {
            self.remoteDirectory = remoteDirectory
            self.uploadDirectory = uploadDirectory
            self.doneMarker = doneMarker
        }
    }

    private let endpoint: SFTPEndpoint
    private let layout: Layout
    /// The session is opened on another thread from the start, so the server's handshake
    /// (about 70 ms on loopback) overlaps the caller's ledger work before `deliver`.
    private let connecting: BackgroundResult<SFTPConnection>

    public init(endpoint: SFTPEndpoint, layout: Layout) {
        self.endpoint = endpoint
        self.layout = layout
        connecting = BackgroundResult { try SFTPConnection(endpoint) }
    }

    deinit { if case .success(let connection) = connecting.result { connection.close() } }

    public func deliver(_ parcels: [Parcel], report: (Int, Result<Receipt, TransportFailure>) throws -> Void) throws {
        do {
            try deliverOverSession(parcels, report: report)
        } catch let error as SFTPError {
            throw TransportFailure(error.description, isTransient: error.isTransient)
        }
    }

    private func deliverOverSession(_ parcels: [Parcel], report: (Int, Result<Receipt, TransportFailure>) throws -> Void) throws {
        let connection = try connecting.result.get()
        func how(_ path: String) -> String { "by SFTP to \(endpoint.user)@\(endpoint.host):\(path)" }
        /// A file's own trouble fails it alone; a broken connection ends the session.
        func fileFailure(_ error: SFTPError) throws -> TransportFailure {
            if error.breaksConnection { throw error }
            return TransportFailure(error.description, isTransient: false)
        }
        var uploads: [Int] = []
        for (index, parcel) in parcels.enumerated() {
            guard let earlier = parcel.earlierPlacement else { uploads.append(index); continue }
            // Where the earlier attempt put it, then today's name (a `{date}` may differ).
            let size = UInt64(LocalFile.size(of: parcel.file) ?? 0)
            var found: String?
            var stranger: SFTPError?
            do {
                for place in [earlier, parcel.placement] where found == nil && stranger == nil {
                    guard let remoteSize = try connection.size(of: place) else { continue }
                    if remoteSize == size { found = place } else { stranger = SFTPError.nameTaken(place, size: remoteSize) }
                }
            } catch {
                try report(index, .failure(try fileFailure(error)))
                continue
            }
            if let stranger {
                try report(index, .failure(try fileFailure(stranger)))
            } else if let found {
                // A crash between the rename and the marker would otherwise leave it unannounced for good.
                if let marker = layout.doneMarker {
                    do { try connection.touch(found + marker) } catch {
                        try report(index, .failure(try fileFailure(error)))
                        continue
                    }
                }
                try report(index, .success(Receipt(placement: found, how: how(found), bytes: size, alreadyThere: true)))
            } else {
                uploads.append(index)
            }
        }
        let jobs = uploads.map { index in
            let parcel = parcels[index]
            let name = (parcel.placement as NSString).lastPathComponent
            return UploadJob(local: parcel.file, temporary: (layout.uploadDirectory ?? layout.remoteDirectory) + "/.\(name).part",
                             final: parcel.placement, marker: layout.doneMarker.map { parcel.placement + $0 })
        }
        var sessionFailure: SFTPError?
        do {
            try connection.uploadMany(jobs) { job, result in
                let index = uploads[job]
                switch result {
                case .success(let upload) where upload.markerFailure == nil:
                    try report(index, .success(Receipt(placement: jobs[job].final, how: how(jobs[job].final), bytes: upload.bytes)))
                case .success(let upload):
                    // In place but not announced: a lost connection leaves it in doubt (the next
                    // attempt finds it and writes the marker); a refused marker fails it.
                    let error = upload.markerFailure!
                    if error.breaksConnection {
                        sessionFailure = sessionFailure ?? error
                        try report(index, .failure(TransportFailure(error.description, isTransient: true, inDoubt: true)))
                    } else {
                        try report(index, .failure(TransportFailure(error.description, isTransient: false)))
                    }
                case .failure(let error):
                    if error.breaksConnection { sessionFailure = sessionFailure ?? error }
                    else { try report(index, .failure(TransportFailure(error.description, isTransient: false))) }
                }
            }
        } catch let error as SFTPError {
            sessionFailure = sessionFailure ?? error
        }
        if let sessionFailure { throw sessionFailure }
    }
}
