import Foundation
import GatewayCore
import Intake
import Testing

func readOne(_ json: String) -> Result<InboxDocument, DocumentRefusal> {
    do {
        let value = try JSONParser.parse(Array(json.utf8))
        return Result { () throws(DocumentRefusal) in try DocumentReader().read(value) }
    } catch {
        return .failure(DocumentRefusal(field: nil, expected: "JSON", found: "\(error)"))
    }
}

func refusal(_ json: String) -> DocumentRefusal? {
    if case .failure(let r) = readOne(json) { return r }
    return nil
}

let goodOrder = """
{"type": "order", "orderNumber": "100231", "customerNumber": "K1000", "status": "completed",
 "orderDate": "2026-11-20", "completedAt": "2026-11-21T14:03:00+01:00",
 "lines": [{"articleNumber": "A-1", "description": "Skruv", "quantity": "12", "unitPrice": 89.10, "vatRate": 25}]}
"""

@Suite struct ContractTests {
    @Test func numbersAreReadExactlyFromTheirText() throws {
        guard case .success(.order(let order)) = readOne(goodOrder) else { Issue.record("refused"); return }
        #expect(order.lines[0].unitPrice == Decimal(exactly: "89.10")!)
        #expect(order.lines[0].quantity == 12)
    }

    @Test func malformedJSONSaysWhere() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array("{\"type\": \"order\",".utf8)) }
    }

    @Test func invalidUTF8IsRefused() {
        var bytes = Array("{\"type\": \"customer\", \"name\": \"".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\"}".utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
    }

    @Test func wrongTypeIsRefusedWithTheField() {
        let r = refusal(goodOrder.replacingOccurrences(of: "\"quantity\": \"12\"", with: "\"quantity\": true"))
        #expect(r?.field == "lines[0].quantity")
    }

    @Test func missingRequiredFieldIsNamed() {
        let r = refusal(goodOrder.replacingOccurrences(of: "\"orderDate\": \"2026-11-20\",", with: ""))
        #expect(r?.field == "orderDate")
    }

    @Test func unknownVATRateIsRefused() {
        let r = refusal(goodOrder.replacingOccurrences(of: "\"vatRate\": 25", with: "\"vatRate\": 19"))
        #expect(r?.field == "lines[0].vatRate")
        #expect(r?.found == "19")
    }

    @Test func negativeQuantityIsRefused() {
        #expect(refusal(goodOrder.replacingOccurrences(of: "\"quantity\": \"12\"", with: "\"quantity\": -1"))?.field == "lines[0].quantity")
    }

    @Test func fortyDigitNumberIsRefusedNotRounded() {
        let r = refusal(goodOrder.replacingOccurrences(of: "89.10", with: String(repeating: "9", count: 40)))
        #expect(r?.field == "lines[0].unitPrice")
    }

    @Test func pathCharactersInNumbersAreRefused() {
        #expect(refusal(goodOrder.replacingOccurrences(of: "\"100231\"", with: "\"../x\""))?.field == "orderNumber")
        #expect(refusal(goodOrder.replacingOccurrences(of: "\"K1000\"", with: "\"a/b\""))?.field == "customerNumber")
    }

    @Test func completedOrderNeedsCompletedAt() {
        #expect(refusal(goodOrder.replacingOccurrences(of: "\"completedAt\": \"2026-11-21T14:03:00+01:00\",", with: ""))?.field == "completedAt")
    }

    @Test func m4CollectiveTimeAfter2200IsRefused() {
        let customer = """
        {"type": "customer", "customerNumber": "K1", "kind": "organisation", "name": "X",
         "invoiceSettings": {"invoicingModel": {"model": "collective", "interval": "daily", "startDate": "2026-12-01", "time": "22:01"}}}
        """
        let refused = refusal(customer)
        #expect(refused?.field == "invoiceSettings.invoicingModel.time")
        #expect(refused?.expected.contains("M4") == true)
        #expect(refusal(customer.replacingOccurrences(of: "22:01", with: "22:00")) == nil)
        #expect(refusal(customer.replacingOccurrences(of: "22:01", with: "23:59"))?.field == "invoiceSettings.invoicingModel.time")
        #expect(refusal(customer.replacingOccurrences(of: "22:01", with: "6:00"))?.field == "invoiceSettings.invoicingModel.time")
    }

    @Test func m3CollectiveScheduleNeedsStartDateAndTime() {
        let customer = """
        {"type": "customer", "customerNumber": "K1", "kind": "organisation", "name": "X",
         "invoiceSettings": {"invoicingModel": {"model": "collective", "interval": "weekly", "startDate": "2026-12-01", "time": "18:00"}}}
        """
        #expect(refusal(customer) == nil)
        #expect(refusal(customer.replacingOccurrences(of: "\"startDate\": \"2026-12-01\", ", with: ""))?.field == "invoiceSettings.invoicingModel.startDate")
        #expect(refusal(customer.replacingOccurrences(of: ", \"time\": \"18:00\"", with: ""))?.field == "invoiceSettings.invoicingModel.time")
        #expect(refusal(customer.replacingOccurrences(of: "weekly", with: "days-of-month"))?.field == "invoiceSettings.invoicingModel.days")
        #expect(refusal(customer.replacingOccurrences(of: "\"collective\"", with: "\"collective-other-customer\""))?.field
                == "invoiceSettings.invoicingModel.payingCustomerNumber")
    }

    @Test func duplicateKeysAreRefused() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array("{\"a\": 1, \"a\": 2}".utf8)) }
    }
}

@Suite struct FileFormTests {
    func write(_ text: String, _ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + "-" + name)
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func readsAllThreeForms() throws {
        for (text, name) in [(goodOrder, "one.json"), ("[\(goodOrder), \(goodOrder)]", "array.json"),
                             ("{\"documents\": [\(goodOrder)]}", "wrapped.json"),
                             (goodOrder.replacingOccurrences(of: "\n", with: " ") + "\n" + goodOrder.replacingOccurrences(of: "\n", with: " "), "batch.ndjson")] {
            var count = 0
            try InboxFileReader().read(path: try write(text, name).path) { document in
                if case .success = document.result { count += 1 }
            }
            #expect(count == (name == "one.json" || name == "wrapped.json" ? 1 : 2), "\(name)")
        }
    }

    @Test func oversizedJSONFileIsRefusedWhole() throws {
        let url = try write(goodOrder, "big.json")
        #expect(throws: FileRefusal.self) { try InboxFileReader(maxJSONFileBytes: 10).read(path: url.path) { _ in } }
    }

    @Test func badNDJSONLineIsRefusedAloneAndTheOthersRead() throws {
        let text = goodOrder.replacingOccurrences(of: "\n", with: " ") + "\n{not json\n" + goodOrder.replacingOccurrences(of: "\n", with: " ")
        var results: [Bool] = []
        try InboxFileReader().read(path: try write(text, "mixed.ndjson").path) { document in
            if case .success = document.result { results.append(true) } else { results.append(false) }
        }
        #expect(results == [true, false, true])
    }
}
