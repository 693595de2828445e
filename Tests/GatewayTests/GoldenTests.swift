import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Rendering
import Testing
@testable import Gateway

/// Every shipped mapping, rendered for a fixed set of invoices (several VAT rates, a discount,
/// credits, rounding, long texts, Swedish and XML-special characters), compared byte for byte
/// with the files in Golden/. After a deliberate change, regenerate them with
/// `GOLDEN_UPDATE=1 swift test --filter GoldenTests` and review the diff.
@Suite(.serialized) struct GoldenTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// The gateway after processing the end-to-end batch with a fixed clock, credits approved.
    static func gatewayWithInvoices() throws -> Gateway {
        let home = try makeHome()
        try drop(EndToEndTests.batch, as: "batch.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        for record in try gateway.invoices(status: .review) { _ = try gateway.approve(record.invoice.number) }
        return gateway
    }

    @Test func everyMappingMatchesItsGoldenFiles() throws {
        let gateway = try Self.gatewayWithInvoices()
        let update = ProcessInfo.processInfo.environment["GOLDEN_UPDATE"] == "1"
        var compared = 0
        for name in gateway.catalog.formatNames {
            for record in try gateway.invoices() {
                guard let mapping = gateway.catalog.mapping(named: name, for: record.invoice.kind) else { continue }
                let file = Self.golden.appendingPathComponent(name).appendingPathComponent("\(record.invoice.number).\(mapping.output.rawValue)")
                let rendered: [UInt8]
                do {
                    rendered = try gateway.catalog.render(record.invoice, client: gateway.configuration.client, format: name).bytes
                } catch {
                    // Some formats refuse some invoices by design (requires:); the refusal is the golden output.
                    rendered = Array("refused: \(error.message)\n".utf8)
                }
                if update {
                    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(rendered).write(to: file)
                    continue
                }
                let expected = try? Data(contentsOf: file)
                #expect(expected != nil, "no golden file \(file.path): run GOLDEN_UPDATE=1 swift test --filter GoldenTests and review it")
                if let expected { #expect(Data(rendered) == expected, "\(name) for invoice \(record.invoice.number) differs from \(file.lastPathComponent)") }
                compared += 1
            }
        }
        if !update { #expect(compared >= 20) }
    }
}
