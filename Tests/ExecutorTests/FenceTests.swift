import ChildProcess
import Executor
import ExecutorShell
import Foundation
import Testing
import TestSupport

/// Fence devices as pacemaker-fenced runs their agents: the core's decisions, then real agents
/// (a recording agent the test writes, Debian's fence_dummy, and fence_baton_netns powering a
/// namespace "node" off and on).
struct FenceTests {
    static let full = FenceCapabilities(list: true, status: true, reboot: true, on: true, hostArgument: "port")

    // MARK: the core

    @Test func hostMapAndListAndCheck() throws {
        let mapped = try FenceDevice(id: "ipmi", agent: "fence_ipmilan",
                                     parameters: ["pcmk_host_map": "node1:10;node2=11 node3\\:x:12", "ip": "10.0.0.1"], capabilities: Self.full)
        #expect(mapped.alias(of: "node1") == "10")
        #expect(mapped.alias(of: "NODE2") == "11")
        // A backslash keeps the next character from ending the name, and stays in it (as
        // build_port_aliases copies names); values lose theirs.
        #expect(mapped.alias(of: "node3\\:x") == "12")
        #expect(mapped.hostCheck == .staticList)
        #expect(mapped.eligibility(target: "node2", action: "off") == .eligible("static-list"))
        #expect(mapped.eligibility(target: "node4", action: "off") == .notEligible("static-list"))

        let listed = try FenceDevice(id: "d", agent: "fence_x", parameters: ["pcmk_host_list": "a, b;c"], capabilities: Self.full)
        #expect(listed.targets == ["a", "b", "c"])
        #expect(listed.eligibility(target: "B", action: "reboot") == .eligible("static-list"))

        // Without a list or map: what the agent can do decides.
        #expect(try FenceDevice(id: "d", agent: "fence_x", parameters: [:], capabilities: Self.full).eligibility(target: "a", action: "off") == .needsList)
        let statusOnly = try FenceDevice(id: "d", agent: "fence_x", parameters: [:], capabilities: FenceCapabilities(status: true))
        #expect(statusOnly.eligibility(target: "a", action: "off") == .needsStatus)
        #expect(statusOnly.eligibility(target: "a", action: "on") == .notEligible("Agent does not support 'on'"))
        #expect(try FenceDevice(id: "d", agent: "fence_x", parameters: [:], capabilities: FenceCapabilities()).hostCheck == .none)
        #expect(try FenceDevice(id: "d", agent: "fence_x", parameters: ["pcmk_host_check": "none", "pcmk_host_list": "a"],
                                capabilities: Self.full).eligibility(target: "zz", action: "off") == .eligible("none"))
        #expect(throws: FenceError.self) { try FenceDevice(id: "d", agent: "fence_x", parameters: ["pcmk_host_check": "sometimes"], capabilities: Self.full) }
        #expect(throws: FenceError.self) { try FenceDevice(id: "d", agent: "../x", parameters: [:], capabilities: Self.full) }

        // dynamic-list: the agent's list output, its aliases and "port,alias" lines.
        let dynamic = try FenceDevice(id: "d", agent: "fence_x", parameters: ["pcmk_host_map": "node1:vm-1"], capabilities: Self.full)
        #expect(FenceDevice.listTargets("vm-1,node-one\nvm-2;on\nParse error: Ignoring unknown option 'invalid=1'\n") == ["vm-1", "node-one", "vm-2"])
        #expect(dynamic.eligible(target: "node1", listOutput: "vm-1,x\n"))
        #expect(!dynamic.eligible(target: "node2", listOutput: "vm-1,x\n"))
        #expect(FenceDevice.eligible(statusExit: 0) && FenceDevice.eligible(statusExit: 2) && !FenceDevice.eligible(statusExit: 1))
    }

    /// make_args: the lines the agent reads, Pacemaker's own parameters left out, the target as
    /// port (or plug, or pcmk_host_argument) by its alias, the action by pcmk_ACTION_action.
    @Test func theAgentsArguments() throws {
        let device = try FenceDevice(
            id: "d", agent: "fence_x",
            parameters: ["pcmk_host_map": "node1:7", "pcmk_off_timeout": "30", "pcmk_reboot_action": "cycle", "ip": "1.2.3.4",
                         "CRM_meta_timeout": "20000", "crm_feature_set": "3.16.1", "pcmk_delay_max": "5"],
            capabilities: Self.full)
        #expect(device.standardInput(action: "off", target: "node1", nodeID: 3) == "action=off\nip=1.2.3.4\nnodeid=3\nnodename=node1\nport=7\n")
        #expect(device.standardInput(action: "reboot", target: "node2") == "action=cycle\nip=1.2.3.4\nnodename=node2\nport=node2\n")
        #expect(device.standardInput(action: "list", target: nil) == "action=list\nip=1.2.3.4\n")
        let plug = try FenceDevice(id: "d", agent: "fence_x", parameters: [:], capabilities: FenceCapabilities(hostArgument: "plug"))
        #expect(plug.arguments(action: "off", target: "n")["plug"] == "n")
        let named = try FenceDevice(id: "d", agent: "fence_x", parameters: ["pcmk_host_argument": "uuid"], capabilities: Self.full)
        #expect(named.arguments(action: "off", target: "n")["uuid"] == "n")
        let none = try FenceDevice(id: "d", agent: "fence_x", parameters: ["pcmk_host_argument": "none"], capabilities: Self.full)
        #expect(none.arguments(action: "off", target: "n") == ["action": "off", "nodename": "n"])
        let fixed = try FenceDevice(id: "d", agent: "fence_x", parameters: ["port": "fixed"], capabilities: Self.full)
        #expect(fixed.arguments(action: "off", target: "n")["port"] == "fixed")
        // A configured `action` becomes off's (and reboot's) name, as the fencer maps it.
        let mapped = try FenceDevice(id: "d", agent: "fence_x", parameters: ["action": "shutdown"], capabilities: Self.full)
        #expect(mapped.arguments(action: "off", target: "n")["action"] == "shutdown")
        #expect(mapped.arguments(action: "reboot", target: "n")["action"] == "shutdown")
        #expect(mapped.arguments(action: "on", target: "n")["action"] == "on")
    }

    @Test func timeoutsRetriesAndRebootWithoutReboot() throws {
        let noReboot = try FenceDevice(
            id: "d", agent: "fence_x", parameters: ["pcmk_off_timeout": "30s", "pcmk_off_retries": "4", "pcmk_status_timeout": "7"],
            capabilities: FenceCapabilities(list: true, status: true, on: true))
        #expect(noReboot.timeout(for: "off") == .seconds(30))
        #expect(noReboot.timeout(for: "reboot") == .seconds(30))  // off's, as the reboot runs off
        #expect(noReboot.timeout(for: "status") == .seconds(7))
        #expect(noReboot.timeout(for: "on", fallback: .seconds(90)) == .seconds(90))
        #expect(noReboot.attempts(for: "off") == 4)
        #expect(noReboot.attempts(for: "on") == 2)
        #expect(noReboot.steps(for: "reboot") == ["off", "on"])
        #expect(try FenceDevice(id: "d", agent: "fence_x", parameters: [:], capabilities: FenceCapabilities()).steps(for: "reboot") == ["off"])
        #expect(try FenceDevice(id: "d", agent: "fence_x", parameters: [:], capabilities: Self.full).steps(for: "reboot") == ["reboot"])
        // update_remaining_timeout: retries while attempts remain, not after a timeout, and only
        // with 30 % of the timeout left; the retry gets what is left.
        #expect(fenceRetryTimeout(attempt: 1, attempts: 2, timedOut: false, elapsed: .seconds(10), timeout: .seconds(60)) == .seconds(50))
        #expect(fenceRetryTimeout(attempt: 2, attempts: 2, timedOut: false, elapsed: .seconds(1), timeout: .seconds(60)) == nil)
        #expect(fenceRetryTimeout(attempt: 1, attempts: 2, timedOut: true, elapsed: .seconds(1), timeout: .seconds(60)) == nil)
        #expect(fenceRetryTimeout(attempt: 1, attempts: 5, timedOut: false, elapsed: .seconds(43), timeout: .seconds(60)) == nil)
    }

    @Test func capabilitiesFromMetadata() throws {
        let capabilities = try FenceCapabilities(metadata: """
            <?xml version="1.0" ?>
            <resource-agent name="fence_x"><parameters><parameter name="plug"><content type="string"/></parameter></parameters>
            <actions><action name="on" automatic="0"/><action name="off"/><action name="status"/><action name="metadata"/></actions></resource-agent>
            """)
        #expect(capabilities == FenceCapabilities(list: false, status: true, reboot: false, on: true, hostArgument: "plug"))
        #expect(throws: FenceError.self) { try FenceCapabilities(metadata: "<nope/>") }
    }

    // MARK: real agents

    /// A fence agent that writes what it read on stdin to LOG (one block per run), fails its
    /// first `fail_first` runs of an action, sleeps `sleep` seconds, and has no reboot.
    static func recordingAgent(in directory: String) throws {
        let script = """
            input=$(cat)
            log=$(printf '%s\\n' "$input" | sed -n 's/^log=//p')
            action=$(printf '%s\\n' "$input" | sed -n 's/^action=//p')
            fail_first=$(printf '%s\\n' "$input" | sed -n 's/^fail_first=//p')
            nap=$(printf '%s\\n' "$input" | sed -n 's/^sleep_\\(.*\\)=.*/\\1/p')
            if [ "$action" = metadata ]; then
              cat <<'XML'
            <?xml version="1.0" ?>
            <resource-agent name="fence_record"><parameters><parameter name="port"/><parameter name="log"/></parameters>
            <actions><action name="on"/><action name="off"/><action name="status"/><action name="list"/><action name="monitor"/><action name="metadata"/></actions></resource-agent>
            XML
              exit 0
            fi
            printf '%s\\n--\\n' "$input" >> "$log"
            count=$(grep -c "^action=$action$" "$log")
            if [ "$nap" = "$action" ]; then sleep 30; fi
            if [ -n "$fail_first" ] && [ "$count" -le "$fail_first" ]; then echo "failing $action $count" >&2; exit 1; fi
            [ "$action" = list ] && echo "port-a,alias-a" && echo "port-b"
            exit 0
            """
        try ExecutorClassTests.script(directory + "/fence_record", script)
    }

    static func runs(_ log: String) throws -> [String] {
        try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "\n--\n").filter { !$0.isEmpty }
    }

    /// The agent reads the fencer's lines; dynamic-list asks `list` first; reboot without a
    /// reboot action is off then on; a failed off is run again (pcmk_off_retries) after 1 s.
    @Test func aRealAgentSeesTheFencersLines() async throws {
        let directory = try makeTemporaryDirectory("baton-fence")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.recordingAgent(in: directory)
        let log = directory + "/log"
        let runner = try FenceRunner(agentDirectory: directory)
        let device = try await runner.device(id: "rec", agent: "fence_record",
                                             parameters: ["log": log, "pcmk_host_map": "node1:port-a", "pcmk_host_check": "dynamic-list"])
        #expect(device.capabilities == FenceCapabilities(list: true, status: true, reboot: false, on: true, hostArgument: "port"))

        let reboot = await runner.fence(device, action: "reboot", target: "node1", nodeID: 1)
        #expect(reboot.result == .succeeded)
        #expect(reboot.check == "dynamic-list")
        #expect(try Self.runs(log) == [
            "action=list\nlog=\(log)",
            "action=off\nlog=\(log)\nnodeid=1\nnodename=node1\nport=port-a",
            "action=on\nlog=\(log)\nnodeid=1\nnodename=node1\nport=port-a",
        ])

        // Not in the agent's list: not run.
        let other = await runner.fence(device, action: "off", target: "node9")
        guard case .notRun = other.result else { Issue.record("node9 was fenced: \(other)"); return }
        #expect(other.runs.map(\.action) == ["list"])

        // Fails twice, succeeds on the third of its 3 attempts.
        try? FileManager.default.removeItem(atPath: log)
        let retrying = try FenceDevice(id: "rec", agent: "fence_record",
                                       parameters: ["log": log, "pcmk_host_list": "node1", "fail_first": "2", "pcmk_off_retries": "3"],
                                       capabilities: device.capabilities)
        let retried = await runner.fence(retrying, action: "off", target: "node1")
        #expect(retried.result == .succeeded)
        #expect(retried.runs.map(\.attempt) == [1, 2, 3])
        // With the default 2 attempts, the same agent fails the off.
        try? FileManager.default.removeItem(atPath: log)
        let twice = try FenceDevice(id: "rec", agent: "fence_record", parameters: ["log": log, "pcmk_host_list": "node1", "fail_first": "2"],
                                    capabilities: device.capabilities)
        let failed = await runner.fence(twice, action: "off", target: "node1")
        #expect(failed.runs.count == 2)
        guard case .failed(1, _) = failed.result else { Issue.record("expected a failure: \(failed.result)"); return }
    }

    /// pcmk_host_check=status asks the agent about the target first (0 or 2: it can fence it;
    /// anything else: not run); none fences any target with no question.
    @Test func statusAndNoneHostChecksOnARealAgent() async throws {
        let directory = try makeTemporaryDirectory("baton-fence")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.recordingAgent(in: directory)
        let runner = try FenceRunner(agentDirectory: directory)
        func actions(_ log: String) throws -> [String] { try Self.runs(log).map { String($0.prefix { $0 != "\n" }) } }
        let status = try await runner.device(id: "rec", agent: "fence_record", parameters: ["log": directory + "/s", "pcmk_host_check": "status"])
        let off = await runner.fence(status, action: "off", target: "node7")
        #expect(off.result == .succeeded && off.check == "status")
        #expect(try actions(directory + "/s") == ["action=status", "action=off"])
        #expect(try Self.runs(directory + "/s").first?.contains("port=node7") == true)
        // A status that fails: the device cannot fence the target, and nothing else runs.
        let refusing = try await runner.device(
            id: "rec", agent: "fence_record", parameters: ["log": directory + "/f", "pcmk_host_check": "status", "fail_first": "1"])
        guard case .notRun = await runner.fence(refusing, action: "off", target: "node7").result else {
            Issue.record("fenced after a failed status"); return
        }
        #expect(try actions(directory + "/f") == ["action=status"])
        let none = try await runner.device(id: "rec", agent: "fence_record", parameters: ["log": directory + "/n", "pcmk_host_check": "none"])
        let any = await runner.fence(none, action: "off", target: "anywhere")
        #expect(any.result == .succeeded && any.check == "none")
        #expect(try actions(directory + "/n") == ["action=off"])
    }

    /// pcmk_off_timeout: the agent's group is killed at it, the result is a timeout and no retry
    /// follows.
    @Test func anActionTimeoutIsNotRetried() async throws {
        let directory = try makeTemporaryDirectory("baton-fence")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.recordingAgent(in: directory)
        let runner = try FenceRunner(agentDirectory: directory)
        let device = try await runner.device(
            id: "rec", agent: "fence_record",
            parameters: ["log": directory + "/log", "pcmk_host_list": "node1", "sleep_off": "1", "pcmk_off_timeout": "1"])
        let outcome = await runner.fence(device, action: "off", target: "node1")
        #expect(outcome.result == .timedOut)
        #expect(outcome.runs.count == 1)
        #expect(outcome.runs.first?.timeout == .seconds(1))
    }

    /// Debian's fence_dummy (fence-agents), type=file: off, status (2: off), on, status (0).
    @Test func debiansFenceDummy() async throws {
        if skipReason("FenceTests", skipping: "fence_dummy", [Requirement.executable("/usr/sbin/fence_dummy", "apt-get install fence-agents")]) != nil {
            return
        }
        let directory = try makeTemporaryDirectory("baton-fence")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runner = try FenceRunner()
        let device = try await runner.device(id: "dummy", agent: "fence_dummy",
                                             parameters: ["status_file": directory + "/status", "pcmk_host_list": "node1"])
        #expect(device.capabilities.reboot && device.capabilities.on && device.capabilities.status)
        // fence_dummy takes a missing status file for off, and writes it on a change only.
        #expect(await runner.fence(device, action: "on", target: "node1").result == .succeeded)
        #expect(try String(contentsOfFile: directory + "/status", encoding: .utf8) == "on")
        #expect(await runner.fence(device, action: "off", target: "node1").result == .succeeded)
        #expect(try String(contentsOfFile: directory + "/status", encoding: .utf8) == "off")
        guard case .failed(2, _) = await runner.fence(device, action: "status", target: "node1").result else {
            Issue.record("status of an off node is not 2"); return
        }
        #expect(await runner.fence(device, action: "on", target: "node1").result == .succeeded)
        #expect(await runner.fence(device, action: "status", target: "node1").result == .succeeded)
        #expect(await runner.fence(device, action: "monitor", target: nil).result == .succeeded)
        #expect(await runner.fence(device, action: "off", target: "node2").result == .notRun("dummy cannot fence node2 (static-list)"))
    }
}

/// `baton fence` on a CIB file's stonith resources: the first device that can fence the node
/// runs (a device whose static list leaves it out is passed over), list prints the targets,
/// an unknown node fails as stonith_admin's "Couldn't fence".
struct FenceCommandTests {
    @Test func batonFenceUsesTheCIBsDevices() async throws {
        if skipReason("FenceCommandTests", skipping: "baton fence", [Requirement.built("baton")]) != nil { return }
        let directory = try makeTemporaryDirectory("baton-fence-command")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FenceTests.recordingAgent(in: directory)
        let log = directory + "/log"
        try """
            <cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
              <configuration><crm_config/><nodes/>
                <resources>
                  <primitive id="fence-other" class="stonith" type="fence_record">
                    <instance_attributes id="o-ia"><nvpair id="o-log" name="log" value="\(log).other"/>
                      <nvpair id="o-list" name="pcmk_host_list" value="node9"/></instance_attributes>
                  </primitive>
                  <primitive id="fence-mine" class="stonith" type="fence_record">
                    <instance_attributes id="m-ia"><nvpair id="m-log" name="log" value="\(log)"/>
                      <nvpair id="m-map" name="pcmk_host_map" value="node1:plug-1"/></instance_attributes>
                  </primitive>
                </resources><constraints/></configuration><status/>
            </cib>
            """.write(toFile: directory + "/cib.xml", atomically: true, encoding: .utf8)
        let runner = try ChildProcessRunner(concurrencyMax: 1)
        defer { runner.shutdown() }
        func baton(_ arguments: [String]) async -> (Int32, String, String) {
            let outcome = await runner.run(ChildProcessSpec(
                executable: BuildPaths.product("baton"), arguments: ["fence"] + arguments + ["--cib", directory + "/cib.xml", "--agent-directory", directory],
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: Patience.deadline))
            guard case .exited(let code) = outcome.exit else { return (-1, "\(outcome.exit)", "") }
            return (code, outcome.standardOutputText, outcome.standardErrorText)
        }
        let off = await baton(["off", "node1"])
        #expect(off.0 == 0, "\(off)")
        #expect(try FenceTests.runs(log) == ["action=off\nlog=\(log)\nnodename=node1\nport=plug-1"])
        #expect(!FileManager.default.fileExists(atPath: log + ".other"))
        let unknown = await baton(["off", "node5", "--device", "fence-mine"])
        #expect(unknown.0 == 1)
        #expect(unknown.2 == "baton fence: Couldn't fence node5: fence-mine cannot fence node5 (static-list)\n")
        let list = await baton(["list", "--device", "fence-mine"])
        #expect(list.0 == 0 && list.1 == "port-a\nalias-a\nport-b\n", "\(list)")
    }
}
