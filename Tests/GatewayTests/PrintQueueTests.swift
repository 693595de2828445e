import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

@Suite(.serialized, .enabled(if: TestPrinter.isAvailable, "needs CUPS with the gateway-pdf queue (scripts/print-server start)"))
struct PrintQueueTests {
    func home(printer: String) throws -> Gateway {
        let home = try makeHome()
        let yml = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: yml, encoding: .utf8) + "\nprinting: {printer: \(printer)}\n").utf8).write(to: yml)
        try drop("[\(customer("P1", kind: "person", name: "Örjan Ödlund", extra: #", "invoiceSettings": {"distributionMethod": "own-printer"}"#)), \(order("O1", customer: "P1"))]",
                 as: "a.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        #expect(try gateway.process().publishing.published == 1)
        #expect(try gateway.invoices().first?.invoice.status == .waiting, "with a printer set, print/ is not the end of the road")
        return gateway
    }

    @Test func d4TheInvoicePrintsOnTheQueueAndTheJobIdIsInTheHistory() throws {
        let gateway = try home(printer: TestPrinter.queue)
        let summary = try gateway.push(methods: [.ownPrinter])
        #expect(summary.delivered == 1, "\(summary.errors)")
        let (record, history) = try #require(try gateway.invoice(try gateway.invoices()[0].invoice.number))
        #expect(record.invoice.status == .sent)
        let detail = try #require(history.last?.detail)
        let job = try #require(detail.components(separatedBy: "CUPS job ").last?.split(separator: " ").first.map(String.init))
        #expect(detail.contains("bytes, SHA-256 "))
        #expect(detail.hasPrefix("printed on gateway-pdf as CUPS job gateway-pdf-"))
        #expect(record.files.first?.hasPrefix("outbox/print/sent/") == true)
        // cups-pdf writes TITLE-job_N.pdf once the job has completed.
        let number = job.split(separator: "-").last!
        var printed: URL?
        for _ in 0..<150 where printed == nil {
            let done = (try? Subprocess.run("/usr/bin/lpstat", ["-W", "completed", "-o", TestPrinter.queue]))?.output ?? ""
            if done.contains(job + " ") {
                printed = files(in: TestPrinter.output).first { $0.hasSuffix("-job_\(number).pdf") }.map { TestPrinter.output.appendingPathComponent($0) }
            }
            if printed == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let pdf = try #require(printed, "no PDF from CUPS job \(job)")
        // cups-pdf's Ghostscript turns text into outlines; the payment QR code still says whose invoice it is.
        #expect(try Subprocess.run("/usr/bin/pdfinfo", [pdf.path]).output.contains("Pages:           1"))
        let png = FileManager.default.temporaryDirectory.appendingPathComponent("printed-\(UUID().uuidString)")
        _ = try Subprocess.run("/usr/bin/pdftoppm", ["-r", "200", "-png", "-singlefile", pdf.path, png.path])
        let decoded = try Subprocess.run("/usr/bin/zbarimg", ["--quiet", "--raw", png.path + ".png"]).output
        #expect(decoded.contains("\"iref\":\"\(record.invoice.ocr)\""), "\(decoded)")
    }

    @Test func d5AStoppedQueueOrAnUnknownPrinterFailsTheJobAndKeepsThePDF() throws {
        try #require(try Subprocess.run("/usr/sbin/cupsdisable", [TestPrinter.queue]).status == 0)
        defer { _ = try? Subprocess.run("/usr/sbin/cupsenable", [TestPrinter.queue]) }
        let gateway = try home(printer: TestPrinter.queue)
        let stopped = try gateway.push()
        #expect(stopped.failed == 1 && stopped.errors.first?.contains("is stopped") == true, "\(stopped.errors)")
        let invoice = try gateway.invoices()[0]
        #expect(invoice.invoice.status == .ready)
        #expect(invoice.files.first?.hasPrefix("outbox/print/") == true && invoice.files.first?.contains("/sent/") == false)
        #expect(try gateway.invoice(invoice.invoice.number)?.1.last?.event == "send failed")

        let unknown = try home(printer: "no-such-printer")
        let summary = try unknown.push()
        #expect(summary.failed == 1 && summary.errors.first?.contains("no-such-printer") == true, "\(summary.errors)")
        #expect(try unknown.status().failedDeliveries.count == 1)
    }
}
