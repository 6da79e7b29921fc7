import NIOCore
import NIOPosix
import TestSupport
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

/// The gate on a real listener: idle TCP connections (no TLS) hold slots, a source beyond its
/// share is closed at once, a closed connection frees its slot, a completed handshake frees
/// its slot while the connection stays open.
@Suite(.serialized, .timeLimit(.minutes(Patience.testMinutes))) struct HandshakeGateLoopback {
    static func poll(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for: \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func idleConnectionsHoldSlotsAndASourceBeyondItsShareIsClosed() async throws {
        let pki = try await SharedPKI.shared.get()
        let gate = HandshakeGate(limits: HandshakeLimits(inProgressMax: 4, inProgressPerSourceMax: 2))
        let observations = ServerObservations()
        let context = try ReloadableTLSContext(files: pki.files("site-a"))
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await TLSChannels.listen(
            host: "127.0.0.1", port: 0, acceptedPeerNames: members, context: context, handshakeTimeout: .seconds(30),
            handshakeGate: gate, group: group, logger: LogRecorder().logger("test.server")
        ) { channel in
            try channel.pipeline.syncOperations.addHandler(EchoHandler(observations: observations))
        }
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        func idle() async throws -> any Channel {
            try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        }
        let first = try await idle()
        let second = try await idle()
        defer { second.close(promise: nil) }
        try await Self.poll("two handshakes in progress") { gate.counts.inProgress == 2 }
        // 127.0.0.1 has its share: the third is closed before any TLS.
        let third = try await idle()
        try await withTimeout(.seconds(30)) { try await third.closeFuture.get() }
        #expect(gate.counts.refusedPerSource == 1)
        #expect(first.isActive && second.isActive)
        // A closed connection frees its slot.
        try await first.close()
        try await Self.poll("the closed connection's slot freed") { gate.counts.inProgress == 1 }
        // A member dials and stays connected: its slot is freed when the handshake completes.
        let clientContext = try ReloadableTLSContext(files: pki.files("site-b"))
        let connection = try await TLSChannels.connect(
            host: "127.0.0.1", port: port, expectedPeerName: "site-a", context: clientContext, handshakeTimeout: .seconds(30),
            group: group, logger: LogRecorder().logger("test.client"))
        defer { connection.channel.close(promise: nil) }
        try await Self.poll("the server verified site-b") { observations.verifiedPeers.map(\.name) == ["site-b"] }
        try await Self.poll("the completed handshake's slot freed") { gate.counts.inProgress == 1 }
        #expect(connection.channel.isActive)
        #expect(gate.counts.evicted == 0)
    }
}
