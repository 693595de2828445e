import Checksums
import Foundation
import GatewayCore
import GRDB
import Invoicing

/// The embedded ledger: SQLite in WAL mode through GRDB, with migrations.
public final class SQLiteLedger: Ledger {
    private let pool: DatabasePool
    /// The customer snapshots invoices refer to, by content hash; encoding and decoding a
    /// customer once per batch instead of once per invoice.
    let customers = CustomerSnapshots()

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL + NORMAL is durable across process crashes (kill -9); only a power loss can
            // drop the last transactions, never corrupt the file.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        let migrator = SQLiteLedger.migrator
        if try !pool.read({ try migrator.hasCompletedMigrations($0) }) {
            // Two processes opening a new ledger at once would both see it unmigrated; an
            // exclusive flock(2) beside the database lets one migrate and the other then see
            // it done. SQLite's own locks are fcntl(2) locks and do not meet this one.
            let guardFile = open(path + ".migrating", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if guardFile >= 0 { _ = flock(guardFile, LOCK_EX) }
            defer { if guardFile >= 0 { close(guardFile) } }
            try migrator.migrate(pool)
        }
    }

    @discardableResult
    public func write<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T {
        try pool.write { db in try body(SQLiteTransaction(db: db, customers: customers)) }
    }

    public func read<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T {
        try pool.read { db in try body(SQLiteTransaction(db: db, customers: customers)) }
    }

    /// SQLite's online backup into a temporary file beside the target, renamed into place
    /// once complete, so a backup that stops half-way never looks like a whole one.
    public func backup(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: path,
                NSLocalizedDescriptionKey: "\(path) exists already; a backup is written to a new file"])
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp").path
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let target = try DatabaseQueue(path: temporary)
            try pool.backup(to: target)
            try target.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                NSLocalizedDescriptionKey: "cannot rename the backup into \(path): \(String(cString: strerror(errno)))"])
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE processed_files (
                    sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, outcome TEXT NOT NULL, at TEXT NOT NULL);
                CREATE TABLE document_versions (
                    type TEXT NOT NULL, key TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (type, key, hash)) WITHOUT ROWID;
                CREATE TABLE customer_versions (hash TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE customers (
                    number TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, updated_at TEXT NOT NULL);
                CREATE TABLE orders (
                    number TEXT PRIMARY KEY, customer_number TEXT NOT NULL, status TEXT NOT NULL,
                    body TEXT NOT NULL, invoice_number TEXT, updated_at TEXT NOT NULL);
                CREATE INDEX orders_uninvoiced ON orders(customer_number) WHERE invoice_number IS NULL AND status = 'completed';
                CREATE TABLE order_events (
                    order_number TEXT NOT NULL, at TEXT NOT NULL, status TEXT NOT NULL);
                CREATE INDEX order_events_order ON order_events(order_number);
                CREATE TABLE returns (
                    number TEXT PRIMARY KEY, order_number TEXT NOT NULL, body TEXT NOT NULL,
                    credit_invoice_number TEXT, at TEXT NOT NULL);
                CREATE TABLE number_series (name TEXT PRIMARY KEY, next INTEGER NOT NULL);
                CREATE TABLE invoices (
                    number TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
                    customer_number TEXT NOT NULL, credited_invoice TEXT, issue_date TEXT NOT NULL,
                    due_date TEXT NOT NULL, currency TEXT NOT NULL, net TEXT NOT NULL, vat TEXT NOT NULL,
                    rounding TEXT NOT NULL, payable TEXT NOT NULL, ocr TEXT NOT NULL, paid TEXT NOT NULL DEFAULT '0',
                    published INTEGER NOT NULL DEFAULT 0, publish_error TEXT,
                    customer_hash TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE INDEX invoices_to_publish ON invoices(published, status);
                CREATE TABLE invoice_lines (
                    invoice_number TEXT NOT NULL, position INTEGER NOT NULL, article_number TEXT NOT NULL,
                    description TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT, unit_price TEXT NOT NULL,
                    discount_percent TEXT, vat_rate INTEGER NOT NULL, gross_amount TEXT NOT NULL,
                    discount_amount TEXT NOT NULL, net TEXT NOT NULL,
                    PRIMARY KEY (invoice_number, position)) WITHOUT ROWID;
                CREATE TABLE invoice_history (
                    id INTEGER PRIMARY KEY, invoice_number TEXT NOT NULL, at TEXT NOT NULL,
                    status TEXT NOT NULL, event TEXT NOT NULL, detail TEXT);
                CREATE INDEX invoice_history_invoice ON invoice_history(invoice_number);
                CREATE TABLE invoice_files (invoice_number TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (invoice_number, path)) WITHOUT ROWID;
                CREATE TABLE payments (
                    id INTEGER PRIMARY KEY, invoice_number TEXT NOT NULL, amount TEXT NOT NULL, paid_at TEXT NOT NULL, at TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v2-deliveries") { db in
            try db.execute(sql: """
                CREATE TABLE deliveries (
                    destination TEXT NOT NULL, path TEXT NOT NULL, invoice_number TEXT, remote_path TEXT NOT NULL,
                    size INTEGER NOT NULL, sha256 TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
                    error TEXT, at TEXT NOT NULL, PRIMARY KEY (destination, path)) WITHOUT ROWID;
                CREATE INDEX invoice_files_path ON invoice_files(path);
                """)
        }
        migrator.registerMigration("v3-intake") { db in
            try db.execute(sql: "CREATE TABLE inbox_problems (name TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL)")
            // invoices.paid is kept as each payment is recorded; bring earlier payments into it.
            var totals: [String: Decimal] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT invoice_number, amount FROM payments") {
                totals[row["invoice_number"], default: 0] += Decimal(exactly: Substring(row["amount"] as String)) ?? 0
            }
            for (number, total) in totals {
                try db.execute(sql: "UPDATE invoices SET paid = ? WHERE number = ?", arguments: [total.plainText, number])
            }
        }
        migrator.registerMigration("v4-lifecycle") { db in
            // A waiting invoice's send and the status a failure puts back (InvoiceLifecycle);
            // sends under way before this version started from `ready`.
            try db.execute(sql: """
                ALTER TABLE invoices ADD COLUMN pending_kind TEXT;
                ALTER TABLE invoices ADD COLUMN pending_return TEXT;
                UPDATE invoices SET pending_kind = 'invoice', pending_return = 'ready' WHERE status = 'waiting';
                """)
        }
        migrator.registerMigration("v5-undo") { db in
            // When a waiting invoice's send began (the undo window, D14) and its resolved method.
            try db.execute(sql: """
                ALTER TABLE invoices ADD COLUMN pending_since TEXT;
                ALTER TABLE invoices ADD COLUMN method TEXT;
                UPDATE invoices SET pending_since = (SELECT MAX(at) FROM invoice_history WHERE invoice_number = invoices.number)
                    WHERE status = 'waiting';
                UPDATE invoices SET method = COALESCE(json_extract(body, '$.distribution.method'), json_extract(body, '$.settings.distributionMethod'))
                    WHERE json_extract(body, '$.distribution') IS NULL OR json_extract(body, '$.distribution.method') IS NOT NULL;
                CREATE INDEX invoices_waiting ON invoices(status, method);
                """)
        }
        migrator.registerMigration("v6-reminders") { db in
            // D7, D8: how many reminders were sent, the last one's date, and the date before it
            // (which a failed reminder send puts back).
            try db.execute(sql: """
                ALTER TABLE invoices ADD COLUMN reminder_count INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE invoices ADD COLUMN reminder_date TEXT;
                ALTER TABLE invoices ADD COLUMN reminder_date_before TEXT;
                CREATE TABLE reminder_requests (invoice_number TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v7-collective") { db in
            // M2: the order a line of a collective invoice belongs to; M6: who ordered when
            // another customer pays; the last cut-off made for each collective customer.
            try db.execute(sql: """
                ALTER TABLE invoice_lines ADD COLUMN order_number TEXT;
                ALTER TABLE invoices ADD COLUMN ordering_customer TEXT;
                CREATE TABLE collective_cut_offs (customer_number TEXT PRIMARY KEY, last_cut_off TEXT NOT NULL) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v8-service") { db in
            // The service's health check writes here: a ledger that takes this write takes others.
            try db.execute(sql: "CREATE TABLE service_heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, at TEXT NOT NULL)")
        }
        return migrator
    }
}

// A coder per call: several gateways and threads use the ledger at once, and JSONEncoder
// and JSONDecoder are classes that promise nothing about sharing.
func encode<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(type, from: Data(text.utf8))
}

extension Date {
    var ledgerText: String { Instant.format(self) }
    init(ledgerText: String) { self = Instant.parse(ledgerText) ?? Date(timeIntervalSince1970: 0) }
}

/// A small cache of customer snapshots, shared by the ledger's transactions.
final class CustomerSnapshots: @unchecked Sendable {
    private let lock = NSLock()
    private var byNumber: [String: (customer: Customer, hash: String)] = [:]
    private var byHash: [String: Customer] = [:]

    func hash(of customer: Customer) -> String? {
        lock.withLock { byNumber[customer.customerNumber].flatMap { $0.customer == customer ? $0.hash : nil } }
    }

    func customer(hash: String) -> Customer? { lock.withLock { byHash[hash] } }

    func remember(_ customer: Customer, hash: String) {
        lock.withLock {
            if byHash.count > 10_000 { byHash.removeAll(); byNumber.removeAll() }
            byNumber[customer.customerNumber] = (customer, hash)
            byHash[hash] = customer
        }
    }
}

/// What the invoices table keeps of an invoice besides its lines and customer snapshot.
struct StoredInvoice: Codable {
    var number: String
    var kind: InvoiceKind
    var status: InvoiceStatus
    var orderNumbers: [String]
    var returnNumber: String?
    var creditedInvoiceNumber: String?
    var creditedInvoiceIssueDate: CivilDate?
    var issueDate: CivilDate
    var dueDate: CivilDate
    var currency: String
    var ocr: String
    var settings: ResolvedSettings
    var yourReference: String?
    var ourReference: String?
    var externalOrderNumber: String?
    var endCustomerOrderNumber: String?
    var invoiceEmail: String?
    var deliveryName: String?
    var deliveryAddress: PostalAddress?
    var deliveryDate: CivilDate?
    var paymentMethod: String?
    var totals: InvoiceTotals
    var createdAt: Date
    var emailOverride: String?
    var distribution: DistributionDecision?
    var orders: [InvoicedOrder]?
    var orderingCustomerNumber: String?

    init(_ i: Invoice) {
        number = i.number; kind = i.kind; status = i.status; orderNumbers = i.orderNumbers; returnNumber = i.returnNumber
        creditedInvoiceNumber = i.creditedInvoiceNumber; creditedInvoiceIssueDate = i.creditedInvoiceIssueDate
        issueDate = i.issueDate; dueDate = i.dueDate; currency = i.currency; ocr = i.ocr; settings = i.settings
        yourReference = i.yourReference; ourReference = i.ourReference; externalOrderNumber = i.externalOrderNumber
        endCustomerOrderNumber = i.endCustomerOrderNumber; invoiceEmail = i.invoiceEmail; deliveryName = i.deliveryName
        deliveryAddress = i.deliveryAddress; deliveryDate = i.deliveryDate; paymentMethod = i.paymentMethod; totals = i.totals; createdAt = i.createdAt
        emailOverride = i.emailOverride; distribution = i.distribution
        orders = i.orders.isEmpty ? nil : i.orders; orderingCustomerNumber = i.orderingCustomerNumber
    }

    func invoice(customer: Customer, lines: [InvoiceLine]) -> Invoice {
        Invoice(number: number, kind: kind, status: status, customer: customer, orderNumbers: orderNumbers, returnNumber: returnNumber,
                creditedInvoiceNumber: creditedInvoiceNumber, creditedInvoiceIssueDate: creditedInvoiceIssueDate,
                issueDate: issueDate, dueDate: dueDate, currency: currency, ocr: ocr, settings: settings,
                yourReference: yourReference, ourReference: ourReference, externalOrderNumber: externalOrderNumber,
                endCustomerOrderNumber: endCustomerOrderNumber, invoiceEmail: invoiceEmail, deliveryName: deliveryName,
                deliveryAddress: deliveryAddress, deliveryDate: deliveryDate, paymentMethod: paymentMethod, lines: lines, totals: totals,
                createdAt: createdAt, emailOverride: emailOverride, distribution: distribution, orders: orders ?? [],
                orderingCustomerNumber: orderingCustomerNumber)
    }
}

struct SQLiteTransaction: LedgerTransaction {
    let db: Database
    let customers: CustomerSnapshots

    private func run(_ sql: String, _ arguments: StatementArguments = []) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    func processedFile(sha256: String) throws -> ProcessedFile? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM processed_files WHERE sha256 = ?"), arguments: [sha256]).map {
            ProcessedFile(sha256: $0["sha256"], name: $0["name"], outcome: $0["outcome"], at: Date(ledgerText: $0["at"]))
        }
    }

    func recordFile(_ file: ProcessedFile) throws {
        try run("INSERT OR REPLACE INTO processed_files (sha256, name, outcome, at) VALUES (?, ?, ?, ?)",
                [file.sha256, file.name, file.outcome, file.at.ledgerText])
    }

    func hasSeen(type: String, key: String, hash: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM document_versions WHERE type = ? AND key = ? AND hash = ?"),
                          arguments: [type, key, hash]) ?? false
    }

    func markSeen(type: String, key: String, hash: String) throws {
        try run("INSERT OR IGNORE INTO document_versions (type, key, hash) VALUES (?, ?, ?)", [type, key, hash])
    }

    func customer(_ number: String) throws -> Customer? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM customers WHERE number = ?"), arguments: [number])
            .map { try decode(Customer.self, $0) }
    }

    func saveCustomer(_ canonical: Canonical<Customer>, at: Date) throws {
        let customer = canonical.value
        try run("""
            INSERT INTO customers (number, kind, name, body, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(number) DO UPDATE SET kind = excluded.kind, name = excluded.name, body = excluded.body, updated_at = excluded.updated_at
            """, [customer.customerNumber, customer.kind.rawValue, customer.name, canonical.json, at.ledgerText])
    }

    func order(_ number: String) throws -> StoredOrder? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT body, invoice_number FROM orders WHERE number = ?"), arguments: [number]).map {
            StoredOrder(order: try decode(Order.self, $0["body"]), invoiceNumber: $0["invoice_number"])
        }
    }

    func saveOrder(_ canonical: Canonical<Order>, at: Date) throws {
        let order = canonical.value
        try run("""
            INSERT INTO orders (number, customer_number, status, body, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(number) DO UPDATE SET customer_number = excluded.customer_number, status = excluded.status,
                body = excluded.body, updated_at = excluded.updated_at
            """, [order.orderNumber, order.customerNumber, order.status.rawValue, canonical.json, at.ledgerText])
        try run("INSERT INTO order_events (order_number, at, status) VALUES (?, ?, ?)", [order.orderNumber, at.ledgerText, order.status.rawValue])
    }

    func setOrderInvoice(orderNumber: String, invoiceNumber: String) throws {
        try run("UPDATE orders SET invoice_number = ? WHERE number = ?", [invoiceNumber, orderNumber])
    }

    func uninvoicedCompletedOrders(customerNumber: String?) throws -> [Order] {
        let sql = customerNumber == nil
            ? "SELECT body FROM orders WHERE invoice_number IS NULL AND status = 'completed' ORDER BY rowid"
            : "SELECT body FROM orders WHERE invoice_number IS NULL AND status = 'completed' AND customer_number = ? ORDER BY rowid"
        let arguments: StatementArguments = customerNumber.map { [$0] } ?? []
        return try String.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { try decode(Order.self, $0) }
    }

    func ordersWaitingForCustomer() throws -> [Order] {
        try String.fetchAll(db, sql: """
            SELECT body FROM orders WHERE invoice_number IS NULL
            AND NOT EXISTS (SELECT 1 FROM customers WHERE customers.number = orders.customer_number) ORDER BY rowid
            """).map { try decode(Order.self, $0) }
    }

    func saveReturn(_ canonical: Canonical<ReturnOrder>, creditInvoiceNumber: String?, at: Date) throws {
        let returned = canonical.value
        try run("""
            INSERT INTO returns (number, order_number, body, credit_invoice_number, at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(number) DO UPDATE SET credit_invoice_number = excluded.credit_invoice_number
            """, [returned.returnNumber, returned.orderNumber, canonical.json, creditInvoiceNumber, at.ledgerText])
    }

    func pendingReturns(orderNumber: String?) throws -> [ReturnOrder] {
        let sql = orderNumber == nil
            ? "SELECT body FROM returns WHERE credit_invoice_number IS NULL ORDER BY rowid"
            : "SELECT body FROM returns WHERE credit_invoice_number IS NULL AND order_number = ? ORDER BY rowid"
        let arguments: StatementArguments = orderNumber.map { [$0] } ?? []
        return try String.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { try decode(ReturnOrder.self, $0) }
    }

    func isReturnRecorded(_ number: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM returns WHERE number = ?"), arguments: [number]) ?? false
    }

    func returnedQuantities(creditedInvoice: String) throws -> [DeliveredArticle: Decimal] {
        var result: [DeliveredArticle: Decimal] = [:]
        let rows = try Row.fetchAll(db, sql: """
            SELECT l.order_number, l.article_number, l.quantity FROM invoice_lines l JOIN invoices i ON i.number = l.invoice_number
            WHERE i.credited_invoice = ?
            """, arguments: [creditedInvoice])
        for row in rows {
            let quantity = Decimal(exactly: Substring(row["quantity"] as String)) ?? 0
            result[DeliveredArticle(orderNumber: row["order_number"], articleNumber: row["article_number"]), default: 0] += quantity
        }
        return result
    }

    func customersWithUninvoicedOrders() throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT DISTINCT customer_number FROM orders WHERE invoice_number IS NULL AND status = 'completed' ORDER BY customer_number
            """)
    }

    func lastCutOff(customerNumber: String) throws -> Date? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT last_cut_off FROM collective_cut_offs WHERE customer_number = ?"),
                            arguments: [customerNumber]).map(Date.init(ledgerText:))
    }

    func setLastCutOff(_ cutOff: Date?, customerNumber: String) throws {
        guard let cutOff else {
            return try run("DELETE FROM collective_cut_offs WHERE customer_number = ?", [customerNumber])
        }
        try run("""
            INSERT INTO collective_cut_offs (customer_number, last_cut_off) VALUES (?, ?)
            ON CONFLICT(customer_number) DO UPDATE SET last_cut_off = excluded.last_cut_off
            """, [customerNumber, cutOff.ledgerText])
    }

    func nextSequence(series: String, first: Int) throws -> Int {
        let next = try Int.fetchOne(db.cachedStatement(sql: "SELECT next FROM number_series WHERE name = ?"), arguments: [series]) ?? first
        try run("INSERT INTO number_series (name, next) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET next = excluded.next", [series, next + 1])
        return next
    }

    func insertInvoice(_ invoice: Invoice, at: Date, event: String, detail: String?) throws {
        let t = invoice.totals
        let customerHash = try snapshot(invoice.customer)
        try run("""
            INSERT INTO invoices (number, kind, status, customer_number, credited_invoice, issue_date, due_date, currency,
                net, vat, rounding, payable, ocr, customer_hash, body, created_at, method, ordering_customer)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [invoice.number, invoice.kind.rawValue, invoice.status.rawValue, invoice.customer.customerNumber,
                  invoice.creditedInvoiceNumber, invoice.issueDate.description, invoice.dueDate.description, invoice.currency,
                  t.net.plainText, t.vat.plainText, t.rounding.plainText, t.payable.plainText, invoice.ocr, customerHash,
                  try encode(StoredInvoice(invoice)), at.ledgerText, invoice.method?.rawValue, invoice.orderingCustomerNumber])
        for line in invoice.lines {
            try run("""
                INSERT INTO invoice_lines (invoice_number, position, article_number, description, quantity, unit, unit_price,
                    discount_percent, vat_rate, gross_amount, discount_amount, net, order_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [invoice.number, line.position, line.articleNumber, line.description, line.quantity.plainText, line.unit,
                      line.unitPrice.plainText, line.discountPercent?.plainText, line.vatRate.rawValue, line.grossAmount.plainText,
                      line.discountAmount.plainText, line.net.plainText, line.orderNumber])
        }
        try appendHistory(invoice: invoice.number, HistoryEntry(at: at, status: invoice.status, event: event, detail: detail))
    }

    /// The hash of the customer snapshot, stored once per distinct content.
    private func snapshot(_ customer: Customer) throws -> String {
        if let hash = customers.hash(of: customer) { return hash }
        let body = try encode(customer)
        let hash = SHA256.hex(Array(body.utf8))
        try run("INSERT OR IGNORE INTO customer_versions (hash, body) VALUES (?, ?)", [hash, body])
        customers.remember(customer, hash: hash)
        return hash
    }

    private func customer(hash: String) throws -> Customer {
        if let customer = customers.customer(hash: hash) { return customer }
        guard let body = try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM customer_versions WHERE hash = ?"), arguments: [hash]) else {
            throw DatabaseError(message: "the ledger has no customer snapshot \(hash)")
        }
        let customer = try decode(Customer.self, body)
        customers.remember(customer, hash: hash)
        return customer
    }

    private func lines(of number: String) throws -> [InvoiceLine] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM invoice_lines WHERE invoice_number = ? ORDER BY position"), arguments: [number]).map {
            InvoiceLine(position: $0["position"], articleNumber: $0["article_number"], description: $0["description"],
                        quantity: decimal($0["quantity"]), unit: $0["unit"], unitPrice: decimal($0["unit_price"]),
                        discountPercent: ($0["discount_percent"] as String?).map(decimal),
                        vatRate: VATRate(rawValue: $0["vat_rate"]) ?? .twentyFive, grossAmount: decimal($0["gross_amount"]),
                        discountAmount: decimal($0["discount_amount"]), net: decimal($0["net"]), orderNumber: $0["order_number"])
        }
    }

    private func decimal(_ text: String) -> Decimal { Decimal(exactly: Substring(text)) ?? 0 }

    /// Rebuilds an invoice from its row (which must hold number, status, customer_hash, body).
    private func invoice(from row: Row) throws -> Invoice {
        let number: String = row["number"]
        var invoice = try decode(StoredInvoice.self, row["body"]).invoice(customer: try customer(hash: row["customer_hash"]), lines: try lines(of: number))
        invoice.status = InvoiceStatus(rawValue: row["status"]) ?? invoice.status
        return invoice
    }

    func status(ofInvoice number: String) throws -> InvoiceStatus? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM invoices WHERE number = ?"), arguments: [number])
            .flatMap(InvoiceStatus.init(rawValue:))
    }

    func invoice(_ number: String) throws -> InvoiceRecord? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT number, body, status, customer_hash, paid, reminder_count, reminder_date FROM invoices WHERE number = ?"), arguments: [number]) else {
            return nil
        }
        return try record(row, number: number)
    }

    private func record(_ row: Row, number: String) throws -> InvoiceRecord {
        let invoice = try invoice(from: row)
        let files = try String.fetchAll(db.cachedStatement(sql: "SELECT path FROM invoice_files WHERE invoice_number = ? ORDER BY path"),
                                        arguments: [number])
        return InvoiceRecord(invoice: invoice, files: files, paid: decimal(row["paid"]), reminderCount: (row["reminder_count"] as Int?) ?? 0,
                             reminderDate: (row["reminder_date"] as String?).flatMap(CivilDate.init))
    }

    func apply(_ event: InvoiceLifecycle.Event, toInvoice number: String, at: Date) throws -> InvoiceStatus {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, pending_kind, pending_return FROM invoices WHERE number = ?"),
                                         arguments: [number]),
              let status = InvoiceStatus(rawValue: row["status"]) else {
            throw UnknownInvoiceError(number: number)
        }
        let pending = (row["pending_kind"] as String?).flatMap(InvoiceLifecycle.PendingSend.Kind.init(rawValue:)).map {
            InvoiceLifecycle.PendingSend(kind: $0, returnTo: (row["pending_return"] as String?).flatMap(InvoiceStatus.init(rawValue:)) ?? .ready)
        }
        let before = InvoiceLifecycle(status: status, pending: pending)
        let after = try before.applying(event)
        if after != before {
            // A send that begins starts the undo window (D14); one that ends clears it.
            let startsSend = after.pending != nil && (before.pending == nil || event.startsSend)
            try run("""
                UPDATE invoices SET status = ?, pending_kind = ?, pending_return = ?,
                    pending_since = CASE WHEN ? THEN ? WHEN ? THEN NULL ELSE pending_since END WHERE number = ?
                """, [after.status.rawValue, after.pending?.kind.rawValue, after.pending?.returnTo.rawValue,
                      startsSend, at.ledgerText, after.pending == nil, number])
        }
        switch event {
        case .reminded(let date, _):
            // D7: one more reminder, dated.
            try run("""
                UPDATE invoices SET reminder_count = reminder_count + 1, reminder_date_before = reminder_date, reminder_date = ? WHERE number = ?
                """, [date.description, number])
        case .sendFailed where before.pending?.kind == .reminder:
            // D8: the count down by one and the date back to its earlier value.
            try run("""
                UPDATE invoices SET reminder_count = MAX(reminder_count - 1, 0), reminder_date = reminder_date_before, reminder_date_before = NULL
                WHERE number = ?
                """, [number])
        default:
            break
        }
        try appendHistory(invoice: number, HistoryEntry(at: at, status: after.status, event: event.name, detail: event.detail))
        return after.status
    }

    private func appendHistory(invoice number: String, _ entry: HistoryEntry) throws {
        try run("INSERT INTO invoice_history (invoice_number, at, status, event, detail) VALUES (?, ?, ?, ?, ?)",
                [number, entry.at.ledgerText, entry.status.rawValue, entry.event, entry.detail])
    }

    func history(invoice number: String) throws -> [HistoryEntry] {
        try Row.fetchAll(db, sql: "SELECT * FROM invoice_history WHERE invoice_number = ? ORDER BY id", arguments: [number]).map {
            HistoryEntry(at: Date(ledgerText: $0["at"]), status: InvoiceStatus(rawValue: $0["status"]) ?? .ready,
                         event: $0["event"], detail: $0["detail"])
        }
    }

    func addFile(invoice number: String, path: String) throws {
        try run("INSERT OR IGNORE INTO invoice_files (invoice_number, path) VALUES (?, ?)", [number, path])
    }

    func unpublishedInvoices(concerning customerNumber: String) throws -> [Invoice] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT number, body, status, customer_hash FROM invoices WHERE published = 0 AND status IN ('review', 'ready')
            AND (customer_number = ? OR customer_hash IN (SELECT hash FROM customer_versions WHERE json_extract(body, '$.organisation') = ?))
            ORDER BY rowid
            """), arguments: [customerNumber, customerNumber]).map { try invoice(from: $0) }
    }

    func saveDistribution(of invoice: Invoice) throws {
        try run("UPDATE invoices SET body = ?, method = ?, publish_error = NULL WHERE number = ? AND published = 0",
                [try encode(StoredInvoice(invoice)), invoice.method?.rawValue, invoice.number])
    }

    func waitingSends(by methods: Set<DistributionMethod>) throws -> [WaitingSend] {
        let list = methods.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        guard !methods.isEmpty else { return [] }
        return try Row.fetchAll(db, sql: """
            SELECT number, method, pending_since FROM invoices
            WHERE status = 'waiting' AND pending_kind = 'invoice' AND method IN (\(list)) AND pending_since IS NOT NULL
            """).compactMap { row in
            guard let method = DistributionMethod(rawValue: row["method"]) else { return nil }
            return WaitingSend(invoiceNumber: row["number"], method: method, since: Date(ledgerText: row["pending_since"]))
        }
    }

    func waitingSince(invoice number: String) throws -> Date? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT pending_since FROM invoices WHERE number = ? AND status = 'waiting' AND pending_kind = 'invoice'"), arguments: [number])
            .map { Date(ledgerText: $0) }
    }

    func invoicesToPublish(limit: Int, lines lineBudget: Int) throws -> [Invoice] {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT number, body, status, customer_hash,
                   (SELECT COUNT(*) FROM invoice_lines l WHERE l.invoice_number = invoices.number) AS line_count
            FROM invoices WHERE published = 0 AND publish_error IS NULL
            AND status IN ('ready', 'paid') ORDER BY rowid LIMIT ?
            """), arguments: [limit])
        var invoices: [Invoice] = []
        var lines = 0
        while lines < lineBudget, let row = try rows.next() {
            lines += row["line_count"] as Int
            invoices.append(try invoice(from: row))
        }
        return invoices
    }

    func markPublished(invoice number: String, at: Date) throws {
        try run("UPDATE invoices SET published = 1, publish_error = NULL WHERE number = ?", [number])
    }

    func markPublishFailed(invoice number: String, at: Date, reason: String) throws {
        try run("UPDATE invoices SET publish_error = ? WHERE number = ?", [reason, number])
    }

    func retryFailedPublications() throws {
        try run("UPDATE invoices SET publish_error = NULL WHERE publish_error IS NOT NULL")
    }

    func addPayment(_ payment: Payment, at: Date) throws -> Decimal {
        try run("INSERT INTO payments (invoice_number, amount, paid_at, at) VALUES (?, ?, ?, ?)",
                [payment.invoiceNumber, payment.amount.plainText, payment.paidAt.ledgerText, at.ledgerText])
        let amounts = try String.fetchAll(db, sql: "SELECT amount FROM payments WHERE invoice_number = ?", arguments: [payment.invoiceNumber])
        let total = amounts.reduce(Decimal(0)) { $0 + (Decimal(exactly: Substring($1)) ?? 0) }
        try run("UPDATE invoices SET paid = ? WHERE number = ?", [total.plainText, payment.invoiceNumber])
        return total
    }

    func replaceEntryProblems(_ problems: [EntryProblemRecord]) throws {
        try run("DELETE FROM inbox_problems")
        for problem in problems {
            try run("INSERT INTO inbox_problems (name, reason, at) VALUES (?, ?, ?)", [problem.name, problem.reason, problem.at.ledgerText])
        }
    }

    func entryProblems() throws -> [EntryProblemRecord] {
        try Row.fetchAll(db, sql: "SELECT name, reason, at FROM inbox_problems ORDER BY rowid").map {
            EntryProblemRecord(name: $0["name"], reason: $0["reason"], at: Date(ledgerText: $0["at"]))
        }
    }

    func overpaidInvoices() throws -> [(number: String, payable: Decimal, paid: Decimal)] {
        // The amounts are exact decimal text; SQLite's REAL only narrows the rows, Decimal decides.
        try Row.fetchAll(db, sql: "SELECT number, payable, paid FROM invoices WHERE kind != 'credit' AND CAST(paid AS REAL) >= CAST(payable AS REAL) AND paid != '0' ORDER BY rowid")
            .map { (number: $0["number"] as String, payable: decimal($0["payable"]), paid: decimal($0["paid"])) }
            .filter { $0.paid > $0.payable }
    }

    func invoices(status: InvoiceStatus?, customerNumber: String?) throws -> [InvoiceRecord] {
        var sql = "SELECT number, body, status, customer_hash, paid, reminder_count, reminder_date FROM invoices WHERE 1 = 1"
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let status { sql += " AND status = ?"; arguments.append(status.rawValue) }
        if let customerNumber {
            sql += " AND (customer_number = ? OR ordering_customer = ?)"
            arguments.append(customerNumber)
            arguments.append(customerNumber)
        }
        sql += " ORDER BY rowid"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { try record($0, number: $0["number"]) }
    }

    func countsByStatus() throws -> [InvoiceStatus: Int] {
        var result: [InvoiceStatus: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM invoices GROUP BY status") {
            if let status = InvoiceStatus(rawValue: row["status"]) { result[status] = row["n"] }
        }
        return result
    }

    func refusedFiles() throws -> [RefusedFileRecord] {
        try Row.fetchAll(db, sql: "SELECT name, at, outcome FROM processed_files WHERE outcome LIKE 'refused%' ORDER BY at").map {
            RefusedFileRecord(name: $0["name"], at: Date(ledgerText: $0["at"]), reason: $0["outcome"])
        }
    }

    func failedPublications() throws -> [(number: String, reason: String)] {
        try Row.fetchAll(db, sql: "SELECT number, publish_error FROM invoices WHERE publish_error IS NOT NULL ORDER BY rowid").map {
            (number: $0["number"], reason: $0["publish_error"])
        }
    }

    func invoiceNumber(forFile path: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT invoice_number FROM invoice_files WHERE path = ?"), arguments: [path])
    }

    func invoiceNumbers(forFile path: String) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT invoice_number FROM invoice_files WHERE path = ? ORDER BY invoice_number"), arguments: [path])
    }

    func files(under prefix: String) throws -> [String] {
        let escaped = prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return try String.fetchAll(db, sql: "SELECT DISTINCT path FROM invoice_files WHERE path LIKE ? ESCAPE '\\' ORDER BY path", arguments: [escaped + "%"])
    }

    func moveFile(invoice number: String, from: String, to: String) throws {
        try run("UPDATE invoice_files SET path = ? WHERE invoice_number = ? AND path = ?", [to, number, from])
    }

    func undeliveredFiles(invoice number: String) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: """
            SELECT path FROM invoice_files WHERE invoice_number = ? AND path NOT LIKE 'sent/%' AND path NOT LIKE '%/sent/%' ORDER BY path
            """), arguments: [number])
    }

    func delivery(destination: String, path: String) throws -> DeliveryRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM deliveries WHERE destination = ? AND path = ?"), arguments: [destination, path])
            .map(deliveryRecord)
    }

    func saveDelivery(_ r: DeliveryRecord) throws {
        try run("""
            INSERT OR REPLACE INTO deliveries (destination, path, invoice_number, remote_path, size, sha256, state, attempts, error, at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [r.destination, r.path, r.invoiceNumber, r.remotePath, r.size, r.sha256, r.state.rawValue, r.attempts, r.error, r.at.ledgerText])
    }

    func retryFailedDeliveries(invoice number: String) throws -> Int {
        try run("""
            DELETE FROM deliveries WHERE state = 'failed' AND path IN (SELECT path FROM invoice_files WHERE invoice_number = ?)
            """, [number])
        return db.changesCount
    }

    func requestReminder(invoice number: String, at: Date) throws {
        try run("INSERT OR IGNORE INTO reminder_requests (invoice_number, at) VALUES (?, ?)", [number, at.ledgerText])
    }

    func requestedReminders() throws -> [String] {
        try String.fetchAll(db, sql: "SELECT invoice_number FROM reminder_requests ORDER BY at, invoice_number")
    }

    func clearReminderRequests(_ numbers: [String]) throws {
        for number in numbers { try run("DELETE FROM reminder_requests WHERE invoice_number = ?", [number]) }
    }

    func lastDeliveries() throws -> [String: Date] {
        var result: [String: Date] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT destination, MAX(at) AS last FROM deliveries WHERE state = 'delivered' GROUP BY destination") {
            result[row["destination"]] = Date(ledgerText: row["last"])
        }
        return result
    }

    func oldestWaitingInvoice() throws -> WaitingInvoice? {
        let unpublished = try Row.fetchOne(db, sql: """
            SELECT number, created_at FROM invoices WHERE published = 0 AND publish_error IS NULL AND status IN ('ready', 'paid')
            ORDER BY rowid LIMIT 1
            """).map { WaitingInvoice(number: $0["number"], stage: .publishing, since: Date(ledgerText: $0["created_at"])) }
        let unsent = try Row.fetchOne(db, sql: """
            SELECT number, pending_since FROM invoices WHERE status = 'waiting' AND pending_since IS NOT NULL
            ORDER BY pending_since LIMIT 1
            """).map { WaitingInvoice(number: $0["number"], stage: .sending, since: Date(ledgerText: $0["pending_since"])) }
        return [unpublished, unsent].compactMap { $0 }.min { $0.since < $1.since }
    }

    func recordHeartbeat(by holder: String, at: Date) throws {
        try run("INSERT OR REPLACE INTO service_heartbeat (id, holder, at) VALUES (1, ?, ?)", [holder, at.ledgerText])
    }

    func failedDeliveries() throws -> [DeliveryRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM deliveries WHERE state = 'failed' ORDER BY at").map(deliveryRecord)
    }

    private func deliveryRecord(_ row: Row) -> DeliveryRecord {
        DeliveryRecord(destination: row["destination"], path: row["path"], invoiceNumber: row["invoice_number"],
                       remotePath: row["remote_path"], size: row["size"], sha256: row["sha256"],
                       state: DeliveryRecord.State(rawValue: row["state"]) ?? .failed, attempts: row["attempts"],
                       error: row["error"], at: Date(ledgerText: row["at"]))
    }
}
