import CRMCore
import Foundation
import Testing

/// The DC's recheck (issue 14: failure-timeout expiry live) on 3 real corosync nodes, fencing
/// off, ocf:pacemaker:Dummy: no event comes when a fail count expires, so only the DC's
/// recheck timer (CRMCore's Recheck: last failure + failure-timeout + 1 s) brings the resource
/// back to the node it prefers, as Pacemaker 2.1.5 does.
extension RealCorosync {
@Suite(.serialized)
struct CrmdRecheckTests {
    typealias Resources = CrmdResourceTests
    static let failureTimeoutSeconds = 10

    /// d1 prefers node2 (score 100), migration-threshold=1, failure-timeout=10s; d2 plain.
    static func cib() -> String {
        Resources.cib(["d1", "d2"], status: false)
            .replacingOccurrences(
                of: #"<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">"#,
                with: #"<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="d1-meta"><nvpair id="d1-mt" name="migration-threshold" value="1"/><nvpair id="d1-ft" name="failure-timeout" value="\#(failureTimeoutSeconds)s"/></meta_attributes>"#)
            .replacingOccurrences(of: "<constraints/>", with: #"<constraints><rsc_location id="d1-prefers-node2" rsc="d1" node="node2" score="100"/></constraints>"#)
    }

    /// The failed monitor moves d1 off node2 (migration-threshold 1); failure-timeout later
    /// the DC's recheck finds the fail count expired: the fail count is cleared
    /// (clear_failcount) and d1 runs on node2 again, never twice, never before the expiry.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func anExpiredFailCountIsClearedAndTheResourceReturnsToItsPreferredNode() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let cib = Self.cib()
            #expect(cib.contains("failure-timeout") && cib.contains("d1-prefers-node2"))
            try cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let placed = try await Resources.waitForEachOnce(bed, ["d1", "d2"])
            #expect(placed["d1"] == 2, "d1 starts where it prefers: \(placed)")
            let failCount = "fail-count-d1#monitor_\(Resources.monitorMilliseconds)"
            try await waitUntil("d1's monitor recorded on node2") {
                (try? await CrmdAdminTests.query(bed, 1))?.contains(#"id="d1_monitor_\#(Resources.monitorMilliseconds)""#) ?? false
            }
            let failed = Date()
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: 2, "d1"))
            try await waitUntil("d1 running once, not on node2") {
                let running = Resources.running(bed, "d1")
                return running.count == 1 && running[0] != 2
            }
            let status = try await bed.status(1)
            #expect(status.nodes.first { $0.nodeID == NodeID(2) }?.attributes[failCount] == "1", "the failure counted on node2")
            try await waitUntil("d1 back on node2 alone, its fail count there cleared") {
                guard Resources.running(bed, "d1") == [2], let status = try? await bed.status(1) else { return false }
                return status.nodes.first { $0.nodeID == NodeID(2) }?.attributes[failCount] == nil
            }
            let back = Date().timeIntervalSince(failed)
            log("failure-timeout \(Self.failureTimeoutSeconds) s: d1 back on node2 \(Int(back * 1000)) ms after its state file was deleted")
            #expect(back >= Double(Self.failureTimeoutSeconds), "not before the failure expired (\(back) s)")
            #expect(Resources.running(bed, "d2") == [placed["d2"]!], "d2 untouched")
            // The daemons' CIB leaves `baton simulate` nothing to do.
            let path = try bed.file("recheck-cib.xml", try await CrmdAdminTests.query(bed, 1))
            let simulated = try await run([Paths.baton, "simulate", "-x", path])
            let summary = simulated.output.components(separatedBy: "Transition Summary:").dropFirst().first?
                .components(separatedBy: "\n\n").first?.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) } ?? ["(none)"]
            #expect(simulated.status == 0 && summary.isEmpty, "\(simulated.output)")
        }
    }

    /// cluster-recheck-interval (set to 3 s through crm_attribute on the running cluster): the
    /// DC runs the scheduler again at least that often with nothing happening, and no sooner
    /// than the interval (the instants its log gives for each recheck).
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func theDCRechecksAtLeastEveryClusterRecheckInterval() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try Resources.cib(["d1"], status: false).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            try await Resources.waitForEachOnce(bed, ["d1"])
            let set = try await CrmdAgentToolsTests.tool(bed, dc, ["crm_attribute", "-n", "cluster-recheck-interval", "-v", "3s"])
            #expect(set.status == 0, "\(set.output)")
            let logPath = "\(bed.testbed.directory)/node\(dc)/crmd.log"
            func rechecks() -> [Double] {
                let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").filter { $0.contains(" recheck: ") }.compactMap { line in
                    // "2026-12-07T08:58:02.605Z info …": seconds of the day.
                    let time = line.split(separator: " ")[0].split(separator: "T").last?.dropLast() ?? ""
                    let parts = time.split(separator: ":").compactMap { Double($0) }
                    return parts.count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : nil
                }
            }
            try await waitUntil("three rechecks on the DC node\(dc) with nothing else happening") { rechecks().count >= 3 }
            let times = rechecks()
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            log("cluster-recheck-interval 3 s: rechecks \(gaps.map { String(format: "%.2f", $0) }.joined(separator: ", ")) s apart")
            #expect(gaps.allSatisfy { $0 >= 2.9 }, "never sooner than the interval: \(gaps)")
            #expect(Resources.running(bed, "d1").count == 1, "nothing moved")
        }
    }

    /// A date rule's change (Pacemaker's recheck-by from pe__eval_date_expr's next_change):
    /// on the running cluster d1 gets a location rule "INFINITY on node3 (#uname), once the
    /// time is past START" (START a few seconds ahead; cluster-recheck-interval stays at its 15 min). No
    /// event comes at START: the DC's recheck timer, set at the second after START, makes the
    /// graph that moves d1 to node3, no sooner and long before the interval.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aDateRuleThatBecomesTrueMovesTheResourceAtThatSecond() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try Resources.cib(["d1"], status: false)
                .replacingOccurrences(of: "<constraints/>", with: #"<constraints><rsc_location id="d1-prefers-node2" rsc="d1" node="node2" score="100"/></constraints>"#)
                .write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let placed = try await Resources.waitForEachOnce(bed, ["d1"])
            #expect(placed["d1"] == 2, "d1 starts where it prefers: \(placed)")
            let start = (Date().timeIntervalSince1970 + 6).rounded(.down)
            let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: start))
            let constraints = try bed.file("dated-constraints.xml", """
                <constraints><rsc_location id="d1-prefers-node2" rsc="d1" node="node2" score="100"/>\
                <rsc_location id="d1-later" rsc="d1"><rule id="d1-later-r" score="INFINITY" boolean-op="and">\
                <expression id="d1-later-n" attribute="#uname" operation="eq" value="node3"/>\
                <date_expression id="d1-later-e" operation="gt" start="\(iso)"/></rule></rsc_location></constraints>
                """)
            let written = try await bed.cib(1, ["replace", "-o", "constraints", "--xml-file", constraints])
            #expect(written.status == 0, "\(written.output)")
            try await waitUntil("d1 on node3 alone once the rule holds (after \(iso))") { Resources.running(bed, "d1") == [3] }
            let moved = Date().timeIntervalSince1970
            log("date rule gt \(iso): d1 on node3 \(Int((moved - start - 1) * 1000)) ms after the second the rule became true")
            #expect(moved >= start + 1, "d1 moved \(start + 1 - moved) s before the rule held")
            #expect(moved < start + 60, "moved by the recheck at the rule's change, not at an interval")
        }
    }
}
}
