import ChildProcess
import Foundation
import Testing
import TestSupport

/// `baton agent` against `crm_resource --force-*` on the same CIB file and the same real agent
/// (ocf:pacemaker:Dummy): the same rc lines, the same exit statuses, and the same environment as
/// the agent dumps it (its `envfile`), but for what only crm_resource's own logging sets.
struct AgentCommandTests {
    static let crmResource = "/usr/sbin/crm_resource"
    /// Where the executor of `baton agent` puts the agent tools (ExecutorSettings' default).
    static let toolsDirectory = "/run/baton/agent-tools"

    static func cib(directory: String, checkLevel: Int?) -> String {
        let level = checkLevel.map { "<nvpair id=\"d1-level\" name=\"OCF_CHECK_LEVEL\" value=\"\($0)\"/>" } ?? ""
        return """
            <cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
              <configuration>
                <crm_config/>
                <nodes/>
                <resources>
                  <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">
                    <instance_attributes id="d1-ia">
                      <nvpair id="d1-state" name="state" value="\(directory)/d1.state"/>
                      <nvpair id="d1-env" name="envfile" value="\(directory)/env"/>\(level)
                    </instance_attributes>
                    <meta_attributes id="d1-meta"><nvpair id="d1-tr" name="target-role" value="Started"/></meta_attributes>
                    <operations>
                      <op id="d1-start" name="start" interval="0" timeout="30s"/>
                      <op id="d1-monitor" name="monitor" interval="10s" timeout="25s"/>
                    </operations>
                  </primitive>
                </resources>
                <constraints/>
              </configuration>
              <status/>
            </cib>
            """
    }

    struct Run: Equatable {
        let status: String
        let statusLine: String
    }

    /// Runs `actions` with `program` (crm_resource or baton agent); returns each action's exit
    /// and rc line, and the agent's environment dumps (one per action).
    static func sequence(_ command: [String], actions: [String], directory: String, runner: ChildProcessRunner) async throws -> ([Run], [String]) {
        var environment = ProcessInfo.processInfo.environment
        environment["CIB_file"] = directory + "/cib.xml"
        var runs: [Run] = []
        for action in actions {
            let arguments = Array(command.dropFirst()) + (command[0] == crmResource ? ["--\(action)", "-r", "d1"] : [action, "-r", "d1"])
            let outcome = await runner.run(ChildProcessSpec(
                executable: command[0], arguments: arguments, environment: environment, outputLimit: 1 << 20, timeout: .seconds(120)))
            let line = outcome.standardOutputText.split(separator: "\n").first { $0.hasPrefix("Operation ") }.map(String.init) ?? ""
            runs.append(Run(status: outcome.exit.description, statusLine: line))
        }
        let dumps = try String(contentsOfFile: directory + "/env", encoding: .utf8).components(separatedBy: "\n###\n")
            .map { dump in
                dump.split(separator: "\n").filter { line in
                    // The date header, the shell's `_`, and what crm_resource's logging set-up exports
                    // for itself (its service name) differ by design; so do Baton's agent tools,
                    // which the executor puts first on PATH and as HA_SBIN_DIR, with their store.
                    !line.hasPrefix("### ") && !line.hasPrefix("_=") && !line.hasPrefix("PCMK_service=") && line != "###"
                        && !line.hasPrefix("HA_SBIN_DIR=\(Self.toolsDirectory)") && !line.hasPrefix("BATON_ATTRIBUTE_STORE=")
                }.map { $0.replacingOccurrences(of: "PATH=\(Self.toolsDirectory):", with: "PATH=") }.joined(separator: "\n")
            }
            .filter { !$0.isEmpty }
        return (runs, dumps)
    }

    @Test(arguments: [nil, 30])
    func batonAgentMatchesCrmResource(checkLevel: Int?) async throws {
        if let reason = skipReason("AgentCommandTests", skipping: "the comparison with crm_resource", [
            FileManager.default.isExecutableFile(atPath: Self.crmResource) ? nil : "\(Self.crmResource) is not installed (Debian: pacemaker-cli-utils)",
            FileManager.default.isExecutableFile(atPath: "/usr/lib/ocf/resource.d/pacemaker/Dummy") ? nil : "ocf:pacemaker:Dummy is not installed (Debian: pacemaker)",
        ].compactMap { $0 }) {
            _ = reason
            return
        }
        let directory = try makeTemporaryDirectory("baton-agent")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.cib(directory: directory, checkLevel: checkLevel).write(toFile: directory + "/cib.xml", atomically: true, encoding: .utf8)
        let runner = try ChildProcessRunner(concurrencyMax: 1)
        defer { runner.shutdown() }
        let actions = ["force-check", "force-start", "force-check", "validate", "force-stop", "force-check"]
        let (crmRuns, crmDumps) = try await Self.sequence([Self.crmResource], actions: actions, directory: directory, runner: runner)
        try FileManager.default.removeItem(atPath: directory + "/env")
        try? FileManager.default.removeItem(atPath: directory + "/d1.state")
        let (batonRuns, batonDumps) = try await Self.sequence([BuildPaths.product("baton"), "agent"], actions: actions, directory: directory, runner: runner)
        #expect(batonRuns == crmRuns)
        #expect(crmRuns.map(\.status) == (checkLevel == 30
            // The stop's own monitor fails at level 30, so Dummy keeps its state file.
            ? ["exited 7", "exited 0", "exited 1", "exited 0", "exited 0", "exited 1"]
            : ["exited 7", "exited 0", "exited 0", "exited 0", "exited 0", "exited 7"]))
        #expect(batonDumps.count == actions.count && crmDumps.count == actions.count)
        for (index, (baton, crm)) in zip(batonDumps, crmDumps).enumerated() {
            let batonLines = Set(baton.split(separator: "\n")), crmLines = Set(crm.split(separator: "\n"))
            #expect(batonLines.symmetricDifference(crmLines).isEmpty, "\(actions[index]): only baton's: \(batonLines.subtracting(crmLines).sorted()); only crm_resource's: \(crmLines.subtracting(batonLines).sorted())")
        }
    }
}
