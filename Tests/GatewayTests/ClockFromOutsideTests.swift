import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Testing
@testable import Gateway

/// GATEWAY_NOW through the command line: every command's clock starts there and says so.
@Suite(.serialized, .enabled(if: haveBinary, "needs the gateway binary (swift build)"))
struct ClockFromOutsideTests {
    func gateway(_ arguments: String, now: String?) throws -> (status: Int32, output: String) {
        let setting = now.map { "GATEWAY_NOW='\($0)' " } ?? ""
        return try Subprocess.run("/bin/sh", ["-c", "\(setting)'\(gatewayBinary.path)' \(arguments) 2>&1"])
    }

    @Test func theInvoiceIsDatedByTheClockFromOutsideAndEveryCommandSaysSo() throws {
        let home = try makeHome()
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "1.json", in: home)
        let process = try gateway("process --home '\(home.path)'", now: "2027-03-01T09:00:00+01:00")
        #expect(process.output.contains("warning: GATEWAY_NOW is set: the gateway's clock reads 2027-03-01T08:00:0"), "\(process.output)")
        let list = try gateway("invoices list --json --home '\(home.path)'", now: "2027-03-01T09:00:00+01:00")
        #expect(list.output.contains("GATEWAY_NOW is set"))
        let gateway = try Gateway(home: home, clock: testClock)
        let invoice = try #require(try gateway.invoices().first?.invoice)
        #expect(invoice.issueDate == CivilDate("2027-03-01")!)
        // Without it, the real clock: no warning.
        #expect(!(try self.gateway("status --home '\(home.path)'", now: nil)).output.contains("GATEWAY_NOW"))
    }

    @Test func aValueThatIsNotAnInstantStopsTheCommand() throws {
        let home = try makeHome()
        let run = try gateway("status --home '\(home.path)'", now: "next tuesday")
        #expect(run.status == 1)
        #expect(run.output.contains("GATEWAY_NOW is \"next tuesday\", not an ISO 8601 instant"), "\(run.output)")
    }
}
