import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// A completed delivery at `completedAt` (ISO 8601), with an optional desired delivery date.
func delivery(_ number: String, customer: String, completedAt: String, desired: String? = nil, article: String = "A-1",
              quantity: Int = 1, extra: String = "") -> String {
    let desired = desired.map { #", "desiredDeliveryDate": "\#($0)""# } ?? ""
    return """
    {"type": "order", "orderNumber": "\(number)", "customerNumber": "\(customer)", "status": "completed",
     "orderDate": "\(completedAt.prefix(10))", "completedAt": "\(completedAt)"\(desired),
     "lines": [{"articleNumber": "\(article)", "description": "Skruv", "quantity": \(quantity), "unit": "st", "unitPrice": "100.00", "vatRate": 25}]\(extra)}
    """
}

/// A customer invoiced collectively: `schedule` is the rest of its invoicingModel object.
func collectiveCustomer(_ number: String, _ schedule: String, model: String = "collective", name: String = "Grossist AB",
                        settings: String = "") -> String {
    customer(number, name: name, extra: #", "invoiceSettings": {"invoicingModel": {"model": "\#(model)", \#(schedule)}\#(settings)}"#)
}

@Suite(.serialized) struct CollectiveInvoicingTests {
    let clock = FixedClock(Instant.parse("2026-12-01T08:00:00+01:00")!)

    func at(_ instant: String) { clock.advance(by: Instant.parse(instant)!.timeIntervalSince(clock.now)) }

    func process(_ gateway: Gateway, at instant: String, _ documents: [String] = []) throws -> Gateway.ProcessSummary {
        at(instant)
        if !documents.isEmpty { try drop("[\(documents.joined(separator: ","))]", as: "\(UUID().uuidString).json", in: gateway.home.root) }
        return try gateway.process()
    }

    @Test func m3DailyCutOffCollectsTheDeliveriesBeforeItAndTheLaterOnesWait() throws {
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        _ = try process(gateway, at: "2026-12-01T08:00:00+01:00",
                        [collectiveCustomer("G1", #""interval": "daily", "startDate": "2026-12-01", "time": "18:00""#)])
        var summary = try process(gateway, at: "2026-12-01T12:00:00+01:00", [
            delivery("O1", customer: "G1", completedAt: "2026-12-01T09:00:00+01:00", extra: #", "yourReference": "Eva""#),
            delivery("O2", customer: "G1", completedAt: "2026-12-01T11:00:00+01:00", article: "B-2", quantity: 3),
        ])
        #expect(summary.invoicedWhenDue.isEmpty)
        #expect(try gateway.invoices().isEmpty)
        let waiting = try gateway.status().waitingDeliveries
        #expect(waiting.map(\.orderNumbers) == [["O1", "O2"]])
        #expect(waiting.first?.reason.contains("2026-12-01 18:00 +01:00") == true, "\(waiting)")

        // A delivery completed after the cut-off waits for the next one.
        summary = try process(gateway, at: "2026-12-01T18:30:00+01:00",
                              [delivery("O3", customer: "G1", completedAt: "2026-12-01T18:10:00+01:00")])
        #expect(summary.invoicedWhenDue.count == 1)
        let invoices = try gateway.invoices()
        #expect(invoices.count == 1)
        let invoice = try #require(invoices.first?.invoice)
        #expect(invoice.orderNumbers == ["O1", "O2"])
        #expect(invoice.orders.map(\.orderNumber) == ["O1", "O2"])
        #expect(invoice.orders.first?.yourReference == "Eva")
        #expect(invoice.orders.first?.deliveryDate == CivilDate("2026-12-01"))
        #expect(invoice.lines.map(\.orderNumber) == ["O1", "O2"])
        #expect(invoice.lines.map(\.position) == [1, 2])
        #expect(invoice.totals.net == 400)
        #expect(invoice.yourReference == nil)
        let history = try #require(try gateway.invoice(invoice.number)?.1.first?.detail)
        #expect(history.contains("rule M2") && history.contains("2026-12-01 18:00 +01:00"), "\(history)")
        // Nothing more at the same cut-off; O3 at the next.
        #expect(try process(gateway, at: "2026-12-02T17:59:00+01:00").invoicedWhenDue.isEmpty)
        #expect(try process(gateway, at: "2026-12-02T18:00:00+01:00").invoicedWhenDue.count == 1)
        #expect(try gateway.invoices().last?.invoice.orderNumbers == ["O3"])
        // No empty invoices.
        #expect(try process(gateway, at: "2026-12-05T18:00:00+01:00").invoicedWhenDue.isEmpty)
    }

    @Test func missedCutOffsAreMadeOnceAsTheyWouldHaveBeen() throws {
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        _ = try process(gateway, at: "2026-12-01T08:00:00+01:00",
                        [collectiveCustomer("G1", #""interval": "daily", "startDate": "2026-12-01", "time": "18:00""#)])
        // The gateway did not run for three days; the deliveries arrived meanwhile.
        let summary = try process(gateway, at: "2026-12-04T20:00:00+01:00", [
            delivery("O1", customer: "G1", completedAt: "2026-12-01T09:00:00+01:00"),
            delivery("O2", customer: "G1", completedAt: "2026-12-02T09:00:00+01:00"),
            delivery("O3", customer: "G1", completedAt: "2026-12-04T19:00:00+01:00"),
        ])
        #expect(summary.invoicedWhenDue.count == 2)
        #expect(try gateway.invoices().map(\.invoice.orderNumbers) == [["O1"], ["O2"]])
        #expect(try process(gateway, at: "2026-12-04T21:00:00+01:00").invoicedWhenDue.isEmpty)
        #expect(try process(gateway, at: "2026-12-05T18:00:00+01:00").invoicedWhenDue.count == 1)
    }

    @Test func m7ARunningCustomersHeldOrderIsInvoicedByALaterProcess() throws {
        // The issue's case: completed on the 15th, wanted on the 20th, process on the 21st.
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        _ = try process(gateway, at: "2027-01-15T10:00:00+01:00", [
            customer("K1", extra: #", "invoiceSettings": {"invoiceAfterDesiredDeliveryDate": true}"#),
            delivery("O1", customer: "K1", completedAt: "2027-01-15T09:00:00+01:00", desired: "2027-01-20"),
        ])
        #expect(try gateway.invoices().isEmpty)
        #expect(try gateway.status().waitingDeliveries.first?.reason.contains("2027-01-20") == true)
        #expect(try process(gateway, at: "2027-01-20T23:59:00+01:00").invoicedWhenDue.isEmpty)
        #expect(try process(gateway, at: "2027-01-21T00:00:00+01:00").invoicedWhenDue.count == 1)
        let invoice = try #require(try gateway.invoices().first?.invoice)
        #expect(invoice.orderNumbers == ["O1"])
        #expect(invoice.issueDate == CivilDate("2027-01-21"))
    }

    @Test func m7ACollectiveCustomersOrderWaitsForTheFirstCutOffAfterItsDesiredDate() throws {
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        _ = try process(gateway, at: "2027-01-01T08:00:00+01:00", [
            collectiveCustomer("G1", #""interval": "weekly", "startDate": "2027-01-04", "time": "06:00""#,
                               settings: #", "invoiceAfterDesiredDeliveryDate": true"#),
            delivery("O1", customer: "G1", completedAt: "2027-01-02T09:00:00+01:00", desired: "2027-01-05"),
            delivery("O2", customer: "G1", completedAt: "2027-01-02T10:00:00+01:00"),
        ])
        // Monday 4 January: O2 only; O1's date has not passed.
        #expect(try process(gateway, at: "2027-01-04T06:00:00+01:00").invoicedWhenDue.count == 1)
        #expect(try gateway.invoices().map(\.invoice.orderNumbers) == [["O2"]])
        #expect(try process(gateway, at: "2027-01-10T12:00:00+01:00").invoicedWhenDue.isEmpty)
        #expect(try process(gateway, at: "2027-01-11T06:00:00+01:00").invoicedWhenDue.count == 1)
        #expect(try gateway.invoices().map(\.invoice.orderNumbers) == [["O2"], ["O1"]])
    }

    @Test func m6ADepartmentsInvoiceGoesToItsParentAndWaitsForIt() throws {
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        _ = try process(gateway, at: "2026-12-01T08:00:00+01:00", [
            collectiveCustomer("D1", #""interval": "daily", "startDate": "2026-12-01", "time": "18:00", "payingCustomerNumber": "H1""#,
                               model: "collective-other-customer", name: "Avdelning Syd"),
            delivery("O1", customer: "D1", completedAt: "2026-12-01T09:00:00+01:00", extra: #", "yourReference": "Eva""#),
        ])
        // The paying customer is not known yet: the deliveries wait and status says for whom.
        #expect(try process(gateway, at: "2026-12-01T18:00:00+01:00").invoicedWhenDue.isEmpty)
        #expect(try gateway.status().waitingDeliveries.first?.reason.contains("paying customer H1") == true)
        let summary = try process(gateway, at: "2026-12-02T09:00:00+01:00", [
            customer("H1", name: "Koncern AB", extra: #", "organisationNumber": "556123-4567", "invoiceSettings": {"termsOfPaymentDays": 10}"#)])
        #expect(summary.invoicedWhenDue.count == 1)
        let invoice = try #require(try gateway.invoices().first?.invoice)
        #expect(invoice.customer.customerNumber == "H1")
        #expect(invoice.orderingCustomerNumber == "D1")
        #expect(invoice.payingCustomerNumber == "H1")
        #expect(invoice.dueDate == CivilDate("2026-12-12"))
        #expect(invoice.orders.first?.orderedBy == "D1")
        #expect(invoice.orders.first?.heading(namingOrderer: true) == "Order O1, levererad 2026-12-01, beställd av D1 Avdelning Syd, er referens Eva")
        #expect(invoice.distribution?.recipient?.contains("556123") == true, "\(String(describing: invoice.distribution))")
        // Listed under either customer.
        #expect(try gateway.invoices(customer: "D1").count == 1)
        #expect(try gateway.invoices(customer: "H1").count == 1)
    }

    @Test func s6AReturnCreditsTheLinesOfItsOrderOnTheCollectiveInvoice() throws {
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        _ = try process(gateway, at: "2026-12-01T08:00:00+01:00", [
            collectiveCustomer("G1", #""interval": "daily", "startDate": "2026-12-01", "time": "18:00""#),
            delivery("O1", customer: "G1", completedAt: "2026-12-01T09:00:00+01:00", quantity: 2),
            delivery("O2", customer: "G1", completedAt: "2026-12-01T10:00:00+01:00", quantity: 5),
        ])
        _ = try process(gateway, at: "2026-12-01T18:00:00+01:00")
        let original = try #require(try gateway.invoices().first?.invoice)
        // Three of O2's five: O1 delivered only two of the same article.
        _ = try process(gateway, at: "2026-12-02T09:00:00+01:00", [#"""
            {"type": "return", "returnNumber": "R1", "orderNumber": "O2", "completedAt": "2026-12-02T08:00:00+01:00",
             "lines": [{"articleNumber": "A-1", "quantity": 3}]}
            """#])
        let credit = try #require(try gateway.invoices().last?.invoice)
        #expect(credit.kind == .credit)
        #expect(credit.status == .review)
        #expect(credit.creditedInvoiceNumber == original.number)
        #expect(credit.orderNumbers == ["O2"])
        #expect(credit.lines.map(\.orderNumber) == ["O2"])
        #expect(credit.lines.first?.quantity == 3)
        // O1 delivered two: a return of three against it is refused, O2's remaining two are not.
        _ = try process(gateway, at: "2026-12-02T10:00:00+01:00", [#"""
            {"type": "return", "returnNumber": "R2", "orderNumber": "O1", "completedAt": "2026-12-02T09:00:00+01:00",
             "lines": [{"articleNumber": "A-1", "quantity": 3}]}
            """#, #"""
            {"type": "return", "returnNumber": "R3", "orderNumber": "O2", "completedAt": "2026-12-02T09:00:00+01:00",
             "lines": [{"articleNumber": "A-1", "quantity": 2}]}
            """#])
        #expect(try gateway.invoices(status: .review).count == 2)
        #expect(try gateway.status().refusedFiles.count == 1)
    }

    @Test func changingModelInvoicesEveryWaitingDeliveryOnceByTheNewModel() throws {
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        let collective = collectiveCustomer("K1", #""interval": "weekly", "startDate": "2026-12-07", "time": "12:00""#)
        _ = try process(gateway, at: "2026-12-01T08:00:00+01:00", [collective,
                        delivery("O1", customer: "K1", completedAt: "2026-12-01T07:00:00+01:00")])
        // Back to running before the first cut-off: O1 is invoiced at once, on its own.
        _ = try process(gateway, at: "2026-12-02T08:00:00+01:00", [customer("K1", name: "Grossist AB")])
        #expect(try gateway.invoices().map(\.invoice.orderNumbers) == [["O1"]])
        // Collective again: a new delivery waits for the schedule, O1 is not invoiced twice.
        _ = try process(gateway, at: "2026-12-03T08:00:00+01:00", [collective,
                        delivery("O2", customer: "K1", completedAt: "2026-12-03T07:00:00+01:00")])
        #expect(try gateway.invoices().count == 1)
        #expect(try process(gateway, at: "2026-12-07T12:00:00+01:00").invoicedWhenDue.count == 1)
        #expect(try gateway.invoices().map(\.invoice.orderNumbers) == [["O1"], ["O2"]])
    }

    @Test func oneTimeZoneDecidesDatesSchedulesAndFileNames() throws {
        // Auckland is 13 hours ahead in December: 12:30 UTC on the 1st is 01:30 on the 2nd there.
        let home = try makeHome()
        let url = home.appendingPathComponent("gateway.yml")
        let config = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "client:\n", with: "client:\n  timeZone: Pacific/Auckland\n")
        try Data(config.utf8).write(to: url)
        let gateway = try Gateway(home: home, clock: clock)
        _ = try process(gateway, at: "2026-12-01T12:30:00Z", [
            collectiveCustomer("G1", #""interval": "daily", "startDate": "2026-12-01", "time": "18:00""#),
            customer("K1"), delivery("O1", customer: "K1", completedAt: "2026-12-01T12:00:00Z"),
            delivery("O2", customer: "G1", completedAt: "2026-12-01T12:00:00Z"),
        ])
        let running = try #require(try gateway.invoices().first?.invoice)
        #expect(running.issueDate == CivilDate("2026-12-02"))
        #expect(running.deliveryDate == CivilDate("2026-12-02"))
        let file = try #require(try gateway.invoices().first?.files.first)
        let xml = try String(contentsOf: home.appendingPathComponent(file), encoding: .utf8)
        #expect(xml.contains("<cbc:IssueDate>2026-12-02</cbc:IssueDate>"))
        // 18:00 in Auckland on the 2nd is 05:00 UTC on the 2nd.
        #expect(try process(gateway, at: "2026-12-02T04:59:00Z").invoicedWhenDue.isEmpty)
        #expect(try process(gateway, at: "2026-12-02T05:00:00Z").invoicedWhenDue.count == 1)
        #expect(try gateway.schedule(of: "G1", next: 1).next == [Instant.parse("2026-12-03T05:00:00Z")!])
    }

    /// Random deliveries over random schedules for a simulated year, `process` at random
    /// moments: every delivery on exactly one invoice, none before its cut-off or desired date,
    /// invoice numbers without gaps.
    @Test func aSimulatedYear() throws {
        var random = SeededRandom(seed: 20261207)
        let home = try makeHome()
        let gateway = try Gateway(home: home, clock: clock)
        let zone = gateway.configuration.client.timeZone
        let models = [#""interval": "daily", "startDate": "2027-01-01", "time": "18:00""#,
                      #""interval": "weekly", "startDate": "2027-01-06", "time": "02:30""#,
                      #""interval": "biweekly", "startDate": "2027-02-10", "time": "22:00""#,
                      #""interval": "monthly", "startDate": "2027-01-31", "time": "00:00""#,
                      #""interval": "days-of-month", "days": [5, 15, 30], "lastDayOfMonth": true, "startDate": "2027-01-01", "time": "12:00""#]
        var customers = models.enumerated().map { collectiveCustomer("C\($0.offset)", $0.element, settings: $0.offset % 2 == 0 ? #", "invoiceAfterDesiredDeliveryDate": true"# : "") }
        customers.append(customer("R1", extra: #", "invoiceSettings": {"invoiceAfterDesiredDeliveryDate": true}"#))
        _ = try process(gateway, at: "2026-12-31T12:00:00+01:00", customers)
        var completed: [String: (customer: String, at: Date, desired: CivilDate?)] = [:]
        var day = CivilDate("2027-01-01")!
        var orderNumber = 0
        while day < CivilDate("2028-01-01")! {
            var documents: [String] = []
            for _ in 0..<random.next(3) {
                orderNumber += 1
                let customer = random.next(6) < 5 ? "C\(random.next(5))" : "R1"
                // Completed yesterday, some in the last seconds before midnight: they arrive today.
                let at = day.adding(days: -1).start(in: zone).addingTimeInterval(TimeInterval(random.next(86_400)))
                let desired = random.next(3) == 0 ? day.adding(days: random.next(10)) : nil
                completed["S\(orderNumber)"] = (customer, at, desired)
                documents.append(delivery("S\(orderNumber)", customer: customer, completedAt: Instant.format(at), desired: desired?.description))
            }
            // One to three runs a day; the files of the day arrive with the first.
            let moments = (0..<(1 + random.next(3))).map { _ in random.next(86_400) }.sorted()
            for (i, second) in moments.enumerated() {
                let moment = day.start(in: zone).addingTimeInterval(TimeInterval(second))
                clock.advance(by: max(0, moment.timeIntervalSince(clock.now)))
                if i == 0, !documents.isEmpty { try drop("[\(documents.joined(separator: ","))]", as: "\(day).json", in: home) }
                _ = try gateway.process()
            }
            day = day.adding(days: 1)
        }
        clock.advance(by: CivilDate("2028-03-01")!.start(in: zone).timeIntervalSince(clock.now))
        _ = try gateway.process()

        let invoices = try gateway.invoices().map(\.invoice)
        var invoiceOf: [String: Invoice] = [:]
        for invoice in invoices {
            for number in invoice.orderNumbers {
                #expect(invoiceOf[number] == nil, "order \(number) on two invoices")
                invoiceOf[number] = invoice
            }
        }
        #expect(Set(invoiceOf.keys) == Set(completed.keys))
        let numbers = invoices.compactMap { Int($0.number) }.sorted()
        #expect(numbers == Array(numbers.first!...numbers.last!))
        let factory = InvoiceFactory(client: gateway.configuration.client)
        for (number, order) in completed {
            guard let invoice = invoiceOf[number] else { continue }
            #expect(invoice.createdAt >= order.at)
            if let desired = order.desired, order.customer != "C1", order.customer != "C3" {
                #expect(CivilDate(invoice.createdAt, in: zone) > desired, "\(number) before its desired date \(desired)")
            }
            let customer = try #require(try gateway.ledger.read { try $0.customer(order.customer) })
            if let schedule = CollectiveSchedule(factory.settings(for: customer).invoicingModel, timeZone: zone) {
                let stored = try #require(try gateway.ledger.read { try $0.order(number) }?.order)
                let from = try #require(factory.invoiceableFrom(stored, settings: factory.settings(for: customer)))
                let first = try #require(schedule.firstCutOff(notBefore: from))
                #expect(invoice.createdAt >= first, "\(number) invoiced before its cut-off")
                #expect(invoice.orderNumbers.count == invoice.orders.count)
            } else {
                #expect(invoice.orderNumbers == [number])
            }
        }
    }
}

/// A small deterministic generator (SplitMix64), so that a failing year can be replayed.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

/// A month of deliveries for a daily, a weekly and a days-of-month customer and a department
/// paid by its parent, through the command line with the clock set from outside.
@Suite(.serialized, .enabled(if: haveBinary, "needs the gateway binary (swift build)"))
struct CollectiveInvoicingCommandLineTests {
    func gateway(_ arguments: String, home: URL, now: String) throws -> (status: Int32, output: String) {
        try Subprocess.run("/bin/sh", ["-c", "GATEWAY_NOW='\(now)' '\(gatewayBinary.path)' \(arguments) --home '\(home.path)' 2>&1"])
    }

    @Test func aMonthOfCollectiveInvoicing() throws {
        let home = try makeHome()
        try drop("[" + [
            collectiveCustomer("DAY", #""interval": "daily", "startDate": "2026-12-01", "time": "18:00""#, name: "Dagligen AB"),
            collectiveCustomer("WEEK", #""interval": "weekly", "startDate": "2026-12-02", "time": "18:00""#, name: "Veckovis AB"),
            collectiveCustomer("DAYS", #""interval": "days-of-month", "days": [5, 15, 30], "lastDayOfMonth": true, "startDate": "2026-12-01", "time": "12:00""#,
                               name: "Datum AB"),
            collectiveCustomer("DEPT", #""interval": "daily", "startDate": "2026-12-01", "time": "18:00", "payingCustomerNumber": "PARENT""#,
                               model: "collective-other-customer", name: "Avdelning Syd"),
            customer("PARENT", name: "Koncernen AB", extra: #", "organisationNumber": "556123-4567", "invoiceReference": "Ekonomi 4711""#),
        ].joined(separator: ",") + "]", as: "customers.json", in: home)
        var run = try gateway("process", home: home, now: "2026-11-30T09:00:00+01:00")
        #expect(run.status == 0, "\(run.output)")
        let show = try gateway("schedule show DAYS --next 6", home: home, now: "2027-01-20T09:00:00+01:00")
        #expect(show.output.contains("on days 5, 15, 30 and the last day of the month (M5) at 12:00 from 2026-12-01"), "\(show.output)")
        #expect(show.output.contains("2027-01-30 12:00 +01:00") && show.output.contains("2027-02-28 12:00 +01:00"))
        #expect(show.output.contains("skipped: 2027-02 has no day 30"), "\(show.output)")

        // Two deliveries a day for each customer, at 10:00 and 20:00; process at 21:00 each day.
        for day in 1...31 {
            let date = String(format: "2026-12-%02d", day)
            var documents: [String] = []
            for customer in ["DAY", "WEEK", "DAYS", "DEPT"] {
                for (n, hour) in [(1, "10"), (2, "20")] {
                    documents.append(delivery("\(customer)-\(day)-\(n)", customer: customer, completedAt: "\(date)T\(hour):00:00+01:00",
                                              article: "A-\(n)", quantity: day, extra: #", "yourReference": "Ref \#(day)""#))
                }
            }
            try drop("[" + documents.joined(separator: ",") + "]", as: "\(date).json", in: home)
            run = try gateway("process", home: home, now: "\(date)T21:00:00+01:00")
            #expect(run.status == 0, "\(run.output)")
        }
        let list = try gateway("invoices list --json", home: home, now: "2026-12-31T21:00:00+01:00")
        let invoices = try #require(try JSONSerialization.jsonObject(with: Data(list.output.split(separator: "\n").drop { !$0.hasPrefix("[") }
            .joined(separator: "\n").utf8)) as? [[String: Any]])
        func of(_ customer: String) -> [[String: Any]] { invoices.filter { $0["customerNumber"] as? String == customer } }
        // Daily: one invoice a day, each with the previous evening's and the day's morning delivery.
        #expect(of("DAY").count == 31)
        #expect(of("DAY").first?["orderNumbers"] as? [String] == ["DAY-1-1"])
        #expect(of("DAY")[1]["orderNumbers"] as? [String] == ["DAY-1-2", "DAY-2-1"])
        // Weekly on Wednesdays: 2, 9, 16, 23, 30 December.
        #expect(of("WEEK").count == 5)
        #expect((of("WEEK").last?["orderNumbers"] as? [String])?.count == 14)
        // Days 5, 15, 30 and the 31st at 12:00.
        #expect(of("DAYS").count == 4)
        #expect((of("DAYS").first?["orderNumbers"] as? [String]) == ["DAYS-1-1", "DAYS-1-2", "DAYS-2-1", "DAYS-2-2", "DAYS-3-1", "DAYS-3-2", "DAYS-4-1", "DAYS-4-2", "DAYS-5-1"])
        // The department's invoices are the parent's to pay.
        #expect(of("DEPT").count == 31)
        #expect(of("DEPT").allSatisfy { $0["payingCustomerNumber"] as? String == "PARENT" })
        // Numbers without gaps, in the order they were made.
        let numbers = invoices.compactMap { Int($0["number"] as? String ?? "") }
        #expect(numbers == Array(1001..<(1001 + invoices.count)))

        let weekly = try #require(of("WEEK").last?["number"] as? String)
        let shown = try gateway("invoices show \(weekly)", home: home, now: "2026-12-31T21:00:00+01:00")
        #expect(shown.output.contains("collective invoice of 14 orders (rule M2)"), "\(shown.output)")
        #expect(shown.output.contains("Order WEEK-24-1, levererad 2026-12-24"))
        let department = try #require(of("DEPT").last?["number"] as? String)
        let json = try gateway("invoices show \(department) --json", home: home, now: "2026-12-31T21:00:00+01:00")
        #expect(json.output.contains(#""payingCustomerNumber" : "PARENT""#) && json.output.contains(#""orderedBy" : "DEPT""#), "\(json.output)")
        let status = try gateway("status", home: home, now: "2026-12-31T21:00:00+01:00")
        #expect(status.output.contains("customer WEEK: 3 (WEEK-30-2, WEEK-31-1, WEEK-31-2): collected for the collective invoice at the cut-off 2027-01-06 18:00 +01:00"),
                "\(status.output)")

        // The files of a weekly invoice (several orders) and the department's pass the official rules.
        let pagero = home.appendingPathComponent("outbox/pagero")
        let paths = files(in: pagero).filter { $0.contains(weekly) || $0.contains(department) }.map { pagero.appendingPathComponent($0).path }
        #expect(paths.count == 2, "\(files(in: pagero))")
        let xml = try String(contentsOfFile: try #require(paths.first { $0.contains(weekly) }), encoding: .utf8)
        #expect(!xml.contains("<cac:OrderReference>"))
        #expect(xml.contains("<cbc:Note>Order WEEK-24-1, levererad 2026-12-24, er referens Ref 24</cbc:Note>"))
        // Svefaktura names each line's own order (BuyersID) instead.
        let svefaktura = try Subprocess.run("/bin/sh", ["-c", "GATEWAY_NOW='2026-12-31T21:00:00+01:00' '\(gatewayBinary.path)' render --mapping svefaktura --invoice \(weekly) --home '\(home.path)' 2>/dev/null"])
        #expect(svefaktura.status == 0, "\(svefaktura.output)")
        #expect(svefaktura.output.contains("<cac:BuyersID>WEEK-24-1</cac:BuyersID>") && svefaktura.output.contains("<cac:BuyersID>WEEK-30-1</cac:BuyersID>"))
        let svefakturaFile = home.appendingPathComponent("weekly-svefaktura.xml")
        try svefaktura.output.write(to: svefakturaFile, atomically: true, encoding: .utf8)
        if let result = officialValidation(paths + [svefakturaFile.path]) {
            #expect(result.passed, "\(result.output)")
        } else {
            #expect(Bool(!Probes.haveOfficialValidator), "the validator is there but did not run")
        }
    }
}
