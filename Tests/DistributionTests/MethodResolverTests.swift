import Foundation
import GatewayCore
import Invoicing
import Testing
@testable import Distribution

/// Resolution (issue 11): every rule and their interplay, as the seed's own examples have them.
@Suite struct MethodResolverTests {
    static let address = PostalAddress(street: "Gatan 1", postalCode: "111 22", city: "Stockholm", country: "SE")

    static func customer(_ number: String, kind: CustomerKind = .person, method: DistributionMethod? = nil, email: String? = nil,
                         invoiceEmail: String? = nil, address: PostalAddress? = MethodResolverTests.address, organisationNumber: String? = nil,
                         peppolId: String? = nil, organisation: String? = nil, linked: Bool? = nil, reference: String? = nil,
                         referenceEmail: String? = nil, mandate: String? = nil) -> Customer {
        Customer(customerNumber: number, kind: kind, name: "Namn \(number)", organisationNumber: organisationNumber, email: email,
                 invoiceEmail: invoiceEmail, address: address, peppolId: peppolId, organisation: organisation, invoiceReference: reference,
                 invoiceReferenceEmail: referenceEmail, linkInvoiceToOrganisation: linked,
                 invoiceSettings: method.map { InvoiceSettings(distributionMethod: $0) }, autogiro: mandate.map { AutogiroMandate(payerNumber: $0) })
    }

    static let everything = Set(DistributionMethod.allCases).subtracting([.export])

    struct Case: CustomStringConvertible {
        var name: String
        var customer: Customer
        var organisation: Customer? = nil
        var override: String? = nil
        var policy = DistributionPolicy(activeMethods: MethodResolverTests.everything, defaultMethod: .email)
        var method: DistributionMethod?
        var recipient: String?
        var decidedBy: String
        var description: String { name }
    }

    static let cases: [Case] = [
        // S1 and D9: the customer's own method and its own invoice e-mail address.
        Case(name: "S1 the customer's method", customer: customer("P1", method: .centralPrint),
             method: .centralPrint, recipient: "Namn P1, Gatan 1, 111 22 Stockholm", decidedBy: "S1: the customer's method"),
        Case(name: "S1 the client's default", customer: customer("P1", email: "p1@example.se"),
             method: .email, recipient: "p1@example.se", decidedBy: "S1: the client's default method"),
        Case(name: "D9 an invoice address beside the ordinary one", customer: customer("P1", method: .email, email: "p1@example.se", invoiceEmail: "faktura@example.se"),
             method: .email, recipient: "faktura@example.se", decidedBy: "S1: the customer's method"),
        // D12, the seed's own example: organisation B chose e-mail, which the client has not activated.
        Case(name: "D12 an inactive method falls back to the default", customer: customer("B", kind: .organisation, method: .email, email: "b@example.se", organisationNumber: "556677-8899"),
             policy: DistributionPolicy(activeMethods: [.eInvoice, .centralPrint], defaultMethod: .eInvoice),
             method: .eInvoice, recipient: "0007:5566778899", decidedBy: "D12: email is not active for the client, so the client's default e-invoice"),
        // D13, both seed examples.
        Case(name: "D13 e-mail without an address goes by central print",
             customer: customer("P1"), policy: DistributionPolicy(activeMethods: everything, defaultMethod: .email, reserveMethod: .centralPrint),
             method: .centralPrint, recipient: "Namn P1, Gatan 1, 111 22 Stockholm", decidedBy: "D13: no e-mail address, reserve central-print"),
        Case(name: "D13 central print without a postal address goes by e-mail",
             customer: customer("P1", email: "p1@example.se", address: PostalAddress(city: "Lund")),
             policy: DistributionPolicy(activeMethods: everything, defaultMethod: .centralPrint, reserveMethod: .email),
             method: .email, recipient: "p1@example.se",
             decidedBy: "D13: no complete postal address (street, postal code missing for customer P1), reserve email"),
        Case(name: "D13 a postal code that is not five digits",
             customer: customer("P1", email: "p1@example.se", address: PostalAddress(street: "Gatan 1", postalCode: "1234", city: "Lund", country: "SE")),
             policy: DistributionPolicy(activeMethods: everything, defaultMethod: .centralPrint, reserveMethod: .email),
             method: .email, recipient: "p1@example.se",
             decidedBy: "D13: the postal code \"1234\" of customer P1 is not five digits, reserve email"),
        Case(name: "D13 e-invoice without a Peppol ID", customer: customer("P1", method: .eInvoice, email: "p1@example.se"),
             policy: DistributionPolicy(activeMethods: everything, defaultMethod: .email, reserveMethod: .email),
             method: .email, recipient: "p1@example.se", decidedBy: "D13: no Peppol ID or organisation number for an e-invoice, reserve email"),
        Case(name: "D13 autogiro without a mandate", customer: customer("P1", method: .autogiro),
             policy: DistributionPolicy(activeMethods: everything, defaultMethod: .email, reserveMethod: .centralPrint),
             method: .centralPrint, recipient: "Namn P1, Gatan 1, 111 22 Stockholm", decidedBy: "D13: no autogiro mandate (autogiro.payerNumber), reserve central-print"),
        // D2: nothing can deliver it, and the reason says exactly why.
        Case(name: "D2 neither the method nor the reserve", customer: customer("P1", address: nil),
             policy: DistributionPolicy(activeMethods: everything, defaultMethod: .email, reserveMethod: .centralPrint),
             method: nil, recipient: nil,
             decidedBy: "D2: no e-mail address, and the reserve central-print: no complete postal address (street, postal code, city missing for customer P1)"),
        Case(name: "D2 no reserve", customer: customer("P1"),
             method: nil, recipient: nil, decidedBy: "D2: no e-mail address, and there is no reserve method"),
        Case(name: "D2 no active method", customer: customer("P1", method: .email, email: "p1@example.se"),
             policy: DistributionPolicy(activeMethods: [], defaultMethod: .email),
             method: nil, recipient: nil, decidedBy: "D2: neither email nor the client's default email is active, and there is no active reserve method"),
        // D10: a linked person's invoice goes to the organisation's invoice reference, the
        // organisation, the person: the first that has what the organisation's method needs.
        Case(name: "D10 the invoice reference's e-mail",
             customer: customer("P1", email: "p1@example.se", organisation: "O1", linked: true),
             organisation: customer("O1", kind: .organisation, method: .email, email: "o1@example.se", reference: "Anna Andersson", referenceEmail: "anna@o1.example"),
             method: .email, recipient: "anna@o1.example",
             decidedBy: "D10: the organisation O1's method; D10: the invoice reference Anna Andersson of O1"),
        Case(name: "D10 a reference without an e-mail: the organisation",
             customer: customer("P1", email: "p1@example.se", organisation: "O1", linked: true),
             organisation: customer("O1", kind: .organisation, method: .email, invoiceEmail: "faktura@o1.example", reference: "Anna Andersson"),
             method: .email, recipient: "faktura@o1.example", decidedBy: "D10: the organisation O1's method; D10: the organisation O1"),
        Case(name: "D10 the organisation has no address: the person",
             customer: customer("P1", organisation: "O1", linked: true),
             organisation: customer("O1", kind: .organisation, method: .centralPrint, address: nil),
             method: .centralPrint, recipient: "Namn P1, Gatan 1, 111 22 Stockholm", decidedBy: "D10: the organisation O1's method; D10: the person P1"),
        Case(name: "D10 the reference as the attention line of a letter",
             customer: customer("P1", organisation: "O1", linked: true),
             organisation: customer("O1", kind: .organisation, method: .centralPrint, reference: "Ekonomiavdelningen"),
             method: .centralPrint, recipient: "Namn O1, Ekonomiavdelningen, Gatan 1, 111 22 Stockholm",
             decidedBy: "D10: the organisation O1's method; D10: the invoice reference Ekonomiavdelningen of O1"),
        Case(name: "D10 off: the person's own method", customer: customer("P1", method: .centralPrint, organisation: "O1", linked: false),
             organisation: customer("O1", kind: .organisation, method: .email, email: "o1@example.se"),
             method: .centralPrint, recipient: "Namn P1, Gatan 1, 111 22 Stockholm", decidedBy: "S1: the customer's method"),
        // D11: the invoice's own e-mail address wins, and a bad one is a reason.
        Case(name: "D11 an override", customer: customer("P1", method: .email, email: "p1@example.se"), override: "annan@example.se",
             method: .email, recipient: "annan@example.se", decidedBy: "S1: the customer's method; D11: the invoice's own e-mail address"),
        Case(name: "D11 an override that is not an address", customer: customer("P1", method: .email, email: "p1@example.se"), override: "inte en adress",
             method: nil, recipient: nil, decidedBy: "D2: the invoice's own e-mail address \"inte en adress\" is not valid, and there is no reserve method"),
    ]

    @Test(arguments: cases) func resolution(_ c: Case) {
        let decision = MethodResolver.resolve(customer: c.customer, organisation: c.organisation, emailOverride: c.override, exportMapping: nil,
                                              policy: c.policy)
        #expect(decision.method == c.method, "\(c.name)")
        #expect(decision.recipient == c.recipient, "\(c.name)")
        #expect(decision.decidedBy == c.decidedBy, "\(c.name)")
        #expect(decision.decidedBy.first == "S" || decision.decidedBy.first == "D")
        if c.method == .email { #expect(decision.email == c.recipient) }
    }

    /// D11: clearing the override derives the address again by D10.
    @Test func clearingTheOverrideDerivesTheAddressAgain() {
        let person = Self.customer("P1", email: "p1@example.se", organisation: "O1", linked: true)
        let organisation = Self.customer("O1", kind: .organisation, method: .email, email: "o1@example.se")
        let policy = DistributionPolicy(activeMethods: Self.everything, defaultMethod: .email)
        let overridden = MethodResolver.resolve(customer: person, organisation: organisation, emailOverride: "x@example.se", exportMapping: nil, policy: policy)
        #expect(overridden.recipient == "x@example.se")
        let cleared = MethodResolver.resolve(customer: person, organisation: organisation, emailOverride: nil, exportMapping: nil, policy: policy)
        #expect(cleared.recipient == "o1@example.se")
    }

    @Test func anExportGoesByItsMapping() {
        let policy = DistributionPolicy(activeMethods: [.export], defaultMethod: .export)
        let decision = MethodResolver.resolve(customer: Self.customer("K1", kind: .organisation), organisation: nil, emailOverride: nil,
                                              exportMapping: "sap", policy: policy)
        #expect(decision.method == .export && decision.recipient == "sap")
        let missing = MethodResolver.resolve(customer: Self.customer("K1", kind: .organisation), organisation: nil, emailOverride: nil,
                                             exportMapping: nil, policy: policy)
        #expect(missing.method == nil && missing.decidedBy.hasPrefix("D2: no exportMapping"))
    }
}
