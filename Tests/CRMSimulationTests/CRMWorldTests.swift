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
