import ArgumentParser
import QuorumArbiter
import QuorumSimulation

/// `baton quorum-simulate`: the deterministic simulator of the arbitrator as a quorum device
/// (issue 16): sites' nodes and one arbitrator under partitions, link cuts, loss, crashes.
struct QuorumSimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quorum-simulate",
        abstract: "Run the arbitrator's quorum-device decision (ffsplit or lms) under simulated faults and check one partition per site holds the vote.",
        discussion: """
            Each seed simulates two sites (same cluster name, same node ids, different certificate identities) of
            --nodes nodes each and one arbitrator: the arbitrator's QuorumArbiter, each node's QuorumDevice and a model
            of its votequorum, over streams on a network that loses, duplicates, delays and reorders; with partitions
            among a site's nodes (new rings), cuts of node-arbitrator links (one way or both), node and arbitrator
            crashes and restarts, ring changes and heuristics changes; then everything heals. After every event the
            checker looks for the device's vote counted in two partitions of one site, an ACK while the recipient's
            connected members disagree on the ring, and (after the heal) a site whose nodes do not all hold the vote
            within 60 s or lose it again (flapping). With --heuristics sync|on every node runs qdevice's heuristics
            (the device holds each ring's report for the run's result); the heuristics faults make the commands pass,
            fail or hang. With --algorithm lms the device carries nodes - 1 votes and, after the settle, each site
            loses its nodes one by one: every survivor, down to the last one, must be quorate 40 s after each loss.

            Exit status: 0 no violation, 1 violations found, 64 bad arguments.
            """)

    @Option(help: "First seed.") var seed: UInt64 = 1
    @Option(help: "Number of seeds.") var count = 200
    @Option(help: "Nodes per site: 2 or 4.") var nodes = 2
    @Option(help: "Replay one seed and print its whole trace.") var replay: UInt64?
    @Option(help: "Break a rule on purpose (ignore-ring-agreement, acks-with-nacks, wait-for-vote) to see the checker bite.") var breakRule: String?
    @Option(help: "Parallel workers.") var jobs = 2
    @Option(help: "The nodes' heuristics mode: off, sync or on.") var heuristics = "off"
    @Option(help: "The decision algorithm: ffsplit or lms.") var algorithm = "ffsplit"

    func validate() throws {
        guard count >= 1 && count <= 10_000_000 else { throw ValidationError("--count must be 1...10000000") }
        guard nodes == 2 || nodes == 4 else { throw ValidationError("--nodes \(nodes): expected 2 or 4") }
        guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be 1...64") }
        _ = try scenario()
    }

    func scenario() throws -> QuorumScenario {
        var arbiter = QuorumArbiter.Settings()
        var device = QuorumDevice.Settings()
        if let breakRule {
            if let rule = FFSplitCluster.RuleBreak(rawValue: breakRule) {
                arbiter.ruleBreak = rule
            } else if let rule = QuorumDevice.RuleBreak(rawValue: breakRule) {
                device.ruleBreak = rule
            } else {
                let known = FFSplitCluster.RuleBreak.allCases.map(\.rawValue) + QuorumDevice.RuleBreak.allCases.map(\.rawValue)
                throw ValidationError("--break-rule \(breakRule): expected \(known.joined(separator: ", "))")
            }
        }
        guard let mode = HeuristicsMode(rawValue: heuristics) else { throw ValidationError("--heuristics \(heuristics): expected off, sync or on") }
        guard let decision = DecisionAlgorithm(rawValue: algorithm) else { throw ValidationError("--algorithm \(algorithm): expected ffsplit or lms") }
        return QuorumScenario(nodesPerSite: nodes, device: device, arbiter: arbiter, heuristics: mode, algorithm: decision)
    }

    func run() async throws {
        let scenario = try scenario()
        if let replay {
            var world = QuorumWorld(scenario: scenario, seed: replay, keepFullTrace: true)
            let result = world.run()
            try printReplay(result.traceTail, verdict: "seed \(replay): \(result.violations.isEmpty ? "no violation" : result.violations.joined(separator: "; "))",
                            traceHash: result.traceHash, failed: !result.violations.isEmpty)
            return
        }
        let clock = ContinuousClock()
        let started = clock.now
        let sweep = await sweepInParallel(seeds: count, jobs: jobs, firstSeed: seed, empty: QuorumSweep(), merge: { $0.merge($1) }) { start, count in
            QuorumSweep.run(scenario, firstSeed: start, count: count)
        }
        let elapsed = clock.now - started
        let seconds = elapsed.inSeconds
        print("\(scenario.sites) sites of \(nodes) nodes on one arbitrator, algorithm \(algorithm) (device votes \(scenario.deviceVotes)), tie-breaker \(scenario.tieBreaker), device timeout \(scenario.device.timeout), sync_timeout \(scenario.device.syncTimeout), heuristics \(heuristics)\(breakRule.map { ", rule broken: \($0)" } ?? "")")
        for line in sweep.report(label: "seeds \(seed)...\(seed &+ UInt64(count - 1))") { print(line) }
        print("speed: \(sweep.runs) seeds in \(format1(seconds)) s (\(jobs) workers)")
        if let failure = sweep.firstFailure {
            print("first failing seed \(failure.seed) (replay: baton quorum-simulate --nodes \(nodes) --heuristics \(heuristics) --algorithm \(algorithm) --replay \(failure.seed)\(breakRule.map { " --break-rule \($0)" } ?? "")):")
            for violation in failure.violations { print("  \(violation)") }
            print("  last trace lines:")
            for line in failure.traceTail.suffix(40) { print("    \(line)") }
            throw ExitCode(1)
        }
    }
}
