import Testing
import TicketElection
@testable import TicketWire

/// A state file whose checksum is right but whose manual holder count runs past the member
/// limit is refused with the field and offset named (it used to read 17 holders and carry on
/// reading the rest of the count as the next fields).
struct StateFileCountTests {
    @Test func aManualHolderCountPastTheMemberLimitIsRefused() throws {
        var writer = ByteWriter()
        writer.u32(StateFile.magic)
        writer.u8(StateFile.version)
        writer.string("boot", lengthMax: 255)
        writer.i64(0)
        writer.u32(1)
        writer.string("ticketA", lengthMax: TicketPolicy.nameLengthMax)
        writer.u64(UInt64.max)
        writer.u8(noMember)
        writer.u8(0)  // no promise
        writer.i64(-1)  // no lead
        writer.bool(false)
        writer.bool(false)
        let countOffset = writer.bytes.count
        writer.u8(200)
        for _ in 0..<200 { writer.u8(1) }
        writer.u32(0)
        writer.u32(crc32(writer.bytes))
        #expect(throws: WireError.invalid(field: "manual holder count", offset: countOffset, reason: "200 over \(Membership.membersMax)")) {
            try StateFile.decode(writer.bytes)
        }
    }
}
