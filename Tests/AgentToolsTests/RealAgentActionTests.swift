import AgentTools
import AgentToolsShell
import ChildProcess
import Executor
import ExecutorShell
import Foundation
import Testing
import TestSupport

/// Actions of real agents beyond start/stop/monitor: ocf:pacemaker:Dummy's migrate_to,
/// migrate_from and reload; ocf:pacemaker:ping and ocf:heartbeat:IPaddr2 run inside a network
/// namespace the test creates (no route out), ping setting its attribute through attrd_updater.
struct RealAgentActionTests {
    static func shell(_ directory: String, environment: [String: String], ocfRoot: String = "/usr/lib/ocf") throws -> ExecutorShell {
        try ExecutorShell(settings: ExecutorSettings(ocfRoot: ocfRoot, resourceTemporaryDirectory: directory + "/rsctmp", baseEnvironment: environment)) { _ in }
    }

    @Test func dummyMigratesAndReloads() async throws {
        let agent = "/usr/lib/ocf/resource.d/pacemaker/Dummy"
        if skipReason("RealAgentActionTests", skipping: "Dummy", [Requirement.executable(agent, "apt-get install pacemaker")]) != nil { return }
        let directory = try makeTemporaryDirectory("baton-actions")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shell = try Self.shell(directory, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        let source = AgentResource(id: "vm", standard: .ocf, provider: "pacemaker", type: "Dummy", parameters: ["state": directory + "/source.state"])
        let target = AgentResource(id: "vm", standard: .ocf, provider: "pacemaker", type: "Dummy", parameters: ["state": directory + "/target.state"])
        let migration = ["migrate_source": "node1", "migrate_target": "node2"]
        func rc(_ resource: AgentResource, _ action: String, _ meta: [String: String] = [:]) async throws -> OCFReturnCode {
            try await shell.perform(OperationRequest(resource: resource, action: action, meta: meta)).verdict.rc
        }
        #expect(try await rc(source, "start") == .ok)
        #expect(try await rc(source, "migrate_to", migration) == .ok)
        #expect(try await rc(target, "migrate_from", migration) == .ok)
        #expect(try await rc(target, "monitor") == .ok)
        #expect(try await rc(source, "stop") == .ok)
        #expect(try await rc(source, "monitor") == .notRunning)
        #expect(try await rc(target, "reload") == .ok)
        #expect(try await rc(target, "reload-agent") == .ok)
        #expect(try await rc(target, "monitor") == .ok)
    }

    /// A network namespace with a veth pair inside it (10.213.0.1/24 on v0) and an OCF root whose agents
    /// run inside it (wrappers calling `ip netns exec`, the real agents and their library).
    struct Namespace {
        let name: String
        let ocfRoot: String

        static func make(directory: String, agents: [(provider: String, type: String)]) async throws -> Namespace {
            let name = "bagent-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
            for command in ["ip netns add \(name)", "ip -n \(name) link set lo up", "ip -n \(name) link add v0 type veth peer name v1",
                            "ip -n \(name) link set v1 up", "ip -n \(name) link set v0 up", "ip -n \(name) addr add 10.213.0.1/24 dev v0"] {
                let (code, output) = await shellCommand(command)
                guard code == 0 else {
                    // Not left behind when the set-up fails half-way.
                    await Namespace(name: name, ocfRoot: "").remove()
                    throw TestFailure("\(command): \(output)")
                }
            }
            let root = directory + "/ocf"
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(atPath: root + "/lib", withDestinationPath: "/usr/lib/ocf/lib")
                // Agents source the heartbeat directory's hidden shell libraries through OCF_ROOT.
                try FileManager.default.createDirectory(atPath: root + "/resource.d/heartbeat", withIntermediateDirectories: true)
                for library in try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/ocf/resource.d/heartbeat") where library.hasPrefix(".") {
                    try FileManager.default.createSymbolicLink(atPath: root + "/resource.d/heartbeat/" + library,
                                                               withDestinationPath: "/usr/lib/ocf/resource.d/heartbeat/" + library)
                }
                for (provider, type) in agents {
                    try FileManager.default.createDirectory(atPath: "\(root)/resource.d/\(provider)", withIntermediateDirectories: true)
                    let wrapper = "\(root)/resource.d/\(provider)/\(type)"
                    try "#!/bin/sh\nexec ip netns exec \(name) /usr/lib/ocf/resource.d/\(provider)/\(type) \"$@\"\n"
                        .write(toFile: wrapper, atomically: true, encoding: .utf8)
                    chmod(wrapper, 0o755)
                    // A child another test forked while the wrapper was open for writing holds it
                    // open until its exec, and the executor's spawn would meet ETXTBSY (it does
                    // not retry, as pacemaker-execd does not). TestChild retries until a run
                    // succeeds; once one has, nothing holds the file for writing any more.
                    _ = try await TestChild.run([wrapper, "meta-data"])
                }
            } catch {
                await Namespace(name: name, ocfRoot: "").remove()
                throw error
            }
            return Namespace(name: name, ocfRoot: root)
        }

        func remove() async {
            _ = await shellCommand("for p in $(ip netns pids \(name)); do kill -KILL $p; done; ip netns del \(name)")
        }
    }

    static func shellCommand(_ command: String) async -> (Int32, String) {
        let runner = try! ChildProcessRunner(concurrencyMax: 2)
        defer { runner.shutdown() }
        let outcome = await runner.run(ChildProcessSpec(
            executable: "/bin/sh", arguments: ["-c", command], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: Patience.deadline))
        guard case .exited(let code) = outcome.exit else { return (-1, "\(outcome.exit)") }
        return (code, outcome.standardOutputText + outcome.standardErrorText)
    }

    static var namespaceMissing: String? {
        skipReason("RealAgentActionTests", skipping: "agents in a network namespace", [
            Requirement.root("network namespaces"), Requirement.ipCommand,
            Requirement.executable("/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "apt-get install resource-agents"),
            Requirement.executable("/usr/lib/ocf/resource.d/pacemaker/ping", "apt-get install pacemaker"),
            Requirement.executable("/usr/bin/ping", "apt-get install iputils-ping"),
            Requirement.built("baton-agent-tools"),
        ])
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes))) func pingAndIPaddr2InANamespace() async throws {
        if Self.namespaceMissing != nil { return }
        let directory = try makeTemporaryDirectory("baton-actions")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (tools, store) = try AgentToolsTests.installation(in: directory)
        let namespace = try await Namespace.make(directory: directory, agents: [("heartbeat", "IPaddr2"), ("pacemaker", "ping")])
        let environment = AgentToolsInstallation.environment(["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], tools: tools, store: store.directory)
        let shell: ExecutorShell
        do {
            shell = try Self.shell(directory, environment: environment, ocfRoot: namespace.ocfRoot)
        } catch {
            await namespace.remove()
            throw error
        }
        let meta = ["on_node": "node1"]
        func perform(_ resource: AgentResource, _ action: String) async throws -> OperationResult {
            try await shell.perform(OperationRequest(resource: resource, action: action, meta: meta, featureSet: "3.16.1"))
        }

        let address = AgentResource(id: "vip", standard: .ocf, provider: "heartbeat", type: "IPaddr2",
                                    parameters: ["ip": "10.213.0.50", "cidr_netmask": "24", "nic": "v0"])
        let ping = AgentResource(id: "ping", standard: .ocf, provider: "pacemaker", type: "ping",
                                 parameters: ["host_list": "10.213.0.1 10.213.0.99", "multiplier": "1000", "name": "pingd",
                                              "dampen": "0", "timeout": "1", "attempts": "1",
                                              "state": directory + "/ping.state"])
        do {
            let start = try await perform(address, "start")
            #expect(start.verdict.rc == .ok, "IPaddr2 start: \(start.verdict), stdout \(String(decoding: start.standardOutput, as: UTF8.self)), stderr \(String(decoding: start.standardError, as: UTF8.self))")
            #expect(await Self.shellCommand("ip -n \(namespace.name) -o addr show dev v0").1.contains("10.213.0.50/24"))
            #expect(try await perform(address, "monitor").verdict.rc == .ok)

            // 10.213.0.1 answers, 10.213.0.99 does not: a score of 1000, as a transient
            // attribute of node1.
            let pinged = try await perform(ping, "start")
            #expect(pinged.verdict.rc == .ok, "ping start: \(String(decoding: pinged.standardError, as: UTF8.self))")
            #expect(try store.read()[AttributeTable.Key(scope: .status, node: "node1", name: "pingd")] == "1000")
            #expect(try await perform(ping, "monitor").verdict.rc == .ok)
            #expect(try await perform(ping, "stop").verdict.rc == .ok)
            #expect(try store.read()[AttributeTable.Key(scope: .status, node: "node1", name: "pingd")] == nil)

            #expect(try await perform(address, "stop").verdict.rc == .ok)
            #expect(!(await Self.shellCommand("ip -n \(namespace.name) -o addr show dev v0").1.contains("10.213.0.50")))
            #expect(try await perform(address, "monitor").verdict.rc == .notRunning)
        } catch {
            await namespace.remove()
            throw error
        }
        await namespace.remove()
    }
}
