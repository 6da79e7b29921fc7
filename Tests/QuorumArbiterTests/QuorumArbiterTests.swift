import ClusterIdentity
import QuorumArbiter
import Testing

func at(_ seconds: Int64) -> QuorumInstant { QuorumInstant(nanoseconds: seconds * 1_000_000_000) }

extension [QuorumArbiter.Directive] {
    var votes: [(ConnectionID, RingID, Vote)] {
        compactMap { directive in
            if case .send(let connection, .voteInfo(_, let ring, let vote)) = directive { return (connection, ring, vote) }
            return nil
        }
    }
}

@Suite struct QuorumArbiterTests {
    static let configured = ids(1, 2)
    static func registration(_ node: UInt32, configured: [NodeID] = configured, tieBreaker: TieBreaker = .lowest) -> DeviceMessage {
        .register(DeviceRegistration(nodeID: NodeID(node), configuredNodes: configured, tieBreaker: tieBreaker))
    }

    @Test("two clusters with the same name and node ids but other certificate identities never mix")
    func clustersDoNotMix() {
        var arbiter = QuorumArbiter(settings: .init(restartHold: .zero))
        let first = ClusterKey(clusterName: "site", certificateIdentity: "geo-1")
        let second = ClusterKey(clusterName: "site", certificateIdentity: "geo-2")
        var connection: UInt64 = 0
        var connections: [String: ConnectionID] = [:]
        for (label, key) in [("a", first), ("b", second)] {
            for node: UInt32 in [1, 2] {
                connection += 1
                let id = ConnectionID(connection)
                connections["\(label)\(node)"] = id
                #expect(arbiter.handle(.connected(id, key, at: at(0))).isEmpty)
                #expect(arbiter.handle(.message(id, Self.registration(node), at: at(0))).contains(.send(id, .registered)))
            }
        }
        // Cluster a: together on one ring. Cluster b: split, and node 2 of b reports first.
        _ = arbiter.handle(.message(connections["a1"]!, .membership(MembershipReport(ring: ring(1, 1), members: ids(1, 2))), at: at(1)))
        let afterA = arbiter.handle(.message(connections["a2"]!, .membership(MembershipReport(ring: ring(1, 1), members: ids(1, 2))), at: at(1)))
        #expect(Set(afterA.votes.map(\.0)) == [connections["a1"]!, connections["a2"]!])
        let afterB2 = arbiter.handle(.message(connections["b2"]!, .membership(MembershipReport(ring: ring(2, 2), members: ids(2))), at: at(2)))
        // b1 has not reported: b2's ring {2} names no other connected client, b1 is not in a
        // partition yet; b2 is the only partition, 1 of 2 nodes: a 50:50 tie it wins alone.
        #expect(afterB2.votes.allSatisfy { $0.0 == connections["b2"]! }, "cluster b's decision sends nothing to cluster a: \(afterB2)")
        #expect(arbiter.clusters[first]!.quoratePartition == ids(1, 2))
        #expect(arbiter.clusters.count == 2)
    }

    @Test("registrations that do not fit are refused with what and who")
    func refusals() {
        var arbiter = QuorumArbiter()
        let key = ClusterKey(clusterName: "site", certificateIdentity: "geo")
        _ = arbiter.handle(.connected(ConnectionID(1), key, at: at(0)))
        _ = arbiter.handle(.message(ConnectionID(1), Self.registration(1), at: at(0)))
        let cases: [(DeviceMessage, String)] = [
            (Self.registration(3), "node 3 is not among"),
            (Self.registration(2, configured: ids(1, 2, 3)), "configured nodes [1, 2, 3] differ from node 1's"),
            (Self.registration(2, tieBreaker: .highest), "tie-breaker highest differs"),
            (.register(DeviceRegistration(nodeID: NodeID(2), configuredNodes: Self.configured, algorithm: .lms)), "algorithm lms differs from node 1's ffsplit"),
            (.membership(MembershipReport(ring: ring(1, 1), members: ids(1))), "a membership before the registration"),
        ]
        for (offset, (message, expected)) in cases.enumerated() {
            let connection = ConnectionID(UInt64(10 + offset))
            _ = arbiter.handle(.connected(connection, key, at: at(0)))
            let directives = arbiter.handle(.message(connection, message, at: at(0)))
            let refusal = directives.compactMap { if case .send(connection, .refused(let text)) = $0 { text } else { nil } }.first
            #expect(refusal?.contains(expected) == true, "\(message): \(directives)")
            #expect(directives.contains { if case .close(connection, _) = $0 { true } else { false } })
        }
        // A ring listing a node that is not configured.
        let directives = arbiter.handle(.message(ConnectionID(1), .membership(MembershipReport(ring: ring(1, 1), members: ids(1, 5))), at: at(1)))
        #expect(directives.contains { if case .send(_, .refused(let text)) = $0 { text.contains("not configured") } else { false } })
    }

    @Test("a silent connection is dropped after the dead-peer timeout and its node leaves the decision")
    func deadPeer() {
        var arbiter = QuorumArbiter(settings: .init(restartHold: .zero), startedAt: at(-100))  // dead peer: 2.5 × the default 4 s heartbeat = 10 s
        let key = ClusterKey(clusterName: "site", certificateIdentity: "geo")
        for node: UInt32 in [1, 2] {
            _ = arbiter.handle(.connected(ConnectionID(UInt64(node)), key, at: at(0)))
            _ = arbiter.handle(.message(ConnectionID(UInt64(node)), Self.registration(node), at: at(0)))
            _ = arbiter.handle(.message(ConnectionID(UInt64(node)), .membership(MembershipReport(ring: ring(1, 1), members: ids(1, 2))), at: at(0)))
        }
        // Node 2 sees a split; node 1 goes silent (its link is cut): no decision until it is dropped.
        #expect(arbiter.handle(.message(ConnectionID(2), .membership(MembershipReport(ring: ring(2, 2), members: ids(2))), at: at(1))).votes.isEmpty)
        _ = arbiter.handle(.message(ConnectionID(2), .heartbeat, at: at(8)))
        #expect(arbiter.handle(.tick(at: at(10))).isEmpty, "10 s of silence is not over the timeout")
        let dropped = arbiter.handle(.tick(at: at(11)))
        #expect(dropped.contains(.close(ConnectionID(1), reason: "silent for over 10.0 seconds")))
        #expect(dropped.votes.map(\.2) == [.ack] && dropped.votes.first?.0 == ConnectionID(2))
    }

    @Test("after its start the arbitrator decides nothing for the restart hold (a node may still cast its old ACK)")
    func restartHold() {
        var arbiter = QuorumArbiter(startedAt: at(100))
        let key = ClusterKey(clusterName: "site", certificateIdentity: "geo")
        _ = arbiter.handle(.connected(ConnectionID(2), key, at: at(101)))
        _ = arbiter.handle(.message(ConnectionID(2), Self.registration(2), at: at(101)))
        #expect(arbiter.handle(.message(ConnectionID(2), .membership(MembershipReport(ring: ring(2, 9), members: ids(2))), at: at(101))).votes.isEmpty)
        _ = arbiter.handle(.message(ConnectionID(2), .heartbeat, at: at(105)))
        #expect(arbiter.handle(.tick(at: at(109))).votes.isEmpty, "held until 100 s + 10 s")
        let released = arbiter.handle(.tick(at: at(110)))
        #expect(released.votes.map(\.2) == [.ack])
    }

    @Test("a node that connects again replaces its old connection")
    func reconnect() {
        var arbiter = QuorumArbiter()
        let key = ClusterKey(clusterName: "site", certificateIdentity: "geo")
        _ = arbiter.handle(.connected(ConnectionID(1), key, at: at(0)))
        _ = arbiter.handle(.message(ConnectionID(1), Self.registration(1), at: at(0)))
        _ = arbiter.handle(.connected(ConnectionID(2), key, at: at(5)))
        let directives = arbiter.handle(.message(ConnectionID(2), Self.registration(1), at: at(5)))
        #expect(directives.contains { if case .close(ConnectionID(1), _) = $0 { true } else { false } })
        #expect(arbiter.connection(of: NodeID(1), in: key) == ConnectionID(2))
        #expect(arbiter.connectionCount == 1)
    }
}

@Suite struct QuorumDeviceTests {
    static func device() -> QuorumDevice {
        QuorumDevice(registration: DeviceRegistration(nodeID: NodeID(1), configuredNodes: ids(1, 2)), now: at(0))
    }

    static func polls(_ directives: [QuorumDevice.Directive]) -> [(Bool, RingID)] {
        directives.compactMap { if case .poll(let cast, let ring) = $0 { (cast, ring) } else { nil } }
    }

    /// Connects a device on connection 7 with ring (1, 1).
    static func connected() -> QuorumDevice {
        var device = device()
        _ = device.handle(.ringChanged(ring(1, 1), members: ids(1, 2)), now: at(0))
        #expect(device.handle(.tick, now: at(0)).contains(.open))
        #expect(device.handle(.connectionOpened(ConnectionID(7)), now: at(0)).contains(.send(ConnectionID(7), .register(device.registration))))
        let afterRegistered = device.handle(.message(ConnectionID(7), .registered), now: at(0))
        #expect(afterRegistered.contains(.send(ConnectionID(7), .membership(MembershipReport(ring: ring(1, 1), members: ids(1, 2))))))
        return device
    }

    @Test("casts yes only with an ACK for its current ring, and polls it every half timeout")
    func castsForItsRing() {
        var device = Self.connected()
        let afterAck = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 1, ring: ring(1, 1), vote: .ack)), now: at(1))
        #expect(afterAck.contains(.send(ConnectionID(7), .voteInfoReply(sequence: 1))))
        #expect(Self.polls(afterAck).map(\.0) == [true])
        #expect(Self.polls(device.handle(.tick, now: at(6))).map(\.0) == [true], "polled again 5 s later (timeout 10 s / 2)")
        _ = device.handle(.message(ConnectionID(7), .heartbeatReply), now: at(6))
        // A new ring: the ACK does not carry over; the device waits up to 1 s (voteWait) for
        // the arbitrator's vote before it polls anything, so a vote that comes in time counts
        // with no dip in quorum.
        let afterRing = device.handle(.ringChanged(ring(1, 2), members: ids(1)), now: at(7))
        #expect(Self.polls(afterRing).isEmpty && !device.castsVote)
        #expect(afterRing.contains(.send(ConnectionID(7), .membership(MembershipReport(ring: ring(1, 2), members: ids(1))))))
        #expect(afterRing.contains(.wakeUp(at: at(8))), "wakes for the end of the vote wait")
        // No vote within the wait: no for the new ring (ends votequorum's sync wait), again
        // every half timeout while the vote is awaited.
        let waited = device.handle(.tick, now: at(8))
        #expect(Self.polls(waited).map(\.0) == [false] && Self.polls(waited).first?.1 == ring(1, 2))
        #expect(device.vote == nil && device.lastPoll?.ring == ring(1, 2))
        #expect(Self.polls(device.handle(.tick, now: at(13))).map(\.0) == [false])
        // A late ACK for the old ring is answered but not cast.
        let stale = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 2, ring: ring(1, 1), vote: .ack)), now: at(13))
        #expect(stale.contains(.send(ConnectionID(7), .voteInfoReply(sequence: 2))) && Self.polls(stale).isEmpty)
        let fresh = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 3, ring: ring(1, 2), vote: .ack)), now: at(14))
        #expect(Self.polls(fresh).map(\.0) == [true] && Self.polls(fresh).first?.1 == ring(1, 2))
        #expect(device.castSince == at(14))
    }

    @Test("a vote that comes within the wait after a ring change is the first poll for that ring")
    func voteWithinTheWait() {
        var device = Self.connected()
        _ = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 1, ring: ring(1, 1), vote: .ack)), now: at(1))
        _ = device.handle(.ringChanged(ring(1, 2), members: ids(1)), now: at(2))
        let ack = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 2, ring: ring(1, 2), vote: .ack)), now: QuorumInstant(nanoseconds: 2_300_000_000))
        #expect(Self.polls(ack).map(\.0) == [true] && Self.polls(ack).first?.1 == ring(1, 2))
        #expect(Self.polls(device.handle(.tick, now: at(3))).isEmpty, "the wait is over: the next poll is half a timeout later")
    }

    @Test("the connection lost while the vote is awaited: no for the new ring at once")
    func connectionLostWhileWaiting() {
        var device = Self.connected()
        _ = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 1, ring: ring(1, 1), vote: .ack)), now: at(1))
        _ = device.handle(.ringChanged(ring(1, 2), members: ids(1)), now: at(2))
        let closed = device.handle(.connectionClosed(ConnectionID(7)), now: QuorumInstant(nanoseconds: 2_500_000_000))
        #expect(Self.polls(closed).map(\.0) == [false] && Self.polls(closed).first?.1 == ring(1, 2))
        #expect(device.vote == .nack)
    }

    @Test("a votequorum call stuck for half the timeout (corosync paused) takes the device off the arbitrator until it returns")
    func votequorumStall() {
        var device = Self.connected()
        _ = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 1, ring: ring(1, 1), vote: .ack)), now: at(1))
        #expect(device.handle(.votequorumCall(since: at(1)), now: at(1)).contains(.wakeUp(at: at(4))), "the heartbeat is due first")
        _ = device.handle(.message(ConnectionID(7), .heartbeatReply), now: at(4))
        #expect(!device.handle(.tick, now: at(5)).contains(.close(ConnectionID(7))), "4 s: not yet")
        _ = device.handle(.message(ConnectionID(7), .heartbeatReply), now: at(5))
        let stalled = device.handle(.tick, now: at(6))
        #expect(stalled.contains(.close(ConnectionID(7))) && device.votequorumStalled && device.connection == nil)
        #expect(!device.handle(.tick, now: at(20)).contains(.open), "no reconnection while votequorum hangs")
        _ = device.handle(.votequorumCall(since: nil), now: at(21))
        #expect(!device.votequorumStalled)
        #expect(device.handle(.tick, now: at(21)).contains(.open), "back: reconnects at once")
    }

    @Test("wait-for-vote (the rule broken on purpose) polls nothing while the vote is awaited, nor when the connection drops")
    func waitForVoteRuleBreak() {
        var settings = QuorumDevice.Settings()
        settings.ruleBreak = .waitForVote
        var device = QuorumDevice(registration: DeviceRegistration(nodeID: NodeID(1), configuredNodes: ids(1, 2)), settings: settings, now: at(0))
        _ = device.handle(.ringChanged(ring(1, 1), members: ids(1, 2)), now: at(0))
        _ = device.handle(.tick, now: at(0))
        _ = device.handle(.connectionOpened(ConnectionID(7)), now: at(0))
        _ = device.handle(.message(ConnectionID(7), .registered), now: at(0))
        _ = device.handle(.ringChanged(ring(1, 2), members: ids(1)), now: at(1))
        #expect(Self.polls(device.handle(.tick, now: at(3))).isEmpty)
        #expect(Self.polls(device.handle(.connectionClosed(ConnectionID(7)), now: at(4))).isEmpty)
    }

    @Test("an unanswered echo closes the connection and the vote becomes no at once")
    func heartbeatLoss() {
        var device = Self.connected()
        _ = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 1, ring: ring(1, 1), vote: .ack)), now: at(1))
        #expect(device.handle(.tick, now: at(4)).contains(.send(ConnectionID(7), .heartbeat)), "echo every 0.4 × timeout")
        let closed = device.handle(.tick, now: at(8))
        #expect(closed.contains(.close(ConnectionID(7))))
        #expect(Self.polls(closed).map(\.0) == [false])
        #expect(device.connection == nil)
        #expect(device.handle(.tick, now: at(9)).contains(.open), "reconnects after the reconnect delay")
    }
}
