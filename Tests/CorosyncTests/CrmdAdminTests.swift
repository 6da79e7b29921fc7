import CIB
import CRMCore
import Foundation
import Testing

/// `baton crm resource …` on the running cluster (issue 14 point 4): 3 real corosync nodes,
/// baton-crmd, ocf:pacemaker:Dummy resources whose state files say where each really runs.
/// After each configuration edit the CIB's constraints and resources equal what the stock
/// crm_resource (Pacemaker 2.1.5, `CIB_file=`) makes of the CIB the command started from, and
/// its output and exit status are crm_resource's. Every wait polls to Patience's deadline.
extension RealCorosync {
@Suite(.serialized)
struct CrmdAdminTests {
    static let crmResource = "/usr/sbin/crm_resource"
    typealias Resources = CrmdResourceTests

    static func cib(_ ids: [String]) -> String {
        Resources.cib(ids, status: false).replacingOccurrences(of: "<cib epoch=\"1\"", with: "<cib validate-with=\"pacemaker-3.7\" epoch=\"1\"")
    }

    static func resource(_ bed: CrmdBed, _ node: Int, _ arguments: [String]) async throws -> CommandResult {
        try await run([Paths.baton, "crm", "resource"] + arguments + ["--socket", bed.socket(node)])
    }

    static func query(_ bed: CrmdBed, _ node: Int) async throws -> String {
        let result = try await bed.cib(node, ["query"])
        guard result.status == 0 else { throw TestFailure("cib query on node\(node) exited \(result.status): \(result.output)") }
        return result.output
    }

    /// The sections an admin edit touches, of a CIB text.
    static func sections(_ text: String) throws -> [XMLElement] {
        let root = try XMLCodec.parse(text)
        let configuration = try #require(root.children.first { $0.name == "configuration" })
        return configuration.children.filter { ["constraints", "resources"].contains($0.name) }
    }

    /// Runs the stock crm_resource on a copy of `cib` (the daemon's CIB as queried); its
    /// output and the sections it left.
    static func stock(_ bed: CrmdBed, _ arguments: [String], on cib: String) async throws -> (result: CommandResult, sections: [XMLElement]) {
        let path = try bed.file("stock.xml", cib)
        let result = try await run(["/usr/bin/env", "CIB_file=\(path)", "LC_ALL=C", "TZ=UTC", crmResource] + arguments)
        return (result, try sections(try String(contentsOfFile: path, encoding: .utf8)))
    }

    /// Ours on node `node` and the stock tool on the CIB ours started from: the same output,
    /// exit status, constraints and resources.
    @discardableResult
    static func same(_ bed: CrmdBed, _ node: Int, ours: [String], stock arguments: [String]) async throws -> CommandResult {
        let before = try await query(bed, node)
        let result = try await resource(bed, node, ours)
        let expected = try await stock(bed, arguments, on: before)
        #expect(result.status == expected.result.status, "baton crm resource \(ours): \(result.output) / crm_resource: \(expected.result.output)")
        #expect(result.output == expected.result.output, "baton crm resource \(ours)")
        let after = try sections(try await query(bed, node))
        #expect(after == expected.sections, "baton crm resource \(ours): \(after.map { XMLCodec.serialize($0) }) / crm_resource: \(expected.sections.map { XMLCodec.serialize($0) })")
        return result
    }

    static func others(_ node: Int) -> [Int] { [1, 2, 3].filter { $0 != node } }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func moveBanClearDisableEnableUnmanageManageRestartLive() async throws {
        if let missing = Requirement.executable(Self.crmResource, "Debian package pacemaker-cli-utils") { throw TestFailure(missing) }
        let ids = ["d1", "d2"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try Self.cib(ids).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            var placed = try await Resources.waitForEachOnce(bed, ids)

            // move -N: started on the target (alone), the stock tool's cli-prefer.
            let target = Self.others(placed["d1"]!)[0]
            try await Self.same(bed, 2, ours: ["move", "d1", "-N", "node\(target)"], stock: ["--move", "-r", "d1", "-N", "node\(target)"])
            // (d2 may move too: no stickiness, the scheduler balances.)
            placed = try await Resources.waitForEachOnce(bed, ids, where: ["d1": target])
            // clear: the preference removed (d1 runs once, wherever the scheduler leaves it).
            try await Self.same(bed, 3, ours: ["clear", "d1"], stock: ["--clear", "-r", "d1"])
            placed = try await Resources.waitForEachOnce(bed, ids)

            // ban without a node: the current node banned; d1 leaves it.
            let banned = placed["d1"]!
            try await Self.same(bed, 1, ours: ["ban", "d1"], stock: ["--ban", "-r", "d1"])
            try await waitUntil("d1 running once, not on node\(banned)") {
                let running = Resources.running(bed, "d1")
                return running.count == 1 && running[0] != banned
            }
            try await Self.same(bed, 1, ours: ["clear", "d1", "-N", "node\(banned)"], stock: ["--clear", "-r", "d1", "-N", "node\(banned)"])
            // Moving where it is: refused as crm_resource refuses it (108), nothing written.
            placed = try await Resources.waitForEachOnce(bed, ids)
            try await Self.same(bed, 2, ours: ["move", "d1", "-N", "node\(placed["d1"]!)"], stock: ["--move", "-r", "d1", "-N", "node\(placed["d1"]!)"])
            let unknown = try await Self.same(bed, 2, ours: ["move", "nope", "-N", "node1"], stock: ["--move", "-r", "nope", "-N", "node1"])
            #expect(unknown.status == 105)

            // disable: stopped everywhere; enable: running once again.
            try await Self.same(bed, 3, ours: ["disable", "d1"], stock: ["--meta", "-r", "d1", "-p", "target-role", "-v", "Stopped"])
            try await waitUntil("d1 stopped everywhere") { Resources.running(bed, "d1").isEmpty }
            try await Self.same(bed, 3, ours: ["enable", "d1"], stock: ["--meta", "-r", "d1", "-p", "target-role", "-v", "Started"])
            placed = try await Resources.waitForEachOnce(bed, ids)

            // unmanage, then disable: nothing stopped (the cluster leaves it alone). d1 disabled
            // after it: once d1 is stopped, the DC has scheduled past d2's edits.
            try await Self.same(bed, 1, ours: ["unmanage", "d2"], stock: ["--meta", "-r", "d2", "-p", "is-managed", "-v", "false"])
            try await Self.same(bed, 1, ours: ["disable", "d2"], stock: ["--meta", "-r", "d2", "-p", "target-role", "-v", "Stopped"])
            try await Self.same(bed, 2, ours: ["disable", "d1"], stock: ["--meta", "-r", "d1", "-p", "target-role", "-v", "Stopped"])
            try await waitUntil("d1 stopped everywhere") { Resources.running(bed, "d1").isEmpty }
            #expect(Resources.running(bed, "d2") == [placed["d2"]!], "unmanaged d2 is not stopped")
            try await Self.same(bed, 2, ours: ["enable", "d2"], stock: ["--meta", "-r", "d2", "-p", "target-role", "-v", "Started"])
            try await Self.same(bed, 3, ours: ["enable", "d1"], stock: ["--meta", "-r", "d1", "-p", "target-role", "-v", "Started"])
            try await Self.same(bed, 2, ours: ["manage", "d2"], stock: ["--meta", "-r", "d2", "-p", "is-managed", "-v", "true"])
            try await Resources.waitForEachOnce(bed, ids)

            // Two admins at once on two nodes: neither edit is lost (a stale patch is redone).
            async let first = Self.resource(bed, 1, ["ban", "d1", "-N", "node1"])
            async let second = Self.resource(bed, 3, ["ban", "d2", "-N", "node3"])
            let (one, two) = try await (first, second)
            #expect(one.status == 0 && two.status == 0, "\(one.output) / \(two.output)")
            let constraints = try Self.sections(try await Self.query(bed, 2)).first { $0.name == "constraints" }?.children.compactMap { $0["id"] }
            #expect(Set(constraints ?? []) == ["cli-ban-d1-on-node1", "cli-ban-d2-on-node3"])
            for id in ids { try await Self.same(bed, 2, ours: ["clear", id], stock: ["--clear", "-r", id]) }
            placed = try await Resources.waitForEachOnce(bed, ids)

            // restart: stopped, then started again; its target-role removed as before.
            let at = placed["d1"]!
            let stateFile = Resources.stateFile(bed, node: at, "d1")
            let startedAt = try FileManager.default.attributesOfItem(atPath: stateFile)[.modificationDate] as? Date
            let restarted = try await Self.resource(bed, 2, ["restart", "d1"])
            #expect(restarted.status == 0, "\(restarted.output)")
            // (d1's target-role is Started since enable: restart puts that back.)
            #expect(restarted.output == "Set 'd1' option: id=d1-meta_attributes-target-role name=target-role value=Stopped\n"
                + "Set 'd1' option: id=d1-meta_attributes-target-role name=target-role value=Started\n")
            let running = try await Resources.waitForEachOnce(bed, ids)
            let file = Resources.stateFile(bed, node: running["d1"]!, "d1")
            let again = try FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date
            #expect(again != nil && startedAt != nil && again! > startedAt!, "d1's state file was made again")
            let resources = try Self.sections(try await Self.query(bed, 2)).first { $0.name == "resources" }
            #expect((resources.map { XMLCodec.serialize($0) } ?? "").contains(#"name="target-role" value="Started""#))
            let notRunning = try await Self.resource(bed, 2, ["restart", "nope"])
            #expect(notRunning.status == 105)

            // fail: node's failed asyncmon recorded everywhere; the DC recovers d1 (stop, start).
            let failedOn = try await Resources.waitForEachOnce(bed, ids)["d1"]!
            let before = try FileManager.default.attributesOfItem(atPath: Resources.stateFile(bed, node: failedOn, "d1"))[.modificationDate] as? Date
            let failed = try await Self.resource(bed, 1, ["fail", "d1", "-N", "node\(failedOn)"])
            #expect(failed.status == 0 && failed.output.isEmpty, "\(failed.output)")
            try await waitUntil("d1's asyncmon failure recorded and d1 started again") {
                guard let text = try? await Self.query(bed, 3), text.contains(#"name="fail-count-d1#asyncmon_0" value="1""#),
                      text.contains(#"operation_key="d1_asyncmon_0""#) else { return false }
                let running = Resources.running(bed, "d1")
                guard running.count == 1, let date = try? FileManager.default.attributesOfItem(atPath: Resources.stateFile(bed, node: running[0], "d1"))[.modificationDate] as? Date else { return false }
                return before.map { date > $0 } ?? false
            }
            let noNode = try await Self.resource(bed, 1, ["fail", "d1"])
            #expect(noNode.status == 64)
            let cleaned = try await Self.resource(bed, 1, ["cleanup", "d1"])
            #expect(cleaned.status == 0 && cleaned.output == "Cleaned up d1 on node\(failedOn)\n", "\(cleaned.output)")
            // refresh: every node's history of d1 forgotten (each probed it): probed again, d1 runs once.
            // Every node's d1_last_0 entry is a new one after (a probe with a higher call-id).
            func lastOperations() async throws -> [Substring] {
                try await Self.query(bed, 1).split(separator: "\n").filter { $0.contains(#"id="d1_last_0""#) }
            }
            // (The cleanup forgot d1's history on the node where it failed: wait until that node
            // has probed it again, so that every node has its d1_last_0 before the refresh.)
            var earlier: Set<Substring> = []
            try await waitUntil("d1_last_0 on every node after the cleanup") {
                earlier = Set(try await lastOperations())
                return earlier.count == 3
            }
            let refreshed = try await Self.resource(bed, 2, ["refresh", "d1"])
            #expect(refreshed.status == 0 && refreshed.output == (1...3).map { "Cleaned up d1 on node\($0)\n" }.joined(), "\(refreshed.output)")
            try await waitUntil("d1 probed again on every node") {
                let lines = try await lastOperations()
                return lines.count == 3 && lines.allSatisfy { $0.contains(#"operation_key="d1_monitor_0""#) && !earlier.contains($0) }
            }
            try await Resources.waitForEachOnce(bed, ids)

            // The figure: move → started on the target, ~20 runs (printed, not asserted).
            var samples: [Double] = [], commands: [Double] = []
            for _ in 0..<20 {
                let from = try await Resources.waitForEachOnce(bed, ["d1"])["d1"]!
                let to = Self.others(from)[samples.count % 2]
                let began = Date()
                let moved = try await Self.resource(bed, 2, ["move", "d1", "-N", "node\(to)"])
                #expect(moved.status == 0, "\(moved.output)")
                commands.append(Date().timeIntervalSince(began) * 1000)
                try await waitUntil("d1 started on node\(to) alone", interval: .milliseconds(1)) { Resources.running(bed, "d1") == [to] }
                samples.append(Date().timeIntervalSince(began) * 1000)
            }
            let sorted = samples.sorted()
            log(String(format: "admin move -> started on the target: min %.0f / p50 %.0f / p99 %.0f / max %.0f ms over %d runs",
                       sorted.first!, sorted[sorted.count / 2], sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))], sorted.last!, sorted.count))
            let command = commands.sorted()
            log(String(format: "of which the command (query, edit, patch acknowledged): p50 %.0f / max %.0f ms", command[command.count / 2], command.last!))
        }
    }

    /// A failed monitor with migration-threshold=1 moves the resource; the history is what
    /// pacemaker-controld records (the failure as d1_last_failure_0 alone) and the stock
    /// crm_mon -1 on the daemon's CIB lists it among the failed actions.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedMonitorWithMigrationThresholdOneMovesItAndIsRecordedAsTheControllerDoes() async throws {
        let crmMon = "/usr/sbin/crm_mon"
        if let missing = Requirement.executable(crmMon, "Debian package pacemaker-cli-utils") { throw TestFailure(missing) }
        let ids = ["d1", "d2"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let cib = Self.cib(ids).replacingOccurrences(
                of: #"<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">"#,
                with: #"<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="d1-meta"><nvpair id="d1-mt" name="migration-threshold" value="1"/></meta_attributes>"#)
            #expect(cib.contains("migration-threshold"))
            try cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let placed = try await Resources.waitForEachOnce(bed, ids)
            let victim = placed["d1"]!
            // The monitor's first result recorded before the failure (the entry it keeps).
            try await waitUntil("d1's monitor recorded on node\(victim)") {
                (try? await Self.query(bed, 1))?.contains(#"id="d1_monitor_\#(Resources.monitorMilliseconds)""#) ?? false
            }
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: victim, "d1"))
            try await waitUntil("d1 running once, not on node\(victim)") {
                let running = Resources.running(bed, "d1")
                return running.count == 1 && running[0] != victim
            }
            let text = try await Self.query(bed, 2)
            let root = try XMLCodec.parse(text)
            let status = try #require(root.children.first { $0.name == "status" })
            let state = try #require(status.children.first { $0["uname"] == "node\(victim)" })
            let entries = state.children.first { $0.name == "lrm" }?.children.first { $0.name == "lrm_resources" }?.children
                .first { $0["id"] == "d1" }?.children ?? []
            let failure = try #require(entries.first { $0["id"] == "d1_last_failure_0" }, "\(entries.map { XMLCodec.serialize($0) })")
            #expect(failure["operation_key"] == "d1_monitor_\(Resources.monitorMilliseconds)" && failure["rc-code"] == "7")
            #expect(!entries.contains { $0["id"] == "d1_monitor_\(Resources.monitorMilliseconds)" && $0["rc-code"] != "0" },
                    "the recurring entry never holds the failure")
            let path = try bed.file("crm_mon.xml", text)
            let shown = try await run(["/usr/bin/env", "CIB_file=\(path)", "LC_ALL=C", "TZ=UTC", crmMon, "-1"])
            #expect(shown.status == 0, "\(shown.output)")
            #expect(shown.output.contains("Failed Resource Actions:"), "\(shown.output)")
            #expect(shown.output.contains("* d1 \(Resources.monitorMilliseconds / 1000)s-interval monitor on node\(victim) returned 'not running' at "),
                    "\(shown.output)")
            let stateText = XMLCodec.serialize(state)
            #expect(stateText.contains(#"name="fail-count-d1#monitor_\#(Resources.monitorMilliseconds)" value="1""#), "\(stateText)")
            // baton crm status (from baton-crmd) lists the same failed action as crm_mon.
            let ours = try await run([Paths.baton, "crm", "status", "--socket", bed.socket(2)])
            func failed(_ text: String) -> [Substring] {
                text.split(separator: "\n").drop { !$0.hasPrefix("Failed Resource Actions:") }.filter { $0.hasPrefix("  * ") }
            }
            #expect(ours.status == 0 && !failed(ours.output).isEmpty && failed(ours.output) == failed(shown.output), "\(ours.output)")

            // cleanup: the fail count and the history forgotten on node\(victim), d1 probed
            // there again, and (preferred there) it returns.
            let moved = Resources.running(bed, "d1")[0]
            try await Self.same(bed, 3, ours: ["move", "d1", "-N", "node\(victim)"], stock: ["--move", "-r", "d1", "-N", "node\(victim)"])
            #expect(Resources.running(bed, "d1") == [moved], "the fail count keeps it off node\(victim)")
            let cleaned = try await Self.resource(bed, 3, ["cleanup", "d1"])
            #expect(cleaned.status == 0 && cleaned.output == "Cleaned up d1 on node\(victim)\n", "\(cleaned.output)")
            try await waitUntil("d1 back on node\(victim) alone") { Resources.running(bed, "d1") == [victim] }
            try await waitUntil("no fail count and a fresh history of d1 on node\(victim)") {
                guard let text = try? await Self.query(bed, 1) else { return false }
                let state = text.components(separatedBy: "<node_state id=\"\(victim)\"")[1].components(separatedBy: "</node_state>")[0]
                return !state.contains("fail-count-d1") && !state.contains("d1_last_failure_0") && state.contains("d1_last_0")
            }
            let again = try await Self.resource(bed, 3, ["cleanup", "d1"])
            #expect(again.status == 0 && again.output == "", "nothing failed any more: \(again.output)")
            let unknown = try await Self.resource(bed, 3, ["cleanup", "nope"])
            #expect(unknown.status == 105)
        }
    }
}
}
