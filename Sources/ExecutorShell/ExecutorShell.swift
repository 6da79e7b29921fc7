import AgentToolsShell
import ChildProcess
import ExecutablePath
import Executor
import Glibc
import Synchronization

/// The thin shell around `ExecutorCore`: agents run through the child-process primitive (each in
/// its own process group, SIGKILLed with its group at its timeout as pacemaker-execd does),
/// start-delays and recurring ops wake the runner's alarm (on the runner's own thread: no timer
/// thread, no hop between threads per run), and every result goes to `onResult`.
/// The core is only touched under its mutex; directives are carried out after it is released.
///
/// The agents find Baton's crm_attribute, crm_master, attrd_updater and crm_node first on their
/// PATH and as HA_SBIN_DIR (`settings.agentToolsDirectory`, made at start), so that a promotable
/// agent's `crm_attribute -p` reaches the node's attribute store with no set-up by the admin.
public final class ExecutorShell: Sendable {
    /// As given, but for the base environment: with the agent tools' directory first on PATH, as
    /// HA_SBIN_DIR, and the attribute store named, when the tools are installed.
    public let settings: ExecutorSettings
    /// The directory holding the agent tools' links, nil when there are none (no directory asked
    /// for, or no `baton-agent-tools` beside this executable).
    public let agentTools: String?
    private let core: Mutex<ExecutorCore>
    private let runs = Mutex<[CallID: ChildID]>([:])
    private let runner: ChildProcessRunner
    private let origin = ContinuousClock.now
    /// The instant (on `now`'s scale) the runner's alarm is set for, so that a result that
    /// leaves the next wake-up where it was does not set it again.
    private let alarm = Mutex<Duration?>(nil)
    private let onResult: @Sendable (OperationResult) -> Void
    /// The child-process request and completion of each call the core may run again: a
    /// recurring op's call id repeats, with the same invocation, every interval. Its argv and
    /// envp are built once (`ChildProcessSpec.prepared`), not at every run; an entry goes with
    /// its call's last report (a one-shot's result, a cancel).
    private let prepared = Mutex<[CallID: PreparedRun]>([:])
    /// Entries of `prepared`; past it the table starts again (correct, only slower).
    static let preparedMax = 16_384

    /// Creates `HA_RSCTMP` (the resource agents' temporary directory) as pacemaker-execd does
    /// at its start, and the agent tools' links. Throws when the runner cannot start, when the
    /// tools' directory cannot be made, or when `agentToolsExecutable` is given but is not one.
    public init(settings given: ExecutorSettings, concurrencyMax: Int = 32, onResult: @escaping @Sendable (OperationResult) -> Void) throws {
        var settings = given
        agentTools = try Self.installAgentTools(&settings)
        self.settings = settings
        self.core = Mutex(ExecutorCore(settings: settings))
        self.runner = try ChildProcessRunner(concurrencyMax: concurrencyMax, killRepeat: .seconds(5))
        self.onResult = onResult
        makeDirectories(settings.resourceTemporaryDirectory)
    }

    deinit {
        runner.shutdown()
    }

    var now: Duration { ContinuousClock.now - origin }

    /// Links the agent tools into `settings.agentToolsDirectory` and puts them in the agents'
    /// environment; the directory, or nil when no directory is asked for or no tools executable
    /// is found (only when none was named).
    static func installAgentTools(_ settings: inout ExecutorSettings) throws -> String? {
        guard let directory = settings.agentToolsDirectory else { return nil }
        let named = settings.agentToolsExecutable
        guard let executable = named ?? besideThisExecutable("baton-agent-tools"), access(executable, X_OK) == 0 else {
            if let named { throw ExecutorError("agent tools: \(named) is not an executable file") }
            return nil
        }
        try AgentToolsInstallation.install(executable: executable, in: directory)
        let store = settings.baseEnvironment[AgentToolsInstallation.storeVariable] ?? AgentToolsInstallation.defaultStore
        settings.baseEnvironment = AgentToolsInstallation.environment(settings.baseEnvironment, tools: directory, store: store)
        return directory
    }

    /// `name` in the running executable's directory (/proc/self/exe), nil when it is not there.
    static func besideThisExecutable(_ name: String) -> String? {
        guard let path = ExecutablePath.current() else { return nil }
        let candidate = ExecutablePath.directory(of: path) + "/" + name
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    /// Operations running and waiting (ExecutorCore.operationCounts).
    public var operationCounts: (running: Int, queued: Int) { core.withLock { $0.operationCounts } }

    /// Queues an operation (its result comes to `onResult`).
    public func request(_ operation: OperationRequest) throws(ExecutorError) {
        let now = self.now
        let directives = try core.withLock { core throws(ExecutorError) in try core.request(operation, now: now) }
        carryOut(directives)
    }

    /// Cancels a recurring op (or a queued one-shot).
    public func cancel(resource: String, action: String, interval: Duration) {
        let now = self.now
        carryOut(core.withLock { $0.cancel(resource: resource, action: action, interval: interval, now: now) })
    }

    /// Runs one operation to its end (for `baton agent` and tests): the next result of its key.
    public func perform(_ operation: OperationRequest) async throws(ExecutorError) -> OperationResult {
        var failure: ExecutorError?
        let result: OperationResult? = await withCheckedContinuation { (continuation: CheckedContinuation<OperationResult?, Never>) in
            waiters.withLock { $0[operation.key, default: []].append(continuation) }
            do throws(ExecutorError) {
                try request(operation)
            } catch {
                failure = error
                _ = waiters.withLock { $0[operation.key]?.removeLast() }
                continuation.resume(returning: nil)
            }
        }
        if let failure { throw failure }
        return result!
    }

    let waiters = Mutex<[String: [CheckedContinuation<OperationResult?, Never>]]>([:])

    private func tick() {
        let now = self.now
        // The wake-up it was set for has come: the next one must be set anew.
        alarm.withLock { $0 = nil }
        carryOut(core.withLock { $0.tick(now: now) })
    }

    private func carryOut(_ directives: [ExecutorDirective]) {
        for directive in directives {
            switch directive {
            case .run(let resource, let call, let invocation):
                let run = preparedRun(resource: resource, call: call, invocation: invocation)
                let child = runner.run(run.spec, completion: run.completion)
                runs.withLock { $0[call] = child }
            case .stop(_, let call):
                if let child = runs.withLock({ $0[call] }) { runner.cancel(child) }
            case .report(let result):
                if result.operation.interval == .zero || result.verdict.status == .cancelled {
                    prepared.withLock { _ = $0.removeValue(forKey: result.callID) }
                }
                let continuation = waiters.withLock { waiters -> CheckedContinuation<OperationResult?, Never>? in
                    guard !waiters.isEmpty else { return nil }
                    let key = result.operation.key
                    guard var list = waiters[key], !list.isEmpty else { return nil }
                    let first = list.removeFirst()
                    waiters[key] = list.isEmpty ? nil : list
                    return first
                }
                continuation?.resume(returning: result)
                onResult(result)
            }
        }
        rearm()
    }

    /// The request and completion of `call`'s run of `invocation`: those kept from its last run
    /// when the invocation is the same (the core hands a recurring op's own back: compared by
    /// its storage, at once), else made now and kept.
    private func preparedRun(resource: String, call: CallID, invocation: AgentInvocation) -> PreparedRun {
        if let known = prepared.withLock({ $0[call] }), known.invocation == invocation { return known }
        let spec = ChildProcessSpec(
            executable: invocation.executable, arguments: invocation.arguments, environment: invocation.environment,
            workingDirectory: settings.workingDirectory, outputLimit: settings.outputLimit, timeout: invocation.timeout,
            killGrace: .zero)
        // Weak: the table that keeps this closure belongs to the shell.
        let run = PreparedRun(invocation: invocation, spec: spec.prepared()) { [weak self] outcome in
            self?.finished(resource: resource, call: call, outcome: outcome)
        }
        prepared.withLock { table in
            if table.count >= Self.preparedMax { table.removeAll() }
            table[call] = run
        }
        return run
    }

    private func finished(resource: String, call: CallID, outcome: ChildOutcome) {
        runs.withLock { _ = $0.removeValue(forKey: call) }
        let now = self.now
        let next = core.withLock {
            $0.finished(
                resource: resource, call: call, exit: AgentExit(outcome.exit), standardOutput: outcome.standardOutput,
                standardError: outcome.standardError, now: now, spawnWait: outcome.queueTime,
                errnoName: { String(cString: strerror($0)) })
        }
        carryOut(next)
    }

    /// The alarm rings at the core's next ready instant (start-delays, recurring ops). Read and
    /// set under the core's lock (the alarm's lock inside it, always in that order): two threads
    /// re-arming at once must not leave the later wake-up in place of the earlier one.
    private func rearm() {
        core.withLock { core in
            guard let wake = core.nextWake() else { return }
            alarm.withLock { alarm in
                guard alarm != wake else { return }
                runner.setAlarm(origin + wake) { [weak self] in self?.tick() }
                alarm = wake
            }
        }
    }
}

/// One call's child-process request, built once, and what its end does.
struct PreparedRun: Sendable {
    let invocation: AgentInvocation
    let spec: ChildProcessSpec
    let completion: @Sendable (ChildOutcome) -> Void
}

extension AgentExit {
    init(_ exit: ChildExit) {
        switch exit {
        case .exited(let code): self = .exited(code)
        case .signaled(let signal): self = .signaled(signal)
        case .timedOut: self = .timedOut
        case .cancelled: self = .cancelled
        case .spawnFailed(let code): self = .spawnFailed(errno: code)
        case .statusLost: self = .statusLost
        }
    }
}

/// mkdir -p with mode 0755 (errors are the agents' to report: they check HA_RSCTMP themselves).
func makeDirectories(_ path: String) {
    var prefix = ""
    for component in path.split(separator: "/") {
        prefix += "/" + component
        mkdir(prefix, 0o755)
    }
}
