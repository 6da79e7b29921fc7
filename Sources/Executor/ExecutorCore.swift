import HeapModule

/// The node-local executor's rules, as pacemaker-execd keeps them (Pacemaker 2.1.5
/// daemons/execd/execd_commands.c), with no I/O: inputs are requests, cancels, agent results and
/// the time; outputs are directives (run this agent, stop that run, report this result, wake me
/// then) for a thin shell that owns the processes and the clock.
///
/// | input | state | directives |
/// |---|---|---|
/// | `request` (one-shot) | queued on its resource, ready after its start-delay | `.run` when the resource is idle, else later; `.wake` for a start-delay |
/// | `request` (interval > 0) | a recurring op: runs now (after start-delay), then `interval` after each end; a duplicate replaces the old one | as above |
/// | `request` stop | every recurring op of the resource cancelled (reported), its queued runs dropped, a run in flight stopped | `.report` cancelled, `.stop` |
/// | `cancel` | the recurring op (or queued one-shot) removed | `.report` cancelled, `.stop` if running |
/// | `finished` | the resource idle again; a recurring op rescheduled | `.report` (a recurring op's only when rc or status changed, unless every result is asked for), `.run` of the next |
/// | `tick` | due start-delays and recurring ops queued | `.run`, `.wake` |
///
/// One operation at a time per resource; the others wait in arrival order.
public struct ExecutorCore: Sendable {
    public let settings: ExecutorSettings
    /// Limits: resources known, operations waiting per resource, recurring ops per resource.
    public static let resourcesMax = 100_000
    public static let queuedPerResourceMax = 256
    public static let recurringPerResourceMax = 64

    private var resources: [String: ResourceQueue] = [:]
    private var nextCallID = 0
    /// When queued runs become ready, earliest first (entries of runs since started or
    /// cancelled are left in and cost one look at their resource): `tick` and `nextWake` touch
    /// only what is due, not every resource (1,000 recurring monitors wake the shell 100 times
    /// a second).
    private var wakeups = Heap<Wakeup>()

    public init(settings: ExecutorSettings) {
        self.settings = settings
    }

    /// Operations of `resource` waiting or running, for tests and status.
    public func load(of resource: String) -> (queued: Int, running: CallID?, recurring: Int) {
        guard let queue = resources[resource] else { return (0, nil, 0) }
        return (queue.waiting.count, queue.active?.callID, queue.recurring.count)
    }

    /// Operations running and waiting on all resources (the daemon's /metrics).
    public var operationCounts: (running: Int, queued: Int) {
        var counts = (running: 0, queued: 0)
        for queue in resources.values {
            if queue.active != nil { counts.running += 1 }
            counts.queued += queue.waiting.count
        }
        return counts
    }

    /// Queues `operation`. Throws when it cannot be run as given or a limit is reached.
    public mutating func request(_ operation: OperationRequest, now: Duration) throws(ExecutorError) -> [ExecutorDirective] {
        if let problem = operation.resource.problem { throw ExecutorError(problem) }
        guard operation.timeout > .zero else { throw ExecutorError("\(operation.key): timeout must be positive") }
        guard operation.interval >= .zero, operation.startDelay >= .zero else {
            throw ExecutorError("\(operation.key): negative interval or start-delay")
        }
        guard resources[operation.resource.id] != nil || resources.count < Self.resourcesMax else {
            throw ExecutorError("\(operation.key): more than \(Self.resourcesMax) resources")
        }
        var queue = resources[operation.resource.id] ?? ResourceQueue()
        var directives: [ExecutorDirective] = []
        if operation.action == "stop" {
            directives += queue.cancelAllRecurring(now: now)
        }
        nextCallID += 1
        let entry = QueuedRun(callID: CallID(value: nextCallID), operation: operation, queuedAt: now, readyAt: now + operation.startDelay)
        if operation.interval > .zero {
            let key = RecurringKey(action: operation.action, interval: operation.interval)
            if let old = queue.recurring[key] {
                // A duplicate replaces the old definition (Pacemaker merges them): the old one
                // is cancelled and reported so.
                directives += queue.cancel(old.callID, now: now)
            }
            guard queue.recurring.count < Self.recurringPerResourceMax else {
                resources[operation.resource.id] = queue
                throw ExecutorError("\(operation.key): more than \(Self.recurringPerResourceMax) recurring operations")
            }
            queue.recurring[key] = RecurringState(callID: entry.callID, operation: operation)
        }
        guard queue.waiting.count < Self.queuedPerResourceMax else {
            resources[operation.resource.id] = queue
            throw ExecutorError("\(operation.key): \(Self.queuedPerResourceMax) operations already wait on \(operation.resource.id)")
        }
        queue.waiting.append(entry)
        resources[operation.resource.id] = queue
        let started = startNext(resource: operation.resource.id, now: now)
        // Not started at once (a start-delay, or the resource busy): a wake-up for when it is
        // ready (a busy resource starts its next run when the current one ends anyway).
        if resources[operation.resource.id]?.active?.callID != entry.callID {
            wakeups.insert(Wakeup(at: entry.readyAt, resource: operation.resource.id))
        }
        return directives + started
    }

    /// Cancels the recurring op `action`/`interval` of `resource` (or a queued one-shot with that
    /// action when `interval` is zero). Nothing when there is none.
    public mutating func cancel(resource: String, action: String, interval: Duration, now: Duration) -> [ExecutorDirective] {
        guard var queue = resources[resource] else { return [] }
        var directives: [ExecutorDirective] = []
        if let recurring = queue.recurring[RecurringKey(action: action, interval: interval)] {
            directives = queue.cancel(recurring.callID, now: now)
        } else if let waiting = queue.waiting.first(where: { $0.operation.action == action && $0.operation.interval == interval }) {
            directives = queue.cancel(waiting.callID, now: now)
        }
        resources[resource] = queue
        return directives + startNext(resource: resource, now: now)
    }

    /// The agent run `call` of `resource` ended (the shell's report). `spawnWait` is how long the
    /// run waited for a free process slot after the core started it: queue time, not exec time.
    public mutating func finished(
        resource: String, call: CallID, exit: AgentExit, standardOutput: [UInt8], standardError: [UInt8], now: Duration,
        spawnWait: Duration = .zero, errnoName: (Int32) -> String
    ) -> [ExecutorDirective] {
        guard let active = resources[resource]?.active, active.callID == call else { return [] }
        // Taken out of the table while it changes, put back on every way out: changed in place,
        // with no copy of its arrays (the table's reference would make each change copy them).
        var queue = resources.removeValue(forKey: resource)!
        queue.active = nil
        let operation = active.operation
        var verdict = AgentVerdict.of(
            exit, standard: operation.resource.standard, action: active.followUp == nil ? operation.action : "monitor",
            standardOutput: standardOutput, standardError: standardError, agent: operation.resource.agentName, errnoName: errnoName)
        if operation.resource.standard == .systemd && operation.interval == .zero && ["start", "stop"].contains(operation.action) {
            switch Self.systemdSettle(active, verdict: verdict, spawnWait: spawnWait, now: now) {
            case .again(let followUp):
                queue.waiting.insert(followUp, at: 0)
                wakeups.insert(Wakeup(at: followUp.readyAt, resource: resource))
                resources[resource] = queue
                return []
            case .done(let settled):
                verdict = settled
            }
        }
        // A follow-up's times are its operation's, from its first run (cmd_original_times).
        let first = active.followUp
        let startedAt = first?.firstStartedAt ?? active.startedAt, queuedAt = first?.firstQueuedAt ?? active.queuedAt
        let wait = first?.firstSpawnWait ?? spawnWait
        let result = OperationResult(
            callID: call, operation: operation, verdict: verdict, standardOutput: standardOutput, standardError: standardError,
            queueTime: startedAt - queuedAt + wait, execTime: max(.zero, now - startedAt - wait),
            finishedAt: now, rcChanged: true)
        var directives: [ExecutorDirective] = []
        let key = RecurringKey(action: operation.action, interval: operation.interval)
        if operation.interval > .zero, var recurring = queue.recurring[key], recurring.callID == call {
            let changed = recurring.lastVerdict.map { $0.rc != verdict.rc || $0.status != verdict.status } ?? true
            recurring.lastVerdict = verdict
            queue.recurring[key] = recurring
            if changed || !operation.reportChangesOnly {
                directives.append(.report(result.with(rcChanged: changed)))
            }
            if verdict.status != .cancelled {
                queue.waiting.append(QueuedRun(callID: call, operation: operation, queuedAt: now + operation.interval, readyAt: now + operation.interval))
                wakeups.insert(Wakeup(at: now + operation.interval, resource: resource))
            }
        } else if operation.interval == .zero {
            directives.append(.report(result))
        } else {
            // A recurring op cancelled (or replaced) while it ran: reported cancelled, however
            // the run itself ended.
            let cancelled = AgentVerdict(rc: .ok, status: .cancelled, exitReason: nil)
            directives.append(.report(OperationResult(
                callID: call, operation: operation, verdict: cancelled, standardOutput: standardOutput, standardError: standardError,
                queueTime: result.queueTime, execTime: result.execTime, finishedAt: now, rcChanged: true)))
        }
        resources[resource] = queue
        return directives + startNext(resource: resource, now: now)
    }

    private enum Settling {
        case again(QueuedRun)
        case done(AgentVerdict)
    }

    /// A systemd start or stop is done once its job is queued (`systemctl --no-block`, as
    /// Pacemaker's StartUnit/StopUnit): pacemaker-execd then monitors the unit until it has
    /// settled (execd_commands.c `action_complete`): again while the unit is pending (activating,
    /// deactivating) or, for a stop, still active, each after a tenth of the timeout (at most
    /// 2 s; half of what is left when that is less), within the operation's timeout. A settled
    /// start that is not running failed; a settled stop that is not running succeeded; no time
    /// left is a timeout.
    private static func systemdSettle(_ run: QueuedRun, verdict: AgentVerdict, spawnWait: Duration, now: Duration) -> Settling {
        let timeout = run.operation.timeout
        let firstStartedAt = run.followUp?.firstStartedAt ?? run.startedAt
        let again: Bool
        if run.followUp != nil {
            again = verdict.status == .pending || (verdict.status == .done && verdict.rc == .ok && run.operation.action == "stop")
        } else {
            again = verdict.status == .done && verdict.rc == .ok
        }
        guard again else {
            guard run.followUp != nil, verdict.status == .done, verdict.rc == .notRunning else { return .done(verdict) }
            return .done(AgentVerdict(rc: run.operation.action == "start" ? .unknownError : .ok, status: .done, exitReason: verdict.exitReason))
        }
        let left = timeout - (now - firstStartedAt)
        var delay = timeout / 10
        if delay >= left && left > .milliseconds(20) { delay = left / 2 }
        delay = min(.seconds(2), delay)
        guard delay < left else {
            return .done(AgentVerdict(
                rc: .unknownError, status: .timedOut,
                exitReason: "Investigate reason for timeout, and adjust configured operation timeout if necessary"))
        }
        var next = QueuedRun(callID: run.callID, operation: run.operation, queuedAt: now, readyAt: now + delay)
        next.followUp = run.followUp ?? SystemdFollowUp(
            firstQueuedAt: run.queuedAt, firstStartedAt: run.startedAt, firstSpawnWait: spawnWait)
        next.followUp?.timeLeft = left
        return .again(next)
    }

    /// Starts what has become ready by `now` and says when to look again.
    public mutating func tick(now: Duration) -> [ExecutorDirective] {
        var directives: [ExecutorDirective] = []
        while let first = wakeups.min, first.at <= now {
            _ = wakeups.removeMin()
            directives += startNext(resource: first.resource, now: now)
        }
        return directives
    }

    /// The earliest instant at which something may become ready (the shell's next wake-up; a
    /// stale one only costs an empty tick).
    public func nextWake() -> Duration? {
        wakeups.min?.at
    }

    /// The first ready operation of an idle resource starts; a forgotten idle resource is dropped.
    private mutating func startNext(resource: String, now: Duration) -> [ExecutorDirective] {
        let index: Int
        do {
            guard let peek = resources[resource], peek.active == nil else { return [] }
            // A systemd start or stop being settled holds its resource until it is done.
            if let first = peek.waiting.first, first.followUp != nil, first.readyAt > now { return [] }
            guard let ready = peek.waiting.firstIndex(where: { $0.readyAt <= now }) else {
                if peek.waiting.isEmpty && peek.recurring.isEmpty { resources[resource] = nil }
                return []
            }
            index = ready
        }
        // Out of the table while it changes (see `finished`); put back on every way out.
        var queue = resources.removeValue(forKey: resource)!
        var run = queue.waiting.remove(at: index)
        run.startedAt = now
        queue.active = run
        let operation = run.operation
        // A recurring op runs the same invocation every time: built at its first run, kept with
        // it (at 1,000 monitors, rebuilding the environment was a tenth of the executor's CPU).
        let key = RecurringKey(action: operation.action, interval: operation.interval)
        if operation.interval > .zero, let recurring = queue.recurring[key], recurring.callID == run.callID,
           let invocation = recurring.invocation {
            resources[resource] = queue
            return [.run(resource: resource, call: run.callID, invocation)]
        }
        if let followUp = run.followUp {
            // The unit's state, within what is left of the operation's timeout.
            let invocation = AgentInvocation.of(
                operation.resource, action: "monitor", timeout: followUp.timeLeft, meta: [:], featureSet: nil, settings: settings)
            resources[resource] = queue
            return [.run(resource: resource, call: run.callID, invocation)]
        }
        var meta = operation.meta
        // As in the controller's graph actions: a timeout always, an interval and a name only
        // for recurring ops.
        meta["timeout"] = String(operation.timeout.milliseconds)
        if operation.interval > .zero {
            meta["interval"] = String(operation.interval.milliseconds)
            meta["name"] = operation.action
        }
        let invocation = AgentInvocation.of(
            operation.resource, action: operation.action, timeout: operation.timeout, meta: meta, featureSet: operation.featureSet,
            settings: settings)
        if operation.interval > .zero, queue.recurring[key]?.callID == run.callID {
            queue.recurring[key]?.invocation = invocation
        }
        resources[resource] = queue
        return [.run(resource: resource, call: run.callID, invocation)]
    }
}

extension Duration {
    /// Whole milliseconds (Pacemaker's unit for timeouts and intervals).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// What the shell does next.
public enum ExecutorDirective: Sendable, Equatable {
    /// Run the agent (call ids of a recurring op repeat from run to run, as in Pacemaker).
    case run(resource: String, call: CallID, AgentInvocation)
    /// End the run `call` (its process group); its result comes back as cancelled.
    case stop(resource: String, call: CallID)
    /// Record and hand on this result.
    case report(OperationResult)
}

public struct CallID: Sendable, Hashable, Comparable {
    public let value: Int
    public init(value: Int) { self.value = value }
    public static func < (left: CallID, right: CallID) -> Bool { left.value < right.value }
}

/// One operation as the controller asks for it.
public struct OperationRequest: Sendable, Equatable {
    public let resource: AgentResource
    public let action: String
    public let interval: Duration
    public let timeout: Duration
    public let startDelay: Duration
    /// CRM_meta_* values without the prefix, beyond timeout, interval and name (which the core
    /// sets): on_node, on_node_uuid, op_target_rc, clone and notify variables.
    public let meta: [String: String]
    /// OCF_RESKEY_crm_feature_set (nil: none passed, as for a bare `baton agent` run).
    public let featureSet: String?
    public let transitionKey: String?
    /// A recurring op's results reported only when rc or op-status changes.
    public let reportChangesOnly: Bool

    public init(
        resource: AgentResource, action: String, interval: Duration = .zero, timeout: Duration = .seconds(20),
        startDelay: Duration = .zero, meta: [String: String] = [:], featureSet: String? = nil, transitionKey: String? = nil,
        reportChangesOnly: Bool = true
    ) {
        self.resource = resource
        self.action = action
        self.interval = interval
        self.timeout = timeout
        self.startDelay = startDelay
        self.meta = meta
        self.featureSet = featureSet
        self.transitionKey = transitionKey
        self.reportChangesOnly = reportChangesOnly
    }

    /// Pacemaker's operation key: RESOURCE_ACTION_INTERVALMS.
    public var key: String { "\(resource.id)_\(action)_\(interval.milliseconds)" }
}

/// One finished (or cancelled) operation.
public struct OperationResult: Sendable, Equatable {
    public let callID: CallID
    public let operation: OperationRequest
    public let verdict: AgentVerdict
    public let standardOutput: [UInt8]
    public let standardError: [UInt8]
    public let queueTime: Duration
    public let execTime: Duration
    public let finishedAt: Duration
    /// rc or op-status differs from this recurring op's previous result (always true for others).
    public let rcChanged: Bool

    public init(
        callID: CallID, operation: OperationRequest, verdict: AgentVerdict, standardOutput: [UInt8], standardError: [UInt8],
        queueTime: Duration, execTime: Duration, finishedAt: Duration, rcChanged: Bool
    ) {
        self.callID = callID
        self.operation = operation
        self.verdict = verdict
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.queueTime = queueTime
        self.execTime = execTime
        self.finishedAt = finishedAt
        self.rcChanged = rcChanged
    }

    func with(rcChanged: Bool) -> OperationResult {
        OperationResult(
            callID: callID, operation: operation, verdict: verdict, standardOutput: standardOutput, standardError: standardError,
            queueTime: queueTime, execTime: execTime, finishedAt: finishedAt, rcChanged: rcChanged)
    }

    /// What the controller expects: op_target_rc, or 0.
    public var targetRC: Int { operation.meta["op_target_rc"].flatMap { Int($0) } ?? 0 }
}

/// A request the executor refuses, saying what and where.
public struct ExecutorError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

struct RecurringKey: Hashable, Sendable {
    let action: String
    let interval: Duration
}

struct RecurringState: Sendable {
    let callID: CallID
    let operation: OperationRequest
    var lastVerdict: AgentVerdict?
    /// Its agent run, from its first run on.
    var invocation: AgentInvocation?
}

struct QueuedRun: Sendable {
    let callID: CallID
    let operation: OperationRequest
    let queuedAt: Duration
    let readyAt: Duration
    var startedAt: Duration = .zero
    /// Set on the monitors that settle a systemd start or stop (`ExecutorCore.systemdSettle`).
    var followUp: SystemdFollowUp?
}

/// A systemd start or stop being settled: when it first ran, and the time it has left.
struct SystemdFollowUp: Sendable {
    let firstQueuedAt: Duration
    let firstStartedAt: Duration
    let firstSpawnWait: Duration
    var timeLeft: Duration = .zero
}

struct ResourceQueue: Sendable {
    var waiting: [QueuedRun] = []
    var active: QueuedRun?
    var recurring: [RecurringKey: RecurringState] = [:]

    /// Cancels `call`: a queued run is dropped and reported cancelled; a running one is stopped
    /// (its result, cancelled, is reported when it ends); a recurring definition is forgotten.
    mutating func cancel(_ call: CallID, now: Duration) -> [ExecutorDirective] {
        var directives: [ExecutorDirective] = []
        var operation: OperationRequest?
        if let key = recurring.first(where: { $0.value.callID == call })?.key {
            operation = recurring.removeValue(forKey: key)?.operation
        }
        if let index = waiting.firstIndex(where: { $0.callID == call }) {
            operation = waiting.remove(at: index).operation
        }
        if let active, active.callID == call {
            directives.append(.stop(resource: active.operation.resource.id, call: call))
        } else if let operation {
            directives.append(.report(OperationResult(
                callID: call, operation: operation, verdict: AgentVerdict(rc: .ok, status: .cancelled, exitReason: nil),
                standardOutput: [], standardError: [], queueTime: .zero, execTime: .zero, finishedAt: now, rcChanged: true)))
        }
        return directives
    }

    mutating func cancelAllRecurring(now: Duration) -> [ExecutorDirective] {
        recurring.values.map(\.callID).sorted().flatMap { cancel($0, now: now) }
    }
}

/// A wake-up of the heap (swift-collections' Heap): earliest first, equal instants by resource
/// name, so the order of starts is the same on every run.
struct Wakeup: Sendable, Comparable {
    let at: Duration
    let resource: String
    static func < (left: Wakeup, right: Wakeup) -> Bool {
        left.at != right.at ? left.at < right.at : left.resource < right.resource
    }
}
