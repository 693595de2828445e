import Checksums
import Delivery
import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

@Suite(.serialized, .enabled(if: TestSFTPServer.isAvailable, "needs OpenSSH's sshd at /usr/sbin/sshd (scripts/setup installs it)"))
struct SFTPDeliveryTests {
    /// A home with three published invoices and `destination` appended to its gateway.yml.
    func home(_ destination: String) throws -> (URL, Gateway) {
        let home = try makeHome()
        let config = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: config, encoding: .utf8) + "\n" + destination + "\n").utf8).write(to: config)
        try drop("[\(customer("K1")), \(order("O1", customer: "K1")), \(order("O2", customer: "K1")), \(order("O3", customer: "K1"))]",
                 as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        return (home, gateway)
    }

    func remoteFiles(_ server: TestSFTPServer, _ folder: String = "pagero") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: server.root + "/" + folder)) ?? []).sorted()
    }

    @Test func d4PushDeliversEveryFileOnceAndRecordsIt() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, gateway) = try home(server.destination())
        let summary = try gateway.push()
        #expect(summary.delivered == 3 && summary.failed == 0)
        #expect(remoteFiles(server).count == 3)
        #expect(!remoteFiles(server).contains { $0.hasPrefix(".") })
        #expect(files(in: home.appendingPathComponent("outbox/pagero")) == ["sent"])
        #expect(files(in: home.appendingPathComponent("outbox/pagero/sent")).count == 3)
        let (record, history) = try #require(try gateway.invoice("1001"))
        #expect(record.invoice.status == .sent)
        #expect(history.last?.detail?.contains("by SFTP to") == true)
        #expect(record.files.first?.hasPrefix("outbox/pagero/sent/") == true)
        // Byte for byte what was published.
        let local = try Data(contentsOf: home.appendingPathComponent(record.files[0]))
        let remote = try Data(contentsOf: URL(fileURLWithPath: server.root + "/pagero/" + URL(fileURLWithPath: record.files[0]).lastPathComponent))
        #expect(local == remote)
        // A second run has nothing to do.
        #expect(try gateway.push().delivered == 0)
    }

    /// Each file is announced by its done-marker right after its rename. A marker the server
    /// refuses fails that file alone: it stays in the outbox, and the retry finds it on the
    /// server, writes the marker and records it without sending it again.
    @Test func aDoneMarkerTheServerRefusesFailsThatFileAloneUntilRetried() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, gateway) = try home(server.destination() + "\n    doneMarker: .done")
        let outbox = home.appendingPathComponent("outbox/pagero")
        let refused = try #require(files(in: outbox).first)
        // A directory where the marker belongs: the server cannot create the marker file.
        let blocker = server.root + "/pagero/" + refused + ".done"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
        let first = try gateway.push()
        #expect(first.delivered == 2 && first.failed == 1, "\(first.errors)")
        #expect(first.errors.first?.contains("done-marker") == true, "\(first.errors)")
        #expect(Set(files(in: outbox)) == [refused, "sent"])
        for name in files(in: outbox.appendingPathComponent("sent")) {
            #expect(FileManager.default.fileExists(atPath: server.root + "/pagero/" + name + ".done"), "\(name) not announced")
        }
        let uploaded = try FileManager.default.attributesOfItem(atPath: server.root + "/pagero/" + refused)[.modificationDate] as? Date

        // Retried while the server still refuses its marker: found there, it fails again alone.
        try Data("extra".utf8).write(to: outbox.appendingPathComponent("extra.xml"))
        let again = try gateway.push(retryFailed: true)
        #expect(again.delivered == 1 && again.failed == 1, "\(again.errors)")
        #expect(Set(files(in: outbox)) == [refused, "sent"])
        #expect(FileManager.default.fileExists(atPath: server.root + "/pagero/extra.xml.done"))

        // D5: back to the status it had; the retry starts its send again (issue 11's lifecycle).
        let refusedInvoice = try #require(try gateway.ledger.read { try $0.invoiceNumber(forFile: "outbox/pagero/" + refused) })
        #expect(try gateway.invoice(refusedInvoice)?.0.invoice.status == .ready)

        try FileManager.default.removeItem(atPath: blocker)
        let second = try gateway.push(retryFailed: true)
        #expect(second.delivered == 0 && second.alreadyThere == 1 && second.failed == 0, "\(second.errors)")
        let (record, history) = try #require(try gateway.invoice(refusedInvoice))
        #expect(record.invoice.status == .sent)
        #expect(Array(history.map(\.event).suffix(5)) == ["send failed", "send started", "send failed", "send started", "sent"])
        #expect(FileManager.default.fileExists(atPath: blocker))
        #expect(try FileManager.default.attributesOfItem(atPath: server.root + "/pagero/" + refused)[.modificationDate] as? Date == uploaded)
        #expect(files(in: outbox) == ["sent"])
    }

    /// A file several times the bytes kept in flight, of a length no packet size divides,
    /// arrives byte for byte, and the ledger's SHA-256 is that of its content.
    /// An invoice is sent when the last of its files has left: Fortnox gets three payloads.
    @Test func anInvoiceWithSeveralFilesIsSentWhenTheLastHasLeft() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/fortnox", withIntermediateDirectories: true)
        let home = try makeHome()
        let config = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: config, encoding: .utf8) + "\n" + server.destination("fortnox", folder: "fortnox") + "\n").utf8).write(to: config)
        try drop("[\(customer("F1", extra: #", "invoiceSettings": {"system": "fortnox"}"#)), \(order("O1", customer: "F1"))]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        let number = try #require(try gateway.invoices().first?.invoice.number)
        #expect(try gateway.invoice(number)?.0.files.count == 3)
        let summary = try gateway.push()
        #expect(summary.delivered == 3 && summary.failed == 0, "\(summary.errors)")
        let (record, history) = try #require(try gateway.invoice(number))
        #expect(record.invoice.status == .sent)
        #expect(history.map(\.event).suffix(3) == ["file delivered", "file delivered", "sent"])
        #expect(history.filter { $0.event == "file delivered" }.allSatisfy { $0.status == .waiting })
    }

    @Test func aLargeFileArrivesByteForByteWithItsDigest() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, gateway) = try home(server.destination())
        var state: UInt32 = 2_463_534_242
        let bytes = Data((0..<(9 << 20) + 12_345).map { _ -> UInt8 in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        })
        try bytes.write(to: home.appendingPathComponent("outbox/pagero/print_package_1.xml"))
        let summary = try gateway.push()
        #expect(summary.delivered == 4 && summary.failed == 0)
        #expect(FileManager.default.contents(atPath: server.root + "/pagero/print_package_1.xml") == bytes)
        let record = try #require(try gateway.ledger.read { try $0.delivery(destination: "pagero", path: "outbox/pagero/print_package_1.xml") })
        #expect(record.size == bytes.count)
        #expect(record.sha256 == SHA256.hex(bytes))
    }

    /// Many files of awkward sizes (empty, one byte, around libssh2's packet size and the bytes
    /// kept in flight) interleave on the shared channels and each arrives byte for byte, on the
    /// first attempt: a request cut at a channel's window with the other file's request in its
    /// middle garbles that channel, which the server then waits on until the time-out (a retry
    /// would hide it).
    @Test func manyFilesOfAwkwardSizesArriveByteForByte() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, gateway) = try home(server.destination(attempts: 1))
        let sizes = [0, 1, 29_999, 30_000, 30_001, 65_536, (2 << 20) - 1, (2 << 20) + 1, 3 << 20]
        var state: UInt32 = 88_172_645
        let pattern = [UInt8]((0..<(4 << 20)).map { _ -> UInt8 in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        })
        var expected: [String: Data] = [:]
        for i in 0..<120 {
            let size = sizes[i % sizes.count] + i
            let bytes = Data(pattern[i..<(i + size)])
            let name = "file_\(i).xml"
            try bytes.write(to: home.appendingPathComponent("outbox/pagero/" + name))
            expected[name] = bytes
        }
        let summary = try gateway.push()
        #expect(summary.delivered == 123 && summary.failed == 0, "\(summary.errors)")
        #expect(!remoteFiles(server).contains { $0.hasPrefix(".") })
        for (name, bytes) in expected {
            #expect(FileManager.default.contents(atPath: server.root + "/pagero/" + name) == bytes, "\(name)")
        }
    }

    /// A file an interrupted run renamed into place yesterday, under a name with yesterday's
    /// `{date}`: today's run finds it there and does not send it again under today's name.
    /// A file that never got there goes up under today's name.
    @Test func aFileRenamedBeforeACrashYesterdayIsFoundUnderYesterdaysName() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, gateway) = try home(server.destination() + "\n    fileName: \"{stem}_{date}.{ext}\"")
        let outbox = home.appendingPathComponent("outbox/pagero")
        let name = try #require(files(in: outbox).first)
        let path = "outbox/pagero/" + name
        let stem = (name as NSString).deletingPathExtension
        let yesterday = server.root + "/pagero/\(stem)_20261124.xml"
        try FileManager.default.copyItem(atPath: outbox.appendingPathComponent(name).path, toPath: yesterday)
        let invoice = try gateway.ledger.read { try $0.invoiceNumber(forFile: path) }
        // A second file whose earlier attempt never reached the server goes up under today's
        // name, and the ledger says so.
        let other = try #require(files(in: outbox).dropFirst().first)
        let otherPath = "outbox/pagero/" + other
        let otherStem = (other as NSString).deletingPathExtension
        let otherInvoice = try gateway.ledger.read { try $0.invoiceNumber(forFile: otherPath) }
        try gateway.ledger.write { tx in
            try tx.saveDelivery(DeliveryRecord(destination: "pagero", path: path, invoiceNumber: invoice, remotePath: yesterday,
                                               size: 0, sha256: "", state: .started, attempts: 1, error: nil, at: Date()))
            try tx.saveDelivery(DeliveryRecord(destination: "pagero", path: otherPath, invoiceNumber: otherInvoice,
                                               remotePath: server.root + "/pagero/\(otherStem)_20261124.xml",
                                               size: 0, sha256: "", state: .failed, attempts: 1, error: "earlier", at: Date()))
        }
        let summary = try gateway.push(retryFailed: true)
        #expect(summary.alreadyThere == 1 && summary.delivered == 2 && summary.failed == 0, "\(summary)")
        #expect(!remoteFiles(server).contains("\(stem)_20261125.xml"))
        #expect(remoteFiles(server).filter { $0.hasPrefix(stem) } == ["\(stem)_20261124.xml"])
        #expect(remoteFiles(server).filter { $0.hasPrefix(otherStem) } == ["\(otherStem)_20261125.xml"])
        let record = try gateway.ledger.read { try $0.delivery(destination: "pagero", path: otherPath) }
        #expect(record?.remotePath == server.root + "/pagero/\(otherStem)_20261125.xml")
    }

    /// After a crash, a different file already under a file's final name is never overwritten:
    /// that file fails with the reason and the others are delivered.
    @Test func aStrangersFileUnderTheFinalNameFailsOnlyThatFile() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, gateway) = try home(server.destination())
        let name = try #require(files(in: home.appendingPathComponent("outbox/pagero")).first)
        let path = "outbox/pagero/" + name
        let taken = server.root + "/pagero/" + name
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: taken))
        let invoice = try gateway.ledger.read { try $0.invoiceNumber(forFile: path) }
        try gateway.ledger.write { tx in
            try tx.saveDelivery(DeliveryRecord(destination: "pagero", path: path, invoiceNumber: invoice, remotePath: taken,
                                               size: 0, sha256: "", state: .started, attempts: 1, error: nil, at: Date()))
        }
        let summary = try gateway.push()
        #expect(summary.delivered == 2 && summary.failed == 1, "\(summary)")
        #expect(summary.errors.first?.contains("not overwriting") == true, "\(summary.errors)")
        #expect(FileManager.default.contents(atPath: taken) == Data("someone else's".utf8))
    }

    @Test func unknownHostKeyIsRefusedWithItsFingerprintUntilTrusted() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let knownHosts = server.directory.appendingPathComponent("empty_known_hosts").path
        _ = FileManager.default.createFile(atPath: knownHosts, contents: Data())
        let (_, gateway) = try home(server.destination(knownHosts: knownHosts))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("SHA256:") == true)
        #expect(remoteFiles(server).isEmpty)
        // D5: back to the earlier status, the error in the history, the file kept and listed.
        let (record, history) = try #require(try gateway.invoice("1001"))
        #expect(record.invoice.status == .ready)
        #expect(history.last?.event == "send failed")
        #expect(try gateway.status().failedDeliveries.count == 3)
        // A normal run leaves failed files alone; after trusting the key a retry delivers them.
        #expect(try gateway.push().delivered == 0)
        let offered = try SFTPConnection.offeredHostKey(try gateway.destination("pagero").endpoint)
        #expect(server.values["hostkey"].map { offered.knownHostsLine.hasSuffix($0) } == true)
        try Data((offered.knownHostsLine + "\n").utf8).write(to: URL(fileURLWithPath: knownHosts))
        #expect(try gateway.send(["1001"]).delivered == 1)   // one invoice on purpose
        #expect(try gateway.push(retryFailed: true).delivered == 2)
        #expect(try gateway.invoice("1001")?.0.invoice.status == .sent)
    }

    @Test func changedHostKeyIsRefused() throws {
        let server = try #require(try TestSFTPServer())
        let other = try #require(try TestSFTPServer())
        let knownHosts = server.directory.appendingPathComponent("changed_known_hosts").path
        // The other server's key, recorded for this server's host and port.
        let line = "[127.0.0.1]:\(server.port) \(other.values["hostkey"]!)\n"
        try Data(line.utf8).write(to: URL(fileURLWithPath: knownHosts))
        let (_, gateway) = try home(server.destination(knownHosts: knownHosts))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("CHANGED") == true)
    }

    @Test func connectionRefusedIsRetriedThenReported() throws {
        let server = try #require(try TestSFTPServer())
        try server.kill()
        let (_, gateway) = try home(server.destination(attempts: 3))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("gave up after 3 attempts") == true)
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        let server = try #require(try TestSFTPServer())
        // A listener that accepts and then says nothing: the SSH handshake must time out.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        listen(listener, 4)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let silentPort = Int(UInt16(bigEndian: address.sin_port))
        let (_, gateway) = try home(server.destination(port: silentPort, attempts: 1, timeout: 1))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("timed out") == true || summary.errors.first?.contains("handshake") == true)
    }

    @Test func authenticationRefusedNamesTheKey() throws {
        let server = try #require(try TestSFTPServer())
        let stranger = server.directory.appendingPathComponent("stranger_ed25519").path
        try Subprocess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger])
        let (_, gateway) = try home(server.destination(key: stranger))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("authentication refused") == true)
        #expect(summary.errors.first?.contains("gave up") == false)   // permanent: not retried
    }

    /// A client key of the given type, authorised on the server.
    func authorisedKey(_ server: TestSFTPServer, type: String, passphrase: String = "") throws -> String {
        let key = server.directory.appendingPathComponent("client_\(type)_\(UUID().uuidString.prefix(4))").path
        try Subprocess.run("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-f", key])
        let authorized = server.directory.appendingPathComponent("authorized_keys")
        let handle = try FileHandle(forWritingTo: authorized)
        try handle.seekToEnd()
        try handle.write(contentsOf: try Data(contentsOf: URL(fileURLWithPath: key + ".pub")))
        try handle.close()
        return key
    }

    @Test func ecdsaKeyWithAPassphraseFromAFileWorks() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let secret = "hemligt-\(UUID().uuidString.prefix(6))"
        let key = try authorisedKey(server, type: "ecdsa", passphrase: secret)
        let passphraseFile = server.directory.appendingPathComponent("passphrase").path
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: passphraseFile))
        let block = server.destination(key: key) + "\n    passphraseFile: \(passphraseFile)"
        let (_, gateway) = try home(block)
        #expect(try gateway.push().delivered == 3)
    }

    @Test func aPassphraseFromAnUnsetVariableStopsOnlyThatDestinationAndIsNeverShown() throws {
        let server = try #require(try TestSFTPServer())
        let key = try authorisedKey(server, type: "ed25519", passphrase: "top-secret-words")
        let block = server.destination(key: key) + "\n    passphraseEnv: GATEWAY_TEST_UNSET_PASSPHRASE"
        let (_, gateway) = try home(block)   // start-up is not stopped by it
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("GATEWAY_TEST_UNSET_PASSPHRASE") == true)
        let history = try #require(try gateway.invoice("1001")).1.map { $0.detail ?? "" }.joined()
        #expect(!history.contains("top-secret-words"))
    }

    // The server runs as root, whom permission bits do not stop; an immutable directory does.
    @Test(.enabled(if: Probes.canMakeImmutable, "needs chattr +i on the temporary folder's file system"))
    func permissionDeniedOnTheRemoteDirectoryIsPermanent() throws {
        let server = try #require(try TestSFTPServer())
        let closed = server.root + "/closed"
        try FileManager.default.createDirectory(atPath: closed, withIntermediateDirectories: true)
        try #require(try Subprocess.run("/usr/bin/chattr", ["+i", closed]).status == 0)
        defer { _ = try? Subprocess.run("/usr/bin/chattr", ["-i", closed]) }
        let (home, gateway) = try home(server.destination(remote: closed, attempts: 3))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("permission denied") == true, "\(summary.errors)")
        #expect(summary.errors.first?.contains("gave up") == false)   // permanent: not retried
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).count == 3)
    }

    /// O3: an invoice sent by another method gets its ERP export once it is sent.
    @Test func o3SentInvoicesGetTheirExport() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let home = try makeHome()
        let config = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: config, encoding: .utf8) + "\n" + server.destination() + "\n").utf8).write(to: config)
        try drop("[\(customer("S1", extra: #", "invoiceSettings": {"exportMapping": "sap"}"#)), \(order("O1", customer: "S1"))]", as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        #expect(files(in: home.appendingPathComponent("outbox/export")).isEmpty)   // not before it is sent
        #expect(try gateway.push().delivered == 1)
        let export = files(in: home.appendingPathComponent("outbox/export"))
        #expect(export.count == 1)
        let (record, history) = try #require(try gateway.invoice("1001"))
        #expect(history.last?.event == "exported")
        #expect(record.files.contains { $0.hasPrefix("outbox/export/") })
        #expect(try String(contentsOf: home.appendingPathComponent("outbox/export/\(export[0])"), encoding: .utf8).contains("<INVOIC02>"))
    }

    @Test func aMissingOrClosedRemoteDirectoryFailsAndKeepsTheFiles() throws {
        let server = try #require(try TestSFTPServer())
        let (home, gateway) = try home(server.destination(remote: server.root + "/no-such-directory"))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).count == 3)
    }

    @Test func aServerDyingMidTransferLeavesNoFinalFileAndTheRetryDeliversOnce() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, gateway) = try home(server.destination(attempts: 1, timeout: 2))
        // One large file ahead of the invoices, so the kill lands in the middle of a transfer.
        let big = home.appendingPathComponent("outbox/pagero/a_big_file.xml")
        try Data(repeating: 0x41, count: 200 << 20).write(to: big)
        let killer = Thread {
            let part = server.root + "/pagero/.a_big_file.xml.part"
            for _ in 0..<2000 {
                if let size = try? FileManager.default.attributesOfItem(atPath: part)[.size] as? Int, size > 1 << 20 { break }
                Thread.sleep(forTimeInterval: 0.005)
            }
            try? server.kill()
        }
        killer.start()
        let summary = try gateway.push()
        #expect(summary.failed >= 1)
        #expect(!remoteFiles(server).contains("a_big_file.xml"))
        try server.restart()
        let retry = try gateway.push(retryFailed: true)
        #expect(retry.failed == 0)
        let names = remoteFiles(server).filter { !$0.hasPrefix(".") }
        #expect(names.count == 4)
        #expect(try FileManager.default.attributesOfItem(atPath: server.root + "/pagero/a_big_file.xml")[.size] as? Int == 200 << 20)
    }

    /// `gateway push` killed with SIGKILL part-way and run again: every file on the server
    /// exactly once, none half-written under its final name, nothing uploaded twice (a second
    /// upload could not rename onto the first and would be reported as a failure).
    @Test(.enabled(if: haveBinary, "needs the gateway binary (swift build)"))
    func aKilledPushResumesWithoutUploadingAnythingTwice() throws {
        let server = try #require(try TestSFTPServer())
        let binary = gatewayBinary
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        let (home, _) = try home(server.destination() + "\n    doneMarker: .done")
        let outbox = home.appendingPathComponent("outbox/pagero")
        let count = 1500
        for i in 0..<count { try Data(repeating: UInt8(i % 251), count: 4096 + i).write(to: outbox.appendingPathComponent("bulk_\(i).xml")) }
        let process = try Subprocess(binary.path, ["push", "--home", home.path])
        var killedAt = 0
        while process.isRunning {
            let arrived = remoteFiles(server).filter { $0.hasSuffix(".xml") }.count
            if arrived >= count / 3 {
                kill(process.pid, SIGKILL)
                killedAt = arrived
                break
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        process.wait()
        let gateway = try Gateway(home: home, clock: testClock)
        let summary = try gateway.push()
        print("push killed with \(killedAt) files on the server; the rerun delivered \(summary.delivered), found \(summary.alreadyThere) already there")
        #expect(killedAt > 0 && killedAt < count + 3)
        #expect(summary.failed == 0, "\(summary.errors)")
        let names = remoteFiles(server)
        #expect(names.filter { $0.hasSuffix(".xml") }.count == count + 3)
        #expect(names.filter { $0.hasSuffix(".done") }.count == count + 3)   // every file announced, also those the crash left unrecorded
        #expect(!names.contains { $0.hasSuffix(".part") })
        for i in [0, count / 2, count - 1] {
            let remote = try Data(contentsOf: URL(fileURLWithPath: server.root + "/pagero/bulk_\(i).xml"))
            #expect(remote.count == 4096 + i && remote.allSatisfy { $0 == UInt8(i % 251) })
        }
        #expect(files(in: outbox) == ["sent"])
        // The invoices among the files: each sent once, none left waiting (D3-D5).
        #expect(try gateway.invoices().allSatisfy { $0.invoice.status == .sent })
    }

    /// A file the server cannot store fails without harming the rest: its channel closes the
    /// handle, removes the partial upload and goes on. Files written at the very moment the
    /// disk was full may fail too; none arrives partial, and once the space is back they go.
    @Test(.enabled(if: Probes.canMountTmpfs, "needs to mount a small tmpfs (root)"))
    func aFullRemoteDiskFailsTheFileThatDoesNotFitAndFreesItsSpace() throws {
        let server = try #require(try TestSFTPServer())
        let remote = server.root + "/pagero"
        try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        try #require(try Subprocess.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", remote]).status == 0)
        defer { _ = try? Subprocess.run("/usr/bin/umount", [remote]) }
        let (home, gateway) = try home(server.destination(attempts: 1))
        let outbox = home.appendingPathComponent("outbox/pagero")
        // More files than channels, so a channel that failed is used again; the large one first.
        let large = outbox.appendingPathComponent("a_large_print_package.xml")
        try Data(repeating: 0x41, count: 3 << 20).write(to: large)
        var expected: [String: Data] = [:]
        for i in 0..<20 {
            let bytes = Data((0..<2_000).map { UInt8(truncatingIfNeeded: $0 &* (i + 7)) })
            try bytes.write(to: outbox.appendingPathComponent("z_note_\(i).xml"))
            expected["z_note_\(i).xml"] = bytes
        }
        // How many of the small ones fail with it depends on how many were being written when
        // the disk filled up.
        let first = try gateway.push()
        #expect(first.delivered + first.failed == 24)
        #expect(first.errors.first?.contains("writing") == true, "\(first.errors)")
        #expect(!remoteFiles(server).contains { $0.contains("a_large_print_package") })   // nor its .part
        for name in remoteFiles(server) where expected[name] != nil {
            #expect(FileManager.default.contents(atPath: remote + "/" + name) == expected[name], "\(name) arrived partial")
        }
        #expect(files(in: outbox).contains("a_large_print_package.xml"))

        // The space the partial upload took is free again: everything else now fits.
        try FileManager.default.removeItem(at: large)
        let second = try gateway.push(retryFailed: true)
        #expect(second.failed == 0, "\(second.errors)")
        for (name, bytes) in expected { #expect(FileManager.default.contents(atPath: remote + "/" + name) == bytes, "\(name)") }
        #expect(files(in: outbox) == ["sent"])
    }

    @Test func aRenameThatFailsLeavesNoFinalFile() throws {
        let server = try #require(try TestSFTPServer())
        try FileManager.default.createDirectory(atPath: server.root + "/pagero", withIntermediateDirectories: true)
        // An upload folder on another file system: the server cannot rename across them.
        let upload = "/dev/shm/gateway-upload-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: upload, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: upload) }
        let (home, gateway) = try home(server.destination(upload: upload, attempts: 1))
        let summary = try gateway.push()
        #expect(summary.failed == 3)
        #expect(summary.errors.first?.contains("renaming") == true)
        #expect(remoteFiles(server).isEmpty)
        #expect(files(in: home.appendingPathComponent("outbox/pagero")).count == 3)
    }
}

/// A destination's `fileName` pattern, filled in for one outbox file.
@Suite struct RemoteNameTests {
    func destination(_ pattern: String) -> DestinationSettings {
        DestinationSettings(name: "pagero", endpoint: SFTPEndpoint(host: "h", port: 22, user: "u", privateKey: "k", knownHosts: "kh"),
                            passphraseSource: nil, remoteDirectory: "/in", uploadDirectory: nil, outboxFolder: "pagero",
                            fileName: pattern, doneMarker: nil, everyMinutes: nil, timesOfDay: [],
                            retry: RetryPolicy(attempts: 1, initialDelay: 0, maxDelay: 0))
    }

    @Test func everyPlaceholderIsFilledIn() throws {
        let date = try #require(CivilDate(year: 2026, month: 11, day: 24))
        #expect(destination("{name}").remoteName(for: "exempel_1001.xml", invoice: "1001", date: date) == "exempel_1001.xml")
        #expect(destination("{stem}_{date}.{ext}").remoteName(for: "exempel_1001.xml", invoice: nil, date: date) == "exempel_1001_20261124.xml")
        #expect(destination("INV_{invoice}_{invoice}.{ext}").remoteName(for: "a.b.xml", invoice: "1001", date: date) == "INV_1001_1001.xml")
        // Without an invoice, {invoice} is the stem; a name without an extension has an empty {ext}.
        #expect(destination("{invoice}-{ext}").remoteName(for: "README", invoice: nil, date: date) == "README-")
        // What is not a placeholder stays as written.
        #expect(destination("{other}_{stem}{").remoteName(for: "x.xml", invoice: nil, date: date) == "{other}_x{")
    }
}
