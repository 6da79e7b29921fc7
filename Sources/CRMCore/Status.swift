import CIB

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
    /// The CIB's version (admin_epoch.epoch.num_updates) and versioned digest on this node.
    public var cibVersion: String?
    public var cibDigest: String?
    /// Whole CIBs this node took (join rounds, repairs); it waits for one now.
    public var cibSyncsTaken: Int?
    public var cibAwaitingSync: Bool?
    public var lastCIBError: String?
    /// Filled by the daemon: wall-clock milliseconds since the epoch of the last events.
    public var timing: Timing?
    /// Filled by the daemon on the DC: no transition in flight and none due (Pacemaker's
    /// S_IDLE, as `crmadmin -S` shows it); nil on the other nodes.
    public var transitionIdle: Bool? = nil

    public struct Timing: Codable, Equatable, Sendable {
        public var startedMilliseconds: Int64
        public var statusMilliseconds: Int64
        public var lastMembershipMilliseconds: Int64?
        public var quorateSinceMilliseconds: Int64?
        public var dcSinceMilliseconds: Int64?
        /// When this node's last admin CIB write reached its event loop, and when its CIB last
        /// changed (a patchset applied or a sync taken): crm-bench's write and sync figures.
        public var lastCIBRequestMilliseconds: Int64?
        public var lastCIBCommitMilliseconds: Int64?
        /// When the CIB was last saved (after the commit, off the event loop).
        public var lastCIBPersistMilliseconds: Int64?
        /// When this node last applied a patchset (before a majority acknowledged it: what
        /// Pacemaker's CIB managers log as applied; the commit comes after the acknowledgements).
        public var lastCIBApplyMilliseconds: Int64?
        public init(startedMilliseconds: Int64, statusMilliseconds: Int64, lastMembershipMilliseconds: Int64?,
                    quorateSinceMilliseconds: Int64?, dcSinceMilliseconds: Int64?,
                    lastCIBRequestMilliseconds: Int64? = nil, lastCIBCommitMilliseconds: Int64? = nil) {
            self.lastCIBRequestMilliseconds = lastCIBRequestMilliseconds
            self.lastCIBCommitMilliseconds = lastCIBCommitMilliseconds
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
            pendingWrites: pendingWrites, cibVersion: cib.version.description, cibDigest: cib.knownDigest,
            cibSyncsTaken: cibSyncsTaken, cibAwaitingSync: awaitingSyncFrom != nil, lastCIBError: lastCIBError, timing: nil)
    }

    /// The CIB as `cibadmin -Q` shows it: this node's copy with the status section rendered
    /// from what the core holds (equal on every settled member): a `node_state` per node seen,
    /// with Pacemaker's in_ccm/crmd/join/expected, and each node's transient attributes.
    /// `scope` names a section (`configuration`, `resources`, `status` …); nil: the whole CIB.
    public func cibQuery(scope: String? = nil) throws(CIBRequestError) -> XMLElement {
        var root = cib.document
        root["have-quorum"] = quorate ? "1" : "0"
        if settled, let dc { root["dc-uuid"] = String(dc.nodeID.rawValue) } else { root["dc-uuid"] = nil }
        let status = renderedStatus()
        root.children = root.children.map { $0.name == "status" ? status : $0 }
        guard let scope else { return root }
        guard CIBOperation.isScope(scope) else { throw CIBRequestError("unknown scope '\(scope)'") }
        if scope == "status" { return status }
        guard let configuration = root.children.first(where: { $0.name == "configuration" }) else {
            throw CIBRequestError("the CIB has no <configuration>")
        }
        if scope == "configuration" { return configuration }
        guard let section = configuration.children.first(where: { $0.name == scope }) else {
            throw CIBRequestError("the CIB has no <\(scope)> section")
        }
        return section
    }

    func renderedStatus() -> XMLElement {
        let online = view?.nodeIDs ?? []
        let joined = Set(acknowledged.map(\.nodeID))
        let name = { (node: NodeID) in self.settings.nodelist.first { $0.nodeID == node }?.name ?? "node\(node)" }
        var states: [XMLElement] = []
        for node in seen.union(online).sorted() {
            let id = String(node.rawValue)
            let up = online.contains(node)
            var state = XMLElement(name: "node_state", attributes: [
                .init(name: "id", value: id), .init(name: "uname", value: name(node)),
                .init(name: "in_ccm", value: up ? "true" : "false"), .init(name: "crmd", value: up ? "online" : "offline"),
                .init(name: "crm-debug-origin", value: "baton-crmd"),
                .init(name: "join", value: up ? (joined.contains(node) ? "member" : "pending") : "down"),
                // A lost node (gone without asking, not fenced yet) is expected up: unclean.
                .init(name: "expected", value: up || lostNodes.contains(node) ? "member" : "down"),
            ])
            if let values = attributes[node], !values.isEmpty {
                let pairs = values.keys.sorted().map { key in
                    XMLElement(name: "nvpair", attributes: [.init(name: "id", value: "status-\(id)-\(key)"),
                                                            .init(name: "name", value: key), .init(name: "value", value: values[key] ?? "")])
                }
                state.children.append(XMLElement(name: "transient_attributes", attributes: [.init(name: "id", value: id)], children: [
                    XMLElement(name: "instance_attributes", attributes: [.init(name: "id", value: "status-\(id)")], children: pairs),
                ]))
            }
            if let lrm = resourceStatus.nodeStates.first(where: { $0.uname == name(node) })?.lrm { state.children.append(lrm.xml) }
            states.append(state)
        }
        // The site's tickets, as Pacemaker's CIB holds them (Tickets.swift).
        if let tickets = TicketRules.element(tickets) { states.append(tickets) }
        return XMLElement(name: "status", children: states)
    }
}
