import Executor
import ExecutorShell
import Foundation
import Glibc
import Testing
import TestSupport

/// A real systemd (Debian's) as PID 1 of private PID, mount and cgroup namespaces, in a cgroup
/// of its own under the host's cgroup2 hierarchy, knowing only this test's units: the host's
/// unit directories, /tmp and /var/tmp are hidden under empty tmpfs in its mount namespace and
/// every unit has DefaultDependencies=no, so that nothing of the host's (sysinit.target's
/// tmpfiles, sysctl, journald, ...) can be started by it. Its systemctl is the real one, entered
/// into its namespaces (`nsenter`): on a node systemd is PID 1 and systemctl reaches it directly.
/// Stopped through the cgroup's `cgroup.kill`: every process it started, and only those.
final class PrivateSystemd {
    let directory: String
    let cgroup: String
    let launcher: TestChild
    /// systemd's pid on the host.
    private(set) var pid: pid_t = 0
    /// A `systemctl` that talks to this systemd.
    var systemctl: String { directory + "/systemctl" }

    /// Units of this instance: NAME -> [Service] lines.
    static let units: [String: String] = [
        "baton-ok.service": "ExecStart=/bin/sleep 1000",
        "baton-fail.service": "Type=oneshot\nExecStart=/bin/false",
        "baton-slow.service": "Type=oneshot\nExecStart=/bin/sleep 300\nTimeoutStartSec=infinity",
        // Activating for 3 s (its start process runs), then active.
        "baton-late.service": "Type=forking\nExecStart=/bin/sh -c \"sleep 3; sleep 1000 &\"\nTimeoutStartSec=infinity",
        // Deactivating as long as its stop command runs.
        "baton-lingering.service": "ExecStart=/bin/sleep 1000\nExecStop=/bin/sleep 1000\nTimeoutStopSec=infinity",
    ]

    /// Why a systemd instance cannot run here, nil when it can (as far as can be seen before
    /// trying: root, the programs, a writable cgroup2 hierarchy with cgroup.kill).
    static var unavailable: String? {
        skipReason("SystemdTests", skipping: "the systemd class", [
            Requirement.root("namespaces, cgroups and systemd as PID 1"),
            Requirement.executable("/lib/systemd/systemd", "apt-get install systemd"),
            Requirement.executable("/usr/bin/unshare", "apt-get install util-linux"),
            Requirement.executable("/usr/bin/nsenter", "apt-get install util-linux"),
            cgroupRoot == nil ? "no writable cgroup2 hierarchy (looked at /sys/fs/cgroup and /sys/fs/cgroup/unified)" : nil,
        ].compactMap { $0 })
    }

    /// The host's cgroup2 mount, where a child cgroup can be made.
    static var cgroupRoot: String? {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[2] == "cgroup2", fields[3].hasPrefix("rw") else { continue }
            let path = String(fields[1])
            if path == "/sys/fs/cgroup" || path == "/sys/fs/cgroup/unified" { return path }
        }
        return nil
    }

    init() throws {
        directory = try makeTemporaryDirectory("baton-systemd")
        cgroup = Self.cgroupRoot! + "/baton-systemd-\(getpid())-\(UUID().uuidString.prefix(8))"
        guard mkdir(cgroup, 0o755) == 0 else {
            throw TestFailure("mkdir \(cgroup): \(String(cString: strerror(errno)))")
        }
        var lines = [
            "#!/bin/sh", "set -e", "mount --make-rprivate /",
            "for d in /usr/lib/systemd/system /lib/systemd/system /etc/systemd/system /usr/local/lib/systemd/system /tmp /var/tmp; do",
            "  if [ -d \"$d\" ] && ! [ -L \"$d\" ]; then mount -t tmpfs -o mode=755 tmpfs \"$d\"; fi",
            "done",
            "mount -t cgroup2 cgroup2 /sys/fs/cgroup",
            "mount -t tmpfs -o mode=755 tmpfs /run",
            "mkdir -p /run/systemd/system && cd /run/systemd/system",
            "printf '[Unit]\\nDefaultDependencies=no\\n' > baton-test.target",
        ]
        for (name, service) in Self.units.sorted(by: { $0.key < $1.key }) {
            let text = "[Unit]\nDefaultDependencies=no\n[Service]\n\(service)\nStandardOutput=null\nStandardError=null\n"
            lines.append("printf '\(text.replacingOccurrences(of: "\n", with: "\\n"))' > \(name)")
        }
        lines += ["export container=baton", "exec /lib/systemd/systemd --system --unit=baton-test.target"]
        try (lines.joined(separator: "\n") + "\n").write(toFile: directory + "/inner.sh", atomically: true, encoding: .utf8)
        chmod(directory + "/inner.sh", 0o755)
        let log = open(directory + "/log", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        defer { close(log) }
        // The launcher moves itself into the cgroup, then becomes unshare: the new cgroup
        // namespace is rooted there, and systemd sees that cgroup as its whole hierarchy. The
        // script is read by sh, not exec'd: another test's child spawned while it was written
        // may still hold it open for writing ("Text file busy").
        do {
            launcher = try TestChild.spawn([
                "/bin/sh", "-c",
                "echo $$ > \(cgroup)/cgroup.procs && exec /usr/bin/unshare --cgroup --pid --fork --kill-child --mount --mount-proc /bin/sh \(directory)/inner.sh",
            ], stdout: log, stderr: log)
        } catch {
            rmdir(cgroup)
            throw error
        }
    }

    /// Waits for systemd to run (its init.scope, then `systemctl is-system-running`), and
    /// writes the systemctl wrapper.
    func start() async throws {
        try await waitUntil("systemd in \(cgroup) starts", interval: .milliseconds(100)) {
            guard let text = try? String(contentsOfFile: cgroup + "/init.scope/cgroup.procs", encoding: .utf8),
                  let first = text.split(separator: "\n").first, let pid = pid_t(first) else {
                if launcher.poll() != nil { throw TestFailure("systemd ended at its start: \(log)") }
                return false
            }
            self.pid = pid
            return true
        }
        try "#!/bin/sh\nexec /usr/bin/nsenter -t \(pid) -m -p -- /usr/bin/systemctl \"$@\"\n"
            .write(toFile: systemctl, atomically: true, encoding: .utf8)
        chmod(systemctl, 0o755)
        try await waitUntil("systemd \(pid) is running", interval: .milliseconds(100)) {
            let state = try await TestChild.run([systemctl, "is-system-running"])
            return ["running", "degraded"].contains(state.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    var log: String { (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? "" }

    /// Kills every process of the cgroup (systemd, its units, the launcher), waits until it is
    /// empty and removes it and the directory.
    func stop() {
        if let kill = fopen(cgroup + "/cgroup.kill", "w") {
            fputs("1", kill)
            fclose(kill)
        }
        _ = try? launcher.finishBlocking(within: Patience.deadline, "the systemd launcher ends")
        let start = ContinuousClock.now
        while ContinuousClock.now - start < Patience.deadline {
            let events = (try? String(contentsOfFile: cgroup + "/cgroup.events", encoding: .utf8)) ?? ""
            if events.contains("populated 0") { break }
            usleep(20_000)
        }
        // Depth first: systemd's own cgroups under ours.
        if let paths = FileManager.default.enumerator(atPath: cgroup)?.compactMap({ $0 as? String }) {
            for path in paths.sorted(by: { $0.count > $1.count }) where path.hasSuffix(".scope") || path.hasSuffix(".slice") || path.hasSuffix(".service") {
                rmdir(cgroup + "/" + path)
            }
        }
        rmdir(cgroup)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The systemd class on a real systemd instance: units started, monitored and stopped through
/// systemctl as pacemaker-execd drives them over D-Bus, a unit whose start fails, a unit that
/// does not exist, a start that outlasts its timeout, units activating and deactivating
/// (pending) and a start polled until its unit is active.
struct SystemdTests {
    @Test(.timeLimit(.minutes(Patience.testMinutes))) func unitsOfARealSystemd() async throws {
        if PrivateSystemd.unavailable != nil { return }
        let systemd = try PrivateSystemd()
        defer { systemd.stop() }
        do {
            try await systemd.start()
        } catch {
            Issue.record("systemd did not come up: \(error); its output: \(systemd.log)")
            return
        }
        let shell = try ExecutorShell(settings: ExecutorSettings(
            resourceTemporaryDirectory: systemd.directory + "/rsctmp", systemctl: systemd.systemctl,
            baseEnvironment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], agentToolsDirectory: nil)) { _ in }
        func unit(_ name: String) -> AgentResource {
            AgentResource(id: name, standard: .systemd, provider: nil, type: name, parameters: [:])
        }
        func perform(_ name: String, _ action: String, timeout: Duration = Patience.deadline) async throws -> AgentVerdict {
            try await shell.perform(OperationRequest(resource: unit(name), action: action, timeout: timeout)).verdict
        }
        let done = { (rc: OCFReturnCode) in AgentVerdict(rc: rc, status: .done, exitReason: nil) }
        // A probe, start, monitor, stop, monitor of a unit that runs.
        #expect(try await perform("baton-ok", "monitor") == done(.notRunning))
        #expect(try await perform("baton-ok", "start") == done(.ok))
        #expect(try await perform("baton-ok", "monitor") == done(.ok))
        #expect(try await perform("baton-ok", "stop") == done(.ok))
        #expect(try await perform("baton-ok", "monitor") == done(.notRunning))
        // A unit whose start fails: an error, and the unit (failed) is not running.
        #expect(try await perform("baton-fail", "start") == done(.unknownError))
        #expect(try await perform("baton-fail", "monitor") == done(.notRunning))
        // No such unit: not installed for a start, a stop succeeds, a monitor finds it stopped.
        #expect(try await perform("baton-none", "start") == AgentVerdict(rc: .notInstalled, status: .notInstalled, exitReason: nil))
        #expect(try await perform("baton-none", "stop") == done(.ok))
        #expect(try await perform("baton-none", "monitor") == done(.notRunning))
        // A start that outlasts its timeout: the unit is still activating when the time is up,
        // Timed Out; a monitor then finds it pending (rc 193, op-status -1) as Pacemaker does,
        // and a stop ends it.
        let pending = AgentVerdict(rc: .unknown, status: .pending, exitReason: nil)
        let slow = try await perform("baton-slow", "start", timeout: .seconds(2))
        #expect(slow.status == .timedOut)
        #expect(try await perform("baton-slow", "monitor") == pending)
        #expect(try await perform("baton-slow", "stop") == done(.ok))
        #expect(try await perform("baton-slow", "monitor") == done(.notRunning))
        // A start that settles after a while: polled while the unit activates, ok once active.
        let late = try await shell.perform(OperationRequest(resource: unit("baton-late"), action: "start", timeout: Patience.deadline))
        #expect(late.verdict == done(.ok))
        #expect(late.execTime >= .seconds(3))
        #expect(try await perform("baton-late", "monitor") == done(.ok))
        #expect(try await perform("baton-late", "stop") == done(.ok))
        // A stop whose unit stays deactivating: Timed Out, and a monitor finds it pending.
        #expect(try await perform("baton-lingering", "start") == done(.ok))
        #expect(try await perform("baton-lingering", "stop", timeout: .seconds(2)).status == .timedOut)
        #expect(try await perform("baton-lingering", "monitor") == pending)
    }
}
