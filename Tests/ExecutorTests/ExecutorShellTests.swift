import ChildProcess
import Executor
import ExecutorShell
import Foundation
import Synchronization
import Testing
import TestSupport

/// The executor on real agents (Pacemaker's ocf:pacemaker:Dummy): cts-exec's basic scenarios.
struct ExecutorShellTests {
    static let agent = "/usr/lib/ocf/resource.d/pacemaker/Dummy"
    static let settings = ExecutorSettings(baseEnvironment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])

    static func directory() throws -> String { try makeTemporaryDirectory("baton-executor") }

    static func dummy(_ id: String, in directory: String, _ extra: [String: String] = [:]) -> AgentResource {
        AgentResource(id: id, standard: .ocf, provider: "pacemaker", type: "Dummy",
                      parameters: ["state": "\(directory)/\(id).state"].merging(extra) { $1 })
    }

    static var missing: String? {
        skipReason("ExecutorShellTests", skipping: "real agents", FileManager.default.isExecutableFile(atPath: agent) ? [] : ["\(agent) is not installed (Debian: pacemaker)"])
    }

    @Test func startMonitorStopAndProbe() async throws {
        if Self.missing != nil { return }
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shell = try ExecutorShell(settings: Self.settings) { _ in }
        let resource = Self.dummy("d1", in: directory, ["envfile": directory + "/env"])
        let probe = try await shell.perform(OperationRequest(resource: resource, action: "monitor", meta: ["op_target_rc": "7"]))
        #expect(probe.verdict == AgentVerdict(rc: .notRunning, status: .done, exitReason: nil))
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "start")).verdict.rc == .ok)
        #expect(FileManager.default.fileExists(atPath: directory + "/d1.state"))
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "monitor")).verdict.rc == .ok)
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "stop")).verdict.rc == .ok)
        #expect(!FileManager.default.fileExists(atPath: directory + "/d1.state"))
        // The agent saw pacemaker-execd's variables (its envfile dump).
        let environment = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        for line in ["OCF_RESOURCE_INSTANCE=d1", "OCF_RESKEY_CRM_meta_timeout=20000", "OCF_ROOT=/usr/lib/ocf",
                     "OCF_RA_VERSION_MAJOR=1", "OCF_EXIT_REASON_PREFIX=ocf-exit-reason:", "OCF_RESKEY_CRM_meta_op_target_rc=7"] {
            #expect(environment.contains("\n" + line + "\n"), "\(line) missing from the agent's environment")
        }
    }

    /// A monitor past its timeout: op-status Timed Out, and the agent's `sleep 30` (a child of
    /// the agent, in its process group) is gone with it.
    @Test func aTimeoutKillsTheAgentsGroup() async throws {
        if Self.missing != nil { return }
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shell = try ExecutorShell(settings: Self.settings) { _ in }
        let resource = Self.dummy("slow", in: directory, ["OCF_CHECK_LEVEL": "10"])
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "start")).verdict.rc == .ok)
        let result = try await shell.perform(OperationRequest(resource: resource, action: "monitor", timeout: .seconds(1)))
        #expect(result.verdict == AgentVerdict(rc: .unknownError, status: .timedOut, exitReason: nil))
        #expect(result.execTime >= .seconds(1))
        // The result comes only once the group is gone, so a look right after it is enough.
        let sleeping = Self.processes(matching: "sleep 30", under: directory)
        #expect(sleeping.isEmpty, "the agent's sleep survived the timeout: \(sleeping)")
    }

    /// Processes whose environment names `directory` (the agent's state file path) running `command`.
    static func processes(matching command: String, under directory: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { Int($0) != nil }.filter { pid in
            let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard commandLine.replacingOccurrences(of: "\0", with: " ").hasPrefix(command) else { return false }
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return environment.contains(directory)
        }
    }

    @Test func exitReasonsComeFromTheAgent() async throws {
        if Self.missing != nil { return }
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shell = try ExecutorShell(settings: Self.settings) { _ in }
        let resource = Self.dummy("failing", in: directory, ["OCF_CHECK_LEVEL": "30"])
        _ = try await shell.perform(OperationRequest(resource: resource, action: "start"))
        let result = try await shell.perform(OperationRequest(resource: resource, action: "monitor"))
        #expect(result.verdict == AgentVerdict(rc: .unknownError, status: .done, exitReason: "hyperdrive quota reached"))
        let missing = AgentResource(id: "m", standard: .ocf, provider: "pacemaker", type: "NoSuchAgent", parameters: [:])
        let notInstalled = try await shell.perform(OperationRequest(resource: missing, action: "start"))
        #expect(notInstalled.verdict.rc == .notInstalled && notInstalled.verdict.status == .notInstalled)
    }

    /// cts-exec's collision check: Dummy with op_sleep fails "alternate universe collision" when
    /// two of its operations overlap. Two monitors at once on one resource run one after the other.
    @Test func operationsOnOneResourceNeverOverlap() async throws {
        if Self.missing != nil { return }
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shell = try ExecutorShell(settings: Self.settings) { _ in }
        let resource = Self.dummy("serial", in: directory, ["op_sleep": "1"])
        _ = try await shell.perform(OperationRequest(resource: resource, action: "start"))
        async let first = shell.perform(OperationRequest(resource: resource, action: "monitor"))
        async let second = shell.perform(OperationRequest(resource: resource, action: "monitor", timeout: .seconds(30)))
        let results = try await [first, second]
        #expect(results.map(\.verdict.rc) == [.ok, .ok], "\(results.map(\.verdict))")
        #expect(results.contains { $0.queueTime >= .milliseconds(900) }, "the second monitor did not wait for the first")
    }

    /// A recurring monitor reports its first result and then only changes; a stop cancels it.
    @Test func recurringMonitorReportsChangesOnlyAndStopCancelsIt() async throws {
        if Self.missing != nil { return }
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reports = Mutex<[OperationResult]>([])
        let shell = try ExecutorShell(settings: Self.settings) { result in reports.withLock { $0.append(result) } }
        let resource = Self.dummy("watched", in: directory)
        _ = try await shell.perform(OperationRequest(resource: resource, action: "start"))
        try shell.request(OperationRequest(resource: resource, action: "monitor", interval: .milliseconds(200)))
        func monitors() -> [OperationResult] { reports.withLock { $0 }.filter { $0.operation.interval > .zero } }
        try await waitUntil("the first monitor result") { monitors().count == 1 }
        // A few intervals with nothing changed: no report. (A wait for an absence needs a
        // window; a slow machine makes it see fewer runs, never a false failure.)
        try await Task.sleep(for: .seconds(1))
        #expect(monitors().map(\.verdict.rc) == [.ok])
        // The resource dies behind the executor's back: the change is reported.
        try FileManager.default.removeItem(atPath: directory + "/watched.state")
        try await waitUntil("the failure is reported") { monitors().count == 2 }
        #expect(monitors().map(\.verdict.rc) == [.ok, .notRunning])
        _ = try await shell.perform(OperationRequest(resource: resource, action: "stop"))
        #expect(monitors().last?.verdict.status == .cancelled)
        let count = monitors().count
        try await Task.sleep(for: .seconds(1))
        #expect(monitors().count == count, "the monitor ran on after the stop")
    }
}

/// cts-exec's LSB and daemon scenarios, on agents written for the test: an LSB init script
/// (status codes mapped to OCF), and an OCF agent whose start forks a daemon that keeps the
/// agent's stdout open (the start must end when the agent exits, and the daemon live on).
struct ExecutorClassTests {
    static func directory() throws -> String { try makeTemporaryDirectory("baton-executor") }

    /// Writes an executable shell script. A child process writes it, not this one: a child that
    /// another test forks while a descriptor of this process has the file open for writing
    /// holds it until its exec, and running the script meanwhile fails with ETXTBSY (the
    /// executor does not retry, as pacemaker-execd does not). Nothing of this process ever
    /// holds the file open this way.
    static func script(_ path: String, _ body: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        let writer = try SpawnedChild.spawn(
            "/bin/sh", ["-c", "printf '%s\\n' \"$1\" > \"$0\" && chmod 755 \"$0\"", path, "#!/bin/sh\n\(body)"],
            environment: ["PATH": "/usr/bin:/bin"], standardInput: null, standardOutput: null, standardError: null)
        guard writer.wait() == .exited(0) else { throw TestFailure("could not write \(path)") }
    }

    @Test func anLSBInitScript() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.script(directory + "/init.d/lsbdummy", """
            case "$1" in
              start) touch \(directory)/lsb.running; exit 0;;
              stop) rm -f \(directory)/lsb.running; exit 0;;
              status) [ -f \(directory)/lsb.running ] && exit 0; exit 3;;
              *) exit 3;;
            esac
            """)
        var settings = ExecutorSettings(baseEnvironment: ["PATH": "/usr/bin:/bin"])
        settings.initScriptDirectory = directory + "/init.d"
        let shell = try ExecutorShell(settings: settings) { _ in }
        let resource = AgentResource(id: "l1", standard: .lsb, provider: nil, type: "lsbdummy", parameters: [:])
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "monitor")).verdict.rc == .notRunning)
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "start")).verdict.rc == .ok)
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "monitor")).verdict.rc == .ok)
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "stop")).verdict.rc == .ok)
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "monitor")).verdict.rc == .notRunning)
        // An unknown action: LSB's 3 outside status means "unimplemented feature".
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "reload")).verdict.rc == .unimplementedFeature)
    }

    @Test func anAgentThatStartsADaemon() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.script(directory + "/ocf/resource.d/test/Daemon", """
            pidfile=$OCF_RESKEY_pidfile
            case "$1" in
              start) sleep 3600 & echo $! > "$pidfile"; echo started; exit 0;;
              stop) [ -f "$pidfile" ] && kill $(cat "$pidfile"); rm -f "$pidfile"; exit 0;;
              monitor) [ -f "$pidfile" ] && kill -0 $(cat "$pidfile") 2>/dev/null && exit 0; exit 7;;
              *) exit 3;;
            esac
            """)
        let settings = ExecutorSettings(ocfRoot: directory + "/ocf", baseEnvironment: ["PATH": "/usr/bin:/bin"])
        let shell = try ExecutorShell(settings: settings) { _ in }
        let resource = AgentResource(id: "daemon", standard: .ocf, provider: "test", type: "Daemon", parameters: ["pidfile": directory + "/daemon.pid"])
        let start = try await shell.perform(OperationRequest(resource: resource, action: "start", timeout: .seconds(120)))
        #expect(start.verdict.rc == .ok && String(decoding: start.standardOutput, as: UTF8.self) == "started\n")
        #expect(start.execTime < .seconds(100), "the start waited for the daemon it left behind")
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "monitor")).verdict.rc == .ok)
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "stop")).verdict.rc == .ok)
        #expect(try await shell.perform(OperationRequest(resource: resource, action: "monitor")).verdict.rc == .notRunning)
    }

    /// The systemd class's systemctl lines (SystemdTests runs them on a real systemd).
    @Test func systemdUnitsGoThroughSystemctl() {
        let invocation = AgentInvocation.of(
            AgentResource(id: "s", standard: .systemd, provider: nil, type: "chrony", parameters: [:]), action: "monitor",
            timeout: .seconds(20), meta: [:], featureSet: nil, settings: ExecutorSettings())
        #expect(invocation.arguments == ["is-active", "chrony.service"])
    }
}

/// cts-exec's queueing and SIGTERM scenarios through the executor.
struct ExecutorQueueingTests {
    static func agents() throws -> String {
        let directory = try makeTemporaryDirectory("baton-executor")
        try ExecutorClassTests.script(directory + "/ocf/resource.d/test/Slow", """
            case "$1" in
              start|stop|monitor) sleep 0.3; exit 0;;
              *) exit 3;;
            esac
            """)
        try ExecutorClassTests.script(directory + "/ocf/resource.d/test/Stubborn", """
            trap '' TERM
            sleep 300 &
            echo $! > "$OCF_RESKEY_pidfile"
            wait
            """)
        return directory
    }

    /// Beyond the process limit operations of different resources wait their turn: the wait
    /// is recorded as queue time, the agent's own run as exec time.
    @Test func operationsBeyondTheProcessLimitQueue() async throws {
        let directory = try Self.agents()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = ExecutorSettings(ocfRoot: directory + "/ocf", baseEnvironment: ["PATH": "/usr/bin:/bin"])
        let shell = try ExecutorShell(settings: settings, concurrencyMax: 1) { _ in }
        let results = try await withThrowingTaskGroup(of: OperationResult.self) { group in
            for index in 0..<3 {
                let resource = AgentResource(id: "slow\(index)", standard: .ocf, provider: "test", type: "Slow", parameters: [:])
                group.addTask { try await shell.perform(OperationRequest(resource: resource, action: "start", timeout: .seconds(120))) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.verdict.rc == .ok })
        #expect(results.allSatisfy { $0.execTime >= .milliseconds(250) })
        // One at a time: the last of three waited for the two before it.
        #expect(results.map(\.queueTime).max()! >= .milliseconds(500), "\(results.map(\.queueTime))")
    }

    /// An agent that ignores SIGTERM (and its child too): the timeout kills the whole group.
    @Test func anAgentIgnoringSigtermTimesOut() async throws {
        let directory = try Self.agents()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = ExecutorSettings(ocfRoot: directory + "/ocf", baseEnvironment: ["PATH": "/usr/bin:/bin"])
        let shell = try ExecutorShell(settings: settings) { _ in }
        let resource = AgentResource(id: "stubborn", standard: .ocf, provider: "test", type: "Stubborn", parameters: ["pidfile": directory + "/pid"])
        let result = try await shell.perform(OperationRequest(resource: resource, action: "start", timeout: .milliseconds(500)))
        #expect(result.verdict.status == .timedOut)
        let pid = try #require(Int32(String(contentsOfFile: directory + "/pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        let alive = stat.split(separator: ")").last.map { !$0.hasPrefix(" Z") } ?? false
        if alive { kill(pid, SIGKILL) }
        #expect(!alive, "the agent's child outlived the timeout")
    }
}
