import Testing
@testable import TLSTransport

/// Issue 10, point 9: the admission rule for connections before their handshake.
@Suite struct HandshakeAdmissionTests {
    let limits = HandshakeLimits(inProgressMax: 6, inProgressPerSourceMax: 3)

    @Test func aSourceBeyondItsShareIsRefused() {
        var admission = HandshakeAdmission(limits: limits)
        var ids: [UInt64] = []
        for _ in 0..<3 {
            guard case .admitted(let id, nil) = admission.admit(source: "198.51.100.7") else {
                Issue.record("refused within the share")
                return
            }
            ids.append(id)
        }
        #expect(admission.admit(source: "198.51.100.7") == .refused)
        #expect(admission.inProgress == 3)
        // Another source is still admitted; a finished handshake frees its source's slot.
        #expect(admission.admit(source: "198.51.100.8") != .refused)
        admission.ended(ids[0])
        admission.ended(ids[0])  // idempotent
        #expect(admission.inProgress(from: "198.51.100.7") == 2)
        #expect(admission.admit(source: "198.51.100.7") != .refused)
    }

    @Test func whenAllSlotsAreTakenTheBiggestSourcesOldestIsEvicted() {
        var admission = HandshakeAdmission(limits: limits)
        var admitted: [(UInt64, String)] = []
        for source in ["a", "b", "b", "c", "b", "c"] {
            guard case .admitted(let id, nil) = admission.admit(source: source) else {
                Issue.record("refused or evicted below the total")
                return
            }
            admitted.append((id, source))
        }
        #expect(admission.inProgress == 6)
        // Full: a member's connection from "m" is admitted; "b" (3 slots) loses its oldest.
        #expect(admission.admit(source: "m") == .admitted(id: 7, evicting: admitted[1].0))
        #expect(admission.inProgress == 6)
        #expect(admission.inProgress(from: "b") == 2)
        // b and c now hold 2 each: the older of their handshakes (b's second) goes.
        guard case .admitted(_, let evicted?) = admission.admit(source: "n") else {
            Issue.record("nothing evicted when full")
            return
        }
        #expect(evicted == admitted[2].0, "the oldest handshake among the sources holding the most (b's second)")
        #expect(admission.inProgress == 6)
    }

    @Test func aFloodFromManySourcesNeverHoldsMoreThanTheTotal() {
        var admission = HandshakeAdmission(limits: HandshakeLimits(inProgressMax: 64, inProgressPerSourceMax: 8))
        var refused = 0
        var evicted = 0
        for index in 0..<10_000 {
            switch admission.admit(source: "10.0.\(index % 40).1") {
            case .refused: refused += 1
            case .admitted(_, let evicting): if evicting != nil { evicted += 1 }
            }
            #expect(admission.inProgress <= 64)
        }
        #expect(admission.inProgress == 64)
        #expect(refused + evicted + 64 == 10_000)
        // A member's connection is still admitted.
        #expect(admission.admit(source: "192.0.2.10") != .refused)
    }
}
