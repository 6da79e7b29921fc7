import ClusterIdentity

/// qnetd 3.0.3's lms (last man standing) decision: which of a cluster's partitions gets the
/// device's vote. Pure; `FFSplitCluster` runs it instead of ffsplit's comparison for a cluster
/// whose nodes registered `algorithm: lms`, and keeps its own machinery around it (no decision
/// until the connected members agree on their rings; the NACKs answered before any ACK).
///
/// With lms the device carries (configured nodes − 1) votes (votequorum's default when
/// `quorum.device.votes` is absent): one node holding the vote is quorate by itself, a
/// partition without it never is, so exactly one partition may hold it.
///
/// A partition is the connected, reporting clients that report one ring id. In order
/// (`qnetd-algo-lms.c`, `do_lms_algorithm`):
///
/// | rule             | the vote goes to                                                                      |
/// |------------------|---------------------------------------------------------------------------------------|
/// | `onlyPartition`  | the one partition, whatever its size: the last man standing keeps quorum              |
/// | `keptFromNewcomers` | the one partition left once those made only of newcomers (clients never ranked since they connected) stay out, as they do while a client of another partition holds an ACK: quorum does not move to nodes that come back |
/// | `score`          | the one partition with the highest score (connected + passed − failed heuristics)     |
/// | `size`           | among the best-scored, the one with the most connected clients                        |
/// | `tieBreaker`     | among those, the one with the lowest (`lowest`) or highest (`highest`) connected node id, or holding the given node |
/// | `none`           | nothing (no reports; or the tie-breaker node is in none of the tied partitions)       |
///
/// Where this differs from qnetd 3.0.3, on purpose:
/// - qnetd compares sizes over all partitions once the best score is shared (a larger,
///   worse-scored partition can win); here only the best-scored ones compete.
/// - qnetd's tie-breaker looks at all connected clients, even those outside the tied
///   partitions; here only the tied partitions' clients. With a node-id tie-breaker qnetd
///   ACKs the tie-breaker node alone (its partition's other nodes get NACKs); here its whole
///   partition.
/// - qnetd decides per client as each message comes, so two partitions can hold ACKs for a
///   moment; here the cluster decides once and the NACKs go first.
/// - On the node side qdevice's lms keeps voting without qnetd when the node was quorate and
///   `wait_for_all` is on (read from its code, not tried live: that could let both halves of
///   a split keep quorum while qnetd is down); Baton's device casts no vote without the
///   arbitrator, as with ffsplit.
public enum LastManStanding {
    /// One connected, reporting client as the decision sees it.
    public struct Candidate: Sendable, Hashable {
        public let node: NodeID
        public let report: MembershipReport
        /// Never ranked since it connected (qnetd's `last_result == 0`).
        public let newcomer: Bool
        /// Its last ranked vote was an ACK (qnetd's `last_result == ACK`).
        public let holdsVote: Bool

        public init(node: NodeID, report: MembershipReport, newcomer: Bool, holdsVote: Bool) {
            self.node = node
            self.report = report
            self.newcomer = newcomer
            self.holdsVote = holdsVote
        }
    }

    /// Which rule chose (or failed to choose).
    public enum Rule: String, Sendable {
        case none, onlyPartition, keptFromNewcomers, score, size, tieBreaker
    }

    public struct Decision: Sendable, Hashable {
        /// The winning partition's ring (nil: no partition gets the vote).
        public let ring: RingID?
        /// The winner's member list as its clients reported it (empty: none).
        public let members: [NodeID]
        public let rule: Rule
        /// The clients whose partitions took part in the ranking (no longer newcomers).
        public let ranked: Set<NodeID>
    }

    public static func decide(_ candidates: [Candidate], tieBreaker: TieBreaker) -> Decision {
        var byRing: [RingID: [Candidate]] = [:]
        for candidate in candidates { byRing[candidate.report.ring, default: []].append(candidate) }
        func win(_ ring: RingID?, _ rule: Rule, ranked: [RingID]) -> Decision {
            Decision(ring: ring, members: ring.map { byRing[$0]![0].report.members } ?? [], rule: rule,
                     ranked: Set(ranked.flatMap { byRing[$0]!.map(\.node) }))
        }
        let rings = byRing.keys.sorted()
        guard !rings.isEmpty else { return win(nil, .none, ranked: []) }
        if rings.count == 1 { return win(rings[0], .onlyPartition, ranked: rings) }
        // Partitions of newcomers only stay out while another partition's client holds an ACK.
        let eligible = rings.filter { ring in
            let clients = byRing[ring]!
            guard clients.allSatisfy(\.newcomer) else { return true }
            return !candidates.contains { $0.report.ring != ring && $0.holdsVote }
        }
        guard !eligible.isEmpty else { return win(nil, .none, ranked: []) }
        if eligible.count == 1 { return win(eligible[0], .keptFromNewcomers, ranked: eligible) }
        func score(_ ring: RingID) -> Int {
            byRing[ring]!.reduce(0) { total, client in
                switch client.report.heuristics {
                case .pass: total + 2
                case .fail: total
                case .undefined: total + 1
                }
            }
        }
        let bestScore = eligible.map(score).max()!
        let bestScored = eligible.filter { score($0) == bestScore }
        if bestScored.count == 1 { return win(bestScored[0], .score, ranked: eligible) }
        let largestSize = bestScored.map { byRing[$0]!.count }.max()!
        let largest = bestScored.filter { byRing[$0]!.count == largestSize }
        if largest.count == 1 { return win(largest[0], .size, ranked: eligible) }
        let clients = largest.flatMap { ring in byRing[ring]!.map { (node: $0.node, ring: ring) } }
        let chosen: (node: NodeID, ring: RingID)?
        switch tieBreaker {
        case .lowest: chosen = clients.min { $0.node < $1.node }
        case .highest: chosen = clients.max { $0.node < $1.node }
        case .node(let id): chosen = clients.first { $0.node == id }
        }
        guard let chosen else { return win(nil, .none, ranked: eligible) }
        return win(chosen.ring, .tieBreaker, ranked: eligible)
    }

    /// The device's votes votequorum gives lms when `quorum.device.votes` is absent: the
    /// nodes' votes − 1 (every node votes 1 in Baton's sites).
    public static func defaultDeviceVotes(configuredNodes: Int) -> UInt32 { UInt32(max(configuredNodes - 1, 0)) }
}
