import CIB

/// What a CIB says the cluster is doing now, unpacked as the scheduler unpacks it (nodes'
/// states, every resource's current role and nodes, failures) but without scheduling anything:
/// the input of `crm_mon`'s view (Sources/CRMStatusView). A value: nothing here refers back to
/// the working set it was read from.
public struct StatusSnapshot: Sendable, Equatable, Codable {
    public struct Node: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Equatable, Codable { case member, remote, guest }
        public var id: String
        public var name: String
        public var kind: Kind
        public var online: Bool
        public var unclean: Bool
        public var pending: Bool
        public var standby: Bool
        /// In standby because a resource failed with on-fail=standby (not by its attribute).
        public var standbyOnFail: Bool
        public var maintenance: Bool
        public var shutdown: Bool
        /// Some resource is active here.
        public var hasActiveResources: Bool
        /// The bundle that made this guest node (it exists only once that bundle is unpacked).
        public var bundle: String?
    }

    public struct Resource: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Equatable, Codable { case primitive, group, clone, bundle }
        public var id: String
        public var kind: Kind
        /// `class[:provider]:type` of a primitive.
        public var agent: String?
        /// A clone's configured child (group or primitive) id, a bundle's image.
        public var childID: String?
        /// Current role (a promotable clone's started instance is Unpromoted).
        public var role: String
        /// Nodes it is active on, in the order its history showed it there.
        public var nodes: [String]
        public var failed: Bool
        public var failureIgnored: Bool
        public var managed: Bool
        public var blocked: Bool
        public var orphan: Bool
        public var targetRole: String?
        public var promotable: Bool
        public var globallyUnique: Bool
        public var cloneMax: Int
        /// meta `internal` (hidden from crm_mon without --show-detail).
        public var isInternal: Bool
        /// meta priority: crm_mon lists resources by it (highest first), then as configured.
        public var priority: Int
        public var description: String?
        /// An operation in flight (`start`, `monitor`…; a probe is `probe`) and its node.
        public var pendingTask: String?
        public var pendingNode: String?
        public var children: [Resource]
        /// A bundle's container image and replicas.
        public var image: String?
        public var replicas: [Replica]?
    }

    /// One replica of a bundle: its container, and the IP, guest connection and instance of the
    /// bundled resource when it has them.
    public struct Replica: Sendable, Equatable, Codable {
        public var ipAddress: String?
        public var ip: Resource?
        public var container: Resource
        public var remote: Resource?
        public var child: Resource?
    }

    /// One resource of a node's history with failures, as `crm_mon -f` lists it under
    /// "Migration Summary" (pe_output.c's resource-history).
    public struct FailCount: Sendable, Equatable, Codable {
        /// The history's resource id (an anonymous clone's instance as recorded).
        public var resource: String
        public var migrationThreshold: Int
        /// Every failure counted, expired ones too (pe_get_failcount with pe_fc_default).
        public var failCount: Int
        /// The last failure's time (seconds since the epoch), 0 when none is recorded.
        public var lastFailure: Int
    }

    /// A node's part of the "Migration Summary": only nodes with some fail count are listed.
    public struct NodeFailCounts: Sendable, Equatable, Codable {
        public var node: String
        public var resources: [FailCount]
    }

    public var nodes: [Node]
    public var resources: [Resource]
    public var haveQuorum: Bool
    public var stonithEnabled: Bool
    public var symmetricCluster: Bool
    public var maintenanceMode: Bool
    public var stopAllResources: Bool
    /// crm_mon prints the "Migration Summary" header (with -f) when the status section has an
    /// online node, fail counts or not.
    public var migrationSummaryShown = false
    /// The online nodes with fail counts, in the status section's order, each resource in its
    /// history's order.
    public var failCounts: [NodeFailCounts] = []
}

extension Scheduler {
    /// The cluster's current state from a CIB's configuration and status (Pacemaker's
    /// cluster_status(), which crm_mon runs): no placement, no actions.
    public static func currentStatus(_ cib: CIB, now: Int? = nil) -> StatusSnapshot {
        let workingSet = WorkingSet(cib: cib, now: cib.executionDate ?? now, explain: false)
        workingSet.unpackCurrentState()
        return workingSet.snapshot()
    }
}

extension WorkingSet {
    /// The unpacking both the scheduler and the status view start with (Pacemaker's
    /// cluster_status): configuration, nodes, resources, the status section, current roles.
    func unpackCurrentState() {
        unpackConfiguration()
        unpackNodes()
        unpackNodeStates()
        unpackResources()
        detectUnfencing()
        unpackStatus()
        applyQuorumSuicide()
        settleCurrentRoles()
    }

    func snapshot() -> StatusSnapshot {
        let active = Set(allPrimitives.flatMap { $0.runningOn.map(\.name) })
        let pending = pendingOperations()
        var bundleOfContainer: [String: String] = [:]
        for bundle in resources where bundle.isBundle { for container in bundle.children { bundleOfContainer[container.id] = bundle.id } }
        // crm_mon lists nodes by name (Pacemaker keeps its node list sorted).
        let nodes = self.nodes.sorted(by: nodeNameOrder).map { node in
            StatusSnapshot.Node(
                id: node.id, name: node.name,
                kind: node.guestContainer != nil ? .guest : node.isRemote ? .remote : .member,
                // A node never seen is unclean only where it could be fenced (startup fencing
                // needs fencing enabled), as crm_mon shows it.
                online: node.online, unclean: node.unclean && (stonithEnabled || !node.unseen), pending: node.pending,
                standby: node.standby && truthy(node.attributes["standby"]),
                standbyOnFail: node.standby && !truthy(node.attributes["standby"]),
                maintenance: node.maintenance, shutdown: node.shutdown, hasActiveResources: active.contains(node.name),
                bundle: node.guestContainer.flatMap { bundleOfContainer[$0] })
        }
        precondition(nodes.count == self.nodes.count, "snapshot: every node of the working set is reported")
        let (shown, failCounts) = migrationSummary()
        return StatusSnapshot(
            nodes: nodes, resources: resources.filter { !$0.bundlePart }.map { snapshot($0, pending: pending) },
            haveQuorum: haveQuorum, stonithEnabled: stonithEnabled, symmetricCluster: symmetricCluster,
            maintenanceMode: maintenanceMode, stopAllResources: truthy(cib.configuration.clusterProperty("stop-all-resources")),
            migrationSummaryShown: shown, failCounts: failCounts)
    }

    /// crm_mon -f's "Migration Summary" (pe_output.c's node-summary and node-history-list):
    /// each online node of the status section, each resource of its history found in the
    /// configuration (an anonymous clone's instance by its base id) with a fail count above 0.
    private func migrationSummary() -> (shown: Bool, nodes: [StatusSnapshot.NodeFailCounts]) {
        var shown = false
        var result: [StatusSnapshot.NodeFailCounts] = []
        for state in cib.status.nodeStates {
            guard let node = node(for: state), node.online else { continue }
            shown = true
            var entries: [StatusSnapshot.FailCount] = []
            for history in state.lrm?.resources ?? [] {
                let base = history.id.split(separator: ":").first.map(String.init) ?? history.id
                let resource = resourcesByID[history.id].flatMap { $0.kind == .primitive ? $0 : nil }
                    ?? allPrimitives.first { $0.id == history.id } ?? allPrimitives.first { $0.baseID == base }
                guard let resource else { continue }
                let count = failCount(resource, on: node, ignoringTimeout: true)
                guard count > 0 else { continue }
                entries.append(StatusSnapshot.FailCount(resource: history.id, migrationThreshold: resource.migrationThreshold,
                                                        failCount: count, lastFailure: lastFailure(resource, on: node)))
            }
            if !entries.isEmpty { result.append(StatusSnapshot.NodeFailCounts(node: node.name, resources: entries)) }
        }
        return (shown, result)
    }

    /// Operations in flight by resource (Pacemaker's pending_task and pending_node): the last
    /// operation of a history, in call order, when it has no result yet.
    private func pendingOperations() -> [ObjectIdentifier: (task: String, node: String)] {
        var result: [ObjectIdentifier: (task: String, node: String)] = [:]
        for state in cib.status.nodeStates {
            guard let node = node(for: state), let lrm = state.lrm else { continue }
            for history in lrm.resources {
                // Notifications and the like never make a resource pending (unpack_rsc_op skips them).
                let last = history.operations.filter { !["notify", "meta-data", "reload", "reload-agent", "cancel"].contains($0.operation) }.max { lhs, rhs in
                    (lhs.callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max) < (rhs.callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max)
                }
                guard let last, last.opStatus == -1 || last.callID == -1 || last.rcCode == nil else { continue }
                let base = history.id.split(separator: ":").first.map(String.init) ?? history.id
                let direct = resourcesByID[history.id].flatMap { $0.kind == .primitive && !$0.isCloneInstance ? $0 : nil }
                let resource = direct ?? allPrimitives.first {
                    $0.baseID == base && ($0.runningOn.contains { $0 === node } || $0.historyNodes.contains { $0 === node })
                }
                guard let resource else { continue }
                let task = last.operation == "monitor" && last.interval == 0 ? "probe" : last.operation
                result[ObjectIdentifier(resource)] = (task, node.name)
            }
        }
        return result
    }

    private func snapshot(_ resource: SchedulerResource, pending: [ObjectIdentifier: (task: String, node: String)]) -> StatusSnapshot.Resource {
        let recurse = { (part: SchedulerResource) in self.snapshot(part, pending: pending) }
        let kind: StatusSnapshot.Resource.Kind
        if resource.isBundle { kind = .bundle } else {
            switch resource.kind {
            case .primitive: kind = .primitive
            case .group: kind = .group
            case .clone: kind = .clone
            }
        }
        var agent: String?
        if let primitive = resource.primitive {
            let resourceClass = primitive.resourceClass ?? "unknown"
            let provider = resourceClass == "ocf" ? primitive.provider.map { "\($0):" } ?? "" : ""
            agent = "\(resourceClass):\(provider)\(primitive.type ?? "unknown")"
        }
        var childID: String?
        if resource.kind == .clone, !resource.isBundle,
           case .clone(let config)? = cib.configuration.resources.first(where: { $0.id == resource.id }) {
            switch config.child {
            case .primitive(let primitive)?: childID = primitive.id
            case .group(let group)?: childID = group.id
            case nil: break
            }
        }
        var children = resource.children.map(recurse)
        var image: String?
        var replicas: [StatusSnapshot.Replica]?
        if let parts = resource.bundleReplicas {
            children = parts.flatMap { $0 }.map(recurse)
            if case .other(let element)? = cib.configuration.resources.first(where: {
                if case .other(let element) = $0 { return element["id"] == resource.id } else { return false }
            }) {
                image = element.children.first { ["docker", "podman", "rkt"].contains($0.name) }?["image"]
            }
            replicas = parts.compactMap { part in
                // Parts in order: [IP], container, [connection], [instance] (Bundle.swift).
                let ipPart = part.first { $0.id.hasPrefix("\(resource.id)-ip-") }
                let rest = part.filter { $0 !== ipPart }
                guard let container = rest.first else { return nil }
                let remote = rest.dropFirst().first { $0.isRemoteConnection || $0.primitive?.type == "remote" }
                let child = rest.dropFirst().first { $0 !== remote }
                return StatusSnapshot.Replica(
                    ipAddress: ipPart.map { String($0.id.dropFirst(resource.id.count + 4)) }, ip: ipPart.map(recurse),
                    container: recurse(container), remote: remote.map(recurse), child: child.map(recurse))
            }
        }
        precondition(resource.kind != .primitive || children.isEmpty, "snapshot: primitive \(resource.id) has no children")
        return StatusSnapshot.Resource(
            // Active only on a failed migration's target with its history ending Stopped: crm_mon
            // says Stopped (on that node).
            id: resource.id, kind: kind, agent: agent, childID: childID,
            role: resource.stoppedButActive ? Role.stopped.text : resource.role.text,
            // A promoted failure recovered by demoting (on-fail=demote) is failed all the same.
            nodes: resource.runningOn.map(\.name), failed: resource.failed || resource.demoteRecovery,
            failureIgnored: resource.failureIgnored,
            managed: resource.managed, blocked: resource.blocked, orphan: resource.orphan,
            targetRole: resource.meta["target-role"], promotable: resource.promotable,
            // Only OCF and fencing agents can be unique: Pacemaker makes other clones anonymous (pe__force_anon).
            globallyUnique: resource.globallyUnique && resource.primitives.allSatisfy { ["ocf", "stonith"].contains($0.primitive?.resourceClass ?? "") }, cloneMax: resource.cloneMax,
            // A guest node's connection is made by the scheduler (Pacemaker marks it internal).
            isInternal: truthy(resource.meta["internal"]) || (resource.generated && !resource.bundlePart && resource.parent == nil),
            priority: resource.priority, description: resource.primitive?.extras.attributes.first { $0.name == "description" }?.value,
            // (A pending probe names no node: crm_mon shows it stopped where it is.)
            pendingTask: pending[ObjectIdentifier(resource)]?.task,
            pendingNode: pending[ObjectIdentifier(resource)].flatMap { $0.task == "probe" ? nil : $0.node },
            children: children, image: image, replicas: replicas)
    }
}

