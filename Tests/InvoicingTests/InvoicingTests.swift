import Foundation
import GatewayCore
import Invoicing
import Testing

let client = ClientProfile(id: "test", name: "Test AB", organisationNumber: "556000-0001",
                           address: PostalAddress(city: "Göteborg", country: "SE"), bankgiro: "5050-1055")
let now = Instant.parse("2026-11-25T10:00:00+01:00")!
let today = CivilDate("2026-11-25")!

func order(_ lines: [OrderLine], prepaid: Bool = false) -> Order {
    Order(orderNumber: "1", customerNumber: "K1", status: .completed, orderDate: today,
          completedAt: Instant.parse("2026-11-24T10:00:00+01:00"), prepaid: prepaid, lines: lines)
}

func line(_ price: String, _ quantity: String = "1", vat: VATRate = .twentyFive, discount: String? = nil, article: String = "A") -> OrderLine {
    OrderLine(articleNumber: article, description: "x", quantity: Decimal(exactly: Substring(quantity))!, unitPrice: Decimal(exactly: Substring(price))!,
              vatRate: vat, discountPercent: discount.map { Decimal(exactly: Substring($0))! })
}

@Suite struct OCRTests {
    @Test func luhnCheckDigit() {
        #expect(OCR.luhnCheckDigit("123456789") == 7)
        #expect(OCR.reference(for: "123456789", lengthDigit: false) == "1234567897")
        #expect(OCR.isValid("1234567897"))
        #expect(!OCR.isValid("1234567898"))
    }

    @Test func lengthDigitCountsTheWholeReference() {
        let reference = OCR.reference(for: "1001", lengthDigit: true)
        #expect(reference.count == 6)
        #expect(reference.dropLast().last == "6")
        #expect(OCR.isValid(reference))
    }
}

@Suite struct AmountRules {
    @Test func lineAmountsRoundToOreAndDiscountsApply() {
        let l = InvoiceCalculator.line(position: 1, from: line("149.90", "2.5", vat: .twelve, discount: "10"))
        #expect(l.grossAmount == Decimal(exactly: "374.75")!)
        #expect(l.discountAmount == Decimal(exactly: "37.48")!)
        #expect(l.net == Decimal(exactly: "337.27")!)
    }

    @Test func vatIsComputedPerRateOnTheRateSum() {
        // Three lines of 0.10 at 25 %: per line VAT would round to 0.03 each (0.09); EN 16931 gives 0.08.
        let lines = (1...3).map { InvoiceCalculator.line(position: $0, from: line("0.10")) }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: false, prepaid: false)
        #expect(totals.vat == Decimal(exactly: "0.08")!)
    }

    @Test func severalRatesGiveOneSubtotalEach() {
        let lines = [line("100"), line("100", vat: .twelve), line("100", vat: .six), line("100", vat: .zero)]
            .enumerated().map { InvoiceCalculator.line(position: $0.offset + 1, from: $0.element) }
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: false, prepaid: false)
        #expect(totals.vatBreakdown.map(\.rate) == [.twentyFive, .twelve, .six, .zero])
        #expect(totals.vat == 43)
        #expect(totals.payable == 443)
    }

    @Test func oresavrundningRoundsThePayableAndShowsTheRounding() {
        let lines = [InvoiceCalculator.line(position: 1, from: line("10.35"))]
        let totals = InvoiceCalculator.totals(lines: lines, roundToWholeKronor: true, prepaid: false)
        #expect(totals.gross == Decimal(exactly: "12.94")!)
        #expect(totals.payable == 13)
        #expect(totals.rounding == Decimal(exactly: "0.06")!)
    }
}

@Suite struct InvoiceRules {
    let customer = Customer(customerNumber: "K1", kind: .organisation, name: "Kund AB")

    @Test func m1PrepaidOrderIsMarkedPaidWithNothingToPay() {
        let invoice = InvoiceFactory(client: client).invoice(for: order([line("100")], prepaid: true), customer: customer, number: "1001", at: now)
        #expect(invoice.status == .paid)
        #expect(invoice.totals.payable == 0)
        #expect(invoice.totals.prepaid == 125)
    }

    @Test func s1SettingsResolveInvoiceOverCustomerOverClient() {
        let resolved = ResolvedSettings.resolve(invoice: InvoiceSettings(format: .svefaktura),
                                                customer: InvoiceSettings(format: .pdf, termsOfPaymentDays: 10),
                                                client: InvoiceSettings(distributionMethod: .email, termsOfPaymentDays: 30))
        #expect(resolved.format == .svefaktura)
        #expect(resolved.termsOfPaymentDays == 10)
        #expect(resolved.distributionMethod == .email)
        #expect(resolved.review == .noReview)
    }

    @Test func s5ReviewSettingHoldsTheInvoice() {
        var reviewed = customer
        reviewed.invoiceSettings = InvoiceSettings(review: .review)
        let invoice = InvoiceFactory(client: client).invoice(for: order([line("100")]), customer: reviewed, number: "1001", at: now)
        #expect(invoice.status == .review)
    }

    @Test func dueDateFollowsTheTermsOfPayment() {
        var c = customer
        c.invoiceSettings = InvoiceSettings(termsOfPaymentDays: 10)
        let invoice = InvoiceFactory(client: client).invoice(for: order([line("100")]), customer: c, number: "1001", at: now)
        #expect(invoice.dueDate.description == "2026-12-05")
        #expect(OCR.isValid(invoice.ocr))
    }

    @Test func s6CreditInvoiceIsAlwaysForReviewAndUsesTheOriginalPrices() throws {
        let factory = InvoiceFactory(client: client)
        let original = factory.invoice(for: order([line("100", "3", discount: "10", article: "A"), line("50", article: "B")]),
                                       customer: customer, number: "1001", at: now)
        let returned = ReturnOrder(returnNumber: "R1", orderNumber: "1", completedAt: Date(), lines: [ReturnLine(articleNumber: "A", quantity: 2)])
        let credit = try factory.creditInvoice(for: returned, original: original, alreadyReturned: [:], number: "1002", at: now)
        #expect(credit.kind == .credit)
        #expect(credit.status == .review)
        #expect(credit.creditedInvoiceNumber == "1001")
        #expect(credit.lines[0].net == 180)
    }

    @Test func aReturnCannotExceedWhatWasInvoiced() {
        let factory = InvoiceFactory(client: client)
        let original = factory.invoice(for: order([line("100", "3")]), customer: customer, number: "1001", at: now)
        let returned = ReturnOrder(returnNumber: "R1", orderNumber: "1", completedAt: Date(), lines: [ReturnLine(articleNumber: "A", quantity: 2)])
        #expect(throws: InvoicingRefusal.self) {
            try factory.creditInvoice(for: returned, original: original, alreadyReturned: [DeliveredArticle(orderNumber: nil, articleNumber: "A"): 2], number: "1002", at: now)
        }
    }

    @Test func m7InvoiceAfterTheDesiredDeliveryDate() {
        var o = order([line("100")])
        o.desiredDeliveryDate = today
        var settings = ResolvedSettings.resolve(customer: nil, client: client.defaults)
        #expect(InvoiceFactory(client: client).isDue(o, settings: settings, today: today))
        settings.invoiceAfterDesiredDeliveryDate = true
        #expect(!InvoiceFactory(client: client).isDue(o, settings: settings, today: today))
        #expect(InvoiceFactory(client: client).isDue(o, settings: settings, today: today.adding(days: 1)))
    }
}

@Suite struct RecipientRules {
    @Test func aPeppolAddressIsThePeppolIDOrAnOrganisationNumberNeverAnEmail() {
        var person = Customer(customerNumber: "P1", kind: .person, name: "Ann", organisationNumber: "19121212-1212", email: "ann@example.se")
        #expect(person.electronicAddress == nil)   // EM is no longer a Peppol scheme
        person.peppolId = "0007:1212121212"
        #expect(person.electronicAddress?.description == "0007:1212121212")
        let organisation = Customer(customerNumber: "K1", kind: .organisation, name: "AB", organisationNumber: "556677-8899")
        #expect(organisation.electronicAddress?.description == "0007:5566778899")
    }
}

@Suite struct AmountLimitTests {
    let factory = InvoiceFactory(client: client)

    @Test func aLineOrTotalPastTwelveDigitsIsNamed() {
        // The largest quantity and price intake allows would make 1.25 × 10^21 SEK.
        let huge = factory.amountOverLimit(order([line("999999999999.9999", "999999999.999")]))
        #expect(huge?.field == "lines[0]")
        #expect(huge.map { $0.amount > InvoiceFactory.amountLimit } == true)
        // Each line fits, the total with VAT does not.
        let total = factory.amountOverLimit(order([line("500000000000"), line("400000000000")]))
        #expect(total?.field == "lines")
        #expect(factory.amountOverLimit(order([line("799999999999.00")])) == nil)
        #expect(factory.amountOverLimit(order([line("89.00", "12")])) == nil)
    }
}

@Suite struct BankingCalendarTests {
    @Test func swedishBankHolidaysAndWeekendsAreNotBankingDays() {
        let holidays2026 = BankingCalendar.holidays(in: 2026).map(\.description).sorted()
        #expect(holidays2026 == ["2026-01-01", "2026-01-06", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14", "2026-06-06",
                                 "2026-06-19", "2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31"])
        #expect(BankingCalendar.holidays(in: 2027).contains(CivilDate("2027-03-26")!))   // Good Friday 2027
        #expect(BankingCalendar.holidays(in: 2027).contains(CivilDate("2027-06-25")!))   // Midsummer Eve 2027
    }

    @Test func aPaymentDateMovesToTheNextBankingDay() {
        let next = { (date: String) in BankingCalendar.onOrAfter(CivilDate(date)!).description }
        #expect(next("2026-11-25") == "2026-11-25")   // a Wednesday
        #expect(next("2026-11-28") == "2026-11-30")   // Saturday → Monday
        #expect(next("2026-12-24") == "2026-12-28")   // Christmas Eve, Christmas Day, the weekend
        #expect(next("2026-12-31") == "2027-01-04")   // New Year's Eve, New Year's Day, the weekend
        #expect(next("2026-04-03") == "2026-04-07")   // Good Friday to after Easter Monday
        #expect(next("2026-06-19") == "2026-06-22")   // Midsummer Eve
    }
}
