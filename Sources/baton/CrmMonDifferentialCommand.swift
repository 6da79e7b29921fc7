import ArgumentParser
import CIB
import CIBGenerator
import CRMStatusView
import DecoderFuzzing
import Foundation
import Synchronization

/// `baton crm-mon-differential`: our `crm status` text against `CIB_file=F crm_mon -1 [-r]` on the
/// same CIBs (the conformance inputs, generated ones), line for line with the "Last updated"
/// line masked, both with TZ=UTC. A lab command: agreement, the disagreement classes, and a
/// ratchet (`--expect`) that fails when an input listed there disagrees.
struct CrmMonDifferentialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-mon-differential",
        abstract: "Compare baton crm status with crm_mon -1 on CIB files (a lab command).",
        discussion: """
            Inputs: every xml/NAME.xml under --conformance DIR (named NAME), and --count generated CIBs from \
            --seed on (named seed-N). --expect FILE fails (exit 1) when a name listed there disagrees; \
            --write-agreeing FILE writes the agreeing names (the ratchet).
            """)

    @Option(help: "The conformance suite's directory (holding xml/NAME.xml).") var conformance: String?
    @Option(help: "The first generated seed.") var seed: Int = 1
    @Option(help: "How many generated CIBs (0: none).") var count: Int = 0
    @Flag(name: [.customShort("r"), .customLong("inactive")], help: "Compare crm_mon -1 -r (inactive resources too).") var inactive = false
    @Option(help: "Names that must agree (one per line, # comments).") var expect: String?
    @Option(help: "Write the names that agreed to this file.") var writeAgreeing: String?
    @Option(help: "The crm_mon to compare with.") var crmMon: String = "/usr/sbin/crm_mon"
    @Option(help: "crm_mon runs in flight at once.") var jobs: Int = 2
    @Flag(help: "Print only disagreements and the totals.") var quiet = false
    @Flag(help: "Exit 0 with a note when crm_mon is not installed.") var skipWithoutCrmMon = false

    func validate() throws {
        guard (0...DifferentialCommand.seedCountMax).contains(count) else { throw ValidationError("--count must be 0...\(DifferentialCommand.seedCountMax)") }
        guard (1...8).contains(jobs) else { throw ValidationError("--jobs must be 1...8") }
        guard conformance != nil || count > 0 else { throw ValidationError("give --conformance DIR or --count N") }
    }

    struct Outcome: Sendable {
        var name: String
        /// nil: agreement.
        var disagreement: String?
        var differences: [String] = []
    }

    /// One input: its name and how to get its XML text.
    struct Input: Sendable {
        var name: String
        var path: String?
        var generatedSeed: Int?
    }

    func run() throws {
        guard try ReferenceTool.present(crmMon, command: "crm-mon-differential", skipWhenMissing: skipWithoutCrmMon) else { return }
        var inputs: [Input] = []
        if let conformance {
            let directory = conformance + "/xml"
            let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".xml") }.sorted()
            inputs += names.map { Input(name: String($0.dropLast(4)), path: "\(directory)/\($0)") }
        }
        inputs += (seed..<(seed + count)).map { Input(name: "seed-\($0)", generatedSeed: $0) }
        let expected = try Set(expect.map(Self.readNames) ?? [])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-crm-mon-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let started = Date()
        let results = Mutex([Outcome?](repeating: nil, count: inputs.count))
        let next = Mutex(0)
        let allInputs = inputs
        DispatchQueue.concurrentPerform(iterations: jobs) { _ in
            while true {
                let index = next.withLock { value -> Int in defer { value += 1 }; return value }
                guard index < allInputs.count else { return }
                let outcome = compare(allInputs[index], directory: directory)
                results.withLock { $0[index] = outcome }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        var regressions: [String] = []
        var classes: [String: Int] = [:]
        var agreeing: [String] = []
        for outcome in results.withLock({ $0.map { $0! } }) {
            guard let disagreement = outcome.disagreement else {
                agreeing.append(outcome.name)
                if !quiet { print("AGREE \(outcome.name)") }
                continue
            }
            classes[disagreement, default: 0] += 1
            let regression = expected.contains(outcome.name)
            if regression { regressions.append(outcome.name) }
            print("DIFFER \(outcome.name)\(regression ? " (REGRESSION)" : ""): \(disagreement)")
            if regression || !quiet { for line in outcome.differences { print("    " + line) } }
        }
        let percent = inputs.isEmpty ? 0 : Double(agreeing.count) * 100 / Double(inputs.count)
        print(String(format: "crm_mon -1%@: %d of %d identical apart from \"Last updated\" (%.1f%%)", inactive ? " -r" : "",
                     agreeing.count, inputs.count, percent))
        for (name, number) in classes.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            print("  differ: \(number) \(name)")
        }
        print(String(format: "(%.1f s, %d crm_mon at a time)", seconds, jobs))
        if let writeAgreeing { try (agreeing.joined(separator: "\n") + "\n").write(toFile: writeAgreeing, atomically: true, encoding: .utf8) }
        if !regressions.isEmpty {
            print("REGRESSIONS (\(regressions.count)): \(regressions.joined(separator: " "))")
            throw ExitCode(1)
        }
        if expect != nil { print("no regressions against \(expected.count) inputs expected to agree") }
    }

    func compare(_ input: Input, directory: String) -> Outcome {
        var outcome = Outcome(name: input.name)
        var path = input.path ?? ""
        if let seed = input.generatedSeed {
            path = "\(directory)/seed-\(seed).xml"
            let generated = DifferentialCommand.generate(seed: seed, generator: CIBGenerator())
            do { try generated.xml.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                outcome.disagreement = "cannot write \(path): \(error)"
                return outcome
            }
        }
        defer { if input.generatedSeed != nil { unlink(path) } }
        let expectedText: String
        do {
            let run = try ChildRun(crmMon, ["-1"] + (inactive ? ["-r"] : []), captureOutput: true,
                                   environment: ["LC_ALL": "C", "TZ": "UTC", "CIB_file": path], outputLimit: 4 << 20)
            guard run.exitCode == 0 else {
                outcome.disagreement = "crm_mon exited \(run.exitCode)"
                return outcome
            }
            expectedText = run.output
        } catch {
            outcome.disagreement = "crm_mon: \(error)"
            return outcome
        }
        let ours: String
        do {
            let cib = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            ours = CrmMonView(cib: cib, now: Int(Date().timeIntervalSince1970))
                .text(options: .init(inactive: inactive), lastUpdated: "", timeText: CrmMonView.utcTime)
        } catch {
            outcome.disagreement = "our CIB reader refused it"
            outcome.differences = ["\(error)"]
            return outcome
        }
        outcome.disagreement = CrmMonComparison.classify(expected: expectedText, actual: ours)
        outcome.differences = CrmMonComparison.differences(expected: expectedText, actual: ours)
        return outcome
    }

    static func readNames(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}
