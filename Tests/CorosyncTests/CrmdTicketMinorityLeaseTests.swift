import CRMCore
import Foundation
import Testing

/// Issue 15: a node cut off from its site with what a ticket guards, under no-quorum-policy
/// freeze (which keeps a minority's resources running), still stops it at the lease deadline by
/// its own clock: it is the DC of its own partition and holds the ticket's `stop-by` in its CIB.
/// (Pacemaker + booth: the cut-off node's CIB still says granted and freeze keeps the resource
/// running after the other site has taken the ticket over.)
///
/// 3 real corosync nodes with baton-crmd, an ocf:baton:Witness guarded by an rsc_ticket
/// (loss-policy stop) on node3; the ticket granted with a `stop-by` 10 s ahead and nobody
/// renewing it; node3 cut off from nodes 1 and 2 before the deadline. (w may run on node3 only:
/// with fencing off the majority takes a lost node's resources for stopped and would start w
/// itself, which is what fencing is for.)
extension RealCorosync.CrmdTicketLeaseClockTests {
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFrozenMinorityStopsWhatTheTicketGuardsAtTheLeaseDeadline() async throws {
        try await CrmdBed.with(noQuorumPolicy: "freeze") { bed in
            let cib = Self.cib.replacingOccurrences(of: #"name="no-quorum-policy" value="stop""#, with: #"name="no-quorum-policy" value="freeze""#)
                .replacingOccurrences(of: #"<rsc_location id="w-on-node1" rsc="w" node="node1" score="INFINITY"/>"#,
                                      with: #"<rsc_location id="w-on-node3" rsc="w" node="node3" score="INFINITY"/><rsc_location id="w-not-node1" rsc="w" node="node1" score="-INFINITY"/><rsc_location id="w-not-node2" rsc="w" node="node2" score="-INFINITY"/>"#)
            #expect(cib.contains("w-on-node3") && cib.contains(#"value="freeze""#))
            try cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let witness = try WitnessBed(bed)
            for node in 1...3 { try bed.launch([node], extra: witness.arguments(node)) }
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let wallOffset = Date().timeIntervalSince1970 - Self.monotonic()
            let stopBy = Int64(Date().timeIntervalSince1970 * 1000) + 10_000
            let answer = try bed.request(2, "tickets apply", body: "ticketA granted true\nticketA expires \(stopBy / 1000 + 60)\nticketA stop-by \(stopBy)\nticketA owner test\n")
            #expect(answer.hasPrefix("ok"), "\(answer)")
            do {
                try await waitUntil("w started on node3", interval: .milliseconds(10)) { witness.journal.active["w"] == ["node3"] }
                try await waitUntil("ticketA's stop-by in node3's CIB") { await RealCorosync.CrmdTicketTests.ticket(bed, node: 3)["stop-by"] == String(stopBy) }
            } catch {
                throw TestFailure("\(error)\n\(RealCorosync.CrmdResourceTests.logs(bed, [1, 2, 3]))")
            }
            guard Date().timeIntervalSince1970 * 1000 < Double(stopBy) - 4_000 else {
                throw TestFailure("w started too close to the deadline: the machine is too slow for this test's 10 s")
            }
            try await bed.testbed.script(["cut", "3"])
            let minority = try await bed.waitForOneDC(on: [3], quorate: false)
            #expect(minority.nodeID == NodeID(3))
            let cutAt = Date().timeIntervalSince1970 * 1000
            guard cutAt < Double(stopBy) - 500 else {
                throw TestFailure("node3 alone only \(Int(Double(stopBy) - cutAt)) ms before the deadline: too slow for this test")
            }
            #expect(witness.journal.active["w"] == ["node3"], "freeze: w still runs on node3 without quorum before the deadline")
            var stopEnd: WitnessJournal.Event?
            do {
                try await waitUntil("w stopped on node3, alone, at the lease deadline", within: .milliseconds(Double(stopBy) - cutAt) + Patience.slack, interval: .milliseconds(10)) {
                    stopEnd = witness.journal.events.first { $0.instance == "w" && $0.node == "node3" && $0.kind == "stop-end" && $0.rc == 0 }
                    return stopEnd != nil
                }
            } catch {
                throw TestFailure("\(error)\n\(RealCorosync.CrmdResourceTests.logs(bed, [1, 2, 3]))")
            }
            let deadline = Double(stopBy) / 1000 - wallOffset
            let stopBegin = try #require(witness.journal.events.first { $0.instance == "w" && $0.node == "node3" && $0.kind == "stop-begin" })
            #expect(stopBegin.time >= deadline - 0.05, "w's stop began \(Int((deadline - stopBegin.time) * 1000)) ms before the deadline")
            try witness.check("a frozen minority at the lease deadline")
            log("frozen minority (node3 alone, no-quorum-policy freeze): w's stop began \(Int((stopBegin.time - deadline) * 1000)) ms and ended \(Int((stopEnd!.time - deadline) * 1000)) ms after the lease deadline")
            try await bed.testbed.script(["heal", "3"])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
        }
    }
}
