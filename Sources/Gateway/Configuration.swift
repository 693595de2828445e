import Delivery
import Distribution
import Foundation
import GatewayCore
import Intake
import Invoicing
import PDFRendering
import Rendering
import Yams

/// A setting that is missing or wrong, with the file, the key and what is expected.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let key: String?
    public let expected: String
    public let found: String?
    public var description: String {
        "\(file): " + (key.map { "\($0): " } ?? "") + "expected \(expected)" + (found.map { ", found \($0)" } ?? "")
    }
}

/// `gateway.yml`: the client, its defaults, where schemas are and which outbox folder each
/// distribution method fills.
public struct GatewayConfiguration: Sendable {
    public var client: ClientProfile
    /// Schema set name (as mappings name it) → folder, absolute or relative to the home.
    public var schemaFolders: [String: String]
    /// Distribution method or system (fortnox, fortnox-finans, inexchange) → folder under `outbox/`.
    public var outboxFolders: [String: String]
    public var ledgerPath: String
    /// The site's constants that mappings read as `settings.*` (SAP ports, Oracle batch source...).
    public var mappingValues: [String: String]
    /// SFTP destinations by name (21grams, pagero, ...).
    public var destinations: [String: DestinationSettings]
    /// Local or mounted directories fed by an outbox folder (`folders:`), by name.
    public var folders: [String: FolderDestination] = [:]
    /// How long a command that changes the home waits for another one to finish.
    public var lockWait: Duration = .seconds(30)
    /// The client's logo (PNG), relative to the home or absolute; drawn on its PDF invoices.
    public var logoPath: String?
    /// The template (in `templates/`) a PDF invoice is drawn with unless the customer names one.
    public var pdfTemplate = "standard"
    /// The print house's package: what goes beside each PDF in `outbox/21grams/`.
    public var printPackage = PrintPackageLayout()
    /// How invoice e-mail is sent (`email:`); nil when gateway.yml sets no relay.
    public var email: EmailSettings?
    /// The payee's Bankgirot agreement for autogiro (`autogiro:`).
    public var autogiro: AutogiroSettings?
    /// The CUPS queue own-printer invoices print on (`printing: {printer: NAME}`); without one
    /// their PDFs wait in outbox/print/ to be printed by hand.
    public var printer: String?
    /// `distribution:`: active methods, reserve, undo time and reminders.
    public var distribution = DistributionSettings()
    /// `service:`: how `gateway run` watches the inbox and how long it may take to stop.
    public var service = ServiceSettings()

    public static let fileName = "gateway.yml"

    /// Whether a file is delivered by being written to this outbox folder: the export folder an
    /// ERP reads, print/ while no printer is set, autogiro/ while no destination takes its files
    /// to the bank. Every other folder waits for its transport (SFTP, SMTP).
    public func isDeliveredByWriting(folder: String) -> Bool {
        let collected = (printer == nil ? [DistributionMethod.ownPrinter, .export, .autogiro] : [.export, .autogiro])
            .compactMap { outboxFolders[$0.rawValue] }
        return collected.contains(folder) && !destinations.values.contains { $0.outboxFolder == folder }
            && !folders.values.contains { $0.outboxFolder == folder }
    }

    /// Why an unserved folder is the end of the road, for the invoice's history.
    func unservedNote(folder: String) -> String {
        switch folder {
        case outboxFolders[DistributionMethod.ownPrinter.rawValue]: "no printer is set, so the PDF waits there to be printed"
        case outboxFolders[DistributionMethod.export.rawValue]: "the finance system collects it there"
        default: "it is collected from there"
        }
    }

    /// What a method lacks to be delivered, or nil when its transport is set up. E-invoice,
    /// own-printer and export files are delivered by their outbox folder when nothing else is
    /// set (collected there, or printed by hand); e-mail needs a relay, central print a
    /// destination for its folder, autogiro the payee's agreement.
    public func transportProblem(_ method: DistributionMethod) -> String? {
        switch method {
        case .email:
            return email == nil ? "an SMTP relay (email: in gateway.yml)" : nil
        case .centralPrint:
            let folder = outboxFolders[method.rawValue] ?? method.rawValue
            let served = destinations.values.contains { $0.outboxFolder == folder } || folders.values.contains { $0.outboxFolder == folder }
            return served ? nil : "an SFTP destination (destinations:, or a folder under folders:) fed by outbox/\(folder)"
        case .autogiro:
            return autogiro == nil ? "the payee's Bankgirot agreement (autogiro: in gateway.yml)" : nil
        case .eInvoice, .ownPrinter, .export:
            return nil
        }
    }

    /// The rules resolution applies (D2, D12, D13).
    public var distributionPolicy: DistributionPolicy {
        distribution.policy(defaultMethod: client.defaults.distributionMethod ?? ClientProfile.builtInDefaults.distributionMethod!,
                            transportProblem: transportProblem)
    }

    public static func load(home: URL) throws(ConfigurationError) -> GatewayConfiguration {
        let url = home.appendingPathComponent(fileName)
        let file = url.path
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ConfigurationError(file: file, key: nil, expected: "a readable gateway.yml in the gateway home (copy the repository's gateway.yml and mappings/ into it, or name the home with --home or GATEWAY_HOME)", found: nil)
        }
        return try parse(text, file: file, home: home)
    }

    public static func parse(_ text: String, file: String, home: URL) throws(ConfigurationError) -> GatewayConfiguration {
        let root: JSONValue
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: file, key: nil, expected: "settings", found: "an empty file")
            }
            root = json(node)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: file, key: nil, expected: "valid YAML", found: "\(error)")
        }
        do throws(DocumentRefusal) {
            guard case .object(let members) = root else {
                throw DocumentRefusal(field: nil, expected: "keys client, schemas, outbox", found: root.typeWord)
            }
            let top = Fields(members, numbersAsText: true)
            try top.allowOnly(["client", "schemas", "outbox", "ledger", "mappingValues", "destinations", "lockWaitSeconds", "pdf", "centralPrint", "email", "autogiro", "printing", "folders",
                             "distribution", "service"])
            guard let c = try top.optionalObject("client") else {
                throw DocumentRefusal(field: "client", expected: "the client's settings (name, organisationNumber, ...)", found: "nothing")
            }
            try c.allowOnly(["id", "name", "organisationNumber", "vatNumber", "address", "email", "phone", "bankgiro", "plusgiro",
                             "iban", "bic", "fTax", "timeZone", "currency", "invoiceNumbers", "ocr", "roundToWholeKronor", "defaults", "logo"])
            let name = try c.requiredText("name")
            let id = try c.optionalIdentifier("id") ?? String(name.filter { $0.isLetter || $0.isNumber }.prefix(20)).lowercased()
            var timeZone = ClientProfile.defaultTimeZone
            if let identifier = try c.optionalText("timeZone") {
                guard let zone = TimeZone(identifier: identifier) else {
                    throw DocumentRefusal(field: "client.timeZone", expected: "a time zone such as Europe/Stockholm", found: "\"\(identifier)\"")
                }
                timeZone = zone
            }
            let address = try c.optionalObject("address")
            var series = NumberSeries()
            if let n = try c.optionalObject("invoiceNumbers") {
                series = NumberSeries(name: try n.optionalIdentifier("series") ?? "default",
                                      prefix: try n.optionalText("prefix", maxLength: 10) ?? "",
                                      first: try n.optionalInteger("first", range: 1...999_999_999) ?? 1001)
                if !series.prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                    throw DocumentRefusal(field: "client.invoiceNumbers.prefix", expected: "letters and digits only", found: "\"\(series.prefix)\"")
                }
            }
            let bankgiro = try c.optionalText("bankgiro", maxLength: 12)
            let plusgiro = try c.optionalText("plusgiro", maxLength: 12)
            let iban = try c.optionalText("iban", maxLength: 34)
            if bankgiro == nil, plusgiro == nil, iban == nil {
                throw DocumentRefusal(field: "client.bankgiro", expected: "a bankgiro, plusgiro or iban to be paid to", found: "none of them")
            }
            guard let organisationNumber = try c.organisationNumber("organisationNumber") else {
                throw DocumentRefusal(field: "client.organisationNumber", expected: "the organisation number, e.g. 556000-0001", found: "nothing")
            }
            let client = ClientProfile(
                id: id, name: name,
                organisationNumber: organisationNumber,
                vatNumber: try c.optionalText("vatNumber", maxLength: 20),
                address: PostalAddress(street: try address?.optionalText("street"), postalCode: try address?.optionalText("postalCode"),
                                       city: try address?.optionalText("city"), country: try address?.countryCode("country") ?? "SE"),
                email: try c.email("email"), phone: try c.optionalText("phone", maxLength: 30),
                bankgiro: bankgiro, plusgiro: plusgiro, iban: iban, bic: try c.optionalText("bic", maxLength: 11),
                approvedForFTax: try c.optionalBool("fTax") ?? true, timeZone: timeZone,
                currency: try c.currency("currency") ?? "SEK", numberSeries: series,
                ocr: OCRSettings(lengthDigit: try c.optionalObject("ocr")?.optionalBool("lengthDigit") ?? false),
                roundToWholeKronor: try c.optionalBool("roundToWholeKronor") ?? true,
                defaults: try c.optionalObject("defaults").map { (d: Fields) throws(DocumentRefusal) in try DocumentReader().readSettings(d) }
                    ?? ClientProfile.builtInDefaults)
            var schemas: [String: String] = [:]
            if let s = try top.optionalObject("schemas") {
                for key in s.keys {
                    guard let folder = try s.optionalText(key, maxLength: 1000) else { continue }
                    let resolved = folder.hasPrefix("/") ? folder : home.appendingPathComponent(folder).standardized.path
                    guard FileManager.default.fileExists(atPath: resolved) else {
                        throw DocumentRefusal(field: "schemas.\(key)", expected: "an existing folder of XSD files", found: "\"\(folder)\" (\(resolved) does not exist)")
                    }
                    schemas[key] = resolved
                }
            }
            var outbox = [
                "e-invoice": "pagero", "central-print": "21grams", "email": "email", "own-printer": "print", "export": "export",
                "autogiro": "autogiro", "fortnox": "fortnox", "fortnox-finans": "fortnox-finans", "inexchange": "inexchange",
            ]
            if let o = try top.optionalObject("outbox") {
                for key in o.keys {
                    guard outbox[key] != nil else {
                        throw DocumentRefusal(field: "outbox.\(key)", expected: "a distribution method or system: " + outbox.keys.sorted().joined(separator: ", "), found: nil)
                    }
                    outbox[key] = try o.requiredIdentifier(key)
                }
            }
            var mappingValues: [String: String] = [:]
            if let m = try top.optionalObject("mappingValues") {
                for key in m.keys { mappingValues[key] = try m.optionalText(key, maxLength: 200) ?? "" }
            }
            var destinations: [String: DestinationSettings] = [:]
            if let d = try top.optionalObject("destinations") {
                for key in d.keys {
                    guard let settings = try d.optionalObject(key) else { continue }
                    destinations[key] = try DestinationSettings.read(key, settings, home: home)
                }
            }
            var folders: [String: FolderDestination] = [:]
            if let d = try top.optionalObject("folders") {
                for key in d.keys {
                    guard let settings = try d.optionalObject(key) else { continue }
                    if destinations[key] != nil {
                        throw DocumentRefusal(field: "folders.\(key)", expected: "a name no SFTP destination has", found: "\"\(key)\", also under destinations:")
                    }
                    folders[key] = try FolderDestination.read(key, settings, home: home)
                }
            }
            let ledger = try top.optionalText("ledger", maxLength: 1000) ?? "ledger.sqlite"
            var configuration = GatewayConfiguration(client: client, schemaFolders: schemas, outboxFolders: outbox,
                                                     ledgerPath: ledger.hasPrefix("/") ? ledger : home.appendingPathComponent(ledger).path,
                                                     mappingValues: mappingValues, destinations: destinations)
            configuration.folders = folders
            if let seconds = try top.optionalInteger("lockWaitSeconds", range: 0...3600) { configuration.lockWait = .seconds(seconds) }
            if let logo = try c.optionalText("logo", maxLength: 1000) {
                let resolved = logo.hasPrefix("/") ? logo : home.appendingPathComponent(logo).path
                guard FileManager.default.isReadableFile(atPath: resolved) else {
                    throw DocumentRefusal(field: "client.logo", expected: "a readable PNG file", found: "\"\(logo)\" (\(resolved) cannot be read)")
                }
                configuration.logoPath = resolved
            }
            if let service = try top.optionalObject("service") {
                try service.allowOnly(["watch", "pollSeconds", "stopSeconds", "duePollSeconds", "remindAt", "http"])
                if let text = try service.optionalText("http", maxLength: 60) {
                    guard let address = ServiceSettings.HTTPAddress(text) else {
                        throw DocumentRefusal(field: "service.http", expected: "a loopback address and port, such as 127.0.0.1:9464 or [::1]:9464 "
                                              + "(the endpoint has no log-in: put a proxy in front to reach it from elsewhere)", found: "\"\(text)\"")
                    }
                    configuration.service.http = address
                }
                if let text = try service.optionalText("remindAt", maxLength: 5) {
                    guard let time = TimeOfDay(text) else { throw DocumentRefusal(field: "service.remindAt", expected: "a time of day HH:MM", found: "\"\(text)\"") }
                    configuration.service.remindAt = time
                }
                if let watch = try service.optionalText("watch", maxLength: 20) {
                    guard let mode = ServiceSettings.Watch(rawValue: watch) else {
                        throw DocumentRefusal(field: "service.watch", expected: "inotify, or poll (for a network file system)", found: "\"\(watch)\"")
                    }
                    configuration.service.watch = mode
                }
                if let seconds = try service.optionalInteger("pollSeconds", range: 1...3600) { configuration.service.pollInterval = .seconds(seconds) }
                if let seconds = try service.optionalInteger("stopSeconds", range: 1...3600) { configuration.service.stopTimeout = .seconds(seconds) }
                if let seconds = try service.optionalInteger("duePollSeconds", range: 1...3600) { configuration.service.dueInterval = .seconds(seconds) }
            }
            if let pdf = try top.optionalObject("pdf") {
                try pdf.allowOnly(["template"])
                configuration.pdfTemplate = try pdf.optionalIdentifier("template") ?? configuration.pdfTemplate
            }
            if let printing = try top.optionalObject("printing") {
                try printing.allowOnly(["printer"])
                configuration.printer = try printing.optionalText("printer", maxLength: 127)
                if let printer = configuration.printer, !printer.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
                    throw DocumentRefusal(field: "printing.printer", expected: "a CUPS queue name (letters, digits, - _ .)", found: "\"\(printer)\"")
                }
            }
            if let autogiro = try top.optionalObject("autogiro") {
                try autogiro.allowOnly(["customerNumber", "bankgiro"])
                let number = try autogiro.requiredText("customerNumber", maxLength: 6)
                let bankgiro = try autogiro.requiredText("bankgiro", maxLength: 12)
                guard number.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw DocumentRefusal(field: "autogiro.customerNumber", expected: "Bankgirot's customer number: up to 6 digits", found: "\"\(number)\"")
                }
                guard bankgiro.filter(\.isNumber).count >= 7, bankgiro.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) else {
                    throw DocumentRefusal(field: "autogiro.bankgiro", expected: "the payee's bankgiro number, e.g. 5050-1055", found: "\"\(bankgiro)\"")
                }
                configuration.autogiro = AutogiroSettings(customerNumber: number, bankgiro: bankgiro)
            }
            if let email = try top.optionalObject("email") {
                configuration.email = try EmailSettings.read(email)
            }
            if let print = try top.optionalObject("centralPrint") {
                configuration.printPackage = try PrintPackageLayout.read(print)
            }
            if let distribution = try top.optionalObject("distribution") {
                configuration.distribution = try DistributionSettings.read(distribution)
            }
            if let problem = configuration.distribution.problem(transportProblem: configuration.transportProblem) {
                throw DocumentRefusal(field: problem.key, expected: problem.expected, found: problem.found)
            }
            return configuration
        } catch {
            throw ConfigurationError(file: file, key: error.field, expected: error.expected, found: error.found)
        }
    }

    /// YAML → JSON values, so the contract's own field checks serve for the settings too.
    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            guard scalar.style == .plain else { return .string(text) }
            if text == "~" || text == "null" || text.isEmpty { return .null }
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
            if Decimal(exactly: Substring(text)) != nil, !text.hasPrefix("0") || text == "0" || text.hasPrefix("0.") { return .number(text) }
            return .string(text)
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping { members[key.string ?? ""] = json(value) }
            return .object(members)
        case .sequence(let sequence):
            return .array(sequence.map(json))
        case .alias:
            return .null
        }
    }
}

extension DistributionSettings {
    static func read(_ f: Fields) throws(DocumentRefusal) -> DistributionSettings {
        try f.allowOnly(["activeMethods", "reserveMethod", "undoMinutes", "reminders"])
        var settings = DistributionSettings()
        if let listed = f.members["activeMethods"], listed != .null {
            guard case .array(let items) = listed else {
                throw DocumentRefusal(field: f.path("activeMethods"), expected: "a list of methods, e.g. [email, central-print]", found: listed.typeWord)
            }
            var methods: Set<DistributionMethod> = []
            for (i, item) in items.enumerated() {
                guard case .string(let name) = item, let method = DistributionMethod(rawValue: name) else {
                    throw DocumentRefusal(field: f.path("activeMethods[\(i)]"),
                                          expected: "one of " + DistributionMethod.allCases.map(\.rawValue).joined(separator: ", "), found: item.shortDescription)
                }
                methods.insert(method)
            }
            settings.activeMethods = methods
        }
        settings.reserveMethod = try f.optionalEnum("reserveMethod", DistributionMethod.self)
        if let minutes = try f.optionalInteger("undoMinutes", range: 0...1440) { settings.undo = UndoWindow(minutes: minutes) }
        if let r = try f.optionalObject("reminders") {
            try r.allowOnly(["enabled", "daysAfterDue", "fee", "feeAgreed", "newDueDays", "referenceRate", "compensation"])
            var policy = ReminderPolicy()
            policy.enabled = try r.optionalBool("enabled") ?? policy.enabled
            policy.daysAfterDue = try r.optionalInteger("daysAfterDue", range: 0...365) ?? policy.daysAfterDue
            policy.fee = try r.optionalDecimal("fee", .amount) ?? policy.fee
            policy.feeAgreedByDefault = try r.optionalBool("feeAgreed") ?? policy.feeAgreedByDefault
            policy.newDueDays = try r.optionalInteger("newDueDays", range: 1...365) ?? policy.newDueDays
            policy.referenceRate = try r.optionalDecimal("referenceRate", .percent)
            policy.chargeCompensation = try r.optionalBool("compensation") ?? policy.chargeCompensation
            settings.reminders = policy
        }
        return settings
    }
}

extension PrintPackageLayout {
    /// `centralPrint:`: what the print house (21 Grams) gets with each PDF, as its
    /// interconnect specification has it.
    static func read(_ f: Fields) throws(DocumentRefusal) -> PrintPackageLayout {
        try f.allowOnly(["duplex", "colour", "postage", "metadata", "package", "fieldNames", "xmlRoot"])
        var layout = PrintPackageLayout()
        layout.duplex = try f.optionalBool("duplex") ?? layout.duplex
        layout.colour = try f.optionalBool("colour") ?? layout.colour
        if let postage = try f.optionalText("postage", maxLength: 1) {
            guard postage == "A" || postage == "B" else {
                throw DocumentRefusal(field: f.path("postage"), expected: "A or B", found: "\"\(postage)\"")
            }
            layout.postage = postage
        }
        if let format = try f.optionalText("metadata", maxLength: 10) {
            guard let value = MetadataFormat(rawValue: format) else {
                throw DocumentRefusal(field: f.path("metadata"), expected: "json or xml", found: "\"\(format)\"")
            }
            layout.metadata = value
        }
        if let packaging = try f.optionalText("package", maxLength: 10) {
            guard let value = Packaging(rawValue: packaging) else {
                throw DocumentRefusal(field: f.path("package"), expected: "files (the PDF and the metadata side by side) or zip (one file holding both)",
                                      found: "\"\(packaging)\"")
            }
            layout.packaging = value
        }
        if let names = try f.optionalObject("fieldNames") {
            try names.allowOnly(Set(PrintPackageLayout.fields))
            var seen: [String: String] = [:]
            for key in names.keys {
                guard let name = try names.optionalText(key, maxLength: 100) else { continue }
                if let problem = PrintPackageLayout.problem(withName: name) {
                    throw DocumentRefusal(field: names.path(key), expected: "a field name", found: problem)
                }
                layout.fieldNames[key] = name
            }
            for field in PrintPackageLayout.fields {
                let name = layout.name(field)
                if let other = seen[name] {
                    throw DocumentRefusal(field: names.path(field), expected: "a name no other field has", found: "\"\(name)\", also the name of \(other)")
                }
                seen[name] = field
            }
        }
        if let root = try f.optionalText("xmlRoot", maxLength: 100) {
            if let problem = PrintPackageLayout.problem(withName: root) {
                throw DocumentRefusal(field: f.path("xmlRoot"), expected: "an XML element name", found: problem)
            }
            layout.xmlRoot = root
        }
        return layout
    }
}

/// `email:` in gateway.yml: the SMTP relay and the sender. The relay's password is named by
/// the environment variable that holds it (`passwordEnv`), never written in the file.
public struct EmailSettings: Sendable {
    public var relay: SMTPRelay
    public var passwordEnv: String?
    public var fromName: String
    public var fromAddress: String
    public var replyTo: String?
    public var retry = RetryPolicy()

    static func read(_ f: Fields) throws(DocumentRefusal) -> EmailSettings {
        try f.allowOnly(["relay", "from", "replyTo", "retry"])
        guard let r = try f.optionalObject("relay") else {
            throw DocumentRefusal(field: f.path("relay"), expected: "the SMTP relay: {host, port, security, user, passwordEnv}", found: "nothing")
        }
        try r.allowOnly(["host", "port", "security", "user", "passwordEnv", "caFile", "connectTimeout", "timeout"])
        let host = try r.requiredText("host", maxLength: 255)
        let security = try r.optionalEnum("security", SMTPRelay.Security.self) ?? .starttls
        if security == .none, !["127.0.0.1", "localhost", "::1"].contains(host) {
            throw DocumentRefusal(field: r.path("security"), expected: "starttls or tls (none only for a relay on loopback, 127.0.0.1)", found: "none for \(host)")
        }
        let port = try r.optionalInteger("port", range: 1...65535) ?? (security == .tls ? 465 : 587)
        var relay = SMTPRelay(host: host, port: port, security: security, user: try r.optionalText("user", maxLength: 255),
                              caFile: try r.optionalText("caFile", maxLength: 1000))
        if let seconds = try r.optionalInteger("connectTimeout", range: 1...600) { relay.connectTimeout = .seconds(seconds) }
        if let seconds = try r.optionalInteger("timeout", range: 1...3600) { relay.timeout = .seconds(seconds) }
        let passwordEnv = try r.optionalText("passwordEnv", maxLength: 100)
        if passwordEnv != nil, relay.user == nil {
            throw DocumentRefusal(field: r.path("user"), expected: "the user the password belongs to", found: "nothing")
        }
        guard let from = try f.optionalText("from", maxLength: 300) else {
            throw DocumentRefusal(field: f.path("from"), expected: "the sender, e.g. \"Exempel Handel AB <faktura@exempel.example>\"", found: "nothing")
        }
        let (name, address) = Self.split(from)
        guard EmailAddress.isValid(address) else {
            throw DocumentRefusal(field: f.path("from"), expected: "Name <address> with a valid e-mail address", found: "\"\(from)\"")
        }
        let replyTo = try f.optionalText("replyTo", maxLength: 254)
        if let replyTo, !EmailAddress.isValid(replyTo) {
            throw DocumentRefusal(field: f.path("replyTo"), expected: "an e-mail address", found: "\"\(replyTo)\"")
        }
        var settings = EmailSettings(relay: relay, passwordEnv: passwordEnv, fromName: name, fromAddress: address, replyTo: replyTo)
        if let retry = try f.optionalObject("retry") { settings.retry = try DestinationSettings.readRetry(retry) }
        return settings
    }

    /// "Name <address>" or a bare address.
    static func split(_ from: String) -> (name: String, address: String) {
        guard let open = from.lastIndex(of: "<"), let close = from.lastIndex(of: ">"), open < close else { return ("", from) }
        let name = from[..<open].trimmingCharacters(in: CharacterSet(charactersIn: " \""))
        return (name, String(from[from.index(after: open)..<close]))
    }
}

/// `autogiro:` in gateway.yml: the payee's customer number at Bankgirot and its bankgiro.
public struct AutogiroSettings: Sendable {
    public var customerNumber: String
    public var bankgiro: String
}

/// `service:` in gateway.yml: what `gateway run` needs beyond the batch commands.
public struct ServiceSettings: Sendable, Equatable {
    public enum Watch: String, Sendable {
        /// The kernel says when a file is written or renamed into `inbox/`.
        case inotify
        /// The inbox is listed every `pollInterval`: for a network file system, where inotify
        /// sees nothing another machine writes.
        case poll
    }
    public var watch = Watch.inotify
    public var pollInterval: Duration = .seconds(2)
    /// How long SIGTERM waits for work in flight before the process stops anyway.
    public var stopTimeout: Duration = .seconds(30)
    /// How often the service looks for what time alone makes due: collective cut-offs (M2),
    /// passed desired delivery dates (M7), sends whose undo time is over (D14).
    public var dueInterval: Duration = .seconds(30)
    /// When the day's payment reminders are written (D6–D8), on the client's wall clock, while
    /// `distribution.reminders` is enabled.
    public var remindAt = TimeOfDay(hour: 8, minute: 0)!
    /// Where `GET /metrics` and `GET /health` answer; nil: nowhere.
    public var http: HTTPAddress?
    public init() {}

    /// A loopback host and a port: what it serves has no log-in.
    public struct HTTPAddress: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init?(_ text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            let isLoopbackV4 = octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
            guard isLoopbackV4 || host == "::1" || host == "localhost" else { return nil }
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }
}
