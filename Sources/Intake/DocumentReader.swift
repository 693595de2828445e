import Foundation
import GatewayCore

/// Why one document was refused: which field, what was expected, what was found.
public struct DocumentRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public let field: String?
    public let expected: String
    public let found: String?

    public init(field: String?, expected: String, found: String? = nil) {
        self.field = field
        self.expected = expected
        self.found = found
    }

    public var description: String {
        var text = field.map { "\($0): " } ?? ""
        text += "expected \(expected)"
        if let found { text += ", found \(found)" }
        return text
    }
}

/// Turns one JSON object into a typed inbox document, checking every field of CONTRACT.md.
public struct DocumentReader: Sendable {
    public init() {}

    public func read(_ value: JSONValue) throws(DocumentRefusal) -> InboxDocument {
        guard case .object(let members) = value else {
            throw DocumentRefusal(field: nil, expected: "a JSON object with a \"type\"", found: value.typeWord)
        }
        let fields = Fields(members, prefix: "")
        let type = try fields.requiredString("type")
        switch type {
        case "customer": return .customer(try readCustomer(fields))
        case "order": return .order(try readOrder(fields))
        case "return": return .returnOrder(try readReturn(fields))
        case "payment":
            let amount = try fields.requiredDecimal("amount", .amount)
            guard amount > 0 else {
                throw DocumentRefusal(field: "amount", expected: "an amount above 0 (a refund is a credit invoice, not a payment)", found: amount.plainText)
            }
            return .payment(Payment(
                invoiceNumber: try fields.requiredIdentifier("invoiceNumber"),
                amount: amount,
                paidAt: try fields.requiredInstant("paidAt")))
        default:
            if let command = OperatorCommand(rawValue: type) {
                let template = try fields.optionalIdentifier("template")
                if template != nil, command != .send {
                    throw DocumentRefusal(field: "template", expected: "no template: only a send document names one", found: template)
                }
                return .command(command, invoiceNumber: try fields.requiredIdentifier("invoiceNumber"), template: template)
            }
            throw DocumentRefusal(field: "type",
                                  expected: "one of customer, order, return, payment, approve, credit, remind, send",
                                  found: "\"\(type)\"")
        }
    }

    private func readCustomer(_ f: Fields) throws(DocumentRefusal) -> Customer {
        Customer(
            customerNumber: try f.requiredIdentifier("customerNumber"),
            kind: try f.requiredEnum("kind", CustomerKind.self),
            name: try f.requiredText("name"),
            organisationNumber: try f.organisationNumber("organisationNumber"),
            vatNumber: try f.optionalText("vatNumber", maxLength: 20),
            email: try f.email("email"),
            invoiceEmail: try f.email("invoiceEmail"),
            address: try f.optionalObject("address").map { (a: Fields) throws(DocumentRefusal) in try readAddress(a) },
            peppolId: try f.peppolId("peppolId"),
            gln: try f.optionalText("gln", maxLength: 13),
            organisation: try f.optionalIdentifier("organisation"),
            invoiceReference: try f.optionalText("invoiceReference"),
            invoiceReferenceEmail: try f.email("invoiceReferenceEmail"),
            reminderFeeAgreed: try f.optionalBool("reminderFeeAgreed"),
            linkInvoiceToOrganisation: try f.optionalBool("linkInvoiceToOrganisation"),
            invoiceSettings: try f.optionalObject("invoiceSettings").map { (s: Fields) throws(DocumentRefusal) in try readSettings(s) },
            autogiro: try f.optionalObject("autogiro").map { (a: Fields) throws(DocumentRefusal) in try readMandate(a) })
    }

    private func readMandate(_ f: Fields) throws(DocumentRefusal) -> AutogiroMandate {
        try f.allowOnly(["payerNumber", "bankAccount"])
        let payer = try f.requiredIdentifier("payerNumber")
        guard payer.count <= 16, payer.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw DocumentRefusal(field: f.path("payerNumber"), expected: "the payer number of the mandate: 1 to 16 digits", found: "\"\(payer)\"")
        }
        return AutogiroMandate(payerNumber: payer, bankAccount: try f.optionalText("bankAccount", maxLength: 40))
    }

    public func readSettings(_ f: Fields) throws(DocumentRefusal) -> InvoiceSettings {
        InvoiceSettings(
            system: try f.optionalEnum("system", DistributionSystem.self),
            distributionMethod: try f.optionalEnum("distributionMethod", DistributionMethod.self),
            format: try f.optionalEnum("format", InvoiceFormat.self),
            exportMapping: try f.optionalIdentifier("exportMapping"),
            review: try f.optionalEnum("review", ReviewSetting.self),
            termsOfPaymentDays: try f.optionalInteger("termsOfPaymentDays", range: 0...365),
            invoicingModel: try f.optionalObject("invoicingModel").map { (m: Fields) throws(DocumentRefusal) in try readModel(m) },
            invoiceAfterDesiredDeliveryDate: try f.optionalBool("invoiceAfterDesiredDeliveryDate"))
    }

    private func readModel(_ f: Fields) throws(DocumentRefusal) -> InvoicingModel {
        let model = try f.requiredEnum("model", InvoicingModel.Model.self)
        var result = InvoicingModel(model: model)
        guard model != .running else { return result }
        result.interval = try f.requiredEnum("interval", InvoicingModel.Interval.self)
        result.days = try f.optionalIntegers("days", range: 1...31)
        if result.interval == .daysOfMonth, (result.days ?? []).isEmpty {
            throw DocumentRefusal(field: f.path("days"), expected: "the days of the month for interval days-of-month, e.g. [5, 15, 25]")
        }
        result.lastDayOfMonth = try f.optionalBool("lastDayOfMonth")
        // M3: a collective schedule has a start date and a time of day.
        result.startDate = try f.requiredDate("startDate")
        let time = try f.requiredText("time", maxLength: 5)
        guard let timeOfDay = TimeOfDay(time) else {
            throw DocumentRefusal(field: f.path("time"), expected: "a time of day HH:MM", found: "\"\(time)\"")
        }
        // M4: a collective invoice is made at 22:00 at the latest.
        guard timeOfDay.minutesSinceMidnight <= 22 * 60 else {
            throw DocumentRefusal(field: f.path("time"), expected: "22:00 at the latest (rule M4: no collective invoice is made between 22:01 and 23:59)", found: "\"\(time)\"")
        }
        result.time = timeOfDay.description
        if model == .collectiveOtherCustomer {
            result.payingCustomerNumber = try f.requiredIdentifier("payingCustomerNumber")
        }
        return result
    }

    private func readAddress(_ f: Fields) throws(DocumentRefusal) -> PostalAddress {
        PostalAddress(street: try f.optionalText("street"), postalCode: try f.optionalText("postalCode", maxLength: 10),
                      city: try f.optionalText("city"), country: try f.countryCode("country"))
    }

    private func readOrder(_ f: Fields) throws(DocumentRefusal) -> Order {
        let status = try f.requiredEnum("status", OrderStatus.self)
        let completedAt = status == .completed ? try f.requiredInstant("completedAt") : try f.optionalInstant("completedAt")
        var lines: [OrderLine] = []
        let lineFields = try f.requiredArrayOfObjects("lines")
        guard !lineFields.isEmpty else { throw DocumentRefusal(field: f.path("lines"), expected: "at least one line", found: "an empty array") }
        for line in lineFields {
            lines.append(OrderLine(
                articleNumber: try line.requiredText("articleNumber", maxLength: 40),
                description: try line.requiredText("description", maxLength: 500),
                quantity: try line.requiredDecimal("quantity", .quantity),
                unit: try line.optionalText("unit", maxLength: 10),
                unitPrice: try line.requiredDecimal("unitPrice", .price),
                vatRate: try line.vatRate("vatRate"),
                discountPercent: try line.optionalDecimal("discountPercent", .percent)))
        }
        return Order(
            orderNumber: try f.requiredIdentifier("orderNumber"),
            customerNumber: try f.requiredIdentifier("customerNumber"),
            status: status,
            orderDate: try f.requiredDate("orderDate"),
            completedAt: completedAt,
            desiredDeliveryDate: try f.optionalDate("desiredDeliveryDate"),
            externalOrderNumber: try f.optionalText("externalOrderNumber", maxLength: 40),
            endCustomerOrderNumber: try f.optionalText("endCustomerOrderNumber", maxLength: 40),
            yourReference: try f.optionalText("yourReference", maxLength: 100),
            ourReference: try f.optionalText("ourReference", maxLength: 100),
            paymentMethod: try f.optionalText("paymentMethod", maxLength: 40),
            prepaid: try f.optionalBool("prepaid"),
            currency: try f.currency("currency"),
            invoiceEmail: try f.email("invoiceEmail"),
            deliveryName: try f.optionalText("deliveryName"),
            deliveryAddress: try f.optionalObject("deliveryAddress").map { (a: Fields) throws(DocumentRefusal) in try readAddress(a) },
            lines: lines)
    }

    private func readReturn(_ f: Fields) throws(DocumentRefusal) -> ReturnOrder {
        var lines: [ReturnLine] = []
        let lineFields = try f.requiredArrayOfObjects("lines")
        guard !lineFields.isEmpty else { throw DocumentRefusal(field: f.path("lines"), expected: "at least one line", found: "an empty array") }
        for line in lineFields {
            let quantity = try line.requiredDecimal("quantity", .quantity)
            guard quantity > 0 else { throw DocumentRefusal(field: line.path("quantity"), expected: "a quantity above 0", found: quantity.plainText) }
            lines.append(ReturnLine(articleNumber: try line.requiredText("articleNumber", maxLength: 40), quantity: quantity))
        }
        return ReturnOrder(returnNumber: try f.requiredIdentifier("returnNumber"), orderNumber: try f.requiredIdentifier("orderNumber"),
                           completedAt: try f.requiredInstant("completedAt"), lines: lines)
    }
}

/// How many digits a decimal field may carry; a value outside is refused, never cut.
public struct DecimalLimits: Sendable {
    public let integerDigits: Int
    public let decimals: Int
    public let allowsNegative: Bool
    public let range: ClosedRange<Decimal>?

    public static let quantity = DecimalLimits(integerDigits: 9, decimals: 3, allowsNegative: false, range: nil)
    public static let price = DecimalLimits(integerDigits: 12, decimals: 4, allowsNegative: false, range: nil)
    public static let amount = DecimalLimits(integerDigits: 12, decimals: 2, allowsNegative: false, range: nil)
    public static let percent = DecimalLimits(integerDigits: 3, decimals: 2, allowsNegative: false, range: 0...100)

    var words: String {
        var text = allowsNegative ? "a decimal number" : "a non-negative decimal number"
        text += " with at most \(integerDigits) digits before and \(decimals) after the point"
        if let range { text += ", from \(range.lowerBound.plainText) to \(range.upperBound.plainText)" }
        return text
    }
}

/// The members of one JSON object with the path that leads to them, so every refusal names
/// the full field ("lines[2].unitPrice").
public struct Fields: Sendable {
    public let members: [String: JSONValue]
    let prefix: String
    /// YAML settings write `bankgiro: 50501055` or `dynamicsMainAccount: 3001` without quotes;
    /// there a number is also text. Inbox documents keep JSON's types strict.
    let numbersAsText: Bool

    public init(_ members: [String: JSONValue], prefix: String = "", numbersAsText: Bool = false) {
        self.members = members
        self.prefix = prefix
        self.numbersAsText = numbersAsText
    }

    public func path(_ key: String) -> String { prefix + key }

    /// The keys present, sorted.
    public var keys: [String] { members.keys.sorted() }

    /// Refuses keys outside `allowed`, so a misspelt setting is not silently ignored.
    public func allowOnly(_ allowed: Set<String>) throws(DocumentRefusal) {
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw DocumentRefusal(field: path(unknown), expected: "one of " + allowed.sorted().joined(separator: ", "), found: "an unknown key")
        }
    }

    private func present(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    public func requiredString(_ key: String) throws(DocumentRefusal) -> String {
        guard let value = present(key) else { throw DocumentRefusal(field: path(key), expected: "a value (the field is required)", found: "nothing") }
        guard case .string(let text) = value else { throw DocumentRefusal(field: path(key), expected: "a string", found: value.typeWord) }
        return text
    }

    public func optionalText(_ key: String, maxLength: Int = 200) throws(DocumentRefusal) -> String? {
        guard let value = present(key) else { return nil }
        let text: String
        switch value {
        case .string(let string): text = string
        case .number(let number) where numbersAsText: text = number
        default: throw DocumentRefusal(field: path(key), expected: "a string", found: value.typeWord)
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        guard trimmed.count <= maxLength else {
            throw DocumentRefusal(field: path(key), expected: "at most \(maxLength) characters", found: "\(trimmed.count) characters")
        }
        // Everything here may end up in XML, and XML 1.0 has no way to write these (its `Char`).
        if let position = trimmed.unicodeScalars.firstIndex(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0xFFFE || $0.value == 0xFFFF }) {
            let hex = String(trimmed.unicodeScalars[position].value, radix: 16, uppercase: true)
            let offset = trimmed.unicodeScalars.distance(from: trimmed.unicodeScalars.startIndex, to: position)
            throw DocumentRefusal(field: path(key), expected: "text without control characters or the non-characters U+FFFE and U+FFFF (XML 1.0 cannot hold them)",
                                  found: "U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex) at character \(offset + 1)")
        }
        return trimmed
    }

    public func requiredText(_ key: String, maxLength: Int = 200) throws(DocumentRefusal) -> String {
        guard let text = try optionalText(key, maxLength: maxLength) else {
            throw DocumentRefusal(field: path(key), expected: "a non-empty string (the field is required)", found: members[key]?.shortDescription ?? "nothing")
        }
        return text
    }

    /// Numbers that name things (customer, order, invoice numbers) end up in file names and
    /// references, so they are restricted to characters that are safe everywhere.
    public func optionalIdentifier(_ key: String) throws(DocumentRefusal) -> String? {
        guard let value = present(key) else { return nil }
        let text: String
        switch value {
        case .string(let s): text = s
        case .number(let n) where n.allSatisfy(\.isNumber): text = n
        default: throw DocumentRefusal(field: path(key), expected: "a string", found: value.typeWord)
        }
        guard (1...40).contains(text.count),
              text.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }) else {
            throw DocumentRefusal(field: path(key), expected: "1 to 40 characters of A-Z, a-z, 0-9, '-' and '_'", found: value.shortDescription)
        }
        return text
    }

    public func requiredIdentifier(_ key: String) throws(DocumentRefusal) -> String {
        guard let id = try optionalIdentifier(key) else {
            throw DocumentRefusal(field: path(key), expected: "a value (the field is required)", found: "nothing")
        }
        return id
    }

    public func optionalEnum<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(DocumentRefusal) -> E? where E.RawValue == String {
        guard let value = present(key) else { return nil }
        let choices = E.allCases.map { $0.rawValue }.joined(separator: ", ")
        guard case .string(let text) = value, let result = E(rawValue: text) else {
            throw DocumentRefusal(field: path(key), expected: "one of \(choices)", found: value.shortDescription)
        }
        return result
    }

    public func requiredEnum<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(DocumentRefusal) -> E where E.RawValue == String {
        guard let result = try optionalEnum(key, type) else {
            let choices = E.allCases.map { $0.rawValue }.joined(separator: ", ")
            throw DocumentRefusal(field: path(key), expected: "one of \(choices) (the field is required)", found: "nothing")
        }
        return result
    }

    public func optionalBool(_ key: String) throws(DocumentRefusal) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw DocumentRefusal(field: path(key), expected: "true or false", found: value.shortDescription) }
        return b
    }

    /// Decimals come as JSON numbers or strings and are read from their text, exactly.
    public func optionalDecimal(_ key: String, _ limits: DecimalLimits) throws(DocumentRefusal) -> Decimal? {
        guard let value = present(key) else { return nil }
        let literal: String
        switch value {
        case .number(let n): literal = n
        case .string(let s): literal = s
        default: throw DocumentRefusal(field: path(key), expected: limits.words, found: value.typeWord)
        }
        let unsigned = literal.hasPrefix("-") ? literal.dropFirst() : Substring(literal)
        let parts = unsigned.split(separator: ".", omittingEmptySubsequences: false)
        guard let number = Decimal(exactly: Substring(literal)), parts.count <= 2,
              parts[0].count <= limits.integerDigits, (parts.count == 1 ? 0 : parts[1].count) <= limits.decimals else {
            throw DocumentRefusal(field: path(key), expected: limits.words, found: value.shortDescription)
        }
        if number < 0, !limits.allowsNegative {
            throw DocumentRefusal(field: path(key), expected: limits.words, found: value.shortDescription)
        }
        if let range = limits.range, !range.contains(number) {
            throw DocumentRefusal(field: path(key), expected: limits.words, found: value.shortDescription)
        }
        return number
    }

    public func requiredDecimal(_ key: String, _ limits: DecimalLimits) throws(DocumentRefusal) -> Decimal {
        guard let number = try optionalDecimal(key, limits) else {
            throw DocumentRefusal(field: path(key), expected: limits.words + " (the field is required)", found: "nothing")
        }
        return number
    }

    public func optionalInteger(_ key: String, range: ClosedRange<Int>) throws(DocumentRefusal) -> Int? {
        guard let value = present(key) else { return nil }
        guard case .number(let n) = value, n.count <= 6, let int = Int(n), range.contains(int) else {
            throw DocumentRefusal(field: path(key), expected: "a whole number from \(range.lowerBound) to \(range.upperBound)", found: value.shortDescription)
        }
        return int
    }

    public func optionalIntegers(_ key: String, range: ClosedRange<Int>) throws(DocumentRefusal) -> [Int]? {
        guard let value = present(key) else { return nil }
        guard case .array(let items) = value else { throw DocumentRefusal(field: path(key), expected: "an array of whole numbers", found: value.typeWord) }
        var result: [Int] = []
        for (i, item) in items.enumerated() {
            guard case .number(let n) = item, n.count <= 6, let int = Int(n), range.contains(int) else {
                throw DocumentRefusal(field: "\(path(key))[\(i)]", expected: "a whole number from \(range.lowerBound) to \(range.upperBound)", found: item.shortDescription)
            }
            result.append(int)
        }
        return result
    }

    public func vatRate(_ key: String) throws(DocumentRefusal) -> VATRate {
        guard let value = present(key) else { throw DocumentRefusal(field: path(key), expected: "25, 12, 6 or 0 (the field is required)", found: "nothing") }
        let literal: String
        switch value {
        case .number(let n): literal = n
        case .string(let s): literal = s
        default: throw DocumentRefusal(field: path(key), expected: "25, 12, 6 or 0", found: value.typeWord)
        }
        guard let number = Decimal(exactly: Substring(literal)), let rate = VATRate.allCases.first(where: { $0.percent == number }) else {
            throw DocumentRefusal(field: path(key), expected: "a Swedish VAT rate: 25, 12, 6 or 0", found: value.shortDescription)
        }
        return rate
    }

    public func optionalDate(_ key: String) throws(DocumentRefusal) -> CivilDate? {
        guard let value = present(key) else { return nil }
        guard case .string(let text) = value, let date = CivilDate(text) else {
            throw DocumentRefusal(field: path(key), expected: "a date YYYY-MM-DD", found: value.shortDescription)
        }
        return date
    }

    public func requiredDate(_ key: String) throws(DocumentRefusal) -> CivilDate {
        guard let date = try optionalDate(key) else { throw DocumentRefusal(field: path(key), expected: "a date YYYY-MM-DD (the field is required)", found: "nothing") }
        return date
    }

    public func optionalInstant(_ key: String) throws(DocumentRefusal) -> Date? {
        guard let value = present(key) else { return nil }
        guard case .string(let text) = value, let date = Instant.parse(text) else {
            throw DocumentRefusal(field: path(key), expected: "an ISO 8601 instant with offset, e.g. 2026-11-21T14:03:00+01:00", found: value.shortDescription)
        }
        return date
    }

    public func requiredInstant(_ key: String) throws(DocumentRefusal) -> Date {
        guard let date = try optionalInstant(key) else {
            throw DocumentRefusal(field: path(key), expected: "an ISO 8601 instant with offset (the field is required)", found: "nothing")
        }
        return date
    }

    public func email(_ key: String) throws(DocumentRefusal) -> String? {
        guard let text = try optionalText(key, maxLength: 254) else { return nil }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !text.contains(" ") else {
            throw DocumentRefusal(field: path(key), expected: "an e-mail address", found: "\"\(text)\"")
        }
        return text
    }

    /// An ISO 4217 code. Present but empty is refused: "no currency" is said by leaving the key out.
    public func currency(_ key: String) throws(DocumentRefusal) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let text) = value, ISO4217.codes.contains(text) else {
            throw DocumentRefusal(field: path(key), expected: "an ISO 4217 currency code such as SEK, EUR or NOK", found: value.shortDescription)
        }
        return text
    }

    public func countryCode(_ key: String) throws(DocumentRefusal) -> String? {
        guard let text = try optionalText(key, maxLength: 2) else { return nil }
        guard text.count == 2, text.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw DocumentRefusal(field: path(key), expected: "an ISO 3166 country code such as SE", found: "\"\(text)\"")
        }
        return text
    }

    public func organisationNumber(_ key: String) throws(DocumentRefusal) -> String? {
        guard let text = try optionalText(key, maxLength: 20) else { return nil }
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }), text.filter(\.isNumber).count >= 6 else {
            throw DocumentRefusal(field: path(key), expected: "an organisation number such as 556677-8899", found: "\"\(text)\"")
        }
        return text
    }

    public func peppolId(_ key: String) throws(DocumentRefusal) -> String? {
        guard let text = try optionalText(key, maxLength: 60) else { return nil }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 4, parts[0].allSatisfy(\.isNumber), !parts[1].isEmpty else {
            throw DocumentRefusal(field: path(key), expected: "a Peppol ID SCHEME:ID such as 0007:5566778899", found: "\"\(text)\"")
        }
        return text
    }

    public func optionalObject(_ key: String) throws(DocumentRefusal) -> Fields? {
        guard let value = present(key) else { return nil }
        guard case .object(let members) = value else { throw DocumentRefusal(field: path(key), expected: "an object", found: value.typeWord) }
        return Fields(members, prefix: path(key) + ".", numbersAsText: numbersAsText)
    }

    public func requiredArrayOfObjects(_ key: String) throws(DocumentRefusal) -> [Fields] {
        guard let value = present(key) else { throw DocumentRefusal(field: path(key), expected: "an array (the field is required)", found: "nothing") }
        guard case .array(let items) = value else { throw DocumentRefusal(field: path(key), expected: "an array", found: value.typeWord) }
        var result: [Fields] = []
        for (i, item) in items.enumerated() {
            guard case .object(let members) = item else {
                throw DocumentRefusal(field: "\(path(key))[\(i)]", expected: "an object", found: item.typeWord)
            }
            result.append(Fields(members, prefix: "\(path(key))[\(i)].", numbersAsText: numbersAsText))
        }
        return result
    }
}
