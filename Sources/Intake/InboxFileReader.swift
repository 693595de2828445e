import Foundation
import GatewayCore

/// What one position of an inbox file held: a document, or why it was refused.
public struct ReadDocument: Sendable {
    /// 0-based position in the file (the line number - 1 for NDJSON).
    public let index: Int
    public let result: Result<InboxDocument, DocumentRefusal>
}

/// Why a whole file could not be read; no document of it is applied.
public struct FileRefusal: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// An inbox file's content as intake reads it: a `.json` file's bytes (its size checked
/// first), or an NDJSON file that is streamed line by line.
public enum InboxContent {
    case json([UInt8])
    case ndjson(InboxFile)
}

/// Reads the three file forms of CONTRACT.md: one document, a batch (array or
/// `{"documents": [...]}`), or NDJSON. Memory holds at most a `.json` file's bytes and one
/// document, or one NDJSON line, whatever the file holds.
public struct InboxFileReader: Sendable {
    /// A `.json` file larger than this is refused unread; large batches belong in `.ndjson`.
    public var maxJSONFileBytes: Int
    /// One NDJSON line (one document) larger than this is refused, and never held whole.
    public var maxLineBytes: Int

    public init(maxJSONFileBytes: Int = 16 << 20, maxLineBytes: Int = 1 << 20) {
        self.maxJSONFileBytes = maxJSONFileBytes
        self.maxLineBytes = maxLineBytes
    }

    public static func isNDJSON(_ name: String) -> Bool { name.lowercased().hasSuffix(".ndjson") }

    /// Why a `.json` file of this size is not read at all, or nil when it may be.
    public func sizeRefusal(_ size: Int) -> FileRefusal? {
        guard size > maxJSONFileBytes else { return nil }
        return FileRefusal(reason: "the file is \(size) bytes; a .json file may be at most \(maxJSONFileBytes) bytes (send large batches as .ndjson, one document per line)")
    }

    /// Opens a file and reads it as its name says (for `gateway validate`).
    public func read(path: String, _ body: (ReadDocument) throws -> Void) throws {
        let file: InboxFile
        switch InboxFile.open(path, followLinks: true) {
        case .success(let opened): file = opened
        case .failure(let why): throw FileRefusal(reason: why.description)
        }
        if InboxFileReader.isNDJSON(path) { return try read(.ndjson(file), body) }
        if let refusal = sizeRefusal(file.size) { throw refusal }
        try read(.json(try file.readAll()), body)
    }

    /// Calls `body` for each document in order. Throws `FileRefusal` when the file as a whole
    /// is unreadable, before any document has been handed out (NDJSON lines are refused one
    /// by one instead).
    public func read(_ content: InboxContent, _ body: (ReadDocument) throws -> Void) throws {
        let reader = DocumentReader()
        switch content {
        case .ndjson(let file):
            var index = 0
            try LineReader.forEachLine(of: file, maxLineBytes: maxLineBytes) { line, complete in
                defer { index += 1 }
                if complete, line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
                guard complete else {
                    try body(ReadDocument(index: index, result: .failure(DocumentRefusal(
                        field: nil, expected: "a line of at most \(maxLineBytes) bytes", found: "a longer line"))))
                    return
                }
                do {
                    let value = try JSONParser.parse(line)
                    try body(ReadDocument(index: index, result: Result { () throws(DocumentRefusal) in try reader.read(value) }))
                } catch let error as JSONSyntaxError {
                    try body(ReadDocument(index: index, result: .failure(DocumentRefusal(
                        field: nil, expected: "one JSON document on the line", found: "malformed JSON at column \(error.column): \(error.message)"))))
                }
            }
        case .json(let bytes):
            do {
                try JSONParser.forEachDocument(in: bytes) { index, parsed in
                    let result: Result<InboxDocument, DocumentRefusal>
                    switch parsed {
                    case .success(let value): result = Result { () throws(DocumentRefusal) in try reader.read(value) }
                    case .failure(let error):
                        result = .failure(DocumentRefusal(field: nil, expected: "a well-formed document",
                                                          found: "malformed JSON at line \(error.line), column \(error.column) of the document: \(error.message)"))
                    }
                    try body(ReadDocument(index: index, result: result))
                }
            } catch let error as JSONSyntaxError {
                throw FileRefusal(reason: "malformed JSON at \(error)")
            }
        }
    }
}

enum LineReader {
    /// Streams a file's lines (without the newline) in bounded memory. A UTF-8 byte order
    /// mark at the very start is dropped. A line longer than `maxLineBytes` is never held:
    /// the body gets what was kept of it with `complete` false.
    static func forEachLine(of file: InboxFile, maxLineBytes: Int, _ body: ([UInt8], _ complete: Bool) throws -> Void) throws {
        var line: [UInt8] = []
        var overlong = false
        var atStart = true
        func take(_ part: UnsafeRawBufferPointer) {
            guard !overlong else { return }
            if line.count + part.count > maxLineBytes {
                overlong = true
                line.removeAll(keepingCapacity: false)
            } else {
                line.append(contentsOf: part)
            }
        }
        var failure: (any Error)?
        /// Thrown to stop reading once the body has failed; the body's own error is rethrown.
        let stop = InboxFileError(path: file.path, operation: "stop reading", code: 0)
        do {
            try file.forEachChunk { chunk throws(InboxFileError) in
                var rest = chunk
                if atStart {
                    atStart = false
                    if rest.starts(with: [0xEF, 0xBB, 0xBF]) { rest = UnsafeRawBufferPointer(rebasing: rest[3...]) }
                }
                while let newline = rest.firstIndex(of: 0x0A) {
                    take(UnsafeRawBufferPointer(rebasing: rest[rest.startIndex..<newline]))
                    do { try body(line, !overlong) } catch { failure = error; throw stop }
                    line.removeAll(keepingCapacity: line.capacity <= 1 << 16)
                    overlong = false
                    rest = UnsafeRawBufferPointer(rebasing: rest[(newline + 1)...])
                }
                take(rest)
            }
        } catch {
            if let failure { throw failure }
            throw FileRefusal(reason: "the file could not be read: \(error)")
        }
        if !line.isEmpty || overlong { try body(line, !overlong) }
    }
}
