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

/// A quorum loss the DC waits out before it schedules on it (QuorumLossSettle).
@Suite struct QuorumLossSettleTests {
    static func ms(_ value: Int) -> Duration { .milliseconds(value) }

    @Test func aQuorateNodeNeverWaits() {
        var settle = QuorumLossSettle(settle: Self.ms(1000))
        #expect(settle.holdsUntil(now: Self.ms(0), noQuorumPolicy: "stop") == nil)
        settle.quorumChanged(true, now: Self.ms(5))
        #expect(settle.holdsUntil(now: Self.ms(6), noQuorumPolicy: "stop") == nil)
    }

    /// The lab's case: a majority node alone for 10 ms as the ring re-forms: the DC waits, the
    /// quorum comes back, nothing was scheduled on the loss.
    @Test func aLossUndoneWithinTheWaitIsNeverScheduledOn() {
        var settle = QuorumLossSettle(settle: Self.ms(1000))
        settle.quorumChanged(false, now: Self.ms(100))
        #expect(settle.holdsUntil(now: Self.ms(100), noQuorumPolicy: "stop") == Self.ms(1100))
        #expect(settle.holdsUntil(now: Self.ms(109), noQuorumPolicy: "stop") == Self.ms(1100))
        settle.quorumChanged(true, now: Self.ms(110))
        #expect(settle.holdsUntil(now: Self.ms(111), noQuorumPolicy: "stop") == nil)
    }

    /// A real minority: it waits `settle`, then schedules on the loss (and stops), not later.
    @Test func aLastingLossIsScheduledOnAfterTheWait() {
        var settle = QuorumLossSettle(settle: Self.ms(1000))
        settle.quorumChanged(false, now: Self.ms(100))
        #expect(settle.holdsUntil(now: Self.ms(1099), noQuorumPolicy: "demote") == Self.ms(1100))
        #expect(settle.holdsUntil(now: Self.ms(1100), noQuorumPolicy: "demote") == nil)
        #expect(settle.holdsUntil(now: Self.ms(5000), noQuorumPolicy: "freeze") == nil)
        // A second "no quorum" of the same loss (a later ring, still no quorum) changes nothing.
        settle.quorumChanged(false, now: Self.ms(1050))
        #expect(settle.lostAt == Self.ms(100))
    }

    /// A flapping ring: a loss within `settle` of the quorum's return counts from the first loss,
    /// so flapping never holds the DC past one wait.
    @Test func aFlappingRingWaitsOnceFromTheFirstLoss() {
        var settle = QuorumLossSettle(settle: Self.ms(1000))
        var now = 0
        for _ in 0..<20 {
            settle.quorumChanged(false, now: Self.ms(now))
            settle.quorumChanged(true, now: Self.ms(now + 10))
            now += 300
        }
        settle.quorumChanged(false, now: Self.ms(now))
        #expect(settle.lostAt == Self.ms(0))
        #expect(settle.holdsUntil(now: Self.ms(now), noQuorumPolicy: "stop") == nil)
        // Quorate longer than the wait: the next loss is a new one.
        settle.quorumChanged(true, now: Self.ms(now + 10))
        settle.quorumChanged(false, now: Self.ms(now + 2000))
        #expect(settle.holdsUntil(now: Self.ms(now + 2000), noQuorumPolicy: "stop") == Self.ms(now + 3000))
    }

    @Test func ignoreNeverWaitsAndZeroTurnsTheWaitOff() {
        var settle = QuorumLossSettle(settle: Self.ms(1000))
        settle.quorumChanged(false, now: Self.ms(100))
        #expect(settle.holdsUntil(now: Self.ms(100), noQuorumPolicy: "ignore") == nil)
        var off = QuorumLossSettle(settle: .zero)
        off.quorumChanged(false, now: Self.ms(100))
        #expect(off.holdsUntil(now: Self.ms(100), noQuorumPolicy: "stop") == nil)
    }
}

/// A due graph's wait for the DC's unacknowledged CIB writes (OwnWritesSettle).
@Suite struct OwnWritesSettleTests {
    static func ms(_ value: Int) -> Duration { .milliseconds(value) }

    @Test func nothingPendingNeverWaits() {
        var settle = OwnWritesSettle(holdMax: Self.ms(200))
        #expect(settle.holdsUntil(now: Self.ms(0), pending: false) == nil)
        #expect(settle.holdsUntil(now: Self.ms(500), pending: false) == nil)
    }

    /// The cold start's case: the entries commit 5 ms later; the graph waited for them.
    @Test func aGraphWaitsForWritesAcknowledgedWithinTheHold() {
        var settle = OwnWritesSettle(holdMax: Self.ms(200))
        #expect(settle.holdsUntil(now: Self.ms(100), pending: true) == Self.ms(300))
        #expect(settle.holdsUntil(now: Self.ms(103), pending: true) == Self.ms(300), "counted from the first sight")
        #expect(settle.holdsUntil(now: Self.ms(105), pending: false) == nil)
        #expect(settle.pendingSince == nil)
    }

    /// Writes that never stop (or an acknowledgement that never comes) hold a graph at most
    /// holdMax: then it is made, acknowledged or not, until the stretch ends.
    @Test func writesThatKeepComingHoldAGraphAtMostHoldMax() {
        var settle = OwnWritesSettle(holdMax: Self.ms(200))
        #expect(settle.holdsUntil(now: Self.ms(0), pending: true) == Self.ms(200))
        #expect(settle.holdsUntil(now: Self.ms(199), pending: true) == Self.ms(200))
        #expect(settle.holdsUntil(now: Self.ms(200), pending: true) == nil)
        #expect(settle.holdsUntil(now: Self.ms(5000), pending: true) == nil, "the same stretch: no new wait")
        #expect(settle.holdsUntil(now: Self.ms(5001), pending: false) == nil)
        #expect(settle.holdsUntil(now: Self.ms(6000), pending: true) == Self.ms(6200), "a new stretch waits again")
    }
}
