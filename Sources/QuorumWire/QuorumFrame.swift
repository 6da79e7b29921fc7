import ClusterIdentity
import QuorumArbiter
import TicketWire

/// The quorum device's messages on the TLS link between a node's device (`baton-qdevice`)
/// and the arbitrator: length-checked, versioned frames, like TicketWire's peer frames.
///
/// A frame is a 12-byte header, magic "BQDV", version, type, two zero bytes, payload length
/// (big-endian), then the payload. Nothing is read past the declared length; a frame with a
/// bad magic, another version, an unknown type, a payload over `payloadBytesMax` or bytes
/// left over is refused with a `WireError` saying what and at which byte, and the connection
/// that sent it is closed.
public enum QuorumFrame: Sendable, Hashable {
    /// The node's first frame: its cluster's name (corosync's `totem.cluster_name`; the
    /// arbitrator keys the cluster by it together with the certificate's identity) and its
    /// registration.
    case register(clusterName: String, DeviceRegistration)
    /// Any later node → arbitrator message (never `.register`).
    case device(DeviceMessage)
    case arbiter(ArbiterMessage)

    public static let magic: UInt32 = 0x4251_4456  // "BQDV"
    public static let version: UInt8 = 1
    public static let headerBytes = 12
    /// A registration of 64 nodes is under 400 bytes; a refusal's reason is at most 1 KiB.
    public static let payloadBytesMax = 4_096
    static let reasonBytesMax = 1_024

    enum Kind: UInt8 {
        case register = 1, membership = 2, heuristics = 3, voteInfoReply = 4, heartbeat = 5
        case registered = 64, refused = 65, voteInfo = 66, heartbeatReply = 67
    }

    public func encoded() -> [UInt8] {
        var payload = ByteWriter()
        let kind: Kind
        switch self {
        case .register(let clusterName, let registration):
            kind = .register
            payload.string(clusterName, lengthMax: QuorumLimits.nameBytesMax)
            Self.encode(registration, into: &payload)
        case .device(let message):
            switch message {
            case .register(let registration):
                preconditionFailure("node \(registration.nodeID): a registration goes out as QuorumFrame.register, with the cluster name")
            case .membership(let report):
                kind = .membership
                Self.encode(report.ring, into: &payload)
                Self.encode(report.members, into: &payload)
                payload.u8(Self.code(report.heuristics))
            case .heuristics(let result):
                kind = .heuristics
                payload.u8(Self.code(result))
            case .voteInfoReply(let sequence):
                kind = .voteInfoReply
                payload.u32(sequence)
            case .heartbeat:
                kind = .heartbeat
            }
        case .arbiter(let message):
            switch message {
            case .registered:
                kind = .registered
            case .refused(let reason):
                kind = .refused
                payload.string(String(decoding: reason.utf8.prefix(Self.reasonBytesMax), as: UTF8.self), lengthMax: Self.reasonBytesMax)
            case .voteInfo(let sequence, let ring, let vote):
                kind = .voteInfo
                payload.u32(sequence)
                Self.encode(ring, into: &payload)
                payload.u8(vote == .ack ? 1 : 0)
            case .heartbeatReply:
                kind = .heartbeatReply
            }
        }
        precondition(payload.bytes.count <= Self.payloadBytesMax, "quorum frame \(kind) of \(payload.bytes.count) bytes over \(Self.payloadBytesMax)")
        var frame = ByteWriter(capacity: Self.headerBytes + payload.bytes.count)
        frame.u32(Self.magic)
        frame.u8(Self.version)
        frame.u8(kind.rawValue)
        frame.u16(0)
        frame.u32(UInt32(payload.bytes.count))
        frame.raw(payload.bytes)
        return frame.bytes
    }

    /// The whole frame's length if `bytes` (from `start`) hold at least a header: nil when the
    /// header is not complete yet. Throws for a header no frame of this version has, so a
    /// stream of garbage is refused after 12 bytes, not buffered.
    public static func frameLength(_ bytes: [UInt8], from start: Int = 0) throws(WireError) -> Int? {
        guard bytes.count - start >= headerBytes else { return nil }
        var reader = ByteReader(bytes, from: start, to: start + headerBytes)
        let magic = try reader.u32("magic")
        guard magic == Self.magic else { throw .badMagic(found: magic) }
        let version = try reader.u8("version")
        guard version == Self.version else { throw .invalid(field: "version", offset: start + 4, reason: "version \(version), this build speaks \(Self.version)") }
        let type = try reader.u8("type")
        guard Kind(rawValue: type) != nil else { throw .unknownFrameType(type) }
        guard try reader.u16("reserved") == 0 else { throw .invalid(field: "reserved", offset: start + 6, reason: "not zero") }
        let length = Int(try reader.u32("length"))
        guard length <= payloadBytesMax else { throw .frameTooLarge(length: length, limit: payloadBytesMax) }
        return headerBytes + length
    }

    /// Decodes exactly one whole frame.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> QuorumFrame {
        guard let length = try frameLength(bytes) else { throw .truncated(field: "header", offset: bytes.count) }
        guard length == bytes.count else { throw .lengthMismatch(declared: length - headerBytes, actual: bytes.count - headerBytes) }
        let kind = Kind(rawValue: bytes[5])!
        var reader = ByteReader(bytes, from: headerBytes)
        let frame: QuorumFrame
        switch kind {
        case .register:
            let name = try reader.string("cluster name", lengthMax: QuorumLimits.nameBytesMax)
            guard !name.isEmpty else { throw .invalid(field: "cluster name", offset: headerBytes, reason: "empty") }
            frame = .register(clusterName: name, try decodeRegistration(&reader))
        case .membership:
            let ring = try decodeRing(&reader)
            let members = try decodeNodes(&reader, "members")
            frame = .device(.membership(MembershipReport(ring: ring, members: members, heuristics: try decodeHeuristics(&reader))))
        case .heuristics:
            frame = .device(.heuristics(try decodeHeuristics(&reader)))
        case .voteInfoReply:
            frame = .device(.voteInfoReply(sequence: try reader.u32("sequence")))
        case .heartbeat:
            frame = .device(.heartbeat)
        case .registered:
            frame = .arbiter(.registered)
        case .refused:
            frame = .arbiter(.refused(try reader.string("reason", lengthMax: reasonBytesMax)))
        case .voteInfo:
            let sequence = try reader.u32("sequence")
            let ring = try decodeRing(&reader)
            let at = reader.offset
            let vote: Vote
            switch try reader.u8("vote") {
            case 0: vote = .nack
            case 1: vote = .ack
            case let other: throw .invalid(field: "vote", offset: at, reason: "vote \(other)")
            }
            frame = .arbiter(.voteInfo(sequence: sequence, ring: ring, vote: vote))
        case .heartbeatReply:
            frame = .arbiter(.heartbeatReply)
        }
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining) }
        return frame
    }

    // MARK: - Fields

    static func encode(_ ring: RingID, into writer: inout ByteWriter) {
        writer.u32(ring.nodeID.rawValue)
        writer.u64(ring.sequence)
    }

    static func decodeRing(_ reader: inout ByteReader) throws(WireError) -> RingID {
        RingID(nodeID: NodeID(try reader.u32("ring representative")), sequence: try reader.u64("ring sequence"))
    }

    static func encode(_ nodes: [NodeID], into writer: inout ByteWriter) {
        precondition(nodes.count <= QuorumLimits.nodesPerClusterMax, "\(nodes.count) nodes over \(QuorumLimits.nodesPerClusterMax)")
        writer.u16(UInt16(nodes.count))
        for node in nodes { writer.u32(node.rawValue) }
    }

    /// Ascending and unique, at most `QuorumLimits.nodesPerClusterMax` (the arbiter checks the rest).
    static func decodeNodes(_ reader: inout ByteReader, _ field: String) throws(WireError) -> [NodeID] {
        let at = reader.offset
        let count = Int(try reader.u16("\(field) count"))
        guard count >= 1, count <= QuorumLimits.nodesPerClusterMax else {
            throw .invalid(field: field, offset: at, reason: "\(count) nodes, expected 1...\(QuorumLimits.nodesPerClusterMax)")
        }
        var nodes: [NodeID] = []
        nodes.reserveCapacity(count)
        for _ in 0..<count {
            let node = NodeID(try reader.u32(field))
            guard nodes.last.map({ $0 < node }) ?? true else { throw .invalid(field: field, offset: reader.offset - 4, reason: "node ids not ascending and unique") }
            nodes.append(node)
        }
        return nodes
    }

    static func code(_ result: HeuristicsResult) -> UInt8 {
        switch result {
        case .undefined: 0
        case .pass: 1
        case .fail: 2
        }
    }

    static func decodeHeuristics(_ reader: inout ByteReader) throws(WireError) -> HeuristicsResult {
        let at = reader.offset
        switch try reader.u8("heuristics") {
        case 0: return .undefined
        case 1: return .pass
        case 2: return .fail
        case let other: throw .invalid(field: "heuristics", offset: at, reason: "result \(other)")
        }
    }

    static func encode(_ registration: DeviceRegistration, into writer: inout ByteWriter) {
        writer.u32(registration.nodeID.rawValue)
        encode(registration.configuredNodes, into: &writer)
        switch registration.tieBreaker {
        case .lowest: writer.u8(0); writer.u32(0)
        case .highest: writer.u8(1); writer.u32(0)
        case .node(let node): writer.u8(2); writer.u32(node.rawValue)
        }
        writer.bool(registration.keepActivePartition)
        writer.u8(registration.algorithm == .ffsplit ? 0 : 1)
        let milliseconds = registration.heartbeatInterval / .milliseconds(1)
        writer.u32(UInt32(clamping: Int64(milliseconds.rounded())))
    }

    static func decodeRegistration(_ reader: inout ByteReader) throws(WireError) -> DeviceRegistration {
        let node = NodeID(try reader.u32("node id"))
        let configured = try decodeNodes(&reader, "configured nodes")
        var at = reader.offset
        let tieBreaker: TieBreaker
        switch (try reader.u8("tie-breaker"), try reader.u32("tie-breaker node")) {
        case (0, 0): tieBreaker = .lowest
        case (1, 0): tieBreaker = .highest
        case (2, let node): tieBreaker = .node(NodeID(node))
        case (let kind, let node): throw .invalid(field: "tie-breaker", offset: at, reason: "kind \(kind) node \(node)")
        }
        let keepActive = try reader.bool("keep active partition")
        at = reader.offset
        let algorithm: DecisionAlgorithm
        switch try reader.u8("algorithm") {
        case 0: algorithm = .ffsplit
        case 1: algorithm = .lms
        case let other: throw .invalid(field: "algorithm", offset: at, reason: "algorithm \(other)")
        }
        at = reader.offset
        let milliseconds = try reader.u32("heartbeat interval")
        guard milliseconds >= 1 else { throw .invalid(field: "heartbeat interval", offset: at, reason: "zero") }
        return DeviceRegistration(nodeID: node, configuredNodes: configured, tieBreaker: tieBreaker, keepActivePartition: keepActive,
                                  algorithm: algorithm, heartbeatInterval: .milliseconds(Int64(milliseconds)))
    }
}

/// Cuts a byte stream into frames: bytes in, whole frames out. At most one frame is ever
/// buffered (`QuorumFrame.headerBytes + payloadBytesMax`); a bad header throws at once.
public struct QuorumFrameStream: Sendable {
    var buffer: [UInt8] = []

    public init() {}

    public var bufferedBytes: Int { buffer.count }

    /// Appends `bytes` and returns every frame now complete, in order. After a throw the
    /// stream is unusable: the connection is to be closed.
    public mutating func append(_ bytes: some Sequence<UInt8>) throws(WireError) -> [QuorumFrame] {
        buffer.append(contentsOf: bytes)
        var frames: [QuorumFrame] = []
        var start = 0
        while let length = try QuorumFrame.frameLength(buffer, from: start), buffer.count - start >= length {
            frames.append(try QuorumFrame.decode(Array(buffer[start..<(start + length)])))
            start += length
        }
        buffer.removeFirst(start)
        precondition(buffer.count < QuorumFrame.headerBytes + QuorumFrame.payloadBytesMax, "a checked header bounds the buffer")
        return frames
    }
}
