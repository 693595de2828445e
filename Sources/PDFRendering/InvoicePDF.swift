import CPangoCairo
import Distribution
import Foundation
import GatewayCore
import Invoicing

/// Draws an invoice, a credit invoice or a payment reminder as an A4 PDF for a window envelope: the recipient's
/// address where the envelope's window is, the seller's details in the footer, a line table
/// that runs over as many pages as it needs (header and page number on each, totals on the
/// last), a VAT summary per rate and, when there is something to pay, the payment QR code.
/// Everything Swedish VAT law asks of an invoice is on it (mervärdesskattelagen 17 kap.).
public struct InvoicePDF: Sendable {
    public let template: InvoiceTemplate
    /// The client's logo (PNG), drawn when the template shows it.
    public let logo: [UInt8]?

    public init(template: InvoiceTemplate, logo: [UInt8]?) {
        self.template = template
        self.logo = logo
    }

    /// What the renderer made: the PDF and how many pages it has (for a print package).
    public struct Document: Sendable {
        public let bytes: [UInt8]
        public let pages: Int
        /// The payment QR code's text, or nil when the invoice has none.
        public let paymentQR: String?
    }

    static let pageWidth = 210.0, pageHeight = 297.0
    static let margin = 20.0 * mm
    static let footerTop = 272.0 * mm
    static let firstTableTop = 118.0 * mm
    static let nextTableTop = 52.0 * mm

    /// Renders the invoice, or with `reminder` the payment reminder for it: the same layout
    /// with the original due date, the reminder's date, fee and new due date, and the payment
    /// block and QR code asking for what is due now.
    public func render(_ invoice: Invoice, client: ClientProfile, reminder: ReminderNotice? = nil) -> Document {
        let t = template
        let payment = reminder.map { (dueDate: $0.newDueDate, amount: $0.amountDue(invoice)) }
        let qrText = t.blocks.paymentQR ? PaymentQR.payload(for: invoice, client: client, dueDate: payment?.dueDate, amount: payment?.amount) : nil
        let canvas = PDFCanvas(widthMM: Self.pageWidth, heightMM: Self.pageHeight, family: t.font, metadata: [
            (CAIRO_PDF_METADATA_TITLE, "\(title(invoice, reminder)) \(invoice.number)"),
            (CAIRO_PDF_METADATA_AUTHOR, client.name),
            (CAIRO_PDF_METADATA_CREATOR, "invoice gateway"),
            (CAIRO_PDF_METADATA_CREATE_DATE, Instant.format(invoice.createdAt)),
        ])
        let columns = Columns(width: canvas.width - 2 * Self.margin)
        var rows: [Row] = []
        let orders = Dictionary(invoice.orders.map { ($0.orderNumber, $0) }, uniquingKeysWith: { a, _ in a })
        var group: String?
        for line in invoice.lines {
            if invoice.isCollective, let number = line.orderNumber, number != group, let order = orders[number] {
                group = number
                let heading = order.heading(namingOrderer: invoice.orderingCustomerNumber != nil)
                rows.append(Row(heading: heading, height: canvas.measure(heading, width: canvas.width - 2 * Self.margin - 2 * mm,
                                                                         font: Self.groupFont) + 2.6 * mm))
            }
            rows.append(Row(line: line, height: rowHeight(line, canvas, columns)))
        }
        let totalsHeight = self.totalsHeight(invoice, reminder, canvas)
        // Lines per page: the first page starts below the address and references, later ones
        // below a short header; the totals need room after the last line.
        var pages: [[Row]] = [[]]
        var y = Self.firstTableTop + headerRowHeight
        for row in rows {
            if y + row.height > Self.footerTop - 4 * mm {
                pages.append([])
                y = Self.nextTableTop + headerRowHeight
            }
            pages[pages.count - 1].append(row)
            y += row.height
        }
        if y + totalsHeight > Self.footerTop - 4 * mm {
            pages.append([])
        }
        for (index, pageRows) in pages.enumerated() {
            if index > 0 { canvas.newPage() }
            let top = index == 0 ? drawFirstPageHeader(invoice, reminder, client, canvas) : drawNextPageHeader(invoice, reminder, canvas)
            var y = pageRows.isEmpty ? top : drawTable(pageRows, top: top, canvas, columns, credit: invoice.kind == .credit)
            canvas.text(t.text("page", ["page": String(index + 1), "pages": String(pages.count)]),
                        x: canvas.width - Self.margin - 60 * mm, y: 27 * mm, width: 60 * mm, font: .init(size: 8), alignment: .right, colour: t.muted)
            if index == pages.count - 1 {
                y += 4 * mm
                drawTotals(invoice, reminder, client, top: y, canvas, qrText: qrText)
            }
            if t.blocks.footer { drawFooter(client, canvas) }
        }
        return Document(bytes: canvas.finish(), pages: pages.count, paymentQR: qrText)
    }

    // MARK: Header

    private func title(_ invoice: Invoice, _ reminder: ReminderNotice?) -> String {
        if reminder != nil { return template.text("reminder") }
        return invoice.kind == .credit ? template.text("creditInvoice") : template.text("invoice")
    }

    private func drawFirstPageHeader(_ invoice: Invoice, _ reminder: ReminderNotice?, _ client: ClientProfile, _ canvas: PDFCanvas) -> Double {
        let t = template
        let m = Self.margin
        if t.blocks.logo, let logo { canvas.image(png: logo, x: m, y: 12 * mm, maxWidth: 55 * mm, maxHeight: 20 * mm) }
        else { canvas.text(client.name, x: m, y: 14 * mm, width: 80 * mm, font: .init(size: 14, bold: true), colour: t.accent) }
        canvas.text(title(invoice, reminder), x: canvas.width - m - 80 * mm, y: 12 * mm, width: 80 * mm, font: .init(size: 20, bold: true),
                    alignment: .right, colour: t.accent)
        // The seller's return address, small, above the window as Swedish letters have it.
        let sender = [client.name, client.address.singleLine].filter { !$0.isEmpty }.joined(separator: ", ")
        let window = t.addressWindow
        canvas.text(sender, x: window.left * mm, y: (window.top - 5) * mm, width: window.width * mm, font: .init(size: 6.5), colour: t.muted)
        // The recipient, in the envelope's window: whom resolution addressed it to (D10: perhaps
        // the organisation's invoice reference), else the customer.
        let addressee = invoice.distribution?.addressee
        let buyer = invoice.customer
        let postal = addressee?.address ?? buyer.address
        var address = [addressee?.name ?? buyer.name]
        if let attention = addressee?.attention ?? (addressee == nil ? buyer.invoiceReference : nil) { address.append(attention) }
        if let street = postal?.street { address.append(street) }
        let place = [postal?.postalCode, postal?.city].compactMap { $0 }.joined(separator: " ")
        if !place.isEmpty { address.append(place) }
        if let country = postal?.country, country != (client.address.country ?? "SE") { address.append(country) }
        canvas.text(address.joined(separator: "\n"), x: (window.left + 2) * mm, y: (window.top + 3) * mm, width: (window.width - 4) * mm,
                    font: .init(size: 10.5), colour: t.text)

        // Invoice facts on the left, references beside them.
        var facts: [(String, String)] = [
            (t.text("invoiceNumber"), invoice.number), (t.text("invoiceDate"), invoice.issueDate.description),
        ]
        if let reminder {
            facts.append((t.text("originalDueDate"), invoice.dueDate.description))
            facts.append((t.text("reminderDate"), reminder.date.description))
            facts.append((t.text("newDueDate"), reminder.newDueDate.description))
            facts.append((t.text("ocr"), invoice.ocr))
        } else if invoice.kind != .credit {
            facts.append((t.text("dueDate"), invoice.dueDate.description))
            facts.append((t.text("ocr"), invoice.ocr))
        }
        facts.append((t.text("customerNumber"), buyer.customerNumber))
        if let vat = buyer.vatNumber { facts.append((t.text("buyerVatNumber"), vat)) }
        let labelWidth = (reminder == nil ? 32 : 42) * mm
        var y = drawPairs(facts, x: m, y: 45 * mm, labelWidth: labelWidth, valueWidth: 82 * mm - labelWidth, canvas)
        if invoice.kind == .credit, let credited = invoice.creditedInvoiceNumber {
            let note = t.text("credits", ["number": credited, "date": invoice.creditedInvoiceIssueDate?.description ?? ""])
            y += canvas.text(note, x: m, y: y + 1 * mm, width: 85 * mm, font: .init(size: 8.5, bold: true), colour: t.text) + 1 * mm
        }
        if let reminder {
            let note = t.text("reminderText", ["number": invoice.number, "dueDate": invoice.dueDate.description,
                                               "amount": t.amount(reminder.amountDue(invoice)), "currency": invoice.currency,
                                               "newDueDate": reminder.newDueDate.description])
            y += canvas.text(note, x: m, y: y + 2 * mm, width: 85 * mm, font: .init(size: 8.5), colour: t.text) + 2 * mm
        }
        var references: [(String, String)] = []
        if t.blocks.references {
            if let r = invoice.yourReference { references.append((t.text("yourReference"), r)) }
            if let r = invoice.ourReference { references.append((t.text("ourReference"), r)) }
            if !invoice.orderNumbers.isEmpty {
                // A collective invoice's orders head their own lines below; the header names the range.
                let numbers = invoice.orderNumbers.count <= 3 ? invoice.orderNumbers.joined(separator: ", ")
                    : "\(invoice.orderNumbers[0]) – \(invoice.orderNumbers[invoice.orderNumbers.count - 1]) (\(invoice.orderNumbers.count))"
                references.append((t.text("orderNumbers"), numbers))
            }
            if let r = invoice.externalOrderNumber { references.append((t.text("yourOrderNumber"), r)) }
        }
        if let date = invoice.deliveryDate { references.append((t.text("deliveryDate"), date.description)) }
        if t.blocks.deliveryAddress, let delivery = invoice.deliveryAddress {
            let text = [invoice.deliveryName, delivery.singleLine].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
            if !text.isEmpty { references.append((t.text("deliveryAddress"), text)) }
        }
        let referencesBottom = drawPairs(references, x: window.left * mm, y: (window.top + window.height + 4) * mm,
                                         labelWidth: 30 * mm, valueWidth: (window.width - 30) * mm, canvas)
        return max(Self.firstTableTop, y + 4 * mm, referencesBottom + 4 * mm)
    }

    private func drawNextPageHeader(_ invoice: Invoice, _ reminder: ReminderNotice?, _ canvas: PDFCanvas) -> Double {
        let t = template
        if t.blocks.logo, let logo { canvas.image(png: logo, x: Self.margin, y: 12 * mm, maxWidth: 40 * mm, maxHeight: 14 * mm) }
        canvas.text("\(title(invoice, reminder)) \(invoice.number)", x: canvas.width - Self.margin - 80 * mm, y: 12 * mm, width: 80 * mm,
                    font: .init(size: 14, bold: true), alignment: .right, colour: t.accent)
        canvas.text("\(t.text("invoiceDate")) \(invoice.issueDate)  ·  \(t.text("customerNumber")) \(invoice.customer.customerNumber)",
                    x: Self.margin, y: 35 * mm, width: canvas.width - 2 * Self.margin, font: .init(size: 8.5), colour: t.muted)
        return Self.nextTableTop
    }

    /// Label/value pairs in two columns; returns the bottom.
    private func drawPairs(_ pairs: [(String, String)], x: Double, y: Double, labelWidth: Double, valueWidth: Double, _ canvas: PDFCanvas) -> Double {
        var y = y
        for (label, value) in pairs {
            canvas.text(label, x: x, y: y, width: labelWidth, font: .init(size: 8), colour: template.muted)
            let height = canvas.text(value, x: x + labelWidth, y: y, width: valueWidth, font: .init(size: 8.5), colour: template.text)
            y += max(height, 4 * mm)
        }
        return y
    }

    // MARK: Lines

    /// A line of the table, or the heading of an order's group of lines (M2).
    private struct Row {
        var line: InvoiceLine?
        var heading: String?
        let height: Double
    }

    /// The table's columns, from the left, in points.
    private struct Columns {
        let article, description, quantity, unit, price, discount, vat, amount: (x: Double, width: Double)
        init(width: Double) {
            let fixed = [18.0, 14, 12, 20, 13, 11, 24].map { $0 * mm }
            let free = width - fixed.reduce(0, +)
            var x = InvoicePDF.margin
            func next(_ w: Double) -> (x: Double, width: Double) { defer { x += w }; return (x, w) }
            article = next(fixed[0]); description = next(free); quantity = next(fixed[1]); unit = next(fixed[2])
            price = next(fixed[3]); discount = next(fixed[4]); vat = next(fixed[5]); amount = next(fixed[6])
        }
    }

    private let headerRowHeight = 7 * mm
    private static let bodyFont = PDFCanvas.Font(size: 8.5)
    private static let groupFont = PDFCanvas.Font(size: 8.5, bold: true)

    private func rowHeight(_ line: InvoiceLine, _ canvas: PDFCanvas, _ columns: Columns) -> Double {
        let description = canvas.measure(line.description, width: columns.description.width - 2 * mm, font: Self.bodyFont)
        let article = canvas.measure(line.articleNumber, width: columns.article.width - 2 * mm, font: Self.bodyFont)
        return max(description, article) + 2.2 * mm
    }

    /// A buyer that accounts for the VAT itself: an organisation with another EU country's VAT number.
    static func isReverseCharge(_ invoice: Invoice) -> Bool {
        guard invoice.customer.kind == .organisation, let vat = invoice.customer.vatNumber?.uppercased(), vat.count > 4 else { return false }
        let country = String(vat.prefix(2))
        return country != "SE" && euVATPrefixes.contains(country)
    }

    private static let euVATPrefixes: Set<String> = [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT",
        "NL", "PL", "PT", "RO", "SI", "SK", "XI",
    ]

    private func drawTable(_ rows: [Row], top: Double, _ canvas: PDFCanvas, _ columns: Columns, credit: Bool) -> Double {
        let t = template
        var y = top
        let headerFont = PDFCanvas.Font(size: 7.5, bold: true)
        canvas.fill(x: Self.margin, y: y, width: canvas.width - 2 * Self.margin, height: headerRowHeight - 1.5 * mm, colour: t.accent)
        let white = RGB(hex: "#FFFFFF")!
        let heads: [((x: Double, width: Double), String, PDFCanvas.Alignment)] = [
            (columns.article, t.text("article"), .left), (columns.description, t.text("description"), .left),
            (columns.quantity, t.text("quantity"), .right), (columns.unit, t.text("unit"), .left),
            (columns.price, t.text("unitPrice"), .right), (columns.discount, t.text("discount"), .right),
            (columns.vat, t.text("vatRate"), .right), (columns.amount, t.text("amount"), .right),
        ]
        for (column, text, alignment) in heads {
            canvas.text(text, x: column.x + 1 * mm, y: y + 1.2 * mm, width: column.width - 2 * mm, font: headerFont, alignment: alignment, colour: white)
        }
        y += headerRowHeight
        let sign = credit ? Decimal(-1) : 1
        for row in rows {
            guard let line = row.line else {
                canvas.text(row.heading ?? "", x: Self.margin + 1 * mm, y: y + 1 * mm, width: canvas.width - 2 * Self.margin - 2 * mm,
                            font: Self.groupFont, colour: t.text)
                y += row.height
                continue
            }
            let cells: [((x: Double, width: Double), String, PDFCanvas.Alignment)] = [
                (columns.article, line.articleNumber, .left),
                (columns.quantity, t.number(line.quantity), .right), (columns.unit, line.unit ?? "", .left),
                (columns.price, t.amount(line.unitPrice, decimals: max(2, line.unitPrice.scale)), .right),
                (columns.discount, line.discountPercent.map { t.number($0) + "\u{00A0}%" } ?? "", .right),
                (columns.vat, "\(line.vatRate.rawValue)\u{00A0}%", .right), (columns.amount, t.amount(sign * line.net), .right),
            ]
            for (column, text, alignment) in cells {
                canvas.text(text, x: column.x + 1 * mm, y: y, width: column.width - 2 * mm, font: Self.bodyFont, alignment: alignment, colour: t.text)
            }
            canvas.text(line.description, x: columns.description.x + 1 * mm, y: y, width: columns.description.width - 2 * mm,
                        font: Self.bodyFont, colour: t.text)
            y += row.height
            canvas.line(from: (Self.margin, y - 1 * mm), to: (canvas.width - Self.margin, y - 1 * mm), width: 0.3, colour: t.rule)
        }
        return y
    }

    // MARK: Totals and payment

    private func totalsHeight(_ invoice: Invoice, _ reminder: ReminderNotice?, _ canvas: PDFCanvas) -> Double {
        // The VAT summary beside the sums, then the payment block beside the QR code.
        let summary = template.blocks.vatSummary ? Double(invoice.totals.vatBreakdown.count + 1) * 4.5 * mm + 12 * mm : 0
        let sums = Double(sumRows(invoice, reminder).count) * 5 * mm + 2 * mm
        let payment = invoice.kind == .credit || invoice.totals.payable <= 0 ? 0 : 50 * mm
        return max(summary, sums) + payment + 4 * mm
    }

    /// The sums block's rows: label, amount, and whether it is the amount to pay.
    private func sumRows(_ invoice: Invoice, _ reminder: ReminderNotice?) -> [(String, Decimal, Bool)] {
        let t = template
        let totals = invoice.totals
        var sums: [(String, Decimal, Bool)] = [(t.text("net"), totals.net, false), (t.text("vat"), totals.vat, false)]
        if totals.rounding != 0 { sums.append((t.text("rounding"), totals.rounding, false)) }
        sums.append((t.text("total"), totals.gross + totals.rounding, false))
        if totals.prepaid != 0 { sums.append((t.text("prepaid"), -totals.prepaid, false)) }
        guard let reminder else {
            sums.append((invoice.kind == .credit ? t.text("toRefund") : t.text("toPay"), totals.payable, true))
            return sums
        }
        // What the invoice asked for, what has come in, and what the reminder adds (no VAT).
        if totals.prepaid != 0 { sums.append((t.text("invoiceAmount"), totals.payable, false)) }
        if reminder.paid != 0 { sums.append((t.text("paid"), -reminder.paid, false)) }
        if reminder.fee != 0 { sums.append((t.text("reminderFee"), reminder.fee, false)) }
        if reminder.interest != 0 { sums.append((t.text("lateInterest"), reminder.interest, false)) }
        if reminder.compensation != 0 { sums.append((t.text("lateCompensation"), reminder.compensation, false)) }
        sums.append((t.text("toPay"), reminder.amountDue(invoice), true))
        return sums
    }

    private func drawTotals(_ invoice: Invoice, _ reminder: ReminderNotice?, _ client: ClientProfile, top: Double, _ canvas: PDFCanvas,
                            qrText: String?) {
        let t = template
        let credit = invoice.kind == .credit
        let sign = credit ? Decimal(-1) : 1
        let totals = invoice.totals
        let right = canvas.width - Self.margin
        // The VAT summary per rate, on the left.
        var y = top
        if t.blocks.vatSummary {
            canvas.text(t.text("vatSummary"), x: Self.margin, y: y, width: 80 * mm, font: .init(size: 8, bold: true), colour: t.text)
            y += 4.5 * mm
            for (label, x) in [(t.text("vatRate"), 0.0), (t.text("taxable"), 18.0), (t.text("vat"), 48.0)] {
                canvas.text(label, x: Self.margin + x * mm, y: y, width: 28 * mm, font: .init(size: 7.5), alignment: x == 0 ? .left : .right, colour: t.muted)
            }
            for subtotal in totals.vatBreakdown {
                y += 4.5 * mm
                canvas.text("\(subtotal.rate.rawValue)\u{00A0}%", x: Self.margin, y: y, width: 16 * mm, font: .init(size: 8), colour: t.text)
                canvas.text(t.amount(sign * subtotal.taxable), x: Self.margin + 18 * mm, y: y, width: 28 * mm, font: .init(size: 8), alignment: .right, colour: t.text)
                canvas.text(t.amount(sign * subtotal.amount), x: Self.margin + 48 * mm, y: y, width: 28 * mm, font: .init(size: 8), alignment: .right, colour: t.text)
            }
            // The text the law asks of a supply without VAT: reverse charge for a business buyer
            // in another EU country (its VAT number is on the invoice), else the exemption.
            if totals.vatBreakdown.contains(where: { $0.rate == .zero }) {
                y += 5 * mm
                y += canvas.text(t.text(Self.isReverseCharge(invoice) ? "reverseCharge" : "zeroRated"), x: Self.margin, y: y, width: 80 * mm,
                                 font: .init(size: 7), colour: t.muted)
            }
        }
        // The sums, on the right.
        var sy = top
        for (label, value, strong) in sumRows(invoice, reminder) {
            if strong {
                canvas.line(from: (right - 88 * mm, sy + 0.5 * mm), to: (right, sy + 0.5 * mm), width: 0.8, colour: t.accent)
                sy += 1.5 * mm
            }
            let font = PDFCanvas.Font(size: strong ? 11 : 8.5, bold: strong)
            canvas.text(label, x: right - 88 * mm, y: sy, width: 46 * mm, font: font, colour: strong ? t.accent : t.text)
            sy += canvas.text("\(t.amount(sign * value)) \(invoice.currency)", x: right - 45 * mm, y: sy, width: 45 * mm, font: font,
                              alignment: .right, colour: strong ? t.accent : t.text) + 1.2 * mm
        }
        let dueDate = reminder?.newDueDate ?? invoice.dueDate
        let amountDue = reminder?.amountDue(invoice) ?? totals.payable
        guard !credit, amountDue > 0 else { return }
        // How to pay: account, OCR, due date, amount, and the QR code that says it all.
        var py = max(y, sy) + 6 * mm
        canvas.line(from: (Self.margin, py - 2 * mm), to: (right, py - 2 * mm), width: 0.3, colour: t.rule)
        canvas.text(t.text("paymentTo"), x: Self.margin, y: py, width: 100 * mm, font: .init(size: 8.5, bold: true), colour: t.text)
        py += 5 * mm
        var payment: [(String, String)] = []
        if let bankgiro = client.bankgiro { payment.append((t.text("bankgiro"), bankgiro)) }
        if let plusgiro = client.plusgiro { payment.append((t.text("plusgiro"), plusgiro)) }
        if let iban = client.iban { payment.append((t.text("iban"), iban)) }
        if let bic = client.bic { payment.append((t.text("bic"), bic)) }
        payment.append((t.text("ocr"), invoice.ocr))
        payment.append((t.text(reminder == nil ? "dueDate" : "newDueDate"), dueDate.description))
        payment.append((t.text("toPay"), "\(t.amount(amountDue)) \(invoice.currency)"))
        _ = drawPairs(payment, x: Self.margin, y: py, labelWidth: 30 * mm, valueWidth: 70 * mm, canvas)
        if let qrText, let matrix = QRMatrix(qrText) {
            let side = 34 * mm
            let x = right - side, y = max(y, sy) + 4 * mm
            canvas.qr(matrix, x: x, y: y, side: side)
            canvas.text(t.text("scanToPay"), x: x - 10 * mm, y: y + side, width: side + 10 * mm, font: .init(size: 7), alignment: .center, colour: t.muted)
        }
    }

    // MARK: Footer

    private func drawFooter(_ client: ClientProfile, _ canvas: PDFCanvas) {
        let t = template
        let top = Self.footerTop
        canvas.line(from: (Self.margin, top), to: (canvas.width - Self.margin, top), width: 0.5, colour: t.rule)
        let width = (canvas.width - 2 * Self.margin) / 3
        let address = [client.name, client.address.street, [client.address.postalCode, client.address.city].compactMap { $0 }.joined(separator: " ")]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n")
        var registration = ["\(t.text("organisationNumber")) \(client.organisationNumber)"]
        if let vat = client.vatNumber { registration.append("\(t.text("vatNumber")) \(vat)") }
        if client.approvedForFTax { registration.append(t.text("fTax")) }
        var contact: [String] = []
        if let email = client.email { contact.append("\(t.text("email")) \(email)") }
        if let phone = client.phone { contact.append("\(t.text("phone")) \(phone)") }
        if let bankgiro = client.bankgiro { contact.append("\(t.text("bankgiro")) \(bankgiro)") }
        for (i, block) in [address, registration.joined(separator: "\n"), contact.joined(separator: "\n")].enumerated() {
            canvas.text(block, x: Self.margin + Double(i) * width, y: top + 2 * mm, width: width - 2 * mm, font: .init(size: 7), colour: t.muted)
        }
    }
}
