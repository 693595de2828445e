import Foundation
import Testing
@testable import Gateway

@Suite(.serialized) struct RestartTests {
    /// A `gateway process` killed with SIGKILL part-way and run again gives every invoice
    /// exactly once, with no gap in the numbering.
    @Test func killedProcessResumesExactlyOnce() throws {
        let binary = repository.appendingPathComponent(".build/debug/gateway")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            print("SKIPPED restart test: build the gateway first (swift build)")
            return
        }
        let home = try makeHome()
        let count = 4000
        var text = customer("K1").replacingOccurrences(of: "\n", with: " ") + "\n"
        for i in 1...count { text += order("O\(i)", customer: "K1").replacingOccurrences(of: "\n", with: " ") + "\n" }
        try drop(text, as: "big.ndjson", in: home)

        func run(killAfter seconds: Double?) throws {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["process", "--home", home.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if let seconds {
                Thread.sleep(forTimeInterval: seconds)
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
        }
        try run(killAfter: 1.5)
        let partial = try Gateway(home: home, clock: testClock).invoices().count
        try run(killAfter: 0.8)
        try run(killAfter: nil)
        let invoices = try Gateway(home: home, clock: testClock).invoices()
        print("restart test: \(partial) of \(count) invoices existed after the first kill")
        #expect(invoices.count == count)
        #expect(Set(invoices.flatMap(\.invoice.orderNumbers)).count == count)
        #expect(invoices.map(\.invoice.number) == (1001..<(1001 + count)).map(String.init))
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).count == count)
        #expect(files(in: home.appendingPathComponent("inbox/.processing")).isEmpty)
    }
}
