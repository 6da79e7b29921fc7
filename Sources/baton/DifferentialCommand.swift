import ArgumentParser
import CIB
import CIBGenerator
import DecoderFuzzing
import Foundation
import Scheduler
import Synchronization

/// `baton differential`: random CIBs (CIBGenerator) scheduled by us and by crm_simulate 2.1.5,
/// Transition Summaries compared the conformance suite's way and transition graphs as a
/// controller executes them (numbering aside). A lab command: agreement overall and per
/// feature, the disagreements by class, each saved with its input.
struct DifferentialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "differential",
        abstract: "Compare our scheduler with crm_simulate on random CIBs (a lab command).",
        discussion: """
            For seeds S..S+N-1, generates a CIB (CIBGenerator seeded with FuzzGenerator(seed:)), runs \
            `LC_ALL=C crm_simulate -x FILE -S -G GRAPH -t \(CIBGenerator.nowISO8601)` and our scheduler at the same time, \
            and compares the Transition Summaries and the transition graphs. --expect FILE fails (exit 1) when a \
            seed listed there disagrees on the summary (a regression), --expect-graphs FILE when one listed there \
            disagrees on the graph; --write-agreeing and --write-agreeing-graphs write the agreeing seeds (the ratchets).
            """)

    @Option(help: "The first seed.") var seed: Int = 1
    @Option(help: "How many seeds.") var count: Int = 100
    @Option(help: "Feature switches the generator may turn on (comma-separated; 'plain', 'all').")
    var features: String = "all"
    @Option(help: "The chance (percent) that an allowed switch is on in a given CIB.") var featurePercent: Int = 50
    @Option(help: "Save each disagreement (input, both summaries, the diff) in this directory.") var save: String?
    @Option(help: "Seeds that must agree (one per line, # comments): a disagreement among them fails.") var expect: String?
    @Option(help: "Write the seeds that agreed to this file.") var writeAgreeing: String?
    @Option(help: "Seeds whose graphs must agree (one per line, # comments): a disagreement among them fails.") var expectGraphs: String?
    @Option(help: "Write the seeds whose graphs agreed to this file.") var writeAgreeingGraphs: String?
    @Option(help: "crm_simulate runs in flight at once.") var jobs: Int = 2
    @Option(help: "The crm_simulate to compare with.") var crmSimulate: String = "/usr/sbin/crm_simulate"
    @Flag(help: "Print only disagreements and the totals.") var quiet = false
    @Flag(help: "Exit 0 with a note when crm_simulate is not installed (make test).") var skipWithoutCrmSimulate = false

    /// Lines of crm_simulate's output kept (a generated CIB's output is a few hundred lines).
    static let outputLimitBytes = 1 << 20
    static let seedCountMax = 100_000

    func validate() throws {
        guard (1...Self.seedCountMax).contains(count) else { throw ValidationError("--count must be 1...\(Self.seedCountMax)") }
        guard (1...8).contains(jobs) else { throw ValidationError("--jobs must be 1...8") }
        guard CIBFeature.parseList(features) != nil else {
            throw ValidationError("unknown feature in \"\(features)\" (known: plain, all, \(CIBFeature.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard (0...100).contains(featurePercent) else { throw ValidationError("--feature-percent must be 0...100") }
    }

    /// What one seed gave.
    struct SeedOutcome: Sendable {
        var seed: Int
        var features: Set<CIBFeature>
        var expected: [String] = []
        var actual: [String] = []
        /// nil: agreement.
        var disagreement: SummaryDisagreement?
        /// How our graph differs from crm_simulate's as a controller executes it (empty: it
        /// agrees), and whether the two are identical under Pacemaker's own diff normalisation.
        var graphDifferences: [String] = []
        var graphIdentical = false
        var crmGraph = ""
        var ourGraph = ""
        /// The input could not be compared: crm_simulate or our reader refused it.
        var problem: String?
        var crmOutput = ""
    }

    func run() throws {
        guard try ReferenceTool.present(crmSimulate, command: "differential", skipWhenMissing: skipWithoutCrmSimulate) else { return }
        let allowed = CIBFeature.parseList(features)!
        let generator = CIBGenerator(enabled: allowed, featurePercent: featurePercent)
        let expected = try Set(expect.map(Self.readSeeds) ?? [])
        let expectedGraphs = try Set(expectGraphs.map(Self.readSeeds) ?? [])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-differential-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        if let save { try FileManager.default.createDirectory(atPath: save, withIntermediateDirectories: true) }

        let started = Date()
        let seeds = Array(seed..<(seed + count))
        let outcomes = Self.runConcurrently(seeds, jobs: jobs) { seed in
            compare(seed: seed, generator: generator, directory: directory)
        }
        let seconds = Date().timeIntervalSince(started)

        var regressions: [Int] = []
        var graphRegressions: [Int] = []
        for outcome in outcomes {
            if !outcome.graphAgrees {
                let regression = expectedGraphs.contains(outcome.seed)
                if regression { graphRegressions.append(outcome.seed) }
                if !quiet || regression {
                    print("GRAPH DIFFER seed \(outcome.seed)\(regression ? " (REGRESSION)" : ""): \(outcome.problem ?? outcome.graphDifferences.first ?? "")")
                    for line in outcome.graphDifferences.dropFirst().prefix(regression ? 20 : 5) { print("    " + line) }
                }
            }
            let failed = outcome.disagreement != nil || outcome.problem != nil
            let regression = failed && expected.contains(outcome.seed)
            if regression { regressions.append(outcome.seed) }
            if failed {
                let what = outcome.problem ?? outcome.disagreement!.rawValue
                print("DIFFER seed \(outcome.seed)\(regression ? " (REGRESSION)" : ""): \(what) [\(outcome.features.sorted().map(\.rawValue).joined(separator: " "))]")
                if regression || !quiet {
                    for line in SummaryComparison.diff(expected: outcome.expected, actual: outcome.actual) { print("    " + line) }
                }
            } else if !quiet {
                print("AGREE seed \(outcome.seed)")
            }
            if let save, failed || !outcome.graphAgrees { try saveDisagreement(outcome, to: save, directory: directory, generator: generator) }
        }
        for line in Self.report(outcomes) { print(line) }
        print(String(format: "(%.1f s, %d crm_simulate at a time)", seconds, jobs))
        if let writeAgreeing {
            let agreeing = outcomes.filter { $0.disagreement == nil && $0.problem == nil }.map { String($0.seed) }
            try (agreeing.joined(separator: "\n") + "\n").write(toFile: writeAgreeing, atomically: true, encoding: .utf8)
        }
        if let writeAgreeingGraphs {
            let agreeing = outcomes.filter(\.graphAgrees).map { String($0.seed) }
            try (agreeing.joined(separator: "\n") + "\n").write(toFile: writeAgreeingGraphs, atomically: true, encoding: .utf8)
        }
        if !regressions.isEmpty {
            print("REGRESSIONS (\(regressions.count)): seeds \(regressions.map(String.init).joined(separator: " "))")
        }
        if !graphRegressions.isEmpty {
            print("GRAPH REGRESSIONS (\(graphRegressions.count)): seeds \(graphRegressions.map(String.init).joined(separator: " "))")
        }
        if !regressions.isEmpty || !graphRegressions.isEmpty { throw ExitCode(1) }
        if expect != nil { print("no regressions against \(expected.count) seeds expected to agree") }
        if expectGraphs != nil { print("no graph regressions against \(expectedGraphs.count) seeds expected to agree") }
    }

    /// The CIB of `seed` (the same bytes for the same seed and switches).
    static func generate(seed: Int, generator: CIBGenerator) -> GeneratedCIB {
        var random = FuzzGenerator(seed: UInt64(truncatingIfNeeded: seed))
        return generator.generate(using: &random)
    }

    func compare(seed: Int, generator: CIBGenerator, directory: String) -> SeedOutcome {
        let generated = Self.generate(seed: seed, generator: generator)
        var outcome = SeedOutcome(seed: seed, features: generated.features)
        let path = "\(directory)/seed-\(seed).xml"
        let graphPath = "\(directory)/seed-\(seed).graph.xml"
        defer {
            unlink(path)
            unlink(graphPath)
        }
        do {
            try generated.xml.write(toFile: path, atomically: true, encoding: .utf8)
            let crm = try ChildRun(crmSimulate, ["-x", path, "-S", "-G", graphPath, "-t", CIBGenerator.nowISO8601], captureOutput: true,
                                   environment: ["LC_ALL": "C"], outputLimit: Self.outputLimitBytes)
            outcome.crmOutput = crm.output
            // The summary is printed before the transition is simulated; a transition that
            // "failed: terminated" in the simulation exits 1 with the summary intact.
            guard crm.exitCode == 0 || crm.exitCode == 1, crm.output.contains("Transition Summary:"),
                  crm.output.contains("Executing Cluster Transition:") else {
                outcome.problem = "crm_simulate exited \(crm.exitCode) without a Transition Summary"
                return outcome
            }
            outcome.expected = SummaryComparison.transitionSummary(ofSimulateOutput: crm.output)
            outcome.crmGraph = (try? String(contentsOfFile: graphPath, encoding: .utf8)) ?? ""
        } catch {
            outcome.problem = "crm_simulate: \(error)"
            return outcome
        }
        do {
            let cib = try CIB(parsing: generated.xml)
            let result = Scheduler.schedule(cib, now: generated.now)
            outcome.actual = SummaryComparison.normalize(lines: result.summary)
            outcome.ourGraph = TransitionGraphWriter.xml(result.graph)
            if outcome.crmGraph.isEmpty {
                outcome.graphDifferences = ["crm_simulate wrote no graph"]
            } else {
                do {
                    let expected = try TransitionGraph(xml: XMLCodec.parse(outcome.crmGraph))
                    outcome.graphDifferences = result.graph.differences(from: expected)
                    // A cycle the CIB's own orders make (A then B, B then A) is in Pacemaker's graph too.
                    if result.graph.inputCycle() != nil && expected.inputCycle() == nil {
                        outcome.graphDifferences.append("our graph has an input cycle, crm_simulate's none: a controller cannot run ours")
                    }
                    outcome.graphIdentical = TransitionGraph.normalizedForDiff(outcome.ourGraph) == TransitionGraph.normalizedForDiff(outcome.crmGraph)
                } catch {
                    outcome.graphDifferences = ["crm_simulate's graph could not be read: \(error)"]
                }
            }
        } catch {
            outcome.problem = "our CIB reader refused it: \(error)"
            return outcome
        }
        outcome.disagreement = SummaryDisagreement.classify(expected: outcome.expected, actual: outcome.actual)
        return outcome
    }

    /// Runs `body` for every seed, `jobs` at a time (each mostly waits for its crm_simulate),
    /// results in seed order.
    static func runConcurrently(_ seeds: [Int], jobs: Int, _ body: @Sendable @escaping (Int) -> SeedOutcome) -> [SeedOutcome] {
        let next = Mutex(0)
        let results = Mutex([SeedOutcome?](repeating: nil, count: seeds.count))
        DispatchQueue.concurrentPerform(iterations: jobs) { _ in
            while true {
                let index = next.withLock { value -> Int in defer { value += 1 }; return value }
                guard index < seeds.count else { return }
                let outcome = body(seeds[index])
                results.withLock { $0[index] = outcome }
            }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// Agreement overall, on plain inputs, per feature used, and the disagreements by class.
    static func report(_ outcomes: [SeedOutcome]) -> [String] {
        func percent(_ part: Int, _ whole: Int) -> String { whole == 0 ? "-" : String(format: "%.1f %%", 100 * Double(part) / Double(whole)) }
        let agreeing = outcomes.filter { $0.disagreement == nil && $0.problem == nil }
        var lines = ["", "identical summaries: \(agreeing.count)/\(outcomes.count) (\(percent(agreeing.count, outcomes.count)))"]
        let plain = outcomes.filter { $0.features.isSubset(of: CIBFeature.plain) }
        let plainAgreeing = plain.filter { $0.disagreement == nil && $0.problem == nil }.count
        lines.append("plain inputs (\(CIBFeature.plain.sorted().map(\.rawValue).joined(separator: ", ")) only): \(plainAgreeing)/\(plain.count) (\(percent(plainAgreeing, plain.count)))")
        lines.append("disagreements by class:")
        for kind in SummaryDisagreement.allCases {
            let seeds = outcomes.filter { $0.disagreement == kind }.count
            lines.append("  \(kind.rawValue): \(seeds) (\(percent(seeds, outcomes.count)))")
        }
        let problems = outcomes.filter { $0.problem != nil }.count
        if problems > 0 { lines.append("  not compared (an input refused): \(problems)") }
        let graphsAgreeing = outcomes.filter(\.graphAgrees).count
        let graphsIdentical = outcomes.filter(\.graphIdentical).count
        lines.append("graphs that agree as a controller executes them: \(graphsAgreeing)/\(outcomes.count) (\(percent(graphsAgreeing, outcomes.count))); "
                     + "identical under Pacemaker's diff normalisation: \(graphsIdentical)/\(outcomes.count) (\(percent(graphsIdentical, outcomes.count)))")
        let plainGraphs = plain.filter(\.graphAgrees).count
        lines.append("plain inputs, graphs agreeing: \(plainGraphs)/\(plain.count) (\(percent(plainGraphs, plain.count)))")
        lines.append("by feature used (CIBs, identical summaries, different actions, agreeing graphs):")
        for feature in CIBFeature.allCases {
            let using = outcomes.filter { $0.features.contains(feature) }
            guard !using.isEmpty else { continue }
            let agree = using.filter { $0.disagreement == nil && $0.problem == nil }.count
            let actions = using.filter { $0.disagreement == .differentActions }.count
            let graphs = using.filter(\.graphAgrees).count
            lines.append("  \(feature.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(using.count).leftPadded(5))  \(percent(agree, using.count).leftPadded(8))  \(percent(actions, using.count).leftPadded(8))  \(percent(graphs, using.count).leftPadded(8))")
        }
        return lines
    }

    func saveDisagreement(_ outcome: SeedOutcome, to save: String, directory: String, generator: CIBGenerator) throws {
        let base = "\(save)/seed-\(outcome.seed)"
        try Self.generate(seed: outcome.seed, generator: generator).xml.write(toFile: base + ".xml", atomically: true, encoding: .utf8)
        try outcome.crmOutput.write(toFile: base + ".crm_simulate.txt", atomically: true, encoding: .utf8)
        if !outcome.graphAgrees {
            try outcome.crmGraph.write(toFile: base + ".crm_simulate.graph.xml", atomically: true, encoding: .utf8)
            try outcome.ourGraph.write(toFile: base + ".ours.graph.xml", atomically: true, encoding: .utf8)
            try (outcome.graphDifferences.joined(separator: "\n") + "\n").write(toFile: base + ".graph-differences", atomically: true, encoding: .utf8)
        }
        var text = "# seed \(outcome.seed): \(outcome.problem ?? outcome.disagreement?.rawValue ?? "")\n"
        text += "# features: \(outcome.features.sorted().map(\.rawValue).joined(separator: " "))\n"
        text += "# crm_simulate -x seed-\(outcome.seed).xml -S -t \(CIBGenerator.nowISO8601)  (-: crm_simulate, +: ours)\n"
        text += SummaryComparison.diff(expected: outcome.expected, actual: outcome.actual).joined(separator: "\n") + "\n"
        try text.write(toFile: base + ".diff", atomically: true, encoding: .utf8)
    }

    static func readSeeds(_ path: String) throws -> [Int] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { line in
                guard let seed = Int(line) else { throw ValidationError("\(path): \"\(line)\" is not a seed") }
                return seed
            }
    }
}

extension DifferentialCommand.SeedOutcome {
    /// Compared, and our graph executes as crm_simulate's would.
    var graphAgrees: Bool { problem == nil && graphDifferences.isEmpty }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// Pacemaker's own tool a differential command compares against (crm_simulate, crm_mon).
enum ReferenceTool {
    /// Whether `path` can run. Missing: with `skipWhenMissing`, false after saying the command
    /// is skipped and why; otherwise a validation error naming the package to install.
    static func present(_ path: String, command: String, skipWhenMissing: Bool) throws -> Bool {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            if skipWhenMissing {
                print("\(command): skipped: \(path) not found (Debian package pacemaker-cli-utils)")
                return false
            }
            throw ValidationError("\(path) not found (install pacemaker-cli-utils)")
        }
        return true
    }
}
