import Foundation
import GatewayCore

/// The small set of formatters a mapping may apply to a value: `{line.net|amount}`.
/// No scripting: anything else belongs in the canonical model, written once in Swift.
public enum Formatter: Sendable, Hashable {
    case amount
    case fixed(Int)
    case decimal
    case date
    case compactDate
    case digits
    case upper
    case lower
    case pad(Int)
    case code(String)
    case maxLength(Int)
    /// Stands in for an empty value: `{line.unit|or:st|code:unit}`.
    case orElse(String)

    static let names = ["or:TEXT", "amount", "fixed:N", "decimal", "date", "date:compact", "digits", "upper", "lower", "pad:N", "code:LIST", "max:N"]

    static func parse(_ text: Substring) -> Formatter? {
        let parts = text.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        let argument = parts.count > 1 ? parts[1] : nil
        switch (parts.first ?? "", argument) {
        case ("amount", nil): return .amount
        case ("fixed", let n?): return Int(n).flatMap { (0...6).contains($0) ? .fixed($0) : nil }
        case ("decimal", nil): return .decimal
        case ("date", nil): return .date
        case ("date", "compact"): return .compactDate
        case ("digits", nil): return .digits
        case ("upper", nil): return .upper
        case ("lower", nil): return .lower
        case ("pad", let n?): return Int(n).flatMap { (1...40).contains($0) ? .pad($0) : nil }
        case ("code", let list?) where !list.isEmpty: return .code(list)
        case ("max", let n?): return Int(n).flatMap { $0 > 0 ? .maxLength($0) : nil }
        case ("or", let text?) where !text.isEmpty: return .orElse(text)
        default: return nil
        }
    }

    /// The value types this formatter takes, for checking a mapping before rendering.
    var accepts: Set<String> {
        switch self {
        case .amount, .fixed, .decimal: ["decimal", "integer"]
        case .date, .compactDate: ["date"]
        case .digits, .upper, .lower, .maxLength: ["text", "integer", "decimal", "date"]
        case .pad: ["text", "integer"]
        case .code, .orElse: ["text", "integer", "decimal", "boolean", "date"]
        }
    }

    /// The default rendering of a value: decimals shortest, dates ISO, booleans true/false.
    static func plain(_ value: ModelValue) -> String? {
        switch value {
        case .text(let v): v
        case .decimal(let v): v?.plainText
        case .date(let v): v?.description
        case .integer(let v): v.map(String.init)
        case .bool(let v): v.map { $0 ? "true" : "false" }
        case .object, .list: nil
        }
    }

    func apply(_ value: ModelValue, text: String, codes: [String: [String: String]]) throws(RenderError) -> String {
        switch (self, value) {
        case (.amount, .decimal(let d?)): return d.fixed(2)
        case (.amount, .integer(let i?)): return Decimal(i).fixed(2)
        case (.fixed(let n), .decimal(let d?)): return d.fixed(n)
        case (.fixed(let n), .integer(let i?)): return Decimal(i).fixed(n)
        case (.decimal, _): return text
        case (.date, .date(let d?)): return d.description
        case (.compactDate, .date(let d?)): return d.compact
        case (.digits, _): return text.filter { $0.isASCII && $0.isNumber }
        case (.upper, _): return text.uppercased()
        case (.lower, _): return text.lowercased()
        case (.pad(let n), _): return text.count >= n ? text : String(repeating: "0", count: n - text.count) + text
        case (.code(let list), _):
            guard let table = codes[list] else { throw RenderError("the code list \(list) is not defined") }
            guard let code = table[text] ?? table["*"] else {
                throw RenderError("the code list \(list) has no code for \"\(text)\" and no default \"*\"")
            }
            return code
        case (.maxLength(let n), _):
            guard text.count <= n else { throw RenderError("\"\(text.prefix(40))\" is \(text.count) characters; the target allows at most \(n)") }
            return text
        default: return text
        }
    }
}

public struct RenderError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
