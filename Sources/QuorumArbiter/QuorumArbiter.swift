import ClusterIdentity

/// The arbitrator's quorum-device service: every cluster (site) it serves, each with its own
/// `FFSplitCluster`, and the connections of the clusters' nodes. No I/O: the shell hands in
/// connections, messages and the time, and carries out the directives.
///
/// | input                              | what happens                                                    |
/// |------------------------------------|-----------------------------------------------------------------|
/// | `connected(c, cluster, at:)`       | `c` is a TLS connection whose certificate names `cluster`'s identity |
/// | `message(c, .register(r), at:)`    | checked (limits, same configuration as the cluster's other nodes); a node that was connected on another connection is disconnected first (it opened a new one: it stopped trusting the old) |
/// | `message(c, .membership(m), at:)`  | checked, then the cluster decides                               |
/// | `message(c, .voteInfoReply, at:)`  | the cluster may go on to its ACKs                               |
/// | `message(c, .heartbeat, at:)`      | `heartbeatReply`                                                |
/// | `closed(c)`                        | the node leaves its cluster, which decides again                |
/// | `tick(at:)`                        | clusters whose restart hold is over decide; connections silent for longer than `deadPeerFactor` × their heartbeat are closed (qnetd's dead-peer detection) |
///
/// Clusters never mix: a cluster is its name together with the certificate's identity, a
/// connection belongs to exactly one, and every decision reads only its own cluster's clients.
public struct QuorumArbiter: Sendable {
    public struct Settings: Sendable {
        /// A registered node's connection is dead after this many of its heartbeat intervals
        /// of silence: 2.5 (10 s for the default timeout of 10 s). The device stops casting at
        /// most 2 intervals after its last answered echo, so the vote never moves while the
        /// old holder may still cast it; the half interval covers clock drift. qnetd uses 1.5
        /// × qdevice's 0.8 × timeout = 12 s against the device's up to 16 s.
        public var deadPeerFactor: Double
        /// Silence after which a connection that has not registered is dropped.
        public var registrationTimeout: Duration
        public var ruleBreak: FFSplitCluster.RuleBreak?
        /// After the arbitrator starts, no cluster gets a decision for this long, nor for
        /// `deadPeerFactor` × the longest heartbeat of its nodes: the arbitrator keeps no state,
        /// and a node may still cast an ACK the arbitrator gave before its restart until its
        /// dead stream is noticed (2 heartbeats). qnetd has no such hold (the simulation found
        /// the split: seed 13 of the 300-seed sweep).
        public var restartHold: Duration

        public init(deadPeerFactor: Double = 2.5, registrationTimeout: Duration = .seconds(10), restartHold: Duration = .seconds(10),
                    ruleBreak: FFSplitCluster.RuleBreak? = nil) {
            precondition(restartHold >= .zero, "restart hold must not be negative")
            self.restartHold = restartHold
            precondition(deadPeerFactor > 2 && deadPeerFactor <= 100, "dead-peer factor \(deadPeerFactor) must be over 2 (the device's detection) and at most 100")
            precondition(registrationTimeout > .zero, "registration timeout must be positive")
            self.deadPeerFactor = deadPeerFactor
            self.registrationTimeout = registrationTimeout
            self.ruleBreak = ruleBreak
        }
    }

    public enum Input: Sendable {
        case connected(ConnectionID, ClusterKey, at: QuorumInstant)
        case message(ConnectionID, DeviceMessage, at: QuorumInstant)
        case closed(ConnectionID)
        case tick(at: QuorumInstant)
    }

    public enum Directive: Sendable, Hashable {
        case send(ConnectionID, ArbiterMessage)
        case close(ConnectionID, reason: String)
        /// For the log and the admin view: the cluster chose this partition (empty: none).
        case decided(ClusterKey, quoratePartition: [NodeID])
    }

    struct Connection: Sendable {
        let cluster: ClusterKey
        var node: NodeID?
        var lastHeard: QuorumInstant
        var deadPeerTimeout: Duration
    }

    public let settings: Settings
    public private(set) var clusters: [ClusterKey: FFSplitCluster] = [:]
    var connections: [ConnectionID: Connection] = [:]
    /// Per cluster and node: the connection it registered on.
    var connectionOf: [ClusterKey: [NodeID: ConnectionID]] = [:]

    /// The local instant the arbitrator started (its restart hold counts from it).
    public let startedAt: QuorumInstant

    public init(settings: Settings = Settings(), startedAt: QuorumInstant = QuorumInstant(nanoseconds: 0)) {
        self.settings = settings
        self.startedAt = startedAt
    }

    /// Until when `cluster`'s decisions are held after the start.
    func holdEnd(of cluster: ClusterKey) -> QuorumInstant {
        let heartbeat = clusters[cluster]?.clients.values.map(\.registration.heartbeatInterval).max() ?? .zero
        return startedAt + max(settings.restartHold, heartbeat * settings.deadPeerFactor)
    }

    public var connectionCount: Int { connections.count }

    /// The connection a node of a cluster is registered on.
    public func connection(of node: NodeID, in cluster: ClusterKey) -> ConnectionID? { connectionOf[cluster]?[node] }

    public mutating func handle(_ input: Input) -> [Directive] {
        switch input {
        case .connected(let connection, let cluster, let now):
            precondition(connections[connection] == nil, "\(connection) connected twice")
            guard connections.count < QuorumLimits.connectionsMax else {
                return [.close(connection, reason: "over \(QuorumLimits.connectionsMax) connections")]
            }
            guard cluster.clusterName.utf8.count <= QuorumLimits.nameBytesMax, cluster.certificateIdentity.utf8.count <= QuorumLimits.nameBytesMax,
                  !cluster.clusterName.isEmpty, !cluster.certificateIdentity.isEmpty else {
                return [.close(connection, reason: "cluster name or certificate identity empty or over \(QuorumLimits.nameBytesMax) bytes")]
            }
            connections[connection] = Connection(cluster: cluster, node: nil, lastHeard: now, deadPeerTimeout: settings.registrationTimeout)
            return []
        case .message(let connection, let message, let now):
            guard connections[connection] != nil else { return [] }  // closed meanwhile
            connections[connection]!.lastHeard = now
            return received(message, on: connection, now: now)
        case .closed(let connection):
            return drop(connection)
        case .tick(let now):
            var directives: [Directive] = []
            for cluster in clusters.keys.sorted() where clusters[cluster]!.holding && now >= holdEnd(of: cluster) {
                let infos = clusters[cluster]!.release()
                directives += votes(infos, in: cluster)
            }
            for (connection, state) in connections.sorted(by: { $0.key < $1.key }) where now - state.lastHeard > state.deadPeerTimeout {
                directives.append(.close(connection, reason: "silent for over \(state.deadPeerTimeout)"))
                directives += drop(connection)
            }
            return directives
        }
    }

    mutating func received(_ message: DeviceMessage, on connection: ConnectionID, now: QuorumInstant) -> [Directive] {
        let state = connections[connection]!
        switch message {
        case .register(let registration):
            if let problem = Self.problem(with: registration) ?? conflict(of: registration, in: state.cluster, on: connection) {
                return refuse(connection, problem)
            }
            var directives: [Directive] = []
            if let old = connectionOf[state.cluster]?[registration.nodeID] {
                // The cluster replaces the node's client in one step (`FFSplitCluster.register`).
                directives.append(.close(old, reason: "node \(registration.nodeID) connected again on \(connection)"))
                connections[old] = nil
            }
            if clusters[state.cluster] == nil {
                guard clusters.count < QuorumLimits.clustersMax else { return refuse(connection, "over \(QuorumLimits.clustersMax) clusters") }
                clusters[state.cluster] = FFSplitCluster(key: state.cluster, holding: now < startedAt + settings.restartHold, ruleBreak: settings.ruleBreak)
            }
            connections[connection]!.node = registration.nodeID
            connections[connection]!.deadPeerTimeout = registration.heartbeatInterval * settings.deadPeerFactor
            connectionOf[state.cluster, default: [:]][registration.nodeID] = connection
            directives.append(.send(connection, .registered))
            let infos = clusters[state.cluster]!.register(registration)
            return directives + votes(infos, in: state.cluster)
        case .membership(let report):
            guard let node = state.node else { return refuse(connection, "a membership before the registration") }
            let configured = clusters[state.cluster]!.clients[node]!.registration.configuredNodes
            if let problem = Self.problem(with: report, from: node, configured: configured) { return refuse(connection, problem) }
            let infos = clusters[state.cluster]!.report(report, from: node)
            return votes(infos, in: state.cluster)
        case .heuristics(let result):
            guard let node = state.node else { return refuse(connection, "heuristics before the registration") }
            guard let report = clusters[state.cluster]!.clients[node]!.report else { return [] }  // sent with the next membership
            let updated = MembershipReport(ring: report.ring, members: report.members, heuristics: result)
            let infos = clusters[state.cluster]!.report(updated, from: node)
            return votes(infos, in: state.cluster)
        case .voteInfoReply(let sequence):
            guard let node = state.node else { return refuse(connection, "a vote info reply before the registration") }
            let infos = clusters[state.cluster]!.voteInfoReply(from: node, sequence: sequence)
            return votes(infos, in: state.cluster, announce: false)
        case .heartbeat:
            return [.send(connection, .heartbeatReply)]
        }
    }

    /// Forgets a connection; its node leaves its cluster.
    mutating func drop(_ connection: ConnectionID) -> [Directive] {
        guard let state = connections.removeValue(forKey: connection) else { return [] }
        guard let node = state.node, connectionOf[state.cluster]?[node] == connection else { return [] }
        connectionOf[state.cluster]![node] = nil
        // The cluster decides first; `votes` then reads its new state.
        let infos = clusters[state.cluster]!.disconnect(node)
        var directives = votes(infos, in: state.cluster)
        if clusters[state.cluster]!.clients.isEmpty {
            clusters[state.cluster] = nil
            connectionOf[state.cluster] = nil
            directives.append(.decided(state.cluster, quoratePartition: []))
        }
        return directives
    }

    mutating func refuse(_ connection: ConnectionID, _ problem: String) -> [Directive] {
        [.send(connection, .refused(problem)), .close(connection, reason: problem)] + drop(connection)
    }

    func votes(_ infos: [FFSplitCluster.VoteInfo], in cluster: ClusterKey, announce: Bool = true) -> [Directive] {
        var directives: [Directive] = infos.map { info in
            .send(connectionOf[cluster]![info.node]!, .voteInfo(sequence: info.sequence, ring: info.ring, vote: info.vote))
        }
        if announce && !infos.isEmpty { directives.append(.decided(cluster, quoratePartition: clusters[cluster]?.quoratePartition ?? [])) }
        return directives
    }

    // MARK: - Checks of what nodes send

    /// What is wrong with a registration (limits, configured nodes, tie-breaker, heartbeat,
    /// algorithm), or nil; the node daemon checks its own before it starts.
    public static func problem(with registration: DeviceRegistration) -> String? {
        let nodes = registration.configuredNodes
        guard !nodes.isEmpty, nodes.count <= QuorumLimits.nodesPerClusterMax else {
            return "node \(registration.nodeID): \(nodes.count) configured nodes, expected 1...\(QuorumLimits.nodesPerClusterMax)"
        }
        guard nodes == nodes.sorted(), Set(nodes).count == nodes.count else { return "node \(registration.nodeID): configured nodes not ascending and unique" }
        guard nodes.contains(registration.nodeID) else { return "node \(registration.nodeID) is not among its cluster's configured nodes \(nodes)" }
        if case .node(let preferred) = registration.tieBreaker, !nodes.contains(preferred) {
            return "node \(registration.nodeID): tie-breaker node \(preferred) is not configured"
        }
        guard registration.heartbeatInterval >= .milliseconds(100) && registration.heartbeatInterval <= .seconds(3600) else {
            return "node \(registration.nodeID): heartbeat interval \(registration.heartbeatInterval) outside 0.1 s...1 h"
        }
        return nil
    }

    func conflict(of registration: DeviceRegistration, in cluster: ClusterKey, on connection: ConnectionID) -> String? {
        if connections[connection]!.node != nil { return "node \(registration.nodeID): registered twice on \(connection)" }
        guard let existing = clusters[cluster]?.clients.values.first(where: { $0.registration.nodeID != registration.nodeID }) else { return nil }
        let other = existing.registration
        if other.configuredNodes != registration.configuredNodes {
            return "node \(registration.nodeID) of \(cluster): configured nodes \(registration.configuredNodes) differ from node \(other.nodeID)'s \(other.configuredNodes)"
        }
        if other.algorithm != registration.algorithm {
            return "node \(registration.nodeID) of \(cluster): algorithm \(registration.algorithm.rawValue) differs from node \(other.nodeID)'s \(other.algorithm.rawValue)"
        }
        if other.tieBreaker != registration.tieBreaker {
            return "node \(registration.nodeID) of \(cluster): tie-breaker \(registration.tieBreaker) differs from node \(other.nodeID)'s \(other.tieBreaker)"
        }
        return nil
    }

    static func problem(with report: MembershipReport, from node: NodeID, configured: [NodeID]) -> String? {
        let members = report.members
        guard !members.isEmpty, members.count <= configured.count, members == members.sorted(), Set(members).count == members.count else {
            return "node \(node): ring \(report.ring) members \(members) not ascending, unique and at most the \(configured.count) configured"
        }
        guard members.contains(node) else { return "node \(node): ring \(report.ring) without the node itself" }
        guard members.allSatisfy(configured.contains) else { return "node \(node): ring \(report.ring) lists nodes that are not configured: \(members)" }
        return nil
    }
}
