@testable import CRMCore
import Testing

/// Bugs the deterministic simulation (`baton crm simulate`, CRMSimulation) found in NodeCore,
/// each reduced to a scripted scenario under the pure CPG stand-in.
@Suite struct NodeCoreFindingsTests {
    let n1 = Harness.member(1), n2 = Harness.member(2), n3 = Harness.member(3)
    let n4 = Harness.member(4), n5 = Harness.member(5)

    /// A real CIB write (the DC refuses anything else): crm_config replaced with a property
    /// naming the write, so that each write changes the CIB.
    static func write(_ number: Int) -> CIBOperation {
        .replace(scope: "crm_config", xml: "<crm_config><cluster_property_set id='w'><nvpair id='w-n' name='write' value='\(number)'/></cluster_property_set></crm_config>")
    }

    mutating func quorum(_ bed: inout Harness, _ members: [Member], _ quorate: Bool) {
        for member in members { bed.request(member) { $0.handle(.quorum(quorate: quorate)) } }
    }

    /// Found by seeds 1-20 of `baton crm simulate`: a partition's minority kept ordering CIB
    /// writes under its own DC, with the sequences the majority used too: two orders, and
    /// acknowledged writes of one side overwritten after the heal.
    @Test mutating func aDCWithoutQuorumOrdersNoCIBWriteUntilQuorumReturns() throws {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        quorum(&bed, [n1, n2, n3], true)
        bed.partition([[n1], [n2, n3]])
        quorum(&bed, [n1], false)
        #expect(bed.agreedDC(0) == n1)
        #expect(bed.agreedDC(1) == n2)
        try bed.request(n1) { try $0.requestCIB(Self.write(1)).directives }
        try bed.request(n3) { try $0.requestCIB(Self.write(3)).directives }
        bed.deliverAll()
        #expect(bed.applied[n1, default: []].isEmpty, "a DC without quorum ordered a CIB write")
        #expect(bed.applied[n2, default: []].map(\.origin) == [n3])
        #expect(bed.core(n1).pendingWrites == 1, "the write waits for quorum")
        bed.heal()
        quorum(&bed, [n1], true)
        bed.deliverAll()
        #expect(bed.agreedDC() == n2)
        for member in [n1, n2, n3] {
            #expect(bed.applied[member, default: []].last?.origin == n1, "\(member)")
            #expect(bed.applied[member, default: []].last?.sequence == 2, "\(member)")
            #expect(bed.core(member).pendingWrites == 0)
        }
        // Quorum lost and regained without a view change: the DC orders what it held then.
        quorum(&bed, [n1, n2, n3], false)
        try bed.request(n3) { try $0.requestCIB(Self.write(4)).directives }
        bed.deliverAll()
        #expect(bed.applied[n3, default: []].count == 2)
        quorum(&bed, [n1, n2, n3], true)
        bed.deliverAll()
        #expect(bed.applied[n3, default: []].last?.origin == n3)
        #expect(bed.core(n3).pendingWrites == 0)
    }

    /// Found by `baton crm simulate` (a quorate side whose other baton-crmd processes were
    /// killed, healed with a side of more processes): the DC that more members follow came from
    /// the side with the lower CIB sequence, every member took that sequence, and the next write
    /// reused a sequence an acknowledged write held.
    @Test func aHealKeepsTheHighestCIBSequenceWhenTheDCComesFromTheOtherSide() throws {
        var bed = Harness(nodes: 5)
        bed.automaticQuorum = false
        bed.start([n1, n2, n3, n4, n5])
        bed.deliverAll()
        for member in [n1, n2, n3, n4, n5] { bed.request(member) { $0.handle(.quorum(quorate: true)) } }
        bed.partition([[n1, n2, n3], [n4, n5]])
        for member in [n4, n5] { bed.request(member) { $0.handle(.quorum(quorate: false)) } }
        try bed.request(n1) { try $0.requestCIB(Self.write(1)).directives }
        try bed.request(n1) { try $0.requestCIB(Self.write(2)).directives }
        bed.deliverAll()
        #expect(bed.core(n1).cibSequence == 2)
        // kill -9 of two baton-crmd processes of the side that wrote: node1 alone holds its order.
        bed.stop(n2)
        bed.stop(n3)
        bed.heal()
        for member in [n4, n5] { bed.request(member) { $0.handle(.quorum(quorate: true)) } }
        bed.deliverAll()
        #expect(bed.agreedDC() == n4, "two members follow node4, one node1")
        for member in [n1, n4, n5] { #expect(bed.core(member).cibSequence == 2, "\(member)") }
        try bed.request(n5) { try $0.requestCIB(Self.write(3)).directives }
        bed.deliverAll()
        for member in [n1, n4, n5] {
            #expect(bed.applied[member, default: []].last?.sequence == 3, "\(member)")
            #expect(bed.applied[member, default: []].last?.origin == n5, "\(member)")
        }
    }

    /// Found by seed 567 of `baton crm simulate` (5 nodes): the baton-crmd processes of two
    /// nodes were killed, a partition put them with node 2, whose baton-crmd was alone in its
    /// group but quorate by their corosync votes; with a CIB sequence older than the other
    /// side's it ordered a write at a sequence an acknowledged write of the other side held.
    @Test func aDCWhoseGroupHoldsNoMajorityOfTheNodelistOrdersNoCIBWrite() throws {
        var bed = Harness(nodes: 3)
        bed.automaticQuorum = false
        bed.start([n1, n2, n3])
        bed.deliverAll()
        for member in [n1, n2, n3] { bed.request(member) { $0.handle(.quorum(quorate: true)) } }
        bed.partition([[n1], [n2, n3]])
        // node1's baton-crmd is alone in its group; votequorum counts node2's corosync vote.
        bed.request(n1) { $0.handle(.quorum(quorate: true)) }
        try bed.request(n1) { try $0.requestCIB(Self.write(1)).directives }
        try bed.request(n3) { try $0.requestCIB(Self.write(3)).directives }
        bed.deliverAll()
        #expect(bed.applied[n1, default: []].isEmpty, "a DC with one of three baton-crmd processes ordered a CIB write")
        #expect(bed.applied[n3, default: []].map(\.sequence) == [1])
        bed.heal()
        bed.deliverAll()
        for member in [n1, n2, n3] {
            #expect(bed.applied[member, default: []].last?.origin == n1, "\(member)")
            #expect(bed.applied[member, default: []].last?.sequence == 2, "\(member)")
        }
    }

    /// Writes a DC held because a nodelist change took its group's majority away are ordered
    /// when a later change gives it back, without waiting for a view change.
    @Test func heldWritesAreOrderedWhenANodelistChangeGivesTheMajorityBack() throws {
        var bed = Harness(nodes: 3)
        bed.automaticQuorum = false
        bed.start([n1, n2, n3])
        bed.deliverAll()
        for member in [n1, n2, n3] { bed.request(member) { $0.handle(.quorum(quorate: true)) } }
        let wider = bed.nodelist + (4...7).map { ConfiguredNode(nodeID: NodeID(UInt32($0)), name: "node\($0)") }
        for member in [n1, n2, n3] { bed.request(member) { $0.handle(.nodelist(wider)) } }
        try bed.request(n2) { try $0.requestCIB(Self.write(2)).directives }
        bed.deliverAll()
        #expect(bed.applied[n2, default: []].isEmpty, "3 of 7 nodes ordered a write")
        let configured = bed.nodelist
        for member in [n1, n2, n3] { bed.request(member) { $0.handle(.nodelist(configured)) } }
        bed.deliverAll()
        for member in [n1, n2, n3] { #expect(bed.applied[member, default: []].map(\.origin) == [n2], "\(member)") }
        #expect(bed.core(n2).pendingWrites == 0)
    }
}
