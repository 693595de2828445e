import Foundation
import GatewayCore
import GRDB
import Invoicing

/// The embedded ledger: SQLite in WAL mode through GRDB, with migrations.
public final class SQLiteLedger: Ledger {
    private let pool: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL + NORMAL is durable across process crashes (kill -9); only a power loss can
            // drop the last transactions, never corrupt the file.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try SQLiteLedger.migrator.migrate(pool)
    }

    public func write<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T {
        try pool.write { db in try body(SQLiteTransaction(db: db)) }
    }

    public func read<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T {
        try pool.read { db in try body(SQLiteTransaction(db: db)) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE processed_files (
                    sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, outcome TEXT NOT NULL, at TEXT NOT NULL);
                CREATE TABLE document_versions (
                    type TEXT NOT NULL, key TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (type, key, hash)) WITHOUT ROWID;
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
                    body TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE INDEX invoices_to_publish ON invoices(published, status);
                CREATE TABLE invoice_lines (
                    invoice_number TEXT NOT NULL, position INTEGER NOT NULL, article_number TEXT NOT NULL,
                    description TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT, unit_price TEXT NOT NULL,
                    discount_percent TEXT, vat_rate INTEGER NOT NULL, net TEXT NOT NULL,
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
        return migrator
    }
}

private let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.dateEncodingStrategy = .iso8601
    return e
}()

private let decoder: JSONDecoder = {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    return d
}()

func encode<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T { try decoder.decode(type, from: Data(text.utf8)) }

extension Date {
    var ledgerText: String { Instant.format(self) }
    init(ledgerText: String) { self = Instant.parse(ledgerText) ?? Date(timeIntervalSince1970: 0) }
}

struct SQLiteTransaction: LedgerTransaction {
    let db: Database

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

    func saveCustomer(_ customer: Customer, at: Date) throws {
        try run("""
            INSERT INTO customers (number, kind, name, body, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(number) DO UPDATE SET kind = excluded.kind, name = excluded.name, body = excluded.body, updated_at = excluded.updated_at
            """, [customer.customerNumber, customer.kind.rawValue, customer.name, try encode(customer), at.ledgerText])
    }

    func order(_ number: String) throws -> StoredOrder? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT body, invoice_number FROM orders WHERE number = ?"), arguments: [number]).map {
            StoredOrder(order: try decode(Order.self, $0["body"]), invoiceNumber: $0["invoice_number"])
        }
    }

    func saveOrder(_ order: Order, at: Date) throws {
        try run("""
            INSERT INTO orders (number, customer_number, status, body, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(number) DO UPDATE SET customer_number = excluded.customer_number, status = excluded.status,
                body = excluded.body, updated_at = excluded.updated_at
            """, [order.orderNumber, order.customerNumber, order.status.rawValue, try encode(order), at.ledgerText])
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

    func saveReturn(_ returned: ReturnOrder, creditInvoiceNumber: String?, at: Date) throws {
        try run("""
            INSERT INTO returns (number, order_number, body, credit_invoice_number, at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(number) DO UPDATE SET credit_invoice_number = excluded.credit_invoice_number
            """, [returned.returnNumber, returned.orderNumber, try encode(returned), creditInvoiceNumber, at.ledgerText])
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

    func returnedQuantities(creditedInvoice: String) throws -> [String: Decimal] {
        var result: [String: Decimal] = [:]
        let rows = try Row.fetchAll(db, sql: """
            SELECT l.article_number, l.quantity FROM invoice_lines l JOIN invoices i ON i.number = l.invoice_number
            WHERE i.credited_invoice = ?
            """, arguments: [creditedInvoice])
        for row in rows {
            let quantity = Decimal(exactly: Substring(row["quantity"] as String)) ?? 0
            result[row["article_number"], default: 0] += quantity
        }
        return result
    }

    func nextSequence(series: String, first: Int) throws -> Int {
        let next = try Int.fetchOne(db.cachedStatement(sql: "SELECT next FROM number_series WHERE name = ?"), arguments: [series]) ?? first
        try run("INSERT INTO number_series (name, next) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET next = excluded.next", [series, next + 1])
        return next
    }

    func insertInvoice(_ invoice: Invoice, at: Date, event: String, detail: String?) throws {
        let t = invoice.totals
        try run("""
            INSERT INTO invoices (number, kind, status, customer_number, credited_invoice, issue_date, due_date, currency,
                net, vat, rounding, payable, ocr, body, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [invoice.number, invoice.kind.rawValue, invoice.status.rawValue, invoice.customer.customerNumber,
                  invoice.creditedInvoiceNumber, invoice.issueDate.description, invoice.dueDate.description, invoice.currency,
                  t.net.plainText, t.vat.plainText, t.rounding.plainText, t.payable.plainText, invoice.ocr,
                  try encode(invoice), at.ledgerText])
        for line in invoice.lines {
            try run("""
                INSERT INTO invoice_lines (invoice_number, position, article_number, description, quantity, unit, unit_price,
                    discount_percent, vat_rate, net) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [invoice.number, line.position, line.articleNumber, line.description, line.quantity.plainText, line.unit,
                      line.unitPrice.plainText, line.discountPercent?.plainText, line.vatRate.rawValue, line.net.plainText])
        }
        try appendHistory(invoice: invoice.number, HistoryEntry(at: at, status: invoice.status, event: event, detail: detail))
    }

    func invoice(_ number: String) throws -> InvoiceRecord? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT body, status FROM invoices WHERE number = ?"), arguments: [number]) else {
            return nil
        }
        return try record(row, number: number)
    }

    private func record(_ row: Row, number: String) throws -> InvoiceRecord {
        var invoice = try decode(Invoice.self, row["body"])
        invoice.status = InvoiceStatus(rawValue: row["status"]) ?? invoice.status
        let files = try String.fetchAll(db.cachedStatement(sql: "SELECT path FROM invoice_files WHERE invoice_number = ? ORDER BY path"),
                                        arguments: [number])
        return InvoiceRecord(invoice: invoice, files: files)
    }

    func setStatus(invoice number: String, to status: InvoiceStatus, at: Date, event: String, detail: String?) throws {
        try run("UPDATE invoices SET status = ? WHERE number = ?", [status.rawValue, number])
        try appendHistory(invoice: number, HistoryEntry(at: at, status: status, event: event, detail: detail))
    }

    func appendHistory(invoice number: String, _ entry: HistoryEntry) throws {
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

    func invoicesToPublish(limit: Int) throws -> [Invoice] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT body, status FROM invoices WHERE published = 0 AND publish_error IS NULL AND status IN ('ready', 'paid')
            ORDER BY rowid LIMIT ?
            """), arguments: [limit]).map {
            var invoice = try decode(Invoice.self, $0["body"])
            invoice.status = InvoiceStatus(rawValue: $0["status"]) ?? invoice.status
            return invoice
        }
    }

    func markPublished(invoice number: String, at: Date) throws {
        try run("UPDATE invoices SET published = 1, publish_error = NULL WHERE number = ?", [number])
    }

    func markPublishFailed(invoice number: String, at: Date, reason: String) throws {
        try run("UPDATE invoices SET publish_error = ? WHERE number = ?", [reason, number])
    }

    func addPayment(_ payment: Payment, at: Date) throws -> Decimal {
        try run("INSERT INTO payments (invoice_number, amount, paid_at, at) VALUES (?, ?, ?, ?)",
                [payment.invoiceNumber, payment.amount.plainText, payment.paidAt.ledgerText, at.ledgerText])
        let amounts = try String.fetchAll(db, sql: "SELECT amount FROM payments WHERE invoice_number = ?", arguments: [payment.invoiceNumber])
        return amounts.reduce(Decimal(0)) { $0 + (Decimal(exactly: Substring($1)) ?? 0) }
    }

    func invoices(status: InvoiceStatus?, customerNumber: String?) throws -> [InvoiceRecord] {
        var sql = "SELECT number, body, status FROM invoices WHERE 1 = 1"
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let status { sql += " AND status = ?"; arguments.append(status.rawValue) }
        if let customerNumber { sql += " AND customer_number = ?"; arguments.append(customerNumber) }
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
}
