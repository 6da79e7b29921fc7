import CIB
import TicketWire

/// The bytes of a `Message` on the CPG group: versioned, length-checked, decoded with typed
/// errors (TicketWire's byte reader and writer, the house's one copy of byte handling).
///
/// Header (12 bytes, big-endian):
///
/// | bytes | field    | value                                          |
/// |-------|----------|------------------------------------------------|
/// | 0..3  | magic    | "BCRM" (0x4243524D)                            |
/// | 4     | version  | 6 (2 added the CIB; 3 resources: execute, results, histories; 4 majority acknowledgement: cibHeld, announce's confirmed sequence; 5 fencing; 6 tickets: ticketRequest (18), ticketUpdate (19), announce's tickets; historyForget (20), failInjection (21)) |
/// | 5     | type     | `MessageWire.Kind`                             |
/// | 6..7  | reserved | 0 (anything else is refused)                   |
/// | 8..11 | length   | payload bytes, exactly what follows the header |
///
/// A peer's garbage is an expected input: `decode` throws `CRMWireError`, the core counts it
/// and drops the message; nothing here traps on bytes from the network.
public enum MessageWire {
    public static let magic: UInt32 = 0x4243_524D
    public static let version: UInt8 = 6
    public static let headerBytes = 12
    /// The largest message (bytes, header included); the CPG binding refuses larger sends too.
    public static let messageBytesMax = 1 << 20
    public static let nameBytesMax = 255
    public static let valueBytesMax = 4096
    public static let attributesMax = 1024
    public static let nodesMax = 1024

    enum Kind: UInt8 {
        case announce = 1
        case deadtimeExpired = 2
        case joinAck = 3
        case attributeRequest = 4
        case attributeUpdate = 5
        case cibWriteRequest = 6
        case cibWriteApplied = 7
        case cibWriteRefused = 8
        case cibSyncRequest = 9
        case cibSync = 10
        case executeRequest = 11
        case executeResult = 12
        case resourceHistory = 13
        case cibHeld = 14
        // 15 is left for issue13-close's kind (the lead renumbers at merge if needed).
        case fenceRequest = 16
        case fenceResult = 17
        case ticketRequest = 18
        case ticketUpdate = 19
        case historyForget = 20
        case failInjection = 21
    }

    /// The bytes of a CIB operation, patchset or sync chunk one message can carry (the rest
    /// of the message is at most this much smaller than `messageBytesMax`).
    public static let cibPayloadBytesMax = messageBytesMax - 512

    /// The message's bytes. A message over `messageBytesMax` is its builder's bug (the core
    /// checks sizes of what it accepts from admins): it traps. `encodedIfFits` never does.
    public static func encode(_ message: Message) -> [UInt8] {
        guard let bytes = encodedIfFits(message) else {
            preconditionFailure("MessageWire: message over \(messageBytesMax) bytes: its builder must check the size")
        }
        return bytes
    }

    public static func encodedIfFits(_ message: Message) -> [UInt8]? {
        var writer = ByteWriter(capacity: 128)
        writer.u32(magic)
        writer.u8(version)
        writer.u8(kind(of: message).rawValue)
        writer.u16(0)
        writer.u32(0)
        switch message {
        case .announce(let announce):
            writer.u64(announce.view)
            writer.string(announce.nodeName, lengthMax: nameBytesMax)
            writeOptionalMember(announce.dc, into: &writer)
            precondition(announce.seen.count <= nodesMax, "Announce: \(announce.seen.count) seen nodes over \(nodesMax)")
            writer.u16(UInt16(announce.seen.count))
            for node in announce.seen { writer.u32(node.rawValue) }
            writeMap(announce.attributes, into: &writer)
            writeMap(announce.clusterOptions, into: &writer)
            writer.u64(announce.cibSequence)
            writeVersion(announce.cibVersion, into: &writer)
            writer.string(announce.cibDigest, lengthMax: nameBytesMax)
            writer.u64(announce.confirmedSequence)
            writeTickets(announce.tickets, into: &writer)
        case .deadtimeExpired(let view):
            writer.u64(view)
        case .joinAck(let view, let dc, let members):
            writer.u64(view)
            writeMember(dc, into: &writer)
            precondition(members.count <= nodesMax, "joinAck: \(members.count) members over \(nodesMax)")
            writer.u16(UInt16(members.count))
            for member in members { writeMember(member, into: &writer) }
        case .attributeRequest(let change), .attributeUpdate(let change):
            writer.u64(change.view)
            writeMember(change.origin, into: &writer)
            writer.u64(change.requestID)
            switch change.target {
            case .cluster:
                writer.u8(0)
            case .node(let node):
                writer.u8(1)
                writer.u32(node.rawValue)
            }
            writer.string(change.name, lengthMax: nameBytesMax)
            if let value = change.value {
                writer.bool(true)
                writer.string(value, lengthMax: valueBytesMax)
            } else {
                writer.bool(false)
            }
        case .cibWriteRequest(let write), .cibWriteApplied(let write):
            writer.u64(write.view)
            writeMember(write.origin, into: &writer)
            writer.u64(write.requestID)
            writer.u64(write.sequence)
            guard write.payload.count <= messageBytesMax else { return nil }
            writer.u32(UInt32(write.payload.count))
            writer.raw(write.payload)
        case .cibWriteRefused(let view, let origin, let requestID, let reason):
            writer.u64(view)
            writeMember(origin, into: &writer)
            writer.u64(requestID)
            writer.string(reason.validPrefix(valueBytesMax), lengthMax: valueBytesMax)
        case .cibSyncRequest(let view):
            writer.u64(view)
        case .cibHeld(let view, let sequence):
            writer.u64(view)
            writer.u64(sequence)
        case .cibSync(let sync):
            writer.u64(sync.view)
            writeVersion(sync.version, into: &writer)
            writer.string(sync.digest, lengthMax: nameBytesMax)
            guard sync.chunk.count <= messageBytesMax else { return nil }
            writer.u32(UInt32(sync.chunk.count))
            writer.raw(sync.chunk)
        case .executeRequest(let request):
            writeExecuteRequest(request, into: &writer)
        case .executeResult(let result):
            writeExecuteResult(result, into: &writer)
        case .fenceRequest(let request):
            writeFenceRequest(request, into: &writer)
        case .fenceResult(let record):
            writeFenceRecord(record, into: &writer)
        case .ticketRequest(let change), .ticketUpdate(let change):
            writer.u64(change.view)
            writeMember(change.origin, into: &writer)
            writer.u64(change.requestID)
            guard writeTicketChanges(change.tickets, into: &writer) else { return nil }
        case .historyForget(let forget):
            writeHistoryForget(forget, into: &writer)
        case .failInjection(let injection):
            writeFailInjection(injection, into: &writer)
        case .resourceHistory(let report):
            writer.u64(report.view)
            writer.u32(report.node.rawValue)
            guard report.part.count <= messageBytesMax else { return nil }
            writer.u32(UInt32(report.part.count))
            writer.raw(report.part)
        }
        let length = writer.bytes.count - headerBytes
        guard writer.bytes.count <= messageBytesMax else { return nil }
        writer.patchU32(UInt32(length), at: 8)
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(CRMWireError) -> Message {
        guard bytes.count <= messageBytesMax else { throw .tooLarge(bytes: bytes.count, limit: messageBytesMax) }
        do {
            var reader = ByteReader(bytes)
            let found = try reader.u32("magic")
            guard found == magic else { throw CRMWireError.badMagic(found: found) }
            let foundVersion = try reader.u8("version")
            guard foundVersion == version else { throw CRMWireError.unsupportedVersion(foundVersion) }
            let type = try reader.u8("type")
            guard let kind = Kind(rawValue: type) else { throw CRMWireError.unknownType(type) }
            let reserved = try reader.u16("reserved")
            guard reserved == 0 else { throw CRMWireError.field(.invalid(field: "reserved", offset: 6, reason: "must be 0, is \(reserved)")) }
            let length = Int(try reader.u32("length"))
            guard length == reader.remaining else { throw CRMWireError.lengthMismatch(declared: length, actual: reader.remaining) }
            let (message, tail) = try body(kind, &reader, bytes)
            guard tail || reader.remaining == 0 else { throw CRMWireError.field(.trailingBytes(count: reader.remaining)) }
            return message
        } catch let error as CRMWireError {
            throw error
        } catch let error as WireError {
            throw .field(error)
        } catch {
            preconditionFailure("MessageWire.decode: unexpected error \(error)")
        }
    }

    /// The message, and whether it took the rest of the bytes as its last field.
    private static func body(_ kind: Kind, _ reader: inout ByteReader, _ bytes: [UInt8]) throws -> (Message, Bool) {
        switch kind {
        case .cibWriteRequest, .cibWriteApplied:
            let view = try reader.u64("cib.view")
            let origin = try readMember("cib.origin", &reader)
            let requestID = try reader.u64("cib.requestID")
            let sequence = try reader.u64("cib.sequence")
            let payload = try tail("cib.payload", &reader, bytes)
            let write = CIBWrite(view: view, origin: origin, requestID: requestID, sequence: sequence, payload: payload)
            return (kind == .cibWriteRequest ? .cibWriteRequest(write) : .cibWriteApplied(write), true)
        case .cibSync:
            let view = try reader.u64("cibSync.view")
            let version = try readVersion("cibSync.version", &reader)
            let digest = try reader.string("cibSync.digest", lengthMax: nameBytesMax)
            let chunk = try tail("cibSync.chunk", &reader, bytes)
            return (.cibSync(CIBSync(view: view, version: version, digest: digest, chunk: chunk)), true)
        case .resourceHistory:
            let view = try reader.u64("history.view")
            let node = NodeID(try reader.u32("history.node"))
            let part = try tail("history.part", &reader, bytes)
            return (.resourceHistory(ResourceHistoryReport(view: view, node: node, part: part)), true)
        default:
            return (try fields(kind, &reader), false)
        }
    }

    /// A u32 count and exactly that many bytes, the last field of the message.
    private static func tail(_ field: String, _ reader: inout ByteReader, _ bytes: [UInt8]) throws(WireError) -> [UInt8] {
        let count = Int(try reader.u32(field + ".count"))
        guard count == reader.remaining else {
            throw WireError.invalid(field: field + ".count", offset: reader.offset - 4, reason: "declares \(count) bytes, \(reader.remaining) follow")
        }
        return Array(bytes[reader.offset...])
    }

    private static func fields(_ kind: Kind, _ reader: inout ByteReader) throws -> Message {
        switch kind {
        case .announce:
            let view = try reader.u64("announce.view")
            let name = try reader.string("announce.nodeName", lengthMax: nameBytesMax)
            let dc = try readOptionalMember("announce.dc", &reader)
            let seenCount = Int(try reader.u16("announce.seen.count"))
            guard seenCount <= nodesMax else { throw WireError.invalid(field: "announce.seen.count", offset: reader.offset - 2, reason: "\(seenCount) over \(nodesMax)") }
            var seen: [NodeID] = []
            for _ in 0..<seenCount { seen.append(NodeID(try reader.u32("announce.seen"))) }
            let attributes = try readMap("announce.attributes", &reader)
            let options = try readMap("announce.clusterOptions", &reader)
            let sequence = try reader.u64("announce.cibSequence")
            let version = try readVersion("announce.cibVersion", &reader)
            let digest = try reader.string("announce.cibDigest", lengthMax: nameBytesMax)
            let confirmed = try reader.u64("announce.confirmedSequence")
            let tickets = try readTickets("announce.tickets", &reader)
            return .announce(Announce(view: view, nodeName: name, dc: dc, seen: seen, attributes: attributes,
                                      clusterOptions: options, cibSequence: sequence, cibVersion: version, cibDigest: digest,
                                      confirmedSequence: confirmed, tickets: tickets))
        case .deadtimeExpired:
            return .deadtimeExpired(view: try reader.u64("deadtimeExpired.view"))
        case .joinAck:
            let view = try reader.u64("joinAck.view")
            let dc = try readMember("joinAck.dc", &reader)
            let count = Int(try reader.u16("joinAck.members.count"))
            guard count <= nodesMax else { throw WireError.invalid(field: "joinAck.members.count", offset: reader.offset - 2, reason: "\(count) over \(nodesMax)") }
            var members: [Member] = []
            for _ in 0..<count { members.append(try readMember("joinAck.members", &reader)) }
            return .joinAck(view: view, dc: dc, members: members)
        case .attributeRequest, .attributeUpdate:
            let view = try reader.u64("attribute.view")
            let origin = try readMember("attribute.origin", &reader)
            let requestID = try reader.u64("attribute.requestID")
            let targetAt = reader.offset
            let target: AttributeTarget
            switch try reader.u8("attribute.target") {
            case 0: target = .cluster
            case 1: target = .node(NodeID(try reader.u32("attribute.node")))
            case let other: throw WireError.invalid(field: "attribute.target", offset: targetAt, reason: "unknown target \(other)")
            }
            let name = try reader.string("attribute.name", lengthMax: nameBytesMax)
            guard !name.isEmpty else { throw WireError.invalid(field: "attribute.name", offset: reader.offset, reason: "empty") }
            let value = try reader.bool("attribute.hasValue") ? try reader.string("attribute.value", lengthMax: valueBytesMax) : nil
            let change = AttributeChange(view: view, origin: origin, requestID: requestID, target: target, name: name, value: value)
            return kind == .attributeRequest ? .attributeRequest(change) : .attributeUpdate(change)
        case .cibWriteRefused:
            let view = try reader.u64("cibRefused.view")
            let origin = try readMember("cibRefused.origin", &reader)
            let requestID = try reader.u64("cibRefused.requestID")
            let reason = try reader.string("cibRefused.reason", lengthMax: valueBytesMax)
            return .cibWriteRefused(view: view, origin: origin, requestID: requestID, reason: reason)
        case .cibSyncRequest:
            return .cibSyncRequest(view: try reader.u64("cibSyncRequest.view"))
        case .executeRequest:
            return .executeRequest(try readExecuteRequest(&reader))
        case .executeResult:
            return .executeResult(try readExecuteResult(&reader))
        case .cibHeld:
            let view = try reader.u64("cibHeld.view")
            return .cibHeld(view: view, sequence: try reader.u64("cibHeld.sequence"))
        case .fenceRequest:
            return .fenceRequest(try readFenceRequest(&reader))
        case .fenceResult:
            return .fenceResult(try readFenceRecord(&reader))
        case .ticketRequest, .ticketUpdate:
            let view = try reader.u64("ticket.view")
            let origin = try readMember("ticket.origin", &reader)
            let requestID = try reader.u64("ticket.requestID")
            let tickets = try readTicketChanges(&reader)
            let change = SiteTicketChange(view: view, origin: origin, requestID: requestID, tickets: tickets)
            return kind == .ticketRequest ? .ticketRequest(change) : .ticketUpdate(change)
        case .historyForget:
            return .historyForget(try readHistoryForget(&reader))
        case .failInjection:
            return .failInjection(try readFailInjection(&reader))
        case .cibWriteRequest, .cibWriteApplied, .cibSync, .resourceHistory:
            preconditionFailure("MessageWire: \(kind) is read by body")
        }
    }

    static func kind(of message: Message) -> Kind {
        switch message {
        case .announce: .announce
        case .deadtimeExpired: .deadtimeExpired
        case .joinAck: .joinAck
        case .attributeRequest: .attributeRequest
        case .attributeUpdate: .attributeUpdate
        case .cibWriteRequest: .cibWriteRequest
        case .cibWriteApplied: .cibWriteApplied
        case .cibWriteRefused: .cibWriteRefused
        case .cibSyncRequest: .cibSyncRequest
        case .cibSync: .cibSync
        case .executeRequest: .executeRequest
        case .executeResult: .executeResult
        case .resourceHistory: .resourceHistory
        case .cibHeld: .cibHeld
        case .fenceRequest: .fenceRequest
        case .fenceResult: .fenceResult
        case .ticketRequest: .ticketRequest
        case .ticketUpdate: .ticketUpdate
        case .historyForget: .historyForget
        case .failInjection: .failInjection
        }
    }

    private static func writeMember(_ member: Member, into writer: inout ByteWriter) {
        writer.u32(member.nodeID.rawValue)
        writer.u32(member.pid)
    }

    private static func writeVersion(_ version: CIBVersion, into writer: inout ByteWriter) {
        writer.u64(UInt64(version.adminEpoch))
        writer.u64(UInt64(version.epoch))
        writer.u64(UInt64(version.numUpdates))
    }

    /// Each field at most Int32.max (what a `<cib>` attribute holds in Pacemaker).
    private static func readVersion(_ field: String, _ reader: inout ByteReader) throws(WireError) -> CIBVersion {
        var values: [Int] = []
        for name in ["admin_epoch", "epoch", "num_updates"] {
            let at = reader.offset
            let value = try reader.u64(field + "." + name)
            guard value <= UInt64(Int32.max) else { throw .invalid(field: field + "." + name, offset: at, reason: "\(value) over \(Int32.max)") }
            values.append(Int(value))
        }
        return CIBVersion(adminEpoch: values[0], epoch: values[1], numUpdates: values[2])
    }

    private static func writeOptionalMember(_ member: Member?, into writer: inout ByteWriter) {
        guard let member else { return writer.bool(false) }
        writer.bool(true)
        writeMember(member, into: &writer)
    }

    private static func readMember(_ field: String, _ reader: inout ByteReader) throws(WireError) -> Member {
        let node = try reader.u32(field + ".node")
        return Member(nodeID: NodeID(node), pid: try reader.u32(field + ".pid"))
    }

    private static func readOptionalMember(_ field: String, _ reader: inout ByteReader) throws(WireError) -> Member? {
        try reader.bool(field + ".present") ? try readMember(field, &reader) : nil
    }

    /// Sorted by key, so that equal maps have equal bytes.
    static func writeMap(_ map: [String: String], into writer: inout ByteWriter) {
        precondition(map.count <= attributesMax, "MessageWire: \(map.count) attributes over \(attributesMax)")
        writer.u16(UInt16(map.count))
        for key in map.keys.sorted() {
            writer.string(key, lengthMax: nameBytesMax)
            writer.string(map[key] ?? "", lengthMax: valueBytesMax)
        }
    }

    /// Ticket states: a u16 count, then per ticket (by id) its id and its attributes' map.
    static func writeTickets(_ tickets: [String: [String: String]], into writer: inout ByteWriter) {
        precondition(tickets.count <= TicketRules.ticketsMax, "MessageWire: \(tickets.count) tickets over \(TicketRules.ticketsMax)")
        writer.u16(UInt16(tickets.count))
        for id in tickets.keys.sorted() {
            writer.string(id, lengthMax: nameBytesMax)
            writeMap(tickets[id] ?? [:], into: &writer)
        }
    }

    static func readTickets(_ field: String, _ reader: inout ByteReader) throws(WireError) -> [String: [String: String]] {
        let countAt = reader.offset
        let count = Int(try reader.u16(field + ".count"))
        guard count <= TicketRules.ticketsMax else { throw .invalid(field: field + ".count", offset: countAt, reason: "\(count) over \(TicketRules.ticketsMax)") }
        var tickets: [String: [String: String]] = [:]
        for _ in 0..<count {
            let idAt = reader.offset
            let id = try reader.string(field + ".id", lengthMax: nameBytesMax)
            guard TicketRules.validID(id), tickets[id] == nil else { throw .invalid(field: field + ".id", offset: idAt, reason: "invalid or repeated ticket id '\(id.prefix(80))'") }
            let attributes = try readMap(field + ".attributes", &reader)
            guard attributes.count <= TicketRules.attributesMax else {
                throw .invalid(field: field + ".attributes", offset: idAt, reason: "\(attributes.count) attributes over \(TicketRules.attributesMax)")
            }
            tickets[id] = attributes
        }
        return tickets
    }

    /// A ticket change: a u16 count of tickets; per ticket its id, a u16 count of attributes,
    /// each a name and an optional value (bool, then the value). False when over the limits.
    static func writeTicketChanges(_ tickets: [String: [String: String?]], into writer: inout ByteWriter) -> Bool {
        guard tickets.count <= TicketRules.ticketsMax else { return false }
        writer.u16(UInt16(tickets.count))
        for id in tickets.keys.sorted() {
            let attributes = tickets[id] ?? [:]
            guard id.utf8.count <= nameBytesMax, attributes.count <= TicketRules.attributesMax else { return false }
            writer.string(id, lengthMax: nameBytesMax)
            writer.u16(UInt16(attributes.count))
            for name in attributes.keys.sorted() {
                guard name.utf8.count <= nameBytesMax else { return false }
                writer.string(name, lengthMax: nameBytesMax)
                if let value = attributes[name] ?? nil {
                    guard value.utf8.count <= valueBytesMax else { return false }
                    writer.bool(true)
                    writer.string(value, lengthMax: valueBytesMax)
                } else {
                    writer.bool(false)
                }
            }
        }
        return true
    }

    static func readTicketChanges(_ reader: inout ByteReader) throws(WireError) -> [String: [String: String?]] {
        let countAt = reader.offset
        let count = Int(try reader.u16("ticket.count"))
        guard count >= 1, count <= TicketRules.ticketsMax else { throw .invalid(field: "ticket.count", offset: countAt, reason: "\(count) not in 1...\(TicketRules.ticketsMax)") }
        var tickets: [String: [String: String?]] = [:]
        for _ in 0..<count {
            let idAt = reader.offset
            let id = try reader.string("ticket.id", lengthMax: nameBytesMax)
            guard TicketRules.validID(id), tickets[id] == nil else { throw .invalid(field: "ticket.id", offset: idAt, reason: "invalid or repeated ticket id '\(id.prefix(80))'") }
            let attributesAt = reader.offset
            let attributeCount = Int(try reader.u16("ticket.attributes.count"))
            guard attributeCount >= 1, attributeCount <= TicketRules.attributesMax else {
                throw .invalid(field: "ticket.attributes.count", offset: attributesAt, reason: "\(attributeCount) not in 1...\(TicketRules.attributesMax)")
            }
            var attributes: [String: String?] = [:]
            for _ in 0..<attributeCount {
                let nameAt = reader.offset
                let name = try reader.string("ticket.name", lengthMax: nameBytesMax)
                guard TicketRules.validName(name), attributes[name] == nil else { throw .invalid(field: "ticket.name", offset: nameAt, reason: "invalid or repeated name '\(name.prefix(80))'") }
                attributes[name] = .some(try reader.bool("ticket.hasValue") ? try reader.string("ticket.value", lengthMax: valueBytesMax) : nil)
            }
            tickets[id] = attributes
        }
        return tickets
    }

    static func readMap(_ field: String, _ reader: inout ByteReader) throws(WireError) -> [String: String] {
        let countAt = reader.offset
        let count = Int(try reader.u16(field + ".count"))
        guard count <= attributesMax else { throw .invalid(field: field + ".count", offset: countAt, reason: "\(count) over \(attributesMax)") }
        var map: [String: String] = [:]
        for _ in 0..<count {
            let keyAt = reader.offset
            let key = try reader.string(field + ".name", lengthMax: nameBytesMax)
            guard !key.isEmpty, map[key] == nil else { throw .invalid(field: field + ".name", offset: keyAt, reason: "empty or repeated name '\(key)'") }
            map[key] = try reader.string(field + ".value", lengthMax: valueBytesMax)
        }
        return map
    }
}

/// Why a CPG message could not be decoded: what was wrong and where.
public enum CRMWireError: Error, Equatable, Sendable, CustomStringConvertible {
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt8)
    case unknownType(UInt8)
    case tooLarge(bytes: Int, limit: Int)
    case lengthMismatch(declared: Int, actual: Int)
    /// A field of the payload: truncated, out of range, not UTF-8, trailing bytes.
    case field(WireError)

    public var description: String {
        switch self {
        case .badMagic(let found): "not a baton-crmd message (magic 0x\(String(found, radix: 16)))"
        case .unsupportedVersion(let version): "unsupported baton-crmd message version \(version) (this build speaks \(MessageWire.version))"
        case .unknownType(let type): "unknown baton-crmd message type \(type)"
        case .tooLarge(let bytes, let limit): "message of \(bytes) bytes over the limit of \(limit)"
        case .lengthMismatch(let declared, let actual): "message declares \(declared) payload bytes, has \(actual)"
        case .field(let error): error.description
        }
    }
}

extension String {
    /// The longest prefix of at most `bytes` UTF-8 bytes that ends on a character boundary.
    func validPrefix(_ bytes: Int) -> String {
        var text = self
        while text.utf8.count > bytes { text.removeLast() }
        return text
    }
}
