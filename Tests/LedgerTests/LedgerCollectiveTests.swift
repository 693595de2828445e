import Checksums
import Foundation
import GatewayCore
import Invoicing
import Testing
@testable import Ledger

/// What collective invoicing keeps in the ledger (M2, M3, M6, S6).
@Suite struct LedgerCollectiveTests {
    let client = ClientProfile(id: "test", name: "Test AB", organisationNumber: "556000-0001",
                               address: PostalAddress(city: "Göteborg", country: "SE"), bankgiro: "5050-1055")
    let now = Instant.parse("2026-12-01T18:00:00+01:00")!

    func order(_ number: String, customer: String) -> Order {
        Order(orderNumber: number, customerNumber: customer, status: .completed, orderDate: CivilDate("2026-12-01")!,
              completedAt: now.addingTimeInterval(-3600), yourReference: "Ref \(number)",
              lines: [OrderLine(articleNumber: "A", description: "x", quantity: 2, unitPrice: 100, vatRate: .twentyFive)])
    }

    @Test func aCollectiveInvoiceKeepsItsOrdersLinesAndPayer() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).sqlite").path
        let ledger = try SQLiteLedger(path: path)
        let department = Customer(customerNumber: "D1", kind: .organisation, name: "Avdelning")
        let parent = Customer(customerNumber: "H1", kind: .organisation, name: "Koncern")
        let orders = [order("O1", customer: "D1"), order("O2", customer: "D1")]
        let factory = InvoiceFactory(client: client)
        let invoice = factory.collectiveInvoice(of: orders, orderedBy: department, payer: parent, number: "1001", at: now)
        try ledger.write { tx in
            for customer in [department, parent] { try tx.saveCustomer(try Canonical(customer), at: now) }
            for order in orders { try tx.saveOrder(try Canonical(order), at: now) }
            #expect(try tx.customersWithUninvoicedOrders() == ["D1"])
            try tx.insertInvoice(invoice, at: now, event: "created", detail: nil)
            for order in orders { try tx.setOrderInvoice(orderNumber: order.orderNumber, invoiceNumber: "1001") }
            #expect(try tx.customersWithUninvoicedOrders().isEmpty)
        }
        let stored = try #require(try ledger.read { try $0.invoice("1001") }?.invoice)
        #expect(stored == invoice)
        #expect(stored.lines.map(\.orderNumber) == ["O1", "O2"])
        #expect(stored.orders.map(\.yourReference) == ["Ref O1", "Ref O2"])
        #expect(stored.payingCustomerNumber == "H1")
        #expect(try ledger.read { try $0.invoices(status: nil, customerNumber: "D1") }.count == 1)
        #expect(try ledger.read { try $0.invoices(status: nil, customerNumber: "H1") }.count == 1)

        // S6: a return of O2 is counted against O2's line, not O1's.
        let returned = ReturnOrder(returnNumber: "R1", orderNumber: "O2", completedAt: now, lines: [ReturnLine(articleNumber: "A", quantity: 2)])
        let credit = try factory.creditInvoice(for: returned, original: stored, alreadyReturned: [:], number: "1002", at: now)
        try ledger.write { tx in try tx.insertInvoice(credit, at: now, event: "created", detail: nil) }
        let counted = try ledger.read { try $0.returnedQuantities(creditedInvoice: "1001") }
        #expect(counted == [DeliveredArticle(orderNumber: "O2", articleNumber: "A"): 2])
        #expect(throws: InvoicingRefusal.self) {
            try factory.creditInvoice(for: returned, original: stored, alreadyReturned: counted, number: "1003", at: now)
        }
        let other = ReturnOrder(returnNumber: "R2", orderNumber: "O1", completedAt: now, lines: [ReturnLine(articleNumber: "A", quantity: 2)])
        #expect(try factory.creditInvoice(for: other, original: stored, alreadyReturned: counted, number: "1003", at: now).lines.count == 1)
        // The operator's full credit leaves out what returns took back.
        let full = try factory.fullCredit(of: stored, alreadyReturned: counted, number: "1004", at: now)
        #expect(full.lines.map(\.orderNumber) == ["O1"])
    }

    @Test func aPublishingBatchIsBoundedByItsLines() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).sqlite").path
        let ledger = try SQLiteLedger(path: path)
        let customer = Customer(customerNumber: "G1", kind: .organisation, name: "Grossist")
        let factory = InvoiceFactory(client: client)
        try ledger.write { tx in
            try tx.saveCustomer(try Canonical(customer), at: now)
            for number in 1001...1003 {
                let orders = [order("O\(number)a", customer: "G1"), order("O\(number)b", customer: "G1")]
                var invoice = factory.collectiveInvoice(of: orders, orderedBy: customer, payer: customer, number: "\(number)", at: now)
                invoice.status = .ready
                try tx.insertInvoice(invoice, at: now, event: "created", detail: nil)
            }
        }
        func batch(limit: Int, lines: Int) throws -> [String] { try ledger.read { try $0.invoicesToPublish(limit: limit, lines: lines) }.map(\.number) }
        #expect(try batch(limit: 10, lines: 100) == ["1001", "1002", "1003"])
        #expect(try batch(limit: 2, lines: 100) == ["1001", "1002"])
        // Two lines each: the invoice that reaches the budget is the batch's last; one always goes.
        #expect(try batch(limit: 10, lines: 3) == ["1001", "1002"])
        #expect(try batch(limit: 10, lines: 4) == ["1001", "1002"])
        #expect(try batch(limit: 10, lines: 1) == ["1001"])
    }

    @Test func aBackupIsAWholeLedgerAndNeverOverwrites() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let ledger = try SQLiteLedger(path: folder.appendingPathComponent("ledger.sqlite").path)
        let customer = Customer(customerNumber: "G1", kind: .organisation, name: "Grossist")
        try ledger.write { tx in try tx.saveCustomer(try Canonical(customer), at: now) }
        let copy = folder.appendingPathComponent("backup.sqlite").path
        try ledger.backup(to: copy)
        #expect(try SQLiteLedger(path: copy).read { try $0.customer("G1") }?.name == "Grossist")
        #expect(throws: (any Error).self) { try ledger.backup(to: copy) }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent(".backup.sqlite.tmp").path))
    }

    @Test func theLastCutOffIsKeptPerCustomerAndCanBeForgotten() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).sqlite").path
        let ledger = try SQLiteLedger(path: path)
        try ledger.write { tx in
            #expect(try tx.lastCutOff(customerNumber: "G1") == nil)
            try tx.setLastCutOff(now, customerNumber: "G1")
            try tx.setLastCutOff(now.addingTimeInterval(86_400), customerNumber: "G1")
            try tx.setLastCutOff(now, customerNumber: "G2")
        }
        #expect(try ledger.read { try $0.lastCutOff(customerNumber: "G1") } == now.addingTimeInterval(86_400))
        try ledger.write { tx in try tx.setLastCutOff(nil, customerNumber: "G1") }
        #expect(try ledger.read { try $0.lastCutOff(customerNumber: "G1") } == nil)
        #expect(try ledger.read { try $0.lastCutOff(customerNumber: "G2") } == now)
    }
}
