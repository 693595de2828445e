import Foundation
import GatewayCore

/// D14: e-mail and central-print sends wait the client's undo time before they leave, so a
/// credit inside it cancels the send and nothing reaches the customer. The window is counted
/// from the moment the invoice became `waiting`, on the injected clock.
public struct UndoWindow: Sendable, Hashable {
    /// The client's minimum undo time; 0 turns the hold off.
    public var minutes: Int

    public init(minutes: Int = 5) {
        self.minutes = minutes
    }

    /// The methods whose sends are held; the others leave at once.
    public static let heldMethods: Set<DistributionMethod> = [.email, .centralPrint]

    /// When a send by `method` that began at `waitingSince` may leave, or nil when it is not held.
    public func releaseTime(method: DistributionMethod, waitingSince: Date) -> Date? {
        guard minutes > 0, Self.heldMethods.contains(method) else { return nil }
        return waitingSince.addingTimeInterval(TimeInterval(minutes * 60))
    }

    /// Whether the send must still wait at `now`: the window is open until its last instant.
    public func holds(method: DistributionMethod, waitingSince: Date, now: Date) -> Bool {
        guard let release = releaseTime(method: method, waitingSince: waitingSince) else { return false }
        return now < release
    }

    /// Whether a credit at `now` cancels the send instead of following it (D14).
    public func canUndo(method: DistributionMethod, waitingSince: Date, now: Date) -> Bool {
        holds(method: method, waitingSince: waitingSince, now: now)
    }
}
