import ClusterIdentity

/// One cluster's ffsplit decision at the arbitrator: which partition holds the device's vote.
///
/// | input                      | what happens                                                                  |
/// |----------------------------|-------------------------------------------------------------------------------|
/// | `register(node)`           | the node is a connected client (no report yet: it takes no part and gets no vote; listed in another's ring, it is waited for); again: it replaces its old client |
/// | `report(node, membership)` | recorded, then `decide`                                                       |
/// | `disconnect(node)`         | the client is forgotten, then `decide`                                        |
/// | `voteInfoReply(node, seq)` | the node has applied vote `seq`; the last NACK answered lets the ACKs go      |
///
/// `decide`: while the membership is not stable (some connected client listed in a connected
/// client's ring reports another ring or another member list) nothing is sent: the vote stays
/// where the nodes' own rings put it (a vote is for one ring only). When it is stable, the
/// best partition (`isBetter`) is the quorate one; every other reporting client gets a NACK
/// for its ring first, and only when every NACK has been answered (or its client has gone) do
/// the quorate partition's clients get their ACKs. Two partitions can therefore never hold
/// the vote at the same time, even while messages are slow: the old holders have said they
/// stopped before the new ones are told to start.
///
/// The rules are qnetd 3.0.3's (`qnetd-algo-ffsplit.c`): a larger partition wins; on a 50:50
/// split of an even cluster, the higher score (connected clients + passed heuristics − failed
/// heuristics), then more connected clients, then the partition that held the vote before
/// (`keepActivePartition`, when every client has it on), then the tie-breaker. An odd cluster
/// only ever votes for a majority.
///
/// A cluster whose nodes registered `algorithm: lms` is decided by `LastManStanding` instead
/// of `isBetter`, within the same machinery (ring agreement first, NACKs before ACKs).
public struct FFSplitCluster: Sendable {
    /// What the arbitrator is doing for the cluster.
    public enum Phase: String, Sendable {
        /// Nothing to send (the last decision is delivered, or there was none).
        case waitingForChange
        /// A connected client's ring disagrees with its members': no decision.
        case waitingForStableMembership
        /// NACKs sent, waiting for each to be answered.
        case sendingNacks
        /// ACKs sent, waiting for each to be answered.
        case sendingAcks
    }

    /// Where one client stands in the current decision.
    public enum ClientState: String, Sendable {
        case waitingForChange, sendingNack, sendingAck
    }

    public struct Client: Sendable {
        public let registration: DeviceRegistration
        public internal(set) var report: MembershipReport?
        public internal(set) var state: ClientState = .waitingForChange
        /// The sequence of the last vote info sent; only its reply counts.
        public internal(set) var voteSequence: UInt32 = 0
        /// The last vote sent to this client and the ring it was for (the admin view).
        public internal(set) var lastVote: (vote: Vote, ring: RingID)?
        /// lms: a decision has ranked this client's partition since it connected (it is no
        /// longer a newcomer, `LastManStanding`).
        public internal(set) var ranked = false
    }

    /// A vote to send to one client: the ring it is for and its sequence (to be answered).
    public struct VoteInfo: Sendable, Hashable, CustomStringConvertible {
        public let node: NodeID
        public let sequence: UInt32
        public let ring: RingID
        public let vote: Vote
        public var description: String { "\(vote.rawValue) to node \(node) for ring \(ring) (#\(sequence))" }
    }

    /// Rules deliberately broken, to show that the simulation's checkers catch them. Never set
    /// outside tests and the simulator's `--break-rule`.
    public enum RuleBreak: String, Sendable, CaseIterable {
        /// Decide without waiting for the connected members to agree on the ring.
        case ignoreRingAgreement = "ignore-ring-agreement"
        /// Send the ACKs together with the NACKs instead of after them.
        case acksWithNacks = "acks-with-nacks"
    }

    public let key: ClusterKey
    public private(set) var clients: [NodeID: Client] = [:]
    public private(set) var phase: Phase = .waitingForChange
    /// The members of the partition the last decision chose (empty: none).
    public private(set) var quoratePartition: [NodeID] = []
    /// lms: the rule that made the last decision (`LastManStanding.Rule`); nil for ffsplit.
    public private(set) var lastRule: String?
    let ruleBreak: RuleBreak?
    /// No decision at all while holding (the arbitrator's first moments after its start: a
    /// node of the cluster may still cast an ACK the arbitrator gave before it restarted).
    public private(set) var holding: Bool

    public init(key: ClusterKey, holding: Bool = false, ruleBreak: RuleBreak? = nil) {
        self.key = key
        self.holding = holding
        self.ruleBreak = ruleBreak
    }

    /// The hold is over: decide on what the clients reported meanwhile.
    public mutating func release() -> [VoteInfo] {
        guard holding else { return [] }
        holding = false
        return decide()
    }

    // MARK: - Inputs

    /// A node's device connected and registered. The caller (`QuorumArbiter`) has checked the
    /// registration against the cluster's other clients.
    /// A node registered again (on a new connection) replaces its old client in one step: its
    /// report is forgotten until it sends a new one, and no decision is taken on the moment
    /// between the two (the old client gone, the new one not there yet).
    public mutating func register(_ registration: DeviceRegistration) -> [VoteInfo] {
        if let old = clients[registration.nodeID] {
            var client = Client(registration: registration)
            client.voteSequence = old.voteSequence  // replies to the old client's votes stay old
            clients[registration.nodeID] = client
            return decide()
        }
        precondition(clients.count < QuorumLimits.nodesPerClusterMax, "\(key): over \(QuorumLimits.nodesPerClusterMax) clients")
        clients[registration.nodeID] = Client(registration: registration)
        // A client without a report takes part in no partition, but it may be listed in
        // another's ring: the decision waits for it.
        return decide()
    }

    /// A node's new membership (a new ring, or new heuristics on the same ring).
    public mutating func report(_ membership: MembershipReport, from node: NodeID) -> [VoteInfo] {
        precondition(clients[node] != nil, "\(key): a report from node \(node), which is not connected")
        precondition(membership.members.contains(node), "\(key): node \(node) reported a ring without itself")
        clients[node]!.report = membership
        return decide()
    }

    /// A node's device is gone (closed, or silent past the dead-peer time).
    public mutating func disconnect(_ node: NodeID) -> [VoteInfo] {
        guard clients.removeValue(forKey: node) != nil else { return [] }
        return decide()
    }

    /// A node applied vote `sequence`.
    public mutating func voteInfoReply(from node: NodeID, sequence: UInt32) -> [VoteInfo] {
        guard let client = clients[node], client.voteSequence == sequence else { return [] }  // an old reply
        clients[node]!.state = .waitingForChange
        switch phase {
        case .sendingNacks:
            guard !clients.values.contains(where: { $0.state == .sendingNack }) else { return [] }
            phase = .sendingAcks
            let acks = send(.ack)
            if acks.isEmpty { phase = .waitingForChange }
            return acks
        case .sendingAcks:
            if !clients.values.contains(where: { $0.state == .sendingAck }) { phase = .waitingForChange }
            return []
        case .waitingForChange, .waitingForStableMembership:
            return []
        }
    }

    // MARK: - The decision

    /// Whether every connected client's report agrees with the reports of the connected
    /// clients its ring lists (same ring id, same members), and all share one configuration.
    public func isMembershipStable() -> Bool {
        let configurations = Set(clients.values.map(\.registration.configuredNodes))
        guard configurations.count <= 1 else { return false }
        for client in clients.values {
            guard let report = client.report else { continue }
            for member in report.members {
                guard let other = clients[member] else { continue }  // not connected: not asked
                guard let otherReport = other.report, otherReport.ring == report.ring, otherReport.members == report.members else { return false }
            }
        }
        return true
    }

    mutating func decide() -> [VoteInfo] {
        phase = .waitingForStableMembership
        if holding { return [] }
        if ruleBreak != .ignoreRingAgreement {
            guard isMembershipStable() else { return [] }
        }
        quoratePartition = bestPartition() ?? []
        for node in clients.keys {
            guard clients[node]!.report != nil else {
                clients[node]!.state = .waitingForChange
                continue
            }
            clients[node]!.state = quoratePartition.contains(node) ? .sendingAck : .sendingNack
        }
        phase = .sendingNacks
        var votes = send(.nack)
        if votes.isEmpty || ruleBreak == .acksWithNacks {
            phase = .sendingAcks
            votes += send(.ack)
            if votes.isEmpty { phase = .waitingForChange }
        }
        return votes
    }

    /// Sends `vote` to every client in the matching state, each for the ring it reported.
    mutating func send(_ vote: Vote) -> [VoteInfo] {
        let state: ClientState = vote == .ack ? .sendingAck : .sendingNack
        var votes: [VoteInfo] = []
        for node in clients.keys.sorted() where clients[node]!.state == state {
            guard let ring = clients[node]!.report?.ring else { continue }
            clients[node]!.voteSequence &+= 1
            clients[node]!.lastVote = (vote, ring)
            votes.append(VoteInfo(node: node, sequence: clients[node]!.voteSequence, ring: ring, vote: vote))
        }
        return votes
    }

    /// The partition (as a member list) that should hold the vote, or nil when none may.
    mutating func bestPartition() -> [NodeID]? {
        if clients.values.first?.registration.algorithm == .lms {
            let candidates = clients.keys.sorted().compactMap { node -> LastManStanding.Candidate? in
                let client = clients[node]!
                guard let report = client.report else { return nil }
                return LastManStanding.Candidate(node: node, report: report, newcomer: !client.ranked,
                                                 holdsVote: client.ranked && client.lastVote?.vote == .ack)
            }
            let decision = LastManStanding.decide(candidates, tieBreaker: clients.values.first!.registration.tieBreaker)
            for node in decision.ranked { clients[node]!.ranked = true }
            lastRule = decision.rule.rawValue
            return decision.ring == nil ? nil : decision.members
        }
        let keepActive = clients.values.allSatisfy(\.registration.keepActivePartition)
        var best: (node: NodeID, report: MembershipReport)?
        for node in clients.keys.sorted() {
            guard let report = clients[node]!.report else { continue }
            if isBetter(node: node, report: report, than: best, keepActive: keepActive) { best = (node, report) }
        }
        return best?.report.members
    }

    /// qnetd's partition comparison: whether `node`'s partition beats `best`'s (nil: none yet).
    func isBetter(node: NodeID, report: MembershipReport, than best: (node: NodeID, report: MembershipReport)?, keepActive: Bool) -> Bool {
        let registration = clients[node]!.registration
        let configured = registration.configuredNodes.count
        let size = report.members.count
        if configured % 2 != 0 { return size > configured / 2 }  // odd clusters never split 50:50
        if size > configured / 2 { return true }
        if size < configured / 2 { return false }
        // 50:50.
        let mine = statistics(of: report.members)
        let theirs = best.map { statistics(of: $0.report.members) } ?? (connected: 0, score: 0)
        if mine.score != theirs.score { return mine.score > theirs.score }
        if mine.connected != theirs.connected { return mine.connected > theirs.connected }
        if keepActive, let best {
            let mineWasActive = quoratePartition.contains(node)
            let theirsWasActive = quoratePartition.contains(best.node)
            if mineWasActive != theirsWasActive { return mineWasActive }
        }
        let preferred: NodeID
        switch registration.tieBreaker {
        case .lowest: preferred = registration.configuredNodes.min()!
        case .highest: preferred = registration.configuredNodes.max()!
        case .node(let id): preferred = id
        }
        return report.members.contains(preferred)
    }

    /// Connected clients of a partition and its score (connected + passed − failed heuristics).
    func statistics(of members: [NodeID]) -> (connected: Int, score: Int) {
        var connected = 0, passed = 0, failed = 0
        for member in members {
            guard let client = clients[member] else { continue }
            connected += 1
            switch client.report?.heuristics ?? .undefined {
            case .pass: passed += 1
            case .fail: failed += 1
            case .undefined: break
            }
        }
        return (connected, connected + passed - failed)
    }
}
