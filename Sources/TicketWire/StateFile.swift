import TicketElection

/// The on-disk state of batond: every ticket's `PersistentTicketState`, the boot it was
/// written in and the boot-clock reading at the write, so that a restart can tell how much
/// time passed (same boot) or that it cannot know (after a reboot).
///
/// Layout: magic "BTNS", version u8, boot id (string), boot clock ns (i64), ticket count
/// (u32), tickets, then a CRC-32 of everything before it. A torn or corrupt file is refused
/// as a whole: batond then starts that member as "state lost" (quiet for one lease).
public struct StateFile: Sendable, Equatable {
    public static let magic: UInt32 = 0x4254_4E53
    public static let version: UInt8 = 1
    public static let ticketsMax = 100_000

    public let bootID: String
    /// CLOCK_BOOTTIME when written (keeps running across suspend, restarts with the machine).
    public let bootClock: Duration
    public let tickets: [String: PersistentTicketState]

    public init(bootID: String, bootClock: Duration, tickets: [String: PersistentTicketState]) {
        self.bootID = bootID
        self.bootClock = bootClock
        self.tickets = tickets
    }

    public func encoded() -> [UInt8] {
        StateFile.encode(bootID: bootID, bootClock: bootClock, tickets: tickets.keys.sorted().map { ($0, tickets[$0]!) })
    }

    /// The bytes of a state file holding `tickets` in the order given (names must not repeat):
    /// the journal writes each batch's changed tickets this way, without building a dictionary.
    public static func encode(bootID: String, bootClock: Duration, tickets: some Collection<(String, PersistentTicketState)>) -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + tickets.count * 96)
        writer.u32(StateFile.magic)
        writer.u8(StateFile.version)
        writer.string(bootID, lengthMax: 255)
        writer.i64(bootClock.nanoseconds)
        writer.u32(UInt32(tickets.count))
        for (name, state) in tickets {
            writer.string(name, lengthMax: TicketPolicy.nameLengthMax)
            writer.u64(state.term)
            writer.u8(state.votedFor.map { UInt8($0.index) } ?? noMember)
            encodeLease(state.promise, into: &writer)
            encodeOptionalDuration(state.leading, into: &writer)
            writer.bool(state.intendedGranted)
            writer.bool(state.standby)
            writer.u8(UInt8(state.manualHolders.count))
            for holder in state.manualHolders { writer.u8(UInt8(holder.index)) }
            writer.u32(UInt32(state.attributes.count))
            for key in state.attributes.keys.sorted() {
                writer.string(key, lengthMax: 255)
                writer.string(state.attributes[key]!, lengthMax: textMax)
            }
        }
        writer.u32(crc32(writer.bytes))
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> StateFile {
        guard bytes.count >= 9 else { throw .truncated(field: "state file", offset: bytes.count) }
        var check = ByteReader(bytes, from: bytes.count - 4)
        let stored = try check.u32("checksum")
        let computed = crc32(Array(bytes[0..<(bytes.count - 4)]))
        guard stored == computed else {
            throw .invalid(field: "checksum", offset: bytes.count - 4, reason: "stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16))")
        }
        var reader = ByteReader(bytes, from: 0, to: bytes.count - 4)
        let magic = try reader.u32("magic")
        guard magic == StateFile.magic else { throw .badMagic(found: magic) }
        let version = try reader.u8("version")
        guard version == StateFile.version else { throw .unsupportedVersion(version) }
        let bootID = try reader.string("boot id", lengthMax: 255)
        let clockOffset = reader.offset
        let clock = try reader.i64("boot clock")
        guard clock >= 0 else { throw .invalid(field: "boot clock", offset: clockOffset, reason: "negative") }
        let countOffset = reader.offset
        let count = Int(try reader.u32("ticket count"))
        guard count <= ticketsMax else { throw .invalid(field: "ticket count", offset: countOffset, reason: "\(count) over \(ticketsMax)") }
        var tickets: [String: PersistentTicketState] = [:]
        for _ in 0..<count {
            let nameOffset = reader.offset
            let name = try reader.string("ticket name", lengthMax: TicketPolicy.nameLengthMax)
            guard TicketPolicy.isValidName(name), tickets[name] == nil else {
                throw .invalid(field: "ticket name", offset: nameOffset, reason: "\"\(name)\" invalid or repeated")
            }
            var state = PersistentTicketState()
            state.term = try reader.u64("term")
            let votedOffset = reader.offset
            let voted = try reader.u8("voted for")
            if voted != noMember {
                guard Int(voted) < Membership.membersMax else { throw .invalid(field: "voted for", offset: votedOffset, reason: "member \(voted)") }
                state.votedFor = MemberID(Int(voted))
            }
            state.promise = try decodeLease(&reader)
            state.leading = try decodeOptionalDuration(&reader, "leading")
            state.intendedGranted = try reader.bool("intended granted")
            state.standby = try reader.bool("standby")
            let holdersOffset = reader.offset
            let holders = Int(try reader.u8("manual holder count"))
            // A count past the member limit is damage, not a shorter list: the bytes after
            // it would be read as the next fields.
            guard holders <= Membership.membersMax else {
                throw .invalid(field: "manual holder count", offset: holdersOffset, reason: "\(holders) over \(Membership.membersMax)")
            }
            for _ in 0..<holders {
                state.manualHolders.append(try decodeMember(&reader, "manual holder"))
            }
            let attributeCount = try decodeCount(&reader, "attribute count")
            for _ in 0..<attributeCount {
                let key = try reader.string("attribute name", lengthMax: 255)
                state.attributes[key] = try reader.string("attribute value", lengthMax: textMax)
            }
            tickets[name] = state
        }
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining) }
        return StateFile(bootID: bootID, bootClock: .nanoseconds(clock), tickets: tickets)
    }
}

/// CRC-32 (IEEE), a byte at a time through a 256-entry table: state records run to a megabyte
/// at 10,000 tickets (a compaction), where the bitwise loop cost 8 steps per byte.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    let table = CRC32Table.entries
    for byte in bytes {
        crc = (crc >> 8) ^ table[Int((crc ^ UInt32(byte)) & 0xFF)]
    }
    return ~crc
}

enum CRC32Table {
    /// Immutable, computed once.
    static let entries: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        return crc
    }
}
