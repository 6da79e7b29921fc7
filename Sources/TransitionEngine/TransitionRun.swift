import CIB
import Scheduler

/// One transition graph carried out on the DC, as Pacemaker 2.1.5's controller does it
/// (pcmk_graph_consumer.c, controld_te_actions.c, controld_te_callbacks.c). Pure: the shell
/// starts the actions this asks for, reports their results, and calls `tick` at
/// `nextDeadline`.
///
/// The rules, as Pacemaker's:
/// - A synapse fires once every input is confirmed, and no input failed (an input whose
///   action may fail — on-fail=ignore — counts as confirmed either way).
/// - A pseudo-event fires and is confirmed at once (it is a milestone, no work): what waits
///   for it may fire in the same pass.
/// - Other actions (resource operations, fencing, shutdown, fail-count clearing) are sent out
///   and wait for their result. In flight at once: at most `batchLimit` cluster-wide (the
///   graph's batch-limit, or the limit the DC chose when it is 0) and `nodeActionLimit` per
///   node (node-action-limit); a synapse that would pass a limit waits for a slot.
/// - Each action has a deadline: its timeout (CRM_meta_timeout, plus CRM_meta_start_delay) +
///   cluster-delay; fencing: stonith-timeout + cluster-delay. Past it, the action is lost:
///   failed, and the transition aborted.
/// - A failed action (its result not the one expected), unless it may fail, aborts the
///   transition with priority INFINITY; an admin's or the cluster's change aborts it with the
///   priority given. After an abort no synapse whose priority is below the abort's starts
///   (it is skipped); the actions in flight are waited for; then the run ends and the DC asks
///   the scheduler for a new graph. What fails never unblocks what waits for it, except a
///   synapse of priority INFINITY (Pacemaker's rule for recovery that must happen anyway).
/// - The run ends when nothing is in flight and nothing more can fire: `complete` (every
///   synapse ran), `stopped` (synapses skipped after an abort), or `terminated` (synapses can
///   never fire, with no abort: their inputs failed or the graph is stuck).
public struct TransitionRun: Sendable {
    public static let infinity = 1_000_000

    public struct Limits: Sendable, Equatable {
        /// Actions in flight at once, cluster-wide, when the graph's batch-limit is 0.
        public var batchLimit: Int
        /// Actions in flight at once on one node (node-action-limit; Pacemaker: 2 × cores).
        public var nodeActionLimit: Int

        public init(batchLimit: Int, nodeActionLimit: Int) {
            precondition(batchLimit >= 1 && nodeActionLimit >= 1, "TransitionRun.Limits: limits must be positive (\(batchLimit), \(nodeActionLimit))")
            self.batchLimit = batchLimit
            self.nodeActionLimit = nodeActionLimit
        }
    }

    public enum Status: Sendable, Equatable, CustomStringConvertible {
        case active, complete, stopped, terminated
        public var description: String {
            switch self {
            case .active: "In progress"
            case .complete: "Complete"
            case .stopped: "Stopped"
            case .terminated: "Terminated"
            }
        }
    }

    public enum Directive: Sendable, Equatable {
        /// Carry out this action (the node's executor for a resource operation, the controller
        /// for a crm_event) and report its result with `completed` before `deadline`.
        case execute(TransitionGraph.Action, deadline: Duration)
        /// A pseudo-event passed (fencing implied for a guest, clone milestones): for the record.
        case passed(TransitionGraph.Action)
        /// This action's deadline passed: it counts as failed; a late result is ignored.
        case lost(TransitionGraph.Action)
        /// The run has ended.
        case finished(Status)
    }

    /// A graph the run cannot carry out (a graph read from a file, or a scheduler bug).
    public struct GraphError: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Counts as Pacemaker logs them at the end ("Transition N (Complete=…, Pending=…, …)").
    public struct Counts: Sendable, Equatable {
        public var complete = 0
        public var pending = 0
        public var skipped = 0
        public var incomplete = 0
        public init(complete: Int = 0, pending: Int = 0, skipped: Int = 0, incomplete: Int = 0) {
            self.complete = complete
            self.pending = pending
            self.skipped = skipped
            self.incomplete = incomplete
        }
    }

    private enum ActionState: Sendable, Equatable {
        case waiting
        case inFlight(deadline: Duration)
        case confirmed(failed: Bool)
    }

    public let graph: TransitionGraph
    public let limits: Limits
    public private(set) var status: Status = .active
    public private(set) var abortPriority = 0
    /// Whether the DC must ask the scheduler for a new graph when this run ends (it was
    /// aborted, or an action failed): Pacemaker's tg_restart.
    public var restartNeeded: Bool { abortPriority > 0 }
    /// Results that came for actions not in flight (after their deadline, or unknown): ignored.
    public private(set) var ignoredResults = 0

    private var states: [ActionState]
    /// Synapse index by action id.
    private let indexByAction: [Int: Int]
    /// The synapses waiting for each one (reverse input edges), and how many inputs each
    /// still waits for: a confirmation touches only its dependents.
    private let dependents: [[Int]]
    private var unconfirmedInputs: [Int]
    /// Inputs confirmed failed that may not fail.
    private var failedInputs: [Int]
    private let canFail: [Bool]
    private let clusterDelay: Duration
    private let stonithTimeout: Duration
    private let batchLimit: Int
    /// Ready synapses by the node their action runs on ("" for the controller's own), each
    /// in graph order: a node at its limit holds back only its own.
    private var ready: [String: MinHeap] = [:]
    private var inFlightPerNode: [String: Int] = [:]
    /// The synapses whose action is in flight: what `tick`, `nextDeadline` and `inFlight` look
    /// at (at most the batch limit), so a shell calling them after every event stays linear.
    private var inFlightPositions: Set<Int> = []
    private var inFlightCount: Int { inFlightPositions.count }

    /// - Throws: GraphError when an action id is repeated or an input names no action of the graph.
    public init(graph: TransitionGraph, limits: Limits) throws(GraphError) {
        var index: [Int: Int] = [:]
        for (position, synapse) in graph.synapses.enumerated() {
            guard index.updateValue(position, forKey: synapse.action.id) == nil else {
                throw GraphError(description: "synapse \(synapse.id): action id \(synapse.action.id) is used twice")
            }
        }
        var dependents = Array(repeating: [Int](), count: graph.synapses.count)
        var unconfirmed = Array(repeating: 0, count: graph.synapses.count)
        for (position, synapse) in graph.synapses.enumerated() {
            for input in synapse.inputs {
                guard let inputPosition = index[input.id] else {
                    throw GraphError(description: "synapse \(synapse.id): input \(input.id) (\(input.identity)) is no action of the graph")
                }
                dependents[inputPosition].append(position)
                unconfirmed[position] += 1
            }
        }
        self.graph = graph
        self.limits = limits
        indexByAction = index
        self.dependents = dependents
        unconfirmedInputs = unconfirmed
        failedInputs = Array(repeating: 0, count: graph.synapses.count)
        canFail = graph.synapses.map { $0.action.attributes["CRM_meta_on_fail"]?.lowercased() == "ignore" }
        states = Array(repeating: .waiting, count: graph.synapses.count)
        clusterDelay = .milliseconds(Duration.milliseconds(parsing: graph.attributes.clusterDelay) ?? 60_000)
        stonithTimeout = .milliseconds(Duration.milliseconds(parsing: graph.attributes.stonithTimeout) ?? 60_000)
        let graphLimit = Int(graph.attributes.batchLimit) ?? 0
        batchLimit = graphLimit > 0 ? graphLimit : limits.batchLimit
        for position in unconfirmed.indices where unconfirmed[position] == 0 { makeReady(position) }
    }

    /// Starts the run: fires what is ready.
    public mutating func start(now: Duration) -> [Directive] {
        fire(now: now)
    }

    /// The result of an action this run sent out. `succeeded`: the result expected (for a
    /// resource operation, rc = op_target_rc). Anything else for it afterwards is ignored.
    public mutating func completed(actionID: Int, succeeded: Bool, now: Duration) -> [Directive] {
        guard status == .active, let position = indexByAction[actionID], case .inFlight = states[position] else {
            ignoredResults += 1
            return []
        }
        finishInFlight(position, failed: !succeeded)
        return fire(now: now)
    }

    /// Stops starting synapses below `priority` (INFINITY: every one); the actions in flight
    /// run to their end. A lower priority than an earlier abort changes nothing.
    public mutating func abort(priority: Int = TransitionRun.infinity, now: Duration) -> [Directive] {
        guard status == .active else { return [] }
        abortPriority = max(abortPriority, priority)
        return fire(now: now)
    }

    /// Actions whose deadline passed are lost (failed, and the run aborted).
    public mutating func tick(now: Duration) -> [Directive] {
        guard status == .active else { return [] }
        var directives: [Directive] = []
        for position in inFlightPositions.sorted() {
            if case .inFlight(let deadline) = states[position], deadline <= now {
                finishInFlight(position, failed: true)
                directives.append(.lost(graph.synapses[position].action))
            }
        }
        guard !directives.isEmpty else { return [] }
        return directives + fire(now: now)
    }

    /// When `tick` must be called next (the earliest deadline in flight), nil when none.
    public var nextDeadline: Duration? {
        inFlightPositions.compactMap { if case .inFlight(let deadline) = states[$0] { deadline } else { nil } }.min()
    }

    /// The actions in flight.
    public var inFlight: [TransitionGraph.Action] {
        inFlightPositions.sorted().map { graph.synapses[$0].action }
    }

    public var counts: Counts {
        var counts = Counts()
        for (position, state) in states.enumerated() {
            switch state {
            case .confirmed: counts.complete += 1
            case .inFlight: counts.pending += 1
            case .waiting: if isSkipped(position) { counts.skipped += 1 } else { counts.incomplete += 1 }
            }
        }
        return counts
    }

    /// Whether this action has been confirmed (and how).
    public func result(ofAction id: Int) -> Bool? {
        guard let position = indexByAction[id], case .confirmed(let failed) = states[position] else { return nil }
        return !failed
    }

    // MARK: - The engine

    private static func queue(of action: TransitionGraph.Action) -> String {
        action.element == .pseudoEvent ? "" : action.node?.name ?? ""
    }

    private mutating func makeReady(_ position: Int) {
        ready[Self.queue(of: graph.synapses[position].action), default: MinHeap()].push(position)
    }

    private mutating func finishInFlight(_ position: Int, failed: Bool) {
        inFlightPositions.remove(position)
        if let node = graph.synapses[position].action.node?.name {
            inFlightPerNode[node, default: 1] -= 1
        }
        confirm(position, failed: failed)
    }

    /// Marks `position` confirmed and readies what waited only for it. What fails does not
    /// unblock its dependents, except those of priority INFINITY.
    private mutating func confirm(_ position: Int, failed: Bool) {
        states[position] = .confirmed(failed: failed)
        let blocking = failed && !canFail[position]
        if blocking { abortPriority = TransitionRun.infinity }
        for dependent in dependents[position] {
            unconfirmedInputs[dependent] -= 1
            if blocking { failedInputs[dependent] += 1 }
            if unconfirmedInputs[dependent] == 0,
               failedInputs[dependent] == 0 || graph.synapses[dependent].priority >= TransitionRun.infinity
            {
                makeReady(dependent)
            }
        }
    }

    /// Fires what is ready, in graph order per node, within the limits: pseudo-events pass at
    /// once (and may ready more); other actions go out while the batch and their node have a
    /// free slot. Ends the run when nothing is in flight.
    private mutating func fire(now: Duration) -> [Directive] {
        var directives: [Directive] = []
        while let position = ready[""]?.pop() {
            let action = graph.synapses[position].action
            guard !isSkipped(position) else { continue }
            if action.element == .pseudoEvent {
                confirm(position, failed: false)
                directives.append(.passed(action))
            } else {
                guard inFlightCount < batchLimit else {
                    ready[""]!.push(position)
                    break
                }
                send(position, now: now, into: &directives)
            }
        }
        var nodes = ready.keys.filter { !$0.isEmpty && ready[$0]?.isEmpty == false }
        nodes.sort { ready[$0]!.minimum! < ready[$1]!.minimum! }
        for node in nodes where inFlightCount < batchLimit {
            while inFlightCount < batchLimit, inFlightPerNode[node, default: 0] < limits.nodeActionLimit,
                  let position = ready[node]?.pop()
            {
                guard !isSkipped(position) else { continue }
                send(position, now: now, into: &directives)
            }
        }
        if inFlightCount == 0 {
            let counts = counts
            status = counts.skipped > 0 ? .stopped
                : counts.incomplete > 0 ? (abortPriority > 0 ? .stopped : .terminated)
                : .complete
            directives.append(.finished(status))
        }
        return directives
    }

    private mutating func send(_ position: Int, now: Duration, into directives: inout [Directive]) {
        let action = graph.synapses[position].action
        let deadline = now + timeout(of: action) + clusterDelay
        states[position] = .inFlight(deadline: deadline)
        inFlightPositions.insert(position)
        if let node = action.node?.name { inFlightPerNode[node, default: 0] += 1 }
        directives.append(.execute(action, deadline: deadline))
    }

    /// After an abort, a synapse below the abort's priority does not start (pseudo-events
    /// still pass: they do no work).
    private func isSkipped(_ position: Int) -> Bool {
        let synapse = graph.synapses[position]
        return synapse.action.element != .pseudoEvent && synapse.priority < abortPriority
    }

    private func timeout(of action: TransitionGraph.Action) -> Duration {
        if action.operation == .stonith { return stonithTimeout }
        let timeout = action.attributes["CRM_meta_timeout"].flatMap { Int($0) } ?? 0
        let startDelay = action.attributes["CRM_meta_start_delay"].flatMap { Int($0) } ?? 0
        return .milliseconds(max(0, timeout) + max(0, startDelay))
    }
}

/// A binary min-heap of synapse positions (graph order).
struct MinHeap: Sendable {
    private var items: [Int] = []
    var isEmpty: Bool { items.isEmpty }
    var minimum: Int? { items.first }

    mutating func push(_ item: Int) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                guard smallest != parent else { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
