import Foundation

/// A ZIP archive of stored (uncompressed) entries: what a print house's interconnect asks for
/// when it wants an invoice's PDF and metadata as one file. PDFs are compressed already, so
/// deflating them again gains nothing.
public struct ZipArchive: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var bytes: [UInt8]
        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    public var entries: [Entry]
    /// The entries' modification time; ZIP's MS-DOS fields hold it as local time in `timeZone`.
    public var modified: Date
    public var timeZone: TimeZone

    public init(entries: [Entry], modified: Date, timeZone: TimeZone) {
        self.entries = entries
        self.modified = modified
        self.timeZone = timeZone
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: modified)
        let time = UInt16(c.hour! << 11 | c.minute! << 5 | c.second! / 2)
        let date = UInt16(max(0, c.year! - 1980) << 9 | c.month! << 5 | c.day!)
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = CRC32.checksum(entry.bytes)
            let offset = UInt32(out.count)
            // Local file header; bit 11 of the flags says the name is UTF-8.
            out.append(le32: 0x0403_4B50)
            out.append(le16: 20); out.append(le16: 0x0800); out.append(le16: 0)
            out.append(le16: time); out.append(le16: date)
            out.append(le32: crc); out.append(le32: UInt32(entry.bytes.count)); out.append(le32: UInt32(entry.bytes.count))
            out.append(le16: UInt16(name.count)); out.append(le16: 0)
            out += name
            out += entry.bytes
            // Its central directory record.
            central.append(le32: 0x0201_4B50)
            central.append(le16: 20); central.append(le16: 20); central.append(le16: 0x0800); central.append(le16: 0)
            central.append(le16: time); central.append(le16: date)
            central.append(le32: crc); central.append(le32: UInt32(entry.bytes.count)); central.append(le32: UInt32(entry.bytes.count))
            central.append(le16: UInt16(name.count)); central.append(le16: 0); central.append(le16: 0)
            central.append(le16: 0); central.append(le16: 0); central.append(le32: 0)
            central.append(le32: offset)
            central += name
        }
        let centralOffset = UInt32(out.count)
        out += central
        out.append(le32: 0x0605_4B50)
        out.append(le16: 0); out.append(le16: 0)
        out.append(le16: UInt16(entries.count)); out.append(le16: UInt16(entries.count))
        out.append(le32: UInt32(central.count)); out.append(le32: centralOffset)
        out.append(le16: 0)
        return out
    }
}

/// CRC-32 as ZIP (and PNG, gzip) use it: polynomial 0xEDB88320, reflected.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension [UInt8] {
    fileprivate mutating func append(le16 value: UInt16) {
        append(UInt8(value & 0xFF)); append(UInt8(value >> 8))
    }

    fileprivate mutating func append(le32 value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }
}
