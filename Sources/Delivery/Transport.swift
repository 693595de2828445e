import Foundation

/// One way artefacts leave the gateway: an SFTP server, an SMTP relay, a printer, a folder.
/// The push orchestration drives every transport the same way: it records each file as
/// started, hands the files over, and records each outcome as the transport reports it.
public protocol Transport {
    /// Hands `parcels` over in order, over one session where the transport has sessions, and
    /// reports each parcel's outcome (by its index) as soon as it is known, so that the caller
    /// records it before more leave. A failure that ends the session is thrown as a
    /// `TransportFailure`: the parcels it did not report have not left, or are in doubt as
    /// their started records say. What `report` throws passes through unchanged.
    func deliver(_ parcels: [Parcel], report: (Int, Result<Receipt, TransportFailure>) throws -> Void) throws
}

/// A file to hand over.
public struct Parcel: Sendable {
    public var file: URL
    /// Where it goes: the remote path, the recipient, the print queue. Recorded as the
    /// delivery's place before the file leaves.
    public var placement: String
    /// Where an earlier, interrupted attempt may already have put it. A transport that can
    /// look (SFTP) counts a parcel found there as delivered instead of sending it again.
    public var earlierPlacement: String?
    /// A title for transports that show one (a print job's).
    public var title: String

    public init(file: URL, placement: String, earlierPlacement: String? = nil, title: String) {
        self.file = file
        self.placement = placement
        self.earlierPlacement = earlierPlacement
        self.title = title
    }
}

/// What a transport says of a parcel that has left.
public struct Receipt: Sendable {
    /// Where it went.
    public var placement: String
    /// How, in words for the invoice's history.
    public var how: String
    /// To whom, when the transport knows (an e-mail's recipient).
    public var recipient: String?
    public var bytes: UInt64
    /// Found in place from an earlier attempt rather than sent now.
    public var alreadyThere: Bool

    public init(placement: String, how: String, recipient: String? = nil, bytes: UInt64, alreadyThere: Bool = false) {
        self.placement = placement
        self.how = how
        self.recipient = recipient
        self.bytes = bytes
        self.alreadyThere = alreadyThere
    }
}

/// Why a parcel, or the whole session, did not go.
public struct TransportFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// Worth another try later: the network, the server or the relay may come back.
    public var isTransient: Bool
    /// The parcel may be in place (a done-marker lost with the connection): nothing is
    /// recorded, and a later attempt looks for it.
    public var inDoubt: Bool

    public init(_ description: String, isTransient: Bool, inDoubt: Bool = false) {
        self.description = description
        self.isTransient = isTransient
        self.inDoubt = inDoubt
    }
}

/// The size of a local file by stat(2) alone (FileManager's attributes also look up the
/// owner's name, once per file); nil when there is no such file.
public enum LocalFile {
    public static func size(atPath path: String) -> Int? {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : nil
    }

    public static func size(of file: URL) -> Int? { size(atPath: file.path) }
}
