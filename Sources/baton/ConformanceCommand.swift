import ArgumentParser
import CIB
import Foundation
import Scheduler

/// `baton conformance DIR`: runs the scheduler on every input of a directory laid out like
/// Pacemaker's regression suite (xml/NAME.xml + summary/NAME.summary) and compares the
/// Transition Summaries. Exits non-zero when a test on the expected-pass list fails.
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Compare the scheduler's Transition Summaries with a Pacemaker regression suite.")

    enum DiffMode: String, ExpressibleByArgument { case all, regressions, none }

    @Argument(help: "Suite directory (xml/ and summary/ inside).")
    var directory: String

    @Option(name: .customLong("subset"), help: "A subset list (one name per line); repeatable. Default: every *.txt list in the directory.")
    var subsets: [String] = []

    @Option(help: "Tests expected to pass: a failure among them is a regression (non-zero exit).")
    var expect: String?

    @Option(help: "Print the diff for: all failures, regressions only, or none.")
    var diffs: DiffMode = .all

    @Flag(help: "Run only the tests of the given subsets (default: the whole suite).")
    var onlySubsets = false

    @Option(help: "Write the names of the passing tests to this file.")
    var writePassing: String?

    @Option(name: .customLong("test"), help: "Run only this test (repeatable).")
    var tests: [String] = []

    @Flag(help: "Also count the tests whose Transition Summary is byte-identical (column widths included).")
    var exact = false

    @Flag(help: "Print only failures and totals.")
    var quiet = false

    @Flag(help: "Also compare transition graphs with exp/NAME.exp (run with tests.tsv's extra arguments), as a controller executes them.")
    var graphs = false

    @Option(help: "Graphs expected to agree: a disagreement among them is a regression (non-zero exit).")
    var expectGraphs: String?

    @Option(help: "Write the names of the tests whose graphs agree to this file.")
    var writePassingGraphs: String?

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory + "/xml", isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(directory) has no xml/ directory")
        }
    }

    func run() throws {
        let root = URL(fileURLWithPath: directory)
        // The suite is what tests.tsv lists (group, name, …) when present, else every xml/ input.
        var names = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("xml").path)
            .filter { $0.hasSuffix(".xml") }.map { String($0.dropLast(4)) }.sorted()
        if let table = try? String(contentsOfFile: root.appendingPathComponent("tests.tsv").path, encoding: .utf8) {
            let listed = Set(table.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                return fields.count > 1 ? String(fields[1]) : nil
            })
            names = names.filter(listed.contains)
        }
        var subsetFiles = subsets
        if subsetFiles.isEmpty {
            subsetFiles = (try? FileManager.default.contentsOfDirectory(atPath: root.path))?
                .filter { $0.hasSuffix(".txt") }.sorted() ?? []
        }
        var subsetMembers: [(name: String, tests: [String])] = []
        for file in subsetFiles {
            let path = FileManager.default.fileExists(atPath: file) ? file : root.appendingPathComponent(file).path
            subsetMembers.append((URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, try readList(path)))
        }
        let expected = Set(try expect.map(readList) ?? [])
        var selected = onlySubsets ? Array(Set(subsetMembers.flatMap(\.tests))).sorted() : names
        if !tests.isEmpty { selected = tests }

        var passed: Set<String> = []
        var identical = 0
        let expectedGraphs = Set(try expectGraphs.map(readList) ?? [])
        var graphsAgreeing: Set<String> = []
        var graphsIdentical: Set<String> = []
        var graphRegressions: [String] = []
        let extraArguments = graphs ? Self.extraArguments(root.appendingPathComponent("tests.tsv").path) : [:]
        var regressions: [String] = []
        let started = Date()
        for name in selected {
            let summaryPath = root.appendingPathComponent("summary/\(name).summary").path
            guard let expectedText = try? String(contentsOfFile: summaryPath, encoding: .utf8) else {
                print("SKIP \(name) (no summary)"); continue
            }
            let expectedLines = SummaryComparison.transitionSummary(ofSimulateOutput: expectedText)
            let actualLines: [String]
            var problem: String?
            do {
                let text = try String(contentsOfFile: root.appendingPathComponent("xml/\(name).xml").path, encoding: .utf8)
                let cib = try CIB(parsing: text)
                // Like crm_simulate: "now" is the CIB's execution-date, else the clock.
                let summary = Scheduler.schedule(cib, now: Int(Date().timeIntervalSince1970)).summary
                actualLines = SummaryComparison.normalize(lines: summary)
                if exact {
                    let raw = expectedText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    if let start = raw.firstIndex(of: "Transition Summary:"),
                       let end = raw[start...].firstIndex(of: "Executing Cluster Transition:") {
                        let expectedRaw = raw[(start + 1)..<end].filter { !$0.isEmpty }
                        if Array(expectedRaw) == summary { identical += 1 }
                    }
                }
            } catch {
                actualLines = []
                problem = "\(error)"
            }
            if graphs {
                let outcome = compareGraph(name, root: root, arguments: extraArguments[name] ?? [])
                if outcome.agrees { graphsAgreeing.insert(name) }
                if outcome.identical { graphsIdentical.insert(name) }
                if !outcome.agrees {
                    let isGraphRegression = expectedGraphs.contains(name)
                    if isGraphRegression { graphRegressions.append(name) }
                    if !quiet || isGraphRegression {
                        print("GRAPH FAIL \(name)\(isGraphRegression ? " (REGRESSION)" : "")")
                        if diffs == .all || (diffs == .regressions && isGraphRegression) {
                            for line in outcome.differences { print("    " + line) }
                        }
                    }
                }
            }
            let isRegression = expected.contains(name)
            if problem == nil && actualLines == expectedLines {
                passed.insert(name)
                if !quiet { print("PASS \(name)") }
            } else {
                if isRegression { regressions.append(name) }
                print("FAIL \(name)\(isRegression ? " (REGRESSION)" : "")\(problem.map { ": \($0)" } ?? "")")
                if diffs == .all || (diffs == .regressions && isRegression) {
                    for line in SummaryComparison.diff(expected: expectedLines, actual: actualLines) { print("    " + line) }
                }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("")
        for subset in subsetMembers {
            let count = subset.tests.filter(passed.contains).count
            print("\(subset.name): \(count)/\(subset.tests.count) pass")
        }
        print("suite: \(passed.count)/\(selected.count) pass (\(String(format: "%.1f", seconds)) s)")
        if graphs {
            for subset in subsetMembers {
                let count = subset.tests.filter(graphsAgreeing.contains).count
                print("graphs \(subset.name): \(count)/\(subset.tests.count) agree")
            }
            print("graphs suite: \(graphsAgreeing.count)/\(selected.count) agree as a controller executes them; "
                  + "\(graphsIdentical.count)/\(selected.count) identical under Pacemaker's own diff normalisation")
            if let writePassingGraphs {
                try (graphsAgreeing.sorted().joined(separator: "\n") + "\n").write(toFile: writePassingGraphs, atomically: true, encoding: .utf8)
            }
        }
        if exact { print("byte-identical Transition Summaries: \(identical)/\(selected.count)") }
        if let writePassing {
            try (passed.sorted().joined(separator: "\n") + "\n").write(toFile: writePassing, atomically: true, encoding: .utf8)
        }
        if !graphRegressions.isEmpty {
            print("GRAPH REGRESSIONS (\(graphRegressions.count)): \(graphRegressions.joined(separator: " "))")
        }
        if !regressions.isEmpty {
            print("REGRESSIONS (\(regressions.count)): \(regressions.joined(separator: " "))")
        }
        if !regressions.isEmpty || !graphRegressions.isEmpty { throw ExitCode(1) }
        if expect != nil { print("no regressions against \(expected.count) expected passes") }
        if expectGraphs != nil { print("no graph regressions against \(expectedGraphs.count) expected agreeing graphs") }
    }

    /// Runs one test as the suite's graph was made (`crm_simulate -x xml/NAME.xml -G … -sSQ
    /// EXTRA-ARGS`) and compares the graph with exp/NAME.exp: as a controller executes it
    /// (`TransitionGraph.differences`) and as Pacemaker's cts-scheduler diffs the text.
    private func compareGraph(_ name: String, root: URL, arguments: [String]) -> (agrees: Bool, identical: Bool, differences: [String]) {
        let outcome = compareGraphOnce(name, root: root, arguments: arguments)
        return (outcome.agrees && !outcome.cyclic, outcome.identical,
                outcome.differences + (outcome.cyclic ? ["our graph has an input cycle: a controller cannot run it"] : []))
    }

    private func compareGraphOnce(_ name: String, root: URL, arguments: [String]) -> (agrees: Bool, identical: Bool, differences: [String], cyclic: Bool) {
        let expPath = root.appendingPathComponent("exp/\(name).exp").path
        guard let expectedText = try? String(contentsOfFile: expPath, encoding: .utf8) else {
            return (false, false, ["no exp/\(name).exp"], false)
        }
        do {
            let expected = try TransitionGraph(xml: XMLCodec.parse(expectedText))
            var cib = try CIB(parsing: try String(contentsOfFile: root.appendingPathComponent("xml/\(name).xml").path, encoding: .utf8))
            var clock = Int(Date().timeIntervalSince1970)
            var index = 0
            while index < arguments.count {
                if arguments[index] == "-t", index + 1 < arguments.count {
                    guard let seconds = Scheduler.parseDate(arguments[index + 1], in: cib) else {
                        return (false, false, ["tests.tsv: cannot read the date \(arguments[index + 1])"], false)
                    }
                    clock = seconds
                    cib.attributes.removeAll { $0.name == "execution-date" }
                    cib.attributes.append(.init(name: "execution-date", value: String(seconds)))
                    index += 2
                } else {
                    return (false, false, ["tests.tsv: extra argument \(arguments[index]) not understood"], false)
                }
            }
            let graph = Scheduler.schedule(cib, now: clock).graph
            let differences = graph.differences(from: expected)
            let identical = TransitionGraph.normalizedForDiff(TransitionGraphWriter.xml(graph))
                == TransitionGraph.normalizedForDiff(expectedText)
            return (differences.isEmpty, identical, differences, graph.inputCycle() != nil)
        } catch {
            return (false, false, ["\(error)"], false)
        }
    }

    /// tests.tsv's fourth column, a Python list literal (['-t', '2005-020T12:30']), by test name.
    static func extraArguments(_ path: String) -> [String: [String]] {
        guard let table = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: [String]] = [:]
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count > 3, !fields[3].isEmpty else { continue }
            // The quoted items, in order.
            let parts = fields[3].split(separator: "'", omittingEmptySubsequences: false)
            result[String(fields[1])] = stride(from: 1, to: parts.count, by: 2).map { String(parts[$0]) }
        }
        return result
    }

    private func readList(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}
