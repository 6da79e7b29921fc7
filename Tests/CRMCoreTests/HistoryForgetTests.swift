@testable import CRMCore
import CIB
import Testing

/// Wire message 20 (cleanup / refresh): a node's history of a resource forgotten on every
/// member in the group's order; the codec and its garbage.
@Suite struct HistoryForgetTests {
    static func history(_ bed: Harness, _ member: Member, node: String) -> [String] {
        bed.core(member).resourceStatus.nodeStates.first { $0.uname == node }?.lrm?.resources.flatMap { $0.operations.map(\.id) } ?? []
    }

    @Test func theMessageRoundTripsAndItsGarbageIsRefused() throws {
        let messages: [Message] = [
            .historyForget(HistoryForget(view: 9, node: NodeID(2), resources: ["d1", "clone-d"])),
            .historyForget(HistoryForget(view: 9, node: NodeID(3), resources: ["d1"], operation: "monitor", intervalMilliseconds: 10_000)),
        ]
        for message in messages {
            let bytes = MessageWire.encode(message)
            #expect(bytes[5] == 20 && bytes[4] == 6)
            #expect(try MessageWire.decode(bytes) == message)
            #expect(throws: CRMWireError.self) { try MessageWire.decode(Array(bytes.dropLast())) }
            #expect(throws: CRMWireError.self) { try MessageWire.decode(bytes + [0]) }
        }
        // No resource: refused by name.
        var empty = MessageWire.encode(messages[0])
        empty[12 + 8 + 4] = 0
        empty[12 + 8 + 5] = 0
        #expect(throws: CRMWireError.self) { try MessageWire.decode(empty) }
    }

    @Test func everyMemberForgetsTheNodesHistoryAndOnlyThat() throws {
        var bed = ResourceHistoryTests.settledBed()
        let members = (1...3).map { Harness.member($0) }
        for node in [1, 2] {
            bed.inject(MessageWire.encode(.executeResult(ResourceHistoryTests.result(node: node, operation: "start", rc: 0))), from: members[node - 1])
        }
        bed.inject(MessageWire.encode(.executeResult(ResourceHistoryTests.result(node: 2, operation: "monitor", interval: 10_000, rc: 7))), from: members[1])
        bed.deliverAll()
        for member in members {
            #expect(Self.history(bed, member, node: "node2") == ["d1_last_0", "d1_last_failure_0"])
        }
        // Only the monitor's entries first (cleanup --operation monitor --interval 10s).
        var core = bed.core(members[2])
        let directives = try core.requestHistoryForget(HistoryForget(view: 0, node: NodeID(2), resources: ["d1"], operation: "monitor", intervalMilliseconds: 10_000))
        guard case .broadcast(let message) = try #require(directives.first) else { Issue.record("\(directives)"); return }
        bed.inject(MessageWire.encode(message), from: members[2])
        bed.deliverAll()
        for member in members { #expect(Self.history(bed, member, node: "node2") == ["d1_last_0"]) }
        // Then the whole resource on node2; node1's history stays.
        bed.inject(MessageWire.encode(.historyForget(HistoryForget(view: message.view, node: NodeID(2), resources: ["d1"]))), from: members[0])
        bed.deliverAll()
        for member in members {
            #expect(Self.history(bed, member, node: "node2") == [])
            #expect(Self.history(bed, member, node: "node1") == ["d1_last_0"])
        }
        // A stale view is ignored.
        let ignored = bed.core(members[0]).ignoredCount
        bed.inject(MessageWire.encode(.historyForget(HistoryForget(view: message.view &+ 1, node: NodeID(1), resources: ["d1"]))), from: members[0])
        bed.deliverAll()
        #expect(Self.history(bed, members[0], node: "node1") == ["d1_last_0"])
        #expect(bed.core(members[0]).ignoredCount == ignored + 1)
        var bad = bed.core(members[0])
        #expect(throws: NodeCore.RequestError.self) { try bad.requestHistoryForget(HistoryForget(view: 0, node: NodeID(1), resources: [])) }
    }
}

/// Wire message 21 (crm_resource --fail): the node named reports a failed asyncmon.
@Suite struct FailInjectionTests {
    @Test func theNodeNamedReportsAFailedAsyncmonRecordedEverywhere() throws {
        let message = Message.failInjection(FailInjection(view: 3, node: NodeID(2), resource: "d1", resourceClass: "ocf", provider: "pacemaker",
                                                          type: "Dummy", wallClockSeconds: 1_700_000_500))
        let bytes = MessageWire.encode(message)
        #expect(bytes[5] == 21)
        #expect(try MessageWire.decode(bytes) == message)
        #expect(throws: CRMWireError.self) { try MessageWire.decode(Array(bytes.dropLast())) }

        var bed = ResourceHistoryTests.settledBed()
        let members = (1...3).map { Harness.member($0) }
        bed.inject(MessageWire.encode(.executeResult(ResourceHistoryTests.result(node: 2, operation: "start", rc: 0))), from: members[1])
        bed.deliverAll()
        var core = bed.core(members[0])
        let directives = try core.requestFailInjection(FailInjection(view: 0, node: NodeID(2), resource: "d1", resourceClass: "ocf",
                                                                      provider: "pacemaker", type: "Dummy", wallClockSeconds: 1_700_000_500))
        guard case .broadcast(let request) = try #require(directives.first) else { Issue.record("\(directives)"); return }
        bed.inject(MessageWire.encode(request), from: members[0])
        bed.deliverAll()
        for member in members {
            let entries = bed.core(member).resourceStatus.nodeStates.first { $0.uname == "node2" }?.lrm?.resources.first?.operations ?? []
            let failure = try #require(entries.first { $0.id == "d1_last_failure_0" })
            #expect(failure.operation == "asyncmon" && failure.rcCode == 1 && failure.callID == 5, "one past the start's call 4")
            #expect(bed.core(member).attributes[NodeID(2)]?["fail-count-d1#asyncmon_0"] == "1")
            #expect(bed.core(member).attributes[NodeID(2)]?["last-failure-d1#asyncmon_0"] == "1700000500")
        }
        var bad = bed.core(members[0])
        #expect(throws: NodeCore.RequestError.self) {
            try bad.requestFailInjection(FailInjection(view: 0, node: NodeID(9), resource: "d1", resourceClass: "ocf", provider: "", type: "Dummy", wallClockSeconds: 0))
        }
    }
}

extension Message {
    var view: UInt64 {
        if case .historyForget(let forget) = self { return forget.view }
        return 0
    }
}
