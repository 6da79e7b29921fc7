import ClusterIdentity
import QuorumArbiter
import QuorumSimulation
import SimulationKernel
import Testing

/// Scripted runs of the whole device (arbitrator, nodes, streams, votequorum model) on the
/// simulation kernel: the acceptance scenarios of issue 16 at the decision level, each
/// checked by the same checker as the random sweep.
@Suite struct QuorumScenarioTests {
    static func world(nodes: Int = 2, seed: UInt64 = 7) -> QuorumWorld {
        var world = QuorumWorld(scenario: QuorumScenario(nodesPerSite: nodes, sites: 1), seed: seed, keepFullTrace: true)
        world.start()
        world.run(for: .seconds(20))
        return world
    }

    @Test("2 nodes + arbitrator: all quorate; the link between the nodes cut: node 1 keeps quorum, every time")
    func nodeLinkCut() {
        for seed: UInt64 in 1...5 {
            var world = Self.world(seed: seed)
            #expect(world.holders(site: 0) == ids(1, 2), "seed \(seed)")
            for repeat_ in 1...3 {
                world.partition(site: 0, sides: [0, 1])
                world.run(for: .seconds(15))
                #expect(world.holders(site: 0) == ids(1), "seed \(seed), cut \(repeat_)")
                if world.holders(site: 0) != ids(1) { print(world.simulation.traceTail.joined(separator: "\n")); return }
                #expect(world.isQuorate(0) && !world.isQuorate(1), "seed \(seed), cut \(repeat_)")
                world.partition(site: 0, sides: [0, 0])
                world.run(for: .seconds(15))
                #expect(world.holders(site: 0) == ids(1, 2), "seed \(seed), heal \(repeat_)")
            }
            #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
        }
    }

    /// Node 1 isolated; returns when node 1 lost quorum and when node 2 gained it (nil: never
    /// within 60 s), from the cut.
    static func isolate(_ world: inout QuorumWorld) -> (lost: Duration?, survivor: Duration?) {
        world.partition(site: 0, sides: [1, 0])
        world.cutArbitratorLink(0, toArbitrator: true, fromArbitrator: true, true)
        let cutAt = world.now
        var lostAt: Int64?
        var survivorAt: Int64?
        for _ in 0..<600 where survivorAt == nil || lostAt == nil {
            world.run(for: .milliseconds(100))
            if lostAt == nil && !world.isQuorate(0) { lostAt = world.now }
            let localNow = world.simulation.localNow(1)
            if survivorAt == nil, world.host(1)?.activeMembers(localNow: localNow) == ids(2), world.isQuorate(1) { survivorAt = world.now }
        }
        return (lostAt.map { .nanoseconds($0 - cutAt) }, survivorAt.map { .nanoseconds($0 - cutAt) })
    }

    @Test("node 1 isolated from everyone (node 2 and the arbitrator): node 1 loses quorum within the vote wait of its new ring, node 2 keeps it within the device timeout")
    func nodeIsolated() {
        var world = Self.world()
        let (lost, survivor) = Self.isolate(&world)
        world.run(for: .seconds(30))
        #expect(world.holders(site: 0) == ids(2))
        #expect(!world.isQuorate(0) && world.isQuorate(1))
        print("node 1 isolated: node 1 without quorum after \(lost.map { "\($0)" } ?? "-"), node 2 quorate after \(survivor.map { "\($0)" } ?? "-") (device timeout 10 s; qnetd measured 12 s)")
        // Its ring comes at most ringDelayMax (1 s) after the cut, the no 1 s (voteWait) later.
        #expect(lost.map { $0 <= .milliseconds(2_200) } == true, "node 1 polls no for its new ring instead of holding votequorum's sync")
        #expect(survivor.map { $0 <= .seconds(10) } == true, "the arbitrator drops node 1 after 10 s of silence")
        #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
    }

    @Test("the device that waits for the vote without polling (wait-for-vote) keeps the isolated node's old quorum through votequorum's sync: the checker finds two partitions counting the vote")
    func waitForVoteCaught() {
        var world = QuorumWorld(scenario: QuorumScenario(nodesPerSite: 2, sites: 1, device: {
            var settings = QuorumDevice.Settings()
            settings.ruleBreak = .waitForVote
            return settings
        }()), seed: 7, keepFullTrace: true)
        world.start()
        world.run(for: .seconds(20))
        #expect(world.holders(site: 0) == ids(1, 2))
        let (lost, _) = Self.isolate(&world)
        #expect(lost.map { $0 > .seconds(25) } ?? true, "node 1 keeps its old quorum until sync_timeout")
        #expect(world.checker.violations.contains { $0.contains("counts in two partitions") }, "\(world.checker.violations)")
    }

    @Test("the arbitrator down with both nodes up: quorate; then a node lost: quorum lost")
    func arbitratorDown() {
        var world = Self.world()
        world.crash(world.scenario.arbitratorIndex)
        world.run(for: .seconds(30))
        #expect(world.holders(site: 0).isEmpty)
        #expect(world.isQuorate(0) && world.isQuorate(1), "2 of 3 votes without the device")
        world.crash(1)
        world.run(for: .seconds(30))
        #expect(!world.isQuorate(0), "1 of 3 votes")
        #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
    }

    @Test("no failback: node 1 back but cut from node 2, which held the vote alone, does not take it")
    func noFailback() {
        var world = Self.world()
        world.crash(0)
        world.run(for: .seconds(30))
        #expect(world.holders(site: 0) == ids(2))
        world.partition(site: 0, sides: [1, 0])
        world.restart(0)
        world.run(for: .seconds(30))
        #expect(world.holders(site: 0) == ids(2), "the partition active before keeps the vote on a tie")
        world.partition(site: 0, sides: [0, 0])
        world.run(for: .seconds(30))
        #expect(world.holders(site: 0) == ids(1, 2))
        #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
    }

    @Test("4 nodes split 2:2: exactly the half with node 1 keeps quorum")
    func fourNodesSplit() {
        var world = Self.world(nodes: 4)
        #expect(world.holders(site: 0) == ids(1, 2, 3, 4))
        world.partition(site: 0, sides: [1, 0, 1, 0])
        world.run(for: .seconds(15))
        #expect(world.holders(site: 0) == ids(1, 3), "both halves held the vote before: the lowest node id decides")
        #expect(world.isQuorate(0) && world.isQuorate(2) && !world.isQuorate(1) && !world.isQuorate(3))
        #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
    }
}
