import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An entry's name as the file system holds it: bytes, which need not be UTF-8.
public struct EntryName: Sendable, Hashable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { bytes = Array(text.utf8) }

    public var isUTF8: Bool { String(validating: bytes, as: UTF8.self) != nil }

    /// The name as text: itself when it is UTF-8, else with every byte that breaks UTF-8
    /// written as `%XX`, so that a person can still recognise it and it can be moved by it.
    public var text: String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var result = ""
        var index = 0
        while index < bytes.count {
            let length = UTF8Check.sequenceLength(bytes, at: index)
            if length > 0 {
                result += String(decoding: bytes[index..<(index + length)], as: UTF8.self)
                index += length
            } else {
                result += "%" + String(bytes[index], radix: 16, uppercase: true).leftPadded(to: 2)
                index += 1
            }
        }
        return result
    }

    /// The contract's files that are still being written: `NAME.tmp` and `.NAME` (never read).
    public var isReady: Bool { bytes.first != UInt8(ascii: ".") && !bytes.ends(with: Array(".tmp".utf8)) }

    /// The entries of a folder, by their bytes, sorted; `.` and `..` left out.
    public static func entries(of folder: String) throws -> [EntryName] {
        guard let directory = opendir(folder) else { throw InboxFileError(path: folder, operation: "list", code: errno) }
        defer { closedir(directory) }
        var names: [EntryName] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(EntryName(bytes: name))
        }
        return names.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }
}

/// What an entry is, seen without following it (lstat).
public enum EntryKind: String, Sendable {
    case regularFile = "a regular file"
    case directory = "a directory"
    case symbolicLink = "a symbolic link"
    case fifo = "a FIFO (named pipe)"
    case socket = "a socket"
    case device = "a device"
    case missing = "gone"

    public static func of(path: String) -> EntryKind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        return EntryKind(mode: info.st_mode)
    }

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regularFile
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        default: self = .device
        }
    }
}

/// A system call on an inbox entry that failed, with the path and the system's word for why.
public struct InboxFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let code: Int32
    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Why an entry is not read as an inbox file; nothing of it is opened for reading.
public struct UnreadableEntry: Error, Sendable, CustomStringConvertible {
    public let kind: EntryKind
    public let detail: String?
    /// What tells this entry from another of the same name (see `InboxFile.identity`).
    public let identity: String
    public var description: String {
        switch kind {
        case .regularFile: return "the file cannot be read: \(detail ?? "unknown error")"
        case .symbolicLink: return "it is a symbolic link; the gateway reads only regular files put in inbox/ (the link is kept, its target is not touched)"
        default: return "it is \(kind.rawValue), not a regular file; the gateway reads only regular files put in inbox/"
        }
    }
}

/// A regular file opened for intake. It is opened with `O_NOFOLLOW | O_NONBLOCK` and checked
/// with fstat, so a link is never followed and a FIFO or a device never blocks a run; every
/// read goes through the same descriptor, so the file read is the file checked.
public final class InboxFile {
    public let path: String
    public let size: Int
    /// Device, inode, size and modification time: what tells this file from another of the same name.
    public let identity: String
    private let descriptor: Int32

    /// Opens `path` for reading, or says why it is not an inbox file. `followLinks` is for a
    /// file named on the command line (`gateway validate`), never for the inbox.
    public static func open(_ path: String, followLinks: Bool = false) -> Result<InboxFile, UnreadableEntry> {
        var seen = stat()
        let found = followLinks ? stat(path, &seen) : lstat(path, &seen)
        guard found == 0 else {
            return .failure(UnreadableEntry(kind: .regularFile, detail: String(cString: strerror(errno)), identity: path))
        }
        let kind = EntryKind(mode: seen.st_mode)
        guard kind == .regularFile else { return .failure(UnreadableEntry(kind: kind, detail: nil, identity: identity(of: seen))) }
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW)
        let descriptor = Glibc.open(path, flags)
        guard descriptor >= 0 else {
            let code = errno
            return .failure(UnreadableEntry(kind: code == ELOOP ? .symbolicLink : .regularFile,
                                            detail: code == ELOOP ? nil : String(cString: strerror(code)), identity: identity(of: seen)))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            return .failure(UnreadableEntry(kind: .regularFile, detail: String(cString: strerror(code)), identity: identity(of: seen)))
        }
        // Swapped for something else between lstat and open: refuse what it is now.
        let opened = EntryKind(mode: info.st_mode)
        guard opened == .regularFile else {
            close(descriptor)
            return .failure(UnreadableEntry(kind: opened, detail: nil, identity: identity(of: info)))
        }
        return .success(InboxFile(path: path, descriptor: descriptor, info: info))
    }

    private init(path: String, descriptor: Int32, info: stat) {
        self.path = path
        self.descriptor = descriptor
        self.size = Int(info.st_size)
        self.identity = InboxFile.identity(of: info)
    }

    private static func identity(of info: stat) -> String {
        "\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }

    deinit { close(descriptor) }

    /// The whole file; meant for files whose size was checked first.
    public func readAll() throws(InboxFileError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        try forEachChunk { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The file from its start, a megabyte at a time (pread: any earlier reading does not matter).
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws(InboxFileError) -> Void) throws(InboxFileError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            let count = pread(descriptor, buffer.baseAddress, buffer.count, offset)
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw InboxFileError(path: path, operation: "read", code: errno)
            }
            if count == 0 { return }
            offset += off_t(count)
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
