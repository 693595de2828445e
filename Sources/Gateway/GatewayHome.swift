import Checksums
import Foundation
import Intake

/// The folders of a gateway home. Everything the gateway reads or writes lives below it.
public struct GatewayHome: Sendable {
    public let root: URL

    public init(_ root: URL) { self.root = root.standardizedFileURL }

    public var inbox: URL { root.appendingPathComponent("inbox") }
    /// Files claimed from the inbox and not yet finished; resumed first after a crash.
    public var processing: URL { inbox.appendingPathComponent(".processing") }
    public var outbox: URL { root.appendingPathComponent("outbox") }
    public var mappings: URL { root.appendingPathComponent("mappings") }
    /// PDF invoice templates (`NAME.yml`).
    public var templates: URL { root.appendingPathComponent("templates") }
    public var archive: URL { root.appendingPathComponent("archive") }
    public var refused: URL { root.appendingPathComponent("refused") }
    public var duplicates: URL { root.appendingPathComponent("duplicates") }
    /// Rendered documents that failed validation, with their errors; never published.
    public var failed: URL { root.appendingPathComponent("failed") }
    /// What a running `gateway run` says of itself for `gateway status`: its next scheduled runs.
    public var serviceState: URL { root.appendingPathComponent(".gateway-service.json") }

    public func createFolders() throws {
        for folder in [inbox, processing, outbox, mappings, archive, refused, duplicates, failed] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
    }

    /// Removes what a crash left under the temporary names atomic writes use (`.NAME.tmp`)
    /// in the folders only the gateway writes: `outbox/` and its subfolders, `archive/`,
    /// `refused/`, `duplicates/`, `failed/`. Never `inbox/`, where another program may be
    /// writing right now. Returns the paths removed, relative to the home.
    public func removeLeftoverTemporaries() throws -> [String] {
        var removed: [String] = []
        for folder in [outbox, archive, refused, duplicates, failed] {
            guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { continue }
            for case let url as URL in walker where FileMoves.isTemporary(url.lastPathComponent) {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
                try FileManager.default.removeItem(at: url)
                removed.append(relative(url))
            }
        }
        return removed.sorted()
    }

    /// A path relative to the home, as listings show it.
    public func relative(_ url: URL) -> String {
        let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        let path = url.standardizedFileURL.path
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}

enum FileMoves {
    static func temporaryName(of name: String) -> String { ".\(name).tmp" }
    static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.hasSuffix(".tmp") && name.count > 5 }

    /// Writes `bytes` under a temporary name in the same folder, flushes it, then renames it
    /// into place, so no reader ever sees a partial file under the final name.
    static func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(temporaryName(of: url.lastPathComponent))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        try rename(temporary, to: url)
    }

    /// Renames an entry known by its bytes (its name need not be UTF-8).
    static func rename(_ entry: EntryName, in folder: URL, to target: URL) throws {
        let source = Array(folder.path.utf8) + [UInt8(ascii: "/")] + entry.bytes + [0]
        let done = source.withUnsafeBufferPointer { from in
            from.withMemoryRebound(to: CChar.self) { Foundation.rename($0.baseAddress!, target.path) }
        }
        guard done == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path,
                NSLocalizedDescriptionKey: "cannot move \(folder.path)/\(entry.text) to \(target.path): \(String(cString: strerror(errno)))"])
        }
    }

    /// rename(2): atomic within one file system, and replaces an existing file of that name.
    /// The target's folder is made when it is missing (looked for only then: a push moves
    /// thousands of files into one `sent/`).
    static func rename(_ from: URL, to: URL) throws {
        if Foundation.rename(from.path, to.path) == 0 { return }
        if errno == ENOENT, FileManager.default.fileExists(atPath: from.path) {
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        guard Foundation.rename(from.path, to.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: to.path,
                NSLocalizedDescriptionKey: "cannot move \(from.path) to \(to.path): \(String(cString: strerror(errno)))"])
        }
    }
}

/// Names of files the gateway keeps (archive/, refused/, duplicates/), made to fit the file
/// system: a name has at most 255 bytes, and the reason file beside a refused one and the
/// temporary name it is written under add to it.
enum StoredNames {
    static let nameMax = 255
    /// Leaves room for ".reason.json" and the "." + ".tmp" of an atomic write.
    static let keptMax = 200

    /// `name` itself when it fits in `maxBytes`; else its start, cut at a character, a digest
    /// of the whole name (so two long names that start alike stay apart) and its extension.
    static func fitted(_ name: String, maxBytes: Int = keptMax) -> String {
        guard name.utf8.count > maxBytes else { return name }
        let digest = "~" + SHA256.hex(name).prefix(16)
        let dot = name.lastIndex(of: ".")
        let suffix = dot.map { String(name[$0...]) }.flatMap { $0.utf8.count <= 12 ? $0 : nil } ?? ""
        let room = maxBytes - digest.utf8.count - suffix.utf8.count
        var start = ""
        for character in name {
            guard start.utf8.count + String(character).utf8.count <= room else { break }
            start.append(character)
        }
        return start + digest + suffix
    }
}
