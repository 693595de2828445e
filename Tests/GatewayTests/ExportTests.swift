import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Rendering
import Testing
@testable import Gateway

@Suite(.serialized) struct FortnoxTests {
    static let batch = """
    [\(customer("F1", name: "Fortnox Kund AB", extra: #", "email": "info@kund.example", "invoiceEmail": "faktura@kund.example", "invoiceSettings": {"system": "fortnox"}"#)),
     \(order("O1", customer: "F1", lines: #"""
       [{"articleNumber": "A-1", "description": "Skruv", "quantity": 3, "unit": "st", "unitPrice": "89.50", "vatRate": 25, "discountPercent": 10},
        {"articleNumber": "B-2", "description": "Bok", "quantity": 1, "unitPrice": "100", "vatRate": 6}]
       """#, extra: #", "yourReference": "Anna", "ourReference": "Erik", "externalOrderNumber": "WEB-9", "endCustomerOrderNumber": "EC-1", "deliveryName": "Lager Väst""#)),
     {"type": "return", "returnNumber": "R1", "orderNumber": "O1", "completedAt": "2026-11-24T11:00:00+01:00", "lines": [{"articleNumber": "A-1", "quantity": 1}]}]
    """

    @Test func f1FortnoxPayloadHasEveryHeaderField() throws {
        let home = try makeHome()
        try drop(Self.batch, as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        _ = try gateway.approve("1002")
        let folder = home.appendingPathComponent("outbox/fortnox")
        let payloads = try files(in: folder).map { try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent($0))) as! [String: Any] }
        #expect(payloads.count == 7)   // invoice + customer + 2 articles, credit + customer + 1 article
        let invoices = payloads.compactMap { $0["Invoice"] as? [String: Any] }
        let invoice = try #require(invoices.first { $0["DocumentNumber"] as? String == "1001" })
        // F1, field by field.
        #expect(invoice["ExternalInvoiceReference2"] as? String == "O1")
        #expect((invoice["EmailInformation"] as? [String: Any])?["EmailAddressTo"] as? String == "faktura@kund.example")
        #expect(invoice["TermsOfPayment"] as? String == "30")
        #expect(invoice["DeliveryName"] as? String == "Lager Väst")
        #expect(invoice["CustomerName"] as? String == "Fortnox Kund AB")
        #expect(invoice["YourReference"] as? String == "Anna")
        #expect(invoice["OurReference"] as? String == "Erik")
        #expect(invoice["YourOrderNumber"] as? String == "WEB-9")
        #expect(invoice["ExternalInvoiceReference1"] as? String == "EC-1")
        let rows = try #require(invoice["InvoiceRows"] as? [[String: Any]])
        #expect(rows.count == 2)
        #expect((rows[0]["Price"] as? NSNumber)?.doubleValue == 89.5)
        #expect(rows[0]["DiscountType"] as? String == "PERCENT")
        let credit = try #require(invoices.first { $0["DocumentNumber"] as? String == "1002" })
        #expect(credit["CreditInvoiceReference"] as? String == "1001")
        #expect(((credit["InvoiceRows"] as? [[String: Any]])?[0]["DeliveredQuantity"] as? NSNumber)?.intValue == -1)
        #expect(payloads.contains { ($0["Customer"] as? [String: Any])?["CustomerNumber"] as? String == "F1" })
        let articles = payloads.compactMap { $0["Article"] as? [String: Any] }
        #expect(Set(articles.compactMap { $0["ArticleNumber"] as? String }) == ["A-1", "B-2"])
    }

    @Test func aValueLongerThanFortnoxTakesIsAnErrorNotACut() throws {
        let home = try makeHome()
        let long = String(repeating: "x", count: 51)
        try drop("[\(customer("F1", extra: #", "invoiceSettings": {"system": "fortnox"}"#)), \(order("O1", customer: "F1", lines: "[{\"articleNumber\": \"A\", \"description\": \"\(long)\", \"quantity\": 1, \"unitPrice\": 1, \"vatRate\": 25}]"))]",
                 as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.publishing.failed == 1)
        let reason = try #require(try gateway.status().failedPublications.first?.reason)
        #expect(reason.contains("at most 50"))
    }
}

@Suite struct ShippedMappingTests {
    /// Every mapping in the repository checks against the canonical model and the sample
    /// gateway.yml's site values, as `gateway mappings check` does.
    @Test func theShippedMappingsAreValid() throws {
        let configuration = try GatewayConfiguration.load(home: repository)
        let catalog = try MappingCatalog(folder: repository.appendingPathComponent("mappings"), schemaFolders: [:],
                                         values: configuration.mappingValues)
        for name in ["peppol-bis3", "svefaktura", "fortnox", "fortnox-customer", "fortnox-article", "sap-idoc-invoic02", "oracle-ar", "dynamics-365"] {
            #expect(catalog.formatNames.contains(name))
        }
        #expect(catalog.mapping(named: "peppol-bis3", for: .credit)?.file == "peppol-bis3-credit.yml")
    }
}


@Suite struct RetryPolicyTests {
    @Test func backoffDoublesUpToTheCapWithJitter() {
        let policy = RetryPolicy(attempts: 6, initialDelay: 2, maxDelay: 10)
        #expect(policy.delay(beforeAttempt: 2, jitter: 0.5) == 2)
        #expect(policy.delay(beforeAttempt: 3, jitter: 0.5) == 4)
        #expect(policy.delay(beforeAttempt: 5, jitter: 0.5) == 10)   // capped
        #expect(abs(policy.delay(beforeAttempt: 3, jitter: 0) - 3.2) < 1e-9)    // -20 %
        #expect(abs(policy.delay(beforeAttempt: 3, jitter: 1) - 4.8) < 1e-9)    // +20 %
    }
}
