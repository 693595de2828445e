import Foundation
import Gateway
import GatewayCore
import Invoicing
import PDFRendering
import Rendering

// Renders one ten-line invoice N times with every mapping of a gateway home and prints
// invoices per second per mapping, XSD validation included where the home sets a schema
// folder. Usage: render-bench HOME [N]

let arguments = CommandLine.arguments.dropFirst()
guard let homePath = arguments.first else {
    print("usage: render-bench HOME [N]")
    exit(2)
}
let count = arguments.dropFirst().first.flatMap { Int($0) } ?? 2000
let home = URL(fileURLWithPath: homePath)
let configuration = try GatewayConfiguration.load(home: home)
let catalog = try MappingCatalog(folder: home.appendingPathComponent("mappings"), schemaFolders: configuration.schemaFolders,
                                 values: configuration.mappingValues)
let client = ClientProfile(
    id: "bench", name: "Bench & Söner AB", organisationNumber: "556000-0001", vatNumber: "SE556000000101",
    address: PostalAddress(street: "Gatan 1", postalCode: "41101", city: "Göteborg", country: "SE"),
    email: "f@bench.example", bankgiro: "5050-1055", iban: "SE4550000000058398257466", bic: "ESSESESS")
let customer = Customer(customerNumber: "K1", kind: .organisation, name: "Kund <AB>", organisationNumber: "556677-8899",
                        vatNumber: "SE556677889901", invoiceEmail: "k@kund.example",
                        address: PostalAddress(street: "Storgatan 1", postalCode: "11122", city: "Stockholm", country: "SE"))
let lines = (0..<10).map { k in
    OrderLine(articleNumber: "A-\(k)", description: "Artikel \(k) & tillbehör", quantity: Decimal(k + 1), unit: "st",
              unitPrice: Decimal(string: "\(10 + k).\(k)5")!, vatRate: [VATRate.twentyFive, .twelve, .six, .zero][k % 4],
              discountPercent: k == 3 ? 10 : nil)
}
let now = Instant.parse("2026-11-25T10:00:00+01:00")!
let order = Order(orderNumber: "O1", customerNumber: "K1", status: .completed, orderDate: CivilDate("2026-11-20")!,
                  completedAt: now, yourReference: "Anna", lines: lines)
let factory = InvoiceFactory(client: client)
let invoice = factory.invoice(for: order, customer: customer, number: "1001", at: now)

print("mapping                  invoices/s   (N=\(count), one core, XSD validation where a schema folder is given)")
for name in catalog.formatNames {
    guard catalog.mapping(named: name, for: .invoice) != nil else { continue }
    let start = DispatchTime.now()
    var validated = false
    for _ in 0..<count {
        let document = try catalog.render(invoice, client: client, format: name)
        validated = document.wasValidated
        precondition(document.schemaErrors.isEmpty, "\(name): \(document.schemaErrors)")
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let padded = name.padding(toLength: 24, withPad: " ", startingAt: 0)
    print("\(padded) \(String(format: "%8.0f", Double(count) / seconds))   \(validated ? "validated" : "not validated")")
}

// The PDF invoice: the same ten-line invoice drawn with the home's standard template, on one
// core, with the peak memory before and after so that growth over N shows.
let templates = try TemplateCatalog(folder: home.appendingPathComponent("templates"), logo: nil)
if case .success(let pdf) = templates.renderer("standard") {
    func residentMB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
    _ = pdf.render(invoice, client: client)
    let before = residentMB()
    let pdfCount = max(count, 1)
    let start = DispatchTime.now()
    var bytes = 0
    for _ in 0..<pdfCount { bytes += pdf.render(invoice, client: client).bytes.count }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    print("pdf (standard template)  \(String(format: "%8.0f", Double(pdfCount) / seconds))   \(bytes / pdfCount) bytes each, "
          + String(format: "RSS %.0f MB before, %.0f MB after %d", before, residentMB(), pdfCount))
} else {
    print("pdf: no templates/standard.yml in \(home.path)")
}
