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
