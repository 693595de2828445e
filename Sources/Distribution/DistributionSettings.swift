import GatewayCore
import Invoicing

/// `distribution:` in gateway.yml: which methods the client has active, its reserve, the undo
/// time and the reminder rules (D2, D6, D12–D14).
public struct DistributionSettings: Sendable, Hashable {
    /// The methods the client listed, or nil when it listed none: then every method whose
    /// transport is set up is active, except export.
    public var activeMethods: Set<DistributionMethod>?
    public var reserveMethod: DistributionMethod?
    public var undo = UndoWindow()
    public var reminders = ReminderPolicy()

    public init(activeMethods: Set<DistributionMethod>? = nil, reserveMethod: DistributionMethod? = nil,
                undo: UndoWindow = UndoWindow(), reminders: ReminderPolicy = ReminderPolicy()) {
        self.activeMethods = activeMethods
        self.reserveMethod = reserveMethod
        self.undo = undo
        self.reminders = reminders
    }

    /// Why these settings cannot run, or nil. `transportProblem` says why a method has no
    /// transport set up (nil when it has one).
    public func problem(transportProblem: (DistributionMethod) -> String?) -> (key: String, expected: String, found: String)? {
        if let listed = activeMethods {
            // D1: invoice export is never combined with another method.
            if listed.contains(.export), listed.count > 1 {
                return ("distribution.activeMethods", "export alone, or methods without export: invoice export is never combined with another method (rule D1)",
                        listed.map(\.rawValue).sorted().joined(separator: ", "))
            }
            for method in listed.sorted(by: { $0.rawValue < $1.rawValue }) {
                if let missing = transportProblem(method) {
                    return ("distribution.activeMethods", "methods whose transport is set up: \(method.rawValue) needs \(missing)", method.rawValue)
                }
            }
        }
        if let reserve = reserveMethod {
            if reserve == .export {
                return ("distribution.reserveMethod", "a method other than export (rule D1)", reserve.rawValue)
            }
            if let listed = activeMethods, !listed.contains(reserve) {
                return ("distribution.reserveMethod", "one of the active methods (\(listed.map(\.rawValue).sorted().joined(separator: ", ")))", reserve.rawValue)
            }
            if let missing = transportProblem(reserve) {
                return ("distribution.reserveMethod", "a method whose transport is set up: \(reserve.rawValue) needs \(missing)", reserve.rawValue)
            }
        }
        if let fee = ReminderPolicy.feeProblem(reminders.fee) {
            return ("distribution.reminders.fee", fee, reminders.fee.plainText)
        }
        return nil
    }

    /// The policy resolution applies: the listed methods, or every method with a transport
    /// except export.
    public func policy(defaultMethod: DistributionMethod, transportProblem: (DistributionMethod) -> String?) -> DistributionPolicy {
        let active = activeMethods ?? Set(DistributionMethod.allCases.filter { $0 != .export && transportProblem($0) == nil })
        return DistributionPolicy(activeMethods: active, defaultMethod: defaultMethod, reserveMethod: reserveMethod)
    }
}
