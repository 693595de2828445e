import ArgumentParser
import Delivery
import Distribution
import Foundation
import Gateway
import GatewayCore
import Intake
import Invoicing
import GatewayService
import Ledger
import Logging
import Rendering

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "The invoice gateway: order files in inbox/ become validated e-invoices in outbox/.",
        subcommands: [Run.self, Backup.self, Process.self, Validate.self, Invoices.self, Approve.self, Status.self, Mappings.self, Render.self,
                      Push.self, Send.self, Credit.self, Remind.self, Schedule.self, SFTP.self])
}

struct HomeOption: ParsableArguments {
    @Option(name: .long, help: "The gateway home (default: $GATEWAY_HOME, else the current directory).")
    var home: String?

    var url: URL {
        let path = home ?? ProcessInfo.processInfo.environment["GATEWAY_HOME"] ?? FileManager.default.currentDirectoryPath
        return URL(fileURLWithPath: path)
    }

    /// Opens the home; `warn` says the schema sets that go unvalidated, for the commands
    /// where that matters (those that publish or send).
    func open(warn: Bool = false) throws -> Gateway {
        do {
            var clock: any GatewayClock = SystemClock()
            if let shifted = try ShiftedClock.fromEnvironment() {
                // Never on by accident: every command that keeps time says so.
                Console.error("warning: \(ShiftedClock.variable) is set: the gateway's clock reads \(Instant.format(shifted.now)) and runs on from there "
                              + "(sleeps, time-outs and retries keep real time)")
                clock = shifted
            }
            let gateway = try Gateway(home: url, clock: clock)
            if warn { for warning in gateway.startupWarnings { Console.error("warning: \(warning)") } }
            return gateway
        } catch {
            throw Console.fail("\(error)")
        }
    }
}

enum Console {
    static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    static func error(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    static func fail(_ text: String) -> ExitCode {
        error("error: \(text)")
        return ExitCode(1)
    }

    /// A progress line that rewrites itself on a terminal and stays silent elsewhere.
    static func progress(_ text: String) {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

struct Process: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Process every file in the inbox once, publish ready invoices, and exit.")
    @OptionGroup var home: HomeOption
    @Flag(help: "Render again the invoices whose rendering or validation failed (after a fix).") var retryFailed = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() throws {
        let gateway = try home.open(warn: true)
        gateway.progress = Console.progress
        let summary = try gateway.process(retryFailed: retryFailed)
        if Console.isTerminal { Console.error("") }
        if json { return try Console.printJSON(summary) }
        let i = summary.intake, p = summary.publishing
        print("files: \(i.filesAccepted) accepted, \(i.filesPartlyRefused) refused in part, \(i.filesRefused) refused, \(i.filesDuplicate) duplicate")
        print("documents: \(i.documentsApplied) applied, \(i.documentsUnchanged) already known, \(i.documentsRefused) refused")
        if !summary.invoicedWhenDue.isEmpty {
            print("due now: \(summary.invoicedWhenDue.count) invoice\(summary.invoicedWhenDue.count == 1 ? "" : "s") for deliveries that waited for a cut-off or a desired delivery date (rules M2, M7)")
        }
        print("invoices: \(p.published) published to outbox/, \(p.failed) failed (see failed/ and `gateway status`)")
        if let r = summary.reminders {
            print("reminders (remind documents): \(r.reminded.count) written, \(r.notReminded.count) not (the invoice's history says why)")
        }
        if i.filesRefused + i.filesPartlyRefused > 0 { print("refused input is kept in refused/ with a .reason.json beside each file") }
        if !i.entriesNotTaken.isEmpty {
            print("entries not taken (left where they are; fix and run again): \(i.entriesNotTaken.count)")
            for problem in i.entriesNotTaken { print("  \(problem.name): \(problem.reason)") }
        }
        if p.failed > 0 || i.filesRefused + i.filesPartlyRefused > 0 || !i.entriesNotTaken.isEmpty { throw ExitCode(2) }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check an inbox file against the contract without applying it.")
    @Argument(help: "The file to check.") var file: String

    func run() throws {
        let documents: [ReadDocument]
        do { documents = try Gateway.validate(file: URL(fileURLWithPath: file)) } catch {
            throw Console.fail("\(file): \(error)")
        }
        var refused = 0
        for document in documents {
            switch document.result {
            case .success(let doc): print("document \(document.index): ok (\(doc.typeName))")
            case .failure(let refusal):
                refused += 1
                print("document \(document.index): refused: \(refusal)")
            }
        }
        print("\(documents.count - refused) ok, \(refused) refused")
        if refused > 0 || documents.isEmpty { throw ExitCode(2) }
    }
}

/// While `gateway run` holds the home, an operator command goes to it as the contract's
/// document through inbox/; returns false when no service runs (the command runs here).
func handedToService(_ home: HomeOption, _ command: String, _ numbers: [String], extra: [String: String] = [:]) throws -> Bool {
    let gatewayHome = GatewayHome(home.url)
    guard let service = HomeLock.service(of: gatewayHome) else { return false }
    let documents = numbers.map { ["type": command, "invoiceNumber": $0].merging(extra) { $1 } }
    Console.error("a gateway service runs on this home (\(service)): handing `\(command)` to it through inbox/")
    switch try ServiceHandOver(home: gatewayHome).submit(documents, command: command) {
    case .applied:
        let gateway = try home.open()
        for number in numbers {
            let last = try gateway.invoice(number)?.1.last
            print("\(number): applied by the service" + (last.map { "; \($0.event)\($0.detail.map { ": " + $0 } ?? "")" } ?? ""))
        }
    case .refused(let report):
        throw Console.fail("the service refused `\(command)`:\n\(report)")
    case .waiting(let file):
        throw Console.fail("the service has not finished \(file) within 60 s; it stays in the inbox and is applied when the service gets to it "
                           + "(see `gateway invoices show N`)")
    }
    return true
}

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Approve an invoice that waits for review (rule S5); it is published at once.")
    @OptionGroup var home: HomeOption
    @Argument(help: "The invoice number.") var number: String

    func run() throws {
        if try handedToService(home, "approve", [number]) { return }
        switch try home.open(warn: true).approve(number) {
        case .applied(let text), .unchanged(let text): print(text)
        case .refused(let refusal): throw Console.fail("\(number): \(refusal)")
        }
    }
}

struct Invoices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List and show invoices; set an invoice's own e-mail address.",
                                                    subcommands: [List.self, Show.self, Email.self])

    struct Email: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an invoice not yet published to this e-mail address (rule D11), or with --clear derive it again (D10).")
        @OptionGroup var home: HomeOption
        @Argument(help: "The invoice number.") var number: String
        @Argument(help: "The e-mail address.") var address: String?
        @Flag(help: "Remove the invoice's own address: the customer's (or its organisation's) applies again.") var clear = false

        func validate() throws {
            if clear == (address != nil) { throw ValidationError("give either an ADDRESS or --clear") }
        }

        func run() throws {
            switch try home.open().setEmail(clear ? nil : address, ofInvoice: number) {
            case .applied(let text), .unchanged(let text): print(text)
            case .refused(let refusal): throw Console.fail("\(number): \(refusal)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List invoices, oldest first.")
        @OptionGroup var home: HomeOption
        @Option(help: "Only this status (review, ready, waiting, sent, reminder, paid, credited).") var status: String?
        @Option(help: "Only this customer number.") var customer: String?
        @Option(help: "Only this distribution method (email, central-print, e-invoice, own-printer, export, autogiro; none for those nothing can send).")
        var method: String?
        @Flag(help: "Print JSON, in the form the contract gives.") var json = false

        func run() throws {
            var filter: InvoiceStatus?
            if let status {
                guard let s = InvoiceStatus(rawValue: status) else {
                    throw Console.fail("--status: expected one of \(InvoiceStatus.allCases.map(\.rawValue).joined(separator: ", ")), found \(status)")
                }
                filter = s
            }
            if let method, method != "none", DistributionMethod(rawValue: method) == nil {
                throw Console.fail("--method: expected none or one of \(DistributionMethod.allCases.map(\.rawValue).joined(separator: ", ")), found \(method)")
            }
            let records = try home.open().invoices(status: filter, customer: customer)
                .filter { method == nil || ($0.invoice.method?.rawValue ?? "none") == method }
            if json { return try Console.printJSON(records.map { InvoiceJSON($0) }) }
            print(pad("NUMBER", 10) + pad("KIND", 8) + pad("CUSTOMER", 12) + pad("STATUS", 9) + pad("ISSUED", 12) + pad("DUE", 12)
                  + pad("PAYABLE", 16) + pad("METHOD", 14) + "RECIPIENT")
            for r in records {
                let i = r.invoice
                print(pad(i.number, 10) + pad(i.kind.rawValue, 8) + pad(i.customer.customerNumber, 12) + pad(i.status.rawValue, 9)
                      + pad(i.issueDate.description, 12) + pad(i.dueDate.description, 12) + pad("\(i.totals.payable.fixed(2)) \(i.currency)", 16)
                      + pad(i.method?.rawValue ?? "none", 14) + (i.distribution?.recipient ?? i.distribution?.decidedBy ?? "-"))
            }
            print("\(records.count) invoice(s)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one invoice with its lines and history.")
        @OptionGroup var home: HomeOption
        @Argument(help: "The invoice number.") var number: String
        @Flag(help: "Print JSON, in the form the contract gives.") var json = false

        func run() throws {
            guard let (record, history) = try home.open().invoice(number) else { throw Console.fail("no invoice \(number)") }
            let view = InvoiceJSON(record, history: history)
            if json { return try Console.printJSON(view) }
            let i = record.invoice
            print("\(i.kind == .credit ? "Credit invoice" : "Invoice") \(i.number)  status \(i.status.rawValue)")
            print("customer   \(i.customer.customerNumber) \(i.customer.name)"
                  + (i.orderingCustomerNumber.map { "  (pays for \($0), rule M6)" } ?? ""))
            print("orders     \(i.orderNumbers.joined(separator: ", "))" + (i.creditedInvoiceNumber.map { "  credits \($0)" } ?? ""))
            if i.isCollective {
                print("collective invoice of \(i.orders.count) order\(i.orders.count == 1 ? "" : "s") (rule M2):")
                for order in i.orders {
                    let lines = i.lines.filter { $0.orderNumber == order.orderNumber }
                    print("  \(order.heading(namingOrderer: true)): \(lines.count) line\(lines.count == 1 ? "" : "s"), "
                          + "\(lines.reduce(Decimal(0)) { $0 + $1.net }.fixed(2)) \(i.currency) net")
                }
            }
            print("issued     \(i.issueDate)  due \(i.dueDate)  OCR \(i.ocr)")
            print("method     \(view.method ?? "none (nothing can send it)") -> \(view.recipient ?? "-")")
            if let decidedBy = view.decidedBy { print("decided by \(decidedBy)") }
            for line in i.lines {
                print("  \(pad(String(line.position), 3))\(i.isCollective ? pad(line.orderNumber ?? "", 10) : "")\(pad(line.articleNumber, 12))\(pad(String(line.description.prefix(30)), 32))"
                      + "\(pad(line.quantity.plainText, 8))\(pad(line.unitPrice.plainText, 10))\(pad("\(line.vatRate.rawValue)%", 5))\(line.net.fixed(2))")
            }
            print("net \(view.net)  vat \(view.vat)  rounding \(view.rounding)  payable \(view.payable) \(i.currency)")
            if record.paid > 0 {
                print("paid       \(view.paid) \(i.currency)" + (view.overpaid.map { "  overpaid by \($0) \(i.currency): refund or settle it" } ?? ""))
            }
            if record.reminderCount > 0 { print("reminders  \(record.reminderCount), the last on \(view.reminderDate ?? "-")") }
            for file in record.files { print("file       \(file)") }
            print("history:")
            for h in history { print("  \(Instant.format(h.at))  \(pad(h.status.rawValue, 9))\(h.event)\(h.detail.map { ": \($0)" } ?? "")") }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counts per status, waiting orders, refused files and failed publications.")
    @OptionGroup var home: HomeOption
    @Flag(help: "Print JSON.") var json = false

    struct View: Encodable {
        var invoices: [String: Int]
        var waitingOrders: [[String: String]]
        /// Deliveries of known customers waiting for a cut-off, a paying customer or a date (M2, M6, M7).
        var waitingDeliveries: [WaitingView]
        var refusedFiles: [[String: String]]
        var failedInvoices: [[String: String]]
        /// D2: invoices no active method can take (also among `failedInvoices`).
        var undeliverableInvoices: [[String: String]]
        var failedDeliveries: [[String: String]]
        var overpaidInvoices: [[String: String]]
        var inbox: [String]
        var inboxNotes: [[String: String]]
        var entriesNotTaken: [[String: String]]
        var schemaValidation: [String: Bool]
        /// The `gateway run` holding the home (its pid and since when), or nil.
        var service: String?
        /// The running service's next scheduled runs by job (`push pagero`, `reminders`, `due work`).
        var nextRuns: [String: String]
        /// When each destination last had a file delivered.
        var lastDelivery: [String: String]
        /// The invoice waiting longest to be published or sent, and the oldest file in inbox/.
        var oldestWaitingInvoice: [String: String]?
        var oldestInboxFile: [String: String]?
    }

    struct WaitingView: Encodable {
        var customerNumber: String
        var orderNumbers: [String]
        var nextCutOff: String?
        var reason: String
    }

    func run() throws {
        let gateway = try home.open()
        let s = try gateway.status()
        let service = HomeLock.service(of: gateway.home)
        let view = View(
            invoices: Dictionary(uniqueKeysWithValues: InvoiceStatus.allCases.map { ($0.rawValue, s.counts[$0] ?? 0) }),
            waitingOrders: s.waitingOrders.map { ["orderNumber": $0.orderNumber, "customerNumber": $0.customerNumber, "status": $0.status.rawValue] },
            waitingDeliveries: s.waitingDeliveries.map {
                WaitingView(customerNumber: $0.customerNumber, orderNumbers: $0.orderNumbers, nextCutOff: $0.nextCutOff.map(Instant.format), reason: $0.reason)
            },
            refusedFiles: s.refusedFiles.map { ["name": $0.name, "at": Instant.format($0.at), "outcome": $0.reason] },
            failedInvoices: s.failedPublications.map { ["number": $0.number, "reason": $0.reason] },
            undeliverableInvoices: s.failedPublications.filter { $0.reason.hasPrefix("D2:") }.map { ["number": $0.number, "reason": $0.reason] },
            failedDeliveries: s.failedDeliveries.map { ["destination": $0.destination, "file": $0.path, "invoice": $0.invoiceNumber ?? "",
                                                        "error": $0.error ?? "", "attempts": String($0.attempts)] },
            overpaidInvoices: s.overpaid.map { ["number": $0.number, "payable": $0.payable.fixed(2), "paid": $0.paid.fixed(2),
                                                "overpaid": ($0.paid - $0.payable).fixed(2)] },
            inbox: s.inbox.map(\.name),
            inboxNotes: s.inbox.compactMap { entry in entry.note.map { ["name": entry.name, "note": $0] } },
            entriesNotTaken: s.entriesNotTaken.map { ["name": $0.name, "reason": $0.reason, "at": Instant.format($0.at)] },
            schemaValidation: Dictionary(uniqueKeysWithValues: gateway.schemaSets.map { ($0.set, $0.validated) }),
            service: service,
            nextRuns: service == nil ? [:] : ServiceSchedule.read(gateway.home)?.nextRuns ?? [:],
            lastDelivery: s.lastDeliveries.mapValues(Instant.format),
            oldestWaitingInvoice: s.oldestWaitingInvoice.map { ["number": $0.number, "stage": $0.stage.rawValue, "since": Instant.format($0.since)] },
            oldestInboxFile: s.oldestInboxFile.map { ["name": $0.name, "since": Instant.format($0.since)] })
        if json { return try Console.printJSON(view) }
        print("service: " + (view.service.map { "running (\($0))" } ?? "not running (`gateway run` starts it)"))
        for (job, at) in view.nextRuns.sorted(by: { $0.value < $1.value }) { print("  next \(job): \(at)") }
        if let oldest = s.oldestWaitingInvoice {
            print("waiting longest: invoice \(oldest.number), \(oldest.stage.rawValue) since \(Instant.format(oldest.since))")
        }
        if let oldest = s.oldestInboxFile { print("oldest file in inbox/: \(oldest.name), since \(Instant.format(oldest.since))") }
        if !s.lastDeliveries.isEmpty {
            print("last delivered: " + s.lastDeliveries.sorted { $0.key < $1.key }.map { "\($0.key) \(Instant.format($0.value))" }.joined(separator: ", "))
        }
        print("schema validation: " + gateway.schemaSets.map { "\($0.set) \($0.validated ? "on" : "OFF (no folder under `schemas:` in gateway.yml)")" }
            .joined(separator: ", "))
        print("invoices: " + InvoiceStatus.allCases.map { "\($0.rawValue) \(s.counts[$0] ?? 0)" }.joined(separator: ", "))
        print("waiting orders (customer not known yet): \(s.waitingOrders.count)")
        for o in s.waitingOrders { print("  order \(o.orderNumber) waits for customer \(o.customerNumber)") }
        print("deliveries not invoiced yet (cut-offs, paying customers, desired delivery dates): \(s.waitingDeliveries.reduce(0) { $0 + $1.orderNumbers.count })")
        for w in s.waitingDeliveries {
            let orders = w.orderNumbers.count <= 5 ? w.orderNumbers.joined(separator: ", ") : "\(w.orderNumbers.prefix(5).joined(separator: ", ")) and \(w.orderNumbers.count - 5) more"
            print("  customer \(w.customerNumber): \(w.orderNumbers.count) (\(orders)): \(w.reason)")
        }
        print("refused files: \(s.refusedFiles.count)")
        for f in s.refusedFiles { print("  \(f.name) (\(f.reason), \(Instant.format(f.at))): see refused/") }
        let undeliverable = s.failedPublications.filter { $0.reason.hasPrefix("D2:") }
        print("invoices nothing can send (rule D2; a customer update or `gateway invoices email N` routes them again): \(undeliverable.count)")
        for f in undeliverable { print("  \(f.number): \(f.reason)") }
        let failedRendering = s.failedPublications.filter { !$0.reason.hasPrefix("D2:") }
        print("invoices that failed rendering or validation (fix, then `gateway process --retry-failed`): \(failedRendering.count)")
        for f in failedRendering { print("  \(f.number): \(f.reason)") }
        print("failed deliveries (retry with `gateway push --retry-failed` or `gateway send N`): \(s.failedDeliveries.count)")
        for d in s.failedDeliveries { print("  \(d.destination): \(d.path) (invoice \(d.invoiceNumber ?? "-")): \(d.error ?? "")") }
        print("overpaid invoices (refund or settle the surplus): \(s.overpaid.count)")
        for o in s.overpaid { print("  \(o.number): \(o.paid.fixed(2)) paid of \(o.payable.fixed(2)), overpaid by \((o.paid - o.payable).fixed(2))") }
        print("files waiting in inbox/: \(s.inbox.count)")
        for entry in s.inbox { if let note = entry.note { print("  \(entry.name): \(note)") } }
        if !s.entriesNotTaken.isEmpty {
            print("entries the last run could not take (they stay where they are; fix and run again): \(s.entriesNotTaken.count)")
            for problem in s.entriesNotTaken { print("  \(problem.name): \(problem.reason)") }
        }
    }
}

struct Mappings: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mapping tools.", subcommands: [List.self, Check.self, Reference.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the mappings in the home's mappings/ folder.")
        @OptionGroup var home: HomeOption

        func run() throws {
            let gateway = try home.open()
            for m in gateway.catalog.mappings {
                let schema = m.schema.map { "\($0.set):\($0.file)" } ?? "no schema"
                print(pad(m.name, 22) + pad(m.kinds.map(\.rawValue).sorted().joined(separator: ","), 16) + pad(m.output.rawValue, 6)
                      + pad(m.file, 28) + schema)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check mapping files: every field, formatter and collection against the canonical invoice.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Mapping files to check (default: every file in mappings/).") var files: [String] = []

        func run() throws {
            let values = (try? GatewayConfiguration.load(home: home.url))?.mappingValues ?? [:]
            let urls = files.isEmpty
                ? ((try? FileManager.default.contentsOfDirectory(at: home.url.appendingPathComponent("mappings"), includingPropertiesForKeys: nil)) ?? [])
                    .filter { ["yml", "yaml"].contains($0.pathExtension) }.sorted { $0.path < $1.path }
                : files.map { URL(fileURLWithPath: $0) }
            var failed = 0
            for url in urls {
                do {
                    let mapping = try MappingLoader.load(contentsOf: url, values: values)
                    print("ok      \(url.lastPathComponent) (\(mapping.name), \(mapping.kinds.map(\.rawValue).sorted().joined(separator: ", ")))")
                } catch {
                    failed += 1
                    print("broken  \(error)")
                }
            }
            if failed > 0 { throw ExitCode(2) }
        }
    }

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every field of the canonical invoice that a mapping can use.")
        func run() {
            for row in CanonicalModel.reference() { print(pad(row.path, 40) + pad(row.type, 12) + row.example) }
        }
    }
}

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print what a mapping makes of an invoice, without publishing it.")
    @OptionGroup var home: HomeOption
    @Option(help: "The mapping's format name (see `gateway mappings list`).") var mapping: String
    @Option(help: "The invoice number.") var invoice: String

    func run() throws {
        let gateway = try home.open()
        guard let (record, _) = try gateway.invoice(invoice) else { throw Console.fail("no invoice \(invoice)") }
        let document: RenderedDocument
        do { document = try gateway.catalog.render(record.invoice, client: gateway.configuration.client, format: mapping) } catch {
            throw Console.fail("\(error)")
        }
        FileHandle.standardOutput.write(Data(document.bytes))
        for error in document.schemaErrors { Console.error("schema: \(error)") }
        if !document.schemaErrors.isEmpty { throw ExitCode(2) }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway as a service: files dropped in inbox/ become delivered invoices, destinations are pushed on their schedules, cut-offs are made on time.",
        discussion: "Holds the home until SIGTERM or SIGINT (one service per home; `process` and `push` are refused meanwhile). gateway.yml `service:` sets watch (inotify or poll), pollSeconds, duePollSeconds and stopSeconds.")
    @OptionGroup var home: HomeOption
    @Option(help: "text (default) or json: one JSON object per line.") var logFormat: String = "text"

    func run() async throws {
        guard ["text", "json"].contains(logFormat) else { throw Console.fail("--log-format: expected text or json, found \(logFormat)") }
        let gateway = try home.open(warn: true)
        do { try gateway.holdHome(as: "run") } catch { throw Console.fail("\(error)") }
        let json = logFormat == "json"
        var logger = Logger(label: "gateway") { label -> any LogHandler in json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label) }
        logger.logLevel = .info
        let service: GatewayService
        do { service = try GatewayService(gateway: gateway, logger: logger) } catch { throw Console.fail("\(error)") }
        try await service.run()
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the ledger to a new file, consistent as of one moment, also while a service or another command runs.")
    @OptionGroup var home: HomeOption
    @Argument(help: "The backup file to write (must not exist yet).") var file: String

    func run() throws {
        let gateway = try home.open()
        let path = URL(fileURLWithPath: file).standardizedFileURL.path
        do { try gateway.ledger.backup(to: path) } catch { throw Console.fail("\(error.localizedDescription)") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("ledger copied to \(path) (\(size) bytes); restore by stopping the gateway and putting it in place of \(gateway.configuration.ledgerPath)")
    }
}

struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver what is due now: outbox files to the SFTP destinations (one session each) and e-mail through the relay.")
    @OptionGroup var home: HomeOption
    @Option(name: .customLong("destination"), help: "Only this SFTP destination (repeatable).") var destinations: [String] = []
    @Option(name: .customLong("method"), help: "Only the transports of this distribution method, e.g. email (repeatable).") var methods: [String] = []
    @Flag(help: "Also retry files whose last delivery failed.") var retryFailed = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() throws {
        let gateway = try home.open(warn: true)
        gateway.progress = Console.progress
        let summary: PushSummary
        var chosen: [DistributionMethod]?
        if !methods.isEmpty {
            chosen = []
            for name in methods {
                guard let method = DistributionMethod(rawValue: name) else {
                    throw Console.fail("--method: expected one of \(DistributionMethod.allCases.map(\.rawValue).joined(separator: ", ")), found \(name)")
                }
                chosen!.append(method)
            }
        }
        do { summary = try gateway.push(destinations: destinations.isEmpty ? nil : destinations, methods: chosen, retryFailed: retryFailed) } catch {
            throw Console.fail("\(error)")
        }
        if Console.isTerminal { Console.error("") }
        try report(summary, json: json)
    }
}

func report(_ summary: PushSummary, json: Bool) throws {
    if json { return try Console.printJSON(summary) }
    print("delivered \(summary.delivered) file(s) (\(summary.bytes) bytes), \(summary.alreadyThere) already on the server, \(summary.failed) failed")
    if !summary.held.isEmpty {
        // D14: they leave with the first push after their window; `gateway credit N` before then cancels.
        let last = summary.held.map(\.until).max()!
        print("held for the undo time (rule D14): \(summary.held.count) invoice(s), until \(last) at the latest; `gateway credit N` before then cancels the send")
        for send in summary.held { print("  \(send.invoiceNumber) until \(send.until)") }
    }
    for error in summary.errors { print("error: \(error)") }
    if summary.failed > 0 { throw ExitCode(2) }
}

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deliver these invoices' files now, also again after a failed send.")
    @OptionGroup var home: HomeOption
    @Argument(help: "The invoice numbers.") var numbers: [String]
    @Option(help: "Draw their PDFs (e-mail, own printer) with this template from templates/ first.") var template: String?
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() throws {
        if try handedToService(home, "send", numbers, extra: template.map { ["template": $0] } ?? [:]) { return }
        let gateway = try home.open(warn: true)
        let summary: PushSummary
        do { summary = try gateway.send(numbers, template: template) } catch { throw Console.fail("\(error)") }
        try report(summary, json: json)
    }
}

struct Credit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Credit an invoice in full. Inside the undo time of its e-mail or central-print send (rule D14) the send is cancelled; otherwise the credit invoice is published at once.")
    @OptionGroup var home: HomeOption
    @Argument(help: "The invoice number.") var number: String

    func run() throws {
        if try handedToService(home, "credit", [number]) { return }
        switch try home.open(warn: true).credit(number) {
        case .applied(let text), .unchanged(let text): print(text)
        case .refused(let refusal): throw Console.fail("\(number): \(refusal)")
        }
    }
}

struct Remind: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write payment reminders for the invoices that are due one (or those named), by own printer, e-mail or central print (rules D6-D8); `gateway push` delivers them.")
    @OptionGroup var home: HomeOption
    @Argument(help: "Invoice numbers (default: every invoice that is due a reminder).") var numbers: [String] = []
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() throws {
        var numbers = numbers
        if HomeLock.service(of: GatewayHome(home.url)) != nil, numbers.isEmpty {
            // The service writes the day's reminders itself at service.remindAt; now means those due now, named.
            do { numbers = try home.open().remindersDue() } catch { throw Console.fail("\(error)") }
            if numbers.isEmpty { return print("no invoice is due a reminder now") }
        }
        if try handedToService(home, "remind", numbers) { return }
        let summary: ReminderSummary
        do { summary = try home.open(warn: true).remind(numbers.isEmpty ? nil : numbers) } catch { throw Console.fail("\(error)") }
        if json { return try Console.printJSON(summary) }
        for r in summary.reminded {
            print("\(r.invoiceNumber): reminder \(r.sequence) by \(r.method) to \(r.recipient ?? "-"), \(r.amountDue) due; \(r.files.joined(separator: ", "))")
        }
        for n in summary.notReminded { print("\(n.invoiceNumber): not reminded: \(n.reason)") }
        print("\(summary.reminded.count) reminder(s) written, \(summary.notReminded.count) not")
        if !numbers.isEmpty, !summary.notReminded.isEmpty { throw ExitCode(2) }
    }
}

struct SFTP: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sftp", abstract: "Check and trust SFTP destinations.",
                                                    subcommands: [Check.self, Trust.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Connect, authenticate, list the remote directory and report.")
        @OptionGroup var home: HomeOption
        @Argument(help: "The destination's name in gateway.yml.") var destination: String

        func run() throws {
            let gateway = try home.open()
            let d = try gateway.destination(destination)
            print("\(d.name): \(d.endpoint.user)@\(d.endpoint.host):\(d.endpoint.port) \(d.remoteDirectory) (key \(d.endpoint.privateKey)"
                  + (d.passphraseSource.map { ", passphrase from \($0)" } ?? "") + ")")
            do {
                let connection = try SFTPConnection(try d.connectionEndpoint())
                defer { connection.close() }
                print("host key: ok (known_hosts \(d.endpoint.knownHosts)); authentication: ok")
                let names = try connection.list(d.remoteDirectory)
                print("\(d.remoteDirectory): \(names.count) entr\(names.count == 1 ? "y" : "ies")")
                for name in names.prefix(20) { print("  \(name)") }
            } catch {
                throw Console.fail("\(error)")
            }
        }
    }

    struct Trust: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the host key a destination offers, and with --add write it to its known_hosts.")
        @OptionGroup var home: HomeOption
        @Argument(help: "The destination's name in gateway.yml.") var destination: String
        @Flag(help: "Add the offered key to the destination's known_hosts file.") var add = false

        func run() throws {
            let gateway = try home.open()
            let d = try gateway.destination(destination)
            let key: OfferedHostKey
            do { key = try SFTPConnection.offeredHostKey(d.endpoint) } catch { throw Console.fail("\(error)") }
            print("\(d.endpoint.knownHostsName) offers SHA256:\(key.fingerprint)")
            print(key.knownHostsLine)
            guard add else {
                print("compare the fingerprint with the one the operator gave you, then run again with --add")
                return
            }
            let existing = (try? String(contentsOfFile: d.endpoint.knownHosts, encoding: .utf8)) ?? ""
            guard !existing.contains(key.knownHostsLine) else { return print("already in \(d.endpoint.knownHosts)") }
            let text = existing + (existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n") + key.knownHostsLine + "\n"
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: d.endpoint.knownHosts).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try text.write(toFile: d.endpoint.knownHosts, atomically: true, encoding: .utf8)
            print("added to \(d.endpoint.knownHosts)")
        }
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

/// The contract's JSON form of an invoice (CONTRACT.md, "What the gateway tells scripts").
struct InvoiceJSON: Encodable {
    struct Line: Encodable {
        var articleNumber, description, quantity, unitPrice: String
        var discountPercent: String?
        var vatRate: Int
        var net: String
        /// The order the line was delivered on, on a collective invoice (M2).
        var orderNumber: String?
    }
    struct History: Encodable { var at, status, event: String; var detail: String? }
    struct Order: Encodable {
        var orderNumber: String
        var deliveryDate: String?
        var orderedBy: String
        var yourReference, ourReference, externalOrderNumber: String?
    }

    var number, kind, customerNumber: String
    var payingCustomerNumber: String?
    var orderNumbers: [String]
    /// A collective invoice's orders (M2): each with its delivery date, who ordered and references.
    var orders: [Order]?
    var status: String
    var method, recipient: String?
    /// The rule that chose method and recipient, beginning with its ID ("D13: ...").
    var decidedBy: String?
    var issueDate, dueDate, currency, net, vat, rounding, payable, ocr: String
    var files: [String]
    /// What has been paid, and what was paid beyond the amount to pay (absent when nothing was).
    var paid: String
    var overpaid: String?
    var creditedInvoiceNumber: String?
    /// D7: reminders sent, and the last one's date.
    var reminderCount: Int
    var reminderDate: String?
    var lines: [Line]?
    var history: [History]?

    init(_ record: InvoiceRecord, history: [HistoryEntry]? = nil) {
        let i = record.invoice
        number = i.number
        kind = i.kind.rawValue
        customerNumber = i.orderingCustomerNumber ?? i.customer.customerNumber
        payingCustomerNumber = i.payingCustomerNumber
        orderNumbers = i.orderNumbers
        orders = i.orders.isEmpty ? nil : i.orders.map {
            Order(orderNumber: $0.orderNumber, deliveryDate: $0.deliveryDate?.description, orderedBy: $0.orderedBy,
                  yourReference: $0.yourReference, ourReference: $0.ourReference, externalOrderNumber: $0.externalOrderNumber)
        }
        status = i.status.rawValue
        method = i.method?.rawValue
        recipient = i.distribution?.recipient
        decidedBy = i.distribution?.decidedBy
        issueDate = i.issueDate.description
        dueDate = i.dueDate.description
        currency = i.currency
        net = i.totals.net.fixed(2)
        vat = i.totals.vat.fixed(2)
        rounding = i.totals.rounding.fixed(2)
        payable = i.totals.payable.fixed(2)
        ocr = i.ocr
        files = record.files
        paid = record.paid.fixed(2)
        overpaid = record.overpaid?.fixed(2)
        creditedInvoiceNumber = i.creditedInvoiceNumber
        reminderCount = record.reminderCount
        reminderDate = record.reminderDate?.description
        if let history {
            lines = i.lines.map { Line(articleNumber: $0.articleNumber, description: $0.description, quantity: $0.quantity.plainText,
                                       unitPrice: $0.unitPrice.plainText, discountPercent: $0.discountPercent?.plainText,
                                       vatRate: $0.vatRate.rawValue, net: $0.net.fixed(2), orderNumber: $0.orderNumber) }
            self.history = history.map { History(at: Instant.format($0.at), status: $0.status.rawValue, event: $0.event, detail: $0.detail) }
        }
    }
}

struct Schedule: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Collective invoicing schedules (rules M2-M6).", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The coming cut-offs of a collective customer, in the client's time zone.")
        @OptionGroup var home: HomeOption
        @Argument(help: "The customer number.") var customer: String
        @Option(help: "How many cut-offs to show.") var next = 10

        func run() throws {
            let gateway = try home.open()
            let zone = gateway.configuration.client.timeZone
            let s: CustomerSchedule
            do { s = try gateway.schedule(of: customer, next: max(1, next)) } catch let error as ScheduleLookupError {
                throw Console.fail(error.description)
            }
            print("customer \(s.customer.customerNumber) \(s.customer.name): \(s.schedule) (\(zone.identifier))")
            if let payer = s.payingCustomerNumber {
                print("paid by customer \(payer) (rule M6)" + (s.payingCustomerKnown ? "" : "; not known yet: deliveries wait until its customer document arrives"))
            }
            print("last cut-off made: " + (s.lastCutOff.map { Instant.wallClock($0, zone) } ?? "none yet"))
            print("next cut-offs:")
            for cut in s.next { print("  \(Instant.wallClock(cut, zone))") }
            for skipped in s.skippedDays {
                print("  skipped: \(String(format: "%04d-%02d", skipped.year, skipped.month)) has no day \(skipped.day)")
            }
            print("deliveries waiting: \(s.waitingOrders.count)" + (s.waitingOrders.isEmpty ? "" : " (\(s.waitingOrders.prefix(10).joined(separator: ", "))\(s.waitingOrders.count > 10 ? ", ..." : ""))"))
        }
    }
}
