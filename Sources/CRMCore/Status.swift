/// What a node knows, as `baton crm status` shows it: the core's part (members, DC, quorum,
/// attributes) and what the daemon adds (times, its own figures). Codable: the admin socket
/// carries it as JSON.
public struct NodeStatus: Codable, Equatable, Sendable {
    public struct Node: Codable, Equatable, Sendable {
        public var nodeID: NodeID
        public var name: String
        /// baton-crmd of this node is a member of the group (Pacemaker: online).
        public var online: Bool
        /// The DC acknowledged its join in the current view.
        public var joined: Bool
        public var attributes: [String: String]
    }

    public var localNodeID: NodeID
    public var localName: String
    public var pid: UInt32
    public var dc: Member?
    public var dcName: String?
    /// The join round of the current view completed.
    public var settled: Bool
    public var quorate: Bool
    public var noQuorumPolicy: String
    public var clusterOptions: [String: String]
    public var nodes: [Node]
    public var members: [Member]
    public var cibSequence: UInt64
    public var garbageMessages: Int
    public var lastGarbage: String?
    public var ignoredMessages: Int
    public var pendingWrites: Int
    /// Filled by the daemon: wall-clock milliseconds since the epoch of the last events.
    public var timing: Timing?

    public struct Timing: Codable, Equatable, Sendable {
        public var startedMilliseconds: Int64
        public var statusMilliseconds: Int64
        public var lastMembershipMilliseconds: Int64?
        public var quorateSinceMilliseconds: Int64?
        public var dcSinceMilliseconds: Int64?
        public init(startedMilliseconds: Int64, statusMilliseconds: Int64, lastMembershipMilliseconds: Int64?,
                    quorateSinceMilliseconds: Int64?, dcSinceMilliseconds: Int64?) {
            self.startedMilliseconds = startedMilliseconds
            self.statusMilliseconds = statusMilliseconds
            self.lastMembershipMilliseconds = lastMembershipMilliseconds
            self.quorateSinceMilliseconds = quorateSinceMilliseconds
            self.dcSinceMilliseconds = dcSinceMilliseconds
        }
    }
}

extension NodeCore {
    /// The status as this node knows it now (the daemon adds `timing`).
    public func status() -> NodeStatus {
        let onlineNodes = view?.nodeIDs ?? []
        let acknowledgedNodes = Set(acknowledged.map(\.nodeID))
        var nodes = settings.nodelist.map { node in
            NodeStatus.Node(nodeID: node.nodeID, name: node.name, online: onlineNodes.contains(node.nodeID),
                            joined: acknowledgedNodes.contains(node.nodeID), attributes: attributes[node.nodeID] ?? [:])
        }
        // Members that run on a node missing from this node's nodelist still show.
        for node in onlineNodes.sorted() where !settings.nodelist.contains(where: { $0.nodeID == node }) {
            nodes.append(.init(nodeID: node, name: "node\(node)", online: true, joined: acknowledgedNodes.contains(node),
                               attributes: attributes[node] ?? [:]))
        }
        let name = { (node: NodeID) in self.settings.nodelist.first { $0.nodeID == node }?.name ?? "node\(node)" }
        return NodeStatus(
            localNodeID: local.nodeID, localName: name(local.nodeID), pid: local.pid, dc: settled ? dc : nil,
            dcName: settled ? dc.map { name($0.nodeID) } : nil, settled: settled, quorate: quorate,
            noQuorumPolicy: noQuorumPolicy, clusterOptions: clusterOptions, nodes: nodes, members: view?.members ?? [],
            cibSequence: cibSequence, garbageMessages: garbageCount, lastGarbage: lastGarbage, ignoredMessages: ignoredCount,
            pendingWrites: pendingWrites, timing: nil)
    }
}
