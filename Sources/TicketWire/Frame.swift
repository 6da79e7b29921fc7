import TicketElection

/// Versioned, length-prefixed binary frames between members and between `baton` and batond.
///
/// Header (12 bytes, big-endian):
///
/// | bytes | field    | value                                              |
/// |-------|----------|----------------------------------------------------|
/// | 0..3  | magic    | "BATN" (0x4241544E)                                |
/// | 4     | version  | 2 (1 before the state query carried its nonce)     |
/// | 5     | type     | 1 peer, 2 client request, 3 client reply           |
/// | 6..7  | reserved | 0 (anything else is refused)                       |
/// | 8..11 | length   | payload bytes, at most `Frame.payloadBytesMax`     |
///
/// A peer frame carries every message one member has for one peer at that moment, for any
/// number of tickets: the cost of a renewal grows with the members, not with the tickets.
public enum Frame: Sendable, Equatable {
    case peer(PeerFrame)
    case request(ClientRequest)
    case reply(ClientReply)

    public static let magic: UInt32 = 0x4241_544E
    public static let version: UInt8 = 2
    public static let headerBytes = 12
    public static let payloadBytesMax = 4 * 1024 * 1024
    public static let messagesPerFrameMax = 16_384
    /// Longest span a message may carry (a lease or what is left of one): one week.
    public static let durationMax: Duration = .seconds(7 * 24 * 3600)

    enum Kind: UInt8 {
        case peer = 1
        case request = 2
        case reply = 3
    }

    /// The frame's bytes. A frame over `payloadBytesMax` is a bug of its builder (peer frames
    /// are split by `messagesPerFrameMax`): it traps. Replies use `replyBytes`, which never does.
    public func encoded() -> [UInt8] {
        guard let bytes = encodedIfFits() else { preconditionFailure("encoded frame over the limit of \(Frame.payloadBytesMax) bytes: split it") }
        return bytes
    }

    /// The frame's bytes, or nil when its payload would be over `payloadBytesMax`: for frames
    /// whose size depends on what others stored (admin replies), where `encoded()` would trap.
    public func encodedIfFits() -> [UInt8]? {
        var writer = ByteWriter(capacity: 256)
        writer.u32(Frame.magic)
        writer.u8(Frame.version)
        switch self {
        case .peer: writer.u8(Kind.peer.rawValue)
        case .request: writer.u8(Kind.request.rawValue)
        case .reply: writer.u8(Kind.reply.rawValue)
        }
        writer.u16(0)
        writer.u32(0)
        switch self {
        case .peer(let frame): frame.encode(into: &writer)
        case .request(let request): request.encode(into: &writer)
        case .reply(let reply): reply.encode(into: &writer)
        }
        let length = writer.bytes.count - Frame.headerBytes
        guard length <= Frame.payloadBytesMax else { return nil }
        writer.patchU32(UInt32(length), at: 8)
        return writer.bytes
    }

    /// A reply frame's bytes; a reply that would not fit in one frame becomes an error reply
    /// (same request id) that says so, instead of a trap in `encoded()`.
    public static func replyBytes(_ reply: ClientReply) -> [UInt8] {
        if let bytes = Frame.reply(reply).encodedIfFits() { return bytes }
        var writer = ByteWriter(capacity: 4096)
        reply.encode(into: &writer)
        let error = ClientReply(id: reply.id, body: .error(
            "the answer of \(writer.bytes.count) bytes is over the frame limit of \(Frame.payloadBytesMax) bytes and was not sent"))
        return Frame.reply(error).encoded()
    }

    /// How many bytes the frame starting at `bytes[start...]` needs in all, once its header is
    /// there; nil while fewer than 12 bytes are in. Bad headers throw at once, so a peer that
    /// sends garbage is refused after 12 bytes, not after 4 MiB.
    public static func frameLength(_ bytes: [UInt8], from start: Int = 0) throws(WireError) -> Int? {
        guard bytes.count - start >= headerBytes else { return nil }
        var reader = ByteReader(bytes, from: start, to: start + headerBytes)
        let magic = try reader.u32("magic")
        guard magic == Frame.magic else { throw .badMagic(found: magic) }
        let version = try reader.u8("version")
        guard version == Frame.version else { throw .unsupportedVersion(version) }
        let type = try reader.u8("type")
        guard Kind(rawValue: type) != nil else { throw .unknownFrameType(type) }
        let reserved = try reader.u16("reserved")
        guard reserved == 0 else { throw .invalid(field: "reserved", offset: start + 6, reason: "must be 0, is \(reserved)") }
        let length = Int(try reader.u32("length"))
        guard length <= payloadBytesMax else { throw .frameTooLarge(length: length, limit: payloadBytesMax) }
        return headerBytes + length
    }

    /// Decodes exactly one frame that fills `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Frame {
        guard let total = try frameLength(bytes) else { throw .truncated(field: "header", offset: bytes.count) }
        guard total == bytes.count else { throw .lengthMismatch(declared: total - headerBytes, actual: bytes.count - headerBytes) }
        let kind = Kind(rawValue: bytes[5])!
        var reader = ByteReader(bytes, from: headerBytes)
        let frame: Frame
        switch kind {
        case .peer: frame = .peer(try PeerFrame.decode(&reader))
        case .request: frame = .request(try ClientRequest.decode(&reader))
        case .reply: frame = .reply(try ClientReply.decode(&reader))
        }
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining) }
        return frame
    }
}

/// Splits a byte stream into frames; keeps what is incomplete for the next read.
public struct FrameSplitter: Sendable {
    private var buffer: [UInt8] = []

    public init() {}

    public var bufferedBytes: Int { buffer.count }

    /// Appends `bytes` and returns the complete frames now available. After an error the
    /// connection must be closed: the stream cannot be resynchronised.
    public mutating func append(_ bytes: [UInt8]) throws(WireError) -> [Frame] {
        buffer.append(contentsOf: bytes)
        var frames: [Frame] = []
        var start = 0
        while let total = try Frame.frameLength(buffer, from: start), buffer.count - start >= total {
            frames.append(try Frame.decode(Array(buffer[start..<(start + total)])))
            start += total
        }
        if start > 0 { buffer.removeFirst(start) }
        return frames
    }
}

// MARK: - Peer frames

/// All messages from one member to one peer, for any number of tickets.
public struct PeerFrame: Sendable, Equatable {
    public let from: MemberID
    public let to: MemberID
    public let messages: [PeerMessage]

    public init(from: MemberID, to: MemberID, messages: [PeerMessage]) {
        precondition(messages.count <= Frame.messagesPerFrameMax, "\(messages.count) messages in one frame: split them")
        precondition(messages.allSatisfy { $0.from == from && $0.to == to }, "a peer frame carries messages of one sender to one receiver")
        self.from = from
        self.to = to
        self.messages = messages
    }

    func encode(into writer: inout ByteWriter) {
        writer.u8(UInt8(from.index))
        writer.u8(UInt8(to.index))
        writer.u16(UInt16(messages.count))
        for message in messages {
            writer.string(message.ticket, lengthMax: TicketPolicy.nameLengthMax)
            writer.u64(message.term)
            encodeBody(message.body, into: &writer)
        }
    }

    static func decode(_ reader: inout ByteReader) throws(WireError) -> PeerFrame {
        let from = try decodeMember(&reader, "sender")
        let to = try decodeMember(&reader, "receiver")
        guard from != to else { throw .invalid(field: "receiver", offset: reader.offset - 1, reason: "same as the sender") }
        let countOffset = reader.offset
        let count = Int(try reader.u16("message count"))
        guard count <= Frame.messagesPerFrameMax else {
            throw .invalid(field: "message count", offset: countOffset, reason: "\(count) over \(Frame.messagesPerFrameMax)")
        }
        var messages: [PeerMessage] = []
        messages.reserveCapacity(count)
        for _ in 0..<count {
            let nameOffset = reader.offset
            let ticket = try reader.string("ticket name", lengthMax: TicketPolicy.nameLengthMax)
            guard TicketPolicy.isValidName(ticket) else { throw .invalid(field: "ticket name", offset: nameOffset, reason: "\"\(ticket)\"") }
            let term = try reader.u64("term")
            let body = try decodeBody(&reader)
            messages.append(PeerMessage(ticket: ticket, from: from, to: to, term: term, body: body))
        }
        return PeerFrame(from: from, to: to, messages: messages)
    }
}

enum BodyTag: UInt8 {
    case voteRequest = 1, voteGranted, voteRefused, heartbeat, heartbeatAcknowledged, heartbeatRefused, release, withdrawn,
        revokeRequest, moveRequest, stateQuery, stateReply, manualGranted, manualRevoked
}

let refusalCodes: [RefusalReason] = [.leaseHeldElsewhere, .staleTerm, .alreadyVoted, .quietAfterRestart, .manualTicket]
let noMember: UInt8 = 0xFF

func encodeBody(_ body: MessageBody, into writer: inout ByteWriter) {
    switch body {
    case .voteRequest(let lease):
        writer.u8(BodyTag.voteRequest.rawValue)
        writer.i64(lease.nanoseconds)
    case .voteGranted:
        writer.u8(BodyTag.voteGranted.rawValue)
    case .voteRefused(let reason, let known):
        writer.u8(BodyTag.voteRefused.rawValue)
        writer.u8(UInt8(refusalCodes.firstIndex(of: reason)!))
        encodeLease(known, into: &writer)
    case .heartbeat(let lease, let round):
        writer.u8(BodyTag.heartbeat.rawValue)
        writer.i64(lease.nanoseconds)
        writer.u64(round)
    case .heartbeatAcknowledged(let round):
        writer.u8(BodyTag.heartbeatAcknowledged.rawValue)
        writer.u64(round)
    case .heartbeatRefused(let round, let reason, let known):
        writer.u8(BodyTag.heartbeatRefused.rawValue)
        writer.u64(round)
        writer.u8(UInt8(refusalCodes.firstIndex(of: reason)!))
        encodeLease(known, into: &writer)
    case .release(let revoked, let handoverTo):
        writer.u8(BodyTag.release.rawValue)
        writer.bool(revoked)
        writer.u8(handoverTo.map { UInt8($0.index) } ?? noMember)
    case .withdrawn:
        writer.u8(BodyTag.withdrawn.rawValue)
    case .revokeRequest:
        writer.u8(BodyTag.revokeRequest.rawValue)
    case .moveRequest(let target):
        writer.u8(BodyTag.moveRequest.rawValue)
        writer.u8(UInt8(target.index))
    case .stateQuery(let nonce):
        writer.u8(BodyTag.stateQuery.rawValue)
        writer.u64(nonce)
    case .stateReply(let known, let granted, let holders, let nonce):
        writer.u8(BodyTag.stateReply.rawValue)
        encodeLease(known, into: &writer)
        writer.bool(granted)
        writer.u8(UInt8(holders.count))
        for holder in holders { writer.u8(UInt8(holder.index)) }
        writer.u64(nonce)
    case .manualGranted:
        writer.u8(BodyTag.manualGranted.rawValue)
    case .manualRevoked:
        writer.u8(BodyTag.manualRevoked.rawValue)
    }
}

func encodeLease(_ view: LeaseView?, into writer: inout ByteWriter) {
    guard let view else {
        writer.u8(0)
        return
    }
    writer.u8(1)
    writer.u8(UInt8(view.leader.index))
    writer.u64(view.term)
    writer.i64(view.remaining.nanoseconds)
    writer.bool(view.confirmed)
}

func decodeMember(_ reader: inout ByteReader, _ field: String) throws(WireError) -> MemberID {
    let offset = reader.offset
    let raw = try reader.u8(field)
    guard Int(raw) < Membership.membersMax else {
        throw .invalid(field: field, offset: offset, reason: "member \(raw) outside 0...\(Membership.membersMax - 1)")
    }
    return MemberID(Int(raw))
}

func decodeDuration(_ reader: inout ByteReader, _ field: String) throws(WireError) -> Duration {
    let offset = reader.offset
    let nanoseconds = try reader.i64(field)
    guard nanoseconds > 0 && nanoseconds <= Frame.durationMax.nanoseconds else {
        throw .invalid(field: field, offset: offset, reason: "\(nanoseconds) ns outside 1 ns...7 days")
    }
    return .nanoseconds(nanoseconds)
}

func decodeRefusal(_ reader: inout ByteReader) throws(WireError) -> RefusalReason {
    let offset = reader.offset
    let code = Int(try reader.u8("refusal reason"))
    guard code < refusalCodes.count else { throw .invalid(field: "refusal reason", offset: offset, reason: "code \(code)") }
    return refusalCodes[code]
}

func decodeLease(_ reader: inout ByteReader) throws(WireError) -> LeaseView? {
    let offset = reader.offset
    switch try reader.u8("lease presence") {
    case 0: return nil
    case 1: break
    case let other: throw .invalid(field: "lease presence", offset: offset, reason: "byte \(other)")
    }
    let leader = try decodeMember(&reader, "lease leader")
    let term = try reader.u64("lease term")
    let remaining = try decodeDuration(&reader, "lease remaining")
    let confirmed = try reader.bool("lease confirmed")
    return LeaseView(leader: leader, term: term, remaining: remaining, confirmed: confirmed)
}

func decodeBody(_ reader: inout ByteReader) throws(WireError) -> MessageBody {
    let offset = reader.offset
    let raw = try reader.u8("message type")
    guard let tag = BodyTag(rawValue: raw) else { throw .invalid(field: "message type", offset: offset, reason: "type \(raw)") }
    switch tag {
    case .voteRequest: return .voteRequest(lease: try decodeDuration(&reader, "lease"))
    case .voteGranted: return .voteGranted
    case .voteRefused: return .voteRefused(try decodeRefusal(&reader), known: try decodeLease(&reader))
    case .heartbeat: return .heartbeat(lease: try decodeDuration(&reader, "lease"), round: try reader.u64("round"))
    case .heartbeatAcknowledged: return .heartbeatAcknowledged(round: try reader.u64("round"))
    case .heartbeatRefused:
        return .heartbeatRefused(round: try reader.u64("round"), try decodeRefusal(&reader), known: try decodeLease(&reader))
    case .release:
        let revoked = try reader.bool("revoked")
        let targetOffset = reader.offset
        let target = try reader.u8("handover target")
        if target == noMember { return .release(revoked: revoked, handoverTo: nil) }
        guard Int(target) < Membership.membersMax else {
            throw .invalid(field: "handover target", offset: targetOffset, reason: "member \(target)")
        }
        return .release(revoked: revoked, handoverTo: MemberID(Int(target)))
    case .withdrawn: return .withdrawn
    case .revokeRequest: return .revokeRequest
    case .moveRequest: return .moveRequest(to: try decodeMember(&reader, "move target"))
    case .stateQuery: return .stateQuery(nonce: try reader.u64("query nonce"))
    case .stateReply:
        let known = try decodeLease(&reader)
        let granted = try reader.bool("granted")
        let countOffset = reader.offset
        let count = Int(try reader.u8("manual holder count"))
        guard count <= Membership.membersMax else {
            throw .invalid(field: "manual holder count", offset: countOffset, reason: "\(count) over \(Membership.membersMax)")
        }
        var holders: [MemberID] = []
        for _ in 0..<count { holders.append(try decodeMember(&reader, "manual holder")) }
        return .stateReply(known: known, granted: granted, manualHolders: holders, nonce: try reader.u64("query nonce"))
    case .manualGranted: return .manualGranted
    case .manualRevoked: return .manualRevoked
    }
}
