import ClusterIdentity
import QuorumArbiter
import Testing

/// The admin view's model: what `baton-qdevice status` and `metrics` show, from the cores'
/// real state after real inputs.
@Suite struct QuorumStatusTests {
    @Test("a node's status: connected, the ring and its members, the vote and what it casts since when, the counters")
    func nodeStatus() {
        var device = QuorumDeviceTests.connected()
        _ = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 1, ring: ring(1, 1), vote: .ack)), now: at(1))
        var status = NodeDeviceStatus(device: device, clusterName: "site-a", arbitrator: "192.0.2.30:9930", registered: true, now: at(4))
        #expect(status.connection == "connected" && status.ring == "1.1" && status.members == [1, 2])
        #expect(status.vote == "ack" && status.castsVote && status.lastPollRing == "1.1")
        // The first ring came before the connection: no at once, then the ACK (no decision time).
        #expect(status.castUnchangedSeconds == 3 && status.lastDecisionSeconds == nil)
        #expect(status.pollsYes == 1 && status.pollsNo == 1 && status.ringChanges == 1)
        #expect(status.text.contains("arbitrator:  192.0.2.30:9930 connected"))
        #expect(status.text.contains("vote:        ACK\n"))
        #expect(status.text.contains("casts:       yes for ring 1.1 since 3.0 s ago"))

        // A new ring, no vote within the wait: waiting, casting no.
        _ = device.handle(.ringChanged(ring(1, 2), members: ids(1)), now: at(5))
        _ = device.handle(.tick, now: at(6))
        status = NodeDeviceStatus(device: device, clusterName: "site-a", arbitrator: "192.0.2.30:9930", registered: true, now: at(7))
        #expect(status.vote == "waiting" && !status.castsVote && status.lastPollRing == "1.2" && status.castUnchangedSeconds == 1)
        #expect(status.text.contains("vote:        WAITING"))
        let metrics = status.metrics
        for line in ["baton_qdevice_registered 1", "baton_qdevice_arbitrator_connected 1", "baton_qdevice_vote_cast 0",
                     "baton_qdevice_vote_awaited 1", "baton_qdevice_ring_members 1", "baton_qdevice_polls_total{cast=\"yes\"} 1",
                     "baton_qdevice_polls_total{cast=\"no\"} 2", "baton_qdevice_ring_changes_total 2",
                     "baton_qdevice_info{role=\"node\",cluster=\"site-a\",node=\"1\",arbitrator=\"192.0.2.30:9930\"} 1"] {
            #expect(metrics.split(separator: "\n").contains(Substring(line)), "\(line) in\n\(metrics)")
        }
        // The ACK for the new ring 3 s after it: the decision time.
        _ = device.handle(.message(ConnectionID(7), .voteInfo(sequence: 2, ring: ring(1, 2), vote: .ack)), now: at(8))
        status = NodeDeviceStatus(device: device, clusterName: "site-a", arbitrator: "192.0.2.30:9930", registered: true, now: at(8))
        #expect(status.lastDecisionSeconds == 3 && status.castsVote && status.castUnchangedSeconds == 0)
        #expect(status.text.contains("vote:        ACK (the arbitrator answered 3.0 s after the ring)"), "\(status.text)")
        #expect(status.metrics.contains("baton_qdevice_last_decision_seconds 3\n"))
    }

    @Test("the arbitrator's status: per site, each partition of the current rings with its members and the vote, each node's last vote")
    func arbitratorStatus() {
        var arbiter = QuorumArbiter(settings: .init(restartHold: .zero))
        let key = ClusterKey(clusterName: "site-a", certificateIdentity: "geo \"1\"")
        for node: UInt32 in [1, 2] {
            _ = arbiter.handle(.connected(ConnectionID(UInt64(node)), key, at: at(0)))
            _ = arbiter.handle(.message(ConnectionID(UInt64(node)), QuorumArbiterTests.registration(node), at: at(0)))
        }
        // Split: node 1 on ring 1.5 alone, node 2 on 2.5 alone; node 2 answers its NACK, node 1 gets the ACK.
        _ = arbiter.handle(.message(ConnectionID(1), .membership(MembershipReport(ring: ring(1, 5), members: ids(1))), at: at(1)))
        let nack = arbiter.handle(.message(ConnectionID(2), .membership(MembershipReport(ring: ring(2, 5), members: ids(2))), at: at(1)))
        guard case .send(_, .voteInfo(let sequence, _, .nack))? = nack.first(where: { if case .send(ConnectionID(2), .voteInfo) = $0 { true } else { false } }) else {
            Issue.record("no NACK to node 2: \(nack)")
            return
        }
        _ = arbiter.handle(.message(ConnectionID(2), .voteInfoReply(sequence: sequence), at: at(1)))
        let status = ArbitratorStatus(arbiter: arbiter, now: at(3), votesSent: (ack: 1, nack: 1))
        #expect(status.clusters.count == 1 && status.connections == 2)
        let cluster = status.clusters[0]
        #expect(cluster.quoratePartition == [1])
        #expect(cluster.partitions == [
            ArbitratorStatus.Partition(ring: "1.5", members: [1], reporting: [1], vote: "ack"),
            ArbitratorStatus.Partition(ring: "2.5", members: [2], reporting: [2], vote: "nack"),
        ])
        #expect(cluster.nodes.map(\.vote) == ["ack", "nack"])
        #expect(status.text.contains("Site site-a (certificate geo \"1\"): vote held by {1}"))
        #expect(status.text.contains("  ring 1.5 members 1: ACK"))
        #expect(status.text.contains("  node 2: ring 2.5, last vote NACK for ring 2.5"))
        let metrics = status.metrics
        #expect(metrics.contains("baton_qdevice_node_vote{cluster=\"site-a\",identity=\"geo \\\"1\\\"\",node=\"1\"} 1"), "label values escaped:\n\(metrics)")
        #expect(metrics.contains("baton_qdevice_node_vote{cluster=\"site-a\",identity=\"geo \\\"1\\\"\",node=\"2\"} 0"))
        #expect(metrics.contains("baton_qdevice_cluster_partitions{cluster=\"site-a\",identity=\"geo \\\"1\\\"\"} 2"))
        #expect(metrics.contains("baton_qdevice_votes_sent_total{vote=\"nack\"} 1"))
    }

    @Test("a partition whose listed member has not reported is shown with it missing, and pending until a vote is sent")
    func pendingPartition() {
        var arbiter = QuorumArbiter(settings: .init(restartHold: .zero))
        let key = ClusterKey(clusterName: "site-a", certificateIdentity: "geo")
        for node: UInt32 in [1, 2] {
            _ = arbiter.handle(.connected(ConnectionID(UInt64(node)), key, at: at(0)))
            _ = arbiter.handle(.message(ConnectionID(UInt64(node)), QuorumArbiterTests.registration(node), at: at(0)))
        }
        _ = arbiter.handle(.message(ConnectionID(1), .membership(MembershipReport(ring: ring(1, 1), members: ids(1, 2))), at: at(1)))
        let status = ArbitratorStatus(arbiter: arbiter, now: at(1), votesSent: (ack: 0, nack: 0))
        #expect(status.clusters[0].partitions == [ArbitratorStatus.Partition(ring: "1.1", members: [1, 2], reporting: [1], vote: "pending")])
        #expect(status.text.contains("  ring 1.1 members 1,2: PENDING (not reported: 2)"), "\(status.text)")
        #expect(status.text.contains("node 2: connected, no ring reported"))
    }
}
