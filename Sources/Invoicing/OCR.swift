/// OCR payment references with a Luhn (mod 10) check digit, as Bankgirot and Plusgirot read them.
public enum OCR {
    /// The check digit for `digits` by the Luhn algorithm, weights 2,1,2,1... from the right.
    public static func luhnCheckDigit(_ digits: String) -> Int {
        var sum = 0
        for (position, character) in digits.reversed().enumerated() {
            var value = character.wholeNumberValue ?? 0
            if position % 2 == 0 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return (10 - sum % 10) % 10
    }

    /// An OCR reference from the digits of `base` (an invoice number), with an optional
    /// length digit (the total length mod 10, counted with both added digits) and the check digit.
    public static func reference(for base: String, lengthDigit: Bool) -> String {
        var digits = base.filter { $0.isASCII && $0.isNumber }
        if digits.isEmpty { digits = "0" }
        if lengthDigit { digits += String((digits.count + 2) % 10) }
        return digits + String(luhnCheckDigit(digits))
    }

    public static func isValid(_ reference: String) -> Bool {
        guard reference.count >= 2, reference.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return luhnCheckDigit(String(reference.dropLast())) == reference.last!.wholeNumberValue!
    }
}
