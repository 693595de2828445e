import Delivery
import Foundation
import GatewayCore
import Invoicing
import Ledger
import Rendering

/// The SFTP destinations' routes: each destination's outbox folder over one session per run,
/// every file under its remote name, recorded a hundred at a time as they arrive.
struct Pusher {
    let dispatch: Dispatch
    let configuration: GatewayConfiguration

    func run(destinations names: [String]? = nil, selection: Dispatch.Selection = .pending, _ summary: inout PushSummary) throws {
        let chosen = (names ?? configuration.destinations.keys.sorted()).compactMap { configuration.destinations[$0] }
        for destination in chosen {
            let files = try Dispatch.files(in: dispatch.home.outbox.appendingPathComponent(destination.outboxFolder), destination: destination.name,
                                           selection: selection, home: dispatch.home, ledger: dispatch.ledger)
            guard !files.isEmpty else { continue }
            let layout = SFTPTransport.Layout(remoteDirectory: destination.remoteDirectory, uploadDirectory: destination.uploadDirectory,
                                              doneMarker: destination.doneMarker)
            let today = CivilDate(dispatch.clock.now, in: configuration.client.zone)
            let route = Dispatch.Route(
                destination: destination.name, label: destination.name, retry: destination.retry, handOverOneByOne: false,
                recordEvery: Self.recordEvery, inDoubt: nil,
                parcel: { file, invoice, earlier in
                    let name = destination.remoteName(for: file.lastPathComponent, invoice: invoice, date: today)
                    // Where an earlier attempt put or meant to put it: a name with `{date}` may differ today.
                    let earlierPlacement = earlier.flatMap { $0.state == .delivered || $0.remotePath.isEmpty ? nil : $0.remotePath }
                    return Parcel(file: file, placement: destination.remoteDirectory + "/" + name, earlierPlacement: earlierPlacement,
                                  title: file.lastPathComponent)
                })
            try dispatch.run(files, route: route, selection: selection, transport: {
                let endpoint: SFTPEndpoint
                do throws(SFTPError) { endpoint = try destination.connectionEndpoint() } catch {
                    throw TransportFailure(error.description, isTransient: error.isTransient)
                }
                return SFTPTransport(endpoint: endpoint, layout: layout)
            }, &summary)
        }
    }

    /// The folder destinations' routes: each file copied into the directory under its name.
    func runFolders(_ names: [String]? = nil, selection: Dispatch.Selection = .pending, _ summary: inout PushSummary) throws {
        let chosen = (names ?? configuration.folders.keys.sorted()).compactMap { configuration.folders[$0] }
        for folder in chosen {
            let files = try Dispatch.files(in: dispatch.home.outbox.appendingPathComponent(folder.outboxFolder), destination: folder.name,
                                           selection: selection, home: dispatch.home, ledger: dispatch.ledger)
            guard !files.isEmpty else { continue }
            let today = CivilDate(dispatch.clock.now, in: configuration.client.zone)
            let route = Dispatch.Route(
                destination: folder.name, label: folder.name, retry: folder.retry, handOverOneByOne: false,
                recordEvery: Self.recordEvery, inDoubt: nil,
                parcel: { file, invoice, earlier in
                    let name = folder.name(for: file.lastPathComponent, invoice: invoice, date: today)
                    let earlierPlacement = earlier.flatMap { $0.state == .delivered || $0.remotePath.isEmpty ? nil : $0.remotePath }
                    return Parcel(file: file, placement: folder.directory + "/" + name, earlierPlacement: earlierPlacement, title: name)
                })
            let transport = FolderTransport(directory: URL(fileURLWithPath: folder.directory))
            try dispatch.run(files, route: route, selection: selection, transport: { transport }, &summary)
        }
    }

    /// Delivered files are recorded (and moved to `sent/`) in groups of this many, which bounds
    /// what a crash leaves unrecorded; a group of 100 took about 4 ms here, 3 of them the moves.
    static let recordEvery = 100
}
