import CIB
import Scheduler
import TransitionEngine

/// The DC's loop (issue 14, point 2), pure: when to run the scheduler, the transition run it
/// starts, which node runs each action, and what a result or a lost node does to the run. The
/// daemon's shell owns the clock, the sockets and the executor; it feeds this and broadcasts
/// what it asks for. Only the DC has one (a node that stops being DC drops it).
///
/// | input                                  | what happens                                                |
/// |----------------------------------------|-------------------------------------------------------------|
/// | `invalidate` (configuration, a node    | the run in flight is aborted (nothing more starts; what is  |
/// | joined or left, a history taken)       | in flight finishes); a new graph is due                     |
/// | `schedule` (the shell, when `due` and  | Scheduler.schedule on the CIB (configuration + status);     |
/// | the status is complete)                | a new TransitionRun; its ready actions sent                 |
/// | `result` of the run's key, in flight   | the action confirmed (failed unless rc = op_target_rc); the |
/// |                                        | next ready actions sent; a failure aborts the run          |
/// | `result` of another transition, or of  | ignored for the run (stale); a failure (a recurring monitor |
/// | no action in flight                    | that found its resource stopped) makes a new graph due     |
/// | `nodesLeft`                            | their actions in flight fail (no result will come); abort  |
/// | `tick` at `nextDeadline`               | actions past their deadline are lost: failed; abort        |
/// | run finished with restartNeeded        | a new graph is due                                          |
///
/// Transition keys are Pacemaker's `ACTION:TRANSITION:TARGET_RC:DC_UUID`, DC_UUID this
/// controller's `identity` (node id and pid: a new DC process never takes an old one's result
/// for its own).
public struct DCController: Sendable {
    public struct Settings: Sendable, Equatable {
        public var identity: String
        public var limits: TransitionRun.Limits
        public init(identity: String, limits: TransitionRun.Limits = .init(batchLimit: 64, nodeActionLimit: 8)) {
            self.identity = identity
            self.limits = limits
        }
    }

    public enum Directive: Sendable, Equatable {
        /// Broadcast this request (the node it names runs it).
        case send(ExecuteRequest)
        /// For the log: a run started, ended, an action lost or not carried out.
        case log(String)
    }

    public let settings: Settings
    public private(set) var run: TransitionRun?
    public private(set) var transitionID = 0
    /// A new graph is wanted once the run in flight (if any) has finished.
    public private(set) var scheduleWanted = true
    /// The view the requests are stamped with (the shell keeps it current).
    public var view: UInt64 = 0
    /// Results that matched no action in flight of the current run.
    public private(set) var staleResults = 0
    /// The node id of each node name (the graph names nodes by uname).
    private var nodeIDs: [String: NodeID] = [:]

    public init(settings: Settings) {
        self.settings = settings
    }

    /// A graph is due: wanted, and no run in flight.
    public var due: Bool { scheduleWanted && !running }

    public var running: Bool { run?.status == .active }

    public var nextDeadline: Duration? { running ? run?.nextDeadline : nil }

    /// A relevant change: the run in flight stops starting actions; a new graph is due.
    public mutating func invalidate(_ reason: String, now: Duration) -> [Directive] {
        scheduleWanted = true
        guard running, var current = run else { return [] }
        let directives = current.abort(now: now)
        run = current
        return [.log("transition \(transitionID) aborted: \(reason)")] + translate(directives, now: now)
    }

    /// Runs the scheduler on `cib` (configuration and status) and starts its graph.
    /// `nodes`: node name → id, for the requests. `wallClockSeconds`: the scheduler's "now".
    public mutating func schedule(_ cib: CIB, nodes: [String: NodeID], now: Duration, wallClockSeconds: Int) -> [Directive] {
        precondition(!running, "DCController: a new graph while transition \(transitionID) runs")
        scheduleWanted = false
        nodeIDs = nodes
        transitionID += 1
        var graph = Scheduler.schedule(cib, now: wallClockSeconds).graph
        graph.attributes.transitionID = transitionID
        do {
            var started = try TransitionRun(graph: graph, limits: settings.limits)
            let directives = started.start(now: now)
            run = started
            let count = graph.synapses.count
            return [.log("transition \(transitionID): \(count) actions")] + translate(directives, now: now)
        } catch {
            run = nil
            return [.log("transition \(transitionID) not run: \(error)")]
        }
    }

    /// A result recorded from the group (any node, any transition).
    public mutating func result(_ result: ExecuteResult, now: Duration) -> [Directive] {
        if let actionID = actionID(of: result.transitionKey), var current = run, current.status == .active,
           current.inFlight.contains(where: { $0.id == actionID && $0.node.flatMap { nodeIDs[$0.name] } == result.node })
        {
            let directives = current.completed(actionID: actionID, succeeded: result.succeeded, now: now)
            run = current
            return translate(directives, now: now)
        }
        staleResults += 1
        guard !result.succeeded, result.opStatus != 1 /* cancelled */ else { return [] }
        return invalidate("\(result.resource)_\(result.operation)_\(result.intervalMilliseconds) on node \(result.node): rc \(result.rc)", now: now)
    }

    /// Nodes left the group: what was in flight on them fails now (no result will come).
    public mutating func nodesLeft(_ names: Set<String>, now: Duration) -> [Directive] {
        var directives: [Directive] = []
        for action in run?.inFlight ?? [] where action.node.map({ names.contains($0.name) }) ?? false {
            guard var current = run, current.status == .active else { break }
            let finished = current.completed(actionID: action.id, succeeded: false, now: now)
            run = current
            directives += translate(finished, now: now)
        }
        return directives + invalidate("node(s) \(names.sorted().joined(separator: ", ")) left", now: now)
    }

    public mutating func tick(now: Duration) -> [Directive] {
        guard var current = run, current.status == .active else { return [] }
        let directives = current.tick(now: now)
        run = current
        return translate(directives, now: now)
    }

    /// The action id of a key of this controller's current transition, nil for any other.
    func actionID(of key: String) -> Int? {
        let parts = key.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, String(parts[3]) == settings.identity, Int(parts[1]) == transitionID else { return nil }
        return Int(parts[0])
    }

    /// The run's directives as requests; controller events this DC does not carry out yet
    /// (fencing, shutdown, fail-count clearing) are confirmed at once with a log line.
    private mutating func translate(_ directives: [TransitionRun.Directive], now: Duration) -> [Directive] {
        var pending = directives
        var output: [Directive] = []
        while !pending.isEmpty {
            let directive = pending.removeFirst()
            switch directive {
            case .execute(let action, _):
                switch request(for: action) {
                case .success(let request):
                    output.append(.send(request))
                case .failure(let reason):
                    output.append(.log("action \(action.operationKey): \(reason.description)"))
                    guard var current = run else { break }
                    pending += current.completed(actionID: action.id, succeeded: action.element == .controllerEvent, now: now)
                    run = current
                }
            case .passed:
                break
            case .lost(let action):
                output.append(.log("action \(action.operationKey) on \(action.node?.name ?? "?") lost (no result by its deadline)"))
            case .finished(let status):
                guard let current = run else { break }
                if current.restartNeeded { scheduleWanted = true }
                let counts = current.counts
                if current.graph.synapses.count > 0 || current.restartNeeded {
                    output.append(.log("transition \(transitionID) \(status): complete \(counts.complete), skipped \(counts.skipped), incomplete \(counts.incomplete)"))
                }
            }
        }
        return output
    }

    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    private func request(for action: TransitionGraph.Action) -> Result<ExecuteRequest, Refusal> {
        guard action.element == .resourceOperation else {
            return .failure(Refusal(description: "controller event \(action.operation) not carried out by baton-crmd yet (confirmed)"))
        }
        guard let primitive = action.primitive, let node = action.node,
              let id = nodeIDs[node.name] ?? UInt32(node.uuid).map({ NodeID($0) }) else {
            return .failure(Refusal(description: "no resource or node"))
        }
        var parameters: [String: String] = [:]
        var meta: [String: String] = [:]
        for (name, value) in action.attributes {
            if name.hasPrefix("CRM_meta_") { meta[String(name.dropFirst(9))] = value } else { parameters[name] = value }
        }
        let target = Int(meta["op_target_rc"] ?? "") ?? 0
        let operation = ResourceOperation(
            resource: primitive.id, resourceClass: primitive.resourceClass ?? "ocf", provider: primitive.provider ?? "",
            type: primitive.type ?? "", operation: action.operation.description, intervalMilliseconds: UInt64(meta["interval"] ?? "") ?? 0,
            timeoutMilliseconds: UInt64(meta["timeout"] ?? "") ?? 20_000, parameters: parameters)
        let request = ExecuteRequest(view: view, node: id, transitionKey: "\(action.id):\(transitionID):\(target):\(settings.identity)",
                                     action: operation, meta: meta)
        if let problem = request.problem { return .failure(Refusal(description: problem)) }
        return .success(request)
    }
}
