import Foundation
import GatewayCore
import Invoicing

extension Customer {
    /// Why a letter cannot reach this customer by post (central print, D13), or nil when the
    /// address is complete: the same check resolution makes.
    public var postalAddressProblem: String? {
        MethodResolver.postalProblem(MethodResolver.party(self, label: "customer \(customerNumber)"))
    }
}

/// An e-mail address as SMTP takes it: one `local@domain`, printable ASCII on the left, a
/// domain of labels with a dot. Stricter than RFC 5321 on purpose: anything odd is a reason
/// to ask, not an attempt that bounces.
public enum EmailAddress {
    public static func isValid(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, address.utf8.count <= 254 else { return false }
        let local = parts[0], domain = parts[1]
        guard (1...64).contains(local.utf8.count), !local.hasPrefix("."), !local.hasSuffix("."), !local.contains(".."),
              local.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && !"()<>[]:;@\\,\"".unicodeScalars.contains($0) }) else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }
        }
    }
}
