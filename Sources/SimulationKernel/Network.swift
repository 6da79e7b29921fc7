/// The simulated network between nodes: per-link cuts (one way or both), partitions into
/// sides, loss, duplication, delay and reordering for point-to-point messages; group messages
/// (`multicast`) go through `GroupLayer` instead (no loss or reordering inside a view: CPG's
/// guarantees).
public struct NetworkModel: Sendable, Equatable {
    /// Probability that one point-to-point message is lost.
    public var loss: Double
    /// Probability that one point-to-point message arrives twice.
    public var duplication: Double
    /// Delay of one message (point-to-point and group), drawn uniformly.
    public var delayMin: Duration
    public var delayMax: Duration
    /// Probability that one point-to-point message is held back up to `delaySpikeMax`.
    public var delaySpikeProbability: Double
    public var delaySpikeMax: Duration
    /// Point-to-point messages on one link arrive in the order they were sent (a TCP stream);
    /// off, each message's delay is its own and later messages may overtake earlier ones.
    public var orderedPerLink: Bool

    public init(
        loss: Double = 0, duplication: Double = 0, delayMin: Duration = .milliseconds(1), delayMax: Duration = .milliseconds(20),
        delaySpikeProbability: Double = 0, delaySpikeMax: Duration = .milliseconds(20), orderedPerLink: Bool = false
    ) {
        precondition((0...1).contains(loss) && (0...1).contains(duplication) && (0...1).contains(delaySpikeProbability), "probabilities in 0...1")
        precondition(delayMin >= .zero && delayMin <= delayMax, "delays: 0 <= min <= max")
        precondition(delaySpikeProbability == 0 || delayMax <= delaySpikeMax, "delay spikes: max <= spike max")
        self.loss = loss
        self.duplication = duplication
        self.delayMin = delayMin
        self.delayMax = delayMax
        self.delaySpikeProbability = delaySpikeProbability
        self.delaySpikeMax = delaySpikeMax
        self.orderedPerLink = orderedPerLink
    }

    /// One message's delay, in nanoseconds.
    func delay(random: inout SeededGenerator) -> Int64 {
        if delaySpikeProbability > 0 && random.chance(delaySpikeProbability) {
            return random.duration(in: delayMax...delaySpikeMax).nanosecondsValue
        }
        return random.duration(in: delayMin...delayMax).nanosecondsValue
    }
}

/// Who can reach whom: a side per node (a partition puts nodes on different sides) and one-way
/// cuts on single links. Group views follow the sides only (Corosync forms rings of nodes that
/// hear each other both ways).
struct Reachability: Sendable {
    var side: [Int]
    var cut: [[Bool]]

    init(nodes: Int) {
        side = Array(repeating: 0, count: nodes)
        cut = Array(repeating: Array(repeating: false, count: nodes), count: nodes)
    }

    func reaches(_ from: NodeIndex, _ to: NodeIndex) -> Bool {
        from == to || (side[from] == side[to] && !cut[from][to])
    }
}

/// The CPG-like group layer: views, and multicasts delivered with virtual synchrony.
///
/// A multicast of view `v` gets the next number of `v`'s total order and is scheduled at each
/// member of `v` (itself included), each member receiving `v`'s messages in that order. When
/// the membership changes (a crash, a restart, a partition or its heal), every member of a new
/// view that was in `v` first gets the rest of `v`'s messages: all of them whose sender is in
/// its new view, and of the others those that any member of its new view already delivered
/// (the same set for the whole new view; the rest are dropped for all of it), in `v`'s order;
/// then the `.view` event. A delivery that arrives after its receiver left `v` is dropped.
struct GroupLayer<Message> {
    struct Pending {
        let sender: NodeIndex
        let sequence: UInt64
        let view: GroupView
        let message: Message
    }

    /// The view each up node is in (nil: down).
    var viewOf: [GroupView?]
    /// Per view id: the messages multicast in it (by sequence), for the flush at its end.
    var sent: [UInt64: [Pending]] = [:]
    /// Per node: (view id, highest sequence delivered in it).
    var delivered: [(view: UInt64, sequence: UInt64)]
    var nextViewID: UInt64 = 1
    /// Per view id: the next sequence number.
    var nextSequence: [UInt64: UInt64] = [:]
    /// Per node: the latest scheduled delivery time in its view (keeps the total order).
    var lastDeliveryAt: [Int64]
    static var viewMessagesMax: Int { 1_000_000 }

    init(nodes: Int) {
        viewOf = Array(repeating: nil, count: nodes)
        delivered = Array(repeating: (0, 0), count: nodes)
        lastDeliveryAt = Array(repeating: 0, count: nodes)
    }

    /// Numbers a multicast of `sender` in its view.
    mutating func number(_ message: Message, from sender: NodeIndex) -> (view: GroupView, sequence: UInt64)? {
        guard let view = viewOf[sender] else { return nil }
        let sequence = nextSequence[view.id, default: 1]
        nextSequence[view.id] = sequence + 1
        sent[view.id, default: []].append(Pending(sender: sender, sequence: sequence, view: view, message: message))
        precondition(sent[view.id]!.count <= Self.viewMessagesMax, "over \(Self.viewMessagesMax) messages in \(view)")
        return (view, sequence)
    }

    /// Whether `node` may deliver `sequence` of `view` now (still in the view, next in order).
    func deliverable(_ node: NodeIndex, view: UInt64, sequence: UInt64) -> Bool {
        guard viewOf[node]?.id == view else { return false }
        return delivered[node].view != view || delivered[node].sequence < sequence
    }

    mutating func noteDelivered(_ node: NodeIndex, view: UInt64, sequence: UInt64) {
        precondition(deliverable(node, view: view, sequence: sequence) && delivered[node] == (view, sequence - 1) ,
                     "node \(node) delivered \(view)#\(sequence) after \(delivered[node].view)#\(delivered[node].sequence): a gap in the view's order")
        delivered[node] = (view, sequence)
    }

    /// The new views for the up nodes grouped by side: (view, per member: the old view's
    /// messages it still delivers, in order). Views that did not change are not returned.
    mutating func reform(up: [Bool], boots: [Int], side: [Int], random: inout SeededGenerator) -> [(view: GroupView, flush: [NodeIndex: [Pending]])] {
        var groups: [Int: [NodeIndex]] = [:]
        for node in up.indices where up[node] { groups[side[node], default: []].append(node) }
        var result: [(GroupView, [NodeIndex: [Pending]])] = []
        var retiredViews: Set<UInt64> = []
        for key in groups.keys.sorted() {
            let members = groups[key]!
            let unchanged = viewOf[members[0]].map { $0.members == members && members.allSatisfy { viewOf[$0]?.id == viewOf[members[0]]!.id } } ?? false
            if unchanged { continue }
            let view = GroupView(id: nextViewID, members: members, boots: members.map { boots[$0] })
            nextViewID += 1
            var flush: [NodeIndex: [Pending]] = [:]
            // Members coming from the same old view deliver the same rest of it.
            var byOldView: [UInt64: [NodeIndex]] = [:]
            for member in members { if let old = viewOf[member] { byOldView[old.id, default: []].append(member) } }
            for (oldID, movers) in byOldView.sorted(by: { $0.key < $1.key }) {
                retiredViews.insert(oldID)
                let all = sent[oldID] ?? []
                let seen = movers.map { delivered[$0].view == oldID ? delivered[$0].sequence : 0 }.max() ?? 0
                let kept = all.filter { $0.sequence <= seen || members.contains($0.sender) || random.chance(0.5) }
                for mover in movers {
                    let from = delivered[mover].view == oldID ? delivered[mover].sequence : 0
                    flush[mover] = kept.filter { $0.sequence > from }
                }
            }
            for member in members { viewOf[member] = view }
            result.append((view, flush))
        }
        // Views nobody is in any more are forgotten (their late deliveries are dropped).
        let live = Set(viewOf.compactMap { $0?.id })
        for id in retiredViews where !live.contains(id) {
            sent[id] = nil
            nextSequence[id] = nil
        }
        return result
    }
}
