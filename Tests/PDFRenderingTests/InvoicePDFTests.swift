import Distribution
import Foundation
import GatewayCore
import Invoicing
import Testing
@testable import PDFRendering

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let tools = ["pdftotext", "pdffonts", "pdftoppm", "zbarimg"].allSatisfy { FileManager.default.isExecutableFile(atPath: "/usr/bin/\($0)") }

let seller = ClientProfile(id: "exempel", name: "Exempel Handel AB", organisationNumber: "556000-0001", vatNumber: "SE556000000101",
                           address: PostalAddress(street: "Exempelvägen 1", postalCode: "411 01", city: "Göteborg", country: "SE"),
                           email: "faktura@exempel.example", phone: "031-123456", bankgiro: "5050-1055", iban: "SE4550000000058398257466",
                           bic: "ESSESESS")

func standardTemplate(_ name: String = "standard") throws -> InvoiceTemplate {
    try InvoiceTemplate.load(contentsOf: repository.appendingPathComponent("templates/\(name).yml"))
}

func sampleInvoice(lines count: Int = 4, credit: Bool = false) -> Invoice {
    let customer = Customer(customerNumber: "K1000", kind: .person, name: "Åsa Öberg-Ärlig",
                            address: PostalAddress(street: "Storgatan 1 lgh 1102", postalCode: "111 22", city: "Stockholm", country: "SE"))
    let rates: [VATRate] = [.twentyFive, .twelve, .six, .zero]
    var lines: [OrderLine] = []
    for i in 0..<count {
        let description: String = i == 0 ? "Skruv \"Torx\" & bricka <200 st> – rostfri" : "Artikel nummer \(i + 1) med å, ä och ö"
        let discount: Decimal? = i == 2 ? Decimal(10) : nil
        lines.append(OrderLine(articleNumber: "A-\(i + 1)", description: description, quantity: Decimal(i + 1), unit: "st",
                               unitPrice: Decimal(string: "89.50")!, vatRate: rates[i % 4], discountPercent: discount))
    }
    let order = Order(orderNumber: "100231", customerNumber: "K1000", status: .completed, orderDate: CivilDate("2026-11-20")!,
                      completedAt: Instant.parse("2026-11-21T14:03:00+01:00"), externalOrderNumber: "WEB-5531",
                      yourReference: "Anna Andersson", ourReference: "Bertil", lines: lines)
    let factory = InvoiceFactory(client: seller)
    let invoice = factory.invoice(for: order, customer: customer, number: "1001", at: Instant.parse("2026-11-25T10:00:00+01:00")!)
    guard credit else { return invoice }
    let returned = ReturnOrder(returnNumber: "R1", orderNumber: "100231", completedAt: Instant.parse("2026-11-26T10:00:00+01:00")!,
                               lines: [ReturnLine(articleNumber: "A-1", quantity: 1)])
    return try! factory.creditInvoice(for: returned, original: invoice, alreadyReturned: [:], number: "1002",
                                      at: Instant.parse("2026-11-26T10:00:00+01:00")!)
}

/// Writes the PDF and runs a poppler or zbar tool on it.
func run(_ tool: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

func write(_ document: InvoicePDF.Document, _ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name).pdf")
    try Data(document.bytes).write(to: url)
    return url
}

@Suite struct PaymentQRTests {
    @Test func payloadFollowsUsingQR() throws {
        let invoice = sampleInvoice()
        let payload = try #require(PaymentQR.payload(for: invoice, client: seller))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
        #expect(json["uqr"] as? Int == 1 && json["tp"] as? Int == 1)
        #expect(json["nme"] as? String == "Exempel Handel AB")
        #expect(json["cid"] as? String == "556000-0001")
        #expect(json["iref"] as? String == invoice.ocr)
        #expect(json["idt"] as? String == "20261125")
        #expect(json["ddt"] as? String == invoice.dueDate.description.replacingOccurrences(of: "-", with: ""))
        #expect(json["cur"] as? String == "SEK")
        #expect(json["pt"] as? String == "BG" && json["acc"] as? String == "5050-1055")
        #expect(payload.contains("\"due\":\(invoice.totals.payable.fixed(2))"))
        #expect(!payload.contains("\n"))
    }

    @Test func anIBANIsUsedWhenThereIsNoGiroAndNothingIsAskedOfACredit() throws {
        var client = seller
        client.bankgiro = nil
        let payload = try #require(PaymentQR.payload(for: sampleInvoice(), client: client))
        #expect(payload.contains("\"pt\":\"IBAN\",\"acc\":\"SE4550000000058398257466\",\"bc\":\"ESSESESS\""))
        #expect(PaymentQR.payload(for: sampleInvoice(credit: true), client: seller) == nil)
    }
}

@Suite struct TemplateTests {
    @Test func theShippedTemplatesLoad() throws {
        #expect(try standardTemplate().text("invoice") == "Faktura")
        #expect(try standardTemplate("standard-en").text("invoice") == "Invoice")
    }

    @Test func aBrokenTemplateNamesTheFileAndTheKey() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text = try String(contentsOf: repository.appendingPathComponent("templates/standard.yml"), encoding: .utf8)
        for (change, key) in [(("accent: \"#1F4E79\"", "accent: blue"), "colours.accent"), (("  toPay: Att betala\n", ""), "texts.toPay"),
                              (("  invoice: Faktura", "  invoise: Faktura"), "texts.invoise"), (("left: 110", "left: 500"), "addressWindow.left")] {
            let url = folder.appendingPathComponent("broken.yml")
            try Data(text.replacingOccurrences(of: change.0, with: change.1).utf8).write(to: url)
            #expect(throws: TemplateError.self) { try InvoiceTemplate.load(contentsOf: url) }
            do { _ = try InvoiceTemplate.load(contentsOf: url) } catch {
                #expect(error.key == key, "\(error)")
                #expect(error.file == url.path)
            }
        }
    }

    @Test func amountsAreWrittenTheSwedishWay() throws {
        let t = try standardTemplate()
        #expect(t.amount(Decimal(string: "1234567.5")!) == "1\u{00A0}234\u{00A0}567,50")
        #expect(t.amount(-12) == "−12,00")
        #expect(try standardTemplate("standard-en").amount(Decimal(string: "1234.5")!) == "1,234.50")
    }
}

@Suite(.enabled(if: tools, "needs poppler-utils and zbar-tools (scripts/setup installs them)"))
struct InvoicePDFTests {
    @Test func everyRequiredFieldIsInTheTextWithSwedishLettersIntact() throws {
        let invoice = sampleInvoice()
        let pdf = InvoicePDF(template: try standardTemplate(), logo: nil).render(invoice, client: seller)
        let url = try write(pdf, "fields")
        // Spaces as a reader sees them: runs of white space, non-breaking ones too, are one space.
        let text = try run("pdftotext", [url.path, "-"]).replacingOccurrences(of: "\u{00A0}", with: " ")
            .split(whereSeparator: \.isWhitespace).joined(separator: " ").replacingOccurrences(of: " %", with: "%")
        for expected in ["Faktura", "Fakturanummer", "1001", "Fakturadatum", "2026-11-25", "Förfallodatum", invoice.dueDate.description,
                         "OCR-nummer", invoice.ocr, "Bankgiro", "5050-1055", "IBAN", "SE4550000000058398257466", "BIC", "ESSESESS",
                         "Er referens", "Anna Andersson", "Vår referens", "Bertil", "Ordernummer", "100231", "WEB-5531",
                         "Leveransdatum", "2026-11-21", "Åsa Öberg-Ärlig", "Storgatan 1 lgh 1102", "111 22 Stockholm",
                         "Skruv \"Torx\" & bricka <200 st> – rostfri", "med å, ä och ö", "Antal", "Enhet", "À-pris", "Rabatt", "10%",
                         "Momsspecifikation", "25%", "12%", "6%", "0%", "Underlag", "Öresavrundning", "Att betala",
                         "Exempel Handel AB", "Exempelvägen 1", "Org.nr 556000-0001", "Momsreg.nr SE556000000101", "Godkänd för F-skatt",
                         "undantagen från skatteplikt", "Sida 1 av 1"] {
            #expect(text.contains(expected), "missing \(expected)")
        }
        #expect(text.contains(PDFTestText.amount(invoice.totals.payable)))
        #expect(pdf.pages == 1)
    }

    @Test func everyFontIsEmbedded() throws {
        let url = try write(InvoicePDF(template: try standardTemplate(), logo: nil).render(sampleInvoice(), client: seller), "fonts")
        let rows = try run("pdffonts", [url.path]).split(separator: "\n").dropFirst(2)
        #expect(!rows.isEmpty)
        for row in rows {
            let columns = row.split(separator: " ", omittingEmptySubsequences: true)
            // name type encoding emb sub uni object ID: "emb" is the fourth column from the right.
            #expect(columns[columns.count - 5] == "yes", "not embedded: \(row)")
        }
    }

    @Test func a120LineInvoicePaginatesWithTheTotalsOnTheLastPage() throws {
        let invoice = sampleInvoice(lines: 120)
        let pdf = InvoicePDF(template: try standardTemplate(), logo: nil).render(invoice, client: seller)
        #expect(pdf.pages >= 3)
        let url = try write(pdf, "long")
        for page in 1...pdf.pages {
            let text = try run("pdftotext", ["-layout", "-f", "\(page)", "-l", "\(page)", url.path, "-"])
            #expect(text.contains("Sida \(page) av \(pdf.pages)"))
            #expect(text.contains("Faktura") && text.contains("1001"), "page \(page) has no header")
            #expect(text.contains("Att betala") == (page == pdf.pages), "page \(page)")
            #expect(text.contains("Org.nr 556000-0001"), "page \(page) has no footer")
        }
        let all = try run("pdftotext", [url.path, "-"])
        #expect((1...120).allSatisfy { all.contains("A-\($0)\n") || all.contains("A-\($0) ") }, "a line is missing")
    }

    @Test func aCreditInvoiceSaysWhatItCredits() throws {
        let credit = sampleInvoice(credit: true)
        let url = try write(InvoicePDF(template: try standardTemplate(), logo: nil).render(credit, client: seller), "credit")
        let text = try run("pdftotext", ["-layout", url.path, "-"])
        #expect(text.contains("Kreditfaktura"))
        #expect(text.contains("Krediterar faktura 1001 av 2026-11-25"))
        #expect(text.contains("Att få tillbaka"))
        #expect(!text.contains("Skanna med bankappen"))
    }

    /// D6–D7: the reminder layout, with what was paid, the fee (no VAT) and the new due date,
    /// and a QR code that asks for what is due now.
    @Test func aReminderSaysWhatIsDueNowAndByWhen() throws {
        let invoice = sampleInvoice()
        let notice = ReminderNotice(sequence: 1, date: CivilDate("2027-01-05")!, newDueDate: CivilDate("2027-01-15")!,
                                    paid: 100, fee: 60)
        let pdf = InvoicePDF(template: try standardTemplate(), logo: nil).render(invoice, client: seller, reminder: notice)
        #expect(pdf.pages == 1)
        let url = try write(pdf, "reminder")
        let text = try run("pdftotext", ["-layout", url.path, "-"])
        #expect(text.contains("Påminnelse"))
        #expect(text.contains("Ursprungligt förfallodatum") && text.contains(invoice.dueDate.description))
        #expect(text.contains("Påminnelsedatum") && text.contains("2027-01-05"))
        #expect(text.contains("Nytt förfallodatum") && text.contains("2027-01-15"))
        #expect(text.contains("Påminnelseavgift (momsfri)") && text.contains(PDFTestText.amount(60)))
        #expect(text.contains("Inbetalt") && text.contains(PDFTestText.amount(-100)))
        let due = invoice.totals.payable - 100 + 60
        #expect(notice.amountDue(invoice) == due)
        #expect(text.contains("Att betala") && text.contains(PDFTestText.amount(due) + " SEK"))
        #expect(text.contains("Vi har ännu inte fått betalt för faktura 1001"))
        let payload = try #require(pdf.paymentQR)
        #expect(payload.contains("\"ddt\":\"20270115\"") && payload.contains("\"due\":\(due.fixed(2))"))
        let stem = url.deletingPathExtension().path
        _ = try run("pdftoppm", ["-r", "200", "-png", "-f", "1", "-l", "1", url.path, stem])
        let decoded = try run("zbarimg", ["--quiet", "--raw", stem + "-1.png"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(decoded == payload)
    }

    @Test func theAddressIsInTheEnvelopeWindowAndTheQRCodeReadsBack() throws {
        let invoice = sampleInvoice()
        let template = try standardTemplate()
        let pdf = InvoicePDF(template: template, logo: nil).render(invoice, client: seller)
        let url = try write(pdf, "page")
        // 100 dpi: one pixel is 0.254 mm.
        let stem = url.deletingPathExtension().path
        _ = try run("pdftoppm", ["-r", "100", "-gray", "-f", "1", "-l", "1", url.path, stem])
        let image = try PGM(contentsOf: URL(fileURLWithPath: stem + "-1.pgm"))
        let window = template.addressWindow
        let dark = image.darkPixels(xMM: window.left, yMM: window.top, widthMM: window.width, heightMM: window.height)
        #expect(dark > 500, "the address window is blank")
        // Nothing but the address inside the window, nothing of it outside its left edge.
        let left = image.darkPixels(xMM: window.left - 12, yMM: window.top + 2, widthMM: 10, heightMM: window.height - 4)
        #expect(left < 50, "ink left of the window")
        _ = try run("pdftoppm", ["-r", "200", "-png", "-f", "1", "-l", "1", url.path, stem + "-hi"])
        let decoded = try run("zbarimg", ["--quiet", "--raw", stem + "-hi-1.png"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(decoded == pdf.paymentQR)
    }
}

enum PDFTestText {
    /// An amount as the standard template writes it.
    static func amount(_ value: Decimal) -> String { try! standardTemplate().amount(value) }
}

/// A binary greyscale image (pdftoppm -gray writes P5).
struct PGM {
    let width, height: Int
    let pixels: [UInt8]
    let dpi = 100.0

    init(contentsOf url: URL) throws {
        let data = [UInt8](try Data(contentsOf: url))
        var fields: [String] = []
        var index = 0
        while fields.count < 4 {
            while data[index] == 0x20 || data[index] == 0x0A { index += 1 }
            var field = ""
            while data[index] != 0x20 && data[index] != 0x0A { field.append(Character(Unicode.Scalar(data[index]))); index += 1 }
            fields.append(field)
        }
        width = Int(fields[1])!
        height = Int(fields[2])!
        pixels = Array(data[(index + 1)...])
    }

    func darkPixels(xMM: Double, yMM: Double, widthMM: Double, heightMM: Double) -> Int {
        let scale = dpi / 25.4
        var count = 0
        for y in Int(yMM * scale)..<min(height, Int((yMM + heightMM) * scale)) {
            for x in Int(xMM * scale)..<min(width, Int((xMM + widthMM) * scale)) where pixels[y * width + x] < 128 { count += 1 }
        }
        return count
    }
}

@Suite struct ReminderEmailTests {
    @Test func aReminderEmailHasItsOwnTextsAmountAndMessageID() throws {
        let invoice = sampleInvoice()
        let template = try standardTemplate()
        func message(_ reminder: ReminderNotice?) -> EmailMessage {
            EmailMessage.invoice(invoice, client: seller, template: template, fromName: "Exempel", fromAddress: "faktura@exempel.example",
                                 replyTo: nil, to: "asa@example.se", attachments: [], reminder: reminder)
        }
        let first = ReminderNotice(sequence: 1, date: CivilDate("2027-01-05")!, newDueDate: CivilDate("2027-01-15")!, fee: 60)
        let second = ReminderNotice(sequence: 2, date: CivilDate("2027-01-20")!, newDueDate: CivilDate("2027-01-30")!, fee: 60)
        let original = message(nil), reminder = message(first)
        #expect(reminder.subject == "Påminnelse: faktura 1001 från Exempel Handel AB")
        #expect(reminder.text.contains("Att betala: \(template.amount(invoice.totals.payable + 60)) SEK senast 2027-01-15"))
        #expect(Set([original.messageID, reminder.messageID, message(second).messageID]).count == 3)
        #expect(original.subject == "Faktura 1001 från Exempel Handel AB")
    }
}
