import Foundation
import GatewayCore
import Intake
import Testing

/// Input a hostile or careless sender could drop (issue 9): each is refused with the field
/// named, or read as the contract allows, and none can hold more than a bounded amount.
@Suite struct HostileValueTests {
    @Test(arguments: ["\u{FFFE}", "\u{FFFF}", "\u{0001}", "\u{000B}"])
    func xmlIllegalCharactersAreRefusedWithTheField(_ character: String) {
        let escaped = character.unicodeScalars.map { String(format: "\\u%04X", $0.value) }.joined()
        let r = refusal(goodOrder.replacingOccurrences(of: "\"Skruv\"", with: "\"Skr\(escaped)uv\""))
        #expect(r?.field == "lines[0].description")
        #expect(r?.found?.contains("at character 4") == true)
    }

    @Test func numbersWithSpacesAreRefused() {
        #expect(refusal(goodOrder.replacingOccurrences(of: "\"quantity\": \"12\"", with: "\"quantity\": \" 1\""))?.field == "lines[0].quantity")
        #expect(refusal(goodOrder.replacingOccurrences(of: "\"quantity\": \"12\"", with: "\"quantity\": \"12 \""))?.field == "lines[0].quantity")
    }

    @Test func currenciesAreCheckedAgainstISO4217() {
        let withCurrency = { (code: String) in
            goodOrder.replacingOccurrences(of: "\"status\": \"completed\"", with: "\"status\": \"completed\", \"currency\": \(code)")
        }
        #expect(refusal(withCurrency("\"\""))?.field == "currency")
        #expect(refusal(withCurrency("\"ABC\""))?.field == "currency")
        #expect(refusal(withCurrency("\"XXX\""))?.field == "currency")
        #expect(refusal(withCurrency("\"sek\""))?.field == "currency")
        #expect(refusal(withCurrency("\"EUR\"")) == nil)
        #expect(refusal(withCurrency("\"NOK\"")) == nil)
    }

    @Test func aPaymentMustBeAboveZero() {
        let payment = { (amount: String) in #"{"type": "payment", "invoiceNumber": "1001", "amount": \#(amount), "paidAt": "2026-11-30T10:00:00+01:00"}"# }
        #expect(refusal(payment("0"))?.field == "amount")
        #expect(refusal(payment("\"0.00\""))?.field == "amount")
        #expect(refusal(payment("\"0.01\"")) == nil)
    }

    @Test func aNameThatIsNotUTF8IsWrittenWithItsBytes() {
        let name = EntryName(bytes: Array("bad".utf8) + [0xFF, 0xC3] + Array(".json".utf8))
        #expect(!name.isUTF8)
        #expect(name.text == "bad%FF%C3.json")
        #expect(EntryName("å.json").text == "å.json")
        #expect(!EntryName(".hidden.json").isReady && !EntryName("x.json.tmp").isReady && EntryName("x.json").isReady)
    }
}

@Suite struct BoundedReadingTests {
    func documents(_ bytes: [UInt8], name: String = "batch.json") throws -> [ReadDocument] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + "-" + name)
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        var result: [ReadDocument] = []
        try InboxFileReader().read(path: url.path) { result.append($0) }
        return result
    }

    @Test func aByteOrderMarkIsAccepted() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        for (text, name) in [(goodOrder, "one.json"), ("[\(goodOrder)]", "array.json"),
                             (goodOrder.replacingOccurrences(of: "\n", with: " ") + "\n", "one.ndjson")] {
            let read = try documents(bom + Array(text.utf8), name: name)
            #expect(read.count == 1, "\(name)")
            #expect(read.allSatisfy { if case .success = $0.result { true } else { false } }, "\(name)")
        }
    }

    @Test func aBrokenDocumentInABatchIsRefusedAloneWithItsPosition() throws {
        let twice = #"{"type": "payment", "invoiceNumber": "1", "amount": 5, "amount": 6, "paidAt": "2026-11-30T10:00:00+01:00"}"#
        let read = try documents(Array("{\"documents\": [\(goodOrder),\n \(twice), \(goodOrder)]}".utf8))
        #expect(read.map(\.index) == [0, 1, 2])
        guard case .failure(let refusal) = read[1].result else { Issue.record("the broken document was read"); return }
        #expect(refusal.found?.contains("\"amount\" appears twice") == true)
        #expect(refusal.found?.contains("line 1") == true)
        if case .failure = read[2].result { Issue.record("the document after the broken one was refused") }
    }

    @Test func aFileThatIsNotJSONIsRefusedBeforeAnyDocumentIsHandedOut() throws {
        var handedOut = 0
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + ".json")
        try Data("[\(goodOrder), \(goodOrder), {\"type\": ".utf8).write(to: url)
        #expect(throws: FileRefusal.self) { try InboxFileReader().read(path: url.path) { _ in handedOut += 1 } }
        #expect(handedOut == 0)
        try Data("{\"documents\": 5}".utf8).write(to: url)
        #expect(throws: FileRefusal.self) { try InboxFileReader().read(path: url.path) { _ in handedOut += 1 } }
        try Data("\"just text\"".utf8).write(to: url)
        #expect(throws: FileRefusal.self) { try InboxFileReader().read(path: url.path) { _ in handedOut += 1 } }
        #expect(handedOut == 0)
    }

    @Test func aDocumentOfTooManyValuesIsRefusedAlone() throws {
        let huge = "{\"type\": \"order\", \"lines\": [" + Array(repeating: "0", count: JSONParser.maxValues + 1).joined(separator: ",") + "]}"
        let read = try documents(Array("[\(huge), \(goodOrder)]".utf8))
        #expect(read.count == 2)
        guard case .failure(let refusal) = read[0].result else { Issue.record("the huge document was read"); return }
        #expect(refusal.found?.contains("more than \(JSONParser.maxValues) values") == true)
        if case .failure = read[1].result { Issue.record("the good document was refused") }
    }

    @Test func anOverlongNDJSONLineIsRefusedAndTheNextOneRead() throws {
        let line = goodOrder.replacingOccurrences(of: "\n", with: " ")
        let long = "{\"type\": \"customer\", \"name\": \"" + String(repeating: "x", count: (1 << 20) + 10) + "\"}"
        let read = try documents(Array("\(line)\n\(long)\n\(line)".utf8), name: "lines.ndjson")
        #expect(read.map(\.index) == [0, 1, 2])
        guard case .failure(let refusal) = read[1].result else { Issue.record("the long line was read"); return }
        #expect(refusal.expected.contains("at most \(1 << 20) bytes"))
        if case .failure = read[2].result { Issue.record("the line after the long one was refused") }
    }
}

/// A seeded random-input test of the intake parser: thousands of inputs made by cutting,
/// flipping, repeating and splicing valid documents. Each must be refused or read, never
/// crash, and every position handed out once, in order.
@Suite struct IntakeFuzzTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let seeds: [String] = [
        goodOrder,
        #"{"type": "customer", "customerNumber": "K1", "kind": "person", "name": "Åsa Öberg", "address": {"city": "Umeå", "country": "SE"}}"#,
        #"{"type": "payment", "invoiceNumber": "1001", "amount": "12.50", "paidAt": "2026-11-30T10:00:00+01:00"}"#,
        #"{"type": "return", "returnNumber": "R1", "orderNumber": "1", "completedAt": "2026-11-30T10:00:00+01:00", "lines": [{"articleNumber": "A", "quantity": 1}]}"#,
        #"{"documents": [{"type": "approve", "invoiceNumber": "1001"}, [1, 2, {"a": "\u00e5\ud83d\ude00"}], null, true, -0.5e3]}"#,
    ]

    static func mutate(_ input: [UInt8], _ random: inout SplitMix) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { bytes = Array(seeds.randomElement(using: &random)!.utf8); continue }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.remove(at: at)
            case 2: bytes.insert(Array("{}[]\",:\\0-.eE \n\u{00}".utf8).randomElement(using: &random)!, at: at)
            case 3: bytes = Array(bytes[..<at])
            case 4: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + Int.random(in: 1...64, using: &random))], at: at)
            case 5: bytes.insert(contentsOf: [0xEF, 0xBF, UInt8.random(in: 0xBE...0xBF, using: &random)], at: at)
            default: bytes.insert(contentsOf: Array(("\n" + seeds.randomElement(using: &random)! + ",").utf8), at: at)
            }
        }
        return bytes
    }

    @Test func randomInputsAreRefusedOrReadNeverCrash() throws {
        var random = SplitMix(state: 20261202)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("intake-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var read = 0, refusedWhole = 0, documents = 0
        for round in 0..<3_000 {
            let seed = Array(Self.seeds.randomElement(using: &random)!.utf8)
            let bytes = Self.mutate(Bool.random(using: &random) ? seed : Array("[".utf8) + seed + Array(",".utf8) + seed + Array("]".utf8), &random)
            let name = round % 3 == 0 ? "input.ndjson" : "input.json"
            let url = folder.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            var positions: [Int] = []
            do {
                try InboxFileReader().read(path: url.path) { document in
                    positions.append(document.index)
                    _ = try? document.result.get()
                }
                read += 1
            } catch is FileRefusal {
                refusedWhole += 1
            }
            documents += positions.count
            #expect(positions == Array(0..<positions.count) || name.hasSuffix(".ndjson"), "round \(round): positions \(positions)")
            #expect(positions == positions.sorted() && Set(positions).count == positions.count, "round \(round)")
        }
        #expect(read > 300 && refusedWhole > 300, "read \(read), refused whole \(refusedWhole)")
        #expect(documents > 0)
    }
}
