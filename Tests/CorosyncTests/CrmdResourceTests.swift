import CRMCore
import Foundation
import Testing

/// baton-crmd runs resources (issue 14): 3 real corosync nodes in namespaces, fencing off,
/// ocf:pacemaker:Dummy resources whose state files (one directory per node, HA_VARRUN) say
/// where each really runs. Every wait polls to Patience's deadline.
extension RealCorosync {
@Suite(.serialized)
struct CrmdResourceTests {
    static let monitorMilliseconds = 2000

    /// `type`: ocf:pacemaker:Dummy, or ocf:baton:Witness (the lab's, with the same state file).
    static func primitives(_ ids: [String], type: String = "Dummy") -> String {
        ids.map { id in
            """
            <primitive id="\(id)" class="ocf" provider="\(type == "Dummy" ? "pacemaker" : "baton")" type="\(type)"><operations>\
            <op id="\(id)-monitor" name="monitor" interval="\(monitorMilliseconds)ms" timeout="20s"/></operations></primitive>
            """
        }.joined()
    }

    /// The CIB the daemons start from (no status: they render it) or, with `status`, the same
    /// with the three nodes online, for `baton simulate`.
    static func cib(_ ids: [String], status: Bool) -> String {
        let states = (1...3).map { node in
            "<node_state id=\"\(node)\" uname=\"node\(node)\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\"/>"
        }.joined()
        return """
            <cib epoch="1" num_updates="0" admin_epoch="0"\(status ? " have-quorum=\"1\" dc-uuid=\"1\"" : "")><configuration><crm_config>
            <cluster_property_set id="options"><nvpair id="options-se" name="stonith-enabled" value="false"/>\
            <nvpair id="options-nqp" name="no-quorum-policy" value="stop"/></cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/></nodes>
            <resources>\(primitives(ids))</resources><constraints/></configuration><status>\(status ? states : "")</status></cib>
            """
    }

    /// Where `baton simulate` starts each resource on this CIB ("* Start d1 ( node2 )").
    /// `cib`: another CIB (configuration and status) than this suite's.
    static func placement(_ bed: CrmdBed, _ ids: [String], cib text: String? = nil) async throws -> [String: Int] {
        let path = try bed.file("simulate.xml", text ?? cib(ids, status: true))
        let result = try await run([Paths.baton, "simulate", "-x", path])
        guard result.status == 0 else { throw TestFailure("baton simulate exited \(result.status): \(result.output)") }
        var placed: [String: Int] = [:]
        for line in result.output.split(separator: "\n") where line.contains("* Start") {
            let words = line.split(separator: " ").map(String.init)
            guard let id = words.first(where: { ids.contains($0) }), let node = words.first(where: { $0.hasPrefix("node") }),
                  let number = Int(node.dropFirst(4)) else { continue }
            placed[id] = number
        }
        guard placed.count == ids.count else { throw TestFailure("baton simulate placed \(placed), not every one of \(ids): \(result.output)") }
        return placed
    }

    static func stateFile(_ bed: CrmdBed, node: Int, _ id: String, type: String = "Dummy") -> String {
        "\(bed.testbed.directory)/node\(node)/run/\(type)-\(id).state"
    }

    /// The nodes among `nodes` whose agent state says `id` runs there.
    static func running(_ bed: CrmdBed, _ id: String, on nodes: [Int] = [1, 2, 3], type: String = "Dummy") -> [Int] {
        nodes.filter { FileManager.default.fileExists(atPath: stateFile(bed, node: $0, id, type: type)) }
    }

    /// Waits until each resource runs on exactly one of `nodes` (by its state file); the
    /// placement.
    @discardableResult
    static func waitForEachOnce(_ bed: CrmdBed, _ ids: [String], on nodes: [Int] = [1, 2, 3],
                                where expected: [String: Int]? = nil, type: String = "Dummy") async throws -> [String: Int] {
        var seen: [String: [Int]] = [:]
        do {
            try await waitUntil("each of \(ids) running on exactly one of \(nodes)\(expected.map { " as placed: \($0)" } ?? "")") {
                seen = Dictionary(uniqueKeysWithValues: ids.map { ($0, running(bed, $0, on: nodes, type: type)) })
                return ids.allSatisfy { id in
                    seen[id]?.count == 1 && (expected?[id]).map { seen[id] == [$0] } ?? true
                }
            }
        } catch {
            throw TestFailure("\(error); state files: \(seen.sorted { $0.key < $1.key })\n\(logs(bed, nodes))")
        }
        return seen.compactMapValues(\.first)
    }

    /// The last lines of these nodes' baton-crmd logs (for a failure's message).
    static func logs(_ bed: CrmdBed, _ nodes: [Int]) -> String {
        nodes.map { node in
            let text = (try? String(contentsOfFile: "\(bed.testbed.directory)/node\(node)/crmd.log", encoding: .utf8)) ?? ""
            return "node\(node)'s log:\n" + text.split(separator: "\n").suffix(25).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func simulStartAResourceAddedAndAFailedMonitorRecoveredInPlace() async throws {
        let ids = ["d1", "d2", "d3", "d4"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try Self.cib(ids, status: false).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let expected = try await Self.placement(bed, ids)
            // SimulStart: every resource started where the scheduler places it, once.
            try bed.launch([1, 2, 3])
            let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            try await Self.waitForEachOnce(bed, ids, where: expected)
            // The DC says when its graph is done (what crm-bench waits for, as crmadmin -S's
            // S_IDLE); only the DC says it.
            try await waitUntil("the DC (node\(dc)) idle once everything started") { try await bed.status(dc).transitionIdle == true }
            for node in [1, 2, 3] where node != dc { #expect(try await bed.status(node).transitionIdle == nil) }
            // Every node records the same status: each start, on the node that ran it.
            try await waitUntil("the starts' history on every node") {
                for node in 1...3 {
                    guard let status = try? await bed.cib(node, ["query", "-o", "status"]), status.status == 0 else { return false }
                    let lines = status.output.split(separator: "\n")
                    for (id, at) in expected {
                        guard lines.contains(where: { $0.contains("operation_key=\"\(id)_start_0\"") && $0.contains("on_node=\"node\(at)\"")
                            && $0.contains("rc-code=\"0\"") }) else { return false }
                    }
                }
                return true
            }

            // A resource added with `baton crm cib` is started.
            let more = try bed.file("more.xml", "<resources>\(Self.primitives(ids + ["d5"]))</resources>")
            let written = try await bed.cib(2, ["replace", "-o", "resources", "--xml-file", more])
            #expect(written.status == 0, "\(written.output)")
            let placed = try await Self.waitForEachOnce(bed, ids + ["d5"])
            for id in ids { #expect(placed[id] == expected[id], "\(id) stays where it ran") }

            // A failed monitor (the state file deleted): restarted in place, fail count 1.
            let victim = try #require(placed["d1"])
            let started = Date()
            try FileManager.default.removeItem(atPath: Self.stateFile(bed, node: victim, "d1"))
            let failCount = "fail-count-d1#monitor_\(Self.monitorMilliseconds)"
            try await waitUntil("d1 restarted on node\(victim) with \(failCount) = 1 on every node") {
                guard Self.running(bed, "d1") == [victim] else { return false }
                for node in 1...3 {
                    guard let status = try? await bed.status(node),
                          status.nodes.first(where: { $0.nodeID == NodeID(UInt32(victim)) })?.attributes[failCount] == "1" else { return false }
                }
                return true
            }
            log("failed monitor: d1 running again \(Int(Date().timeIntervalSince(started) * 1000)) ms after its state file was deleted (monitor every \(Self.monitorMilliseconds) ms)")
            try await Self.waitForEachOnce(bed, ids + ["d5"], where: placed)
        }
    }

    /// A node that joins later is probed (its history is empty at the join round): every
    /// resource's probe recorded on it, on every node, and still each resource runs once.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aNodeJoiningLaterIsProbedAndNothingRunsTwice() async throws {
        let ids = ["d1", "d2", "d3"]
        try await CrmdBed.with(dcDeadtimeSeconds: 2, noQuorumPolicy: "stop") { bed in
            try Self.cib(ids, status: false).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2])
            _ = try await bed.waitForOneDC(on: [1, 2], quorate: true)
            try await Self.waitForEachOnce(bed, ids, on: [1, 2])
            try bed.launch([3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            do {
            try await waitUntil("node3's probes of \(ids) recorded on every node") {
                for node in 1...3 {
                    guard let status = try? await bed.cib(node, ["query", "-o", "status"]), status.status == 0 else { return false }
                    let lines = status.output.split(separator: "\n")
                    for id in ids {
                        // The probe's entry, or what followed it there (a start when the scheduler
                        // moved the resource to node3: nothing is sticky here).
                        guard lines.contains(where: { $0.contains("operation_key=\"\(id)_") && $0.contains("on_node=\"node3\"") })
                        else { return false }
                    }
                }
                return true
            }
            } catch {
                throw TestFailure("\(error)\n\(Self.logs(bed, [1, 3]))")
            }
            try await Self.waitForEachOnce(bed, ids)
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func killOfANonDCNodeStartsItsResourcesOnTheSurvivors() async throws {
        let ids = ["d1", "d2", "d3", "d4", "d5"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try Self.cib(ids, status: false).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let placed = try await Self.waitForEachOnce(bed, ids)
            let victim = [1, 2, 3].filter { $0 != Int(dc.nodeID.rawValue) }.max { left, right in
                placed.values.filter { $0 == left }.count < placed.values.filter { $0 == right }.count
            }!
            let moved = placed.filter { $0.value == victim }.map(\.key)
            #expect(!moved.isEmpty, "node\(victim) runs some of \(placed)")
            bed.killDaemon(victim)
            try await bed.testbed.script(["kill", String(victim)])
            let killed = Date()
            let survivors = [1, 2, 3].filter { $0 != victim }
            _ = try await bed.waitForOneDC(on: survivors, quorate: true)
            let after = try await Self.waitForEachOnce(bed, ids, on: survivors)
            log("kill -9 of node\(victim): \(moved.sorted()) running on the survivors \(Int(Date().timeIntervalSince(killed) * 1000)) ms after `testbed kill` returned")
            for (id, node) in placed where node != victim { #expect(after[id] == node, "\(id) stays on node\(node)") }
        }
    }
}
}
