import ClusterIdentity
import QuorumArbiter
import QuorumSimulation
import SimulationKernel
import Testing

/// The heuristics end to end on the simulation kernel: the nodes' heuristics cores run their
/// (simulated) commands at start-up, on every ring and on connecting; the device holds its
/// membership report for the result; the arbitrator scores it.
@Suite struct QuorumHeuristicsScenarioTests {
    static func world(_ mode: HeuristicsMode, seed: UInt64, failing: NodeIndex = 0) -> QuorumWorld {
        var scenario = QuorumScenario(nodesPerSite: 2, sites: 1, heuristics: mode)
        scenario.heuristicsAtStart = [failing: .fail]
        return QuorumWorld(scenario: scenario, seed: seed, keepFullTrace: true)
    }

    @Test("2 nodes, link cut, node 1 fails its heuristics and node 2 passes: node 2 gets the vote though the tie-breaker is lowest", arguments: [HeuristicsMode.sync, .on])
    func heuristicsDecideTheSplit(_ mode: HeuristicsMode) {
        for seed: UInt64 in 1...5 {
            var world = Self.world(mode, seed: seed)
            world.start()
            world.run(for: .seconds(20))
            #expect(world.holders(site: 0) == ids(1, 2), "seed \(seed): both together, heuristics or not")
            #expect(world.host(0)?.device.heuristics == .fail && world.host(1)?.device.heuristics == .pass, "seed \(seed)")
            world.partition(site: 0, sides: [0, 1])
            world.run(for: .seconds(15))
            #expect(world.holders(site: 0) == ids(2), "seed \(seed)")
            #expect(!world.isQuorate(0) && world.isQuorate(1), "seed \(seed)")
            world.partition(site: 0, sides: [0, 0])
            world.run(for: .seconds(15))
            #expect(world.holders(site: 0) == ids(1, 2), "seed \(seed): healed")
            #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
        }
    }

    @Test("mode on: node 2's heuristics start failing while connected; the next regular run reports it, and the next cut goes to node 1")
    func regularRunReportsAChange() {
        var world = Self.world(.on, seed: 3)
        world.start()
        world.run(for: .seconds(20))
        world.setHeuristics(0, .pass)
        world.setHeuristics(1, .fail)
        world.run(for: .seconds(20))  // interval 15 s (+ up to 2 s of run)
        #expect(world.host(0)?.device.heuristics == .pass && world.host(1)?.device.heuristics == .fail)
        #expect(world.arbitratorHeuristics(site: 0) == [NodeID(1): .pass, NodeID(2): .fail])
        world.partition(site: 0, sides: [0, 1])
        world.run(for: .seconds(15))
        #expect(world.holders(site: 0) == ids(1))
        #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
    }

    @Test("commands that hang: the run fails at the timeout and the report goes out with fail")
    func hangingCommandsFail() {
        var scenario = QuorumScenario(nodesPerSite: 2, sites: 1, heuristics: .sync)
        scenario.heuristicsAtStart = [0: .undefined]  // node 1's commands hang
        var world = QuorumWorld(scenario: scenario, seed: 5, keepFullTrace: true)
        world.start()
        world.run(for: .seconds(10))
        #expect(world.host(0)?.heuristics.running != nil, "still running before the sync timeout (15 s)")
        world.run(for: .seconds(20))
        #expect(world.host(0)?.device.heuristics == .fail)
        #expect(world.host(0)?.heuristics.lastRun?.failed == ["timeout: disk", "timeout: gateway"])
        #expect(world.holders(site: 0) == ids(1, 2))
        #expect(world.checker.violations.isEmpty, "\(world.checker.violations)")
    }
}
