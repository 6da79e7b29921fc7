import Foundation
import Testing

/// Three real corosync nodes in network namespaces (scripts/testbed). The Swift client runs
/// inside each node's namespace as baton-corosync-probe: libqb's IPC sockets are abstract unix
/// sockets, private to a network namespace, so one client process per node is the only way
/// to talk to three corosyncs — and it is how baton-crmd will run: one per node.
extension RealCorosync {
@Suite(.serialized)
struct ThreeNodeTests {
    static func membership(_ event: [String: Any]) -> [String] {
        ((event["members"] as? [[String: Any]]) ?? []).map { "\(int($0["node"]) ?? -1)/\(int($0["pid"]) ?? -1)" }.sorted()
    }

    static func isQuorum(_ event: [String: Any], members: [Int], quorate: Bool) -> Bool {
        event["event"] as? String == "quorum" && ints(event["members"]).sorted() == members && event["quorate"] as? Bool == quorate
    }

    static func left(_ event: [String: Any], node: Int, reason: String) -> Bool {
        guard event["event"] as? String == "cpg.membership", let left = event["left"] as? [[String: Any]] else { return false }
        return left.contains { int($0["node"]) == node && $0["reason"] as? String == reason }
    }

    static func stopAll(_ probes: [ProbeProcess]) async {
        for probe in probes { await probe.stop() }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func allNodesSeeTheSameMembership() async throws {
        try await Testbed.with(nodes: 3) { bed in
            var rings: Set<String> = []
            for node in 1...3 {
                let status = try await bed.status(node)
                #expect(status["quorate"] as? Bool == true)
                #expect(int(status["localNodeID"]) == node)
                #expect(int(status["totalVotes"]) == 3)
                #expect(int(status["expectedVotes"]) == 3)
                #expect(int(status["quorum"]) == 2)
                let members = (status["members"] as? [[String: Any]]) ?? []
                #expect(members.compactMap { int($0["nodeID"]) } == [1, 2, 3])
                #expect(members.compactMap { $0["name"] as? String } == ["node1", "node2", "node3"])
                rings.insert(status["ringID"] as? String ?? "")
            }
            #expect(rings.count == 1, "ring ids differ: \(rings)")
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func concurrentMessagesHaveOneTotalOrder() async throws {
        try await Testbed.with(nodes: 3) { bed in
            let count = 1000
            let started = ContinuousClock.now
            let results = try await withThrowingTaskGroup(of: CommandResult.self) { tasks in
                for node in 1...3 {
                    tasks.addTask {
                        try await bed.exec(node, [Paths.probe, "order", "--group", "order", "--senders", "3", "--count", String(count), "--timeout", String(Patience.deadlineSeconds)],
                                           timeLimit: Patience.deadline + Patience.slack)
                    }
                }
                var results: [CommandResult] = []
                for try await result in tasks { results.append(result) }
                return results
            }
            log("total order: 3 x \(count) messages sent concurrently, all delivered everywhere in \(ContinuousClock.now - started)")
            var digests: Set<String> = []
            for result in results {
                #expect(result.status == 0, "\(result.output)")
                let line = result.output.split(separator: "\n").first { $0.contains("\"event\":\"order\"") }
                let object = line.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
                #expect(int(object["received"]) == 3 * count)
                #expect(int(object["fifoViolations"]) == 0)
                digests.insert(object["digest"] as? String ?? "missing")
                log("  node \(int(object["node"]) ?? -1): digest \(object["digest"] ?? "-") send \(object["sendMilliseconds"] ?? "-") ms, all received \(object["totalMilliseconds"] ?? "-") ms")
            }
            #expect(digests.count == 1, "delivery orders differ: \(digests)")
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func killCutHealAndRestart() async throws {
        try await Testbed.with(nodes: 3) { bed in
            let probes = try (1...3).map { try ProbeProcess.launch(bed, node: $0, ["watch", "--group", "life"]) }
            do {
                try await scenario(bed, probes)
            } catch {
                await Self.stopAll(probes)
                throw error
            }
            await Self.stopAll(probes)
        }
    }

    private func scenario(_ bed: Testbed, _ probes: [ProbeProcess]) async throws {
        let (p1, p2, p3) = (probes[0], probes[1], probes[2])
        // All three see the same group membership.
        var views: [[String]] = []
        for probe in probes {
            let (_, event) = try await probe.waitFor("3 group members") { $0["event"] as? String == "cpg.membership" && Self.membership($0).count == 3 }
            views.append(Self.membership(event))
        }
        #expect(Set(views).count == 1, "group views differ: \(views)")

        // kill -9 node3: the others see it leave (NODEDOWN) and stay quorate.
        var marks = [p1.lineCount, p2.lineCount, p3.lineCount]
        var start = nowMilliseconds()
        try await bed.script(["kill", "3"])
        for probe in [p1, p2] {
            let (_, left) = try await probe.waitFor("node 3 left with nodedown", after: marks[probe.node - 1]) { Self.left($0, node: 3, reason: "nodedown") }
            log("kill -9 node3 -> node\(probe.node) sees the group change in \((left["ts"] as? Int64 ?? 0) - start) ms")
            let (_, quorum) = try await probe.waitFor("quorate [1,2]", after: marks[probe.node - 1]) { Self.isQuorum($0, members: [1, 2], quorate: true) }
            log("kill -9 node3 -> node\(probe.node) quorum view [1,2] quorate in \((quorum["ts"] as? Int64 ?? 0) - start) ms")
        }
        // node3's client: its sequences end with the typed error.
        for source in ["cpg", "quorum", "votequorum"] {
            try await p3.waitFor("\(source) ended with CS_ERR_LIBRARY", after: marks[2]) {
                $0["event"] as? String == "ended" && $0["source"] as? String == source && $0["error"] as? String == "CS_ERR_LIBRARY"
            }
        }

        // The admin's move after losing a node: lower expected votes to 2; both see it.
        marks = [p1.lineCount, p2.lineCount, p3.lineCount]
        p1.send("expected 2")
        for probe in [p1, p2] {
            try await probe.waitFor("expected votes 2", after: marks[probe.node - 1]) {
                $0["event"] as? String == "votequorum.expected" && int($0["expected"]) == 2
            }
        }

        // Cut node2's link: node1 alone becomes inquorate (1 of 3 votes), and so does node2.
        marks = [p1.lineCount, p2.lineCount, p3.lineCount]
        start = nowMilliseconds()
        try await bed.script(["cut", "2"])
        let (_, alone) = try await p1.waitFor("node1 inquorate alone", after: marks[0]) { Self.isQuorum($0, members: [1], quorate: false) }
        log("link cut node2 -> node1 quorum view [1] inquorate in \((alone["ts"] as? Int64 ?? 0) - start) ms")
        let (_, left2) = try await p1.waitFor("node 2 left", after: marks[0]) { Self.left($0, node: 2, reason: "nodedown") }
        log("link cut node2 -> node1 sees node2 leave the group in \((left2["ts"] as? Int64 ?? 0) - start) ms")
        try await p2.waitFor("node2 inquorate alone", after: marks[1]) { Self.isQuorum($0, members: [2], quorate: false) }

        // Heal: node1 and node2 merge and are quorate again.
        marks = [p1.lineCount, p2.lineCount, p3.lineCount]
        start = nowMilliseconds()
        try await bed.script(["heal", "2"])
        let (_, healed) = try await p1.waitFor("quorate [1,2] after heal", after: marks[0]) { Self.isQuorum($0, members: [1, 2], quorate: true) }
        log("heal node2 -> node1 quorum view [1,2] quorate in \((healed["ts"] as? Int64 ?? 0) - start) ms")

        // Restart node3: its client's reconnect helper recovers; three members, quorate.
        marks = [p1.lineCount, p2.lineCount, p3.lineCount]
        start = nowMilliseconds()
        try await bed.script(["start", "3"])
        for probe in probes {
            let (_, back) = try await probe.waitFor("quorate [1,2,3] after restart", after: marks[probe.node - 1]) {
                Self.isQuorum($0, members: [1, 2, 3], quorate: true)
            }
            log("start node3 -> node\(probe.node) quorum view [1,2,3] quorate in \((back["ts"] as? Int64 ?? 0) - start) ms")
        }
        try await p3.waitFor("reconnected", after: marks[2]) { $0["event"] as? String == "reconnected" }
        try await p1.waitFor("3 group members again", after: marks[0]) { $0["event"] as? String == "cpg.membership" && Self.membership($0).count == 3 }
        p3.send("send back-from-node3")
        for probe in [p1, p2] {
            try await probe.waitFor("message from node3", after: marks[probe.node - 1]) {
                $0["event"] as? String == "cpg.message" && $0["text"] as? String == "back-from-node3" && int($0["node"]) == 3
            }
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func corosyncRestartedUnderARunningClient() async throws {
        try await Testbed.with(nodes: 3) { bed in
            let probes = try (1...2).map { try ProbeProcess.launch(bed, node: $0, ["watch", "--group", "restart"]) }
            do {
                let (p1, p2) = (probes[0], probes[1])
                for probe in probes {
                    try await probe.waitFor("2 group members") { $0["event"] as? String == "cpg.membership" && Self.membership($0).count == 2 }
                }
                let marks = [p1.lineCount, p2.lineCount]
                let start = nowMilliseconds()
                try await bed.script(["restart", "1"])
                for source in ["cpg", "quorum", "votequorum"] {
                    try await p1.waitFor("\(source) ended with CS_ERR_LIBRARY", after: marks[0]) {
                        $0["event"] as? String == "ended" && $0["source"] as? String == source && $0["error"] as? String == "CS_ERR_LIBRARY"
                    }
                }
                let (_, reconnected) = try await p1.waitFor("reconnected", after: marks[0]) { $0["event"] as? String == "reconnected" }
                log("restart corosync on node1 -> its client reconnected in \((reconnected["ts"] as? Int64 ?? 0) - start) ms")
                // A clean stop is a LEAVE-less departure of the process: others see procdown/nodedown.
                let (_, left) = try await p2.waitFor("node1's client left", after: marks[1]) {
                    guard $0["event"] as? String == "cpg.membership", let left = $0["left"] as? [[String: Any]] else { return false }
                    return left.contains { int($0["node"]) == 1 }
                }
                log("restart corosync on node1 -> node2 saw node1's client leave after \((left["ts"] as? Int64 ?? 0) - start) ms: \(left["left"] ?? "")")
                try await p1.waitFor("2 group members after reconnect", after: marks[0]) {
                    $0["event"] as? String == "cpg.membership" && Self.membership($0).count == 2
                }
                p1.send("send after-restart")
                try await p2.waitFor("message after restart", after: marks[1]) {
                    $0["event"] as? String == "cpg.message" && $0["text"] as? String == "after-restart" && int($0["node"]) == 1
                }
            } catch {
                await Self.stopAll(probes)
                throw error
            }
            await Self.stopAll(probes)
        }
    }
}
}
