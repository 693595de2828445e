import Delivery
import Foundation
import GatewayCore
import GatewayTestKit
import Invoicing
import Ledger
import Testing
@testable import Gateway

/// A local or mounted directory as a destination (`folders:`): the folder transport.
@Suite(.serialized) struct FolderDestinationTests {
    func home(share: URL) throws -> (URL, Gateway) {
        let home = try makeHome()
        let config = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: config, encoding: .utf8) + """

        folders:
          erp:
            directory: \(share.path)
            outbox: export
            fileName: "import_{invoice}.{ext}"
        distribution: {activeMethods: [export]}
        """ + "\n").utf8).write(to: config)
        try drop("[\(customer("S1", extra: #", "invoiceSettings": {"distributionMethod": "export", "exportMapping": "sap"}"#)), \(order("O1", customer: "S1")), \(order("O2", customer: "S1"))]",
                 as: "1.json", in: home)
        let gateway = try Gateway(home: home, clock: testClock)
        _ = try gateway.process()
        return (home, gateway)
    }

    func share() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("share-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func exportFilesAreCopiedIntoTheShareAndTheInvoicesAreSent() throws {
        let share = try share()
        let (home, gateway) = try home(share: share)
        // A folder with a destination is no longer delivered by being written.
        #expect(try gateway.invoices().allSatisfy { $0.invoice.status == .waiting })
        let summary = try gateway.push()
        #expect(summary.delivered == 2 && summary.failed == 0, "\(summary.errors)")
        #expect(files(in: share) == ["import_1001.xml", "import_1002.xml"])
        let (record, history) = try #require(try gateway.invoice("1001"))
        #expect(record.invoice.status == .sent)
        #expect(history.last?.detail?.hasPrefix("erp: copied to \(share.path)/import_1001.xml (") == true, "\(history.last?.detail ?? "")")
        let sent = try Data(contentsOf: home.appendingPathComponent(record.files[0]))
        #expect(record.files[0].hasPrefix("outbox/export/sent/"))
        #expect(try Data(contentsOf: share.appendingPathComponent("import_1001.xml")) == sent)
        #expect(try gateway.push().delivered == 0)
    }

    @Test func aFileAlreadyInTheShareIsNeverReplaced() throws {
        let share = try share()
        let (_, gateway) = try home(share: share)
        try Data("someone else's".utf8).write(to: share.appendingPathComponent("import_1001.xml"))
        let summary = try gateway.push()
        #expect(summary.delivered == 1 && summary.failed == 1)
        #expect(summary.errors.first?.contains("already has the name") == true, "\(summary.errors)")
        #expect(try String(contentsOf: share.appendingPathComponent("import_1001.xml"), encoding: .utf8) == "someone else's")
        // D5: back to the status it had.
        #expect(try gateway.invoice("1001")?.0.invoice.status == .ready)
        #expect(!files(in: share).contains { $0.hasPrefix(".") })
    }

    @Test func aShareThatIsNotMountedFailsEveryFileAndKeepsThem() throws {
        let share = FileManager.default.temporaryDirectory.appendingPathComponent("not-mounted-\(UUID().uuidString.prefix(8))")
        let (home, gateway) = try home(share: share)
        let summary = try gateway.push()
        #expect(summary.failed == 2 && summary.delivered == 0)
        #expect(summary.errors.first?.contains("is the share mounted?") == true, "\(summary.errors)")
        #expect(files(in: home.appendingPathComponent("outbox/export")).count == 2)
        // Mounted again: a retry delivers them.
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        #expect(try gateway.push(retryFailed: true).delivered == 2)
        #expect(try gateway.invoices().allSatisfy { $0.invoice.status == .sent })
    }

    /// A run stopped after the copy and before the ledger recorded it: the next run finds the
    /// file in place and counts it delivered without copying it again.
    @Test func aFileCopiedBeforeACrashIsFoundAndNotCopiedAgain() throws {
        let share = try share()
        let (home, gateway) = try home(share: share)
        let local = try #require(files(in: home.appendingPathComponent("outbox/export")).first)
        let path = "outbox/export/" + local
        let number = try #require(try gateway.ledger.read { try $0.invoiceNumber(forFile: path) })
        let target = share.appendingPathComponent("import_\(number).xml")
        try FileManager.default.copyItem(at: home.appendingPathComponent(path), to: target)
        try gateway.ledger.write { tx in
            try tx.saveDelivery(DeliveryRecord(destination: "erp", path: path, invoiceNumber: number, remotePath: target.path, size: 0, sha256: "",
                                               state: .started, attempts: 1, error: nil, at: testClock.now))
        }
        let copied = try FileManager.default.attributesOfItem(atPath: target.path)[.modificationDate] as? Date
        let summary = try gateway.push()
        #expect(summary.alreadyThere == 1 && summary.delivered == 1, "\(summary.errors)")
        #expect(try FileManager.default.attributesOfItem(atPath: target.path)[.modificationDate] as? Date == copied)
        #expect(try gateway.invoice(number)?.0.invoice.status == .sent)
    }

    @Test func aFolderNamedLikeAnSFTPDestinationIsRefused() throws {
        let home = try makeHome()
        let config = home.appendingPathComponent("gateway.yml")
        try Data((try String(contentsOf: config, encoding: .utf8) + """

        destinations:
          erp: {host: 127.0.0.1, user: u, key: k, remoteDirectory: /in}
        folders:
          erp: {directory: /tmp}
        """ + "\n").utf8).write(to: config)
        do {
            _ = try Gateway(home: home, clock: testClock)
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("folders.erp"), "\(error)")
        }
    }
}
