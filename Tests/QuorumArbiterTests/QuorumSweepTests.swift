import Foundation
import QuorumArbiter
import QuorumSimulation
import Testing

/// CPU-bound sweeps on their own thread, off the cooperative pool the async tests share.
func offPool<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}

func printFailure(_ sweep: QuorumSweep) {
    guard let failure = sweep.firstFailure else { return }
    print("first failing seed \(failure.seed): \(failure.violations.joined(separator: "; "))")
    print(failure.traceTail.suffix(40).joined(separator: "\n"))
}

/// The seeded sweep: two sites on one arbitrator under every fault, the checker after every step.
@Suite struct QuorumSweepTests {
    @Test("2-node sites: 120 seeds, no violation, every site converges after the heal")
    func twoNodeSites() async {
        let sweep = await offPool { QuorumSweep.run(QuorumScenario(nodesPerSite: 2), firstSeed: 1, count: 120) }
        print(sweep.report(label: "quorum device, 2-node sites").joined(separator: "\n"))
        printFailure(sweep)
        #expect(sweep.failedSeeds.isEmpty)
        #expect(sweep.convergence.count == 120 * 2)
        #expect(sweep.faults > 120 * 20 && sweep.acks > 120 * 10, "the faults and the decisions happened")
    }

    @Test("2-node sites with heuristics (modes sync and on; commands passing, failing, hanging as faults): 120 seeds each, no violation", arguments: [HeuristicsMode.sync, .on])
    func heuristics(_ mode: HeuristicsMode) async {
        let sweep = await offPool { QuorumSweep.run(QuorumScenario(nodesPerSite: 2, heuristics: mode), firstSeed: 1, count: 120) }
        print(sweep.report(label: "quorum device, 2-node sites, heuristics \(mode.rawValue)").joined(separator: "\n"))
        printFailure(sweep)
        #expect(sweep.failedSeeds.isEmpty)
        #expect(sweep.convergence.count == 120 * 2)
    }

    @Test("4-node sites: 50 seeds, no violation")
    func fourNodeSites() async {
        let sweep = await offPool { QuorumSweep.run(QuorumScenario(nodesPerSite: 4), firstSeed: 1, count: 50) }
        print(sweep.report(label: "quorum device, 4-node sites").joined(separator: "\n"))
        printFailure(sweep)
        #expect(sweep.failedSeeds.isEmpty)
        #expect(sweep.convergence.count == 50 * 2)
    }

    /// The checker bites: each broken rule is found within the same seeds the real rules pass.
    @Test("the checker catches a decision without ring agreement and ACKs sent with the NACKs", arguments: FFSplitCluster.RuleBreak.allCases)
    func brokenRules(_ rule: FFSplitCluster.RuleBreak) async {
        let sweep = await offPool {
            QuorumSweep.run(QuorumScenario(nodesPerSite: 2, arbiter: QuorumArbiter.Settings(ruleBreak: rule)), firstSeed: 1, count: 60)
        }
        print(sweep.report(label: "rule broken: \(rule.rawValue)").joined(separator: "\n"))
        #expect(!sweep.failedSeeds.isEmpty, "\(rule.rawValue) went unnoticed over 60 seeds")
        if let failure = sweep.firstFailure { print("  first: seed \(failure.seed): \(failure.violations[0])") }
    }

    @Test("the checker catches a device that polls nothing while it waits for the vote (votequorum's sync holds the old quorum)", arguments: QuorumDevice.RuleBreak.allCases)
    func brokenDeviceRules(_ rule: QuorumDevice.RuleBreak) async {
        let sweep = await offPool {
            var device = QuorumDevice.Settings()
            device.ruleBreak = rule
            return QuorumSweep.run(QuorumScenario(nodesPerSite: 2, device: device), firstSeed: 1, count: 60)
        }
        print(sweep.report(label: "rule broken: \(rule.rawValue)").joined(separator: "\n"))
        #expect(!sweep.failedSeeds.isEmpty, "\(rule.rawValue) went unnoticed over 60 seeds")
        if let failure = sweep.firstFailure { print("  first: seed \(failure.seed): \(failure.violations[0])") }
    }
}
