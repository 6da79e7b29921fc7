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
/// | `recheck` at `recheckAt` (Recheck.swift)| a new graph is due (failure-timeout expiry, the interval)   |
/// | `leaseRanOut` (a ticket's deadline)    | abort; a new graph is due. Every graph takes a granted      |
/// |                                        | ticket past its deadline as revoked (Tickets.swift)         |
/// | run finished with restartNeeded        | a new graph is due                                          |
/// | a fence action of the run (stonith)    | `fence` to a node that can run a device for the target (not |
/// |                                        | the target); its `fenced` result confirms or fails it; after |
/// |                                        | `fenceAttemptsMax` failures for a target it is given up (no  |
/// |                                        | new graph for it) until a fence or confirm-down succeeds    |
/// | `fenced` of no action of the run       | success: a new graph is due (the node is down now)          |
/// | do_shutdown                            | an execute request the node takes as leave now; confirmed   |
/// |                                        | at once. The DC's own: sent once the run has finished (no   |
/// |                                        | action in flight), and no new graph after it               |
/// | clear_failcount                        | `clearFailures` (the shell deletes the attributes); confirmed|
///
/// Transition keys are Pacemaker's `ACTION:TRANSITION:TARGET_RC:DC_UUID`, DC_UUID this
/// controller's `identity` (node id and pid: a new DC process never takes an old one's result
/// for its own).
public struct DCController: Sendable {
    public struct Settings: Sendable, Equatable {
        /// The DC's node and its baton-crmd's pid.
        public var node: NodeID
        public var process: Int
        /// "NODEID-PID": the DC_UUID of the transition keys.
        public var identity: String { "\(node.rawValue)-\(process)" }
        public var limits: TransitionRun.Limits
        /// Pacemaker's stonith-max-attempts: failed fences of one target before giving up.
        public var fenceAttemptsMax: Int
        public init(node: NodeID, process: Int, limits: TransitionRun.Limits = .init(batchLimit: 64, nodeActionLimit: 8), fenceAttemptsMax: Int = 10) {
            precondition(fenceAttemptsMax >= 1, "DCController.Settings: fenceAttemptsMax must be positive")
            self.node = node
            self.process = process
            self.limits = limits
            self.fenceAttemptsMax = fenceAttemptsMax
        }
    }

    public enum Directive: Sendable, Equatable {
        /// Broadcast this request (the node it names runs it).
        case send(ExecuteRequest)
        /// For the log: a run started, ended, an action lost or not carried out.
        case log(String)
        /// Broadcast this fence request (the executor it names runs it).
        case fence(FenceRequest)
        /// Delete `resource`'s fail counts and last failures on `node` (clear_failcount).
        case clearFailures(node: NodeID, resource: String)
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
    /// The node each fence action of the run in flight was sent to (action id → executor).
    private var fenceExecutorOf: [Int: NodeID] = [:]
    /// The nodes that may run a fence, in the order to ask them (the DC first, then the
    /// other joined members); the shell keeps it current.
    public var fenceExecutors: [NodeID] = []
    /// The CIB's devices (as of the last graph) and stonith-timeout.
    public private(set) var fencePlan = FencePlan()
    private var stonithTimeoutMilliseconds: UInt64 = 60_000
    /// Failed fences per target since its last success.
    public private(set) var fenceFailures: [String: Int] = [:]
    /// The current run failed a fence that was given up: its end asks for no new graph.
    private var fenceGivenUp = false

    /// `transitionsBefore`: the last transition number this process used in an earlier stint
    /// as DC (the identity is the same, so the numbers must go on, never repeat).
    public init(settings: Settings, transitionsBefore: Int = 0) {
        precondition(transitionsBefore >= 0, "DCController: transitionsBefore \(transitionsBefore) is negative")
        self.settings = settings
        transitionID = transitionsBefore
    }

    /// The DC's own do_shutdown, held until its run has finished (Pacemaker's controller
    /// makes a local shutdown the graph's completion action): leaving at once, with actions
    /// of the run still in flight elsewhere, left their results to the next DC, which did not
    /// have them and ran the same start again on the same node (seen at clean stops of the DC).
    public private(set) var deferredShutdown: ExecuteRequest?
    /// The DC's own do_shutdown is sent: it leaves; no new graph.
    public private(set) var leaving = false
    /// The key of that do_shutdown, sent.
    private var shutdownKey: String?

    /// The DC's node id.
    var localNode: NodeID { settings.node }

    /// A graph is due: wanted, no run in flight, and this DC not leaving.
    public var due: Bool { scheduleWanted && !running && !leaving }

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
    /// `nodes`: node name → id, for the requests. `wallClockSeconds`: the scheduler's "now";
    /// `wallClockMilliseconds` the same instant to the millisecond (nil: the whole second),
    /// at which every granted ticket whose lease deadline has passed is taken as revoked
    /// (`TicketRules.enforceLeases`): the site stops at the deadline by its clock, not when the
    /// DC's revoke comes back through a slow ring.
    public mutating func schedule(_ cib: CIB, nodes: [String: NodeID], now: Duration, wallClockSeconds: Int,
                                  wallClockMilliseconds: Int64? = nil) -> [Directive] {
        precondition(!running, "DCController: a new graph while transition \(transitionID) runs")
        scheduleWanted = false
        nodeIDs = nodes
        fenceExecutorOf = [:]
        transitionID += 1
        var cib = cib
        let lapsed = TicketRules.enforceLeases(&cib, nowMilliseconds: wallClockMilliseconds ?? Int64(wallClockSeconds) * 1000)
        leaseLapsed = Set(lapsed)
        leaseNoticed = []
        let lapsedLog: [Directive] = lapsed.isEmpty ? []
            : [.log("transition \(transitionID): ticket(s) \(lapsed.joined(separator: ", ")) past their lease deadline: taken as revoked")]
        var graph = Scheduler.schedule(cib, now: wallClockSeconds).graph
        graph.attributes.transitionID = transitionID
        fencePlan = FencePlan(cib: cib.configuration.xml)
        stonithTimeoutMilliseconds = Self.milliseconds(graph.attributes.stonithTimeout) ?? 60_000
        fenceGivenUp = false
        recheckAt = Recheck.delay(cib, now: wallClockSeconds).map { now + $0 }
        do {
            // batch-limit comes with the graph (the scheduler copies the cluster option);
            // node-action-limit is the controller's own option (Pacemaker's throttle).
            var limits = settings.limits
            if let text = cib.configuration.clusterProperty("node-action-limit"), let value = Int(text.trimmed), value > 0 {
                limits.nodeActionLimit = min(value, 1_000)
            }
            var started = try TransitionRun(graph: graph, limits: limits)
            let directives = started.start(now: now)
            run = started
            let count = graph.synapses.count
            return lapsedLog + [.log("transition \(transitionID): \(count) actions")] + translate(directives, now: now)
        } catch {
            run = nil
            return lapsedLog + [.log("transition \(transitionID) not run: \(error)")]
        }
    }

    /// The tickets the last graph took as revoked because their lease deadline had passed.
    public private(set) var leaseLapsed: Set<String> = []
    /// Lapsed tickets noticed since the last graph (`leaseRanOut`), not in it yet.
    private var leaseNoticed: Set<String> = []
    /// A lapsed ticket waits for its graph: nothing may hold that graph back.
    public var leaseWaiting: Bool { !leaseNoticed.isEmpty }

    /// The lease timer (the shell's, at a ticket's deadline): `tickets` are the granted ones
    /// whose deadline has passed. One the last graph did not take as revoked aborts the run
    /// (as a revoke does: what is in flight finishes) and makes a new graph due, which takes it
    /// as revoked: the loss-policy acts at the deadline, not when the revoke's CIB write comes
    /// back. Idempotent: the same tickets again change nothing.
    public mutating func leaseRanOut(_ tickets: Set<String>, now: Duration) -> [Directive] {
        let new = tickets.subtracting(leaseLapsed).subtracting(leaseNoticed)
        guard !new.isEmpty else { return [] }
        leaseNoticed.formUnion(new)
        let names = new.sorted().joined(separator: ", ")
        return [.log("lease deadline of ticket(s) \(names) passed: a new graph takes them as revoked")]
            + invalidate("lease deadline of ticket(s) \(names) passed", now: now)
    }

    /// When the scheduler must run again with no event (Recheck.swift: a fail count's
    /// failure-timeout, cluster-recheck-interval), on the shell's clock; set by each graph.
    public private(set) var recheckAt: Duration?

    /// The recheck timer: at `recheckAt`, a new graph is due (once the run in flight ends).
    public mutating func recheck(now: Duration) -> [Directive] {
        guard let at = recheckAt, now >= at else { return [] }
        recheckAt = nil
        return [.log("recheck: a failure-timeout expired or cluster-recheck-interval passed: a new graph")]
            + invalidate("recheck", now: now)
    }

    /// A result recorded from the group (any node, any transition).
    public mutating func result(_ result: ExecuteResult, now: Duration) -> [Directive] {
        // record-pending: the node took the action; its result is still to come.
        guard result.opStatus != -1 /* pending */ else { return [] }
        if let actionID = actionID(of: result.transitionKey), var current = run, current.status == .active,
           current.inFlight.contains(where: { $0.id == actionID && $0.node.flatMap { nodeIDs[$0.name] } == result.node })
        {
            let directives = current.completed(actionID: actionID, succeeded: result.succeeded, now: now)
            run = current
            return translate(directives, now: now)
        }
        staleResults += 1
        // A result of no action in flight (another DC's, an earlier transition's, or one that
        // came after its run ended) changed the history the last graph was made from: a new
        // graph, as Pacemaker's controller aborts on a "Foreign event" or an "Old event"
        // (process_graph_event). Only a cancellation's confirmation changes nothing.
        guard result.opStatus != 1 /* cancelled */ else { return [] }
        return invalidate("\(result.resource)_\(result.operation)_\(result.intervalMilliseconds) on node \(result.node): rc \(result.rc), of no action in flight", now: now)
    }

    /// One of this controller's requests was dropped by every member (NodeCore's
    /// `requestDropped`: delivered in another view than the one it was stamped with, as when
    /// the DC broadcast it while a view change was already ordered): it never runs and no
    /// result will come, so it fails now and the run is aborted (a new graph, made from the
    /// history as it is, plans it again) instead of waiting for its deadline (its timeout +
    /// cluster-delay: 80 s for a 20 s start).
    public mutating func notDelivered(key: String, reason: String, now: Duration) -> [Directive] {
        if leaving, key == shutdownKey {
            // The DC's own do_shutdown went out as a member left: nobody took it, the DC
            // stays; a new graph (its shutdown attribute is still there) sends another.
            leaving = false
            shutdownKey = nil
            scheduleWanted = true
            return [.log("this DC's do_shutdown not delivered (\(reason)): a new graph")]
        }
        guard let actionID = actionID(of: key), var current = run, current.status == .active,
              let action = current.inFlight.first(where: { $0.id == actionID }) else { return [] }
        let directives = current.completed(actionID: actionID, succeeded: false, now: now)
        run = current
        scheduleWanted = true
        return [.log("action \(action.operationKey) on \(action.node?.name ?? "?") not delivered (\(reason)): failed, transition \(transitionID) aborted")]
            + translate(directives, now: now)
    }

    /// Nodes left the group: what was in flight on them fails now (no result will come). A
    /// fence action names its target, not where it runs: the target leaving is what fencing
    /// does, and its result comes from the executor, so it stays in flight unless the
    /// executor left. (Failing it there made a new graph while the fence's result was still on
    /// its way through the re-forming ring, and that graph fenced the node a second time.)
    public mutating func nodesLeft(_ names: Set<String>, now: Duration) -> [Directive] {
        var directives: [Directive] = []
        let leftIDs = Set(names.compactMap { nodeIDs[$0] })
        for action in run?.inFlight ?? [] {
            let lost = if action.operation == .stonith, let executor = fenceExecutorOf[action.id] {
                leftIDs.contains(executor)
            } else {
                action.node.map { names.contains($0.name) } ?? false
            }
            guard lost else { continue }
            guard var current = run, current.status == .active else { break }
            let finished = current.completed(actionID: action.id, succeeded: false, now: now)
            run = current
            directives += translate(finished, now: now)
        }
        return directives + invalidate("node(s) \(names.sorted().joined(separator: ", ")) left", now: now)
    }

    /// A fence result recorded (any node's, any request's): the run's fence action confirmed or
    /// failed; a success of no action of the run (an admin's fence or confirm-down) makes a new
    /// graph due.
    public mutating func fenced(_ record: FenceRecord, now: Duration) -> [Directive] {
        if record.succeeded {
            fenceFailures[record.target] = nil
        } else {
            fenceFailures[record.target, default: 0] += 1
        }
        if let actionID = actionID(of: record.key), var current = run, current.status == .active,
           current.inFlight.contains(where: { $0.id == actionID && $0.operation == .stonith }) {
            let directives = current.completed(actionID: actionID, succeeded: record.succeeded, now: now)
            run = current
            return [.log("fence of \(record.target) (\(record.action)) by \(record.device) on node \(record.executor): \(record.succeeded ? "ok" : "failed: \(record.reason)")")]
                + translate(directives, now: now)
        }
        guard record.succeeded else { return [] }
        return invalidate("node \(record.target) fenced (\(record.device))", now: now)
    }

    /// "60s", "90000ms", "2min", "60" (seconds) as milliseconds.
    public static func milliseconds(_ text: String) -> UInt64? {
        let digits = text.prefix { $0.isNumber }
        guard let value = UInt64(digits), value < 1 << 40 else { return nil }
        switch text.dropFirst(digits.count).lowercased() {
        case "", "s", "sec": return value * 1000
        case "ms", "msec": return value
        case "m", "min": return value * 60_000
        case "h", "hr": return value * 3_600_000
        default: return nil
        }
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
            case .execute(let action, _) where action.element == .controllerEvent:
                let (directives, succeeded) = controllerEvent(action)
                output += directives
                if let succeeded, var current = run {
                    pending += current.completed(actionID: action.id, succeeded: succeeded, now: now)
                    run = current
                }
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
                if current.restartNeeded && !fenceGivenUp { scheduleWanted = true }
                let counts = current.counts
                if current.graph.synapses.count > 0 || current.restartNeeded {
                    output.append(.log("transition \(transitionID) \(status): complete \(counts.complete), skipped \(counts.skipped), incomplete \(counts.incomplete)"))
                }
                if var shutdown = deferredShutdown {
                    deferredShutdown = nil
                    shutdown.view = view
                    leaving = true
                    shutdownKey = shutdown.transitionKey
                    output += [.log("transition \(transitionID) finished: this DC's do_shutdown sent"), .send(shutdown)]
                }
            }
        }
        return output
    }

    /// A controller event: its directives, and its result now (nil: a fence, whose result
    /// comes with `fenced`).
    private mutating func controllerEvent(_ action: TransitionGraph.Action) -> ([Directive], Bool?) {
        let key = "\(action.id):\(transitionID):0:\(settings.identity)"
        guard let node = action.node, let id = nodeIDs[node.name] ?? UInt32(node.uuid).map({ NodeID($0) }) else {
            return ([.log("controller event \(action.operationKey) names no known node (confirmed)")], true)
        }
        switch action.operation {
        case .stonith:
            let fenceAction = action.attributes["CRM_meta_stonith_action"] ?? "reboot"
            if fenceFailures[node.name, default: 0] >= settings.fenceAttemptsMax {
                fenceGivenUp = true
                return ([.log("fencing \(node.name) given up after \(fenceFailures[node.name] ?? 0) failures (stonith-max-attempts \(settings.fenceAttemptsMax)): `baton crm node confirm-down \(node.name)` if it is down")], false)
            }
            guard let executor = fencePlan.executor(for: id, candidates: fenceExecutors) else {
                fenceFailures[node.name, default: 0] += 1
                let why = fencePlan.devices.isEmpty ? "no fence device is configured" : "no other node can run a fence device"
                return ([.log("cannot fence \(node.name): \(why)")], false)
            }
            let request = FenceRequest(view: view, executor: executor, target: node.name, action: fenceAction, key: key,
                                       timeoutMilliseconds: stonithTimeoutMilliseconds)
            fenceExecutorOf[action.id] = executor
            return ([.log("fencing \(node.name) (\(fenceAction)) through node \(executor)"), .fence(request)], nil)
        case .doShutdown:
            let operation = ResourceOperation(resource: "crmd", resourceClass: "crmd", provider: "", type: "crmd", operation: "do_shutdown",
                                              intervalMilliseconds: 0, timeoutMilliseconds: 0, parameters: [:])
            let request = ExecuteRequest(view: view, node: id, transitionKey: key, action: operation, meta: [:])
            if id == localNode {
                // Confirmed now (what follows in the graph may go on); sent at the run's end.
                deferredShutdown = request
                return ([.log("do_shutdown of this DC (node \(id)): after the actions in flight")], true)
            }
            return ([.send(request)], true)
        case .clearFailcount:
            guard let resource = action.primitive?.id else { return ([.log("clear_failcount without a resource (confirmed)")], true) }
            return ([.clearFailures(node: id, resource: resource)], true)
        default:
            return ([.log("controller event \(action.operation) not carried out by baton-crmd (confirmed)")], true)
        }
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
