import Foundation
import GatewayCore
import GatewayTestKit
import Intake
import Testing
@testable import Gateway

/// What a person finds after a run: every entry has an outcome, and none stops another (G1).
@Suite(.serialized) struct InboxEntryTests {
    func oneLine(_ document: String) -> String { document.replacingOccurrences(of: "\n", with: " ") }

    /// Runs `gateway process` as its own process, killed if it is not done in `seconds`.
    func processInChild(_ home: URL, seconds: Double = 60) throws -> (status: Int32, output: String, finished: Bool, peakKiB: Int) {
        let child = try Subprocess(gatewayBinary.path, ["process", "--home", home.path], capture: true)
        let deadline = Date().addingTimeInterval(seconds)
        var finished = true
        while child.isRunning {
            if Date() > deadline { kill(child.pid, SIGKILL); finished = false; break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let (status, output) = child.wait()
        return (status, output, finished, child.usage.ru_maxrss)
    }

    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"), .timeLimit(.minutes(1)))
    func aFIFOIsRefusedAndNeverHangsTheRunOrTheNext() throws {
        let home = try makeHome()
        try drop(customer("K1") + "\n", as: "a-customer.json", in: home)
        #expect(mkfifo(home.appendingPathComponent("inbox/b-pipe.json").path, 0o644) == 0)
        try drop(order("O1", customer: "K1"), as: "c-order.json", in: home)
        let first = try processInChild(home, seconds: 30)
        #expect(first.finished, "gateway process hung on a FIFO")
        #expect(first.output.contains("files: 2 accepted, 0 refused in part, 1 refused"))
        let refused = files(in: home.appendingPathComponent("refused"))
        let pipe = try #require(refused.first { $0.hasSuffix("b-pipe.json") })
        #expect(EntryKind.of(path: home.appendingPathComponent("refused/\(pipe)").path) == .fifo)
        let reason = try String(contentsOf: home.appendingPathComponent("refused/\(pipe).reason.json"), encoding: .utf8)
        #expect(reason.contains("FIFO"))
        #expect(files(in: home.appendingPathComponent("inbox")).isEmpty)
        #expect(files(in: home.appendingPathComponent("inbox/.processing")).isEmpty)
        let second = try processInChild(home, seconds: 30)
        #expect(second.finished && second.status == 0)
        #expect(try Gateway(home: home, clock: testClock).invoices().count == 1)
    }

    @Test func namesUpTo255BytesAreArchivedAndRefusedUnderNamesThatFit() throws {
        let home = try makeHome()
        let long = String(repeating: "å", count: 125) + ".json"          // 255 bytes
        let longRefused = String(repeating: "L", count: 245) + ".ndjson"  // 252 bytes
        #expect(long.utf8.count == 255)
        try drop(customer("K1") , as: "a.json", in: home)
        try drop(order("O1", customer: "K1"), as: long, in: home)
        try drop("{broken\n", as: longRefused, in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.intake.filesAccepted == 2)
        #expect(summary.intake.filesRefused == 1)
        #expect(summary.intake.entriesNotTaken.isEmpty)
        let archived = files(in: home.appendingPathComponent("archive"))
        #expect(archived.count == 2)
        #expect(archived.allSatisfy { $0.utf8.count <= StoredNames.keptMax && $0.hasSuffix(".json") })
        #expect(archived.contains { $0.hasPrefix("20261125T090000Z_") && $0.contains("ååå") && $0.contains("~") })
        let refused = files(in: home.appendingPathComponent("refused"))
        let reasonName = try #require(refused.first { $0.hasSuffix(".reason.json") })
        #expect(reasonName.utf8.count <= 255)
        let reason = try JSONDecoder().decode(RefusalReport.self, from: Data(contentsOf: home.appendingPathComponent("refused/\(reasonName)")))
        #expect(reason.file == longRefused)
        #expect(try gateway.invoices().count == 1)
        #expect(try gateway.process().intake.entriesNotTaken.isEmpty)
    }

    @Test func aSymlinkIsRefusedAsALinkAndItsTargetIsNeitherReadNorTouched() throws {
        let home = try makeHome()
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString).json")
        let content = "[\(customer("K9")), \(order("O9", customer: "K9"))]"
        try Data(content.utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(atPath: home.appendingPathComponent("inbox/link.json").path, withDestinationPath: outside.path)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.intake.filesRefused == 1)
        #expect(summary.intake.documentsApplied == 0)
        #expect(try gateway.invoices().isEmpty)
        let refused = files(in: home.appendingPathComponent("refused"))
        let link = try #require(refused.first { $0.hasSuffix("_link.json") })
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: home.appendingPathComponent("refused/\(link)").path) == outside.path)
        #expect(try String(contentsOf: outside, encoding: .utf8) == content)
        let reason = try String(contentsOf: home.appendingPathComponent("refused/\(link).reason.json"), encoding: .utf8)
        #expect(reason.contains("symbolic link"))
    }

    @Test func directoriesDanglingLinksAndNamesThatAreNotUTF8AllGetAnOutcome() throws {
        let home = try makeHome()
        let inbox = home.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("folder.json"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("dangling.json").path, withDestinationPath: "/nonexistent/x.json")
        let badName = Array(inbox.path.utf8) + Array("/kund".utf8) + [0xFF, 0xFE] + Array(".json".utf8) + [0]
        let fd = badName.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o644) } }
        #expect(fd >= 0)
        let text = Array("[\(customer("K1")), \(order("O1", customer: "K1"))]".utf8)
        #expect(write(fd, text, text.count) == text.count)
        close(fd)

        let gateway = try Gateway(home: home, clock: testClock)
        let pending = try gateway.status().inbox
        #expect(pending.count == 3)
        #expect(pending.contains { $0.name == "kund%FF%FE.json" && $0.note?.contains("not UTF-8") == true })
        #expect(pending.contains { $0.name == "folder.json" && $0.note?.contains("directory") == true })
        let summary = try gateway.process()
        #expect(summary.intake.filesAccepted == 1)
        #expect(summary.intake.filesRefused == 2)
        #expect(summary.intake.entriesNotTaken.isEmpty)
        #expect(try EntryName.entries(of: inbox.path).map(\.text) == [".processing"])
        #expect(files(in: home.appendingPathComponent("archive")).first?.hasSuffix("_kund%FF%FE.json") == true)
        #expect(try gateway.invoices().count == 1)
        let refused = files(in: home.appendingPathComponent("refused"))
        #expect(refused.filter { $0.hasSuffix(".reason.json") }.count == 2)
        #expect(try gateway.status().refusedFiles.map(\.name).sorted() == ["dangling.json", "folder.json"])
    }

    /// refused/ made immutable (root ignores permission bits): the entry that cannot be moved
    /// there is named with why, in the summary and in `status`, and the others go on.
    @Test(.enabled(if: Probes.canMakeImmutable, "needs chattr +i on the temporary folder's file system"))
    func anEntryThatCannotBeMovedIsNamedAndDoesNotStopTheOthers() throws {
        let home = try makeHome()
        let refused = home.appendingPathComponent("refused")
        try FileManager.default.createDirectory(at: refused, withIntermediateDirectories: true)
        #expect(mkfifo(home.appendingPathComponent("inbox/a-pipe.json").path, 0o644) == 0)
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "b-good.json", in: home)
        try #require(try Subprocess.run("/usr/bin/chattr", ["+i", refused.path]).status == 0)
        let gateway = try Gateway(home: home, clock: testClock)
        let first: Gateway.ProcessSummary
        do {
            defer { _ = try? Subprocess.run("/usr/bin/chattr", ["-i", refused.path]) }
            first = try gateway.process()
            // The same name again, while the first still waits in .processing.
            #expect(mkfifo(home.appendingPathComponent("inbox/a-pipe.json").path, 0o644) == 0)
            let second = try gateway.process()
            #expect(second.intake.entriesNotTaken.map(\.name) == ["a-pipe.json", "a-pipe.json"])
            #expect(second.intake.entriesNotTaken.last?.reason.contains("still in inbox/.processing") == true)
        }
        #expect(first.intake.filesAccepted == 1)
        #expect(first.intake.entriesNotTaken.map(\.name) == ["a-pipe.json"])
        #expect(first.intake.entriesNotTaken.first?.reason.contains("refused") == true, "\(first.intake.entriesNotTaken)")
        #expect(try gateway.invoices().count == 1)
        #expect(try gateway.status().entriesNotTaken.map(\.name) == ["a-pipe.json", "a-pipe.json"])
        // Once refused/ takes files again, the next run finishes both.
        let third = try gateway.process()
        #expect(third.intake.entriesNotTaken.isEmpty)
        #expect(third.intake.filesRefused == 2)
        #expect(try gateway.status().entriesNotTaken.isEmpty)
        #expect(files(in: refused).filter { $0.hasSuffix("a-pipe.json") }.count == 2)
    }

    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func sixteenMebibytesOfTinyDocumentsStayInBoundedMemory() throws {
        let home = try makeHome()
        let count = 8 * 1024 * 1024 - 1
        var bytes = [UInt8](repeating: UInt8(ascii: ","), count: 2 * count + 1)
        bytes[0] = UInt8(ascii: "[")
        for i in 0..<count { bytes[1 + 2 * i] = UInt8(ascii: "0") }
        bytes[bytes.count - 1] = UInt8(ascii: "]")
        #expect(bytes.count == (16 << 20) - 1)  // the largest .json file intake reads
        try Data(bytes).write(to: home.appendingPathComponent("inbox/zeros.json"))
        let result = try processInChild(home, seconds: 300)
        #expect(result.finished)
        #expect(result.output.contains("\(count) refused"))
        // The child's own peak (wait4's ru_maxrss, KiB): under 512 MB for any file the contract allows.
        #expect(result.peakKiB > 0 && result.peakKiB < 512 * 1024, "peak RSS \(result.peakKiB) KiB")
        let reasonFile = try #require(files(in: home.appendingPathComponent("refused")).first { $0.hasSuffix(".reason.json") })
        let reasonBytes = try Data(contentsOf: home.appendingPathComponent("refused/\(reasonFile)"))
        #expect(reasonBytes.count < 10_000_000)
        let report = try JSONDecoder().decode(RefusalReport.self, from: reasonBytes)
        #expect(report.documentsRefused == count)
        #expect(report.refused.count == RefusalReport.listed)
        #expect(report.reason.contains("the first 1000 of the \(count) refused documents are listed"))
    }
}

@Suite(.serialized) struct OneRunAtATimeTests {
    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func twoConcurrentRunsOnOneHomeBothSucceedAndInvoiceEveryOrderOnce() throws {
        let home = try makeHome()
        let files = 12, orders = 150
        for f in 0..<files {
            var text = customer("K1").replacingOccurrences(of: "\n", with: " ") + "\n"
            for i in 0..<orders { text += order("O\(f)-\(i)", customer: "K1").replacingOccurrences(of: "\n", with: " ") + "\n" }
            try drop(text, as: "batch-\(f).ndjson", in: home)
        }
        let first = try Subprocess(gatewayBinary.path, ["process", "--home", home.path], capture: true)
        let second = try Subprocess(gatewayBinary.path, ["process", "--home", home.path], capture: true)
        let (a, b) = (first.wait(), second.wait())
        #expect(a.status == 0, "\(a.output)")
        #expect(b.status == 0, "\(b.output)")
        let invoices = try Gateway(home: home, clock: testClock).invoices()
        #expect(invoices.count == files * orders)
        #expect(invoices.map(\.invoice.number) == (1001..<(1001 + files * orders)).map(String.init))
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent(HomeLock.fileName).path))
    }

    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func aCommandThatChangesTheHomeWaitsThenSaysItIsBusyWhileReadersGoOn() throws {
        let home = try makeHome()
        let yml = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: yml, encoding: .utf8) + "\nlockWaitSeconds: 1\n").utf8).write(to: yml)

        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "a.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        try drop(order("O2", customer: "K1"), as: "b.json", in: home)
        try gateway.exclusively("test") {
            for command in [["process"], ["approve", "1001"], ["push"], ["send", "1001"]] {
                let started = Date()
                let run = try Subprocess.run(gatewayBinary.path, command + ["--home", home.path])
                #expect(run.status != 0, "\(command) ran while the home was held")
                #expect(Date().timeIntervalSince(started) >= 0.9, "\(command) did not wait")
            }
            let status = try Subprocess.run(gatewayBinary.path, ["status", "--home", home.path])
            #expect(status.status == 0)
            #expect(try Subprocess.run(gatewayBinary.path, ["invoices", "list", "--home", home.path]).status == 0)
        }
        // Released: the next command goes at once.
        #expect(try Subprocess.run(gatewayBinary.path, ["process", "--home", home.path]).status == 0)
    }
}

@Suite(.serialized) struct PaymentAndAmountTests {
    @Test func anOverpaymentIsRecordedPaidAndListedForTheAccountant() throws {
        let home = try makeHome()
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "a.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        let invoice = try #require(try gateway.invoices().first)
        let payable = invoice.invoice.totals.payable
        try drop(#"{"type": "payment", "invoiceNumber": "\#(invoice.invoice.number)", "amount": "1000000.00", "paidAt": "2026-11-30T10:00:00+01:00"}"#,
                 as: "pay.json", in: home)
        #expect(try gateway.process().intake.documentsApplied == 1)
        let (record, history) = try #require(try gateway.invoice(invoice.invoice.number))
        #expect(record.invoice.status == .paid)
        #expect(record.paid == 1_000_000)
        #expect(record.overpaid == 1_000_000 - payable)
        #expect(history.last?.detail?.contains("overpaid by \((1_000_000 - payable).fixed(2))") == true)
        let overpaid = try gateway.status().overpaid
        #expect(overpaid.map(\.number) == [invoice.invoice.number])
        let show = try Subprocess.run(gatewayBinary.path, ["invoices", "show", invoice.invoice.number, "--json", "--home", home.path])
        if haveBinary { #expect(show.output.contains("\"overpaid\" : \"\((1_000_000 - payable).fixed(2))\"")) }
    }

    @Test func anOrderWhoseAmountsPassTwelveDigitsIsRefusedWithTheLine() throws {
        let home = try makeHome()
        let lines = #"[{"articleNumber": "A", "description": "x", "quantity": "999999999.999", "unitPrice": "999999999999.9999", "vatRate": 25}]"#
        try drop("[\(customer("K1")), \(order("O1", customer: "K1", lines: lines))]", as: "a.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.intake.documentsRefused == 1)
        #expect(try gateway.invoices().isEmpty)
        let reasonFile = try #require(files(in: home.appendingPathComponent("refused")).first { $0.hasSuffix(".reason.json") })
        let report = try JSONDecoder().decode(RefusalReport.self, from: Data(contentsOf: home.appendingPathComponent("refused/\(reasonFile)")))
        #expect(report.refused.first?.field == "lines[0]")
        // 999999999.999 × 999999999999.9999: 21 digits before the point.
        #expect(report.refused.first?.found?.split(separator: ".").first?.count == 21)
    }
}
