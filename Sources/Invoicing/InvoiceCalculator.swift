import Foundation
import GatewayCore

/// Amounts of an invoice, by the rules EN 16931 uses and Swedish invoices follow:
/// line amounts rounded to öre, VAT per rate on that rate's sum of line amounts, and the
/// amount to pay optionally rounded to whole kronor with the rounding shown.
public enum InvoiceCalculator {
    public static func line(position: Int, from order: OrderLine, quantity: Decimal? = nil) -> InvoiceLine {
        let quantity = quantity ?? order.quantity
        let gross = (quantity * order.unitPrice).roundedToOre
        let discount = ((gross * (order.discountPercent ?? 0)) / 100).roundedToOre
        return InvoiceLine(position: position, articleNumber: order.articleNumber, description: order.description,
                           quantity: quantity, unit: order.unit, unitPrice: order.unitPrice,
                           discountPercent: order.discountPercent, vatRate: order.vatRate,
                           grossAmount: gross, discountAmount: discount, net: gross - discount)
    }

    public static func totals(lines: [InvoiceLine], roundToWholeKronor: Bool, prepaid: Bool) -> InvoiceTotals {
        var byRate: [VATRate: Decimal] = [:]
        for line in lines { byRate[line.vatRate, default: 0] += line.net }
        let breakdown = byRate.keys.sorted(by: >).map { rate in
            VATSubtotal(rate: rate, taxable: byRate[rate]!, amount: (byRate[rate]! * rate.percent / 100).roundedToOre)
        }
        let net = breakdown.reduce(Decimal(0)) { $0 + $1.taxable }
        let vat = breakdown.reduce(Decimal(0)) { $0 + $1.amount }
        let gross = net + vat
        let due = roundToWholeKronor ? gross.rounded(scale: 0) : gross
        let rounding = due - gross
        // M1: a prepaid order's invoice is already paid in full; nothing is left to pay.
        let prepaidAmount = prepaid ? due : 0
        return InvoiceTotals(net: net, vat: vat, gross: gross, rounding: rounding, prepaid: prepaidAmount,
                             payable: due - prepaidAmount, vatBreakdown: breakdown)
    }
}
