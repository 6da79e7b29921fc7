import CRMCore
import Foundation
import Testing

/// baton-crmd fences lost nodes (issue 14, point 2) and stops cleanly (point 3): 3 real
/// corosync nodes in namespaces, fencing on with fence_baton_netns (its wrapper in the bed logs
/// every run with its time), ocf:pacemaker:Dummy resources whose state files say where each
/// runs. Every wait polls to Patience's deadline.
extension RealCorosync {
@Suite(.serialized)
struct CrmdFencingTests {
    typealias Resources = CrmdResourceTests

    /// The bed's namespace of a node (scripts/testbed's ns_of).
    static func namespace(_ bed: CrmdBed, _ node: Int) throws -> String {
        let prefix = try String(contentsOfFile: "\(bed.testbed.directory)/prefix", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(prefix)-n\(node)"
    }

    /// A fence agent directory holding fence_baton_netns as a wrapper that appends
    /// "TIME input…" and "TIME done CODE" to `fence.log`, then runs the real agent.
    /// `hold`: an off, on or reboot waits (up to 3 deadlines) until that file exists before the
    /// agent runs (a slow device, released by the test). `onFenced`: shell run after an
    /// off or reboot that succeeded, with `$node` the fenced node's name (nodeN).
    static func agentDirectory(_ bed: CrmdBed, hold: String? = nil, onFenced: String = ":") throws -> String {
        let directory = "\(bed.testbed.directory)/fence-agents"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let agent = Paths.packageRoot.appendingPathComponent("scripts/fence_baton_netns").path
        let log = "\(bed.testbed.directory)/fence.log"
        let wrapper = """
            #!/bin/sh
            input=$(cat)
            printf '%s run %s\\n' "$(date +%s.%N)" "$(printf '%s' "$input" | tr '\\n' ' ')" >> \(log)
            case "$input" in *action=off*|*action=reboot*|*action=on*)
                \(hold.map { "waited=0; while [ ! -e \($0) ] && [ $waited -lt \(Patience.deadlineSeconds * 30) ]; do sleep 0.1; waited=$((waited + 1)); done" } ?? ":") ;;
            esac
            printf '%s\\n' "$input" | \(agent)
            code=$?
            printf '%s done %s\\n' "$(date +%s.%N)" "$code" >> \(log)
            action=$(printf '%s\\n' "$input" | sed -n 's/^action=//p')
            port=$(printf '%s\\n' "$input" | sed -n 's/^port=//p')
            if [ "$code" = 0 ] && { [ "$action" = off ] || [ "$action" = reboot ]; }; then
                node=node${port##*-n}
                \(onFenced)
            fi
            exit $code

            """
        let path = directory + "/fence_baton_netns"
        try wrapper.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return directory
    }

    /// The Dummy (or `type`) resources and one fence device for every node (`map`: node name → port).
    /// `constraints`: the constraints section's content (none by default).
    static func cib(_ bed: CrmdBed, _ ids: [String], map: String, type: String = "Dummy", constraints: String = "") -> String {
        """
        <cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
        <cluster_property_set id="options"><nvpair id="options-se" name="stonith-enabled" value="true"/>\
        <nvpair id="options-nqp" name="no-quorum-policy" value="stop"/></cluster_property_set></crm_config>
        <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/></nodes>
        <resources><primitive id="fence1" class="stonith" type="fence_baton_netns"><instance_attributes id="fence1-i">\
        <nvpair id="fence1-map" name="pcmk_host_map" value="\(map)"/>\
        <nvpair id="fence1-reboot" name="pcmk_reboot_action" value="off"/>\
        <nvpair id="fence1-wait" name="power_wait" value="\(Patience.deadlineSeconds)"/></instance_attributes></primitive>\
        \(Resources.primitives(ids, type: type))</resources>\(constraints.isEmpty ? "<constraints/>" : "<constraints>\(constraints)</constraints>")</configuration><status/></cib>
        """
    }

    /// pcmk_host_map: each node to its namespace.
    static func hostMap(_ bed: CrmdBed) throws -> String {
        var pairs: [String] = []
        for node in 1...3 { pairs.append("node\(node):" + (try namespace(bed, node))) }
        return pairs.joined(separator: ";")
    }

    static func start(_ bed: CrmdBed, _ ids: [String], map: String) async throws -> (dc: Int, placed: [String: Int]) {
        try cib(bed, ids, map: map).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
        try bed.launch([1, 2, 3], extra: ["--fence-agent-dir", try agentDirectory(bed), "--metrics", "127.0.0.1:\(CrmdMonitoringLiveTests.port)"])
        let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
        let placed = try await Resources.waitForEachOnce(bed, ids)
        return (Int(dc.nodeID.rawValue), placed)
    }

    /// The non-DC node that runs the most resources.
    static func victim(dc: Int, _ placed: [String: Int]) -> Int {
        [1, 2, 3].filter { $0 != dc }.max { left, right in
            placed.values.filter { $0 == left }.count < placed.values.filter { $0 == right }.count
        }!
    }

    static func history(_ bed: CrmdBed, _ node: Int) async throws -> String {
        try await run([Paths.baton, "crm", "fence", "--history", "--socket", bed.socket(node)]).output
    }

    static func modified(_ path: String) -> Double? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)?.timeIntervalSince1970
    }

    static func fenceLog(_ bed: CrmdBed) -> String {
        (try? String(contentsOfFile: "\(bed.testbed.directory)/fence.log", encoding: .utf8)) ?? ""
    }

    /// kill -9 of a non-DC node's corosync and baton-crmd, a process of its namespace left
    /// running (the node is not "off"): a survivor fences it (the agent kills that process),
    /// and only then do its resources start on the survivors; every survivor's history says so.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aKilledNodeIsFencedBeforeItsResourcesStartOnTheSurvivors() async throws {
        let ids = ["d1", "d2", "d3", "d4", "d5"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (dc, placed) = try await Self.start(bed, ids, map: try Self.hostMap(bed))
            let victim = Self.victim(dc: dc, placed)
            let moved = placed.filter { $0.value == victim }.map(\.key).sorted()
            #expect(!moved.isEmpty, "node\(victim) runs some of \(placed)")
            let witnessLog = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer { close(witnessLog) }
            let witness = try Child.spawn([Paths.testbed, "-d", bed.testbed.directory, "exec", String(victim), "sleep", "3600"],
                                          stdout: witnessLog, stderr: witnessLog)
            defer { if witness.poll() == nil { _ = witness.killAndReap() } }
            let victimNamespace = try Self.namespace(bed, victim)
            try await waitUntil("the witness runs in node\(victim)'s namespace") {
                guard let pids = try? await run(["ip", "netns", "pids", victimNamespace]) else { return false }
                return pids.output.contains { $0.isNumber }
            }
            bed.killDaemon(victim)
            try await bed.testbed.script(["kill", String(victim)])
            let killed = Date()
            let survivors = [1, 2, 3].filter { $0 != victim }
            _ = try await bed.waitForOneDC(on: survivors, quorate: true)
            let after = try await Resources.waitForEachOnce(bed, ids, on: survivors)
            log("kill -9 of node\(victim) with fencing: \(moved) running on the survivors \(Int(Date().timeIntervalSince(killed) * 1000)) ms after `testbed kill` returned")
            for (id, node) in placed where node != victim { #expect(after[id] == node, "\(id) stays on node\(node)") }

            // The agent ran (off, for node2's namespace) and killed what ran there.
            try await waitUntil("the fence agent's off killed the witness") { witness.poll() != nil }
            let lines = Self.fenceLog(bed).split(separator: "\n")
            let agentRun = try #require(lines.firstIndex { $0.contains("action=off") && $0.contains("port=\(victimNamespace)") },
                                   "the agent's log: \(lines)")
            let done = try #require(lines[agentRun...].first { $0.contains(" done ") }, "\(lines)")
            #expect(done.hasSuffix(" done 0"), "\(done)")
            let fencedAt = try #require(Double(done.split(separator: " ")[0]))
            // Each moved resource's state file was written (started) after the fence ended.
            for id in moved {
                let node = try #require(after[id])
                let started = try #require(Self.modified(Resources.stateFile(bed, node: node, id)))
                #expect(started >= fencedAt, "\(id) started on node\(node) at \(started), the fence ended at \(fencedAt)")
            }
            // Every survivor's fence history shows it, run by a survivor.
            for node in survivors {
                let history = try await Self.history(bed, node)
                let line = try #require(history.split(separator: "\n").first { $0.hasPrefix("node\(victim) reboot by fence1") }, "\(history)")
                #expect(line.contains(": ok") && !line.contains("on node \(victim):"), "\(line)")
            }
            // Every survivor's status page lists the loss and the fence among its recent events.
            for node in survivors {
                let page = "\(bed.testbed.directory)/status-node\(node).html"
                #expect(try await CrmdMonitoringLiveTests.fetch(bed, node: node, "/status", into: page) == 200)
                let html = try String(contentsOfFile: page, encoding: .utf8)
                #expect(html.contains("<td>node node\(victim) left (baton-crmd pid ") && html.contains("<td>fence history: node\(victim) reboot by fence1"),
                        "node\(node)'s page: \(html)")
            }
            let status = try await bed.cib(survivors[0], ["query", "-o", "status"])
            let state = status.output.components(separatedBy: "<node_state id=\"\(victim)\"").dropFirst().first ?? ""
            #expect(state.prefix(400).contains("expected=\"down\""), "fenced: down in the status: \(state.prefix(400))")
        }
    }

    /// A device that cannot fence the lost node (its port names no namespace): nothing it ran
    /// starts elsewhere, however often the DC tries; an admin's confirm-down lets them start.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailingDeviceBlocksTheMoveUntilConfirmDown() async throws {
        let ids = ["d1", "d2", "d3", "d4"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (dc, placed) = try await Self.start(bed, ids, map: "node1:nowhere-1;node2:nowhere-2;node3:nowhere-3")
            let victim = Self.victim(dc: dc, placed)
            let moved = placed.filter { $0.value == victim }.map(\.key).sorted()
            #expect(!moved.isEmpty, "node\(victim) runs some of \(placed)")
            bed.killDaemon(victim)
            try await bed.testbed.script(["kill", String(victim)])
            let survivors = [1, 2, 3].filter { $0 != victim }
            _ = try await bed.waitForOneDC(on: survivors, quorate: true)
            // Two failed fences: the DC scheduled at least twice without moving anything.
            try await waitUntil("two failed fences of node\(victim) in the history") {
                let history = (try? await Self.history(bed, survivors[0])) ?? ""
                return history.split(separator: "\n").filter { $0.hasPrefix("node\(victim) ") && $0.contains("FAILED") }.count >= 2
            }
            for id in moved { #expect(Resources.running(bed, id, on: survivors).isEmpty, "\(id) must not start before node\(victim) is fenced") }

            let confirmed = try await run([Paths.baton, "crm", "node", "confirm-down", "node\(victim)", "--socket", bed.socket(survivors[1])])
            #expect(confirmed.status == 0, "\(confirmed.output)")
            try await Resources.waitForEachOnce(bed, ids, on: survivors)
            let history = try await Self.history(bed, survivors[0])
            #expect(history.contains("node\(victim) off by confirm-down on node \(survivors[1]): ok"), "\(history)")
        }
    }

    /// SIGTERM to a non-DC baton-crmd: its resources run on the others before it exits (0),
    /// and it is not fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aCleanStopMovesTheNodesResourcesBeforeItLeaves() async throws {
        let ids = ["d1", "d2", "d3", "d4"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (dc, placed) = try await Self.start(bed, ids, map: try Self.hostMap(bed))
            let victim = Self.victim(dc: dc, placed)
            let moved = placed.filter { $0.value == victim }.map(\.key).sorted()
            #expect(!moved.isEmpty, "node\(victim) runs some of \(placed)")
            let started = Date()
            let code = await bed.stopDaemon(victim)
            #expect(code == 0, "baton-crmd leaves after the DC's do_shutdown and exits 0")
            let survivors = [1, 2, 3].filter { $0 != victim }
            // At its exit nothing runs on it any more (its resources stopped first, the DC's
            // do_shutdown came after their stops); then each runs once on the survivors.
            for id in moved { #expect(Resources.running(bed, id, on: [victim]).isEmpty, "\(id) stopped on node\(victim) before it left") }
            try await Resources.waitForEachOnce(bed, ids, on: survivors)
            log("clean stop of node\(victim): \(moved) moved and baton-crmd gone \(Int(Date().timeIntervalSince(started) * 1000)) ms after SIGTERM")
            _ = try await bed.waitForOneDC(on: survivors, quorate: true)
            let history = try await Self.history(bed, survivors[0])
            #expect(!history.contains("node\(victim) "), "a clean stop is not fenced: \(history)")
        }
    }
}
}
