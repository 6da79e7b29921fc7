import GeoSimulation
import Testing
import TicketElection
import TicketWire

struct StateFileTests {
    static func sample() -> StateFile {
        var first = PersistentTicketState(term: 7, votedFor: MemberID(1),
                                          promise: LeaseView(leader: MemberID(1), term: 7, remaining: .milliseconds(9_500), confirmed: true),
                                          leading: nil, intendedGranted: true)
        first.attributes = ["geo": "ok", "note": "ünïcode"]
        let second = PersistentTicketState(term: 2, votedFor: nil, promise: nil, leading: .seconds(4), intendedGranted: false,
                                           standby: true, manualHolders: [MemberID(0), MemberID(2)])
        return StateFile(bootID: "5b7c0b7e-3a1f-4d5e-9b3a-1f2e3d4c5b6a", bootClock: .seconds(12_345),
                         tickets: ["ticketA": first, "ticket/B": second])
    }

    @Test func roundTrip() throws {
        let file = Self.sample()
        #expect(try StateFile.decode(file.encoded()) == file)
    }

    @Test func everyTornOrFlippedFileIsRefused() {
        let bytes = Self.sample().encoded()
        for length in 0..<bytes.count {
            #expect(throws: WireError.self) { try StateFile.decode(Array(bytes.prefix(length))) }
        }
        var random = SeededGenerator(seed: 9)
        for _ in 0..<2_000 {
            var damaged = bytes
            damaged[Int.random(in: 0..<damaged.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            #expect(throws: WireError.self) { try StateFile.decode(damaged) }
        }
    }
}
