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
    public var description: String { reason }
}

/// Reads the three file forms of CONTRACT.md: one document, a batch (array or
/// `{"documents": [...]}`), or NDJSON, which streams line by line so memory stays flat.
public struct InboxFileReader: Sendable {
    /// A `.json` file larger than this is refused; large batches belong in `.ndjson`.
    public var maxJSONFileBytes: Int
    /// One NDJSON line (one document) larger than this is refused.
    public var maxLineBytes: Int

    public init(maxJSONFileBytes: Int = 16 << 20, maxLineBytes: Int = 1 << 20) {
        self.maxJSONFileBytes = maxJSONFileBytes
        self.maxLineBytes = maxLineBytes
    }

    public static func isNDJSON(_ url: URL) -> Bool { url.pathExtension.lowercased() == "ndjson" }

    /// Calls `body` for each document in order. Throws `FileRefusal` when the file as a whole
    /// is unreadable (before any document has been handed out, except for NDJSON lines, which
    /// are refused one by one).
    public func read(_ url: URL, _ body: (ReadDocument) throws -> Void) throws {
        let reader = DocumentReader()
        if InboxFileReader.isNDJSON(url) {
            var index = 0
            try LineReader.forEachLine(of: url, maxLineBytes: maxLineBytes) { line in
                defer { index += 1 }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
                guard line.count <= maxLineBytes else {
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
            return
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size <= maxJSONFileBytes else {
            throw FileRefusal(reason: "the file is \(size) bytes; a .json file may be at most \(maxJSONFileBytes) bytes (send large batches as .ndjson, one document per line)")
        }
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: url)) } catch { throw FileRefusal(reason: "the file could not be read: \(error.localizedDescription)") }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw FileRefusal(reason: "malformed JSON at \(error)") }
        let documents: [JSONValue]
        switch value {
        case .array(let items): documents = items
        case .object(let members) where members["documents"] != nil && members["type"] == nil:
            guard case .array(let items) = members["documents"]! else {
                throw FileRefusal(reason: "\"documents\" must be an array of documents")
            }
            documents = items
        case .object: documents = [value]
        default: throw FileRefusal(reason: "expected a document (an object), an array of documents or {\"documents\": [...]}, found \(value.typeWord)")
        }
        for (index, document) in documents.enumerated() {
            try body(ReadDocument(index: index, result: Result { () throws(DocumentRefusal) in try reader.read(document) }))
        }
    }
}

enum LineReader {
    /// Streams a file's lines (without the newline) in bounded memory. A line longer than
    /// `maxLineBytes` is handed over cut to `maxLineBytes + 1` bytes so the caller can refuse it.
    static func forEachLine(of url: URL, maxLineBytes: Int, _ body: ([UInt8]) throws -> Void) throws {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw FileRefusal(reason: "the file could not be opened")
        }
        defer { try? handle.close() }
        var line: [UInt8] = []
        var overlong = false
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 16) ?? Data() } catch { throw FileRefusal(reason: "the file could not be read: \(error)") }
            if chunk.isEmpty { break }
            for byte in chunk {
                if byte == 0x0A {
                    try body(line)
                    line.removeAll(keepingCapacity: true)
                    overlong = false
                } else if !overlong {
                    line.append(byte)
                    if line.count > maxLineBytes { overlong = true }
                }
            }
        }
        if !line.isEmpty { try body(line) }
    }
}
