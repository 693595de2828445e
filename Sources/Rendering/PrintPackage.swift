import Foundation
import GatewayCore
import Invoicing

/// How the print house wants each invoice: its interconnect specification decides the metadata
/// format, the field names and whether the PDF and the metadata travel as one ZIP file, so all
/// of it is configuration (`centralPrint:` in gateway.yml).
public struct PrintPackageLayout: Sendable {
    public enum MetadataFormat: String, Sendable, CaseIterable { case json, xml }
    public enum Packaging: String, Sendable, CaseIterable {
        /// The PDF and the metadata file side by side, with the same stem.
        case files
        /// One ZIP file holding both.
        case zip
    }

    public var duplex = true
    public var colour = false
    /// Postage class: A (first class, "A-post") or B (economy, "B-post").
    public var postage = "B"
    public var metadata = MetadataFormat.json
    public var packaging = Packaging.files
    /// The print house's name for each of ours (`PrintPackageLayout.fields`); unnamed ones keep ours.
    public var fieldNames: [String: String] = [:]
    /// The XML metadata's root element.
    public var xmlRoot = "printJob"

    public init() {}

    /// Every field the metadata has, by our name.
    public static let fields = ["clientId", "invoiceNumber", "pdf", "pages", "duplex", "colour", "postage",
                                "recipient", "name", "street", "postalCode", "city", "country"]

    public func name(_ field: String) -> String { fieldNames[field] ?? field }

    /// What is wrong with a field name for this format, or nil.
    public static func problem(withName name: String) -> String? {
        guard let first = name.unicodeScalars.first else { return "an empty name" }
        let letters = CharacterSet.letters.union(["_"])
        let rest = letters.union(.decimalDigits).union(["-", "."])
        guard letters.contains(first), name.unicodeScalars.allSatisfy(rest.contains) else {
            return "\"\(name)\" is not a name both JSON and XML can carry (a letter or _, then letters, digits, _, - or .)"
        }
        return nil
    }
}

/// The metadata a print house needs to print, envelope and post one invoice, and the files
/// that carry it with the PDF.
public struct PrintPackage: Sendable {
    public struct Recipient: Sendable, Equatable {
        public var name, street, postalCode, city, country: String
    }

    public var clientId: String
    public var invoiceNumber: String
    public var pdfName: String
    public var pages: Int
    public var recipient: Recipient
    public var layout: PrintPackageLayout

    public init(invoice: Invoice, client: ClientProfile, pdfName: String, pages: Int, layout: PrintPackageLayout) {
        let addressee = invoice.postalAddressee
        let address = addressee?.address
        clientId = client.id
        invoiceNumber = invoice.number
        self.pdfName = pdfName
        self.pages = pages
        self.layout = layout
        recipient = Recipient(name: [addressee?.name ?? invoice.customer.name, addressee?.attention].compactMap { $0 }.joined(separator: ", "), street: address?.street ?? "", postalCode: address?.postalCode ?? "",
                              city: address?.city ?? "", country: address?.country ?? "SE")
    }

    public struct File: Sendable {
        public let name: String
        public let bytes: [UInt8]
        /// What the file is, for the history.
        public let label: String
    }

    /// The files to write beside (or instead of) the PDF: by default the metadata, with the
    /// PDF's stem; for a ZIP layout one archive that holds the PDF and the metadata.
    public func files(pdf: [UInt8], modified: Date, timeZone: TimeZone) -> [File] {
        let stem = (pdfName as NSString).deletingPathExtension
        let metadataName = stem + "." + layout.metadata.rawValue
        let metadata = layout.metadata == .json ? json : xml
        switch layout.packaging {
        case .files:
            return [File(name: pdfName, bytes: pdf, label: "PDF"),
                    File(name: metadataName, bytes: metadata, label: "print package metadata (\(layout.metadata.rawValue))")]
        case .zip:
            let archive = ZipArchive(entries: [.init(name: pdfName, bytes: pdf), .init(name: metadataName, bytes: metadata)],
                                     modified: modified, timeZone: timeZone)
            return [File(name: stem + ".zip", bytes: archive.bytes, label: "print package (zip: PDF and \(layout.metadata.rawValue) metadata)")]
        }
    }

    private enum Value {
        case text(String), number(Int), flag(Bool), object([(String, Value)])
    }

    private var values: [(String, Value)] {
        let r = recipient
        return [
            ("clientId", .text(clientId)), ("invoiceNumber", .text(invoiceNumber)), ("pdf", .text(pdfName)),
            ("pages", .number(pages)), ("duplex", .flag(layout.duplex)), ("colour", .flag(layout.colour)),
            ("postage", .text(layout.postage)),
            ("recipient", .object([("name", .text(r.name)), ("street", .text(r.street)), ("postalCode", .text(r.postalCode)),
                                   ("city", .text(r.city)), ("country", .text(r.country))])),
        ]
    }

    public var json: [UInt8] {
        func render(_ value: Value, indent: String) -> String {
            switch value {
            case .text(let text): return text.jsonQuoted
            case .number(let number): return String(number)
            case .flag(let flag): return flag ? "true" : "false"
            case .object(let members):
                let inner = indent + "  "
                let body = members.map { "\(inner)\(layout.name($0.0).jsonQuoted) : \(render($0.1, indent: inner))" }
                return "{\n" + body.joined(separator: ",\n") + "\n\(indent)}"
            }
        }
        return Array((render(.object(values), indent: "") + "\n").utf8)
    }

    public var xml: [UInt8] {
        func render(_ members: [(String, Value)], indent: String) -> String {
            members.map { key, value in
                let name = layout.name(key)
                switch value {
                case .text(let text): return "\(indent)<\(name)>\(Self.xmlEscaped(text))</\(name)>\n"
                case .number(let number): return "\(indent)<\(name)>\(number)</\(name)>\n"
                case .flag(let flag): return "\(indent)<\(name)>\(flag)</\(name)>\n"
                case .object(let inner): return "\(indent)<\(name)>\n" + render(inner, indent: indent + "  ") + "\(indent)</\(name)>\n"
                }
            }.joined()
        }
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(layout.xmlRoot)>\n" + render(values, indent: "  ") + "</\(layout.xmlRoot)>\n"
        return Array(text.utf8)
    }

    static func xmlEscaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n": continue
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
