import Testing
import TLSTransport

/// The sealing of election datagrams: what one key seals only that key opens, once (with the
/// replay window), and any change to a datagram makes it unopenable.
struct DatagramKeyTests {
    static func secret(_ seed: UInt8) -> [UInt8] { (0..<DatagramKey.secretBytes).map { UInt8(truncatingIfNeeded: Int($0) * 31 + Int(seed) * 7 + 1) } }

    @Test func sealedOpensToTheSameBytesUnderTheSameKeyOnly() {
        let key = DatagramKey(secret: Self.secret(1))
        let other = DatagramKey(secret: Self.secret(2))
        for length in [0, 1, 15, 16, 17, 200, DatagramKey.plaintextBytesMax] {
            let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            let datagram = key.seal(plaintext, sequence: UInt64(length + 1))
            #expect(datagram.count == length + DatagramKey.headerBytes + DatagramKey.tagBytes)
            #expect(datagram.count <= DatagramKey.datagramBytesMax)
            #expect(DatagramKey.keyID(of: datagram) == key.id)
            let opened = key.open(datagram)
            #expect(opened?.plaintext == plaintext && opened?.sequence == UInt64(length + 1))
            #expect(other.open(datagram) == nil)
        }
        // One plaintext, two sequence numbers: two different datagrams (nonce per sequence).
        #expect(key.seal([1, 2, 3], sequence: 1) != key.seal([1, 2, 3], sequence: 2))
    }

    @Test func everyFlippedBitAndEveryTruncationIsRefused() {
        let key = DatagramKey(secret: Self.secret(3))
        let datagram = key.seal(Array("a renewal of ticketA".utf8), sequence: 42)
        for index in datagram.indices {
            for bit in 0..<8 {
                var damaged = datagram
                damaged[index] ^= 1 << bit
                #expect(key.open(damaged) == nil, "bit \(bit) of byte \(index) flipped and still opened")
            }
        }
        for length in 0..<datagram.count {
            #expect(key.open(Array(datagram[0..<length])) == nil)
        }
        #expect(key.open(datagram + [0]) == nil)
    }

    @Test func theReplayWindowAcceptsEachSequenceOnce() {
        var window = ReplayWindow()
        // (offered, accepted): reordering inside the window is fine, a second copy or one
        // older than the window (64) is not.
        let offers: [(UInt64, Bool)] = [
            (1, true), (1, false), (5, true), (3, true), (3, false), (200, true), (100, false), (199, true),
            (137, true), (136, false), (200, false), (201, true), (137, false),
        ]
        let results = offers.map { window.accept($0.0) }
        #expect(results == offers.map(\.1))
        #expect(window.highest == 201)
    }
}
