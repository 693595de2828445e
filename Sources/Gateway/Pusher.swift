import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger

/// The routes of the configured destinations: each SFTP destination's outbox folder over one
/// session per run, each folder destination's into its directory, every file under its name
/// there, recorded a hundred at a time as they arrive.
struct Pusher {
    let dispatch: Dispatch
    let configuration: GatewayConfiguration

    func run(destinations names: [String]? = nil, selection: Dispatch.Selection = .pending, _ summary: inout PushSummary) throws {
        for destination in (names ?? configuration.destinations.keys.sorted()).compactMap({ configuration.destinations[$0] }) {
            let layout = SFTPTransport.Layout(remoteDirectory: destination.remoteDirectory, uploadDirectory: destination.uploadDirectory,
                                              doneMarker: destination.doneMarker)
            try push(destination.name, from: destination.outboxFolder, retry: destination.retry, selection: selection,
                     placement: { file, invoice, today in
                         destination.remoteDirectory + "/" + destination.remoteName(for: file.lastPathComponent, invoice: invoice, date: today)
                     },
                     transport: {
                         let endpoint: SFTPEndpoint
                         do throws(SFTPError) { endpoint = try destination.connectionEndpoint() } catch {
                             throw TransportFailure(error.description, isTransient: error.isTransient)
                         }
                         return SFTPTransport(endpoint: endpoint, layout: layout)
                     }, &summary)
        }
    }

    func runFolders(_ names: [String]? = nil, selection: Dispatch.Selection = .pending, _ summary: inout PushSummary) throws {
        for folder in (names ?? configuration.folders.keys.sorted()).compactMap({ configuration.folders[$0] }) {
            let transport = FolderTransport(directory: URL(fileURLWithPath: folder.directory))
            try push(folder.name, from: folder.outboxFolder, retry: folder.retry, selection: selection,
                     placement: { file, invoice, today in folder.directory + "/" + folder.name(for: file.lastPathComponent, invoice: invoice, date: today) },
                     transport: { transport }, &summary)
        }
    }

    private func push(_ name: String, from outboxFolder: String, retry: RetryPolicy, selection: Dispatch.Selection,
                      placement: @escaping (URL, String?, CivilDate) -> String, transport: () throws -> any Transport,
                      _ summary: inout PushSummary) throws {
        let files = try dispatch.files(in: dispatch.home.outbox.appendingPathComponent(outboxFolder), destination: name, selection: selection)
        guard !files.isEmpty else { return }
        let today = CivilDate(dispatch.clock.now, in: configuration.client.timeZone)
        let route = Dispatch.Route(
            destination: name, label: name, retry: retry, handOverOneByOne: false, recordEvery: Self.recordEvery, inDoubt: nil,
            parcel: { file, invoice, earlier in
                // Where an earlier attempt put or meant to put it: a name with `{date}` may differ today.
                let earlierPlacement = earlier.flatMap { $0.state == .delivered || $0.remotePath.isEmpty ? nil : $0.remotePath }
                return Parcel(file: file, placement: placement(file, invoice, today), earlierPlacement: earlierPlacement, title: file.lastPathComponent)
            })
        try dispatch.run(files, route: route, selection: selection, transport: transport, &summary)
    }

    /// Delivered files are recorded (and moved to `sent/`) in groups of this many, which bounds
    /// what a crash leaves unrecorded; a group of 100 took about 4 ms here, 3 of them the moves.
    static let recordEvery = 100
}
