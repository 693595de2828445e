import Foundation
import GatewayCore
import GatewayTestKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `gateway run` as its users run it: a child process on a home, files renamed into inbox/,
/// a real sshd on the other side, stopped with SIGTERM.
@Suite(.serialized, .enabled(if: haveBinary, "needs the gateway binary (swift build)"))
struct GatewayRunTests {
    /// A running `gateway run`; its log (stderr) in the home's service.log.
    struct Service {
        let home: URL
        let process: Subprocess
        init(home: URL, options: String = "") throws {
            self.home = home
            process = try Subprocess("/bin/sh", ["-c", "exec '\(gatewayBinary.path)' run \(options) --home '\(home.path)' 2>>'\(home.path)/service.log'"])
        }
        var log: String { (try? String(contentsOf: home.appendingPathComponent("service.log"), encoding: .utf8)) ?? "" }
        /// SIGTERM, then the exit status and how long the stop took.
        func stop() -> (status: Int32, seconds: Double) {
            let start = Date()
            kill(process.pid, SIGTERM)
            let status = process.wait().status
            return (status, Date().timeIntervalSince(start))
        }
    }

    /// Waits up to `timeout` seconds for `condition`.
    func eventually(_ timeout: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// Written under a temporary name and renamed into place, as the contract asks of writers.
    func dropByRename(_ text: String, as name: String, in home: URL) throws {
        try drop(text, as: ".\(name).part", in: home)
        let inbox = home.appendingPathComponent("inbox")
        #expect(rename(inbox.appendingPathComponent(".\(name).part").path, inbox.appendingPathComponent(name).path) == 0)
    }

    func gateway(_ arguments: String, home: URL) throws -> (status: Int32, output: String) {
        try Subprocess.run("/bin/sh", ["-c", "'\(gatewayBinary.path)' \(arguments) --home '\(home.path)' 2>&1"])
    }

    /// The files under their final names (an upload in progress has a temporary one).
    func remoteFiles(_ server: TestSFTPServer, _ folder: String = "pagero") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: server.root + "/" + folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test(.enabled(if: TestSFTPServer.isAvailable, "needs OpenSSH's sshd at /usr/sbin/sshd (scripts/setup installs it)"))
    func aFileDroppedInTheInboxIsInvoicedAndDeliveredWithoutACommand() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let home = try makeHome()
        try addSettings(server.destination(), to: home)
        // A file there before the start is taken too; what a crash left half-written in the outbox is removed.
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "first.json", in: home)
        let leftover = home.appendingPathComponent("outbox/pagero/.test_1001_x.xml.tmp")
        try FileManager.default.createDirectory(at: leftover.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("<Invoice".utf8).write(to: leftover)
        let service = try Service(home: home)
        #expect(eventually { remoteFiles(server).count == 1 }, "\(service.log)")
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        #expect(service.log.contains("file=outbox/pagero/.test_1001_x.xml.tmp"), "\(service.log)")

        try dropByRename("[\(order("O2", customer: "K1")), \(order("O3", customer: "K1"))]", as: "second.json", in: home)
        #expect(eventually { remoteFiles(server).count == 3 }, "\(service.log)")
        #expect(eventually { ((try? FileManager.default.contentsOfDirectory(atPath: server.root + "/pagero")) ?? []).count == 3 }, "a temporary name is left")

        // One service per home; the batch commands say the service does their work; reading works.
        let second = try gateway("run", home: home)
        #expect(second.status != 0 && second.output.contains("a gateway service already runs on") && second.output.contains("pid \(service.process.pid)"),
                "\(second.output)")
        let process = try gateway("process", home: home)
        #expect(process.status != 0 && process.output.contains("does this work itself"), "\(process.output)")
        let push = try gateway("push", home: home)
        #expect(push.status != 0 && push.output.contains("does this work itself"), "\(push.output)")
        let status = try gateway("status", home: home)
        #expect(status.status == 0 && status.output.contains("service: running (pid \(service.process.pid), `gateway run`, since"), "\(status.output)")
        let backup = home.appendingPathComponent("backup.sqlite").path
        let copied = try gateway("backup '\(backup)'", home: home)
        #expect(copied.status == 0 && copied.output.contains("ledger copied to"), "\(copied.output)")
        #expect(try gateway("invoices list", home: home).output == (try Subprocess.run("/bin/sh", ["-c",
            "mkdir -p '\(home.path)/restored' && cp -r '\(home.path)/mappings' '\(home.path)/templates' '\(home.path)/restored/' && "
            + "sed 's#^ledger:.*##' '\(home.path)/gateway.yml' > '\(home.path)/restored/gateway.yml' && cp '\(backup)' '\(home.path)/restored/ledger.sqlite' && "
            + "'\(gatewayBinary.path)' invoices list --home '\(home.path)/restored' 2>&1"]).output))
        let list = try gateway("invoices list", home: home)
        #expect(list.status == 0 && list.output.contains("1003"), "\(list.output)")

        let stop = service.stop()
        #expect(stop.status == 0, "\(service.log)")
        #expect(stop.seconds < 10)
        #expect(service.log.contains("gateway service started") && service.log.contains("gateway service stopped"), "\(service.log)")
        // The home is free again.
        #expect(try gateway("process", home: home).status == 0)
        #expect(try gateway("status", home: home).output.contains("service: not running"))
    }

    @Test func pollingFindsFilesWhereInotifyCannotSeeAndTheLogCanBeJSON() throws {
        let home = try makeHome()
        try addSettings("service: {watch: poll, pollSeconds: 1}", to: home)
        let service = try Service(home: home, options: "--log-format json")
        #expect(eventually { service.log.contains(#""watch":"poll""#) }, "\(service.log)")
        try dropByRename("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "orders.json", in: home)
        #expect(eventually { files(in: home.appendingPathComponent("outbox/pagero")).count == 1 }, "\(service.log)")
        #expect(service.stop().status == 0)
        let lines = service.log.split(separator: "\n").filter { $0.hasPrefix("{") }
        let entries = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        #expect(entries.count == lines.count && !entries.isEmpty, "\(service.log)")
        #expect(entries.contains { $0["message"] == "processed the inbox" && $0["accepted"] == "1" && $0["published"] == "1" && $0["level"] == "info" },
                "\(service.log)")
        #expect(entries.allSatisfy { $0["time"] != nil })
    }

    @Test func operatorCommandsAreHandedToTheServiceThroughTheInbox() throws {
        let home = try makeHome()
        let service = try Service(home: home)
        try dropByRename("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "orders.json", in: home)
        #expect(eventually { files(in: home.appendingPathComponent("outbox/pagero")).count == 1 }, "\(service.log)")

        let credit = try gateway("credit 1001", home: home)
        #expect(credit.status == 0 && credit.output.contains("handing `credit` to it through inbox/")
                && credit.output.contains("1001: applied by the service"), "\(credit.output)")
        let shown = try gateway("invoices show 1002", home: home)
        #expect(shown.output.contains("1001"), "the credit invoice names the invoice it credits:\n\(shown.output)")

        // Refused with the reason; the same command again is handed over again, not taken for a duplicate file.
        for _ in 1...2 {
            let unknown = try gateway("approve 9999", home: home)
            #expect(unknown.status != 0 && unknown.output.contains("the service refused `approve`")
                    && unknown.output.contains("invoiceNumber: expected the number of an invoice, found 9999"), "\(unknown.output)")
        }
        let all = try gateway("remind", home: home)
        #expect(all.status != 0 && all.output.contains("reminders are off"), "\(all.output)")
        #expect(service.stop().status == 0)
    }

    @Test func theDaysRemindersAreWrittenAtStartAndAtTheirTime() throws {
        let home = try makeHome()
        try addSettings("distribution: {reminders: {enabled: true, daysAfterDue: 5, fee: 60, newDueDays: 10}}\nservice: {remindAt: \"07:30\"}", to: home)
        try drop("[\(customer("P1", kind: "person", extra: #", "invoiceSettings": {"distributionMethod": "own-printer"}"#)), \(order("O1", customer: "P1"))]",
                 as: "1.json", in: home)
        #expect(try Subprocess.run("/bin/sh", ["-c", "GATEWAY_NOW=2026-11-25T10:00:00+01:00 '\(gatewayBinary.path)' process --home '\(home.path)'"]).status == 0)
        // Terms of 30 days: due 2026-12-25, a reminder due from 2026-12-30.
        let service = try Subprocess("/bin/sh", ["-c", "GATEWAY_NOW=2027-01-04T12:00:00+01:00 exec '\(gatewayBinary.path)' run --home '\(home.path)' 2>>'\(home.path)/service.log'"])
        let log = { (try? String(contentsOf: home.appendingPathComponent("service.log"), encoding: .utf8)) ?? "" }
        #expect(eventually { log().contains("reminders written") }, "\(log())")
        #expect(log().contains("invoices=1001"))
        // `remind` without numbers while the service runs: those due now, handed over; none are left.
        let again = try Subprocess.run("/bin/sh", ["-c", "GATEWAY_NOW=2027-01-04T12:00:00+01:00 '\(gatewayBinary.path)' remind --home '\(home.path)' 2>&1"])
        #expect(again.status == 0 && again.output.contains("no invoice is due a reminder now"), "\(again.output)")
        kill(service.pid, SIGTERM)
        #expect(service.wait().status == 0)
        #expect(try gateway("invoices show 1001", home: home).output.contains("reminder"))
    }

    @Test func sighupReloadsTheConfigurationAndRefusesABrokenOne() throws {
        let home = try makeHome()
        let service = try Service(home: home)
        #expect(eventually { service.log.contains("gateway service started") }, "\(service.log)")
        let settings = home.appendingPathComponent("gateway.yml")
        let original = try String(contentsOf: settings, encoding: .utf8)

        // Broken: refused with the reason, and the service goes on as it was.
        try (original + "\nnoSuchSetting: 1\n").write(to: settings, atomically: true, encoding: .utf8)
        kill(service.process.pid, SIGHUP)
        #expect(eventually { service.log.contains("refused the new configuration; the running one is kept") }, "\(service.log)")
        #expect(service.log.contains("noSuchSetting"), "\(service.log)")
        try dropByRename("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "first.json", in: home)
        let pagero = home.appendingPathComponent("outbox/pagero")
        #expect(eventually { files(in: pagero).count == 1 }, "\(service.log)")
        #expect(try String(contentsOf: pagero.appendingPathComponent(files(in: pagero)[0]), encoding: .utf8).contains("urn:cen.eu:en16931:2017"))

        // Fixed, with Svefaktura as the default format: the next invoice is made by it.
        try original.replacingOccurrences(of: "format: peppol-bis3", with: "format: svefaktura").write(to: settings, atomically: true, encoding: .utf8)
        kill(service.process.pid, SIGHUP)
        #expect(eventually { service.log.contains("reloaded gateway.yml") }, "\(service.log)")
        try dropByRename("[\(order("O2", customer: "K1"))]", as: "second.json", in: home)
        #expect(eventually { files(in: pagero).count == 2 }, "\(service.log)")
        let second = try #require(files(in: pagero).first { $0.contains("_1002_") })
        #expect(try String(contentsOf: pagero.appendingPathComponent(second), encoding: .utf8).contains("urn:sfti:documents:BasicInvoice"))
        // The reloaded gateway holds the home: the batch commands are still refused.
        #expect(try gateway("process", home: home).output.contains("does this work itself"))
        #expect(service.stop().status == 0)
    }

    @Test(.enabled(if: TestSFTPServer.isAvailable, "needs OpenSSH's sshd at /usr/sbin/sshd (scripts/setup installs it)"))
    func aScheduledDestinationRunsAtStartAndThenAtItsTimesOnly() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let home = try makeHome()
        // Twice a day, at times this test does not reach (the next one is hours away at the least).
        let now = Date()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Stockholm")!
        let hour = calendar.component(.hour, from: now)
        let times = [(hour + 6) % 24, (hour + 12) % 24].map { String(format: "%02d:00", $0) }
        try addSettings(server.destination() + "\n    schedule: {at: [\(times.joined(separator: ", "))]}", to: home)
        // Published while the service was down: the missed run delivers it at start.
        try drop("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "first.json", in: home)
        #expect(try gateway("process", home: home).status == 0)
        let service = try Service(home: home)
        #expect(eventually { remoteFiles(server).count == 1 }, "\(service.log)")
        #expect(service.log.contains("destination=pagero schedule=at \(times.sorted().joined(separator: ", ")) (Europe/Stockholm)"), "\(service.log)")
        // Published now: it waits in the outbox for the next time.
        try dropByRename("[\(order("O2", customer: "K1"))]", as: "second.json", in: home)
        #expect(eventually { service.log.contains("published=1") && service.log.contains("accepted=1") }, "\(service.log)")
        sleep(1)
        #expect(remoteFiles(server).count == 1)
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).filter { $0.hasSuffix(".xml") }.count == 1)
        #expect(service.stop().status == 0)
    }

    @Test(.enabled(if: TestSFTPServer.isAvailable, "needs OpenSSH's sshd at /usr/sbin/sshd (scripts/setup installs it)"))
    func aHangingServerHoldsUpItsSendsButNeverTheInbox() throws {
        let server = try #require(try TestSFTPServer())
        let silent = try SilentServer()
        let home = try makeHome()
        try addSettings(server.destination(port: silent.port, attempts: 1, timeout: 10), to: home)
        let service = try Service(home: home)
        let pagero = home.appendingPathComponent("outbox/pagero")
        try dropByRename("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "first.json", in: home)
        #expect(eventually { files(in: pagero).count == 1 }, "\(service.log)")
        // The push of 1001 now waits up to 10 s for a server that never answers; the inbox goes on.
        let dropped = Date()
        try dropByRename("[\(order("O2", customer: "K1"))]", as: "second.json", in: home)
        #expect(eventually(8) { files(in: pagero).count == 2 }, "\(service.log)")
        #expect(Date().timeIntervalSince(dropped) < 8, "published behind the hanging push")
        #expect(eventually(30) { service.log.contains("delivery failed") || service.log.contains("failed=") }, "\(service.log)")
        #expect(try gateway("status", home: home).output.contains("1001"))
        #expect(service.stop().status == 0)
    }

    @Test(.enabled(if: TestSFTPServer.isAvailable, "needs OpenSSH's sshd at /usr/sbin/sshd (scripts/setup installs it)"))
    func metricsHealthAndALogLinePerFileInvoiceAndSend() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let home = try makeHome()
        let port = try freeLoopbackPort()
        try addSettings(server.destination() + "\nservice: {http: \"127.0.0.1:\(port)\"}", to: home)
        let service = try Service(home: home)
        // Dropped once the start's runs are done, so that the watcher's run takes them (and times their pickup).
        #expect(eventually { service.log.contains("metrics and health served") }, "\(service.log)")
        usleep(300_000)
        try dropByRename("[\(customer("K1")), \(order("O1", customer: "K1"))]", as: "good.json", in: home)
        try dropByRename("[{\"type\": \"order\"}]", as: "bad.json", in: home)
        #expect(eventually { remoteFiles(server).count == 1 && service.log.contains("file delivered") }, "\(service.log)")
        #expect(eventually { service.log.contains("file=bad.json") }, "\(service.log)")
        let log = service.log
        #expect(log.contains("inbox file taken") && log.contains("file=good.json") && log.contains("outcome=accepted"), "\(log)")
        #expect(log.contains("outcome=refused") && log.contains("documentsRefused=1"), "\(log)")
        #expect(log.contains("invoice published") && log.contains("invoice=1001") && log.contains("customer=K1") && log.contains("formats=peppol-bis3"), "\(log)")
        #expect(log.contains("destination=pagero") && log.contains("to=\(server.root)/pagero/"), "\(log)")
        #expect(log.contains("metrics and health served") && log.contains("http://127.0.0.1:\(port)"), "\(log)")

        let health = try httpGet("http://127.0.0.1:\(port)/health")
        #expect(health.status == 200, "\(health.body)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any], "\(health.body)")
        #expect(report["status"] as? String == "ok" && report["watcher"] as? String == "watching" && report["ledger"] as? String == "writable")
        #expect((report["lastDelivery"] as? [String: String])?["pagero"] != nil, "\(health.body)")
        #expect((report["nextRuns"] as? [String: String])?["due work"] != nil, "\(health.body)")

        let metrics = try httpGet("http://127.0.0.1:\(port)/metrics")
        #expect(metrics.status == 200)
        for line in [#"gateway_files_total{outcome="accepted"} 1"#, #"gateway_files_total{outcome="refused"} 1"#,
                     #"gateway_documents_total{outcome="accepted"} 2"#,
                     #"gateway_renders_total{mapping="peppol-bis3",outcome="published"} 1"#,
                     #"gateway_sends_total{destination="pagero",outcome="delivered"} 1"#,
                     #"gateway_invoices{status="sent"} 1.0"#, "gateway_failed_deliveries 0.0"] {
            #expect(metrics.body.split(separator: "\n").contains { $0 == line }, "\(line) in\n\(metrics.body)")
        }
        #expect(metrics.body.contains(#"gateway_delivery_run_seconds_count{run="unscheduled"}"#), "\(metrics.body)")
        #expect(metrics.body.contains("gateway_pickup_seconds_count "), "\(metrics.body)")

        let status = try gateway("status", home: home)
        #expect(status.output.contains("last delivered: pagero 20") && status.output.contains("next due work: 20"), "\(status.output)")

        // A ledger that cannot be written (here: another process holds SQLite's lock longer than the gateway waits) is a 503 with the reason.
        let holder = try Subprocess("/usr/bin/python3", ["-c", """
            import sqlite3, time
            db = sqlite3.connect('\(home.path)/ledger.sqlite', isolation_level=None)
            db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(15)
            """])
        usleep(500_000)
        let unhealthy = try httpGet("http://127.0.0.1:\(port)/health")
        kill(holder.pid, SIGTERM)
        _ = holder.wait()
        #expect(unhealthy.status == 503 && unhealthy.body.contains("the ledger cannot be written") && unhealthy.body.contains("locked"), "\(unhealthy.body)")
        #expect(try httpGet("http://127.0.0.1:\(port)/health").status == 200)
        #expect(service.stop().status == 0)
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent(".gateway-service.json").path))
    }
}
