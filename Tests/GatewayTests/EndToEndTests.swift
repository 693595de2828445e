import Distribution
import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Testing
@testable import Gateway

@Suite(.serialized) struct EndToEndTests {
    /// The set of orders the backbone issue names: several VAT rates, a discount, a credit note,
    /// öresavrundning, Swedish and XML-special characters, a prepaid order, an organisation and a person.
    static let batch = """
    {"documents": [
      \(customer("K1", name: #"Bygg & Co <Väst> \"Bygget\" AB"#, extra: #", "organisationNumber": "556677-8899", "vatNumber": "SE556677889901", "invoiceEmail": "faktura@bygg.example""#)),
      \(customer("K2", name: "Åkesson Trä HB", extra: #", "organisationNumber": "969612-3456", "invoiceSettings": {"format": "svefaktura"}"#)),
      \(customer("P1", kind: "person", name: "Örjan 'Ö' Ödlund", extra: #", "email": "o@example.se", "peppolId": "0007:1212121212""#)),
      \(customer("P2", kind: "person", name: "Märta <Maja> Berg", extra: #", "peppolId": "0007:2323232323", "invoiceSettings": {"format": "svefaktura"}"#)),
      \(order("O1", customer: "K1", lines: #"""
        [{"articleNumber": "A-1", "description": "Skruv \"Torx\" & bricka <200>", "quantity": "12", "unit": "st", "unitPrice": "89.00", "vatRate": 25},
         {"articleNumber": "B-7", "description": "Fackbok", "quantity": 1, "unitPrice": "320", "vatRate": 6},
         {"articleNumber": "C-3", "description": "Kaffe", "quantity": "2.5", "unit": "kg", "unitPrice": "149.90", "vatRate": 12, "discountPercent": 10},
         {"articleNumber": "D-9", "description": "Frimärken", "quantity": 10, "unitPrice": "12.35", "vatRate": 0}]
        """#, extra: #", "yourReference": "Anna Andersson", "externalOrderNumber": "WEB-1""#)),
      \(order("O2", customer: "K2", lines: #"""
        [{"articleNumber": "E-5", "description": "Hyllplan ek", "quantity": 3, "unitPrice": "10.35", "vatRate": 25},
         {"articleNumber": "F-1", "description": "Lim", "quantity": 1, "unitPrice": "45.50", "vatRate": 12, "discountPercent": 5}]
        """#)),
      \(order("O3", customer: "P1", extra: #", "prepaid": true, "paymentMethod": "card""#)),
      \(order("O4", customer: "P2")),
      {"type": "return", "returnNumber": "R1", "orderNumber": "O1", "completedAt": "2026-11-24T11:00:00+01:00",
       "lines": [{"articleNumber": "A-1", "quantity": 2}, {"articleNumber": "B-7", "quantity": 1}]},
      {"type": "return", "returnNumber": "R2", "orderNumber": "O2", "completedAt": "2026-11-24T11:00:00+01:00",
       "lines": [{"articleNumber": "E-5", "quantity": 1}]}
    ]}
    """

    /// The sample batch processed, its credit notes approved; the published files.
    func publishSampleBatch() throws -> [String] {
        let home = try makeHome()
        try drop(Self.batch, as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        for credit in try gateway.invoices() where credit.invoice.kind == .credit { _ = try gateway.approve(credit.invoice.number) }
        return files(in: home.appendingPathComponent("outbox/pagero")).map { home.appendingPathComponent("outbox/pagero/\($0)").path }
    }

    @Test(.enabled(if: Probes.haveOfficialValidator, "needs ../shared/tools/einvoice-validate and saxonche"))
    func sampleBatchPassesTheOfficialValidator() throws {
        let paths = try publishSampleBatch()
        #expect(paths.count == 6)
        let result = try #require(officialValidation(paths))
        #expect(result.passed, "\(result.output)")
        #expect(result.output.contains("Svefaktura") && result.output.contains("credit note"))
    }

    @Test func sampleBatchBecomesValidatedInvoicesInTheOutbox() throws {
        let home = try makeHome()
        try drop(Self.batch, as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.intake.filesAccepted == 1)
        #expect(summary.intake.documentsApplied == 10)
        let invoices = try gateway.invoices()
        #expect(invoices.map(\.invoice.number) == ["1001", "1002", "1003", "1004", "1005", "1006"])
        #expect(invoices.filter { $0.invoice.kind == .credit }.allSatisfy { $0.invoice.status == .review })  // S6
        #expect(invoices.first { $0.invoice.orderNumbers == ["O3"] }?.invoice.status == .paid)          // M1
        #expect(summary.publishing.published == 4)
        // The credit notes wait for review; approving publishes them.
        for credit in invoices where credit.invoice.kind == .credit {
            guard case .applied = try gateway.approve(credit.invoice.number) else { Issue.record("approve failed"); continue }
        }
        let published = files(in: home.appendingPathComponent("outbox/pagero"))
        #expect(published.count == 6)
        #expect(published.allSatisfy { $0.range(of: "^[A-Za-z0-9_]+\\.xml$", options: .regularExpression) != nil })
        #expect(files(in: home.appendingPathComponent("archive")).count == 1)
        #expect(files(in: home.appendingPathComponent("failed")).isEmpty)
        let k1 = try #require(try gateway.invoice("1001"))
        #expect(k1.0.invoice.totals.rounding != 0)
        #expect(k1.1.map(\.event) == ["created", "published"])
        #expect(k1.0.files.count == 1)
    }

    @Test func badInputIsRefusedKeptAndDoesNotBlockGoodInput() throws {
        let home = try makeHome()
        try drop("[\(customer("K1")), {\"type\": \"order\", \"orderNumber\": 5", as: "a-malformed.json", in: home)
        try drop("[\(customer("K1")), \(order("O1", customer: "K1")), \(order("../x", customer: "K1"))]", as: "b-mixed.json", in: home)
        try drop("[" + String(repeating: " ", count: 50 << 20) + "]", as: "c-huge.json", in: home)   // 50 MB
        var invalid = Array("[\(customer("K5"))]".utf8)
        invalid.insert(0xFF, at: 40)
        try Data(invalid).write(to: home.appendingPathComponent("inbox/d-utf8.json"))
        try drop(order("O2", customer: "K1", lines: #"[{"articleNumber": "A", "description": "x", "quantity": -1, "unitPrice": 1, "vatRate": 25}]"#),
                 as: "e-negative.json", in: home)
        try drop(order("O3", customer: "K1"), as: "f-good.json", in: home)
        try drop(order("O3", customer: "K1", extra: #", "yourReference": "other""#), as: "g-conflict.json", in: home)
        try drop(order("O3", customer: "K1"), as: "h-same-again.json", in: home)
        try drop(order("O4", customer: "K1").replacingOccurrences(of: "\"orderDate\": \"2026-11-20\",", with: ""), as: "i-missing.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        // The good orders went through despite everything around them.
        #expect(try gateway.invoices().map { $0.invoice.orderNumbers[0] } == ["O1", "O3"])
        #expect(summary.intake.filesDuplicate == 1)   // h-same-again.json has f-good.json's bytes
        let refused = files(in: home.appendingPathComponent("refused"))
        for name in ["a-malformed.json", "b-mixed.json", "c-huge.json", "d-utf8.json", "e-negative.json", "g-conflict.json", "i-missing.json"] {
            let kept = try #require(refused.first { $0.hasSuffix("_" + name) }, "\(name) was not kept")
            let reason = try String(contentsOf: home.appendingPathComponent("refused/\(kept).reason.json"), encoding: .utf8)
            #expect(reason.contains("\"reason\""), "\(name)")
        }
        // Kept byte for byte.
        let keptUTF8 = try #require(refused.first { $0.hasSuffix("_d-utf8.json") })
        #expect(try Data(contentsOf: home.appendingPathComponent("refused/\(keptUTF8)")) == Data(invalid))
        let mixed = try String(contentsOf: home.appendingPathComponent("refused/\(refused.first { $0.hasSuffix("_b-mixed.json.reason.json") }!)"), encoding: .utf8)
        #expect(mixed.contains("\"document\" : 2") && mixed.contains("orderNumber"))
        #expect(files(in: home.appendingPathComponent("duplicates")).contains { $0.hasSuffix("h-same-again.json") })
    }

    @Test func anOrderWaitsForItsCustomerThenIsInvoiced() throws {
        let home = try makeHome()
        try drop(order("O1", customer: "K7"), as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        #expect(try gateway.status().waitingOrders.map(\.orderNumber) == ["O1"])
        #expect(try gateway.invoices().isEmpty)
        try drop(customer("K7"), as: "2.json", in: home)
        _ = try gateway.process()
        #expect(try gateway.status().waitingOrders.isEmpty)
        #expect(try gateway.invoices().map(\.invoice.number) == ["1001"])
    }

    @Test func o1StatusProgressIsAnUpdateAndGoingBackIsRefused() throws {
        let home = try makeHome()
        let created = order("O1", customer: "K1").replacingOccurrences(of: "\"completed\"", with: "\"created\"")
        try drop("[\(customer("K1")), \(created)]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        #expect(try gateway.invoices().isEmpty)   // O2: only completed orders are invoiced
        try drop(order("O1", customer: "K1"), as: "2.json", in: home)
        try drop(created.replacingOccurrences(of: "Skruv", with: "Skruv!"), as: "3.json", in: home)
        let summary = try gateway.process()
        #expect(try gateway.invoices().count == 1)
        #expect(summary.intake.filesRefused == 1)
    }

    /// S6: a return that arrives before its order is invoiced is checked against the order at
    /// once, and credited when the order is invoiced.
    @Test func s6AnEarlyReturnIsCheckedNowAndCreditedLater() throws {
        let home = try makeHome()
        let picked = order("O1", customer: "K1").replacingOccurrences(of: "\"completed\"", with: "\"picked\"")
        let early = #"{"type": "return", "returnNumber": "R1", "orderNumber": "O1", "completedAt": "2026-11-24T11:00:00+01:00", "lines": [{"articleNumber": "A-1", "quantity": 1}]}"#
        let wrong = early.replacingOccurrences(of: "R1", with: "R2").replacingOccurrences(of: "A-1", with: "Z-9")
        try drop("[\(customer("K1")), \(picked), \(early), \(wrong)]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let first = try gateway.process()
        #expect(first.intake.documentsRefused == 1)   // Z-9 is not on the order
        #expect(try gateway.invoices().isEmpty)
        try drop(order("O1", customer: "K1"), as: "2.json", in: home)
        _ = try gateway.process()
        let invoices = try gateway.invoices()
        #expect(invoices.map(\.invoice.kind) == [.invoice, .credit])
        #expect(invoices.last?.invoice.returnNumber == "R1")
    }

    @Test func s5ReviewHoldsTheInvoiceUntilApproved() throws {
        let home = try makeHome(defaults: ", review: review")
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.publishing.published == 0)
        #expect(try gateway.invoices(status: .review).count == 1)
        _ = try gateway.approve("1001")
        #expect(try gateway.invoices(status: .waiting).count == 1)
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).count == 1)
    }

    /// A person with only an e-mail address cannot get a Peppol invoice: it is kept back with
    /// the reason, not published as a document the operator would reject.
    @Test func aPeppolInvoiceWithoutAnElectronicAddressIsNotPublished() throws {
        let home = try makeHome()
        try drop("[\(customer("P1", kind: "person", extra: #", "email": "ann@example.se""#)), \(order("O1", customer: "P1"))]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.publishing.failed == 1)
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).isEmpty)
        // D13, D2: an e-invoice needs a Peppol ID or an organisation number, and there is no reserve.
        #expect(try gateway.status().failedPublications.first?.reason.hasPrefix("D2: no Peppol ID or organisation number") == true)
        // The mapping refuses it too, should it be rendered by hand (`gateway render`).
        let invoice = try #require(try gateway.invoices().first?.invoice)
        #expect { try gateway.catalog.render(invoice, client: gateway.configuration.client, format: "peppol-bis3") } throws: { error in
            "\(error)".contains("PEPPOL-EN16931-R010")
        }
    }

    @Test func aFailedRenderingIsRenderedAgainAfterTheFix() throws {
        let home = try makeHome()
        let mapping = home.appendingPathComponent("mappings/my-erp.yml")
        let text = "name: my-erp\ndocument:\n  Faktura:\n    children:\n      - Nummer: \"{invoice.number|max:3}\"\n"
        try Data(text.utf8).write(to: mapping)
        try addSettings("distribution: {activeMethods: [export]}", to: home)
        try drop("[\(customer("K1", extra: #", "invoiceSettings": {"distributionMethod": "export", "exportMapping": "my-erp"}"#)), \(order("O1", customer: "K1"))]",
                 as: "1.json", in: home)
        #expect(try Gateway(home: home, clock: testClock).process().publishing.failed == 1)
        try Data(text.replacingOccurrences(of: "|max:3", with: "").utf8).write(to: mapping)
        let fixed = try Gateway(home: home, clock: testClock)
        #expect(try fixed.process().publishing.published == 0)   // not without asking
        #expect(try fixed.process(retryFailed: true).publishing.published == 1)
        #expect(try fixed.status().failedPublications.isEmpty)
        #expect(try fixed.invoice("1001")?.1.map(\.event).contains("rendering retried") == true)
    }

    @Test func aWrongSettingIsRefusedAtStartUpWithFileAndKey() throws {
        let home = try makeHome()
        let config = home.appendingPathComponent("gateway.yml")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "format: peppol-bis3", with: "format: pdfx")
        try Data(text.utf8).write(to: config)
        do {
            _ = try Gateway(home: home, clock: testClock)
            Issue.record("a wrong setting was accepted")
        } catch let error as ConfigurationError {
            #expect(error.key == "client.defaults.format")
            #expect(error.description.contains("gateway.yml"))
        }
    }

    @Test func unquotedNumbersInSettingsAreText() throws {
        let home = try makeHome()
        let config = home.appendingPathComponent("gateway.yml")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "bankgiro: 5050-1055", with: "bankgiro: 50501055")
            + "\nmappingValues: {dynamicsMainAccount: 3001}\n"
        try Data(text.utf8).write(to: config)
        let gateway = try Gateway(home: home, clock: testClock)
        #expect(gateway.configuration.client.bankgiro == "50501055")
        #expect(gateway.configuration.mappingValues["dynamicsMainAccount"] == "3001")
    }

    @Test func aBrokenMappingIsRefusedAtStartUpWithItsLine() throws {
        let home = try makeHome()
        try Data("name: x\ndocument:\n  Root:\n    children:\n      - A: \"{buyer.nmae}\"\n".utf8)
            .write(to: home.appendingPathComponent("mappings/zz-broken.yml"))
        #expect(throws: (any Error).self) { try Gateway(home: home, clock: testClock) }
    }
}
