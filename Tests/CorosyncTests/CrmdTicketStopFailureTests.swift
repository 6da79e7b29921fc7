import CRMCore
import Foundation
import Testing

/// Issue 15 on a live site: a ticket moved away while the stop of what it guards fails. The
/// holder (site-a: 3 corosync nodes with baton-crmd, fencing on, batond's crmd back end) may
/// release the ticket only once its site shows the guarded resource no longer active, which a
/// failed stop does not: the DC fences the node (the stop's on-fail, fence by default with
/// stonith-enabled), and only then is the resource known stopped, the ticket released, and the
/// other site granted. The guarded resource is a Witness (its state file made a directory, so the
/// agent's stop fails); site-b is a CIB file; an arbitrator.
extension RealCorosync.CrmdTicketReleaseTests {
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aTicketMovedWhileTheGuardedStopFailsIsReleasedOnlyAfterTheFence() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let map = try RealCorosync.CrmdFencingTests.hostMap(bed)
            let witness = try WitnessBed(bed)
            try RealCorosync.CrmdFencingTests.cib(bed, ["guarded"], map: map, type: "Witness", constraints: """
                <rsc_location id="guarded-on-node2" rsc="guarded" node="node2" score="INFINITY"/>\
                <rsc_ticket id="guarded-with-ticketA" rsc="guarded" ticket="ticketA" loss-policy="stop"/>
                """).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let agents = try RealCorosync.CrmdFencingTests.agentDirectory(bed, onFenced: witness.onFenced)
            for node in 1...3 { try bed.launch([node], extra: ["--fence-agent-dir", agents] + witness.arguments(node)) }
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let directory = bed.testbed.directory + "/batond"
            let mesh = try await BatondMesh(
                directory: directory,
                ticket: ["ticket = \"ticketA\"", "  expire = 20", "  timeout = 1", "  retries = 3", "  stop-before = 8"],
                arguments: ["site-a": ["--back-end", "crmd", "--crmd-socket", bed.socket(1), "--site-quorum", "crmd"],
                            "site-b": ["--back-end", "file", "--cib-file", directory + "/site-b-cib.xml"], "arbitrator": ["--back-end", "none"]])
            defer { mesh.stopAll() }
            try mesh.startAll()
            let state = RealCorosync.CrmdResourceTests.stateFile(bed, node: 2, "guarded", type: "Witness")
            do {
                try await mesh.waitConnected()
                var last = ""
                try await waitUntil("ticketA granted at site-a, guarded running on node2") {
                    let result = try await mesh.baton(["grant", "-w", "ticketA"], at: "site-a")
                    last = result.output
                    return (result.status == 0 || result.output.contains("granting a granted ticket"))
                        && RealCorosync.CrmdResourceTests.running(bed, "guarded", type: "Witness") == [2]
                }
                _ = last
                try FileManager.default.removeItem(atPath: state)
                try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
                let asked = Date().timeIntervalSince1970
                let move = try await mesh.baton(["move", "ticketA", "--to", "site-b", "-w"], at: "site-a")
                var granted: Double?
                try await waitUntil("site-b granted ticketA", within: Patience.deadline * 2, interval: .milliseconds(20)) {
                    if Self.siteBTicket(mesh)["granted"] == "true" { granted = Date().timeIntervalSince1970 }
                    return granted != nil
                }
                let journal = witness.journal
                #expect(journal.events.contains { $0.instance == "guarded" && $0.kind == "stop-end" && $0.rc == 1 && $0.node == "node2" },
                        "guarded's stop failed on node2: \(journal.events.filter { $0.instance == "guarded" })")
                #expect(journal.events.filter { $0.kind == "fenced" }.map(\.node) == ["node2"], "node2 fenced once")
                let fenceText = RealCorosync.CrmdFencingTests.fenceLog(bed)
                let done = fenceText.split(separator: "\n").first { $0.contains(" done 0") }.flatMap { Double($0.split(separator: " ")[0]) }
                let fenced = try #require(done, "no successful fence: \(fenceText)")
                #expect(fenced < granted!, "site-b granted \(Int((fenced - granted!) * 1000)) ms before node2's fence ended")
                #expect(witness.journal.violations.isEmpty, "\(witness.journal.violations)")
                log("ticket moved while its resource's stop failed: node2 fenced \(Int((fenced - asked) * 1000)) ms after the move, site-b granted \(Int((granted! - fenced) * 1000)) ms after the fence; `baton move -w` exited \(move.status): \(move.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            } catch {
                throw TestFailure("\(error)\nbatond logs:\n\(mesh.logs(lines: 40))\n\(RealCorosync.CrmdResourceTests.logs(bed, [1, 2, 3]))\nfence log:\n\(RealCorosync.CrmdFencingTests.fenceLog(bed))")
            }
            try? FileManager.default.removeItem(atPath: state)
        }
    }
}
