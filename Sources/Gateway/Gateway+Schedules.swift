import Foundation
import GatewayCore
import Invoicing
import Ledger

/// Deliveries that are completed but not invoiced yet, per customer, and when they will be.
public struct WaitingDeliveries: Sendable, Hashable {
    public var customerNumber: String
    public var orderNumbers: [String]
    /// The next cut-off that collects them (M2), when the customer is invoiced collectively.
    public var nextCutOff: Date?
    /// Why they wait and until when, in words (M2, M6, M7).
    public var reason: String
}

/// A collective customer's schedule as `gateway schedule show` prints it.
public struct CustomerSchedule: Sendable {
    public var customer: Customer
    public var schedule: CollectiveSchedule
    /// M6: who pays, when it is another customer, and whether that customer is known.
    public var payingCustomerNumber: String?
    public var payingCustomerKnown: Bool
    public var lastCutOff: Date?
    public var next: [Date]
    /// Listed days the months of `next` lack, which the schedule skips (days-of-month).
    public var skippedDays: [(year: Int, month: Int, day: Int)]
    public var waitingOrders: [String]
}

public enum ScheduleLookupError: Error, CustomStringConvertible {
    case unknownCustomer(String)
    case notCollective(String, InvoicingModel.Model)

    public var description: String {
        switch self {
        case .unknownCustomer(let number): "there is no customer \(number) (its customer document has not arrived)"
        case .notCollective(let number, let model):
            "customer \(number) is invoiced by the \(model.rawValue) model, one invoice per order (rule M1); it has no collective schedule"
        }
    }
}

extension Gateway {
    /// The coming cut-offs of a collective customer (M2–M5).
    public func schedule(of customerNumber: String, next count: Int) throws -> CustomerSchedule {
        let factory = InvoiceFactory(client: configuration.client)
        let now = clock.now
        return try ledger.read { tx in
            guard let customer = try tx.customer(customerNumber) else { throw ScheduleLookupError.unknownCustomer(customerNumber) }
            let model = factory.settings(for: customer).invoicingModel
            guard let schedule = CollectiveSchedule(model, timeZone: factory.timeZone) else {
                throw ScheduleLookupError.notCollective(customerNumber, model.model)
            }
            let last = try tx.lastCutOff(customerNumber: customerNumber)
            let next = schedule.next(after: max(now, last ?? now), count: count)
            let payer = model.model == .collectiveOtherCustomer ? model.payingCustomerNumber : nil
            let today = CivilDate(now, in: factory.timeZone)
            let skipped = next.last.map { schedule.skippedDays(from: today, through: CivilDate($0, in: factory.timeZone)) } ?? []
            return CustomerSchedule(customer: customer, schedule: schedule, payingCustomerNumber: payer,
                                    payingCustomerKnown: try payer.map { try tx.customer($0) != nil } ?? true, lastCutOff: last,
                                    next: next, skippedDays: skipped,
                                    waitingOrders: try tx.uninvoicedCompletedOrders(customerNumber: customerNumber).map(\.orderNumber))
        }
    }

    /// Completed deliveries of known customers that wait for a cut-off, a paying customer or a
    /// desired delivery date, per customer (those waiting for their own customer are listed apart).
    func waitingDeliveries(_ tx: any LedgerTransaction) throws -> [WaitingDeliveries] {
        let making = InvoiceMaking(factory: InvoiceFactory(client: configuration.client), routing: routing, now: clock.now)
        var result: [WaitingDeliveries] = []
        for number in try tx.customersWithUninvoicedOrders() {
            guard let customer = try tx.customer(number) else { continue }
            let orders = try tx.uninvoicedCompletedOrders(customerNumber: number)
            guard let first = orders.first else { continue }
            let settings = making.factory.settings(for: customer)
            let schedule = CollectiveSchedule(settings.invoicingModel, timeZone: making.factory.timeZone)
            let next = try schedule?.firstCutOff(notBefore: clock.now, after: tx.lastCutOff(customerNumber: number))
            let reason = schedule == nil || orders.count == 1
                ? try making.whenInvoiced(first, customer: customer, tx)
                : "collected for the collective invoice at the cut-off \(next.map { Instant.wallClock($0, making.factory.timeZone) } ?? "-") (rule M2)"
            result.append(WaitingDeliveries(customerNumber: number, orderNumbers: orders.map(\.orderNumber), nextCutOff: next, reason: reason))
        }
        return result
    }
}
