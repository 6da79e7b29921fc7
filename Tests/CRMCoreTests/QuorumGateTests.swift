import CRMCore
import Testing

/// The DC schedules only on the quorum state of its own ring (QuorumGate): the sequences
/// corosync delivers at a ring change, in the order seen on real nodes and reordered.
@Suite struct QuorumGateTests {
    static let r1 = RingID(nodeID: NodeID(1), sequence: 8)
    static let r2 = RingID(nodeID: NodeID(2), sequence: 12)

    /// A node settled on ring r1 with its quorum state.
    static func settled() -> QuorumGate {
        var gate = QuorumGate()
        gate.quorumNodeList(ring: r1)
        gate.quorumState()
        gate.groupRing(r1)
        return gate
    }

    @Test func startsClosedUntilTheFirstQuorumState() {
        var gate = QuorumGate()
        #expect(!gate.isCurrent)
        gate.quorumNodeList(ring: Self.r1)
        #expect(!gate.isCurrent)
        gate.quorumState()
        #expect(gate.isCurrent)
        #expect(Self.settled().isCurrent)
    }

    /// The SplitBrain order on the cut-off node: votequorum's node list of the new ring, CPG's
    /// node-down change (the DC is made here), CPG's new ring, then votequorum's state.
    @Test func aRingChangeHoldsTheDCUntilVotequorumAnswersForTheNewRing() {
        var gate = Self.settled()
        gate.quorumNodeList(ring: Self.r2)
        #expect(!gate.isCurrent)
        gate.groupMembership(nodeLevel: true)
        #expect(!gate.isCurrent)
        gate.groupRing(Self.r2)
        #expect(!gate.isCurrent)
        gate.quorumState()
        #expect(gate.isCurrent)
    }

    /// The two libraries' connections reordered: CPG's change and ring before votequorum's node
    /// list; the old quorum state must not count for the new ring.
    @Test func cpgAheadOfVotequorumWaitsForItsNodeListAndState() {
        var gate = Self.settled()
        gate.groupMembership(nodeLevel: true)
        #expect(!gate.isCurrent)
        gate.groupRing(Self.r2)
        #expect(!gate.isCurrent, "r1's quorum state is not r2's")
        gate.quorumNodeList(ring: Self.r2)
        #expect(!gate.isCurrent)
        gate.quorumState()
        #expect(gate.isCurrent)
    }

    /// votequorum's state for the new ring before CPG's ring event: still waiting for CPG.
    @Test func votequorumAheadOfCPGWaitsForCPGsRing() {
        var gate = Self.settled()
        gate.quorumNodeList(ring: Self.r2)
        gate.quorumState()
        #expect(!gate.isCurrent)
        gate.groupMembership(nodeLevel: true)
        #expect(!gate.isCurrent)
        gate.groupRing(Self.r2)
        #expect(gate.isCurrent)
    }

    /// baton-crmd alone leaving or joining the group is no ring change: nothing to wait for.
    @Test func aProcessLeavingTheGroupKeepsTheGateOpen() {
        var gate = Self.settled()
        gate.groupMembership(nodeLevel: false)
        #expect(gate.isCurrent)
        #expect(gate.waitReason == nil)
    }

    @Test func theWaitReasonNamesWhatIsAwaited() {
        var gate = Self.settled()
        gate.quorumNodeList(ring: Self.r2)
        #expect(gate.waitReason?.contains("votequorum's quorum state") == true)
        gate.quorumState()
        gate.groupMembership(nodeLevel: true)
        #expect(gate.waitReason?.contains("new ring") == true)
    }
}
