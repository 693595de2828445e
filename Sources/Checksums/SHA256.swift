import Crypto
import Foundation

/// SHA-256 as lowercase hex: content keys in the ledger and the digest of every delivered file.
///
/// swift-crypto does the hashing: its BoringSSL core uses the CPU's SHA instructions (about
/// 2 GB/s here, six times a hand-written Swift loop). That matters because a delivery hashes
/// each file while it uploads, on a two-core machine that is also running the SSH server.
public struct SHA256 {
    private var hasher = Crypto.SHA256()

    public init() {}

    public static func hex(_ bytes: some DataProtocol) -> String {
        hexDigits(Crypto.SHA256.hash(data: bytes))
    }

    public static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    /// The digest of a file's content, read a megabyte at a time.
    public static func hex(fileAt url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
        return hasher.finalizeHex()
    }

    public mutating func update(_ bytes: some DataProtocol) { hasher.update(data: bytes) }

    public func finalizeHex() -> String { Self.hexDigits(hasher.finalize()) }

    private static func hexDigits(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// A value with its canonical JSON (sorted keys) and that JSON's SHA-256: encoded once, used
/// both as the ledger's stored form and as the document's content key.
public struct Canonical<Value: Codable & Sendable>: Sendable {
    public let value: Value
    public let json: String
    public let hash: String

    public init(_ value: Value) throws {
        let data = try Canonical.encoder.encode(value)
        self.value = value
        self.json = String(decoding: data, as: UTF8.self)
        self.hash = SHA256.hex(data)
    }

    private static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }
}
