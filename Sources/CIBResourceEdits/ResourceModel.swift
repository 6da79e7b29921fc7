import CIB
import CRMStatusView
import Scheduler

/// A resource as crm_resource sees it: the scheduler's current state of the CIB (where it is
/// active, its role, its place among groups and clones) and the CIB's nodes. Pure.
struct ResourceModel {
    /// From the top resource down to this one.
    let chain: [StatusSnapshot.Resource]
    let snapshot: StatusSnapshot
    /// Configured node names, in the CIB's order.
    let nodeNames: [String]
    /// Node ids and names per node_state with a history of each resource id, in the status's order.
    let history: [(node: String, resources: Set<String>)]

    var resource: StatusSnapshot.Resource { chain[chain.count - 1] }
    var id: String { resource.id }
    /// The id without a clone instance's ":N" (what the configuration names).
    var configuredID: String { Self.strip(id) }
    var isClone: Bool { resource.kind == .clone }
    var isPrimitive: Bool { resource.kind == .primitive }
    var promotable: Bool { resource.promotable }
    var parent: ResourceModel? { chain.count > 1 ? with(chain.dropLast()) : nil }
    var top: ResourceModel { with(chain.prefix(1)) }
    var topID: String { chain[0].id }
    var children: [ResourceModel] { resource.children.map { with(chain + [$0]) } }
    var promotableAncestor: ResourceModel? {
        var current = parent
        while let model = current {
            if model.promotable { return model }
            current = model.parent
        }
        return nil
    }

    private func with<C: Collection>(_ chain: C) -> ResourceModel where C.Element == StatusSnapshot.Resource {
        ResourceModel(chain: Array(chain), snapshot: snapshot, nodeNames: nodeNames, history: history)
    }

    private init(chain: [StatusSnapshot.Resource], snapshot: StatusSnapshot, nodeNames: [String], history: [(node: String, resources: Set<String>)]) {
        precondition(!chain.isEmpty, "ResourceModel: a resource has a chain")
        self.chain = chain
        self.snapshot = snapshot
        self.nodeNames = nodeNames
        self.history = history
    }

    /// The resource `id` (a configured id or a clone instance's), nil when there is none.
    init?(id: String, in document: CIBDocument) {
        guard let cib = try? CIB(xml: document.root) else { return nil }
        let snapshot = Scheduler.currentStatus(cib)
        guard let chain = Self.find(id, in: snapshot.resources, above: []) else { return nil }
        let names = Dictionary(cib.configuration.nodes.map { ($0.id, $0.uname) }, uniquingKeysWith: { first, _ in first })
        let history = cib.status.nodeStates.compactMap { state -> (node: String, resources: Set<String>)? in
            guard let nodeID = state.id, let name = state.uname ?? names[nodeID] else { return nil }
            return (name, Set(state.lrm?.resources.map(\.id) ?? []))
        }
        self.init(chain: chain, snapshot: snapshot, nodeNames: cib.configuration.nodes.map(\.uname), history: history)
    }

    /// The resource `id` in a snapshot already made (where it runs only: no node names or
    /// history), for callers asking about many resources of one CIB.
    init?(id: String, snapshot: StatusSnapshot) {
        guard let chain = Self.find(id, in: snapshot.resources, above: []) else { return nil }
        self.init(chain: chain, snapshot: snapshot, nodeNames: [], history: [])
    }

    /// The first resource (depth first) named `id`, or the first clone instance configured as `id`.
    static func find(_ id: String, in resources: [StatusSnapshot.Resource], above: [StatusSnapshot.Resource]) -> [StatusSnapshot.Resource]? {
        for resource in resources where resource.id == id { return above + [resource] }
        for resource in resources where resource.kind != .primitive {
            if let found = find(id, in: resource.children, above: above + [resource]) { return found }
        }
        for resource in resources where strip(resource.id) == id { return above + [resource] }
        return nil
    }

    static func strip(_ id: String) -> String {
        guard let colon = id.lastIndex(of: ":"), id[id.index(after: colon)...].allSatisfy(\.isNumber), colon != id.startIndex else { return id }
        return String(id[..<colon])
    }

    /// Distinct nodes it (or any part of it) is active on.
    var activeNodes: [String] {
        var seen: [String] = []
        func walk(_ resource: StatusSnapshot.Resource, depth: Int) {
            precondition(depth < CIBDocument.maximumDepth, "activeNodes: resources nest less deeply than the limit")
            for node in resource.nodes where !seen.contains(node) { seen.append(node) }
            for child in resource.children { walk(child, depth: depth + 1) }
        }
        walk(resource, depth: 0)
        return seen
    }

    /// pe__find_active_requires: the active nodes, only the clean ones for a resource that
    /// does not need fencing (a fence device, or any resource with fencing disabled).
    var activeRequiringNodes: [String] {
        let needsFencing = snapshot.stonithEnabled && !(resource.agent ?? "").hasPrefix("stonith:")
        guard !needsFencing else { return activeNodes }
        let unclean = Set(snapshot.nodes.filter(\.unclean).map(\.name))
        return activeNodes.filter { !unclean.contains($0) }
    }

    /// Nodes where a promotable clone's instances are promoted.
    var promotedNodes: [String] {
        resource.children.filter { $0.role == "Promoted" }.flatMap(\.nodes)
    }

    /// Online nodes with a history of this primitive, in the order crm_resource takes them from
    /// Pacemaker's known_on table (g_hash_table_get_values: the table's order reversed);
    /// every online node when none has one.
    var knownOnlineNodes: [String] {
        let online = Set(snapshot.nodes.filter(\.online).map(\.name))
        let known = history.filter { $0.resources.contains(id) || $0.resources.contains(configuredID) }.map(\.node)
        if known.isEmpty { return nodeNames.filter { online.contains($0) } }
        return GLibHashOrder.order(known).reversed().filter { online.contains($0) }
    }
}
