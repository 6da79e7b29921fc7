import Foundation
import Testing

/// One real corosync on the test bed (its own network namespace, knet on a namespace-only
/// address), the Swift bindings in baton-corosync-probe and `baton cluster status`.
extension RealCorosync {
@Suite(.serialized)
struct SingleNodeTests {
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func groupQuorumVotesAndNodeList() async throws {
        try await Testbed.with(nodes: 1) { bed in
            let probe = try ProbeProcess.launch(bed, node: 1, ["watch", "--group", "single"])
            do {
                try await probe.waitFor("connected") { $0["event"] as? String == "connected" }
                // CPG: the first confchg shows us joined; a sender receives its own message.
                try await probe.waitFor("own join") { event in
                    event["event"] as? String == "cpg.membership" && ((event["members"] as? [[String: Any]])?.count ?? 0) == 1
                }
                probe.send("send hello-from-swift")
                let message = try await probe.waitFor("own message") { $0["event"] as? String == "cpg.message" }
                #expect(message.event["text"] as? String == "hello-from-swift")
                #expect(int(message.event["node"]) == 1)
                // Large messages are fragmented by libcpg and arrive whole; the limit (1 MiB by
                // default) is checked before anything is sent.
                probe.send("send-size 300000")
                let large = try await probe.waitFor("300000-byte message") { $0["event"] as? String == "cpg.message" && int($0["bytes"]) == 300_000 }
                #expect(int(large.event["node"]) == 1)
                probe.send("send-size 2000000")
                let refused = try await probe.waitFor("refusal") { $0["event"] as? String == "send.error" }
                #expect(refused.event["messageTooLarge"] as? Bool == true)
                // Quorum: a one-node cluster is quorate.
                let quorum = try await probe.waitFor("quorum view") { $0["event"] as? String == "quorum" }
                #expect(quorum.event["quorate"] as? Bool == true)
                #expect(ints(quorum.event["members"]) == [1])
                // Votequorum.
                probe.send("info")
                let info = try await probe.waitFor("votequorum info") { $0["event"] as? String == "info" }
                #expect(int(info.event["votes"]) == 1)
                #expect(int(info.event["expected"]) == 1)
                #expect(int(info.event["total"]) == 1)
                #expect(int(info.event["quorum"]) == 1)
                #expect((info.event["flags"] as? [String])?.contains("Quorate") == true)
                // votequorum refuses expected votes whose quorum exceeds the votes present:
                // the typed error carries the C name.
                let mark = probe.lineCount
                probe.send("expected 2")
                let refusedExpected = try await probe.waitFor("expected refused", after: mark) { $0["event"] as? String == "expected.error" }
                #expect(refusedExpected.event["error"] as? String == "CS_ERR_INVALID_PARAM")
                // cmap node list and the admin view.
                let status = try await bed.status(1)
                #expect(status["quorate"] as? Bool == true)
                #expect(int(status["localNodeID"]) == 1)
                let members = status["members"] as? [[String: Any]] ?? []
                #expect(members.count == 1)
                #expect(members.first?["name"] as? String == "node1")
                #expect(members.first?["addresses"] as? [String] == ["10.231.0.1"])
                #expect((status["clusterName"] as? String)?.hasPrefix("bt") == true)
            } catch {
                await probe.stop()
                throw error
            }
            await probe.stop()
            // Without corosync: a clear error and a non-zero exit.
            try await bed.script(["stop", "1"])
            let down = try await bed.exec(1, [Paths.baton, "cluster", "status"])
            #expect(down.status != 0)
            #expect(down.output.contains("CS_ERR_LIBRARY") && down.output.contains("is corosync running"))
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func slowConsumerEndsTheSequenceWithOverflow() async throws {
        try await Testbed.with(nodes: 1) { bed in
            let result = try await bed.exec(1, [Paths.probe, "overflow", "--limit", "10", "--count", "50"])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("\"eventBufferOverflow\":true"), "\(result.output)")
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func messagesComeBackInOrder() async throws {
        try await Testbed.with(nodes: 1) { bed in
            let result = try await bed.exec(1, [Paths.probe, "order", "--senders", "1", "--count", "500", "--timeout", String(Patience.deadlineSeconds)],
                                        timeLimit: Patience.deadline + Patience.slack)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("\"received\":500"))
            #expect(result.output.contains("\"fifoViolations\":0"))
        }
    }
}
}
