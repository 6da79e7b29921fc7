import ClusterIdentity
import QuorumArbiter
import Testing

func ids(_ values: UInt32...) -> [NodeID] { values.map { NodeID($0) } }
func ring(_ representative: UInt32, _ sequence: UInt64) -> RingID { RingID(nodeID: NodeID(representative), sequence: sequence) }

/// Drives one cluster's ffsplit instance the way the arbitrator does, answering every vote.
struct ClusterDriver {
    var cluster: FFSplitCluster
    let configured: [NodeID]
    /// The vote each node applied last (node → (ring, vote)).
    var applied: [NodeID: (ring: RingID, vote: Vote)] = [:]
    var sent: [FFSplitCluster.VoteInfo] = []

    init(nodes: Int, tieBreaker: TieBreaker = .lowest, keepActive: Bool = true, algorithm: DecisionAlgorithm = .ffsplit,
         ruleBreak: FFSplitCluster.RuleBreak? = nil) {
        self.algorithm = algorithm
        configured = (1...nodes).map { NodeID(UInt32($0)) }
        cluster = FFSplitCluster(key: ClusterKey(clusterName: "site", certificateIdentity: "geo"), ruleBreak: ruleBreak)
        self.tieBreaker = tieBreaker
        self.keepActive = keepActive
    }
    let tieBreaker: TieBreaker
    let keepActive: Bool
    let algorithm: DecisionAlgorithm

    mutating func connect(_ node: UInt32) {
        deliver(cluster.register(DeviceRegistration(nodeID: NodeID(node), configuredNodes: configured, tieBreaker: tieBreaker, keepActivePartition: keepActive,
                                                       algorithm: algorithm)))
    }

    /// Every configured node connects and reports one ring with all of them.
    mutating func startTogether(_ ringID: RingID) {
        for node in configured { connect(node.rawValue) }
        for node in configured { report(node.rawValue, ringID, configured) }
    }

    mutating func report(_ node: UInt32, _ ringID: RingID, _ members: [NodeID], _ heuristics: HeuristicsResult = .undefined) {
        deliver(cluster.report(MembershipReport(ring: ringID, members: members, heuristics: heuristics), from: NodeID(node)))
    }

    mutating func disconnect(_ node: UInt32) {
        applied[NodeID(node)] = nil
        deliver(cluster.disconnect(NodeID(node)))
    }

    /// Every vote is applied and answered at once (and the answers' votes too).
    mutating func deliver(_ votes: [FFSplitCluster.VoteInfo]) {
        var queue = votes
        while !queue.isEmpty {
            let vote = queue.removeFirst()
            sent.append(vote)
            applied[vote.node] = (vote.ring, vote.vote)
            queue += cluster.voteInfoReply(from: vote.node, sequence: vote.sequence)
        }
    }

    func holders() -> [NodeID] { applied.filter { $0.value.vote == .ack }.map(\.key).sorted() }
}

@Suite struct FFSplitClusterTests {
    @Test("2 nodes together: both get the ACK for their ring")
    func together() {
        var driver = ClusterDriver(nodes: 2)
        driver.connect(1)
        driver.connect(2)
        driver.report(1, ring(1, 4), ids(1, 2))
        #expect(driver.holders().isEmpty, "node 2 (connected, listed) has not reported: no decision")
        driver.report(2, ring(1, 4), ids(1, 2))
        #expect(driver.holders() == ids(1, 2))
        #expect(driver.applied[NodeID(1)]!.ring == ring(1, 4))
        #expect(driver.cluster.phase == .waitingForChange)
    }

    @Test("2 nodes split 1:1: the tie-breaker decides (lowest, highest, a node id)")
    func tieBreakers() {
        for (tieBreaker, winner) in [(TieBreaker.lowest, UInt32(1)), (.highest, 2), (.node(NodeID(2)), 2)] {
            var driver = ClusterDriver(nodes: 2, tieBreaker: tieBreaker)
            driver.startTogether(ring(1, 4))
            // Both halves held the vote before: the tie-breaker decides.
            driver.report(1, ring(1, 5), ids(1))
            driver.report(2, ring(2, 5), ids(2))
            #expect(driver.holders() == [NodeID(winner)], "tie-breaker \(tieBreaker)")
        }
    }

    @Test("no decision while a connected member reports another ring")
    func ringAgreement() {
        var driver = ClusterDriver(nodes: 2)
        driver.startTogether(ring(1, 4))
        let before = driver.sent.count
        // Node 2 has seen the split; node 1 has not yet.
        driver.report(2, ring(2, 6), ids(2))
        #expect(driver.sent.count == before, "no vote while node 1's ring {1,2} lists node 2 on another ring")
        #expect(driver.cluster.phase == .waitingForStableMembership)
        driver.report(1, ring(1, 6), ids(1))
        #expect(driver.holders() == ids(1))
        #expect(driver.applied[NodeID(2)]! == (ring(2, 6), .nack))
    }

    @Test("a disconnected node is not waited for and gets nothing")
    func disconnected() {
        var driver = ClusterDriver(nodes: 2)
        driver.startTogether(ring(1, 4))
        driver.disconnect(1)
        driver.report(2, ring(2, 7), ids(2))
        #expect(driver.holders() == ids(2), "node 1 is gone: node 2's partition is the only one")
        #expect(!driver.sent.contains { $0.node == NodeID(1) && $0.ring == ring(2, 7) })
    }

    @Test("NACKs first: the ACKs wait until every NACK is answered")
    func nacksBeforeAcks() {
        var cluster = FFSplitCluster(key: ClusterKey(clusterName: "site", certificateIdentity: "geo"))
        let configured = ids(1, 2)
        for node in configured { _ = cluster.register(DeviceRegistration(nodeID: node, configuredNodes: configured, tieBreaker: .highest)) }
        for (node, answer) in [(UInt32(1), false), (2, true)] {
            let together = cluster.report(MembershipReport(ring: ring(1, 2), members: ids(1, 2)), from: NodeID(node))
            if answer { for vote in together { _ = cluster.voteInfoReply(from: vote.node, sequence: vote.sequence) } }
        }
        #expect(cluster.quoratePartition == ids(1, 2))
        _ = cluster.report(MembershipReport(ring: ring(1, 3), members: ids(1)), from: NodeID(1))
        let votes = cluster.report(MembershipReport(ring: ring(2, 3), members: ids(2)), from: NodeID(2))
        #expect(votes.map(\.vote) == [.nack], "only node 1's NACK goes out first")
        #expect(votes.first?.node == NodeID(1))
        #expect(cluster.phase == .sendingNacks)
        #expect(cluster.voteInfoReply(from: NodeID(1), sequence: votes[0].sequence &+ 1).isEmpty, "an old or wrong reply does not count")
        let acks = cluster.voteInfoReply(from: NodeID(1), sequence: votes[0].sequence)
        #expect(acks.map(\.vote) == [.ack] && acks.first?.node == NodeID(2) && acks.first?.ring == ring(2, 3))
        // The broken rule sends both at once (the simulation shows why that is wrong).
        var broken = FFSplitCluster(key: ClusterKey(clusterName: "site", certificateIdentity: "geo"), ruleBreak: .acksWithNacks)
        for node in configured { _ = broken.register(DeviceRegistration(nodeID: node, configuredNodes: configured, tieBreaker: .highest)) }
        for node: UInt32 in [1, 2] { _ = broken.report(MembershipReport(ring: ring(1, 2), members: ids(1, 2)), from: NodeID(node)) }
        _ = broken.report(MembershipReport(ring: ring(1, 3), members: ids(1)), from: NodeID(1))
        #expect(broken.report(MembershipReport(ring: ring(2, 3), members: ids(2)), from: NodeID(2)).map(\.vote) == [.nack, .ack])
    }

    @Test("50:50: heuristics, then connected nodes, then the active partition, then the tie-breaker")
    func tieOrder() {
        // Heuristics: node 2's pass beats the tie-breaker's lowest.
        var driver = ClusterDriver(nodes: 2)
        driver.connect(1)
        driver.connect(2)
        driver.report(1, ring(1, 5), ids(1))
        driver.report(2, ring(2, 5), ids(2), .pass)
        #expect(driver.holders() == ids(2))
        // Failed heuristics lose to undefined.
        driver = ClusterDriver(nodes: 2)
        driver.connect(1)
        driver.connect(2)
        driver.report(1, ring(1, 5), ids(1), .fail)
        driver.report(2, ring(2, 5), ids(2))
        #expect(driver.holders() == ids(2))
        // Connected nodes: 4 nodes split 2:2, node 2 not connected: {3,4} has two connected.
        driver = ClusterDriver(nodes: 4)
        for node: UInt32 in [1, 3, 4] { driver.connect(node) }
        driver.report(1, ring(1, 8), ids(1, 2))
        driver.report(3, ring(3, 8), ids(3, 4))
        driver.report(4, ring(3, 8), ids(3, 4))
        #expect(driver.holders() == ids(3, 4), "equal score per connected node, more connected nodes win over the lowest id")
    }

    @Test("keep the active partition: no failback to the tie-breaker's side (qdevice issue #7)")
    func keepActivePartition() {
        for keepActive in [true, false] {
            var driver = ClusterDriver(nodes: 2, keepActive: keepActive)
            driver.connect(2)
            driver.report(2, ring(2, 3), ids(2))
            #expect(driver.holders() == ids(2), "node 1 down: node 2 alone wins")
            // Node 1 comes back but cannot see node 2: 1:1.
            driver.connect(1)
            driver.report(1, ring(1, 4), ids(1))
            #expect(driver.holders() == (keepActive ? ids(2) : ids(1)), "keepActive \(keepActive)")
        }
    }

    @Test("a larger partition wins over every tie rule; an odd cluster votes for a majority only")
    func sizes() {
        var driver = ClusterDriver(nodes: 4, tieBreaker: .node(NodeID(1)))
        for node: UInt32 in 1...4 { driver.connect(node) }
        driver.report(1, ring(1, 9), ids(1), .pass)
        for node: UInt32 in 2...4 { driver.report(node, ring(2, 9), ids(2, 3, 4), .fail) }
        #expect(driver.holders() == ids(2, 3, 4))
        var odd = ClusterDriver(nodes: 3)
        for node: UInt32 in 1...3 { odd.connect(node) }
        odd.report(1, ring(1, 2), ids(1))
        odd.report(2, ring(2, 2), ids(2))
        odd.report(3, ring(3, 2), ids(3))
        #expect(odd.holders().isEmpty, "three single-node partitions of a 3-node cluster: no majority, no vote")
    }
}
