import Foundation
import Distribution
import GatewayCore
import Invoicing

/// One invoice e-mail as MIME bytes (RFC 5322, 2045–2047): plain text and HTML alternatives,
/// the PDF and any XML attached. The bytes are what the relay gets and what the home keeps.
public struct EmailMessage: Sendable {
    public struct Attachment: Sendable {
        public var fileName: String
        public var contentType: String
        public var bytes: [UInt8]
        public init(fileName: String, contentType: String, bytes: [UInt8]) {
            self.fileName = fileName
            self.contentType = contentType
            self.bytes = bytes
        }
    }

    public var fromName: String
    public var fromAddress: String
    public var to: String
    public var replyTo: String?
    public var subject: String
    public var text: String
    public var date: Date
    public var timeZone: TimeZone
    /// Unique per invoice and stable, so a message rendered again after a crash is the same message.
    public var messageID: String
    public var attachments: [Attachment]

    /// The invoice e-mail: subject and text from the template, the PDF (and XML) attached.
    /// With `reminder`, the reminder e-mail for the invoice: its own texts, the amount and date
    /// it asks for, and a Message-ID of its own per reminder.
    public static func invoice(_ invoice: Invoice, client: ClientProfile, template: InvoiceTemplate, fromName: String, fromAddress: String,
                               replyTo: String?, to: String, attachments: [Attachment], reminder: ReminderNotice? = nil,
                               date: Date? = nil) -> EmailMessage {
        let credit = invoice.kind == .credit
        let amount = reminder?.amountDue(invoice) ?? invoice.totals.payable
        let values = ["number": invoice.number, "client": client.name, "amount": template.amount(amount),
                      "currency": invoice.currency, "dueDate": (reminder?.newDueDate ?? invoice.dueDate).description, "ocr": invoice.ocr,
                      "bankgiro": client.bankgiro ?? client.plusgiro ?? client.iban ?? "", "credited": invoice.creditedInvoiceNumber ?? ""]
        let domain = fromAddress.split(separator: "@").last.map(String.init) ?? "gateway.invalid"
        let uid = stableDigits("\(client.id)|\(client.numberSeries.name)|\(invoice.number)")
        let kind = reminder == nil ? (credit ? "credit" : "") : "reminder"
        let localPart = reminder.map { "reminder-\(invoice.number)-\($0.sequence)" } ?? "invoice-\(invoice.number)"
        return EmailMessage(fromName: fromName, fromAddress: fromAddress, to: to, replyTo: replyTo,
                            subject: template.text(kind.isEmpty ? "emailSubject" : kind + "EmailSubject", values),
                            text: template.text(kind.isEmpty ? "emailBody" : kind + "EmailBody", values),
                            date: date ?? invoice.createdAt, timeZone: client.timeZone,
                            messageID: "<\(localPart).\(uid)@\(domain)>", attachments: attachments)
    }

    /// FNV-1a of the text as 16 hex digits: enough to keep message ids and boundaries apart.
    static func stableDigits(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public var bytes: [UInt8] {
        let boundary = "=_gateway_" + Self.stableDigits(messageID)
        var lines: [String] = []
        lines.append("From: \(Self.encodedWord(fromName)) <\(fromAddress)>")
        lines.append("To: <\(to)>")
        if let replyTo { lines.append("Reply-To: <\(replyTo)>") }
        lines.append("Subject: \(Self.encodedWord(subject))")
        lines.append("Date: \(Self.rfc5322(date, in: timeZone))")
        lines.append("Message-ID: \(messageID)")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: multipart/mixed; boundary=\"\(boundary)-mixed\"")
        lines.append("")
        lines.append("--\(boundary)-mixed")
        lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)-alt\"")
        lines.append("")
        lines.append("--\(boundary)-alt")
        lines += Self.part(contentType: "text/plain; charset=utf-8", bytes: Array(text.utf8))
        lines.append("--\(boundary)-alt")
        lines += Self.part(contentType: "text/html; charset=utf-8", bytes: Array(html.utf8))
        lines.append("--\(boundary)-alt--")
        for attachment in attachments {
            lines.append("--\(boundary)-mixed")
            lines += Self.part(contentType: "\(attachment.contentType); name=\"\(attachment.fileName)\"", bytes: attachment.bytes,
                               disposition: "attachment; filename=\"\(attachment.fileName)\"")
        }
        lines.append("--\(boundary)-mixed--")
        lines.append("")
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// The text as HTML: its paragraphs, with line breaks kept.
    var html: String {
        let paragraphs = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").map { paragraph in
            "<p>" + Self.escaped(paragraph.trimmingCharacters(in: .newlines)).replacingOccurrences(of: "\n", with: "<br>\n") + "</p>"
        }
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>\(Self.escaped(subject))</title></head>\n"
            + "<body style=\"font-family: sans-serif\">\n" + paragraphs.joined(separator: "\n") + "\n</body></html>\n"
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func part(contentType: String, bytes: [UInt8], disposition: String? = nil) -> [String] {
        var lines = ["Content-Type: \(contentType)", "Content-Transfer-Encoding: base64"]
        if let disposition { lines.append("Content-Disposition: \(disposition)") }
        lines.append("")
        let encoded = Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        lines.append(encoded)
        return lines
    }

    /// RFC 2047: text that is not plain ASCII goes as UTF-8 base64 encoded-words of at most 75 characters.
    static func encodedWord(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) else { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    static func rfc5322(_ date: Date, in timeZone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}
