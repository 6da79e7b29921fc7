/// Whether the quorum state this node holds belongs to the ring it now runs on: the DC
/// schedules (and so fences) only then.
///
/// At a ring change corosync tells the two libraries apart: votequorum sends its node list with
/// the new ring id early in the sync, then, at the sync's end, the quorum state recomputed for
/// that ring; CPG delivers the group's membership change (a node down) and then the new ring.
/// On the node cut off from the majority, CPG's change came 1 ms before votequorum's "no
/// quorum": a DC made inside that change scheduled on the old "quorate" and its first graph
/// fenced the majority (the lab's SplitBrain). So the gate closes at the first sign of a new
/// ring — votequorum's node list, or a member lost or gained at the node level (CPG's nodedown
/// or nodeup) — and opens only once votequorum's quorum state has come after its node list and
/// CPG's ring is the same ring. A process that leaves or joins the group (baton-crmd alone) is
/// no ring change and leaves the gate as it is.
public struct QuorumGate: Sendable, Equatable {
    /// votequorum's latest node-list ring, and whether its quorum state has come since.
    public private(set) var quorumRing: RingID?
    public private(set) var quorumAnswered = false
    /// CPG's latest ring.
    public private(set) var groupRing: RingID?
    /// A node-level membership change was delivered while CPG's ring was this one: the next
    /// ring is still to come.
    public private(set) var awaitingRingAfter: RingID??

    public init() {}

    /// votequorum's node list (`votequorum_nodelist_notify_fn`).
    public mutating func quorumNodeList(ring: RingID) {
        quorumRing = ring
        quorumAnswered = false
    }

    /// votequorum's quorum state (`votequorum_quorum_notify_fn`).
    public mutating func quorumState() {
        quorumAnswered = true
    }

    /// CPG's new ring (`cpg_totem_confchg_fn`).
    public mutating func groupRing(_ ring: RingID) {
        if let awaited = awaitingRingAfter, awaited != ring { awaitingRingAfter = nil }
        groupRing = ring
    }

    /// A CPG membership change; `nodeLevel`: some member joined or left because its node did
    /// (nodeup, nodedown), so corosync's ring changed and its `.totem` event follows.
    public mutating func groupMembership(nodeLevel: Bool) {
        if nodeLevel { awaitingRingAfter = .some(groupRing) }
    }

    /// The quorum state is this ring's: the DC may schedule.
    public var isCurrent: Bool {
        guard quorumAnswered, awaitingRingAfter == nil else { return false }
        guard let quorumRing, let groupRing else { return true }
        return quorumRing == groupRing
    }

    /// Why not, for the log.
    public var waitReason: String? {
        if isCurrent { return nil }
        if awaitingRingAfter != nil { return "corosync's new ring after a node-level membership change" }
        if !quorumAnswered { return "votequorum's quorum state for ring \(quorumRing.map(\.description) ?? "?")" }
        return "CPG's ring \(groupRing.map(\.description) ?? "?") and votequorum's \(quorumRing.map(\.description) ?? "?") to agree"
    }
}

/// How long the DC waits out a quorum loss before it schedules on it (issue 14).
///
/// When a ring re-forms (a cut between the nodes, a heal, a link that comes and goes) corosync
/// may give a node of the majority a moment in a ring of its own: votequorum says "no quorum"
/// and, a few milliseconds later, "quorum" for the merged ring. A DC that schedules on the first
/// answer stops everything it runs (no-quorum-policy stop, demote, freeze's fence of nothing)
/// and starts it again ten milliseconds later. Pacemaker's controller absorbs such a moment in
/// its election, join and scheduler round trips; this one schedules in the same step, so it
/// waits: after a loss no new graph for `settle` (the run in flight is aborted as always:
/// nothing more starts), then the graph of whatever the quorum is by then. A quorum back within
/// the wait is a loss that never was. A real minority acts `settle` late, which fencing covers
/// (the majority starts nothing of the minority's before its fence) and which stays well inside
/// the time a Pacemaker minority takes to elect its own DC and schedule.
///
/// A ring that keeps flapping does not hold the DC forever: a loss that comes less than `settle`
/// after the quorum came back is the same loss, its wait counted from the first. With
/// no-quorum-policy ignore a loss changes no graph: nothing waits.
public struct QuorumLossSettle: Sendable, Equatable {
    public let settle: Duration
    /// The loss being waited out (the first of a flapping run), nil while quorate.
    public private(set) var lostAt: Duration?
    /// When the quorum last came back, and the loss it ended.
    public private(set) var regainedAt: Duration?
    public private(set) var regainedLoss: Duration?

    public init(settle: Duration) {
        precondition(settle >= .zero, "QuorumLossSettle: settle must not be negative")
        self.settle = settle
    }

    /// The node's quorum changed (NodeCore's `quorumChanged`), at `now` by the shell's clock.
    public mutating func quorumChanged(_ quorate: Bool, now: Duration) {
        if quorate {
            if let lostAt { (regainedAt, regainedLoss) = (now, lostAt) }
            lostAt = nil
        } else if lostAt == nil {
            if let regainedAt, let regainedLoss, now - regainedAt < settle { lostAt = regainedLoss } else { lostAt = now }
        }
    }

    /// Until when a new graph waits (nil: it need not): while the quorum is lost, `settle` after
    /// the loss, unless the policy is ignore.
    public func holdsUntil(now: Duration, noQuorumPolicy: String) -> Duration? {
        guard let lostAt, noQuorumPolicy != "ignore" else { return nil }
        let until = lostAt + settle
        return now < until ? until : nil
    }
}

/// How long a due graph waits for the CIB writes the DC ordered and no majority has
/// acknowledged yet (issue 14).
///
/// A graph made on the CIB before such a write is aborted when the write commits ("CIB
/// changed"), after its first actions went out: every cold start did so, the new DC's own
/// entries (dc-version, cluster-infrastructure, the nodelist's nodes) committing a few
/// milliseconds after the first graph of 5,000 actions (its 24 first actions waited for, and
/// the scheduler run twice). Pacemaker's DC writes these in its join, before it asks its
/// scheduler. So a due graph waits while writes are unacknowledged, at most `holdMax` per
/// stretch of them: writes that keep coming (agents' attributes) never starve the graph; they
/// abort it as Pacemaker's do.
public struct OwnWritesSettle: Sendable, Equatable {
    public let holdMax: Duration
    /// When the current stretch of unacknowledged writes was first seen, nil when none.
    public private(set) var pendingSince: Duration?

    public init(holdMax: Duration = .milliseconds(200)) {
        precondition(holdMax >= .zero, "OwnWritesSettle: holdMax must not be negative")
        self.holdMax = holdMax
    }

    /// Until when a due graph waits (nil: it need not). `pending`: the DC ordered writes a
    /// majority has not acknowledged yet (NodeCore's `ownWritesUnacknowledged`).
    public mutating func holdsUntil(now: Duration, pending: Bool) -> Duration? {
        guard pending else {
            pendingSince = nil
            return nil
        }
        let since = pendingSince ?? now
        pendingSince = since
        let until = since + holdMax
        return now < until ? until : nil
    }
}
