import Foundation
import GatewayTestKit
import Testing
@testable import Gateway

@Suite(.serialized) struct RestartTests {
    /// A `gateway process` killed with SIGKILL part-way and run again gives every invoice
    /// exactly once, with no gap in the numbering.
    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func killedProcessResumesExactlyOnce() throws {
        let binary = gatewayBinary
        let home = try makeHome()
        let count = 4000
        var text = customer("K1").replacingOccurrences(of: "\n", with: " ") + "\n"
        for i in 1...count { text += order("O\(i)", customer: "K1").replacingOccurrences(of: "\n", with: " ") + "\n" }
        try drop(text, as: "big.ndjson", in: home)

        let observer = try Gateway(home: home, clock: testClock)
        let outbox = home.appendingPathComponent("outbox/pagero")
        /// Starts `gateway process` and, when `killWhen` first holds, kills it with SIGKILL.
        func run(killWhen: (() throws -> Bool)?) throws -> Bool {
            let process = try Subprocess(binary.path, ["process", "--home", home.path])
            var killed = false
            if let killWhen {
                while process.isRunning {
                    if try killWhen() {
                        kill(process.pid, SIGKILL)
                        killed = true
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.01)
                }
            }
            process.wait()
            return killed
        }
        /// Invoices so far, counted without reading them.
        func invoiceCount() throws -> Int { try observer.status().counts.values.reduce(0, +) }
        // Killed during intake, then during publishing, then left to finish.
        let killedInIntake = try run(killWhen: { try invoiceCount() >= count / 4 })
        let partial = try invoiceCount()
        let killedInPublishing = try run(killWhen: { files(in: outbox).count >= count / 2 })
        #expect(try run(killWhen: nil) == false)
        print("restart test: killed in intake \(killedInIntake) with \(partial) of \(count) invoices, in publishing \(killedInPublishing)")
        #expect(killedInIntake && partial < count)
        let invoices = try Gateway(home: home, clock: testClock).invoices()
        #expect(invoices.count == count)
        #expect(Set(invoices.flatMap(\.invoice.orderNumbers)).count == count)
        #expect(invoices.map(\.invoice.number) == (1001..<(1001 + count)).map(String.init))
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).count == count)
        #expect(files(in: home.appendingPathComponent("inbox/.processing")).isEmpty)
    }
}
