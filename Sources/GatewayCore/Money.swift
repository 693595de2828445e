import Foundation

/// Exact decimal arithmetic for amounts. Money is `Decimal`, never `Double`.
extension Decimal {
    /// Parses a plain decimal literal ("12.50", "-3", "1e2" is refused) exactly.
    /// Returns nil for anything that is not `-?digits(.digits)?`.
    public init?(exactly literal: Substring) {
        var digits = 0
        var sawPoint = false
        var index = literal.startIndex
        if index < literal.endIndex, literal[index] == "-" { index = literal.index(after: index) }
        guard index < literal.endIndex else { return nil }
        while index < literal.endIndex {
            let c = literal[index]
            if c == "." {
                if sawPoint || digits == 0 { return nil }
                sawPoint = true
            } else if c.isASCII, c.isNumber {
                digits += 1
            } else {
                return nil
            }
            index = literal.index(after: index)
        }
        guard literal.last != "." else { return nil }
        // Up to 19 digits fit a UInt64 significand exactly; longer literals take the slow path.
        if digits <= 19 {
            var significand: UInt64 = 0
            var exponent = 0
            var afterPoint = false
            for c in literal.utf8 {
                if c == UInt8(ascii: ".") { afterPoint = true; continue }
                if c == UInt8(ascii: "-") { continue }
                significand = significand * 10 + UInt64(c - 0x30)
                if afterPoint { exponent -= 1 }
            }
            self = Decimal(sign: literal.first == "-" ? .minus : .plus, exponent: exponent, significand: Decimal(significand))
            return
        }
        guard let value = Decimal(string: String(literal), locale: Decimal.posix) else { return nil }
        self = value
    }

    /// Rounds half away from zero to `scale` decimals, as Swedish invoices and EN 16931 do.
    public func rounded(scale: Int) -> Decimal {
        // NSDecimalRound's .plain rounds half away from zero.
        var plain = Decimal()
        var copy = self
        NSDecimalRound(&plain, &copy, scale, .plain)
        return plain
    }

    static let posix = Locale(identifier: "en_US_POSIX")

    /// Rounded to öre (two decimals).
    public var roundedToOre: Decimal { rounded(scale: 2) }

    /// The value with exactly `decimals` decimals and a point, no grouping: "1234.50".
    public func fixed(_ decimals: Int) -> String {
        let value = rounded(scale: decimals)
        var text = value.plainText
        if text.hasPrefix("-"), value == 0 { text.removeFirst() }
        guard decimals > 0 else { return text }
        if let point = text.firstIndex(of: ".") {
            let have = text.distance(from: point, to: text.endIndex) - 1
            if have < decimals { text += String(repeating: "0", count: decimals - have) }
        } else {
            text += "." + String(repeating: "0", count: decimals)
        }
        return text
    }

    /// The shortest exact text: "12.5", "3", "-0.25".
    public var plainText: String {
        if DecimalText.layoutHolds, let text = DecimalText.fast(self) { return text }
        return NSDecimalNumber(decimal: self).stringValue
    }

    /// The number of decimals this value carries when written shortest.
    public var scale: Int {
        let text = plainText
        guard let point = text.firstIndex(of: ".") else { return 0 }
        return text.distance(from: point, to: text.endIndex) - 1
    }
}

/// Decimal to text without Foundation's digit-by-digit division, which was a tenth of the
/// rendering time. It reads the value's NSDecimal layout (exponent, length/sign bits, 16-bit
/// mantissa words) for mantissas up to 64 bits, and is used only after a start-up check that
/// it agrees with Foundation; anything else takes Foundation's path.
enum DecimalText {
    static let layoutHolds: Bool = {
        guard MemoryLayout<Decimal>.size == 20 else { return false }
        for text in ["-12.50", "0.001", "1234567890123.4567", "100", "-0.5"] {
            let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))!
            guard fast(value) == NSDecimalNumber(decimal: value).stringValue else { return false }
        }
        return true
    }()

    static func fast(_ value: Decimal) -> String? {
        withUnsafeBytes(of: value) { raw -> String? in
            let exponent = Int(Int8(bitPattern: raw[0]))
            let length = Int(raw[1] >> 4)
            let negative = raw[1] & 0x08 != 0
            guard length <= 4 else { return nil }
            if length == 0 { return "0" }
            var mantissa: UInt64 = 0
            for word in (0..<length).reversed() {
                mantissa = mantissa << 16 | UInt64(raw[4 + 2 * word]) | UInt64(raw[5 + 2 * word]) << 8
            }
            var scale = exponent
            while scale < 0, mantissa % 10 == 0 {
                mantissa /= 10
                scale += 1
            }
            var digits = String(mantissa)
            if scale > 0 {
                digits += String(repeating: "0", count: scale)
            } else if scale < 0 {
                let places = -scale
                if digits.count <= places { digits = String(repeating: "0", count: places - digits.count + 1) + digits }
                digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -places))
            }
            return negative ? "-" + digits : digits
        }
    }
}
