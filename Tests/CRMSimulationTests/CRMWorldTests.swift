import CRMCore
import CRMSimulation
import SimulationKernel
import Testing

@Suite struct CRMWorldTests {
    @Test func aFixedSeedRangePassesEveryCheck() {
        let summary = CRMSummary.sweep(CRMScenario(), firstSeed: 1, runs: 20)
        for failure in summary.failures {
            Issue.record("seed \(failure.seed): \(failure.violations)\n\(failure.traceTail.suffix(60).joined(separator: "\n"))")
        }
        #expect(summary.runs == 20)
    }
}

@Suite struct CRMFindingsTests {
    static let all: Set<CRMFault> = [.partition, .crash, .dcKill, .nodelist, .stranger, .writes]

    @Test func aFailingPlanShrinksToAShorterOneThatFailsTheSameWay() {
        // A shell broken on purpose (one applied write dropped) fails; the shrunk plan the same way.
        var scenario = CRMScenario(nodes: 3, faults: Self.all)
        scenario.sabotage = .dropsOneAppliedWrite
        let plan = CRMPlan.draw(scenario, seed: 3)
        var full = CRMWorld(scenario: scenario, seed: 3, plan: plan)
        let violations = full.run()
        // The violation's kind: its text after the time, up to the next colon.
        let kind = { (violation: String?) in violation?.split(separator: ":").dropFirst().first.map(String.init) }
        #expect(kind(violations.first) != nil, "\(violations)")
        let shrunk = CRMWorld.shrink(scenario, seed: 3, plan: plan, runsMax: 40)
        #expect(shrunk.count < plan.count)
        var again = CRMWorld(scenario: scenario, seed: 3, plan: shrunk)
        #expect(kind(again.run().first) == kind(violations.first))
    }

    @Test func sameSeedSameTrace() {
        var first = CRMWorld(scenario: CRMScenario(), seed: 77)
        var second = CRMWorld(scenario: CRMScenario(), seed: 77)
        let one = first.runResult(), two = second.runResult()
        #expect(one.traceHash == two.traceHash && one.steps == two.steps && one.steps > 200)
        var other = CRMWorld(scenario: CRMScenario(), seed: 78)
        #expect(other.runResult().traceHash != one.traceHash)
    }

    /// Seeds 1760 and 1774 of 2,000 (5 nodes), 48 and 393 (3 nodes) found it: CPG delivers in
    /// agreed order, not safe order. The DC broadcasts a write just as a partition cuts it off
    /// from the majority; the minority (with the DC) delivers it, the majority never gets it,
    /// elects a DC and orders another write at the same sequence. Until writes were
    /// acknowledged only once a majority of the nodelist's nodes held them, the origin had been
    /// told "applied" and the checker found "acknowledged write lost: CIB order diverged" here.
    @Test func aWriteDeliveredOnlyToTheMinorityAtAPartitionIsNeverAcknowledged() {
        var world = CRMWorld(scenario: CRMScenario(nodes: 5, faults: Self.all), seed: 1760, plan: [
            .init(2064, .strangerJoins),
            .init(4521, .cibWrite(node: 1, number: 1)),
            .init(5890, .cibWrite(node: 4, number: 1)),
            .init(7377, .sides([0, 0, 0, 1, 0, 0])),
            .init(7640, .cibWrite(node: 4, number: 3)),
            .init(7681, .cibWrite(node: 3, number: 6)),
            .init(8727, .sides([0, 0, 0, 0, 0, 0])),
            .init(10056, .strangerLeaves),
            .init(10092, .sides([0, 0, 1, 1, 1, 1])),
            .init(11737, .cibWrite(node: 3, number: 7)),
            .init(15000, .heal),
        ])
        let violations = world.run()
        #expect(violations.isEmpty, "\(violations)\n\(world.simulation.traceTail.suffix(50).joined(separator: "\n"))")
        #expect(world.writesAcknowledged > 0)
    }

    @Test(arguments: [(3, 48), (3, 393), (5, 1760), (5, 1774)])
    func theSeedsThatLostAnAcknowledgedWritePass(nodes: Int, seed: UInt64) {
        var world = CRMWorld(scenario: CRMScenario(nodes: nodes, faults: Self.all), seed: seed)
        let result = world.runResult()
        #expect(result.violations.isEmpty, "\(result.violations)\n\(result.traceTail.suffix(60).joined(separator: "\n"))")
    }

    /// 3 nodes, seed 125: a write acknowledged by two nodes; one restarts with its disk lost,
    /// the other is cut off; the remaining majority holds no copy and reuses the sequence. Two
    /// faults among the write's majority, beyond what a majority protocol can keep (README,
    /// "Beyond the fault model"): counted, not failed. Before the count, this seed failed with
    /// "acknowledged write lost: CIB order diverged".
    @Test func anAcknowledgedWriteWhoseHoldersLostTheirDiskOrWereCutOffIsCountedBeyondTheFaultModel() {
        var world = CRMWorld(scenario: CRMScenario(nodes: 3, faults: Self.all), seed: 125)
        let result = world.runResult()
        #expect(result.violations.isEmpty, "\(result.violations)\n\(result.traceTail.suffix(60).joined(separator: "\n"))")
        #expect(result.acknowledgedLostToAmnesia >= 1)
        #expect(result.faultsInjected[.crash, default: 0] + result.faultsInjected[.dcKill, default: 0] > 0)
    }
}

/// The checks bite: a shell broken on purpose is caught.
@Suite struct CRMCheckerBitesTests {
    @Test func aMemberThatMissedAnOrderedWriteIsCaughtAfterTheQuiet() {
        var scenario = CRMScenario(nodes: 3, faults: [.writes])
        scenario.sabotage = .dropsOneAppliedWrite
        var world = CRMWorld(scenario: scenario, seed: 3)
        let violations = world.run()
        #expect(violations.count == 1 && violations[0].contains("after the heal: CIB sequence"), "\(violations)")
    }

    /// The rule before majority acknowledgement (a write counted once the DC's order is
    /// delivered): seeds 48 and 393 still fail with a lost acknowledged write, not excused as
    /// amnesia, although the count for amnesia exists.
    @Test(arguments: [UInt64(48), 393])
    func writesAcknowledgedOnDeliveryAreCaughtLosingOne(seed: UInt64) {
        var scenario = CRMScenario(nodes: 3, faults: CRMFindingsTests.all)
        scenario.sabotage = .acknowledgesOnDelivery
        var world = CRMWorld(scenario: scenario, seed: seed)
        let result = world.runResult()
        #expect(result.violations.count == 1 && result.violations[0].contains("acknowledged write lost"), "\(result.violations)")
        #expect(result.acknowledgedLostToAmnesia == 0)
    }

    @Test func aDeadtimeTimerThatFiresWithEveryNodePresentIsCaught() {
        var scenario = CRMScenario(nodes: 3, faults: [])
        scenario.sabotage = .ignoresTimerCancels
        var world = CRMWorld(scenario: scenario, seed: 3)
        let violations = world.run()
        #expect(violations.count == 1 && violations[0].contains("waited dc-deadtime although every nodelist node is in its view"), "\(violations)")
    }
}
