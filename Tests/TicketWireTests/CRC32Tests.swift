import Testing
@testable import TicketWire

/// The table-driven CRC-32 gives the IEEE check values (the state file format depends on them).
struct CRC32Tests {
    @Test func knownAnswers() {
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(crc32([]) == 0)
        #expect(crc32(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }
}
