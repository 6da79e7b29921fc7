import Foundation
import Testing

/// The nodes' heuristics (`quorum.device.heuristics`) on real corosync, Baton's device and
/// arbitrator side by side with Debian's corosync-qdevice/qnetd 3.0.3 given the same section.
/// The one command, the same on every node as corosync.conf is, passes on a node when the
/// test's directory holds `pass-<one of the node's addresses>`: the test flips a node's
/// heuristics by creating or removing that file.
extension RealCorosync.QuorumDeviceLiveTests {
    static func heuristicsSection(mode: String, interval: Int? = nil) -> String {
        """
        heuristics {
          mode: \(mode)
        \(interval.map { "  interval: \($0)\n" } ?? "")  exec_mark: /bin/sh $DIR/heuristic.sh
        }

        """
    }

    /// The script the command runs (written before the devices start).
    static func writeHeuristic(_ bed: DeviceBed, passing: [Int]) throws {
        try """
            #!/bin/sh
            for address in $(/usr/sbin/ip -4 -o addr show | /usr/bin/awk '{ split($4, a, "/"); print a[1] }'); do
              [ -e "\(bed.pki)/pass-$address" ] && exit 0
            done
            exit 1

            """.write(toFile: bed.pki + "/heuristic.sh", atomically: true, encoding: .utf8)
        try setPassing(bed, passing)
    }

    static func setPassing(_ bed: DeviceBed, _ passing: [Int]) throws {
        for node in 1...2 {
            let file = bed.pki + "/pass-10.231.0.\(node)"
            if passing.contains(node) {
                FileManager.default.createFile(atPath: file, contents: Data())
            } else if FileManager.default.fileExists(atPath: file) {
                try FileManager.default.removeItem(atPath: file)
            }
        }
    }

    /// 2 nodes + arbitrator, heuristics mode sync: node 1 fails them, node 2 passes. Together
    /// both are quorate (heuristics only break ties); the link between them cut, twice: node 2
    /// keeps quorum and node 1 loses it, though the tie-breaker (lowest) alone would choose
    /// node 1.
    func heuristicsDecideTheSplit(_ device: Device) async throws {
        try await DeviceBed.with(nodes: 2, device: device, heuristics: Self.heuristicsSection(mode: "sync")) { bed in
            try Self.writeHeuristic(bed, passing: [2])
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            if device == .baton {
                try await waitUntil("node 1's device shows its heuristics failing, node 2's passing") {
                    let one = try await bed.ask(["status", "--socket", bed.socket(1)])
                    let two = try await bed.ask(["status", "--socket", bed.socket(2)])
                    return one.contains("heuristics:  FAIL (mode sync, exec_mark)") && two.contains("heuristics:  PASS (mode sync, exec_mark)")
                }
            }
            for round in 1...2 {
                let cut = ContinuousClock.now
                try await bed.bed.script(["split", "1", "2"])
                let decided = try await bed.waitUntil("round \(round): node 2 alone and quorate (heuristics), node 1 alone and not", nodes: [1, 2], since: cut) { node, view in
                    view.nodes == 1 && view.quorate == (node == 2)
                }
                log("\(device) heuristics (node 1 fails, node 2 passes), link cut round \(round): node 2 quorate alone, node 1 not, \(Self.seconds(decided)) after the cut")
                if device == .baton { for node in [1, 2] { log("  node\(node): \(bed.decisionLine(node))") } }
                try await bed.holds("round \(round): node 2 keeps quorum, node 1 stays without", nodes: [1, 2], for: .seconds(5)) { node, view in
                    view.nodes == 1 && view.quorate == (node == 2)
                }
                let heal = ContinuousClock.now
                try await bed.bed.script(["unsplit", "1", "2"])
                let healed = try await bed.waitUntil("round \(round): healed, both quorate with the vote", nodes: [1, 2], since: heal, Self.allUp(2))
                log("\(device) heuristics, link cut round \(round): healed, both count the device's vote \(Self.seconds(healed)) after the heal")
            }
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func heuristicsGiveTheSplitToThePassingNode() async throws {
        try await heuristicsDecideTheSplit(.baton)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/corosync-qnetd")
                                                                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/corosync-qdevice"),
                                                               "needs Debian's corosync-qnetd and corosync-qdevice (make test installs them)"))
    func qnetdSideBySideHeuristicsSplit() async throws {
        try await heuristicsDecideTheSplit(.qnetd)
    }

    /// Mode on, interval 2 s: the heuristics flip while the nodes are connected (node 1 passes,
    /// node 2 fails → the other way round). The regular runs report it: each node's
    /// `baton-qdevice status` and the arbitrator's show the new results, and the metrics; a cut
    /// then goes to node 2.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func heuristicsChangeWhileConnectedIsReported() async throws {
        try await DeviceBed.with(nodes: 2, device: .baton, heuristics: Self.heuristicsSection(mode: "on", interval: 2000)) { bed in
            try Self.writeHeuristic(bed, passing: [1])
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            var text = ""
            try await waitUntil("the arbitrator shows node 1 passing and node 2 failing") {
                text = try await bed.ask(["status", "--socket", bed.arbitratorSocket])
                return text.contains("node 1: ring") && text.contains(", heuristics pass,") && text.contains(", heuristics fail,")
                    && text.range(of: "node 1: ring [^\n]*heuristics pass", options: .regularExpression) != nil
            }
            let flip = ContinuousClock.now
            try Self.setPassing(bed, [2])
            let reported = try await waitUntil("the arbitrator shows node 1 failing and node 2 passing") {
                text = try await bed.ask(["status", "--socket", bed.arbitratorSocket])
                return text.range(of: "node 1: ring [^\n]*heuristics fail", options: .regularExpression) != nil
                    && text.range(of: "node 2: ring [^\n]*heuristics pass", options: .regularExpression) != nil
            }
            log("baton heuristics flipped while connected (mode on, interval 2 s): the arbitrator had both new results \(Self.seconds(ContinuousClock.now - flip)) after the flip (\(Self.seconds(reported)) polling)")
            let one = try await bed.ask(["status", "--socket", bed.socket(1)])
            let two = try await bed.ask(["status", "--socket", bed.socket(2)])
            #expect(one.contains("heuristics:  FAIL (mode on, exec_mark); last run on regular") && one.contains("failed: mark"), "\(one)")
            #expect(two.contains("heuristics:  PASS (mode on, exec_mark); last run on regular"), "\(two)")
            #expect(try await bed.ask(["metrics", "--socket", bed.socket(1)]).contains("baton_qdevice_heuristics_result 0"))
            let metrics = try await bed.ask(["metrics", "--socket", bed.arbitratorSocket]).split(separator: "\n")
            #expect(metrics.contains { $0.hasPrefix("baton_qdevice_node_heuristics{") && $0.hasSuffix("node=\"2\"} 1") }, "\(metrics)")
            #expect(metrics.contains { $0.hasPrefix("baton_qdevice_node_heuristics{") && $0.hasSuffix("node=\"1\"} 0") }, "\(metrics)")
            // Both still quorate: heuristics break ties only.
            try await bed.holds("both stay quorate", nodes: [1, 2], for: .seconds(3), Self.allUp(2))
            try await bed.bed.script(["split", "1", "2"])
            try await bed.waitUntil("the cut goes to node 2 (passing now)", nodes: [1, 2]) { node, view in view.nodes == 1 && view.quorate == (node == 2) }
            try await bed.bed.script(["unsplit", "1", "2"])
            try await bed.waitUntil("healed, both quorate with the vote", nodes: [1, 2], Self.allUp(2))
        }
    }
}
