import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GatewayCore
import Invoicing
import Testing
@testable import Rendering

/// The 21 Grams print package (issue 10, D2): the metadata beside the PDF, its format, field
/// names and packaging as the print house's specification has them.
@Suite struct PrintPackageTests {
    let client = ClientProfile(id: "exempel", name: "Exempel Handel AB", organisationNumber: "556000-0001", vatNumber: nil,
                               address: PostalAddress(street: "Exempelvägen 1", postalCode: "411 01", city: "Göteborg", country: "SE"))

    func invoice() -> Invoice {
        let customer = Customer(customerNumber: "K1", kind: .person, name: "Åsa & Öberg <Ärlig>",
                                address: PostalAddress(street: "Storgatan 1", postalCode: "111 22", city: "Stockholm", country: "SE"))
        let order = Order(orderNumber: "1", customerNumber: "K1", status: .completed, orderDate: CivilDate("2026-11-20")!,
                          completedAt: Instant.parse("2026-11-21T14:03:00+01:00"),
                          lines: [OrderLine(articleNumber: "A", description: "Skruv", quantity: 1, unit: "st", unitPrice: 100, vatRate: .twentyFive)])
        return InvoiceFactory(client: client).invoice(for: order, customer: customer, number: "1001", at: Instant.parse("2026-11-25T10:00:00+01:00")!)
    }

    func package(_ configure: (inout PrintPackageLayout) -> Void = { _ in }) -> PrintPackage {
        var layout = PrintPackageLayout()
        configure(&layout)
        return PrintPackage(invoice: invoice(), client: client, pdfName: "exempel_1001_pdf.pdf", pages: 2, layout: layout)
    }

    let pdf: [UInt8] = Array("%PDF-1.7 not really\n".utf8)

    @Test func byDefaultThePDFAndAJSONFileShareAStem() throws {
        let files = package().files(pdf: pdf, modified: Date(), timeZone: client.timeZone)
        #expect(files.map(\.name) == ["exempel_1001_pdf.pdf", "exempel_1001_pdf.json"])
        #expect(files[0].bytes == pdf)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(files[1].bytes)) as? [String: Any])
        #expect(json["invoiceNumber"] as? String == "1001" && json["clientId"] as? String == "exempel")
        #expect(json["pages"] as? Int == 2 && json["duplex"] as? Bool == true && json["colour"] as? Bool == false)
        #expect(json["postage"] as? String == "B" && json["pdf"] as? String == "exempel_1001_pdf.pdf")
        let recipient = try #require(json["recipient"] as? [String: String])
        #expect(recipient == ["name": "Åsa & Öberg <Ärlig>", "street": "Storgatan 1", "postalCode": "111 22", "city": "Stockholm", "country": "SE"])
    }

    @Test func xmlMetadataWithThePrintHousesFieldNames() throws {
        let files = package {
            $0.metadata = .xml
            $0.xmlRoot = "Forsandelse"
            $0.fieldNames = ["invoiceNumber": "Fakturanummer", "recipient": "Mottagare", "postalCode": "Postnummer", "postage": "Porto"]
            $0.postage = "A"
        }.files(pdf: pdf, modified: Date(), timeZone: client.timeZone)
        #expect(files.map(\.name) == ["exempel_1001_pdf.pdf", "exempel_1001_pdf.xml"])
        let document = try XMLDocument(data: Data(files[1].bytes))
        let root = try #require(document.rootElement())
        #expect(root.name == "Forsandelse")
        #expect(root.elements(forName: "Fakturanummer").first?.stringValue == "1001")
        #expect(root.elements(forName: "Porto").first?.stringValue == "A")
        #expect(root.elements(forName: "pages").first?.stringValue == "2")
        let recipient = try #require(root.elements(forName: "Mottagare").first)
        #expect(recipient.elements(forName: "name").first?.stringValue == "Åsa & Öberg <Ärlig>")
        #expect(recipient.elements(forName: "Postnummer").first?.stringValue == "111 22")
        #expect(root.elements(forName: "invoiceNumber").isEmpty)
    }

    @Test func aZipHoldsThePDFAndTheMetadata() throws {
        let modified = Instant.parse("2026-11-25T10:00:04+01:00")!
        let files = package { $0.packaging = .zip }.files(pdf: pdf, modified: modified, timeZone: client.timeZone)
        #expect(files.map(\.name) == ["exempel_1001_pdf.zip"])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let archive = folder.appendingPathComponent("package.zip")
        try Data(files[0].bytes).write(to: archive)
        // Python's zipfile checks every CRC and reads the entries back.
        let script = """
        import sys, zipfile
        z = zipfile.ZipFile(sys.argv[1])
        assert z.testzip() is None
        for info in z.infolist():
            print(info.filename, info.compress_type, info.file_size, "%04d-%02d-%02d %02d:%02d:%02d" % info.date_time)
        sys.stdout.write(z.read("exempel_1001_pdf.pdf").decode())
        """
        let output = try runPython(script, archive.path)
        let listing = output.split(separator: "\n").map(String.init)
        #expect(listing.count == 3)
        #expect(listing[0] == "exempel_1001_pdf.pdf 0 \(pdf.count) 2026-11-25 10:00:04")
        #expect(listing[1].hasPrefix("exempel_1001_pdf.json 0 "))
        #expect(listing[2] == "%PDF-1.7 not really")
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func fieldNamesMustSuitJSONAndXML() {
        #expect(PrintPackageLayout.problem(withName: "Fakturanummer") == nil)
        #expect(PrintPackageLayout.problem(withName: "post_nr.2") == nil)
        #expect(PrintPackageLayout.problem(withName: "2nd") != nil)
        #expect(PrintPackageLayout.problem(withName: "a b") != nil)
        #expect(PrintPackageLayout.problem(withName: "") != nil)
    }

    func runPython(_ script: String, _ argument: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, argument]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }
}
