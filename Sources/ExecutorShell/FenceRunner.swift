import ChildProcess
import Executor
import Glibc

/// Runs fence agents as pacemaker-fenced does: the agent from `agentDirectory` (the fencer's
/// /usr/sbin), its arguments as `key=value` lines on stdin, its process group killed at the
/// action's timeout, a failed attempt retried after 1 s with the time left, reboot as off (and
/// on) where the agent has no reboot, and the eligibility checks (`list`, `status`) first.
public final class FenceRunner: Sendable {
    public let agentDirectory: String
    public let environment: [String: String]
    private let runner: ChildProcessRunner

    /// One fence action's whole story, for the caller to print.
    public struct Outcome: Sendable, Equatable {
        public let result: FenceResult
        /// Each agent run: its action, attempt, and how it ended.
        public let runs: [Run]
        /// The eligibility check's verdict ("static-list", "dynamic-list: not listed", ...).
        public let check: String
        /// stdout of the last run (status, list, metadata print there).
        public let output: String
    }

    public struct Run: Sendable, Equatable {
        public let action: String
        public let attempt: Int
        public let timeout: Duration
        public let result: FenceResult
    }

    public init(agentDirectory: String = "/usr/sbin", environment: [String: String] = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]) throws {
        self.agentDirectory = agentDirectory
        self.environment = environment
        self.runner = try ChildProcessRunner(concurrencyMax: 8, killRepeat: .seconds(5))
    }

    deinit { runner.shutdown() }

    /// The agent's metadata and what it says the agent can do.
    public func capabilities(agent: String, timeout: Duration = FenceDevice.defaultTimeout) async throws(FenceError) -> FenceCapabilities {
        let outcome = await runAgent(agent, input: "action=metadata\n", timeout: timeout)
        guard case .exited(0) = outcome.exit else {
            throw FenceError("\(agent) metadata: \(outcome.problem ?? "\(outcome.exit)") \(outcome.standardErrorText.prefix(200))")
        }
        return try FenceCapabilities(metadata: outcome.standardOutputText)
    }

    /// A device from its configuration, its capabilities read from its agent's metadata.
    public func device(id: String, agent: String, parameters: [String: String]) async throws(FenceError) -> FenceDevice {
        try FenceDevice(id: id, agent: agent, parameters: parameters, capabilities: try await capabilities(agent: agent))
    }

    /// `action` (off, on, reboot, status, list, monitor) with `device` against `target` (nil for
    /// list and monitor). `fallbackTimeout` is stonith-timeout.
    public func fence(
        _ device: FenceDevice, action: String, target: String?, nodeID: UInt32 = 0, fallbackTimeout: Duration = FenceDevice.defaultTimeout
    ) async -> Outcome {
        var runs: [Run] = []
        var check = "no target"
        if let target, ["off", "on", "reboot"].contains(action) {
            switch device.eligibility(target: target, action: action) {
            case .eligible(let why): check = why
            case .notEligible(let why):
                return Outcome(result: .notRun("\(device.id) cannot fence \(target) (\(why))"), runs: [], check: why, output: "")
            case .needsList:
                let (result, output) = await attempt(device, action: "list", target: nil, nodeID: 0, fallback: fallbackTimeout, runs: &runs)
                guard result.ok else {
                    return Outcome(result: .notRun("\(device.id) cannot fence \(target) (list failed: \(result))"), runs: runs,
                                   check: "dynamic-list", output: output)
                }
                guard device.eligible(target: target, listOutput: output) else {
                    return Outcome(result: .notRun("\(device.id) cannot fence \(target) (not in its list)"), runs: runs,
                                   check: "dynamic-list", output: output)
                }
                check = "dynamic-list"
            case .needsStatus:
                let (result, output) = await attempt(device, action: "status", target: target, nodeID: nodeID, fallback: fallbackTimeout,
                                                     runs: &runs, retry: false)
                let exit: Int32 = switch result {
                case .succeeded: 0
                case .failed(let code, _): code
                default: -1
                }
                guard FenceDevice.eligible(statusExit: exit) else {
                    return Outcome(result: .notRun("\(device.id) cannot fence \(target) (status: \(result))"), runs: runs,
                                   check: "status", output: output)
                }
                check = "status"
            }
        }
        var final = FenceResult.succeeded
        var lastOutput = ""
        for (index, step) in device.steps(for: action).enumerated() {
            let (result, output) = await attempt(device, action: step, target: target, nodeID: nodeID, fallback: fallbackTimeout,
                                                 runs: &runs, retry: step != "status")
            lastOutput = output
            // Off's result is the reboot's; a failed on after it does not fail it.
            if index == 0 { final = result }
            if !result.ok { break }
        }
        return Outcome(result: final, runs: runs, check: check, output: lastOutput)
    }

    /// One action with its retries (`update_remaining_timeout`).
    private func attempt(
        _ device: FenceDevice, action: String, target: String?, nodeID: UInt32, fallback: Duration, runs: inout [Run], retry: Bool = true
    ) async -> (FenceResult, String) {
        let timeout = device.timeout(for: action, fallback: fallback)
        let attempts = retry ? max(1, device.attempts(for: action)) : 1
        let input = device.standardInput(action: action, target: target, nodeID: nodeID)
        let start = ContinuousClock.now
        var runTimeout = timeout
        var attempt = 1
        while true {
            let outcome = await runAgent(device.agent, input: input, timeout: runTimeout)
            let result = Self.result(outcome)
            runs.append(Run(action: action, attempt: attempt, timeout: runTimeout, result: result))
            guard !result.ok, !isStatusAnswer(action: action, result: result),
                  let next = fenceRetryTimeout(attempt: attempt, attempts: attempts, timedOut: result == .timedOut,
                                               elapsed: ContinuousClock.now - start, timeout: timeout)
            else { return (result, outcome.standardOutputText) }
            // The fencer sleeps a second before a retry.
            try? await Task.sleep(for: .seconds(1))
            runTimeout = next
            attempt += 1
        }
    }

    /// status answers 2 for "off": an answer, not a failure to retry.
    private func isStatusAnswer(action: String, result: FenceResult) -> Bool {
        if action == "status", case .failed(2, _) = result { return true }
        return false
    }

    static func result(_ outcome: ChildOutcome) -> FenceResult {
        switch outcome.exit {
        case .exited(0): .succeeded
        case .exited(let code): .failed(exit: code, output: (outcome.standardOutputText + outcome.standardErrorText))
        case .timedOut: .timedOut
        case .signaled(let signal): .notRun("killed by signal \(signal)")
        case .spawnFailed(let code): .notRun(outcome.problem ?? String(cString: strerror(code)))
        case .cancelled: .notRun("cancelled")
        case .statusLost: .notRun("its exit status was lost")
        }
    }

    private func runAgent(_ agent: String, input: String, timeout: Duration) async -> ChildOutcome {
        let spec = ChildProcessSpec(
            executable: agentDirectory + "/" + agent, arguments: [], environment: environment, standardInput: Array(input.utf8),
            outputLimit: 1 << 20, timeout: timeout, killGrace: .zero)
        return await runner.run(spec)
    }
}
