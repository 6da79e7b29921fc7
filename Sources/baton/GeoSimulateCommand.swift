import ArgumentParser
import GeoSimulation
import TicketElection
import TicketSimulation

/// `baton geo-simulate`: the deterministic simulator of the ticket election, for long runs
/// (`--seeds 100000`) and for replaying one seed exactly.
struct GeoSimulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geo-simulate",
        abstract: "Run the ticket election under simulated faults and check that no two sites ever hold a ticket.",
        discussion: """
            Each seed simulates sites and arbitrators running the real election code over a network that
            loses, duplicates, delays and reorders messages, with partitions, crashes and restarts, clock drift,
            site quorum loss, failing handlers and admin commands. After every event the checkers look for two
            holders of one ticket, a lost grant, and (after the faults heal) a ticket nobody acquires.

            --model daemon runs batond's own core (DaemonCore) on the simulation kernel instead of the bare
            election: its batching (one journal record and fsync per turn, frames only after it), wake-ups,
            crm_ticket runs, reloads that remove and add tickets, failing state writes, reboots, and restarts
            with the journal kept, torn, damaged or lost. Replays work the same way (--model daemon --replay N).

            Exit status: 0 no violation, 1 violations found, 64 bad arguments.
            """)

    @Option(help: "Number of seeds to run.") var seeds = 2_000
    @Option(help: "First seed.") var firstSeed: UInt64 = 1
    @Option(help: "Member shape: 2+1 (two sites, one arbitrator), 3+2, or SITES+ARBITRATORS.") var shape = "2+1"
    @Option(help: "Tickets per run.") var tickets = 3
    @Option(help: "Replay one seed and print its whole trace.") var replay: UInt64?
    @Option(help: "Break a safety rule on purpose (voters-ignore-lease, leader-ignores-lease-end, lease-from-reply, promise-written-short, amnesiac-votes-at-once) to see the checkers bite.")
    var breakRule: String?
    @Option(help: "Parallel workers.") var jobs = 2
    @Option(help: "What runs on each member: election (the TicketElection instances, driven directly) or daemon (batond's DaemonCore with a simulated shell and disk).")
    var model = "election"

    func validate() throws {
        guard seeds >= 1 && seeds <= 10_000_000 else { throw ValidationError("--seeds must be 1...10000000") }
        guard tickets >= 1 && tickets <= 64 else { throw ValidationError("--tickets must be 1...64") }
        guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be 1...64") }
        guard model == "election" || model == "daemon" else { throw ValidationError("--model \(model): expected election or daemon") }
        _ = try scenario()
    }

    func scenario() throws -> Scenario {
        let parts = shape.split(separator: "+").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 1, parts[1] >= 0, parts[0] + parts[1] >= 2, parts[0] + parts[1] <= 16 else {
            throw ValidationError("--shape \(shape): expected SITES+ARBITRATORS, e.g. 2+1, with 2 to 16 members")
        }
        var scenario = Scenario(sites: parts[0], arbitrators: parts[1], tickets: tickets)
        switch breakRule {
        case nil: break
        case "voters-ignore-lease": scenario.safetyRuleBreaks = .votersIgnoreLease
        case "leader-ignores-lease-end": scenario.safetyRuleBreaks = .leaderIgnoresLeaseEnd
        case "lease-from-reply": scenario.safetyRuleBreaks = .leaseFromReply
        case "promise-written-short": scenario.safetyRuleBreaks = .promiseWrittenShort
        case "amnesiac-votes-at-once": scenario.safetyRuleBreaks = .amnesiacVotesAtOnce
        case let other?:
            throw ValidationError(
                "--break-rule \(other): expected voters-ignore-lease, leader-ignores-lease-end, lease-from-reply, promise-written-short or amnesiac-votes-at-once")
        }
        return scenario
    }

    func run() async throws {
        let scenario = try scenario()
        if let replay {
            let result: RunResult
            if model == "daemon" {
                var world = DaemonWorld(scenario: scenario, seed: replay, keepFullTrace: true)
                result = world.run()
            } else {
                var world = GeoWorld(scenario: scenario, seed: replay, keepFullTrace: true)
                result = world.run()
            }
            try printReplay(result.traceTail, verdict: "seed \(replay): \(result.violations.isEmpty ? "no violation" : result.violations.map(\.description).joined(separator: "; "))",
                            traceHash: result.traceHash, failed: !result.violations.isEmpty)
            return
        }
        let clock = ContinuousClock()
        let started = clock.now
        let first = firstSeed
        let total = seeds
        let daemon = model == "daemon"
        let summary = await sweepInParallel(seeds: total, jobs: jobs, firstSeed: first, empty: SweepSummary(), merge: { $0.merge($1) }) { start, count in
            daemon ? sweepDaemon(scenario, firstSeed: start, count: count) : sweep(scenario, firstSeed: start, count: count)
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.nanoseconds) / 1e9
        print("model \(model), shape \(shape), \(tickets) tickets, expire \(scenario.expire.shortDescription), timeout \(scenario.timeout.shortDescription), clock drift bound \(scenario.clockDriftMaxPartsPerMillion) ppm")
        for line in summary.report(label: "seeds \(firstSeed)...\(firstSeed &+ UInt64(seeds - 1))", expire: scenario.expire) {
            print(line)
        }
        if daemon { print("  (daemon model: \"restarts with the state wiped\" counts restarts with the journal lost; replay with --model daemon)") }
        let rate = seconds > 0 ? Double(summary.seeds) / seconds : 0
        print("speed: \(summary.seeds) seeds in \(String(format1(seconds))) s = \(Int(rate)) seeds/s (\(jobs) workers)")
        if let worst = summary.failoverTimes.max() {
            print("worst failover: \(Duration.nanoseconds(worst).shortDescription) (expire \(scenario.expire.shortDescription))")
        }
        print("violations: \(summary.violations)")
        if summary.violations > 0 { throw ExitCode(1) }
    }
}

/// A replayed seed: its whole trace, the verdict and the trace's hash; exit 1 when it failed.
func printReplay(_ trace: [String], verdict: String, traceHash: UInt64, failed: Bool) throws {
    for line in trace { print(line) }
    print(verdict)
    print("trace hash \(String(traceHash, radix: 16)) (same seed, same hash)")
    if failed { throw ExitCode(1) }
}

/// Runs `seeds` seeds from `firstSeed` as `jobs` parallel slices (`sweep(first, count)` each)
/// and merges their summaries.
func sweepInParallel<Summary: Sendable>(
    seeds: Int, jobs: Int, firstSeed: UInt64, empty: Summary, merge: (inout Summary, Summary) -> Void,
    sweep: @escaping @Sendable (UInt64, Int) -> Summary
) async -> Summary {
    precondition(seeds >= 0 && jobs >= 1, "sweepInParallel: \(seeds) seeds, \(jobs) jobs")
    let chunk = (seeds + jobs - 1) / jobs
    return await withTaskGroup(of: Summary.self) { group in
        for job in 0..<jobs {
            let start = job * chunk
            let count = min(chunk, seeds - start)
            guard count > 0 else { continue }
            group.addTask { sweep(firstSeed &+ UInt64(start), count) }
        }
        var merged = empty
        for await part in group { merge(&merged, part) }
        return merged
    }
}

func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
