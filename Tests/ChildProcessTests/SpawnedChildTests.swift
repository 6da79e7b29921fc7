import CChildProcess
import ChildProcess
import Foundation
import Glibc
import Testing
import TestSupport

/// The long-running child handle on real children: it is reaped once, and a status another
/// waiter took ends it as statusLost instead of a crash.
struct SpawnedChildTests {
    static func null() throws -> Int32 {
        let fd = open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("cannot open /dev/null") }
        return fd
    }

    @Test func exitCodeUsageAndPathLookup() throws {
        let sink = try Self.null()
        defer { close(sink) }
        // "sh" has no slash: looked up in PATH.
        let child = try SpawnedChild.spawn("sh", ["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3"],
                                           standardOutput: sink, standardError: sink)
        #expect(child.wait() == .exited(3))
        let usage = try #require(child.usage)
        #expect(usage.peakKilobytes > 0)
        #expect(usage.cpuSeconds > 0)
        // Reaped: later calls give the same end without waiting again.
        #expect(child.poll() == .exited(3))
        #expect(child.killAndReap() == .exited(3))
        #expect(ChildExit.exited(3).shellStatus == 3)
        #expect(ChildExit.signaled(9).shellStatus == 137)
    }

    @Test func aMissingProgramIsAnErrorNamingIt() throws {
        let sink = try Self.null()
        defer { close(sink) }
        #expect(throws: SpawnError.self) {
            try SpawnedChild.spawn("baton-no-such-program-here", [], standardOutput: sink, standardError: sink)
        }
        do {
            _ = try SpawnedChild.spawn("/nonexistent/baton-x", [], standardOutput: sink, standardError: sink)
            Issue.record("spawned a program that does not exist")
        } catch {
            #expect(error.description.contains("/nonexistent/baton-x"), "\(error)")
        }
    }

    /// Another waiter of this process takes the status first (as a test helper's waitpid on a
    /// stale pid did): the child ends as statusLost, and signalling it afterwards is a no-op.
    @Test func aStatusTakenElsewhereIsStatusLostNotACrash() throws {
        let sink = try Self.null()
        defer { close(sink) }
        let child = try SpawnedChild.spawn("/bin/true", [], standardOutput: sink, standardError: sink)
        var status: Int32 = 0
        var taken: pid_t
        repeat { taken = waitpid(child.pid, &status, 0) } while taken < 0 && errno == EINTR
        #expect(taken == child.pid)
        #expect(child.poll() == .statusLost)
        child.signal(SIGKILL)
        #expect(child.killAndReap() == .statusLost)
    }

    /// killAndReap ends the child's whole process group: what it forked goes too.
    @Test func killAndReapEndsWhatTheChildForked() async throws {
        let directory = NSTemporaryDirectory() + "baton-spawned-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = open(directory + "/out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw TestFailure("cannot open \(directory)/out") }
        defer { close(output) }
        let child = try SpawnedChild.spawn("/bin/sh", ["-c", "sleep 300 & echo $! > \(directory)/grandchild; wait"],
                                           standardOutput: output, standardError: output)
        var grandchild: pid_t = 0
        try await waitUntil("the child writes its grandchild's pid") {
            grandchild = pid_t((try? String(contentsOfFile: directory + "/grandchild", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            return grandchild > 0
        }
        #expect(child.poll() == nil)
        #expect(child.killAndReap() == .signaled(SIGKILL))
        try await waitUntil("the grandchild (pid \(grandchild)) is gone") { baton_group_has_live_process(child.pid) == 0 }
    }
}

/// The tests' teardown of a child (`TestChild.terminate`): one that ends on SIGTERM is reaped
/// with its status; one that ignores SIGTERM (as a hung corosync-qdevice did) is killed at the
/// limit instead of being waited for forever.
struct TestChildTerminateTests {
    @Test func aChildThatEndsOnSIGTERMIsReapedAndOneThatIgnoresItIsKilled() async throws {
        let null = try SpawnedChildTests.null()
        defer { close(null) }
        let polite = try TestChild.spawn(["/bin/sh", "-c", "exec sleep 60"], stdout: null, stderr: null)
        #expect(polite.terminate(within: .seconds(30)) == 128 + SIGTERM)
        // It says when its trap is set (a SIGTERM before that would end it).
        let ready = FileManager.default.temporaryDirectory.path + "/baton-terminate-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: ready) }
        let stubborn = try TestChild.spawn(["/bin/sh", "-c", "trap '' TERM; : > \(ready); while :; do sleep 1; done"], stdout: null, stderr: null)
        try await waitUntil("the stubborn child's trap set") { FileManager.default.fileExists(atPath: ready) }
        let started = ContinuousClock.now
        #expect(stubborn.terminate(within: .milliseconds(500)) == 128 + SIGKILL)
        #expect(ContinuousClock.now - started >= .milliseconds(500), "SIGTERM was given its time first")
    }
}
