import ArgumentParser
import CRMSimulation
import Foundation

/// `baton crm simulate`: baton-crmd's node core (NodeCore) in the deterministic simulation,
/// seed by seed, with the checks after every step; a failing seed prints its trace and its
/// plan shrunk to a regression test.
struct CrmSimulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run baton-crmd's node core under simulated faults and check one DC, one CIB order, no lost write.",
        discussion: """
            Each run starts K nodes at once (each the real NodeCore on a simulated CPG group with virtual
            synchrony and votequorum's quorum), then injects the faults (--faults: partition, crash, dc-kill,
            nodelist, stranger, writes; all by default) for 60 s of simulated time, heals and waits 90 s.
            After every step: at most one DC per CPG view and its settled members agree on it, one order of
            CIB writes among live processes (no acknowledged write overwritten), no attributes of a node
            outside the view, a DC loss handled at the membership change, no dc-deadtime wait with every
            nodelist node present. After the quiet phase: one DC, equal attributes, cluster options and CIB
            sequence everywhere, nothing pending, every acknowledged write still in the order.

            Exit status: 0 no violation, 1 violations found, 64 bad arguments.
            """)

    @Option(help: "First seed.") var seed: UInt64 = 1
    @Option(help: "Number of runs (seeds seed, seed+1, ...).") var runs = 100
    @Option(help: "Nodes per run (3 to 32).") var nodes = 5
    @Option(help: "Faults: all, none, or a comma-separated list of partition, crash, dc-kill, nodelist, stranger, writes.")
    var faults = "all"
    @Option(help: "Parallel workers.") var jobs = 2
    @Flag(help: "Replay the first seed alone and print its whole trace.") var replay = false
    @Option(help: "Reruns spent shrinking each failing plan (0: no shrinking).") var shrinkRuns = 300

    func validate() throws {
        guard runs >= 1 && runs <= 10_000_000 else { throw ValidationError("--runs must be 1...10000000") }
        guard CRMScenario.nodesRange.contains(nodes) else { throw ValidationError("--nodes must be \(CRMScenario.nodesRange.lowerBound)...\(CRMScenario.nodesRange.upperBound)") }
        guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be 1...64") }
        guard shrinkRuns >= 0 && shrinkRuns <= 100_000 else { throw ValidationError("--shrink-runs must be 0...100000") }
        do { _ = try CRMFault.parse(faults) } catch { throw ValidationError("--faults \(error)") }
    }

    func run() async throws {
        let scenario = CRMScenario(nodes: nodes, faults: try CRMFault.parse(faults))
        if replay {
            var world = CRMWorld(scenario: scenario, seed: seed, keepFullTrace: true)
            let result = world.runResult()
            try printReplay(result.traceTail, verdict: "seed \(seed): \(result.steps) steps, \(result.violations.isEmpty ? "no violation" : result.violations.joined(separator: "; "))",
                            traceHash: result.traceHash, failed: !result.violations.isEmpty)
            return
        }
        let clock = ContinuousClock()
        let started = clock.now
        let summary = await sweepInParallel(seeds: runs, jobs: jobs, firstSeed: seed, empty: CRMSummary(), merge: { $0.merge($1) }) { start, count in
            CRMSummary.sweep(scenario, firstSeed: start, runs: count)
        }
        let seconds = (clock.now - started).inSeconds
        for line in Self.report(summary, scenario: scenario, firstSeed: seed, seconds: seconds, jobs: jobs) { print(line) }
        for failure in summary.failures.sorted(by: { $0.seed < $1.seed }) {
            print("")
            print("seed \(failure.seed): \(failure.violations.joined(separator: "; "))")
            print("  trace (last lines; the whole one with --seed \(failure.seed) --runs 1 --replay):")
            for line in failure.traceTail.suffix(40) { print("    \(line)") }
            let shrunk = shrinkRuns > 0 ? CRMWorld.shrink(scenario, seed: failure.seed, plan: failure.plan, runsMax: shrinkRuns) : failure.plan
            print("  plan shrunk to \(shrunk.count) of \(failure.plan.count) steps, as a regression test:")
            for line in Self.regressionTest(scenario: scenario, seed: failure.seed, plan: shrunk) { print("    \(line)") }
        }
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }

    static func report(_ summary: CRMSummary, scenario: CRMScenario, firstSeed: UInt64, seconds: Double, jobs: Int) -> [String] {
        let faults = CRMFault.allCases.filter { scenario.faults.contains($0) }.map(\.rawValue).joined(separator: ",")
        let injected = CRMFault.allCases.compactMap { fault in summary.faultsInjected[fault].map { "\(fault.rawValue) \($0)" } }
        let rate = seconds > 0 ? Double(summary.steps) / seconds : 0
        return [
            "crm simulate: \(scenario.nodes) nodes, faults \(faults.isEmpty ? "none" : faults), seeds \(firstSeed)...\(firstSeed &+ UInt64(summary.runs - 1))",
            "runs \(summary.runs), steps \(summary.steps) (\(summary.runs > 0 ? summary.steps / summary.runs : 0) per run)",
            "faults injected: \(injected.isEmpty ? "none" : injected.joined(separator: ", "))",
            "CIB writes acknowledged: \(summary.writesAcknowledged); histories lost with every holder: \(summary.historiesLost) (acknowledged \(summary.acknowledgedLostWithEveryHolder); NodeCore keeps no CIB on disk); gaps left for the CIB service's resync: \(summary.gapsForResync); orders forked after every process of one side restarted: \(summary.forksAfterRestarts)",
            "beyond the fault model: acknowledged writes lost because their holders in a later majority had lost their disks (the other holders cut off): \(summary.acknowledgedLostToAmnesia)",
            "speed: \(summary.steps) steps in \(format1(seconds)) s = \(Int(rate)) steps/s (\(jobs) workers)",
            "failures: \(summary.failures.count == CRMSummary.failuresKeptMax ? "\(CRMSummary.failuresKeptMax) or more" : "\(summary.failures.count)")",
        ]
    }

    /// The failing run as Swift, for Tests/CRMSimulationTests.
    static func regressionTest(scenario: CRMScenario, seed: UInt64, plan: [CRMStep]) -> [String] {
        let faults = CRMFault.allCases.filter { scenario.faults.contains($0) }.map { ".\($0.swiftName)" }.joined(separator: ", ")
        return ["var world = CRMWorld(scenario: CRMScenario(nodes: \(scenario.nodes), faults: [\(faults)]), seed: \(seed), plan: ["]
            + plan.map { "    \($0)," }
            + ["])", "#expect(world.run().isEmpty)"]
    }
}
