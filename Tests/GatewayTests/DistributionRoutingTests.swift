import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// Resolution wired into the pipeline (issue 11): `distribution:` settings, the decision stored
/// on the invoice when it is made and again when what it depends on changes, and the operator's
/// view of it.
@Suite(.serialized) struct DistributionRoutingTests {
    func invoice(_ gateway: Gateway, order: String) throws -> InvoiceRecord {
        try #require(try gateway.invoices().first { $0.invoice.orderNumbers == [order] })
    }

    @Test func settingsThatCannotRunAreRefusedAtStartUpWithTheReason() throws {
        for (setting, complaint, withTransports) in [
            // D1: invoice export is never combined with another method.
            ("distribution: {activeMethods: [export, e-invoice]}", "distribution.activeMethods: expected export alone", false),
            ("distribution: {activeMethods: [email]}", "email needs an SMTP relay (email: in gateway.yml)", false),
            ("distribution: {activeMethods: [central-print]}", "central-print needs an SFTP destination", false),
            ("distribution: {activeMethods: [autogiro]}", "autogiro needs the payee's Bankgirot agreement", false),
            ("distribution: {activeMethods: [e-invoice], reserveMethod: email}", "distribution.reserveMethod: expected one of the active methods (e-invoice)", true),
            ("distribution: {activeMethods: [e-invoice, fax]}", "distribution.activeMethods[1]: expected one of", false),
            ("distribution: {reminders: {fee: \"60.01\"}}", "distribution.reminders.fee: expected at most 60 SEK", false),
            ("distribution: {undoMinutes: -1}", "distribution.undoMinutes", false),
        ] {
            let home = try makeHome()
            if withTransports { try addMailAndPrintHouse(to: home) }
            try addSettings(setting, to: home)
            do {
                _ = try Gateway(home: home, clock: testClock)
                Issue.record("\(setting) was accepted")
            } catch {
                #expect("\(error)".contains(complaint), "\(setting): \(error)")
            }
        }
        // With their transports set up, the same methods are accepted.
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try addSettings("distribution: {activeMethods: [email, central-print, e-invoice], reserveMethod: central-print, reminders: {fee: 60}}", to: home)
        #expect(try Gateway(home: home, clock: testClock).configuration.distributionPolicy.activeMethods == [.email, .centralPrint, .eInvoice])
    }

    @Test func withoutASectionTheMethodsWithATransportAreActiveExceptExport() throws {
        let bare = try makeHome()
        #expect(try Gateway(home: bare, clock: testClock).configuration.distributionPolicy.activeMethods == [.eInvoice, .ownPrinter])
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        #expect(try Gateway(home: home, clock: testClock).configuration.distributionPolicy.activeMethods == [.eInvoice, .ownPrinter, .email, .centralPrint])
    }

    /// D10 through the pipeline: a person linked to an organisation with an invoice reference
    /// gets the organisation's method; the e-mail goes to the reference, a letter to the
    /// organisation for the attention of the reference, in the PDF's window and the print
    /// house's metadata alike.
    @Test func aLinkedPersonsInvoiceGoesToTheOrganisationsInvoiceReference() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try drop("""
        [\(customer("ORG", name: "Moderbolaget AB", extra: #", "invoiceReference": "Karin Ek", "invoiceReferenceEmail": "karin@moder.example", "invoiceSettings": {"distributionMethod": "email"}"#)),
         \(customer("ORG2", name: "Andra AB", extra: #", "invoiceReference": "Per Lind", "invoiceSettings": {"distributionMethod": "central-print"}"#)),
         \(customer("P1", kind: "person", name: "Anställd Ett", extra: #", "email": "p1@example.se", "organisation": "ORG", "linkInvoiceToOrganisation": true"#)),
         \(customer("P2", kind: "person", name: "Anställd Två", extra: #", "email": "p2@example.se", "organisation": "ORG2", "linkInvoiceToOrganisation": true"#)),
         \(order("O1", customer: "P1")), \(order("O2", customer: "P2"))]
        """, as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        #expect(try gateway.process().publishing.published == 2)

        let mailed = try invoice(gateway, order: "O1")
        #expect(mailed.invoice.method == .email)
        #expect(mailed.invoice.distribution?.recipient == "karin@moder.example")
        #expect(mailed.invoice.distribution?.decidedBy == "D10: the organisation ORG's method; D10: the invoice reference Karin Ek of ORG")
        let message = try String(contentsOf: home.appendingPathComponent(mailed.files[0]), encoding: .utf8)
        #expect(message.contains("\r\nTo: <karin@moder.example>\r\n"))

        let printed = try invoice(gateway, order: "O2")
        #expect(printed.invoice.method == .centralPrint)
        #expect(printed.invoice.distribution?.recipient == "Andra AB, Per Lind, Gatan 1, 111 22 Stockholm")
        let metadataPath = try #require(printed.files.first { $0.hasSuffix(".json") })
        let metadata = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: home.appendingPathComponent(metadataPath))) as? [String: Any])
        #expect((metadata["recipient"] as? [String: String])?["name"] == "Andra AB, Per Lind")
        let created = try #require(try gateway.invoice(printed.invoice.number)?.1.first)
        #expect(created.detail?.contains("central-print to Andra AB, Per Lind, Gatan 1, 111 22 Stockholm (D10: the organisation ORG2's method") == true)
    }

    /// D13 and D2 through the pipeline, and resolution again when the customer is updated: an
    /// invoice nothing could send is published once the customer has what its method needs.
    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func anInvoiceNothingCanSendWaitsWithTheReasonUntilTheCustomerIsFixed() throws {
        let home = try makeHome()
        try addMailAndPrintHouse(to: home)
        try addSettings("distribution: {activeMethods: [email, central-print], reserveMethod: central-print}", to: home)
        try drop("""
        [\(customer("P1", kind: "person", name: "Utan Epost", extra: #", "invoiceSettings": {"distributionMethod": "email"}"#)),
         {"type": "customer", "customerNumber": "P2", "kind": "person", "name": "Ingen Alls", "address": {"city": "Lund"},
          "invoiceSettings": {"distributionMethod": "email"}},
         \(order("O1", customer: "P1")), \(order("O2", customer: "P2"))]
        """, as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.process()
        #expect(summary.publishing.published == 1 && summary.publishing.failed == 1)

        // D13: no e-mail address, so the reserve: a letter to the person.
        let reserve = try invoice(gateway, order: "O1")
        #expect(reserve.invoice.method == .centralPrint)
        #expect(reserve.invoice.distribution?.decidedBy == "D13: no e-mail address, reserve central-print")
        #expect(reserve.files.allSatisfy { $0.hasPrefix("outbox/21grams/") } && reserve.files.count == 2)

        // D2: neither e-mail nor the reserve can take it; nothing written, and the reason.
        let stuck = try invoice(gateway, order: "O2")
        #expect(stuck.invoice.method == nil && stuck.files.isEmpty)
        let reason = "D2: no e-mail address, and the reserve central-print: no complete postal address (street, postal code missing for customer P2)"
        #expect(stuck.invoice.distribution?.decidedBy == reason)
        #expect(try gateway.status().failedPublications.map(\.reason) == [reason])
        let status = try Subprocess.run(gatewayBinary.path, ["status", "--home", home.path])
        #expect(status.output.contains("invoices nothing can send (rule D2; a customer update or `gateway invoices email N` routes them again): 1\n  \(stuck.invoice.number): \(reason)"), "\(status.output)")

        // The customer gets an address: resolved again at once, published by the next run.
        try drop(#"[{"type": "customer", "customerNumber": "P2", "kind": "person", "name": "Ingen Alls", "email": "ingen@example.se", "invoiceSettings": {"distributionMethod": "email"}}]"#,
                 as: "2.json", in: home)
        let again = try gateway.process()
        #expect(again.publishing.published == 1 && again.publishing.failed == 0)
        let fixed = try #require(try gateway.invoice(stuck.invoice.number))
        #expect(fixed.0.invoice.method == .email && fixed.0.invoice.distribution?.recipient == "ingen@example.se")
        #expect(fixed.0.files.count == 1 && fixed.0.files[0].hasPrefix("outbox/email/"))
        #expect(fixed.1.contains { $0.event == "distribution resolved again" && $0.detail == "email to ingen@example.se (S1: the customer's method)" })
        #expect(try gateway.status().failedPublications.isEmpty)
    }

    /// D11 by the operator, through the command line: an invoice in review gets its own
    /// address, and `--clear` derives it again.
    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func theOperatorSetsAndClearsAnInvoicesOwnEmailAddress() throws {
        let home = try makeHome(defaults: ", review: review")
        try addMailAndPrintHouse(to: home)
        try drop("[\(customer("P1", kind: "person", extra: #", "email": "p1@example.se", "invoiceSettings": {"distributionMethod": "email"}"#)), \(order("O1", customer: "P1"))]",
                 as: "1.json", in: home)
        func gateway(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try Subprocess.run(gatewayBinary.path, arguments + ["--home", home.path])
        }
        #expect(try gateway(["process"]).status == 0)
        let set = try gateway(["invoices", "email", "1001", "ekonomi@example.se"])
        #expect(set.status == 0 && set.output.contains("email to ekonomi@example.se (S1: the customer's method; D11: the invoice's own e-mail address)"), "\(set.output)")
        let shown = try gateway(["invoices", "show", "1001", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        #expect(json["method"] as? String == "email" && json["recipient"] as? String == "ekonomi@example.se")
        #expect((json["decidedBy"] as? String)?.hasPrefix("S1: the customer's method; D11") == true)

        let bad = try gateway(["invoices", "email", "1001", "not an address"])
        #expect(bad.status != 0)
        let cleared = try gateway(["invoices", "email", "1001", "--clear"])
        #expect(cleared.status == 0 && cleared.output.contains("email to p1@example.se (S1: the customer's method)"), "\(cleared.output)")
        let list = try gateway(["invoices", "list", "--method", "email"])
        #expect(list.output.contains("p1@example.se") && list.output.contains("1 invoice(s)"), "\(list.output)")
        #expect(try gateway(["invoices", "list", "--method", "none"]).output.contains("0 invoice(s)"))

        // Once published, the address is in the written e-mail: changing it is refused with why.
        #expect(try gateway(["approve", "1001"]).status == 0)
        let late = try gateway(["invoices", "email", "1001", "x@example.se"])
        #expect(late.status != 0)
    }
}
