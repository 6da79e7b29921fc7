import ClusterIdentity
import QuorumArbiter
import QuorumWire
import Testing
import TicketWire

/// The quorum device's frames: every message survives the round trip; garbage, floods and
/// frames past the limits are refused with what and where, never buffered without bound.
@Suite struct QuorumFrameTests {
    static let ring = RingID(nodeID: NodeID(3), sequence: 0x1_0000_0001)
    static let frames: [QuorumFrame] = [
        .register(clusterName: "site-a", DeviceRegistration(nodeID: NodeID(2), configuredNodes: [NodeID(1), NodeID(2), NodeID(7)],
                                                            tieBreaker: .node(NodeID(7)), keepActivePartition: false, heartbeatInterval: .milliseconds(4_000))),
        .register(clusterName: "x", DeviceRegistration(nodeID: NodeID(1), configuredNodes: [NodeID(1)], tieBreaker: .highest, algorithm: .lms)),
        .device(.membership(MembershipReport(ring: ring, members: [NodeID(1), NodeID(3)], heuristics: .pass))),
        .device(.heuristics(.fail)),
        .device(.voteInfoReply(sequence: UInt32.max)),
        .device(.heartbeat),
        .arbiter(.registered),
        .arbiter(.refused("node 9 is not configured")),
        .arbiter(.voteInfo(sequence: 17, ring: ring, vote: .ack)),
        .arbiter(.voteInfo(sequence: 0, ring: ring, vote: .nack)),
        .arbiter(.heartbeatReply),
    ]

    @Test func everyFrameRoundTrips() throws {
        for frame in Self.frames {
            #expect(try QuorumFrame.decode(frame.encoded()) == frame)
        }
    }

    @Test func aStreamCutAnywhereGivesTheSameFrames() throws {
        let bytes = Self.frames.flatMap { $0.encoded() }
        var whole = QuorumFrameStream()
        #expect(try whole.append(bytes) == Self.frames)
        var byByte = QuorumFrameStream()
        var frames: [QuorumFrame] = []
        for byte in bytes { frames += try byByte.append([byte]) }
        #expect(frames == Self.frames)
        #expect(byByte.bufferedBytes == 0)
    }

    @Test func garbageIsRefusedAtItsHeader() {
        var stream = QuorumFrameStream()
        #expect(throws: WireError.badMagic(found: 0x4745_5420)) { try stream.append(Array("GET / HTTP/1.0\r\n".utf8)) }
        var header = QuorumFrame.arbiter(.registered).encoded()
        header[4] = 9
        #expect(throws: WireError.invalid(field: "version", offset: 4, reason: "version 9, this build speaks 1")) { try QuorumFrame.decode(header) }
        header = QuorumFrame.arbiter(.registered).encoded()
        header[5] = 200
        #expect(throws: WireError.unknownFrameType(200)) { try QuorumFrame.decode(header) }
    }

    @Test func aFrameOverTheLimitIsRefusedBeforeItsPayload() {
        var header = QuorumFrame.device(.heartbeat).encoded()
        header[8] = 0x7f  // a declared payload of ~2 GB
        var stream = QuorumFrameStream()
        #expect(throws: WireError.frameTooLarge(length: 0x7f00_0000, limit: QuorumFrame.payloadBytesMax)) { try stream.append(header) }
    }

    @Test func fieldsAreChecked() {
        // Members not ascending.
        var bytes = QuorumFrame.device(.membership(MembershipReport(ring: Self.ring, members: [NodeID(1), NodeID(3)]))).encoded()
        let second = QuorumFrame.headerBytes + 12 + 2 + 4
        bytes[second + 3] = 1
        #expect(throws: WireError.invalid(field: "members", offset: second, reason: "node ids not ascending and unique")) { try QuorumFrame.decode(bytes) }
        // A vote that is neither.
        bytes = QuorumFrame.arbiter(.voteInfo(sequence: 1, ring: Self.ring, vote: .ack)).encoded()
        bytes[bytes.count - 1] = 5
        #expect(throws: WireError.invalid(field: "vote", offset: bytes.count - 1, reason: "vote 5")) { try QuorumFrame.decode(bytes) }
        // Bytes after the last field (the declared length includes them).
        bytes = QuorumFrame.device(.heartbeat).encoded() + [0]
        bytes[11] = 1
        #expect(throws: WireError.trailingBytes(count: 1)) { try QuorumFrame.decode(bytes) }
        // An empty cluster name.
        bytes = QuorumFrame.register(clusterName: "x", DeviceRegistration(nodeID: NodeID(1), configuredNodes: [NodeID(1)])).encoded()
        bytes[QuorumFrame.headerBytes] = 0
        #expect(throws: WireError.self) { try QuorumFrame.decode(bytes) }
    }

    @Test func aFloodOfValidFramesIsCutIntoFramesWithoutGrowingTheBuffer() throws {
        let one = QuorumFrame.device(.heartbeat).encoded()
        var stream = QuorumFrameStream()
        var count = 0
        for _ in 0..<1_000 {
            count += try stream.append(Array(repeating: one, count: 64).flatMap { $0 } + one.prefix(5)).count
            #expect(stream.bufferedBytes < QuorumFrame.headerBytes + QuorumFrame.payloadBytesMax)
            count += try stream.append(one.dropFirst(5)).count
        }
        #expect(count == 65_000)
        #expect(stream.bufferedBytes == 0)
    }
}
