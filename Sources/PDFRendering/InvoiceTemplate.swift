import Foundation
import Yams

/// A template that is missing something or holds a wrong value, with the file and the key.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let key: String?
    public let expected: String
    public let found: String?
    public var description: String {
        "\(file): " + (key.map { "\($0): " } ?? "") + "expected \(expected)" + (found.map { ", found \($0)" } ?? "")
    }
}

/// How a PDF invoice looks: its texts, colours, number format and which blocks show. It is
/// data in the gateway home (`templates/NAME.yml`), so a client changes it without a rebuild.
public struct InvoiceTemplate: Sendable {
    public struct Blocks: Sendable {
        public var logo = true
        public var paymentQR = true
        public var references = true
        public var deliveryAddress = true
        public var vatSummary = true
        public var footer = true
    }

    /// Where the recipient's address prints, in millimetres from the page's top left: the
    /// window of the envelope the print is folded into.
    public struct AddressWindow: Sendable {
        public var left = 110.0
        public var top = 45.0
        public var width = 90.0
        public var height = 35.0
    }

    public var name: String
    public var language: String
    public var font: String
    public var accent: RGB
    public var text: RGB
    public var muted: RGB
    public var rule: RGB
    public var decimalSeparator: String
    public var groupSeparator: String
    public var addressWindow: AddressWindow
    public var blocks: Blocks
    public var texts: [String: String]

    /// Every text a template must give, and what it is for.
    public static let textKeys: [String: String] = [
        "invoice": "the title of an invoice", "creditInvoice": "the title of a credit invoice",
        "invoiceNumber": "invoice number", "invoiceDate": "invoice date", "dueDate": "due date",
        "customerNumber": "customer number", "ocr": "the OCR reference", "yourReference": "your reference",
        "ourReference": "our reference", "orderNumbers": "order numbers", "yourOrderNumber": "the buyer's order number",
        "deliveryDate": "delivery date", "deliveryAddress": "delivery address", "buyerVatNumber": "the buyer's VAT number",
        "credits": "a credit invoice's reference to the invoice it credits: {number} and {date}",
        "article": "column: article number", "description": "column: description", "quantity": "column: quantity",
        "unit": "column: unit", "unitPrice": "column: unit price", "discount": "column: discount", "vatRate": "column: VAT rate",
        "amount": "column: amount", "vatSummary": "the VAT summary's heading", "taxable": "taxable amount",
        "vat": "VAT amount", "net": "total before VAT", "rounding": "öresavrundning", "prepaid": "already paid",
        "total": "total including VAT", "toPay": "amount to pay", "toRefund": "a credit invoice's amount to get back",
        "paymentTo": "the payment block's heading", "bankgiro": "bankgiro", "plusgiro": "plusgiro", "iban": "IBAN", "bic": "BIC",
        "scanToPay": "the text under the payment QR code", "page": "page numbers: {page} and {pages}",
        "organisationNumber": "organisation number", "vatNumber": "VAT number", "fTax": "Godkänd för F-skatt",
        "zeroRated": "the text a 0 % line carries", "reverseCharge": "the text a reverse-charge line carries",
        "email": "e-mail", "phone": "telephone",
        "emailSubject": "an invoice e-mail's subject: {number}, {client}",
        "emailBody": "an invoice e-mail's text: {number}, {client}, {amount}, {currency}, {dueDate}, {ocr}, {bankgiro}",
        "creditEmailSubject": "a credit invoice e-mail's subject: {number}, {client}",
        "creditEmailBody": "a credit invoice e-mail's text: {number}, {client}, {credited}",
        "reminder": "the title of a payment reminder", "originalDueDate": "a reminder's original due date",
        "reminderDate": "a reminder's date", "newDueDate": "a reminder's new due date",
        "reminderText": "a reminder's message: {number}, {dueDate}, {amount}, {currency}, {newDueDate}",
        "invoiceAmount": "a reminder's line for what the invoice asked", "paid": "a reminder's line for what has been paid",
        "reminderFee": "the reminder fee (no VAT)", "lateInterest": "late-payment interest (räntelagen)",
        "lateCompensation": "förseningsersättning (lag 1981:739)",
        "reminderEmailSubject": "a reminder e-mail's subject: {number}, {client}",
        "reminderEmailBody": "a reminder e-mail's text: {number}, {client}, {amount}, {currency}, {dueDate} (the new one), {ocr}, {bankgiro}",
    ]

    /// Reads and checks `templates/NAME.yml`; every problem names the file and the key.
    public static func load(contentsOf url: URL) throws(TemplateError) -> InvoiceTemplate {
        let file = url.path
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TemplateError(file: file, key: nil, expected: "a readable UTF-8 template file", found: nil)
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw TemplateError(file: file, key: nil, expected: "a template", found: "an empty file") }
            root = node
        } catch let error as TemplateError {
            throw error
        } catch {
            throw TemplateError(file: file, key: nil, expected: "valid YAML", found: "\(error)")
        }
        let top = try Section(root, key: nil, file: file)
        try top.allowOnly(["language", "font", "colours", "numbers", "addressWindow", "show", "texts"])
        var template = InvoiceTemplate(
            name: url.deletingPathExtension().lastPathComponent, language: try top.string("language") ?? "sv",
            font: try top.string("font") ?? "DejaVu Sans",
            accent: RGB(hex: "#1F4E79")!, text: RGB(hex: "#1A1A1A")!, muted: RGB(hex: "#5F5F5F")!, rule: RGB(hex: "#C8C8C8")!,
            decimalSeparator: ",", groupSeparator: "\u{00A0}", addressWindow: AddressWindow(), blocks: Blocks(), texts: [:])
        if let colours = try top.section("colours") {
            try colours.allowOnly(["accent", "text", "muted", "rule"])
            template.accent = try colours.colour("accent") ?? template.accent
            template.text = try colours.colour("text") ?? template.text
            template.muted = try colours.colour("muted") ?? template.muted
            template.rule = try colours.colour("rule") ?? template.rule
        }
        if let numbers = try top.section("numbers") {
            try numbers.allowOnly(["decimal", "group"])
            template.decimalSeparator = try numbers.string("decimal") ?? template.decimalSeparator
            // A plain space would let a line break split an amount.
            template.groupSeparator = (try numbers.string("group") ?? template.groupSeparator).replacingOccurrences(of: " ", with: "\u{00A0}")
            guard template.decimalSeparator.count == 1, template.groupSeparator.count <= 1 else {
                throw TemplateError(file: file, key: "numbers", expected: "one character for decimal and at most one for group", found: nil)
            }
        }
        if let window = try top.section("addressWindow") {
            try window.allowOnly(["left", "top", "width", "height"])
            template.addressWindow = AddressWindow(left: try window.number("left", 0...190) ?? 110, top: try window.number("top", 0...250) ?? 45,
                                                   width: try window.number("width", 40...190) ?? 90, height: try window.number("height", 20...100) ?? 35)
        }
        if let show = try top.section("show") {
            try show.allowOnly(["logo", "paymentQR", "references", "deliveryAddress", "vatSummary", "footer"])
            template.blocks.logo = try show.bool("logo") ?? true
            template.blocks.paymentQR = try show.bool("paymentQR") ?? true
            template.blocks.references = try show.bool("references") ?? true
            template.blocks.deliveryAddress = try show.bool("deliveryAddress") ?? true
            template.blocks.vatSummary = try show.bool("vatSummary") ?? true
            template.blocks.footer = try show.bool("footer") ?? true
        }
        guard let texts = try top.section("texts") else {
            throw TemplateError(file: file, key: "texts", expected: "the template's texts (" + textKeys.keys.sorted().joined(separator: ", ") + ")", found: "nothing")
        }
        try texts.allowOnly(Set(textKeys.keys))
        for key in textKeys.keys.sorted() {
            guard let value = try texts.string(key) else {
                throw TemplateError(file: file, key: "texts.\(key)", expected: "a text for \(textKeys[key]!)", found: "nothing")
            }
            template.texts[key] = value
        }
        return template
    }

    /// A text with its `{placeholders}` filled.
    public func text(_ key: String, _ values: [String: String] = [:]) -> String {
        var result = texts[key] ?? key
        for (name, value) in values { result = result.replacingOccurrences(of: "{\(name)}", with: value) }
        return result
    }

    /// An amount as the template writes numbers: "1 234,50".
    public func amount(_ value: Decimal, decimals: Int = 2) -> String {
        let plain = value.fixed(decimals)
        let negative = plain.hasPrefix("-")
        let digits = negative ? String(plain.dropFirst()) : plain
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        var whole = ""
        for (i, c) in parts[0].reversed().enumerated() {
            if i > 0, i % 3 == 0 { whole.append(groupSeparator) }
            whole.append(c)
        }
        whole = String(whole.reversed())
        let fraction = parts.count > 1 ? decimalSeparator + parts[1] : ""
        return (negative ? "−" : "") + whole + fraction
    }

    /// A quantity or rate with only the decimals it has: "2,5", "12".
    func number(_ value: Decimal) -> String {
        amount(value, decimals: max(0, value.scale))
    }
}

/// One mapping of a template file, with the key path that leads to it for errors.
private struct Section {
    let members: [String: Node]
    let key: String?
    let file: String

    init(_ node: Node, key: String?, file: String) throws(TemplateError) {
        guard case .mapping(let mapping) = node else {
            throw TemplateError(file: file, key: key, expected: "a mapping of keys", found: "a \(node.isScalar ? "value" : "list")")
        }
        var members: [String: Node] = [:]
        for (name, value) in mapping { members[name.string ?? ""] = value }
        self.members = members
        self.key = key
        self.file = file
    }

    func path(_ name: String) -> String { key.map { "\($0).\(name)" } ?? name }

    func allowOnly(_ allowed: Set<String>) throws(TemplateError) {
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw TemplateError(file: file, key: path(unknown), expected: "one of " + allowed.sorted().joined(separator: ", "), found: "an unknown key")
        }
    }

    func section(_ name: String) throws(TemplateError) -> Section? {
        guard let node = members[name] else { return nil }
        return try Section(node, key: path(name), file: file)
    }

    func string(_ name: String) throws(TemplateError) -> String? {
        guard let node = members[name] else { return nil }
        guard case .scalar(let scalar) = node else { throw TemplateError(file: file, key: path(name), expected: "a text", found: "a mapping or list") }
        return scalar.string
    }

    func bool(_ name: String) throws(TemplateError) -> Bool? {
        guard let text = try string(name) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw TemplateError(file: file, key: path(name), expected: "true or false", found: text)
        }
    }

    func number(_ name: String, _ range: ClosedRange<Double>) throws(TemplateError) -> Double? {
        guard let text = try string(name) else { return nil }
        guard let value = Double(text), range.contains(value) else {
            throw TemplateError(file: file, key: path(name), expected: "millimetres from \(Int(range.lowerBound)) to \(Int(range.upperBound))", found: text)
        }
        return value
    }

    func colour(_ name: String) throws(TemplateError) -> RGB? {
        guard let text = try string(name) else { return nil }
        guard let colour = RGB(hex: text) else { throw TemplateError(file: file, key: path(name), expected: "a colour #RRGGBB", found: text) }
        return colour
    }
}

extension Node {
    fileprivate var isScalar: Bool { if case .scalar = self { true } else { false } }
}
