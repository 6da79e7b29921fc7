import AgentTools
import AgentToolsShell
import ChildProcess
import Executor
import ExecutorShell
import Foundation
import Testing
import TestSupport

/// The agent tools (baton-agent-tools as crm_attribute, crm_master, attrd_updater, crm_node) run
/// as agents run them: the real binary through its symbolic links, on a file store.
struct AgentToolsTests {
    static let crmAttribute = "/usr/sbin/crm_attribute"

    /// A tool directory (the links) and a store holding node1 (id 1) as the local node and
    /// node2 (id 2, lost), in a new temporary directory.
    static func installation() throws -> (directory: String, tools: String, store: FileAttributeStore) {
        let directory = try makeTemporaryDirectory("baton-agent-tools")
        let (tools, store) = try installation(in: directory)
        return (directory, tools, store)
    }

    /// The same in `directory` (DIRECTORY/sbin, DIRECTORY/store).
    static func installation(in directory: String) throws -> (tools: String, store: FileAttributeStore) {
        let tools = directory + "/sbin"
        try AgentToolsInstallation.install(executable: BuildPaths.product("baton-agent-tools"), in: tools)
        let store = FileAttributeStore(directory: directory + "/store")
        try store.create()
        try store.transaction { table in
            table.localNode = "node1"
            table.members = [AttributeTable.Member(id: 1, name: "node1"), AttributeTable.Member(id: 2, name: "node2", state: "lost")]
        }
        return (tools, store)
    }

    static var missing: String? {
        skipReason("AgentToolsTests", skipping: "the agent tools", [Requirement.built("baton-agent-tools")])
    }

    struct Run: Equatable, CustomStringConvertible {
        let exit: Int32
        let standardOutput: String
        let standardError: String
        var description: String { "exit \(exit), stdout '\(standardOutput)', stderr '\(standardError)'" }
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) async -> Run {
        let runner = try! ChildProcessRunner(concurrencyMax: 4)
        defer { runner.shutdown() }
        let outcome = await runner.run(ChildProcessSpec(
            executable: executable, arguments: arguments, environment: environment, timeout: Patience.deadline))
        guard case .exited(let code) = outcome.exit else { return Run(exit: -1, standardOutput: "\(outcome.exit)", standardError: "") }
        return Run(exit: code, standardOutput: outcome.standardOutputText, standardError: outcome.standardErrorText)
    }

    /// The same crm_attribute command lines against Pacemaker's own crm_attribute on a CIB file
    /// (CIB_file: it reads and writes the file, no cluster) and against ours on the store: the
    /// same stdout, stderr and exit status, for node attributes, cluster options, transient
    /// attributes and promotion scores, found, missing, defaulted, deleted, and for an unknown
    /// node and a promotion score outside an agent.
    @Test func crmAttributeAnswersAsPacemakersOnACIBFile() async throws {
        if Self.missing != nil { return }
        if skipReason("AgentToolsTests", skipping: "the comparison with Pacemaker's crm_attribute",
                      [Requirement.executable(Self.crmAttribute, "apt-get install pacemaker-cli-utils")]) != nil { return }
        let (directory, tools, store) = try Self.installation()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cibFile = directory + "/cib.xml"
        try """
            <cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
              <configuration><crm_config/><nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes><resources/><constraints/></configuration>
              <status><node_state id="1" uname="node1"/><node_state id="2" uname="node2"/></status>
            </cib>
            """.write(toFile: cibFile, atomically: true, encoding: .utf8)
        let base = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        let agent = ["OCF_RESOURCE_INSTANCE": "S"]
        let onNode = ["OCF_RESOURCE_INSTANCE": "S", "OCF_RESKEY_CRM_meta_on_node": "node1"]
        let cases: [([String], [String: String])] = [
            (["-N", "node1", "-n", "loc", "-G"], [:]),
            (["-N", "node1", "-n", "loc", "-v", "office", "-l", "forever"], [:]),
            (["-N", "node1", "-n", "loc", "-G"], [:]),
            (["--node=node1", "--name", "loc", "--query", "-q"], [:]),
            (["-N", "node1", "-n", "loc", "-G", "-d", "dflt"], [:]),
            (["-N", "node1", "-n", "nothing", "-G", "-d", "dflt"], [:]),
            (["-n", "prop", "-v", "3"], [:]),
            (["-n", "prop", "-G"], [:]),
            (["-Gq", "-n", "prop"], [:]),
            (["-N", "node1", "-n", "x", "-l", "reboot", "-v", "7"], [:]),
            (["-N", "node1", "-n", "x", "-l", "reboot", "-G"], [:]),
            (["-N", "node2", "-n", "x", "-l", "reboot", "-G"], [:]),
            (["-N", "node1", "-p", "-v", "10"], agent),
            (["-N", "node1", "-p", "-G"], agent),
            (["-N", "node1", "--promotion=S2", "-v", "3"], [:]),
            (["-N", "node1", "-n", "master-S2", "-l", "reboot", "-G", "-q"], [:]),
            (["-p", "-G", "-q"], onNode),
            (["-p", "-v", "12"], onNode),
            (["-N", "node1", "-p", "-G"], agent),
            (["-N", "nodeX", "-n", "loc", "-G"], [:]),
            (["-p", "-G"], [:]),
            (["-N", "node1", "-n", "loc", "-D"], [:]),
            (["-N", "node1", "-n", "loc", "-D"], [:]),
            (["-N", "node1", "-n", "loc", "-G"], [:]),
            (["-n", "prop", "-D"], [:]),
            (["-n", "prop", "-D", "-q"], [:]),
            (["-N", "node1", "-D"], [:]),
        ]
        for (arguments, extra) in cases {
            let theirs = await Self.run(Self.crmAttribute, arguments, environment: base.merging(extra) { $1 }.merging(["CIB_file": cibFile]) { $1 })
            let ours = await Self.run(tools + "/crm_attribute", arguments, environment: base.merging(extra) { $1 }
                .merging([AgentToolsInstallation.storeVariable: store.directory]) { $1 })
            #expect(ours == theirs, "crm_attribute \(arguments.joined(separator: " ")) \(extra): Pacemaker's \(theirs), ours \(ours)")
        }
    }

    /// crm_master (Pacemaker's script: crm_attribute -n master-INSTANCE --lifetime forever),
    /// attrd_updater (transient attributes, its query lines) and crm_node (-n, -l, -p, -q, -i)
    /// as Pacemaker 2.1.5 prints them.
    @Test func crmMasterAttrdUpdaterAndCrmNode() async throws {
        if Self.missing != nil { return }
        let (directory, tools, store) = try Self.installation()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = ["PATH": "/usr/bin:/bin", AgentToolsInstallation.storeVariable: store.directory]
        let agent = environment.merging(["OCF_RESOURCE_INSTANCE": "db:0", "OCF_RESKEY_CRM_meta_on_node": "node1"]) { $1 }
        func tool(_ name: String, _ arguments: [String], _ env: [String: String] = environment) async -> Run {
            await Self.run(tools + "/" + name, arguments, environment: env)
        }
        #expect(await tool("crm_master", ["-v", "100"], agent) == Run(exit: 0, standardOutput: "", standardError: ""))
        #expect(try store.read()[AttributeTable.Key(scope: .nodes, node: "node1", name: "master-db:0")] == "100")
        #expect(await tool("crm_master", ["-l", "reboot", "-v", "5"], agent).exit == 0)
        #expect(await tool("crm_master", ["-l", "reboot", "-G", "-q"], agent) == Run(exit: 0, standardOutput: "5\n", standardError: ""))
        #expect(await tool("crm_master", ["-r", "web", "-N", "node1", "-G"], environment)
            == Run(exit: 105, standardOutput: "", standardError: "crm_attribute: Error performing operation: No such device or address\n"))
        #expect(await tool("crm_master", ["-G"], environment).exit == 1)

        #expect(await tool("attrd_updater", ["-n", "pingd", "-U", "1000", "-d", "5s"], agent).exit == 0)
        #expect(await tool("attrd_updater", ["-n", "pingd", "-v", "2000"], environment).exit == 0)  // ping's hidden -v, to the local node
        #expect(await tool("attrd_updater", ["-n", "pingd", "-N", "node2", "-B", "7"], environment).exit == 0)
        #expect(await tool("attrd_updater", ["-n", "pingd", "-Q"], agent)
            == Run(exit: 0, standardOutput: "name=\"pingd\" host=\"node1\" value=\"2000\"\n", standardError: ""))
        #expect(await tool("attrd_updater", ["-n", "pingd", "-Q", "-A"], agent)
            == Run(exit: 0, standardOutput: "name=\"pingd\" host=\"node1\" value=\"2000\"\nname=\"pingd\" host=\"node2\" value=\"7\"\n", standardError: ""))
        #expect(await tool("attrd_updater", ["-n", "pingd", "-D"], agent).exit == 0)
        #expect(await tool("attrd_updater", ["-n", "pingd", "-Q"], agent)
            == Run(exit: 78, standardOutput: "", standardError: "attrd_updater: Could not query value of pingd: attribute does not exist\n"))
        #expect(await tool("attrd_updater", ["-Q"], agent).exit == 64)
        // What attrd_updater wrote is crm_attribute's transient attribute.
        #expect(await tool("crm_attribute", ["-N", "node2", "-n", "pingd", "-l", "reboot", "-G", "-q"]) == Run(exit: 0, standardOutput: "7\n", standardError: ""))

        #expect(await tool("crm_node", ["-n"], environment) == Run(exit: 0, standardOutput: "node1\n", standardError: ""))
        #expect(await tool("crm_node", ["-n"], environment.merging(["OCF_RESKEY_CRM_meta_on_node": "other"]) { $1 })
            == Run(exit: 0, standardOutput: "other\n", standardError: ""))
        #expect(await tool("crm_node", ["-l"]) == Run(exit: 0, standardOutput: "1 node1 member\n2 node2 lost\n", standardError: ""))
        #expect(await tool("crm_node", ["-p"]) == Run(exit: 0, standardOutput: "node1\n", standardError: ""))
        #expect(await tool("crm_node", ["-i"]) == Run(exit: 0, standardOutput: "1\n", standardError: ""))
        #expect(await tool("crm_node", ["-q"]) == Run(exit: 0, standardOutput: "1\n", standardError: ""))
        try store.transaction { $0.quorate = false }
        #expect(await tool("crm_node", ["-q"]) == Run(exit: 106, standardOutput: "0\n", standardError: ""))
        #expect(await tool("crm_node", ["-x"]).exit == 64)
    }

    /// 16 tools at once, each setting its own attribute 10 times: the lock keeps every update.
    @Test func concurrentUpdatesAreNotLost() async throws {
        if Self.missing != nil { return }
        let (directory, tools, store) = try Self.installation()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = ["PATH": "/usr/bin:/bin", AgentToolsInstallation.storeVariable: store.directory]
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for round in 0..<10 {
                        _ = await Self.run(tools + "/attrd_updater", ["-n", "w\(writer)-\(round)", "-U", "\(round)"], environment: environment)
                    }
                }
            }
        }
        let table = try store.read()
        let written = table.values.keys.filter { $0.scope == .status && $0.node == "node1" }.count
        #expect(written == 160)
    }

    /// ocf:pacemaker:Stateful run by the executor, which puts its own tools first on the agents'
    /// PATH and as HA_SBIN_DIR (links to the baton-agent-tools beside the running executable, in
    /// the directory the settings name) with nothing installed beforehand: its start, promote,
    /// demote and stop set and remove its promotion score through `crm_attribute -p`, and the
    /// score is in the store under Pacemaker's name, master-RESOURCE, as a transient attribute of
    /// the agent's node. Also its notify, and monitor answering 8 when promoted.
    @Test func statefulSetsItsPromotionScoreThroughTheExecutorsTools() async throws {
        if Self.missing != nil { return }
        let agentPath = "/usr/lib/ocf/resource.d/pacemaker/Stateful"
        if skipReason("AgentToolsTests", skipping: "Stateful", [Requirement.executable(agentPath, "apt-get install pacemaker")]) != nil { return }
        let directory = try makeTemporaryDirectory("baton-agent-tools")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FileAttributeStore(directory: directory + "/store")
        try store.create()
        try store.transaction { table in
            table.localNode = "node1"
            table.members = [AttributeTable.Member(id: 1, name: "node1")]
        }
        // Only what an admin's environment has: a PATH (with Pacemaker's own crm_attribute in
        // /usr/sbin, which fails here, outside a cluster) and the node's store.
        let environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", AgentToolsInstallation.storeVariable: store.directory]
        let tools = directory + "/sbin"
        let shell = try ExecutorShell(settings: ExecutorSettings(
            resourceTemporaryDirectory: directory + "/rsctmp", baseEnvironment: environment, agentToolsDirectory: tools)) { _ in }
        #expect(shell.agentTools == tools)
        #expect(shell.settings.baseEnvironment["PATH"] == tools + ":/usr/sbin:/usr/bin:/sbin:/bin")
        let resource = AgentResource(id: "S", standard: .ocf, provider: "pacemaker", type: "Stateful",
                                     parameters: ["state": directory + "/S.state", "envfile": directory + "/env"])
        let meta = ["on_node": "node1", "clone": "0", "clone_max": "2", "promoted_max": "1"]
        let key = AttributeTable.Key(scope: .status, node: "node1", name: "master-S")
        func perform(_ action: String, _ extra: [String: String] = [:]) async throws -> OCFReturnCode {
            let result = try await shell.perform(OperationRequest(resource: resource, action: action, meta: meta.merging(extra) { $1 },
                                                                  featureSet: "3.16.1"))
            #expect(result.verdict.status == .done, "\(action): \(result.verdict) \(String(decoding: result.standardError, as: UTF8.self))")
            return result.verdict.rc
        }
        #expect(try await perform("start") == .ok)
        #expect(try store.read()[key] == "5")
        #expect(try await perform("promote") == .ok)
        #expect(try store.read()[key] == "10")
        #expect(try await perform("monitor", ["interval": "0"]) == .runningPromoted)
        #expect(try await perform("notify", ["notify_type": "pre", "notify_operation": "demote"]) == .ok)
        #expect(try await perform("demote") == .ok)
        #expect(try store.read()[key] == "5")
        #expect(try await perform("monitor") == .ok)
        #expect(try await perform("stop") == .ok)
        #expect(try store.read()[key] == nil)
        // The agent found the tools where Pacemaker's agents look for them.
        let dump = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        #expect(dump.contains("\nHA_SBIN_DIR=\(tools)\n"))
    }

    /// Executors of one process installing the tools into one directory at once (the test
    /// process runs several; so can baton-crmd): every install succeeds and every link ends up
    /// naming the binary. With a temporary link named by the pid alone, one thread removed and
    /// renamed another's link and its rename failed with ENOENT.
    @Test func installsFromManyThreadsAtOnceNeverFail() async throws {
        let directory = try makeTemporaryDirectory("baton-agent-tools-race")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tools = directory + "/sbin"
        let failures = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var failed: [String] = []
                    for _ in 0..<200 {
                        do { try AgentToolsInstallation.install(executable: "/usr/bin/true", in: tools) } catch { failed.append("\(error)") }
                    }
                    return failed
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(failures.count == 0, "\(failures.count) of 1,600 installs failed, first: \(failures.first ?? "")")
        for tool in AgentTool.allCases {
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: tools + "/" + tool.rawValue)) == "/usr/bin/true")
        }
        let leftovers = (try FileManager.default.contentsOfDirectory(atPath: tools)).filter { $0.contains(".new-") }
        #expect(leftovers.isEmpty, "temporary links left: \(leftovers)")
    }
}
