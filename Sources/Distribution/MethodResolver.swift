import Foundation
import GatewayCore
import Invoicing

/// The client's distribution settings that resolution needs (`distribution:` in gateway.yml).
public struct DistributionPolicy: Sendable, Hashable {
    /// The methods the client has active (D2, D12).
    public var activeMethods: Set<DistributionMethod>
    /// The client's default method (D12).
    public var defaultMethod: DistributionMethod
    /// Used when an invoice does not meet its method's criteria (D13).
    public var reserveMethod: DistributionMethod?

    public init(activeMethods: Set<DistributionMethod>, defaultMethod: DistributionMethod, reserveMethod: DistributionMethod? = nil) {
        self.activeMethods = activeMethods
        self.defaultMethod = defaultMethod
        self.reserveMethod = reserveMethod
    }
}

/// Resolution of an invoice's method and recipient (S1, D1, D2, D9–D13), in one place.
public enum MethodResolver {
    /// The parties an invoice may be addressed to, in D10's order.
    struct Party {
        var label: String
        var name: String
        var email: String?
        var address: PostalAddress?
        var electronicAddress: ElectronicAddress?
        var mandate: AutogiroMandate?
        /// The attention line under the name ("Att: ..."), for an invoice reference.
        var attention: String?
    }

    /// - Parameters:
    ///   - customer: the invoice's customer.
    ///   - organisation: the organisation the customer belongs to (`organisation`), when known.
    ///   - emailOverride: D11, the invoice's own e-mail address (the order's `invoiceEmail` or the operator's).
    ///   - exportMapping: the resolved `exportMapping` (the export method needs one).
    ///   - system: S2; for any system but Extend the method is chosen in that system (S3).
    public static func resolve(customer: Customer, organisation: Customer?, emailOverride: String?, exportMapping: String?,
                               system: DistributionSystem = .extend, policy: DistributionPolicy) -> DistributionDecision {
        guard system == .extend else {
            return DistributionDecision(method: customer.invoiceSettings?.distributionMethod ?? policy.defaultMethod, recipient: system.rawValue,
                                        decidedBy: "S3: \(system.rawValue) distributes the invoice by its own settings")
        }
        // D10: a linked person's invoice goes to its organisation, whose method applies.
        let linked = customer.linkInvoiceToOrganisation == true && organisation != nil
        let owner = linked ? organisation! : customer
        let parties = linked ? Self.parties(linkedPerson: customer, organisation: organisation!) : [Self.party(customer, label: "customer \(customer.customerNumber)")]

        // S1 (D9): the customer's own method, else the client's default.
        var method: DistributionMethod
        var rule: String
        if let own = owner.invoiceSettings?.distributionMethod {
            method = own
            rule = linked ? "D10: the organisation \(owner.customerNumber)'s method" : "S1: the customer's method"
        } else {
            method = policy.defaultMethod
            rule = "S1: the client's default method"
        }
        // D12: a method the client has not activated falls back to the client's default.
        if !policy.activeMethods.contains(method) {
            let inactive = method
            method = policy.defaultMethod
            rule = "D12: \(inactive.rawValue) is not active for the client, so the client's default \(method.rawValue)"
            if !policy.activeMethods.contains(method) {
                guard let reserve = policy.reserveMethod, policy.activeMethods.contains(reserve) else {
                    return DistributionDecision(method: nil, recipient: nil, decidedBy: "D2: neither \(inactive.rawValue) nor the client's default \(method.rawValue) is active, and there is no active reserve method")
                }
                method = reserve
                rule = "D12, D13: neither \(inactive.rawValue) nor the default is active, reserve \(reserve.rawValue)"
            }
        }
        // D13: the method's criteria; else the reserve; else nothing (D2).
        switch recipient(for: method, parties: parties, emailOverride: emailOverride, exportMapping: exportMapping) {
        case .success(let found):
            return DistributionDecision(method: method, recipient: found.text, email: found.email, addressee: found.addressee,
                                        decidedBy: found.rule.map { "\(rule); \($0)" } ?? rule)
        case .failure(let missing):
            guard let reserve = policy.reserveMethod, reserve != method, policy.activeMethods.contains(reserve) else {
                return DistributionDecision(method: nil, recipient: nil, decidedBy: "D2: \(missing.reason)" + (policy.reserveMethod == nil ? ", and there is no reserve method" : ""))
            }
            switch recipient(for: reserve, parties: parties, emailOverride: emailOverride, exportMapping: exportMapping) {
            case .success(let found):
                return DistributionDecision(method: reserve, recipient: found.text, email: found.email, addressee: found.addressee, decidedBy: "D13: \(missing.reason), reserve \(reserve.rawValue)")
            case .failure(let reserveMissing):
                return DistributionDecision(method: nil, recipient: nil, decidedBy: "D2: \(missing.reason), and the reserve \(reserve.rawValue): \(reserveMissing.reason)")
            }
        }
    }

    struct Found {
        var text: String
        var email: String?
        var addressee: DistributionDecision.Addressee?
        /// A rule beyond the method's own (D10, D11), when one decided the recipient.
        var rule: String?
    }

    struct Missing: Error {
        var reason: String
    }

    /// The first party that has what `method` needs (D10's order), or what is missing.
    static func recipient(for method: DistributionMethod, parties: [Party], emailOverride: String?, exportMapping: String?) -> Result<Found, Missing> {
        let chain = parties.count > 1 ? "D10: " : nil
        switch method {
        case .email:
            if let address = emailOverride {
                guard EmailAddress.isValid(address) else { return .failure(Missing(reason: "the invoice's own e-mail address \"\(address)\" is not valid")) }
                return .success(Found(text: address, email: address, rule: "D11: the invoice's own e-mail address"))
            }
            for party in parties {
                if let address = party.email, EmailAddress.isValid(address) {
                    return .success(Found(text: address, email: address, rule: chain.map { $0 + party.label }))
                }
            }
            let invalid = parties.compactMap(\.email).first
            return .failure(Missing(reason: invalid.map { "no valid e-mail address (\"\($0)\" is not one)" } ?? "no e-mail address"))
        case .centralPrint, .ownPrinter:
            var problem = "no complete postal address"
            for party in parties {
                if let issue = Self.postalProblem(party) { problem = issue; continue }
                let a = party.address!
                let lines: [String?] = [party.name, party.attention, a.street, [a.postalCode, a.city].compactMap { $0 }.joined(separator: " ")]
                return .success(Found(text: lines.compactMap { $0 }.joined(separator: ", "),
                                      addressee: DistributionDecision.Addressee(name: party.name, attention: party.attention, address: a),
                                      rule: chain.map { $0 + party.label }))
            }
            return .failure(Missing(reason: problem))
        case .eInvoice:
            for party in parties {
                if let address = party.electronicAddress { return .success(Found(text: address.description, rule: chain.map { $0 + party.label })) }
            }
            return .failure(Missing(reason: "no Peppol ID or organisation number for an e-invoice"))
        case .autogiro:
            for party in parties {
                if let mandate = party.mandate { return .success(Found(text: "payer number \(mandate.payerNumber)", rule: chain.map { $0 + party.label })) }
            }
            return .failure(Missing(reason: "no autogiro mandate (autogiro.payerNumber)"))
        case .export:
            guard let exportMapping else { return .failure(Missing(reason: "no exportMapping for the invoice export")) }
            return .success(Found(text: exportMapping, rule: nil))
        }
    }

    static func party(_ customer: Customer, label: String) -> Party {
        Party(label: label, name: customer.name, email: customer.invoiceEmail ?? customer.email, address: customer.address,
              electronicAddress: customer.electronicAddress, mandate: customer.autogiro)
    }

    /// D10: the organisation's invoice reference, the organisation, the person.
    static func parties(linkedPerson person: Customer, organisation: Customer) -> [Party] {
        var parties: [Party] = []
        if let reference = organisation.invoiceReference {
            parties.append(Party(label: "the invoice reference \(reference) of \(organisation.customerNumber)", name: organisation.name,
                                 email: organisation.invoiceReferenceEmail, address: organisation.address,
                                 electronicAddress: organisation.electronicAddress, mandate: nil, attention: reference))
        }
        parties.append(party(organisation, label: "the organisation \(organisation.customerNumber)"))
        parties.append(party(person, label: "the person \(person.customerNumber)"))
        return parties
    }

    /// Why a letter cannot reach the party by post, or nil when the address is complete: a
    /// name, a street, a postal code and a city; a Swedish postal code has five digits.
    static func postalProblem(_ party: Party) -> String? {
        var missing: [String] = []
        if party.name.trimmingCharacters(in: .whitespaces).isEmpty { missing.append("name") }
        if (party.address?.street ?? "").isEmpty { missing.append("street") }
        if (party.address?.postalCode ?? "").isEmpty { missing.append("postal code") }
        if (party.address?.city ?? "").isEmpty { missing.append("city") }
        if !missing.isEmpty { return "no complete postal address (\(missing.joined(separator: ", ")) missing for \(party.label))" }
        if (party.address?.country ?? "SE") == "SE", let code = party.address?.postalCode {
            let digits = code.filter { $0 != " " }
            guard digits.count == 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return "the postal code \"\(code)\" of \(party.label) is not five digits"
            }
        }
        return nil
    }
}
