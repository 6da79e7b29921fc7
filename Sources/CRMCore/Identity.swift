/// Cluster identity for the node core, apart from the libcpg binding: the node id (shared
/// with the bindings, from ClusterIdentity), a group member (a baton-crmd process on a node)
/// and the view the members form.

@_exported import ClusterIdentity

/// One baton-crmd process in the CPG group: a node and the process id there. A restarted
/// daemon is a new member (new pid) on the same node.
public struct Member: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let nodeID: NodeID
    public let pid: UInt32
    public init(nodeID: NodeID, pid: UInt32) {
        self.nodeID = nodeID
        self.pid = pid
    }
    public static func < (left: Member, right: Member) -> Bool { (left.nodeID, left.pid) < (right.nodeID, right.pid) }
    public var description: String { "\(nodeID)/\(pid)" }
}

/// A node of Corosync's configured nodelist.
public struct ConfiguredNode: Hashable, Sendable, Codable {
    public let nodeID: NodeID
    public let name: String
    public init(nodeID: NodeID, name: String) {
        self.nodeID = nodeID
        self.name = name
    }
}

/// The group's membership as one CPG configuration change delivered it. Every member sees the
/// same sequence of views and, between two views, the same messages in the same order (CPG's
/// virtual synchrony): that is what lets every member compute the same DC without a vote.
public struct View: Hashable, Sendable {
    public let members: [Member]
    /// A fingerprint of the member list (FNV-1a over the sorted node ids and pids). Messages
    /// of the join round carry it, so that a message a lagging sender built for the previous
    /// view is recognised and ignored in the next one (the sender re-announces there).
    public let fingerprint: UInt64

    public init(members: [Member]) {
        let sorted = members.sorted()
        precondition(Set(sorted).count == sorted.count, "View: duplicate members in \(sorted)")
        self.members = sorted
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for member in sorted {
            for value in [member.nodeID.rawValue, member.pid] {
                for shift in stride(from: 24, through: 0, by: -8) {
                    hash = (hash ^ UInt64((value >> UInt32(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
                }
            }
        }
        fingerprint = hash
    }

    public var nodeIDs: Set<NodeID> { Set(members.map(\.nodeID)) }
    public func contains(_ member: Member) -> Bool { members.contains(member) }
}
