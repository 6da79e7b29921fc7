@testable import CRMCore
import SeededRandom
import Testing
import TicketWire
import CIB

@Suite struct MessageWireTests {
    static let origin = Member(nodeID: NodeID(2), pid: 4242)
    static let examples: [Message] = [
        .announce(Announce(view: 0xfeed, nodeName: "node2", dc: Member(nodeID: NodeID(1), pid: 7), seen: [NodeID(1), NodeID(2)],
                           attributes: ["master-db": "10", "shutdown": "0"], clusterOptions: ["no-quorum-policy": "freeze"], cibSequence: 9)),
        .announce(Announce(view: 1, nodeName: "n", dc: nil, seen: [], attributes: [:], clusterOptions: [:], cibSequence: 0)),
        .deadtimeExpired(view: 77),
        .joinAck(view: 5, dc: origin, members: [origin, Member(nodeID: NodeID(3), pid: 1)]),
        .attributeRequest(AttributeChange(view: 3, origin: origin, requestID: 8, target: .node(NodeID(3)), name: "fail-count-db#monitor_10000", value: "2")),
        .attributeUpdate(AttributeChange(view: 3, origin: origin, requestID: 8, target: .cluster, name: "no-quorum-policy", value: nil)),
        .cibWriteRequest(CIBWrite(view: 4, origin: origin, requestID: 1, sequence: 0, payload: Array("<diff/>".utf8))),
        .cibWriteApplied(CIBWrite(view: 4, origin: origin, requestID: 1, sequence: 12, payload: [])),
        .announce(Announce(view: 2, nodeName: "n", dc: nil, seen: [], attributes: [:], clusterOptions: [:], cibSequence: 3,
                           cibVersion: CIBVersion(adminEpoch: 1, epoch: 20, numUpdates: 7), cibDigest: "0123456789abcdef0123456789abcdef")),
        .cibWriteRefused(view: 4, origin: origin, requestID: 9, reason: "the XML: malformed"),
        .cibSyncRequest(view: 4),
        .historyForget(HistoryForget(view: 4, node: NodeID(3), resources: ["d1", "web:2"], operation: "monitor", intervalMilliseconds: 10_000)),
        .failInjection(FailInjection(view: 4, node: NodeID(2), resource: "d1", resourceClass: "ocf", provider: "", type: "Dummy", wallClockSeconds: 1_700_000_000)),
        .cibSync(CIBSync(view: 4, version: CIBVersion(adminEpoch: 0, epoch: 3, numUpdates: 1), digest: "",
                         chunk: SyncChunks.split(Array("<cib/>".utf8), transfer: 1)[0].encoded())),
        .announce(Announce(view: 3, nodeName: "n", dc: nil, seen: [], attributes: [:], clusterOptions: [:], cibSequence: 0,
                           tickets: ["ticketA": ["granted": "true", "owner": "2", "expires": "1765000000", "term": "4"], "ticketB": ["standby": "true"]])),
        .ticketRequest(SiteTicketChange(view: 6, origin: origin, requestID: 3,
                                    tickets: ["ticketA": ["granted": "true", "expires": "1765000600", "owner": nil], "t2": ["standby": "false"]])),
        .ticketUpdate(SiteTicketChange(view: 6, origin: origin, requestID: 0, tickets: ["ticketA": ["granted": "false"]])),
    ]

    @Test func everyMessageRoundTrips() throws {
        for message in Self.examples {
            let bytes = MessageWire.encode(message)
            #expect(try MessageWire.decode(bytes) == message)
            #expect(Array(bytes[0..<4]) == [0x42, 0x43, 0x52, 0x4D])
            #expect(Int(bytes[8]) << 24 | Int(bytes[9]) << 16 | Int(bytes[10]) << 8 | Int(bytes[11]) == bytes.count - 12)
        }
    }

    @Test func badHeadersAreTypedErrors() {
        let good = MessageWire.encode(.deadtimeExpired(view: 1))
        var magic = good
        magic[0] = 0
        #expect(throws: CRMWireError.badMagic(found: 0x0043_524D)) { try MessageWire.decode(magic) }
        var version = good
        version[4] = 1
        #expect(throws: CRMWireError.unsupportedVersion(1)) { try MessageWire.decode(version) }
        var type = good
        type[5] = 99
        #expect(throws: CRMWireError.unknownType(99)) { try MessageWire.decode(type) }
        var reserved = good
        reserved[7] = 1
        #expect(throws: CRMWireError.self) { try MessageWire.decode(reserved) }
        #expect(throws: CRMWireError.lengthMismatch(declared: 8, actual: 7)) { try MessageWire.decode(Array(good.dropLast())) }
        #expect(throws: CRMWireError.field(.truncated(field: "length", offset: 8))) { try MessageWire.decode(Array(good.prefix(9))) }
        #expect(throws: CRMWireError.tooLarge(bytes: MessageWire.messageBytesMax + 1, limit: MessageWire.messageBytesMax)) {
            try MessageWire.decode([UInt8](repeating: 0, count: MessageWire.messageBytesMax + 1))
        }
    }

    @Test func fieldErrorsSayWhichFieldAndWhere() {
        // An attribute target byte that names no target.
        var bytes = MessageWire.encode(Self.examples[4])
        let targetOffset = 12 + 8 + 8 + 8
        bytes[targetOffset] = 7
        #expect(throws: CRMWireError.field(.invalid(field: "attribute.target", offset: targetOffset, reason: "unknown target 7"))) {
            try MessageWire.decode(bytes)
        }
        // A repeated attribute name in an announce.
        let announce = Announce(view: 1, nodeName: "a", dc: nil, seen: [], attributes: ["x": "1", "y": "2"], clusterOptions: [:], cibSequence: 0)
        var repeated = MessageWire.encode(.announce(announce))
        let second = repeated.lastIndex(of: UInt8(ascii: "y"))!
        repeated[second] = UInt8(ascii: "x")
        #expect(throws: CRMWireError.self) { try MessageWire.decode(repeated) }
    }

    /// Ticket changes: a bad id, an empty change, a repeated name are refused with the field.
    @Test func ticketFieldErrorsSayWhichField() {
        let change = SiteTicketChange(view: 1, origin: Self.origin, requestID: 2, tickets: ["tk": ["granted": "true"]])
        let good = MessageWire.encode(.ticketRequest(change))
        // Header, view, origin (8), request id, then the u16 ticket count.
        let countOffset = 12 + 8 + 8 + 8
        var empty = good
        empty[countOffset + 1] = 0
        #expect(throws: CRMWireError.self) { try MessageWire.decode(empty) }
        var badID = good
        badID[countOffset + 2 + 2] = UInt8(ascii: "<")  // the id's first byte (after its u16 length)
        do {
            _ = try MessageWire.decode(badID)
            Issue.record("an id with '<' was accepted")
        } catch {
            #expect("\(error)".contains("ticket.id"), "\(error)")
        }
        let named = MessageWire.encode(.ticketUpdate(SiteTicketChange(view: 1, origin: Self.origin, requestID: 0,
                                                                  tickets: ["tk": ["ab": "1", "ac": "2"]])))
        var repeated = named
        let second = repeated.lastIndex(of: UInt8(ascii: "c"))!
        repeated[second] = UInt8(ascii: "b")
        #expect(throws: CRMWireError.self) { try MessageWire.decode(repeated) }
    }

    /// Mutated and random bytes: always a decoded message or a typed error, never a trap.
    @Test func mutatedMessagesNeverTrap() {
        var random = SplitMix64(seed: 13)
        var errors = 0
        for round in 0..<20_000 {
            var bytes = MessageWire.encode(Self.examples[round % Self.examples.count])
            for _ in 0...random.below(4) {
                switch random.below(3) {
                case 0: bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes = Array(bytes.prefix(random.below(bytes.count + 1)))
                default: bytes.append(UInt8(truncatingIfNeeded: random.next()))
                }
                if bytes.isEmpty { break }
            }
            do {
                _ = try MessageWire.decode(bytes)
            } catch {
                errors += 1
            }
        }
        #expect(errors > 10_000, "mutations should mostly be refused, \(errors) were")
    }
}
