import Foundation
import GatewayCore
import Invoicing

/// A value of the canonical model that mappings read. Absent optional values keep their type
/// (`.text(nil)`), so a mapping can be checked against the model without a real invoice.
public indirect enum ModelValue: Sendable, Hashable {
    case text(String?)
    case decimal(Decimal?)
    case date(CivilDate?)
    case integer(Int?)
    case bool(Bool?)
    case object([String: ModelValue])
    /// A collection; `shape` is the type of one element, also when the list is empty.
    case list([ModelValue], shape: [String: ModelValue])

    public var typeName: String {
        switch self {
        case .text: "text"
        case .decimal: "decimal"
        case .date: "date"
        case .integer: "integer"
        case .bool: "boolean"
        case .object: "group"
        case .list: "collection"
        }
    }

    /// Empty values make an element or attribute be left out.
    public var isEmpty: Bool {
        switch self {
        case .text(let v): v?.isEmpty ?? true
        case .decimal(let v): v == nil
        case .date(let v): v == nil
        case .integer(let v): v == nil
        case .bool(let v): v != true
        case .object(let members): members.isEmpty
        case .list(let items, _): items.isEmpty
        }
    }
}

/// The one documented model every mapping reads: `invoice.*`, `seller.*`, `buyer.*`, `delivery.*`.
/// `gateway mappings reference` prints every path with its type and an example value.
public enum CanonicalModel {
    /// `values` are the site's own constants from gateway.yml (`mappingValues:`), as `settings.*`.
    public static func build(_ invoice: Invoice, client: ClientProfile, values: [String: String] = [:]) -> [String: ModelValue] {
        [
            "settings": .object(values.mapValues { .text($0) }),
            "invoice": invoiceValue(invoice, timeZone: client.timeZone),
            "seller": sellerValue(client),
            "buyer": buyerValue(invoice.customer),
            "delivery": .object([
                "name": .text(invoice.deliveryName),
                "address": address(invoice.deliveryAddress),
                "date": .date(invoice.deliveryDate),
            ]),
        ]
    }

    private static func invoiceValue(_ invoice: Invoice, timeZone: TimeZone) -> ModelValue {
        let t = invoice.totals
        let isCredit = invoice.kind == .credit
        // ERP imports book a credit as negative amounts; these fields carry that sign.
        let sign: Decimal = isCredit ? -1 : 1
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let time = calendar.dateComponents([.hour, .minute, .second], from: invoice.createdAt)
        return .object([
            "createdDate": .date(CivilDate(invoice.createdAt, in: timeZone)),
            "createdTime": .text(String(format: "%02d%02d%02d", time.hour ?? 0, time.minute ?? 0, time.second ?? 0)),
            "number": .text(invoice.number),
            "kind": .text(invoice.kind.rawValue),
            "isCredit": .bool(isCredit),
            "typeCode": .text(isCredit ? "381" : "380"),
            "issueDate": .date(invoice.issueDate),
            "dueDate": .date(invoice.dueDate),
            "currency": .text(invoice.currency),
            "ocr": .text(invoice.ocr),
            "orderNumber": .text(invoice.orderNumbers.first),
            "orderNumbers": .text(invoice.orderNumbers.joined(separator: ", ")),
            // Peppol references one purchase order per document (BT-13): a collective invoice of
            // several orders names each line's order in the line's note instead (BT-127).
            "singleOrderNumber": .text(invoice.orderNumbers.count == 1 ? invoice.orderNumbers[0] : nil),
            "isCollective": .bool(invoice.isCollective),
            "orderingCustomerNumber": .text(invoice.orderingCustomerNumber),
            "returnNumber": .text(invoice.returnNumber),
            "yourReference": .text(invoice.yourReference),
            // Never empty: Svefaktura requires a buyer's reference and Peppol one of this or an order reference.
            "buyerReference": .text(invoice.yourReference ?? invoice.customer.invoiceReference ?? invoice.customer.name),
            // Your reference, or, when there is no single order to reference, `buyerReference`:
            // Peppol needs one of the two (PEPPOL-EN16931-R003).
            "buyerReferenceUnlessOrder": .text(invoice.yourReference
                ?? (invoice.orderNumbers.count == 1 ? nil : invoice.customer.invoiceReference ?? invoice.customer.name)),
            "ourReference": .text(invoice.ourReference),
            "externalOrderNumber": .text(invoice.externalOrderNumber),
            "endCustomerOrderNumber": .text(invoice.endCustomerOrderNumber),
            "invoiceEmail": .text(invoice.invoiceEmail),
            "termsOfPaymentDays": .integer(invoice.settings.termsOfPaymentDays),
            "paymentTerms": .text(isCredit ? "Kreditfaktura" : "\(invoice.settings.termsOfPaymentDays) dagar netto"),
            "paymentMethod": .text(invoice.paymentMethod),
            "isPrepaid": .bool(t.prepaid > 0),
            "note": .text(note(invoice)),
            "lineCount": .integer(invoice.lines.count),
            "creditedInvoice": .object([
                "number": .text(invoice.creditedInvoiceNumber),
                "issueDate": .date(invoice.creditedInvoiceIssueDate),
            ]),
            "totals": .object([
                "net": .decimal(t.net),
                "vat": .decimal(t.vat),
                "gross": .decimal(t.gross),
                "rounding": .decimal(t.rounding),
                "due": .decimal(t.gross + t.rounding),
                "prepaid": .decimal(t.prepaid),
                "payable": .decimal(t.payable),
                "discount": .decimal(invoice.lines.reduce(Decimal(0)) { $0 + $1.discountAmount }),
                "signedNet": .decimal(sign * t.net),
                "signedVat": .decimal(sign * t.vat),
                "signedGross": .decimal(sign * t.gross),
                "signedPayable": .decimal(sign * t.payable),
            ]),
            "vatBreakdown": .list(t.vatBreakdown.map { vatValue($0, sign: sign) }, shape: vatShape),
            "lines": .list(lines(of: invoice, sign: sign), shape: lineShape),
        ])
    }

    /// A free-text note that says what a reader must know and the formats have no field for.
    private static func note(_ invoice: Invoice) -> String? {
        var parts: [String] = []
        if let original = invoice.creditedInvoiceNumber {
            parts.append("Kreditering av faktura \(original)" + (invoice.creditedInvoiceIssueDate.map { " av \($0)" } ?? ""))
        }
        if invoice.totals.prepaid > 0 { parts.append("Betald i förskott (\(invoice.totals.prepaid.fixed(2)) \(invoice.currency))") }
        return parts.isEmpty ? nil : parts.joined(separator: ". ")
    }

    private static func vatValue(_ v: VATSubtotal, sign: Decimal) -> ModelValue {
        .object(["rate": .integer(v.rate.rawValue), "taxable": .decimal(v.taxable), "amount": .decimal(v.amount),
                 "signedTaxable": .decimal(sign * v.taxable), "signedAmount": .decimal(sign * v.amount)])
    }

    private static let vatShape: [String: ModelValue] = [
        "rate": .integer(nil), "taxable": .decimal(nil), "amount": .decimal(nil), "signedTaxable": .decimal(nil), "signedAmount": .decimal(nil),
    ]

    private static func lines(of invoice: Invoice, sign: Decimal) -> [ModelValue] {
        let orders = Dictionary(invoice.orders.map { ($0.orderNumber, $0) }, uniquingKeysWith: { a, _ in a })
        let orderedByOther = invoice.orderingCustomerNumber != nil
        return invoice.lines.map { line in
            let order = line.orderNumber.flatMap { orders[$0] }
            let note = invoice.isCollective ? order.map { $0.heading(namingOrderer: orderedByOther) } : nil
            return lineValue(line, sign: sign, order: order, note: note, orderReference: line.orderNumber ?? invoice.orderNumbers.first)
        }
    }

    private static func lineValue(_ l: InvoiceLine, sign: Decimal, order: InvoicedOrder?, note: String?, orderReference: String?) -> ModelValue {
        let vat = (l.net * l.vatRate.percent / 100).roundedToOre
        return .object([
            "orderNumber": .text(l.orderNumber),
            // The order the line was delivered on: its group's on a collective invoice, else the invoice's.
            "orderReference": .text(orderReference),
            "deliveryDate": .date(order?.deliveryDate),
            "orderedBy": .text(order?.orderedBy),
            "orderNote": .text(note),
            "vatAmount": .decimal(vat),
            "signedNet": .decimal(sign * l.net),
            "signedQuantity": .decimal(sign * l.quantity),
            "signedVatAmount": .decimal(sign * vat),
            "position": .integer(l.position),
            "articleNumber": .text(l.articleNumber),
            "description": .text(l.description),
            "quantity": .decimal(l.quantity),
            "unit": .text(l.unit),
            "unitPrice": .decimal(l.unitPrice),
            "discountPercent": .decimal(l.discountPercent),
            "discountAmount": .decimal(l.discountAmount > 0 ? l.discountAmount : nil),
            "grossAmount": .decimal(l.grossAmount),
            "net": .decimal(l.net),
            "vatRate": .integer(l.vatRate.rawValue),
        ])
    }

    private static let lineShape: [String: ModelValue] = [
        "position": .integer(nil), "articleNumber": .text(nil), "description": .text(nil), "quantity": .decimal(nil),
        "unit": .text(nil), "unitPrice": .decimal(nil), "discountPercent": .decimal(nil), "discountAmount": .decimal(nil),
        "grossAmount": .decimal(nil), "net": .decimal(nil), "vatRate": .integer(nil), "vatAmount": .decimal(nil),
        "signedNet": .decimal(nil), "signedQuantity": .decimal(nil), "signedVatAmount": .decimal(nil),
        "orderNumber": .text(nil), "deliveryDate": .date(nil), "orderedBy": .text(nil), "orderNote": .text(nil), "orderReference": .text(nil),
    ]

    private static func sellerValue(_ c: ClientProfile) -> ModelValue {
        .object([
            "id": .text(c.id),
            "name": .text(c.name),
            "organisationNumber": .text(c.organisationNumber),
            "vatNumber": .text(c.vatNumber),
            "fTax": .text(c.approvedForFTax ? "Godkänd för F-skatt" : nil),
            "address": address(c.address),
            "email": .text(c.email),
            "phone": .text(c.phone),
            "bankgiro": .text(c.bankgiro),
            "plusgiro": .text(c.plusgiro),
            "iban": .text(c.iban),
            "bic": .text(c.bic),
        ])
    }

    private static func buyerValue(_ c: Customer) -> ModelValue {
        let endpoint = c.electronicAddress
        return .object([
            "customerNumber": .text(c.customerNumber),
            "kind": .text(c.kind.rawValue),
            "isOrganisation": .bool(c.kind == .organisation),
            "name": .text(c.name),
            "organisationNumber": .text(c.organisationNumber),
            "vatNumber": .text(c.vatNumber),
            "email": .text(c.email),
            "invoiceEmail": .text(c.invoiceEmail ?? c.email),
            "gln": .text(c.gln),
            "invoiceReference": .text(c.invoiceReference),
            "address": address(c.address),
            "endpoint": .object(["scheme": .text(endpoint?.scheme), "id": .text(endpoint?.id)]),
        ])
    }

    private static func address(_ a: PostalAddress?) -> ModelValue {
        .object([
            "street": .text(a?.street),
            "postalCode": .text(a?.postalCode),
            "city": .text(a?.city),
            "country": .text(a?.country),
        ])
    }

    /// A model with every path present, for checking mappings and documenting paths.
    public static let example: [String: ModelValue] = {
        let customer = Customer(
            customerNumber: "K1000", kind: .organisation, name: "Bygg & Co AB", organisationNumber: "556677-8899",
            vatNumber: "SE556677889901", email: "info@byggco.example", invoiceEmail: "faktura@byggco.example",
            address: PostalAddress(street: "Storgatan 1", postalCode: "111 22", city: "Stockholm", country: "SE"),
            peppolId: "0007:5566778899", gln: "7300009012345", invoiceReference: "Inköp 42")
        let client = ClientProfile(
            id: "exempel", name: "Exempel Handel AB", organisationNumber: "556000-0001", vatNumber: "SE556000000101",
            address: PostalAddress(street: "Exempelvägen 1", postalCode: "411 01", city: "Göteborg", country: "SE"),
            email: "faktura@exempel.example", phone: "031-123456", bankgiro: "5050-1055", plusgiro: "123456-7",
            iban: "SE4550000000058398257466", bic: "ESSESESS")
        let order = Order(
            orderNumber: "100231", customerNumber: "K1000", status: .completed, orderDate: CivilDate("2026-11-20")!,
            completedAt: Instant.parse("2026-11-21T14:03:00+01:00"), externalOrderNumber: "WEB-5531",
            endCustomerOrderNumber: "EC-77", yourReference: "Anna Andersson", ourReference: "Erik Ek",
            paymentMethod: "invoice", deliveryName: "Bygg & Co Lager", deliveryAddress: customer.address,
            lines: [OrderLine(articleNumber: "A-1", description: "Skruv 4x40 (200 st)", quantity: 12, unit: "st",
                              unitPrice: 89, vatRate: .twentyFive, discountPercent: 10)])
        var invoice = InvoiceFactory(client: client).invoice(for: order, customer: customer, number: "1001", at: Instant.parse("2026-11-25T09:30:15+01:00")!)
        invoice.returnNumber = "R-1"
        invoice.creditedInvoiceNumber = "1000"
        invoice.creditedInvoiceIssueDate = CivilDate("2026-11-01")
        // A department's order that its parent pays (M6), so that the line-group fields show too.
        invoice.orderingCustomerNumber = "K1001"
        invoice.orders = [InvoicedOrder(orderNumber: order.orderNumber, deliveryDate: CivilDate("2026-11-21"), orderedBy: "K1001",
                                        orderedByName: "Bygg & Co Syd", yourReference: order.yourReference)]
        for index in invoice.lines.indices { invoice.lines[index].orderNumber = order.orderNumber }
        return build(invoice, client: client)
    }()

    /// The example with a site's own `settings.*` values, for checking mappings against them.
    public static func example(values: [String: String]) -> [String: ModelValue] {
        var model = example
        model["settings"] = .object(values.mapValues { .text($0) })
        return model
    }

    /// Every path of the model with its type and example value, sorted, for the reference.
    public static func reference() -> [(path: String, type: String, example: String)] {
        var rows: [(String, String, String)] = []
        func walk(_ value: ModelValue, _ path: String) {
            switch value {
            case .object(let members):
                for key in members.keys.sorted() { walk(members[key]!, path.isEmpty ? key : path + "." + key) }
            case .list(let items, let shape):
                rows.append((path, "collection", "\(items.count) item(s)"))
                walk(items.first ?? .object(shape), path + "[]")
            default:
                rows.append((path, value.typeName, Formatter.plain(value) ?? ""))
            }
        }
        walk(.object(example), "")
        return rows
    }
}
