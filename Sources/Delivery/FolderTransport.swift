import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local or mounted directory as a transport (an ERP's import share): each file written
/// under a temporary name, flushed to disk and linked to its final name, which never shows a
/// partial file and never replaces another file. A file an interrupted attempt already put in
/// place (same size) counts as delivered.
public struct FolderTransport: Transport {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public func deliver(_ parcels: [Parcel], report: (Int, Result<Receipt, TransportFailure>) throws -> Void) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            // A share that is not mounted: worth another try later.
            throw TransportFailure("the directory \(directory.path) does not exist (is the share mounted?)", isTransient: true)
        }
        for (index, parcel) in parcels.enumerated() {
            try report(index, Result { () throws(TransportFailure) in try put(parcel) })
        }
    }

    private func put(_ parcel: Parcel) throws(TransportFailure) -> Receipt {
        guard let size = LocalFile.size(of: parcel.file) else { throw TransportFailure("\(parcel.file.path) cannot be read", isTransient: false) }
        for place in [parcel.earlierPlacement, parcel.placement].compactMap({ $0 }) {
            guard let found = LocalFile.size(atPath: place) else { continue }
            // Ours when an earlier attempt was recorded and the size matches; else a stranger's.
            guard found == size, parcel.earlierPlacement != nil else {
                throw TransportFailure("a file of \(found) bytes already has the name \(place); not replacing it", isTransient: false)
            }
            return Receipt(placement: place, how: "copied to \(place)", bytes: UInt64(size), alreadyThere: true)
        }
        let final = parcel.placement
        let temporary = (final as NSString).deletingLastPathComponent + "/." + (final as NSString).lastPathComponent + ".part"
        unlink(temporary)
        do {
            try Self.copy(parcel.file.path, to: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        // link(2) fails where the final name exists, so nothing is ever replaced.
        guard link(temporary, final) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TransportFailure("linking \(temporary) to \(final) failed: \(reason)", isTransient: false)
        }
        unlink(temporary)
        Self.syncDirectory(of: final)
        return Receipt(placement: final, how: "copied to \(final)", bytes: UInt64(size))
    }

    static func copy(_ source: String, to target: String) throws(TransportFailure) {
        let input = open(source, O_RDONLY)
        guard input >= 0 else { throw TransportFailure("\(source) cannot be read: \(String(cString: strerror(errno)))", isTransient: false) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard output >= 0 else { throw TransportFailure("\(target) cannot be written: \(String(cString: strerror(errno)))", isTransient: false) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if read == 0 { break }
            guard read > 0 else { throw TransportFailure("reading \(source) failed: \(String(cString: strerror(errno)))", isTransient: false) }
            var written = 0
            while written < read {
                let n = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, read - written) }
                guard n > 0 else { throw TransportFailure("writing \(target) failed: \(String(cString: strerror(errno)))", isTransient: false) }
                written += n
            }
        }
        guard fsync(output) == 0 else { throw TransportFailure("flushing \(target) failed: \(String(cString: strerror(errno)))", isTransient: false) }
    }

    /// The new name survives a power cut once its directory is flushed too.
    static func syncDirectory(of path: String) {
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        guard folder >= 0 else { return }
        fsync(folder)
        close(folder)
    }
}
