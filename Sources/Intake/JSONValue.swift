/// A JSON value that keeps numbers as their literal text, so that amounts are never read
/// through binary floating point.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The word a person would use for the value's type in an error message.
    public var typeWord: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A short rendering of the value for "found ..." in refusals.
    public var shortDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.count > 48 ? String(n.prefix(45)) + "..." : n
        case .string(let s):
            let cut = s.count > 48 ? String(s.prefix(45)) + "..." : s
            return "\"\(cut)\""
        case .array(let a): return "an array of \(a.count)"
        case .object: return "an object"
        }
    }
}

public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes. It refuses invalid UTF-8, nesting deeper than
/// `maxDepth`, documents of more than `maxValues` values (so that no document, however small
/// its values, holds more memory than that allows) and duplicate keys (which other readers
/// would resolve differently).
public struct JSONParser {
    public static let maxDepth = 32
    /// Values in one document: an order of 10,000 lines holds about 100,000.
    public static let maxValues = 250_000

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    private var values = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// One document: the whole of `data` is one JSON value.
    public static func parse(_ data: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        if let bad = UTF8Check.firstInvalidOffset(data) {
            let (line, column) = position(of: bad, in: data)
            throw JSONSyntaxError(line: line, column: column, message: "the file is not valid UTF-8 (byte offset \(bad))")
        }
        return try data.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in try parseDocument(buffer) }
    }

    /// One document from bytes already known to be UTF-8.
    static func parseDocument(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index != buffer.count { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    /// Line and column (both from 1) of a byte offset.
    static func position<Bytes: RandomAccessCollection>(of offset: Int, in data: Bytes) -> (Int, Int)
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var line = 1
        var lineStart = data.startIndex
        for i in data.startIndex..<min(data.startIndex + offset, data.endIndex) where data[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, data.startIndex + offset - lineStart + 1)
    }

    private func error(_ message: String) -> JSONSyntaxError {
        let (line, column) = JSONParser.position(of: index, in: bytes)
        return JSONSyntaxError(line: line, column: column, message: message)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        values += 1
        if values > JSONParser.maxValues { throw error("a document of more than \(JSONParser.maxValues) values") }
        guard index < bytes.count else { throw error("unexpected end of the file") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try scanNumber()
            return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
        default: throw error("expected a JSON value")
        }
    }

    /// Checks one value's syntax and moves past it, building nothing: memory stays the same
    /// whatever the value holds.
    private mutating func skipValue() throws(JSONSyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of the file") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            try enter()
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; depth -= 1; return }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
                try skipString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
                index += 1
                skipWhitespace()
                try skipValue()
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of the file inside an object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; break }
                throw error("expected ',' or '}' in an object")
            }
            depth -= 1
        case UInt8(ascii: "["):
            try enter()
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; depth -= 1; return }
            while true {
                skipWhitespace()
                try skipValue()
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of the file inside an array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; break }
                throw error("expected ',' or ']' in an array")
            }
            depth -= 1
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try expectWord("true")
        case UInt8(ascii: "f"): try expectWord("false")
        case UInt8(ascii: "n"): try expectWord("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw error("expected a JSON value")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("expected \(word)") }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] { throw error("expected \(word)") }
        index += count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after \"\(key)\"") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            if members.updateValue(value, forKey: key) != nil { throw error("the member \"\(key)\" appears twice") }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the file inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; break }
            throw error("expected ',' or '}' in an object")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the file inside an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; break }
            throw error("expected ',' or ']' in an array")
        }
        depth -= 1
        return .array(elements)
    }

    private mutating func scanNumber() throws(JSONSyntaxError) -> Range<Int> {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.index
            while p.index < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.index]) { p.index += 1 }
            return p.index - s
        }
        let intStart = index
        guard digits(&self) > 0 else { throw error("expected digits in a number") }
        if bytes[intStart] == UInt8(ascii: "0"), index - intStart > 1 { throw error("a number may not start with 0") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("expected digits after the decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("expected digits in the exponent") }
        }
        return start..<index
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        var scalars: [UInt8] = []
        try scanString(into: &scalars)
        return String(decoding: scalars, as: UTF8.self)
    }

    private mutating func skipString() throws(JSONSyntaxError) {
        var nothing = DiscardedText()
        try scanString(into: &nothing)
    }

    /// Moves past a string, checking its escapes; collects its text when given a buffer.
    private mutating func scanString<Sink: StringSink>(into sink: inout Sink) throws(JSONSyntaxError) {
        index += 1
        var runStart = index
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                sink.append(run: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                return
            }
            if byte < 0x20 { throw error("a control character inside a string must be escaped") }
            if byte == UInt8(ascii: "\\") {
                sink.append(run: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                guard index < bytes.count else { throw error("unterminated escape") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): sink.append(byte: 0x22)
                case UInt8(ascii: "\\"): sink.append(byte: 0x5C)
                case UInt8(ascii: "/"): sink.append(byte: 0x2F)
                case UInt8(ascii: "b"): sink.append(byte: 0x08)
                case UInt8(ascii: "f"): sink.append(byte: 0x0C)
                case UInt8(ascii: "n"): sink.append(byte: 0x0A)
                case UInt8(ascii: "r"): sink.append(byte: 0x0D)
                case UInt8(ascii: "t"): sink.append(byte: 0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("a lone surrogate in a \\u escape")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("a lone surrogate in a \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("a lone surrogate in a \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("an invalid \\u escape") }
                    for unit in UTF8.encode(scalar)! { sink.append(byte: unit) }
                default: throw error("an unknown escape \\\(Character(Unicode.Scalar(escaped)))")
                }
                runStart = index
                continue
            }
            index += 1
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("a short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("a bad hex digit in a \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

/// Where a string's text goes while it is scanned: kept, or dropped when only its syntax matters.
protocol StringSink {
    mutating func append(run: UnsafeBufferPointer<UInt8>)
    mutating func append(byte: UInt8)
}

extension Array: StringSink where Element == UInt8 {
    mutating func append(run: UnsafeBufferPointer<UInt8>) { append(contentsOf: run) }
    mutating func append(byte: UInt8) { append(byte) }
}

struct DiscardedText: StringSink {
    func append(run: UnsafeBufferPointer<UInt8>) {}
    func append(byte: UInt8) {}
}

extension JSONParser {
    /// The forms of a `.json` inbox file (CONTRACT.md): one document, an array of documents,
    /// or `{"documents": [...]}`.
    public enum Form: Sendable { case single, array, wrapped }

    /// Hands out the documents of a `.json` file one at a time, so memory holds the file's
    /// bytes and one document, never a tree of the whole batch. The whole file's syntax is
    /// checked first, without building anything: a file that is not JSON is refused whole,
    /// before any of its documents is handed out. A document that breaks a limit (too many
    /// values, a key given twice) is refused alone, with its line and column within it.
    /// A UTF-8 byte order mark at the start is skipped (RFC 8259 lets a parser ignore it).
    @discardableResult
    public static func forEachDocument(
        in data: [UInt8], _ body: (Int, Result<JSONValue, JSONSyntaxError>) throws -> Void
    ) throws -> Form {
        let start = data.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        if let bad = UTF8Check.firstInvalidOffset(data, from: start) {
            let (line, column) = position(of: bad, in: data)
            throw JSONSyntaxError(line: line, column: column, message: "the file is not valid UTF-8 (byte offset \(bad))")
        }
        return try data.withUnsafeBufferPointer { whole in
            let buffer = UnsafeBufferPointer(rebasing: whole[start...])
            var parser = JSONParser(bytes: buffer)
            let (form, batchStart) = try parser.scanTopLevel()
            guard let batchStart else {
                try body(0, Result { () throws(JSONSyntaxError) in try parseDocument(buffer) })
                return form
            }
            parser.index = batchStart + 1
            var position = 0
            while true {
                parser.skipWhitespace()
                if parser.bytes[parser.index] == UInt8(ascii: "]") { break }
                let begin = parser.index
                try parser.skipValue()
                let document = UnsafeBufferPointer(rebasing: buffer[begin..<parser.index])
                try body(position, Result { () throws(JSONSyntaxError) in try parseDocument(document) })
                position += 1
                parser.skipWhitespace()
                if parser.bytes[parser.index] == UInt8(ascii: ",") { parser.index += 1 }
            }
            return form
        }
    }

    /// Checks the whole file's syntax and finds its form: for a batch, the offset of the
    /// array that holds the documents.
    private mutating func scanTopLevel() throws -> (Form, Int?) {
        skipWhitespace()
        let valueStart = index
        var form = Form.single
        var batchStart: Int?
        if index < bytes.count, bytes[index] == UInt8(ascii: "[") {
            form = .array
            batchStart = index
            try skipValue()
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "{") {
            // Only the top-level keys are looked at; a document has a few dozen at most.
            try skipValue()
            index = valueStart + 1
            var keys: Set<String> = []
            var documentsAt: Int?
            skipWhitespace()
            while index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                let key = try parseString()
                guard keys.insert(key).inserted else { throw error("the member \"\(key)\" appears twice") }
                guard keys.count <= 1_000 else { throw FileRefusal(reason: "the file's object has more than 1000 members; a document has far fewer") }
                skipWhitespace()
                index += 1
                skipWhitespace()
                if key == "documents" { documentsAt = index }
                try skipValue()
                skipWhitespace()
                if bytes[index] == UInt8(ascii: ",") { index += 1; skipWhitespace() }
            }
            index += 1
            if let documentsAt, !keys.contains("type") {
                guard bytes[documentsAt] == UInt8(ascii: "[") else {
                    throw FileRefusal(reason: "\"documents\" must be an array of documents")
                }
                form = .wrapped
                batchStart = documentsAt
            }
        } else {
            try skipValue()
            throw FileRefusal(reason: "expected a document (an object), an array of documents or {\"documents\": [...]}, found \(JSONValue.typeWord(startingWith: bytes[valueStart]))")
        }
        skipWhitespace()
        if index != bytes.count { throw error("unexpected text after the JSON value") }
        return (form, batchStart)
    }
}

extension JSONValue {
    static func typeWord(startingWith byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        default: "a number"
        }
    }
}

enum UTF8Check {
    /// The offset of the first byte that breaks UTF-8, or nil when all is well.
    static func firstInvalidOffset(_ data: [UInt8], from start: Int = 0) -> Int? {
        data.withUnsafeBufferPointer { bytes in
            var i = start
            while i < bytes.count {
                if bytes[i] < 0x80 { i += 1; continue }
                let length = sequenceLength(bytes, at: i)
                if length == 0 { return i }
                i += length
            }
            return nil
        }
    }

    /// The length of the well-formed UTF-8 sequence at `i`, or 0 when none starts there.
    static func sequenceLength<Bytes: RandomAccessCollection>(_ data: Bytes, at i: Int) -> Int
    where Bytes.Element == UInt8, Bytes.Index == Int {
        let b = data[i]
        if b < 0x80 { return 1 }
        let need: Int
        var minimum: UInt32
        var code: UInt32
        switch b {
        case 0xC2...0xDF: need = 1; code = UInt32(b & 0x1F); minimum = 0x80
        case 0xE0...0xEF: need = 2; code = UInt32(b & 0x0F); minimum = 0x800
        case 0xF0...0xF4: need = 3; code = UInt32(b & 0x07); minimum = 0x10000
        default: return 0
        }
        guard i + need < data.endIndex else { return 0 }
        for k in 1...need {
            let c = data[i + k]
            guard c & 0xC0 == 0x80 else { return 0 }
            code = code << 6 | UInt32(c & 0x3F)
        }
        if code < minimum || code > 0x10FFFF || (0xD800...0xDFFF).contains(code) { return 0 }
        return need + 1
    }
}
