import Foundation
import GatewayCore

/// A Peppol electronic address: scheme and identifier (`0007:5566778899`).
public struct ElectronicAddress: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var id: String
    public var description: String { "\(scheme):\(id)" }
}

extension Customer {
    /// Where a Peppol document reaches the customer: its Peppol ID, else an organisation's
    /// organisation number (scheme 0007). Nothing else: the e-mail scheme (EM) is no longer
    /// allowed (PEPPOL-EN16931-CL008), so a person without a Peppol ID has no address.
    public var electronicAddress: ElectronicAddress? {
        if let peppol = peppolId {
            let parts = peppol.split(separator: ":", maxSplits: 1)
            return ElectronicAddress(scheme: String(parts[0]), id: String(parts[1]))
        }
        if kind == .organisation, let number = organisationNumber { return ElectronicAddress(scheme: "0007", id: number.filter(\.isNumber)) }
        return nil
    }
}

extension Invoice {
    /// To whom the resolved method sends it, in words a listing can show.
    public var recipient: String? {
        switch settings.distributionMethod {
        case .eInvoice: customer.electronicAddress?.description
        case .email: invoiceEmail
        case .centralPrint: customer.address?.singleLine
        case .ownPrinter: "own printer"
        case .export: settings.exportMapping
        case .autogiro: nil
        }
    }
}

extension Customer {
    /// Why a letter cannot reach this customer by post (central print, D13), or nil when the
    /// address is complete: a name, a street, a postal code and a city; a Swedish postal code
    /// has five digits ("111 22" or "11122").
    public var postalAddressProblem: String? {
        var missing: [String] = []
        if name.trimmingCharacters(in: .whitespaces).isEmpty { missing.append("name") }
        if (address?.street ?? "").isEmpty { missing.append("address.street") }
        if (address?.postalCode ?? "").isEmpty { missing.append("address.postalCode") }
        if (address?.city ?? "").isEmpty { missing.append("address.city") }
        if !missing.isEmpty { return "customer \(customerNumber) has no complete postal address: " + missing.joined(separator: ", ") + " missing" }
        if (address?.country ?? "SE") == "SE", let code = address?.postalCode {
            let digits = code.filter { $0 != " " }
            guard digits.count == 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return "customer \(customerNumber) has the postal code \"\(code)\"; a Swedish postal code has five digits"
            }
        }
        return nil
    }
}
