import Foundation
import Testing

/// A Swift process registered as the votequorum quorum device (the role the node-side agent
/// of the arbitrator will play): corosync.conf gives the device 2 votes in a 3-node cluster
/// (expected 5, quorum 3). Each node counts the device's votes by its own cast flag.
extension RealCorosync {
@Suite(.serialized)
struct QuorumDeviceTests {
    static func isQuorum(_ event: [String: Any], members: [Int], quorate: Bool) -> Bool {
        event["event"] as? String == "quorum" && ints(event["members"]).sorted() == members && event["quorate"] as? Bool == quorate
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func deviceVoteMakesAnIsolatedNodeQuorate() async throws {
        try await Testbed.with(nodes: 3, qdeviceVotes: 2) { bed in
            // Only node1's device casts its vote.
            let probes = try (1...3).map { node in
                try ProbeProcess.launch(bed, node: node, ["watch", "--group", "qdevice", "--qdevice", "baton", "--cast", node == 1 ? "yes" : "no"])
            }
            do {
                try await scenario(bed, probes)
            } catch {
                for probe in probes { await probe.stop() }
                throw error
            }
            for probe in probes { await probe.stop() }
        }
    }

    private func info(_ probe: ProbeProcess, until predicate: @escaping ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + Patience.deadline
        while true {
            let mark = probe.lineCount
            probe.send("info")
            let (_, info) = try await probe.waitFor("info", after: mark) { ["info", "info.error", "not-connected"].contains($0["event"] as? String ?? "") }
            if predicate(info) { return info }
            if ContinuousClock.now > deadline { throw TestFailure("node\(probe.node): votequorum info never matched; last: \(info)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func scenario(_ bed: Testbed, _ probes: [ProbeProcess]) async throws {
        let (p1, p2, p3) = (probes[0], probes[1], probes[2])
        for probe in probes { try await probe.waitFor("connected") { $0["event"] as? String == "connected" } }
        // Registered and voting: node1 counts 3 + 2 = 5 votes, nodes 2 and 3 count 3.
        let info1 = try await info(p1) { int($0["total"]) == 5 }
        #expect(int(info1["expected"]) == 5)
        #expect(int(info1["quorum"]) == 3)
        #expect(int(info1["qdeviceVotes"]) == 2)
        #expect(info1["qdeviceName"] as? String == "baton")
        #expect((info1["flags"] as? [String])?.contains("Qdevice") == true)
        // master-wins is a flag on the node's view.
        var mark = p1.lineCount
        p1.send("master-wins yes")
        try await p1.waitFor("master-wins set", after: mark) { $0["event"] as? String == "master-wins.set" }
        _ = try await info(p1) { ($0["flags"] as? [String])?.contains("QdeviceMasterWins") == true }
        mark = p1.lineCount
        p1.send("master-wins no")
        try await p1.waitFor("master-wins cleared", after: mark) { $0["event"] as? String == "master-wins.set" }
        let info2 = try await info(p2) { int($0["total"]) == 3 }
        #expect(int(info2["expected"]) == 5)
        let status = try await bed.status(1)
        #expect(status["qdeviceName"] as? String == "baton")
        #expect(int(status["totalVotes"]) == 5)

        // Isolate node1: 1 + 2 device votes = 3 >= quorum 3 -> quorate; nodes 2+3 have 2 -> not.
        var marks = probes.map(\.lineCount)
        let start = nowMilliseconds()
        try await bed.script(["cut", "1"])
        let (_, alone) = try await p1.waitFor("isolated node1 quorate with the device vote", after: marks[0]) {
            Self.isQuorum($0, members: [1], quorate: true)
        }
        log("qdevice: link cut node1 -> node1 alone quorate (device vote) after \((alone["ts"] as? Int64 ?? 0) - start) ms")
        for probe in [p2, p3] {
            try await probe.waitFor("nodes 2+3 inquorate", after: marks[probe.node - 1]) { Self.isQuorum($0, members: [2, 3], quorate: false) }
        }
        #expect(int(try await info(p1) { int($0["total"]) == 3 }["total"]) == 3)

        // Move the vote: node1 withdraws it (1 of 5: inquorate), node2's device casts it for
        // the {2,3} partition (2 + 2 = 4: quorate).
        marks = probes.map(\.lineCount)
        p1.send("cast no")
        try await p1.waitFor("node1 inquorate without the vote", after: marks[0]) { Self.isQuorum($0, members: [1], quorate: false) }
        p2.send("cast yes")
        try await p2.waitFor("nodes 2+3 quorate with the vote", after: marks[1]) { Self.isQuorum($0, members: [2, 3], quorate: true) }
        #expect(int(try await info(p2) { int($0["total"]) == 4 }["total"]) == 4)

        // Unregistered, the device counts for nothing: {2,3} is back to 2 of 5 votes.
        marks = probes.map(\.lineCount)
        p2.send("unregister")
        try await p2.waitFor("unregistered", after: marks[1]) { $0["event"] as? String == "unregistered" }
        try await p2.waitFor("nodes 2+3 inquorate without a device", after: marks[1]) { Self.isQuorum($0, members: [2, 3], quorate: false) }
    }
}
}
