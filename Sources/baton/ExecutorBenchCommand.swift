import ArgumentParser
import ChildProcess
import Executor
import ExecutorShell
import Foundation
import Synchronization

/// `baton executor-bench`: issue 12's executor figures (a lab command; figures go in the
/// README, never in timed tests).
///
/// 1. Overhead per operation: the same agent run N times one after the other, directly
///    (posix_spawn + waitpid, blocking), through the child-process primitive, and through the
///    executor (`ExecutorShell.perform`); the mean and p99 of each, and the executor's extra.
/// 2. Recurring monitors: M resources with a monitor every I seconds on this node for D
///    seconds, every result reported; the executor process's own CPU (getrusage, children apart),
///    and each run's lateness against its schedule (the interval after the previous run's end,
///    Pacemaker's rule), whose p99 and drift (first vs last third) are the interval error.
struct ExecutorBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executor-bench",
        abstract: "Benchmark the executor: overhead per operation, many recurring monitors (lab).")

    @Option(help: "Operations per overhead series.") var operations = 300
    @Option(help: "Recurring monitors.") var monitors = 1000
    @Option(help: "Their interval, in seconds.") var interval = 10
    @Option(help: "How long the recurring series runs, in seconds.") var duration = 180
    @Flag(help: "Only the recurring monitors (scripts/execd-bench measures them from outside).") var recurringOnly = false
    @Flag(help: "Recurring results reported on change only, as baton-crmd asks for them (no lateness figures then: the reports are what they come from).")
    var changesOnly = false
    @Option(help: "The OCF agent the recurring monitors run (default: /bin/sh exiting 0).") var agent: String?

    func run() async throws {
        let directory = NSTemporaryDirectory() + "baton-executor-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory + "/ocf/resource.d/bench", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = directory + "/ocf/resource.d/bench/Null"
        if let given = self.agent {
            try FileManager.default.copyItem(atPath: given, toPath: agent)
        } else {
            try "#!/bin/sh\nexit 0\n".write(toFile: agent, atomically: true, encoding: .utf8)
        }
        chmod(agent, 0o755)
        let settings = ExecutorSettings(ocfRoot: directory + "/ocf", resourceTemporaryDirectory: directory + "/rsctmp",
                                        baseEnvironment: ["PATH": "/usr/bin:/bin"], agentToolsDirectory: directory + "/sbin")
        if !recurringOnly { try await overhead(agent: agent, settings: settings) }
        try await recurring(settings: settings)
    }

    static func percentile(_ values: [Duration], _ fraction: Double) -> Duration {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
    }

    static func mean(_ values: [Duration]) -> Duration { values.reduce(.zero, +) / values.count }

    static func milliseconds(_ value: Duration) -> String {
        String(format: "%.3f ms", value.inMilliseconds)
    }

    func overhead(agent: String, settings: ExecutorSettings) async throws {
        let resource = AgentResource(id: "bench", standard: .ocf, provider: "bench", type: "Null", parameters: ["a": "1"])
        let shell = try ExecutorShell(settings: settings) { _ in }
        // The environment the executor gives (its agent tools on PATH included), for all three.
        let invocation = AgentInvocation.of(resource, action: "monitor", timeout: .seconds(20), meta: ["timeout": "20000"],
                                            featureSet: settings.featureSet, settings: shell.settings)
        let environment = invocation.environment.map { "\($0.key)=\($0.value)" }
        var direct: [Duration] = []
        for _ in 0..<operations {
            let start = ContinuousClock.now
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [agent, "monitor"].map { (text: String) in strdup(text) } + [nil]
            let envp: [UnsafeMutablePointer<CChar>?] = environment.map { (text: String) in strdup(text) } + [nil]
            defer { for pointer in argv + envp { free(pointer) } }
            guard posix_spawn(&pid, agent, nil, nil, argv, envp) == 0 else { throw ValidationError("cannot run \(agent)") }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            direct.append(ContinuousClock.now - start)
        }
        let runner = try ChildProcessRunner()
        defer { runner.shutdown() }
        var primitive: [Duration] = []
        for _ in 0..<operations {
            let start = ContinuousClock.now
            _ = await runner.run(ChildProcessSpec(executable: agent, arguments: ["monitor"], environment: invocation.environment, timeout: .seconds(20)))
            primitive.append(ContinuousClock.now - start)
        }
        var executor: [Duration] = []
        for _ in 0..<operations {
            let start = ContinuousClock.now
            _ = try await shell.perform(OperationRequest(resource: resource, action: "monitor"))
            executor.append(ContinuousClock.now - start)
        }
        print("overhead: \(operations) runs of a minimal OCF agent (/bin/sh, exit 0), one after the other")
        for (name, series) in [("direct posix_spawn+waitpid", direct), ("ChildProcess", primitive), ("executor", executor)] {
            print("  \(name): mean \(Self.milliseconds(Self.mean(series))), p50 \(Self.milliseconds(Self.percentile(series, 0.5))), p99 \(Self.milliseconds(Self.percentile(series, 0.99)))")
        }
        print("  executor overhead per operation (mean, p50 against direct): \(Self.milliseconds(Self.mean(executor) - Self.mean(direct))), \(Self.milliseconds(Self.percentile(executor, 0.5) - Self.percentile(direct, 0.5))) (target <= 2 ms)")
    }

    static func cpuTime(_ who: Int32) -> Duration {
        var usage = rusage()
        getrusage(__rusage_who_t(who), &usage)
        let microseconds = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000 + Int(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
        return .microseconds(microseconds)
    }

    func recurring(settings: ExecutorSettings) async throws {
        let lateness = Mutex<[(Duration, Duration)]>([])  // (when, how late)
        let shell = try ExecutorShell(settings: settings, concurrencyMax: 64) { result in
            guard result.operation.interval > .zero, result.callID.value > 0 else { return }
            lateness.withLock { $0.append((result.finishedAt, result.queueTime)) }
        }
        let period = Duration.seconds(interval)
        // Spread over the first interval, as a cluster's monitors start at different times.
        for index in 0..<monitors {
            let resource = AgentResource(id: "r\(index)", standard: .ocf, provider: "bench", type: "Null", parameters: [:])
            try shell.request(OperationRequest(
                resource: resource, action: "monitor", interval: period, startDelay: period * (Double(index) / Double(monitors)),
                reportChangesOnly: changesOnly))
        }
        let cpuBefore = Self.cpuTime(RUSAGE_SELF.rawValue)
        let childrenBefore = Self.cpuTime(RUSAGE_CHILDREN.rawValue)
        let started = ContinuousClock.now
        try await Task.sleep(for: .seconds(duration))
        let elapsed = ContinuousClock.now - started
        let cpu = Self.cpuTime(RUSAGE_SELF.rawValue) - cpuBefore
        let children = Self.cpuTime(RUSAGE_CHILDREN.rawValue) - childrenBefore
        let share = cpu.inSeconds
        let wall = elapsed.inSeconds
        let childShare = children.inSeconds
        print("recurring: \(monitors) monitors every \(interval) s for \(duration) s (load average \(BenchmarkCommand.loadAverage()))")
        print("  executor CPU: \(String(format: "%.2f", 100 * share / wall)) % of one core (target < 2 %); the agents themselves: \(String(format: "%.2f", 100 * childShare / wall)) %")
        let runs = Double(monitors) * wall / Double(interval)
        print("  CPU per run: executor \(String(format: "%.0f", share / runs * 1e6)) µs, the agent \(String(format: "%.0f", childShare / runs * 1e6)) µs")
        // The first run of each op waits out its start-delay, not an interval: skip the first interval.
        let samples = lateness.withLock { $0 }.filter { $0.0 > period * 2 }
        guard !changesOnly else { return }
        guard !samples.isEmpty else { throw ValidationError("no recurring run completed; run longer than two intervals") }
        let values = samples.map(\.1)
        let third = samples.count / 3
        let early = Self.mean(Array(values.prefix(max(third, 1)))), late = Self.mean(Array(values.suffix(max(third, 1))))
        print("  \(samples.count) runs measured")
        print("  interval error (lateness against the schedule): p50 \(Self.milliseconds(Self.percentile(values, 0.5))), p99 \(Self.milliseconds(Self.percentile(values, 0.99))), max \(Self.milliseconds(values.max()!)) (target p99 <= 10 ms)")
        print("  drift: mean lateness \(Self.milliseconds(early)) in the first third, \(Self.milliseconds(late)) in the last")
    }
}
