import GatewayCore

/// Where an invoice goes: the method, the recipient, and the rule that decided (D2, D9–D13).
/// Made by the Distribution module's resolver and kept on the invoice, so a listing, the
/// renderers and the transports read one answer.
public struct DistributionDecision: Sendable, Hashable, Codable {
    /// Nil when nothing can deliver the invoice (D2); `decidedBy` says why.
    public var method: DistributionMethod?
    /// To whom, in words a listing shows: an e-mail address, a postal address, a Peppol ID.
    public var recipient: String?
    /// The e-mail address an e-mail goes to, when the method is e-mail.
    public var email: String?
    /// Who a letter is addressed to, when the method is a postal one (D10: perhaps the
    /// organisation or its invoice reference rather than the customer).
    public var addressee: Addressee?
    /// Begins with the deciding rule's ID: "S1: the customer's method", "D13: ...".
    public var decidedBy: String

    public init(method: DistributionMethod?, recipient: String?, email: String? = nil, addressee: Addressee? = nil, decidedBy: String) {
        self.method = method
        self.recipient = recipient
        self.email = email
        self.addressee = addressee
        self.decidedBy = decidedBy
    }

    /// The name and address a printed invoice carries in its window.
    public struct Addressee: Sendable, Hashable, Codable {
        public var name: String
        /// "Att: ..." under the name, for an organisation's invoice reference.
        public var attention: String?
        public var address: PostalAddress

        public init(name: String, attention: String? = nil, address: PostalAddress) {
            self.name = name
            self.attention = attention
            self.address = address
        }
    }
}

extension Invoice {
    /// The resolved method; an invoice from before resolution was stored goes by its S1 method.
    public var method: DistributionMethod? {
        distribution.map(\.method) ?? settings.distributionMethod
    }

    /// The name and address a letter goes to: the resolved addressee, else the customer's.
    public var postalAddressee: DistributionDecision.Addressee? {
        if let addressee = distribution?.addressee { return addressee }
        return customer.address.map { DistributionDecision.Addressee(name: customer.name, address: $0) }
    }
}

extension DistributionDecision {
    /// "email to a@b.se (S1: the customer's method)", or why nothing can send it.
    public var summary: String {
        guard let method else { return "nothing can send it: \(decidedBy)" }
        return method.rawValue + (recipient.map { " to \($0)" } ?? "") + " (\(decidedBy))"
    }
}
