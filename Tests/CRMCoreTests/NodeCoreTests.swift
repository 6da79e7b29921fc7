@testable import CRMCore
import CIB
import Testing

/// The node core under a pure CPG stand-in (Harness): the acceptance scenarios of issue 13
/// (SimulStart, one by one, DC loss, partition and heal, restart) without corosync, plus
/// attributes, cluster options and the CIB write path.
@Suite struct NodeCoreTests {
    let n1 = Harness.member(1), n2 = Harness.member(2), n3 = Harness.member(3)

    @Test func simultaneousStartElectsTheLowestNodeAtOnceWithoutDeadtime() {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        for member in [n1, n2, n3] {
            let core = bed.core(member)
            #expect(core.acknowledged == [n1, n2, n3], "\(member) acknowledged \(core.acknowledged)")
            #expect(bed.timers[member, default: []].isEmpty, "no dc-deadtime with every node present")
            #expect(bed.dcChanges[member] == [n1])
        }
    }

    @Test func aNodeAloneWaitsDeadtimeOnlyForNodesNeverSeen() {
        var bed = Harness(nodes: 3)
        bed.start([n1])
        bed.deliverAll()
        #expect(bed.core(n1).dc == nil)
        #expect(bed.timers[n1] == [.dcDeadtime])
        bed.fire(.dcDeadtime, on: n1)
        #expect(bed.agreedDC() == n1)
        // node2 and node3 join one by one: the live DC stays, no timer.
        bed.start([n2])
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        #expect(bed.timers[n2, default: []].isEmpty)
        bed.start([n3])
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        #expect(bed.core(n3).acknowledged.count == 3)
        // Every node was seen now: stopped all and started again, no wait even for a missing one.
        var again = Harness(nodes: 3)
        again.start([n2, n3])
        again.deliverAll()
        #expect(again.timers[n2] == [.dcDeadtime], "node1 was never seen by this fresh pair")
    }

    @Test func dcLossElectsTheNextDCFromTheViewAloneWithoutAMessage() {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        let sentBefore = [n2, n3].map { bed.sent[$0, default: []].count }
        bed.stop(n1)
        // Decided inside the view change itself: before any message is delivered.
        for member in [n2, n3] {
            #expect(bed.core(member).dc == n2 && bed.core(member).settled)
        }
        #expect([n2, n3].map { bed.sent[$0, default: []].count } == sentBefore, "a DC loss must not cost a round")
        bed.stop(n2)
        #expect(bed.agreedDC() == n3)
    }

    @Test func aRestartedProcessRejoinsUnderTheLiveDC() {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        bed.stop(n3)
        let restarted = Harness.member(3, pid: 200)
        bed.start([restarted])
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        #expect(bed.core(restarted).acknowledged == [n1, n2, restarted])
        // The DC itself restarts: the next DC takes over, and the old node comes back under it.
        bed.stop(n1)
        #expect(bed.agreedDC() == n2)
        let node1Again = Harness.member(1, pid: 300)
        bed.start([node1Again])
        bed.deliverAll()
        #expect(bed.agreedDC() == n2, "the live DC stays although node1's id is lower")
    }

    /// A DC keeps its transition run through a join round that keeps it DC (what is in flight
    /// is waited for, not re-planned by a fresh run beside it), and lets it go when a round
    /// chose another DC (a heal where more members follow the other side's DC).
    @Test func theDCKeepsItsTransitionRunThroughAJoinRoundOnlyIfItStaysDC() {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        bed.stop(n3)
        bed.start([Harness.member(3, pid: 200)])
        // The round is under way (announces not delivered yet): not settled, still the DC.
        #expect(!bed.core(n1).settled && !bed.core(n1).isDC && bed.core(n1).keepsTransitionRun)
        #expect(!bed.core(n2).keepsTransitionRun)
        bed.deliverAll()
        #expect(bed.core(n1).isDC && bed.core(n1).keepsTransitionRun)
        // node1 alone holds the lower DC; at the heal two members follow node2: node1 lets go.
        bed.partition([[n1], [n2, Harness.member(3, pid: 200)]])
        #expect(bed.core(n1).keepsTransitionRun && bed.core(n2).keepsTransitionRun)
        bed.heal()
        #expect(bed.agreedDC() == n2)
        #expect(!bed.core(n1).keepsTransitionRun && bed.core(n2).keepsTransitionRun)
    }

    @Test func partitionGivesOneDCPerSideAndHealingOneDC() {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        bed.partition([[n3], [n1, n2]])
        #expect(bed.agreedDC(0) == n3)
        #expect(bed.agreedDC(1) == n1)
        bed.heal()
        #expect(bed.agreedDC() == n1, "the DC two members follow stays")
        // The other way: the minority held the lower DC.
        bed.partition([[n1], [n2, n3]])
        #expect(bed.agreedDC(0) == n1)
        #expect(bed.agreedDC(1) == n2)
        bed.heal()
        #expect(bed.agreedDC() == n2)
    }

    @Test func attributesGoThroughTheDCAndAreDroppedWhenTheNodeLeaves() throws {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        let failCount = AttributeName.failCount(resource: "db", operation: "monitor", intervalMilliseconds: 10_000)
        #expect(failCount == "fail-count-db#monitor_10000")
        try bed.request(n3) { try $0.requestAttribute(.node(NodeID(3)), name: failCount, value: "1") }
        try bed.request(n2) { try $0.requestAttribute(.node(NodeID(2)), name: AttributeName.promotionScore(resource: "db"), value: "10") }
        bed.deliverAll()
        for member in [n1, n2, n3] {
            let core = bed.core(member)
            #expect(core.attributes[NodeID(3)] == [failCount: "1"])
            #expect(core.attributes[NodeID(2)] == ["master-db": "10"])
            #expect(core.pendingWrites == 0)
        }
        // Only the DC's update counts: a non-DC broadcasting an "update" is ignored everywhere.
        let forged = AttributeChange(view: bed.core(n2).view!.fingerprint, origin: n2, requestID: 99, target: .node(NodeID(1)),
                                     name: "shutdown", value: "1")
        for member in [n1, n2, n3] { bed.deliver(MessageWire.encode(.attributeUpdate(forged)), from: n2, to: member) }
        #expect(bed.core(n1).attributes[NodeID(1)] == nil)
        bed.stop(n3)
        for member in [n1, n2] {
            #expect(bed.core(member).attributes[NodeID(3)] == nil)
            #expect(bed.core(member).attributes[NodeID(2)] == ["master-db": "10"])
        }
        // A newcomer learns node2's attributes in the join round.
        bed.start([Harness.member(3, pid: 400)])
        bed.deliverAll()
        #expect(bed.core(Harness.member(3, pid: 400)).attributes[NodeID(2)] == ["master-db": "10"])
        #expect(bed.core(Harness.member(3, pid: 400)).attributes[NodeID(3)] == nil)
    }

    @Test func aWriteWaitingForADeadDCIsSentAgainToTheNextOne() throws {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        try bed.request(n3) { try $0.requestAttribute(.node(NodeID(3)), name: "shutdown", value: "1700000000") }
        var write: UInt64 = 0
        try bed.request(n3) {
            let (id, directives) = try $0.requestCIB(.replace(scope: "resources", xml: "<resources><primitive id='r1' class='ocf' provider='pacemaker' type='Dummy'/></resources>"))
            write = id
            return directives
        }
        // The DC dies before it ordered them: its requests vanish with it.
        bed.queues[0].removeAll()
        bed.stop(n1)
        bed.deliverAll()
        for member in [n2, n3] {
            #expect(bed.core(member).attributes[NodeID(3)] == ["shutdown": "1700000000"])
            #expect(bed.applied[member]?.count == 1)
            #expect(bed.applied[member]?.first?.requestID == write)
            #expect(bed.core(member).cib.version == CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 0))
        }
        #expect(bed.core(n3).pendingWrites == 0)
    }

    @Test func cibWritesAreAppliedInTheDCsOrderEverywhere() throws {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        for round in 0..<5 {
            for member in [n3, n2, n1] {
                let option = "<crm_config><cluster_property_set id='o'><nvpair id='o-x' name='x' value='\(member)#\(round)'/></cluster_property_set></crm_config>"
                try bed.request(member) { try $0.requestCIB(.replace(scope: "crm_config", xml: option)).directives }
            }
        }
        bed.deliverAll()
        let orders = [n1, n2, n3].map { bed.applied[$0, default: []].map { "\($0.origin)/\($0.requestID)" } }
        #expect(orders[0].count == 15)
        #expect(Set(orders.map { $0.joined(separator: ",") }).count == 1, "every node applies the same order")
        #expect(bed.applied[n2, default: []].map(\.sequence) == Array(1...15))
        #expect(bed.core(n3).cibSequence == 15)
        #expect(bed.sameCIB([n1, n2, n3]), "one CIB everywhere")
        #expect(bed.core(n2).cib.version == CIBVersion(adminEpoch: 0, epoch: 15, numUpdates: 0))
    }

    @Test func noQuorumPolicyIsKnownToEveryNodeAndToNewcomers() throws {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2])
        bed.deliverAll()
        bed.fire(.dcDeadtime, on: n1)
        bed.fire(.dcDeadtime, on: n2)
        #expect(bed.agreedDC() == n1)
        #expect(bed.core(n2).noQuorumPolicy == "stop")
        try bed.request(n2) { try $0.requestAttribute(.cluster, name: AttributeName.noQuorumPolicy, value: "freeze") }
        bed.deliverAll()
        bed.start([n3])
        bed.deliverAll()
        for member in [n1, n2, n3] { #expect(bed.core(member).noQuorumPolicy == "freeze") }
    }

    @Test func garbageFromAPeerIsCountedAndDropped() {
        var bed = Harness(nodes: 2)
        bed.start([Harness.member(1), Harness.member(2)])
        bed.deliverAll()
        var core = bed.core(n1)
        let before = core.status()
        let directives = core.handle(.message(sender: Harness.member(2), bytes: [0x42, 0x43, 0x52, 0x4D, 9, 1, 0, 0, 0, 0, 0, 0]))
        #expect(core.garbageCount == 1)
        #expect(directives.count == 1)
        if case .garbage(_, let reason) = directives.first { #expect(reason.contains("version 9")) } else { Issue.record("no garbage directive") }
        #expect(core.dc == before.dc && core.settled)
    }

    /// A group member that never announces (not a baton-crmd, or one sending only garbage)
    /// must not hold the cluster without a DC: after dc-deadtime the round settles among those
    /// that announced, and the silent one is never DC, even with the lowest node id and pid.
    @Test func aMemberThatNeverAnnouncesIsLeftOutAfterDeadtime() {
        var bed = Harness(nodes: 2)
        bed.start([n1, n2])
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        let rogue = Harness.member(1, pid: 1)
        bed.joinSilent(rogue)
        bed.inject([0xde, 0xad, 0xbe, 0xef], from: rogue)
        bed.deliverAll()
        #expect(bed.core(n1).settled == false && bed.core(n2).garbageCount == 1)
        #expect(bed.timers[n1] == [.dcDeadtime] && bed.timers[n2] == [.dcDeadtime])
        bed.fire(.dcDeadtime, on: n2)
        for member in [n1, n2] {
            let core = bed.core(member)
            #expect(core.settled && core.dc == n1, "\(member): dc \(String(describing: core.dc))")
            #expect(core.joinedMembers == [n1, n2])
            #expect(core.acknowledged == [n1, n2])
        }
        // The DC leaves: the next DC is node2, not the silent member with the lowest id.
        bed.stop(n1)
        #expect(bed.core(n2).dc == n2 && bed.core(n2).settled)
        // A late announce (a slow baton-crmd) is acknowledged by the DC and joins.
        let late = Announce(view: bed.core(n2).view!.fingerprint, nodeName: "node1", dc: nil, seen: [], attributes: ["x": "1"],
                            clusterOptions: [:], cibSequence: 0)
        bed.inject(MessageWire.encode(.announce(late)), from: rogue)
        bed.deliverAll()
        #expect(bed.core(n2).joinedMembers == [n2, rogue])
        #expect(bed.core(n2).attributes[NodeID(1)] == ["x": "1"])
    }

    @Test func anAnnounceBuiltForAnotherViewIsIgnored() {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2])
        bed.deliverAll()
        let stale = Announce(view: 12345, nodeName: "node2", dc: n2, seen: [], attributes: [:], clusterOptions: [:], cibSequence: 0)
        bed.start([n3])
        // A lagging announce (built for an older view) arrives first in the new round.
        for member in [n1, n2, n3] { bed.deliver(MessageWire.encode(.announce(stale)), from: n2, to: member) }
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        #expect(bed.core(n1).ignoredCount >= 1)
    }

    @Test func statusListsTheNodelistWithOnlineAndJoined() {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        bed.stop(n3)
        let status = bed.core(n2).status()
        #expect(status.dc == n1 && status.dcName == "node1")
        #expect(status.nodes.map(\.name) == ["node1", "node2", "node3"])
        #expect(status.nodes.map(\.online) == [true, true, false])
        #expect(status.nodes.map(\.joined) == [true, true, false])
    }
}
