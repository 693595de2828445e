import Distribution
import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Rendering
import Testing
@testable import Gateway

/// Checks of the ERP exports that do not depend on golden files.
@Suite(.serialized) struct ExportStructureTests {
    func render(_ format: String, _ number: String, _ gateway: Gateway) throws -> XMLTree {
        let record = try #require(try gateway.invoice(number)).0
        return try XMLTree.parse(try gateway.catalog.render(record.invoice, client: gateway.configuration.client, format: format).bytes)
    }

    func decimal(_ text: String?) -> Decimal { Decimal(exactly: Substring(text ?? "")) ?? -999_999 }

    @Test func sapSegmentsComeInOrderWithTheirQualifiersAndTheSumsAddUp() throws {
        let gateway = try GoldenTests.gatewayWithInvoices()
        for number in ["1001", "1005"] {
            let doc = try render("sap-idoc-invoic02", number, gateway)
            #expect(doc.name == "INVOIC02")
            let idoc = try #require(doc.child("IDOC"))
            #expect(idoc.attributes["BEGIN"] == "1")
            let segments = idoc.children.map(\.name)
            let order = ["EDI_DC40", "E1EDK01", "E1EDKA1", "E1EDK02", "E1EDK03", "E1EDK04", "E1EDK28", "E1EDP01", "E1EDS01"]
            let positions = segments.map { order.firstIndex(of: $0) ?? -1 }
            #expect(!positions.contains(-1), "unexpected segment in \(segments)")
            #expect(positions == positions.sorted(), "segments out of order: \(segments)")
            for segment in idoc.children where segment.name != "EDI_DC40" {
                #expect(segment.attributes["SEGMENT"] == "1", "\(segment.name)")
            }
            let partners = idoc.children("E1EDKA1").compactMap { $0.value("PARVW") }
            #expect(Set(["AG", "RE", "RG"]).isSubset(of: Set(partners)))
            #expect(idoc.child("EDI_DC40")?.value("DOCNUM")?.count == 16)
            let lines = idoc.children("E1EDP01")
            let lineNet = lines.flatMap { $0.children("E1EDP26") }.filter { $0.value("QUALF") == "003" }
                .reduce(Decimal(0)) { $0 + decimal($1.value("BETRG")) }
            let sums = Dictionary(uniqueKeysWithValues: idoc.children("E1EDS01").map { ($0.value("SUMID") ?? "", decimal($0.value("SUMME"))) })
            let invoice = try #require(try gateway.invoice(number)).0.invoice
            #expect(sums["001"] == Decimal(lines.count))
            #expect(sums["010"] == lineNet)
            #expect(sums["010"] == invoice.totals.net)
            #expect(sums["005"] == invoice.totals.vat)
            #expect(sums["011"] == invoice.totals.gross)
            #expect(idoc.child("E1EDK01")?.value("BSART") == (invoice.kind == .credit ? "CRME" : "INVO"))
        }
    }

    @Test func oracleTaxRowsEqualTheVATPerRate() throws {
        let gateway = try GoldenTests.gatewayWithInvoices()
        for number in ["1001", "1005"] {
            let doc = try render("oracle-ar", number, gateway)
            let invoice = try #require(try gateway.invoice(number)).0.invoice
            let sign: Decimal = invoice.kind == .credit ? -1 : 1
            let lineRows = doc.all("ROW").filter { $0.value("LINE_TYPE") == "LINE" }
            #expect(lineRows.count == invoice.lines.count)
            let taxRows = doc.all("ROW").filter { $0.value("LINE_TYPE") == "TAX" }
            #expect(taxRows.count == invoice.totals.vatBreakdown.count)
            #expect(taxRows.reduce(Decimal(0)) { $0 + decimal($1.value("AMOUNT")) } == sign * invoice.totals.vat)
            #expect(lineRows.reduce(Decimal(0)) { $0 + decimal($1.value("AMOUNT")) } == sign * invoice.totals.net)
        }
    }

    @Test(.enabled(if: Probes.haveSharedReference, "needs ../shared/reference (the entity definitions)"))
    func dynamicsUsesOnlyFieldsOfTheEntityDefinitions() throws {
        let cdm = sharedReference.appendingPathComponent("d365-finance-cdm")
        func fields(_ entity: String) throws -> Set<String> {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: cdm.appendingPathComponent("\(entity).cdm.json"))) as! [String: Any]
            let definition = (json["definitions"] as! [[String: Any]])[0]
            return Set((definition["hasAttributes"] as! [Any]).compactMap { ($0 as? [String: Any])?["name"] as? String })
        }
        let header = try fields("FreeTextInvoiceHeaderEntity"), line = try fields("FreeTextInvoiceLineEntity")
        let gateway = try GoldenTests.gatewayWithInvoices()
        let doc = try render("dynamics-365", "1001", gateway)
        for entity in doc.all("FREETEXTINVOICEHEADERENTITY") {
            for child in entity.children { #expect(header.contains(child.name), "\(child.name) is not a header field") }
        }
        let lines = doc.all("FREETEXTINVOICELINEENTITY")
        #expect(lines.count == 4)
        for entity in lines {
            for child in entity.children { #expect(line.contains(child.name), "\(child.name) is not a line field") }
        }
    }
}

@Suite(.serialized) struct OutputChoiceTests {
    /// S2, D1: an export customer gets the ERP file instead of an e-invoice; a user-written
    /// mapping in mappings/ is used without a rebuild.
    @Test func exportMappingDecidesTheArtefact() throws {
        let home = try makeHome()
        try Data("""
        name: my-erp
        kinds: [invoice, credit]
        output: xml
        document:
          Faktura:
            "@nr": "{invoice.number}"
            children:
              - Kund: "{buyer.customerNumber}"
              - Summa: "{invoice.totals.signedGross|amount}"
        """.utf8).write(to: home.appendingPathComponent("mappings/my-erp.yml"))
        // D1: export only as the client's one method.
        try addSettings("distribution: {activeMethods: [export]}", to: home)
        try drop("""
        [\(customer("S1", extra: #", "invoiceSettings": {"distributionMethod": "export", "exportMapping": "sap"}"#)),
         \(customer("U1", extra: #", "invoiceSettings": {"distributionMethod": "export", "exportMapping": "my-erp"}"#)),
         \(customer("I1", extra: #", "invoiceSettings": {"system": "inexchange"}"#)),
         \(order("O1", customer: "S1")), \(order("O2", customer: "U1")), \(order("O3", customer: "I1"))]
        """, as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.publishing.published == 3)
        let export = files(in: home.appendingPathComponent("outbox/export"))
        #expect(export.count == 2)
        let texts = try export.map { try String(contentsOf: home.appendingPathComponent("outbox/export/\($0)"), encoding: .utf8) }
        #expect(texts.contains { $0.contains("<INVOIC02>") })
        #expect(texts.contains { $0.contains("<Faktura nr=\"1002\">") && $0.contains("<Summa>222.50</Summa>") })
        #expect(files(in: home.appendingPathComponent("outbox/inexchange")).count == 1)
    }
}
