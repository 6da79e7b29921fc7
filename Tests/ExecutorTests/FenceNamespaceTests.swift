import ChildProcess
import Executor
import ExecutorShell
import Foundation
import Testing
import TestSupport

/// Our fence agent for the namespace test bed, fence_baton_netns, on a "node" that is a
/// network namespace this test creates: off kills every process in it (one in its own mount
/// namespace too), on runs its start command there, reboot does both, status and list say so.
struct FenceNamespaceTests {
    static var missing: String? {
        skipReason("FenceNamespaceTests", skipping: "the namespace fence agent", [
            Requirement.root("network namespaces, killing their processes"), Requirement.ipCommand,
            Requirement.executable("/usr/bin/unshare", "apt-get install util-linux"),
        ])
    }

    static func command(_ arguments: [String]) async -> (Int32, String) {
        let runner = try! ChildProcessRunner(concurrencyMax: 2)
        defer { runner.shutdown() }
        let outcome = await runner.run(ChildProcessSpec(
            executable: "/bin/sh", arguments: ["-c", arguments.map { "'\($0)'" }.joined(separator: " ")],
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: Patience.deadline))
        guard case .exited(let code) = outcome.exit else { return (-1, "") }
        return (code, outcome.standardOutputText)
    }

    /// A process that still runs (a zombie waiting for init to reap it does not).
    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    static func pids(_ namespace: String) async -> [Int32] {
        await command(["ip", "netns", "pids", namespace]).1.split(separator: "\n").compactMap { Int32($0) }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes))) func offKillsTheNamespacesProcessesAndOnStartsThem() async throws {
        if Self.missing != nil { return }
        let namespace = "bfence-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        #expect(await Self.command(["ip", "netns", "add", namespace]).0 == 0)
        do {
            try await Self.exercise(namespace)
        } catch {
            await Self.remove(namespace)
            throw error
        }
        await Self.remove(namespace)
    }

    /// Whatever the test left running there, then the namespace.
    static func remove(_ namespace: String) async {
        _ = await command(["/bin/sh", "-c", "for p in $(ip netns pids \(namespace)); do kill -KILL $p; done; ip netns del \(namespace)"])
    }

    static func exercise(_ namespace: String) async throws {
        let runner = try FenceRunner(agentDirectory: BuildPaths.packageRoot.path + "/scripts")
        // The node's "daemons": one plain, one in a mount namespace of its own.
        let device = try await runner.device(id: "netns", agent: "fence_baton_netns", parameters: [
            "pcmk_host_map": "nodeA:\(namespace)", "netns_prefix": "bfence-",
            "start_command": "sleep 1000 & exec unshare --mount --propagation private sleep 1001",
            // The agent polls for the node to go off or come on this long (a loaded machine).
            "power_wait": String(Patience.deadlineSeconds),
        ])
        #expect(device.capabilities == FenceCapabilities(list: true, status: true, reboot: true, on: true, hostArgument: "port"))
        #expect(device.hostCheck == .staticList)

        guard case .failed(2, _) = await runner.fence(device, action: "status", target: "nodeA").result else {
            Issue.record("an empty namespace is not off"); return
        }
        #expect(await runner.fence(device, action: "on", target: "nodeA").result == .succeeded)
        try await waitUntil("both processes run in \(namespace)") { await Self.pids(namespace).count == 2 }
        let first = await Self.pids(namespace)
        #expect(await runner.fence(device, action: "status", target: "nodeA").result == .succeeded)
        let list = await runner.fence(device, action: "list", target: nil)
        #expect(FenceDevice.listTargets(list.output).contains(namespace))

        #expect(await runner.fence(device, action: "off", target: "nodeA").result == .succeeded)
        #expect(await Self.pids(namespace).isEmpty)
        for pid in first { #expect(!Self.alive(pid), "process \(pid) of the fenced node survived") }

        #expect(await runner.fence(device, action: "reboot", target: "nodeA").result == .succeeded)
        try await waitUntil("the node's processes run again") { await Self.pids(namespace).count == 2 }
        #expect(Set(await Self.pids(namespace)).isDisjoint(with: first))
        #expect(await runner.fence(device, action: "off", target: "nodeA").result == .succeeded)
        #expect(await Self.pids(namespace).isEmpty)
        // Not in the map: refused without running the agent.
        #expect(await runner.fence(device, action: "off", target: "nodeB").runs.isEmpty)
    }
}
