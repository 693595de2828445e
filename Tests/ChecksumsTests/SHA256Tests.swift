import Checksums
import Foundation
import Testing

@Suite struct SHA256Tests {
    @Test func matchesKnownDigests() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = String(repeating: "a", count: 1000)
        var hasher = SHA256()
        hasher.update(Array(long.utf8.prefix(333)))
        hasher.update(Array(long.utf8.dropFirst(333)))
        #expect(hasher.finalizeHex() == SHA256.hex(long))
        #expect(SHA256.hex(long) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite struct CanonicalTests {
    struct Sample: Codable, Sendable { var b = 2; var a = "å" }

    @Test func sortsKeysAndHashesTheJSON() throws {
        let canonical = try Canonical(Sample())
        #expect(canonical.json == #"{"a":"å","b":2}"#)
        #expect(canonical.hash == SHA256.hex(canonical.json))
    }

    @Test func hashesAFileLargerThanOneReadAsItsBytes() throws {
        let bytes = (0..<(3 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("checksums-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try SHA256.hex(fileAt: url) == SHA256.hex(bytes))
    }
}
