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
