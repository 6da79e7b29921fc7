import ClusterIdentity

/// The words the quorum device speaks, shared by the arbitrator's side (`QuorumArbiter`,
/// `FFSplitCluster`) and the node's side (`QuorumDevice`): ring ids, votes, tie-breakers,
/// heuristics, the cluster's identity and what a node registers with.
///
/// They follow corosync-qdevice/qnetd 3.0.3 (the `net` model, `ffsplit` algorithm) so that a
/// site can move from qnetd to the arbitrator without changing its rules (CRM-LIVE.md §4).

// `RingID` (a Corosync ring id) is ClusterIdentity's, shared with the Corosync bindings.

/// A node's local instant (nanoseconds of its monotonic clock). Pure cores are handed the
/// time; spans between instants are `Duration`s.
public struct QuorumInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func < (left: QuorumInstant, right: QuorumInstant) -> Bool { left.nanoseconds < right.nanoseconds }
    public static func + (instant: QuorumInstant, span: Duration) -> QuorumInstant {
        QuorumInstant(nanoseconds: instant.nanoseconds + span.nanosecondsCount)
    }
    public static func - (later: QuorumInstant, earlier: QuorumInstant) -> Duration { .nanoseconds(later.nanoseconds - earlier.nanoseconds) }
    public var description: String { "\(nanoseconds / 1_000_000)ms" }
}

extension Duration {
    /// The span in whole nanoseconds (spans here are seconds to hours: they fit in 64 bits).
    var nanosecondsCount: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The arbitrator's answer to one node for one ring: ACK (count the device's vote) or NACK.
public enum Vote: String, Sendable, Hashable {
    case ack, nack
}

/// The result of a node's heuristics (the `quorum.device.heuristics.exec_*` commands):
/// undefined when it has none.
public enum HeuristicsResult: String, Sendable, Hashable {
    case undefined, pass, fail
}

/// Who wins a 50:50 split when everything else is equal (`quorum.device.net.tie_breaker`).
public enum TieBreaker: Sendable, Hashable, CustomStringConvertible {
    /// The partition with the lowest configured node id (qdevice's default).
    case lowest
    /// The partition with the highest configured node id.
    case highest
    /// The partition holding this node id.
    case node(NodeID)

    public var description: String {
        switch self {
        case .lowest: "lowest"
        case .highest: "highest"
        case .node(let id): "node \(id)"
        }
    }
}

/// The decision algorithm a cluster asked for (`quorum.device.net.algorithm`).
public enum DecisionAlgorithm: String, Sendable, Hashable {
    /// fifty-fifty split: one vote to exactly one partition (even-sized clusters).
    case ffsplit
    /// last man standing: the vote to the one partition that still sees the arbitrator, else
    /// by score, size, tie-breaker (`LastManStanding`); the device carries nodes − 1 votes.
    case lms
}

/// One cluster (a site) as the arbitrator tells it apart: the cluster name its nodes send and
/// the identity their certificates prove (the certificate's site or geo-cluster name). Two
/// sites of two geo clusters may both be called "site-a"; they still never mix.
public struct ClusterKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let clusterName: String
    public let certificateIdentity: String

    public init(clusterName: String, certificateIdentity: String) {
        self.clusterName = clusterName
        self.certificateIdentity = certificateIdentity
    }

    public static func < (left: ClusterKey, right: ClusterKey) -> Bool {
        (left.certificateIdentity, left.clusterName) < (right.certificateIdentity, right.clusterName)
    }

    public var description: String { "\(clusterName)@\(certificateIdentity)" }
}

/// What a node's device tells the arbitrator when it connects (qdevice's init and
/// configuration node list messages).
public struct DeviceRegistration: Sendable, Hashable {
    public let nodeID: NodeID
    /// The cluster's configured node ids (corosync.conf's nodelist), ascending, unique.
    public let configuredNodes: [NodeID]
    public let tieBreaker: TieBreaker
    /// `keep_active_partition_tie_breaker` (on by default since qdevice 3.0.1).
    public let keepActivePartition: Bool
    public let algorithm: DecisionAlgorithm
    /// How often the device sends an echo (`QuorumDevice.Settings.heartbeatInterval`): the
    /// arbitrator's dead-peer time for this node is counted from it (as qnetd learns it).
    public let heartbeatInterval: Duration

    public init(nodeID: NodeID, configuredNodes: [NodeID], tieBreaker: TieBreaker = .lowest,
                keepActivePartition: Bool = true, algorithm: DecisionAlgorithm = .ffsplit, heartbeatInterval: Duration = .seconds(4)) {
        self.heartbeatInterval = heartbeatInterval
        self.nodeID = nodeID
        self.configuredNodes = configuredNodes
        self.tieBreaker = tieBreaker
        self.keepActivePartition = keepActivePartition
        self.algorithm = algorithm
    }
}

/// A node's view of its cluster: the ring it is in, the ring's members and its heuristics.
public struct MembershipReport: Sendable, Hashable, CustomStringConvertible {
    public let ring: RingID
    /// Ascending, unique, holding the reporting node.
    public let members: [NodeID]
    public let heuristics: HeuristicsResult

    public init(ring: RingID, members: [NodeID], heuristics: HeuristicsResult = .undefined) {
        self.ring = ring
        self.members = members
        self.heuristics = heuristics
    }

    public var description: String { "ring \(ring) \(members.map(\.description).joined(separator: ","))\(heuristics == .undefined ? "" : " heuristics \(heuristics.rawValue)")" }
}

/// The bounds the arbitrator and the device hold to (validated on every registration and report).
public enum QuorumLimits {
    /// Clusters one arbitrator serves.
    public static let clustersMax = 1_024
    /// Nodes in one cluster (Corosync's own limit is 384; Baton's sites are small).
    public static let nodesPerClusterMax = 64
    /// Bytes of a cluster name or certificate identity.
    public static let nameBytesMax = 255
    /// Connections the arbitrator keeps (each node has one).
    public static let connectionsMax = clustersMax * 8
}
