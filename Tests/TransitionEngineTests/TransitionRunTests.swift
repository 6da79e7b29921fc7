import CIB
import Foundation
import Scheduler
import SeededRandom
import TestSupport
import Testing
import TransitionEngine

/// A hand-made graph: the shapes of a real one, small enough to reason about.
enum Graphs {
    static let n1 = TransitionGraph.Node(name: "n1", uuid: "1")
    static let n2 = TransitionGraph.Node(name: "n2", uuid: "2")

    static func action(_ id: Int, _ operation: String, _ key: String, on node: TransitionGraph.Node?, pseudo: Bool = false,
                       event: Bool = false, attributes: [String: String] = [:]) -> TransitionGraph.Action {
        TransitionGraph.Action(
            id: id, element: pseudo ? .pseudoEvent : event ? .controllerEvent : .resourceOperation,
            operation: TransitionGraph.Operation(operation), operationKey: key, node: pseudo ? nil : node,
            attributes: attributes)
    }

    static func graph(_ synapses: [(TransitionGraph.Action, [TransitionGraph.Action], Int)], batchLimit: String = "0",
                      clusterDelay: String = "60s") -> TransitionGraph {
        var attributes = TransitionGraph.Attributes()
        attributes.batchLimit = batchLimit
        attributes.clusterDelay = clusterDelay
        return TransitionGraph(attributes: attributes, synapses: synapses.enumerated().map { index, entry in
            TransitionGraph.Synapse(id: index, priority: entry.2, action: entry.0, inputs: entry.1.map(\.reference))
        })
    }

    /// stop a on n1 → (pseudo) a stopped → start a on n2 → monitor a on n2; b's start on n1 alone.
    static let move: TransitionGraph = {
        let stop = action(1, "stop", "a_stop_0", on: n1, attributes: ["CRM_meta_timeout": "20000"])
        let stopped = action(2, "stopped", "a-group_stopped_0", on: nil, pseudo: true)
        let start = action(3, "start", "a_start_0", on: n2, attributes: ["CRM_meta_timeout": "20000", "CRM_meta_start_delay": "5000"])
        let monitor = action(4, "monitor", "a_monitor_10000", on: n2, attributes: ["CRM_meta_timeout": "20000"])
        let startB = action(5, "start", "b_start_0", on: n1, attributes: ["CRM_meta_timeout": "30000"])
        return graph([(stop, [], 0), (stopped, [stop], 0), (start, [stopped], 0), (monitor, [start], 0), (startB, [], 0)],
                     clusterDelay: "2s")
    }()
}

extension TransitionRun.Directive {
    var executed: TransitionGraph.Action? { if case .execute(let action, _) = self { action } else { nil } }
    var deadline: Duration? { if case .execute(_, let deadline) = self { deadline } else { nil } }
    var finished: TransitionRun.Status? { if case .finished(let status) = self { status } else { nil } }
}

@Suite struct TransitionRunTests {
    let roomy = TransitionRun.Limits(batchLimit: 100, nodeActionLimit: 100)

    @Test func actionsFireWhenTheirInputsAreConfirmedAndPseudoEventsPassAtOnce() throws {
        var run = try TransitionRun(graph: Graphs.move, limits: roomy)
        let first = run.start(now: .zero)
        #expect(first.compactMap(\.executed).map(\.id) == [1, 5], "the stop and b's start have no inputs")
        // Deadline: timeout + cluster-delay (+ start-delay).
        #expect(first.compactMap(\.deadline) == [.seconds(22), .seconds(32)])
        let afterStop = run.completed(actionID: 1, succeeded: true, now: .seconds(1))
        #expect(afterStop.contains(.passed(Graphs.move.synapses[1].action)))
        #expect(afterStop.compactMap(\.executed).map(\.id) == [3])
        #expect(afterStop.compactMap(\.deadline) == [.seconds(1 + 20 + 5 + 2)])
        #expect(run.completed(actionID: 3, succeeded: true, now: .seconds(2)).compactMap(\.executed).map(\.id) == [4])
        #expect(run.completed(actionID: 4, succeeded: true, now: .seconds(3)).isEmpty)
        #expect(run.status == .active)
        #expect(run.completed(actionID: 5, succeeded: true, now: .seconds(4)) == [.finished(.complete)])
        #expect(run.counts == TransitionRun.Counts(complete: 5))
        #expect(run.completed(actionID: 5, succeeded: true, now: .seconds(5)).isEmpty)
        #expect(run.ignoredResults == 1, "a result after the end is ignored and counted")
    }

    @Test func aFailedActionAbortsAndWhatWaitedForItNeverStarts() throws {
        var run = try TransitionRun(graph: Graphs.move, limits: roomy)
        _ = run.start(now: .zero)
        #expect(run.completed(actionID: 1, succeeded: false, now: .seconds(1)).isEmpty, "b's start is still in flight")
        #expect(run.abortPriority == TransitionRun.infinity)
        #expect(run.completed(actionID: 5, succeeded: true, now: .seconds(2)) == [.finished(.stopped)])
        #expect(run.result(ofAction: 1) == false)
        #expect(run.result(ofAction: 3) == nil)
    }

    @Test func anAbortLetsTheActionsInFlightEndAndStartsNothingElse() throws {
        var run = try TransitionRun(graph: Graphs.move, limits: roomy)
        _ = run.start(now: .zero)
        #expect(run.abort(now: .seconds(1)).isEmpty)
        #expect(run.completed(actionID: 1, succeeded: true, now: .seconds(2)) == [.passed(Graphs.move.synapses[1].action)],
                "a pseudo-event still passes; the start behind it does not go out")
        #expect(run.completed(actionID: 5, succeeded: true, now: .seconds(3)) == [.finished(.stopped)])
        #expect(run.counts.skipped == 2)
    }

    @Test func anActionPastItsDeadlineIsLostAndAbortsTheRun() throws {
        var run = try TransitionRun(graph: Graphs.move, limits: roomy)
        _ = run.start(now: .zero)
        #expect(run.nextDeadline == .seconds(22))
        #expect(run.tick(now: .seconds(21)).isEmpty)
        let lost = run.tick(now: .seconds(22))
        #expect(lost == [.lost(Graphs.move.synapses[0].action)])
        #expect(run.completed(actionID: 1, succeeded: true, now: .seconds(23)).isEmpty, "its late result is ignored")
        #expect(run.ignoredResults == 1)
        #expect(run.tick(now: .seconds(32)) == [.lost(Graphs.move.synapses[4].action), .finished(.stopped)])
    }

    @Test func anActionThatMayFailDoesNotAbortAndUnblocksWhatWaits() throws {
        var graph = Graphs.move
        graph.synapses[0].action.attributes["CRM_meta_on_fail"] = "ignore"
        var run = try TransitionRun(graph: graph, limits: roomy)
        _ = run.start(now: .zero)
        #expect(run.completed(actionID: 1, succeeded: false, now: .seconds(1)).compactMap(\.executed).map(\.id) == [3])
        #expect(run.abortPriority == 0)
    }

    @Test func theBatchLimitAndTheNodeLimitHoldActionsBack() throws {
        let starts = (1...6).map { Graphs.action($0, "start", "r\($0)_start_0", on: $0 <= 4 ? Graphs.n1 : Graphs.n2) }
        let graph = Graphs.graph(starts.map { ($0, [], 0) })
        var run = try TransitionRun(graph: graph, limits: .init(batchLimit: 3, nodeActionLimit: 2))
        #expect(run.start(now: .zero).compactMap(\.executed).map(\.id) == [1, 2, 5], "two on n1, then n2's first: three in all")
        #expect(run.completed(actionID: 1, succeeded: true, now: .zero).compactMap(\.executed).map(\.id) == [3])
        #expect(run.completed(actionID: 5, succeeded: true, now: .zero).compactMap(\.executed).map(\.id) == [6])
        var graphLimited = graph
        graphLimited.attributes.batchLimit = "1"
        var one = try TransitionRun(graph: graphLimited, limits: .init(batchLimit: 3, nodeActionLimit: 2))
        #expect(one.start(now: .zero).compactMap(\.executed).map(\.id) == [1], "the graph's own batch-limit wins when set")
    }

    @Test func aBrokenGraphIsRefusedWithWhereItIsBroken() {
        let start = Graphs.action(1, "start", "a_start_0", on: Graphs.n1)
        let ghost = Graphs.action(9, "stop", "a_stop_0", on: Graphs.n1)
        do {
            _ = try TransitionRun(graph: Graphs.graph([(start, [ghost], 0)]), limits: roomy)
            Issue.record("a graph whose input names no action was accepted")
        } catch {
            #expect(error.description == "synapse 0: input 9 (rsc_op a_stop_0 on n1) is no action of the graph")
        }
        #expect(throws: TransitionRun.GraphError.self) {
            try TransitionRun(graph: Graphs.graph([(start, [], 0), (start, [], 0)]), limits: roomy)
        }
    }
}

/// Every graph the scheduler builds for Pacemaker's own suite, run with a seeded random
/// executor that answers in any order: each action once, only after all its inputs, within
/// the limits, and the run ends complete; with one random failure, nothing below INFINITY
/// starts after it and the run ends stopped.
@Suite struct TransitionRunOnTheSuiteTests {
    static var suite: URL { BuildPaths.conformanceSuite.appendingPathComponent("xml") }
    static var isPresent: Bool { FileManager.default.fileExists(atPath: suite.path) }

    @Test(.enabled(if: isPresent, "conformance data not found next to the repository"))
    func everyGraphOfTheSuiteRunsInOrderWithinItsLimits() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.suite.path).filter { $0.hasSuffix(".xml") }.sorted()
        #expect(names.count > 700)
        var random = SplitMix64(seed: 2026)
        var ran = 0, actions = 0, failedRuns = 0, cyclic = 0
        var problems: [String] = []
        for name in names {
            guard let text = try? String(contentsOf: Self.suite.appendingPathComponent(name), encoding: .utf8),
                  let cib = try? CIB(parsing: text) else { continue }
            let graph = Scheduler.schedule(cib, now: 1_700_000_000).graph
            if graph.inputCycle() != nil {
                cyclic += 1
                continue
            }
            let failing: Int? = Bool.random(using: &random) ? graph.synapses.filter { $0.action.element != .pseudoEvent }.randomElement(using: &random)?.action.id : nil
            let outcome = Self.exercise(graph, failing: failing, random: &random)
            ran += 1
            actions += outcome.executed
            if failing != nil { failedRuns += 1 }
            problems += outcome.problems.map { "\(name): \($0)" }
        }
        print("transition runs: \(ran) graphs of the suite, \(actions) actions executed, \(failedRuns) with one failure injected, \(cyclic) graphs with a cycle left out")
        #expect(ran > 700)
        #expect(problems.isEmpty, "\(problems.prefix(20).joined(separator: "\n"))")
    }

    static func exercise(_ graph: TransitionGraph, failing: Int?, random: inout SplitMix64) -> (executed: Int, problems: [String]) {
        let limits = TransitionRun.Limits(batchLimit: 3, nodeActionLimit: 2)
        guard var run = try? TransitionRun(graph: graph, limits: limits) else { return (0, ["the graph was refused"]) }
        // The graph's own batch-limit (the CIB's) wins over the DC's when set.
        let batchLimit = (Int(graph.attributes.batchLimit) ?? 0) > 0 ? Int(graph.attributes.batchLimit)! : limits.batchLimit
        let inputs = Dictionary(graph.synapses.map { ($0.action.id, $0.inputs.map(\.id)) }, uniquingKeysWith: { first, _ in first })
        let priority = Dictionary(graph.synapses.map { ($0.action.id, $0.priority) }, uniquingKeysWith: { first, _ in first })
        var confirmed: Set<Int> = []
        var executed: Set<Int> = []
        var inFlight: [TransitionGraph.Action] = []
        var problems: [String] = []
        var finished: TransitionRun.Status?
        var failedAt: Int?
        var now = Duration.zero

        func take(_ directives: [TransitionRun.Directive]) {
            for directive in directives {
                switch directive {
                case .execute(let action, _):
                    if !executed.insert(action.id).inserted { problems.append("action \(action.id) executed twice") }
                    if let missing = inputs[action.id]?.first(where: { !confirmed.contains($0) }) {
                        problems.append("action \(action.id) (\(action.identity)) started before its input \(missing)")
                    }
                    if failedAt != nil, priority[action.id, default: 0] < TransitionRun.infinity {
                        problems.append("action \(action.id) started after the failure of \(failedAt!)")
                    }
                    inFlight.append(action)
                case .passed(let action):
                    if let missing = inputs[action.id]?.first(where: { !confirmed.contains($0) }) {
                        problems.append("pseudo-event \(action.id) passed before its input \(missing)")
                    }
                    confirmed.insert(action.id)
                case .lost(let action): problems.append("action \(action.id) lost with no time passing")
                case .finished(let status):
                    if finished != nil { problems.append("finished twice") }
                    finished = status
                }
            }
            let perNode = Dictionary(grouping: inFlight.compactMap(\.node?.name), by: { $0 }).mapValues(\.count)
            if inFlight.count > batchLimit { problems.append("\(inFlight.count) actions in flight, over the batch limit \(batchLimit)") }
            if let node = perNode.first(where: { $0.value > limits.nodeActionLimit }) { problems.append("\(node.value) in flight on \(node.key)") }
        }

        take(run.start(now: now))
        var steps = 0
        while finished == nil, !inFlight.isEmpty, steps < 1_000_000 {
            steps += 1
            now += .milliseconds(1)
            let action = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &random))
            let succeeded = action.id != failing
            if !succeeded { failedAt = action.id }
            confirmed.insert(action.id)
            take(run.completed(actionID: action.id, succeeded: succeeded, now: now))
        }
        if finished == nil { problems.append("the run never finished (\(inFlight.count) in flight)") }
        if failing == nil || !executed.contains(failing!) {
            if finished != .complete { problems.append("ended \(finished.map(String.init(describing:)) ?? "never"), not complete") }
            let unexecuted = graph.synapses.filter { $0.action.element != .pseudoEvent && !executed.contains($0.action.id) }
            if let first = unexecuted.first { problems.append("\(unexecuted.count) actions never executed, first \(first.action.identity)") }
        } else if finished == .complete && graph.synapses.contains(where: { !confirmed.contains($0.action.id) }) {
            problems.append("complete although actions were left after a failure")
        }
        return (executed.count, problems)
    }
}
