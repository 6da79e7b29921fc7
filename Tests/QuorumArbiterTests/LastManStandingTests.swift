import ClusterIdentity
import QuorumArbiter
import QuorumSimulation
import Testing

/// lms: the pure decision (`LastManStanding.decide`) rule by rule, then a cluster of 4 that
/// loses its nodes one by one (`FFSplitCluster` running lms).
@Suite struct LastManStandingTests {
    static func candidate(_ node: UInt32, _ ringID: RingID, _ members: [NodeID], _ heuristics: HeuristicsResult = .undefined,
                          newcomer: Bool = false, holds: Bool = false) -> LastManStanding.Candidate {
        LastManStanding.Candidate(node: NodeID(node), report: MembershipReport(ring: ringID, members: members, heuristics: heuristics),
                                  newcomer: newcomer, holdsVote: holds)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let candidates: [LastManStanding.Candidate]
        var tieBreaker: TieBreaker = .lowest
        let ring: RingID?
        let rule: LastManStanding.Rule
        var testDescription: String { name }
    }

    static let a = ring(1, 10), b = ring(3, 11), c = ring(4, 12)
    static let cases: [Case] = [
        Case(name: "no report: no vote", candidates: [], ring: nil, rule: .none),
        Case(name: "one partition of 1 of 4 nodes: it (the last man standing)",
             candidates: [candidate(2, a, ids(2))], ring: a, rule: .onlyPartition),
        Case(name: "one partition, heuristics failed: still it",
             candidates: [candidate(2, a, ids(2), .fail)], ring: a, rule: .onlyPartition),
        Case(name: "one partition of newcomers: it",
             candidates: [candidate(1, a, ids(1, 2), newcomer: true), candidate(2, a, ids(1, 2), newcomer: true)], ring: a, rule: .onlyPartition),
        Case(name: "3:1, no heuristics: the 3 (score 3 > 1)",
             candidates: [candidate(1, a, ids(1, 2, 3)), candidate(2, a, ids(1, 2, 3)), candidate(3, a, ids(1, 2, 3)), candidate(4, c, ids(4))],
             ring: a, rule: .score),
        Case(name: "1:1 of 4 (two nodes not connected), node 4 passes its heuristics: node 4 (score 2 > 1)",
             candidates: [candidate(1, a, ids(1, 2)), candidate(4, c, ids(3, 4), .pass)], ring: c, rule: .score),
        Case(name: "2:1, the 2 fail their heuristics: the 1 (score 1 > 0)",
             candidates: [candidate(1, a, ids(1, 2), .fail), candidate(2, a, ids(1, 2), .fail), candidate(4, c, ids(4))], ring: c, rule: .score),
        Case(name: "equal score 2: 2 undefined vs 1 passed: the larger",
             candidates: [candidate(1, a, ids(1, 2)), candidate(2, a, ids(1, 2)), candidate(4, c, ids(3, 4), .pass)], ring: a, rule: .size),
        Case(name: "2:2, equal scores and sizes: lowest connected node id",
             candidates: [candidate(1, a, ids(1, 2)), candidate(2, a, ids(1, 2)), candidate(3, b, ids(3, 4)), candidate(4, b, ids(3, 4))],
             ring: a, rule: .tieBreaker),
        Case(name: "1:1:1, node 1 not connected: the lowest connected node's (node 2's)",
             candidates: [candidate(2, a, ids(1, 2)), candidate(3, b, ids(3)), candidate(4, c, ids(4))],
             ring: a, rule: .tieBreaker),
        Case(name: "1:1:1 highest: node 4's",
             candidates: [candidate(2, a, ids(1, 2)), candidate(3, b, ids(3)), candidate(4, c, ids(4))], tieBreaker: .highest,
             ring: c, rule: .tieBreaker),
        Case(name: "2:2 tie-breaker node 3: its partition",
             candidates: [candidate(1, a, ids(1, 2)), candidate(2, a, ids(1, 2)), candidate(3, b, ids(3, 4)), candidate(4, b, ids(3, 4))],
             tieBreaker: .node(NodeID(3)), ring: b, rule: .tieBreaker),
        Case(name: "1:1 tie-breaker node 3 not connected: no vote",
             candidates: [candidate(1, a, ids(1, 2)), candidate(4, c, ids(3, 4))], tieBreaker: .node(NodeID(3)), ring: nil, rule: .none),
        Case(name: "the best-scored tie is broken by size among them only, not by a larger, worse-scored partition",
             candidates: [candidate(1, a, ids(1), .pass), candidate(2, b, ids(2, 3), .fail), candidate(3, b, ids(2, 3), .fail),
                          candidate(4, c, ids(4), .pass)], tieBreaker: .highest, ring: c, rule: .tieBreaker),
        Case(name: "newcomers (3 nodes back) do not take the vote from the node that holds it",
             candidates: [candidate(1, a, ids(1), holds: true), candidate(2, b, ids(2, 3, 4), newcomer: true),
                          candidate(3, b, ids(2, 3, 4), newcomer: true), candidate(4, b, ids(2, 3, 4), newcomer: true)],
             ring: a, rule: .keptFromNewcomers),
        Case(name: "newcomers with one ranked node among them are ranked: the larger wins",
             candidates: [candidate(1, a, ids(1), holds: true), candidate(2, b, ids(2, 3, 4)),
                          candidate(3, b, ids(2, 3, 4), newcomer: true), candidate(4, b, ids(2, 3, 4), newcomer: true)],
             ring: b, rule: .score),
        Case(name: "newcomers against a partition that holds no ACK: ranked as usual",
             candidates: [candidate(1, a, ids(1)), candidate(2, b, ids(2, 3, 4), newcomer: true),
                          candidate(3, b, ids(2, 3, 4), newcomer: true), candidate(4, b, ids(2, 3, 4), newcomer: true)],
             ring: b, rule: .score),
    ]

    @Test("each rule of the lms decision", arguments: cases)
    func rule(_ example: Case) {
        let decision = LastManStanding.decide(example.candidates, tieBreaker: example.tieBreaker)
        #expect(decision.ring == example.ring, "\(decision)")
        #expect(decision.rule == example.rule, "\(decision)")
        if let ringID = example.ring {
            #expect(decision.members == example.candidates.first { $0.report.ring == ringID }!.report.members)
        }
    }

    @Test("newcomers kept out are not ranked (they stay newcomers); the others are")
    func ranking() {
        let decision = LastManStanding.decide(Self.cases.first { $0.rule == .keptFromNewcomers }!.candidates, tieBreaker: .lowest)
        #expect(decision.ranked == [NodeID(1)])
    }

    @Test("4 nodes lose their nodes one by one: the survivors keep the vote to the last one, then a rejoin does not move it")
    func lastManStanding() {
        var driver = ClusterDriver(nodes: 4, algorithm: .lms)
        driver.startTogether(ring(1, 1))
        #expect(driver.holders() == ids(1, 2, 3, 4))
        var sequence: UInt64 = 1
        for lost: UInt32 in [1, 2, 3] {
            sequence += 1
            let survivors = driver.configured.filter { $0.rawValue > lost }
            if survivors.count > 1 {
                // The lost node is cut off from the others first, its device still connected:
                // the larger partition keeps the vote; then its device loses the arbitrator.
                driver.report(lost, ring(lost, sequence), ids(lost))
                for node in survivors { driver.report(node.rawValue, ring(survivors[0].rawValue, sequence), survivors) }
                #expect(driver.holders() == survivors, "after node \(lost) split off, with it still connected")
                driver.disconnect(lost)
            } else {
                // The last cut: the arbitrator loses node 3 before Corosync forms node 4's ring
                // (a 1:1 split with both connected would go by the tie-breaker, node 3).
                driver.disconnect(lost)
                #expect(driver.holders() == survivors, "node 4 keeps the vote for its old ring")
                driver.report(4, ring(4, sequence), survivors)
            }
            #expect(driver.holders() == survivors, "after node \(lost) lost")
            #expect(driver.cluster.quoratePartition == survivors)
        }
        #expect(driver.holders() == ids(4), "the last man standing")
        #expect(driver.cluster.lastRule == "onlyPartition")
        // Nodes 1-3 come back in a ring of their own (still cut from node 4): newcomers, no vote.
        sequence += 1
        for node: UInt32 in [1, 2, 3] { driver.connect(node) }
        for node: UInt32 in [1, 2, 3] { driver.report(node, ring(1, sequence), ids(1, 2, 3)) }
        #expect(driver.holders() == ids(4), "the nodes coming back do not take the vote")
        #expect(driver.cluster.lastRule == "keptFromNewcomers")
        // The cut heals: one ring of 4, everyone holds it.
        sequence += 1
        for node: UInt32 in [1, 2, 3, 4] { driver.report(node, ring(1, sequence), ids(1, 2, 3, 4)) }
        #expect(driver.holders() == ids(1, 2, 3, 4))
    }

    @Test("a vote moves NACKs first: the old holders answer before the new ones get their ACKs")
    func nacksFirst() {
        var driver = ClusterDriver(nodes: 4, algorithm: .lms)
        driver.startTogether(ring(1, 1))
        // 1 splits off; 2,3,4 form a ring.
        driver.report(1, ring(1, 2), ids(1))
        driver.sent = []
        for node: UInt32 in [2, 3, 4] { driver.report(node, ring(2, 2), ids(2, 3, 4)) }
        let firstAck = driver.sent.firstIndex { $0.vote == .ack }
        let lastNack = driver.sent.lastIndex { $0.vote == .nack }
        #expect(firstAck != nil && lastNack != nil && lastNack! < firstAck!, "\(driver.sent)")
        #expect(driver.holders() == ids(2, 3, 4))
    }

    @Test("the arbitrator's status names lms and the rule of its last decision")
    func status() {
        var arbiter = QuorumArbiter(settings: .init(restartHold: .zero), startedAt: QuorumInstant(nanoseconds: 0))
        let key = ClusterKey(clusterName: "site", certificateIdentity: "geo")
        let now = QuorumInstant(nanoseconds: 1_000_000_000)
        _ = arbiter.handle(.connected(ConnectionID(1), key, at: now))
        _ = arbiter.handle(.message(ConnectionID(1), .register(DeviceRegistration(nodeID: NodeID(4), configuredNodes: ids(1, 2, 3, 4), algorithm: .lms)), at: now))
        _ = arbiter.handle(.message(ConnectionID(1), .membership(MembershipReport(ring: ring(4, 9), members: ids(4))), at: now))
        let status = ArbitratorStatus(arbiter: arbiter, now: now, votesSent: (ack: 1, nack: 0))
        #expect(status.text.contains("Site site (certificate geo): vote held by {4}, sendingAcks, lms (last rule: onlyPartition)"), "\(status.text)")
        #expect(status.clusters.first?.algorithm == "lms")
    }

    @Test("a cluster refuses a node registering another algorithm")
    func mixedAlgorithms() {
        var arbiter = QuorumArbiter()
        let key = ClusterKey(clusterName: "site", certificateIdentity: "geo")
        _ = arbiter.handle(.connected(ConnectionID(1), key, at: QuorumInstant(nanoseconds: 0)))
        _ = arbiter.handle(.message(ConnectionID(1), .register(DeviceRegistration(nodeID: NodeID(1), configuredNodes: ids(1, 2), algorithm: .lms)),
                                    at: QuorumInstant(nanoseconds: 0)))
        _ = arbiter.handle(.connected(ConnectionID(2), key, at: QuorumInstant(nanoseconds: 0)))
        let directives = arbiter.handle(.message(ConnectionID(2), .register(DeviceRegistration(nodeID: NodeID(2), configuredNodes: ids(1, 2))),
                                                 at: QuorumInstant(nanoseconds: 0)))
        #expect(directives.contains { if case .send(_, .refused(let text)) = $0 { text.contains("algorithm ffsplit differs from node 1's lms") } else { false } })
    }
}

/// lms in the simulated world: the seeded sweeps (safety: one partition per site counts the
/// vote; liveness: after the heal everyone holds it, then the stand-down to the last node).
@Suite struct LastManStandingSweepTests {
    @Test("lms, 2-node and 4-node sites: no violation, every survivor quorate down to the last node", arguments: [2, 4])
    func sweep(_ nodes: Int) async {
        let count = nodes == 2 ? 60 : 30
        let sweep = await offPool { QuorumSweep.run(QuorumScenario(nodesPerSite: nodes, algorithm: .lms), firstSeed: 1, count: count) }
        print(sweep.report(label: "quorum device lms, \(nodes)-node sites").joined(separator: "\n"))
        printFailure(sweep)
        #expect(sweep.failedSeeds.isEmpty)
        #expect(sweep.convergence.count == count * 2)
        #expect(sweep.standDownSteps == count * (nodes - 1), "every run reached the last man standing")
    }

    @Test("the stand-down check bites: ffsplit (one vote) loses quorum when 4 nodes are down to 1, lms does not")
    func standDownBites() {
        for algorithm in [DecisionAlgorithm.ffsplit, .lms] {
            var world = QuorumWorld(scenario: QuorumScenario(nodesPerSite: 4, sites: 1, algorithm: algorithm), seed: 7)
            world.start()
            world.run(for: .seconds(30))
            #expect(world.checker.violations.isEmpty)
            world.standDown()
            if algorithm == .lms {
                #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
                #expect(world.checker.standDownSteps == 3)
                #expect(world.isQuorate(3), "node 4, the last one")
            } else {
                #expect(world.checker.violations.contains { $0.contains("node 4 is not quorate") }, "\(world.checker.violations)")
            }
        }
    }
}
