import CIB

/// Pacemaker Remote nodes and guest nodes (Pacemaker's unpack_remote_nodes,
/// determine_remote_online_status, pe_fence_node for remote and guest nodes, the remote
/// connection orderings of pcmk_sched_remote.c and pcmk__fence_guest).
///
/// A remote node is reached through an ocf:pacemaker:remote connection resource of the same
/// name. A guest node lives in a resource (a VM or container) whose meta remote-node names it;
/// its connection resource is generated, contained in that resource.
extension WorkingSet {
    // MARK: configuration

    /// Remote connections and guest nodes in configuration order: the node name and, for a
    /// guest node, the id of its container.
    func remoteNodeDefinitions() -> [(name: String, container: String?)] {
        var definitions: [(name: String, container: String?)] = []
        func collect(_ primitive: Primitive) {
            if primitive.resourceClass == "ocf", primitive.provider == "pacemaker", primitive.type == "remote" {
                definitions.append((primitive.id, nil))
            } else if let name = Self.plainMeta(primitive.attributes, "remote-node"), !name.isEmpty {
                definitions.append((name, primitive.id))
            }
        }
        for resource in cib.configuration.resources {
            switch resource {
            case .primitive(let primitive): collect(primitive)
            case .group(let group): group.members.forEach(collect)
            default: break
            }
        }
        return definitions
    }

    /// A meta attribute from the sets without rules (the first set that has it wins).
    static func plainMeta(_ attributes: ResourceAttributes, _ name: String) -> String? {
        for set in attributes.meta where set.rules.isEmpty {
            if let pair = set.pairs.first(where: { $0.name == name }), let value = pair.value { return value }
        }
        return nil
    }

    /// The connection resource of each guest node, generated as Pacemaker does (an
    /// ocf:pacemaker:remote primitive after the configured resources, contained in the guest's
    /// resource, with its allow-migrate and is-managed).
    func addGuestConnections() {
        for node in nodes {
            guard let containerID = node.guestContainer, let connectionID = node.connection,
                  !resources.contains(where: { $0.id == connectionID }),
                  let container = allPrimitives.first(where: { $0.id == containerID && !$0.isCloneInstance }),
                  let containerConfig = container.primitive else { continue }
            var meta = [XMLElement(name: "nvpair", attributes: [.init(name: "id", value: "\(connectionID)-meta-container"),
                                                                .init(name: "name", value: "container"),
                                                                .init(name: "value", value: containerID)])]
            for name in ["allow-migrate", "is-managed"] {
                if let value = Self.plainMeta(containerConfig.attributes, name) {
                    meta.append(XMLElement(name: "nvpair", attributes: [.init(name: "id", value: "\(connectionID)-meta-\(name)"),
                                                                        .init(name: "name", value: name),
                                                                        .init(name: "value", value: value)]))
                }
            }
            let element = XMLElement(name: "primitive", attributes: [
                .init(name: "id", value: connectionID), .init(name: "class", value: "ocf"),
                .init(name: "provider", value: "pacemaker"), .init(name: "type", value: "remote"),
            ], children: [XMLElement(name: "meta_attributes", attributes: [.init(name: "id", value: "\(connectionID)-meta")],
                                     children: meta)])
            guard let primitive = try? Primitive(xml: element) else { continue }
            let resource = makePrimitive(primitive, id: connectionID, parent: nil, defaults: resourceDefaults())
            resource.generated = true
            resources.append(resource)
        }
    }

    /// An orphaned resource recorded with a container is mapped to it; an orphaned remote
    /// connection still makes its node, which shuts down (Pacemaker's create_fake_resource).
    func adoptOrphanConnection(_ resource: SchedulerResource, _ lrmResource: LRMResource) {
        if let container = lrmResource.container { resource.meta["container"] = container }
        guard lrmResource.resourceClass == "ocf", lrmResource.provider == "pacemaker", lrmResource.type == "remote" else { return }
        resource.isRemoteConnection = true
        let node: SchedulerNode
        if let existing = nodesByName[resource.id] {
            node = existing
        } else {
            node = SchedulerNode(id: resource.id, name: resource.id, order: nodes.count)
            node.unseen = false
            node.attributes = ["#uname": resource.id, "#id": resource.id]
            nodes.append(node)
            nodesByName[resource.id] = node
            nodesByID[resource.id] = node
        }
        node.isRemote = true
        node.connection = resource.id
        node.guestContainer = lrmResource.container
        node.attributes["#kind"] = lrmResource.container == nil ? "remote" : "container"
        node.shutdown = true
    }

    func connectionResource(of node: SchedulerNode) -> SchedulerResource? {
        guard node.isRemote, let id = node.connection else { return nil }
        return resourcesByID[id]
    }

    func guestContainerResource(of node: SchedulerNode) -> SchedulerResource? {
        guard node.isRemote, let id = node.guestContainer else { return nil }
        return resourcesByID[id]
    }

    /// The remote or guest node a resource provides (as its connection or its container).
    func remoteNodeProvided(by resource: SchedulerResource) -> SchedulerNode? {
        if resource.isRemoteConnection, let node = nodesByName[resource.id], node.isRemote { return node }
        return nodes.first { $0.guestContainer == resource.id }
    }

    /// Whether the resource is the container of a guest node (it may not run on remote nodes).
    func isGuestContainer(_ resource: SchedulerResource) -> Bool {
        nodes.contains { $0.guestContainer == resource.id }
    }

    // MARK: status

    /// Remote and guest node histories, after the cluster nodes' (Pacemaker's unpack_node_history
    /// passes): a guest node's once its container and connection are known to run, a remote
    /// node's once its connection is; with fencing enabled, the rest last of all.
    func unpackRemoteStatus(_ remoteStates: [NodeState], unpack: (NodeState) -> Void) {
        for state in remoteStates {
            guard let node = node(for: state) else { continue }
            node.remoteWasFenced = Self.wasFenced(state)
        }
        var progress = true
        while progress {
            progress = false
            for state in remoteStates {
                guard let node = node(for: state), !node.historyUnpacked else { continue }
                guard let connection = connectionResource(of: node), connection.role == .started else { continue }
                if let container = guestContainerResource(of: node), container.role != .started { continue }
                unpackRemoteNode(node, state, unpack: unpack)
                progress = true
            }
        }
        if stonithEnabled {
            for state in remoteStates {
                guard let node = node(for: state), !node.historyUnpacked else { continue }
                unpackRemoteNode(node, state, unpack: unpack)
            }
        }
        for node in nodes where node.isRemote {
            if node.shutdown, let connection = connectionResource(of: node) { connection.nextRole = .stopped }
            if !node.historyUnpacked { determineRemoteOnline(node) }
        }
    }

    /// The node_fenced mark of a remote node's state entry.
    static func wasFenced(_ state: NodeState) -> Bool {
        (Int(state.extras.attributes.first { $0.name == "node_fenced" }?.value ?? "") ?? 0) != 0
    }

    private func unpackRemoteNode(_ node: SchedulerNode, _ state: NodeState, unpack: (NodeState) -> Void) {
        determineRemoteOnline(node)
        if !node.remoteRequiresReset {
            node.unclean = false
            node.unseen = false
        }
        for set in state.transientAttributes?.sets ?? [] {
            for pair in set.pairs { if let value = pair.value { node.attributes[pair.name] = value } }
        }
        if let shutdown = node.attributes["shutdown"], shutdown != "0", !shutdown.isEmpty { node.shutdown = true }
        if truthy(node.attributes["standby"]) { node.standby = true }
        if truthy(node.attributes["maintenance"]) || connectionResource(of: node).map({ !$0.managed }) ?? false {
            node.maintenance = true
        }
        node.historyUnpacked = true
        unpack(state)
    }

    /// Pacemaker's determine_remote_online_status.
    func determineRemoteOnline(_ node: SchedulerNode) {
        guard let connection = connectionResource(of: node) else {
            node.online = false
            return
        }
        let container = guestContainerResource(of: node)
        if connection.role == .started { node.online = true }
        if connection.role == .started && targetRole(connection) == .stopped { node.shutdown = true }
        let host = container.flatMap { $0.runningOn.count == 1 ? $0.runningOn.first : nil }
        if let container, container.failed {
            node.online = false
            node.remoteRequiresReset = true
        } else if connection.failed {
            node.online = false
        } else if connection.role == .stopped || container?.role == .stopped {
            node.online = false
            node.remoteRequiresReset = false
        } else if let host, !host.online, host.unclean {
            node.online = false
            node.remoteRequiresReset = true
        }
    }

    /// A managed resource is active on a remote or guest node that is down (Pacemaker's
    /// process_rsc_state): a guest node is reset by recovering its container; a remote node is
    /// fenced, unless (connection healthy) the connection can be re-established elsewhere.
    func activeOnOfflineRemote(_ resource: SchedulerResource, _ node: SchedulerNode) {
        if node.guestContainer != nil {
            resource.failed = true
            fenceRemote(node, reason: "\(resource.id) is thought to be active there")
        } else if stonithEnabled {
            var reason = "\(resource.id) is thought to be active there"
            if let connection = connectionResource(of: node), !connection.failed {
                node.unseen = true
                reason = "\(resource.id) is active there (fencing will be revoked if remote connection can be re-established elsewhere)"
            }
            fenceRemote(node, reason: reason)
        }
    }

    /// A remote connection (not a guest's) failed without an on-fail of its own: the remote
    /// node is fenced when fencing is enabled (Pacemaker's action_fail_reset_remote, the
    /// default on-fail of a remote connection's operations other than start and probes).
    func remoteConnectionFailed(_ connection: SchedulerResource, lastFailure: LRMOperation?) {
        guard connection.isRemoteConnection, container(of: connection) == nil else { return }
        // Only a failure that drops an active connection: not a failed start, not a probe.
        if let failure = lastFailure, failure.operation == "start" || failure.operation == "monitor" && failure.interval == 0 { return }
        if let failure = lastFailure, let configured = connection.primitive?.operations?.operations.first(where: {
            $0.name == failure.operation && $0.intervalMilliseconds == failure.interval
        }), configured.onFail != nil { return }
        // (Read from the status directly: the connection's history is read before the remote
        // nodes' entries are.)
        guard let node = nodesByName[connection.id], node.isRemote, node.guestContainer == nil else { return }
        let wasFenced = cib.status.nodeStates.contains { self.node(for: $0) === node && Self.wasFenced($0) }
        if stonithEnabled, !wasFenced {
            fenceRemote(node, reason: "remote connection is unrecoverable")
        }
        if reconnectInterval(connection) > 0 { connection.nextRole = .stopped }
    }

    /// Whether a completed stop leaves this connection's failure standing: a remote
    /// connection (not a guest's) with a reconnect interval, whose failure resets the remote
    /// node, waits for the failure to be cleared (Pacemaker keeps action_fail_reset_remote).
    func keepsRemoteFailure(_ resource: SchedulerResource, _ failure: LRMOperation?) -> Bool {
        guard resource.isRemoteConnection, container(of: resource) == nil, reconnectInterval(resource) > 0,
              let failure, failure.operation != "start", !(failure.operation == "monitor" && failure.interval == 0) else { return false }
        let configured = resource.primitive?.operations?.operations.first {
            $0.name == failure.operation && $0.intervalMilliseconds == failure.interval
        }
        return configured?.onFail == nil
    }

    /// The connection's reconnect_interval (instance attribute), in milliseconds.
    func reconnectInterval(_ connection: SchedulerResource) -> Int {
        for set in connection.primitive?.attributes.instance ?? [] where set.rules.isEmpty {
            if let value = set.pairs.first(where: { $0.name == "reconnect_interval" })?.value {
                return Duration.milliseconds(parsing: value) ?? 0
            }
        }
        return 0
    }

    /// Pacemaker's pe_fence_node for remote and guest nodes: a guest node is "fenced" by
    /// recovering its container; a remote node is marked unclean.
    func fenceRemote(_ node: SchedulerNode, reason: String) {
        if let container = guestContainerResource(of: node) {
            guard !container.failed else { return }
            guard container.managed else { return }
            node.remoteRequiresReset = true
            container.failed = true
        } else {
            if let connection = connectionResource(of: node), !connection.managed { return }
            node.remoteRequiresReset = true
            fenceNode(node, reason: reason)
        }
    }

    /// When no node can run the resource now, a guest node it is allowed on may still be
    /// chosen: Pacemaker assumes a guest's connection will come up (its starts then wait for
    /// it). Unavailable nodes all rank alike, so the one with fewer resources, then by name.
    /// (Clone instances are held to available nodes; a bundle's replicas are not, as Pacemaker
    /// assigns them one by one.)
    func guestFallback(_ resource: SchedulerResource, excluding: Set<String>) -> SchedulerNode? {
        if let clone = resource.cloneParent, !clone.bundlePart { return nil }
        return nodes.filter { node in
            node.guestContainer != nil && !node.canRunResources && !excluding.contains(node.name)
                && (resource.allowed[node.name].map { $0 >= .zero } ?? false)
        }.min { lhs, rhs in
            lhs.assignedCount != rhs.assignedCount ? lhs.assignedCount < rhs.assignedCount : lhs.name < rhs.name
        }
    }

    /// Where a resource's node attributes are read: on a guest node, with meta
    /// container-attribute-target=host, those of the host its container runs on (Pacemaker's
    /// pe_node_attribute_calculated).
    func attributeNode(for resource: SchedulerResource, on node: SchedulerNode) -> SchedulerNode? {
        guard resource.meta["container-attribute-target"]?.lowercased() == "host",
              let container = guestContainerResource(of: node) else { return node }
        return container.runningOn.first
    }

    /// Whether an instance placed on this node may be promoted there: the node can run
    /// resources, and a guest node's container will run (Pacemaker's pcmk__node_available
    /// with guests considered).
    func canPromote(on node: SchedulerNode) -> Bool {
        guard node.canRunResources else { return false }
        if let container = guestContainerResource(of: node), container.allocatedTo == nil { return false }
        return true
    }

    /// After a remote connection is assigned (Pacemaker's remote_connection_assigned): its node
    /// will be online, or shut down.
    func remoteConnectionAssigned(_ node: SchedulerNode) {
        guard let connection = connectionResource(of: node) else { return }
        if connection.allocatedTo != nil && connection.nextRole != .stopped {
            if node.onlineAsUnpacked == nil { node.onlineAsUnpacked = node.online }
            node.online = true
            if node.unseen { node.unclean = false }
        } else {
            node.shutdown = true
        }
    }
}

// MARK: actions

/// Where a remote node's connection stands for this transition (Pacemaker's
/// remote_connection_state).
enum RemoteConnectionState { case unknown, alive, resting, failed, stopped }

extension WorkingSet {
    /// Orders the actions of resources on remote and guest nodes relative to the node's
    /// connection (and a guest's container), fencing remote nodes whose resources can no longer
    /// be reached; then "fences" guest nodes that need a reset by recovering their container
    /// (Pacemaker's pcmk__order_remote_connection_actions, then pcmk__fence_guest).
    func orderRemoteActions() {
        // Scheduling probes comes first: an offline remote node whose connection cannot be
        // recovered is fenced then (Pacemaker's pcmk__schedule_probes).
        for node in nodes.sorted(by: { $0.name < $1.name }) where node.isRemote && node.guestContainer == nil && !node.online {
            guard let connection = connectionResource(of: node), remoteState(node, connection) == .failed else { continue }
            fenceRemote(node, reason: "the connection is unrecoverable")
            if node.unclean, canFence(node) { impliedByFencing(node, fence: lateFence(node)) }
        }
        // Newest first, as Pacemaker walks its (prepended) action list: that decides the order
        // remote nodes are found to need fencing.
        let count = actions.count
        for id in (0..<count).reversed() {
            let action = actions[id]
            guard action.resource != nil, let node = action.node, node.isRemote, !action.pseudo,
                  let connection = connectionResource(of: node) else { continue }
            if let container = guestContainerResource(of: node) {
                orderOnGuest(id, node: node, connection: connection, container: container)
            } else {
                orderOnRemote(id, node: node, connection: connection)
            }
        }
        // Probes (created before any other action, so considered last): on a remote node whose
        // connection cannot be recovered, a resource in unknown state means fencing.
        // (Pacemaker keeps its nodes sorted by name.)
        for node in nodes.sorted(by: { $0.name < $1.name }).reversed() where node.isRemote && node.guestContainer == nil && node.online && !node.unclean {
            guard let connection = connectionResource(of: node), remoteState(node, connection) == .failed,
                  allPrimitives.contains(where: { wouldProbe($0, on: node) }) else { continue }
            fenceRemote(node, reason: "resources are in unknown state and connection is unrecoverable")
            if node.unclean, canFence(node) { impliedByFencing(node, fence: lateFence(node)) }
        }
        // A placed generated connection whose container cannot start is held back by that (its
        // reason), before anything the container's start would make it do.
        for node in nodes where node.guestContainer != nil {
            guard let connection = connectionResource(of: node), connection.generated,
                  let container = guestContainerResource(of: node), let containerStart = startAction(container),
                  let connectionStart = startAction(connection), actions[connectionStart].node != nil else { continue }
            orderings.insert(Ordering(first: containerStart, then: connectionStart, flags: [.runnableLeft]), at: 0)
        }
        let haveManaged = allPrimitives.contains { $0.managed }
        for node in nodes.sorted(by: { $0.name < $1.name }) where node.guestContainer != nil && node.remoteRequiresReset && haveManaged && canFenceGuest(node) {
            fenceGuest(node)
        }
    }

    private func startAction(_ resource: SchedulerResource) -> Int? {
        findActions(resource, "start").first { actions[$0].node != nil } ?? findAction(resource, "start")
    }

    private func stopActions(_ resource: SchedulerResource) -> [Int] { findActions(resource, "stop") }

    private func orderOnGuest(_ id: Int, node: SchedulerNode, connection: SchedulerResource, container: SchedulerResource) {
        if container.failed { fenceRemote(node, reason: "container failed") }
        switch actions[id].task {
        case "start", "promote":
            // Recovering the container recovers what runs in it (a container that will not
            // start anywhere forces nothing), and it waits for the connection. When the
            // connection is placed, the container is the reason given for a blocked start;
            // otherwise the connection is.
            let containerStart = startAction(container), connectionStart = startAction(connection)
            let containerFlags: OrderingFlags = containerStart.map { actions[$0].node != nil } ?? false ? [.impliesThen, .runnableLeft] : [.runnableLeft]
            if connectionStart.map({ actions[$0].node != nil }) ?? false {
                order(containerStart, id, containerFlags)
                order(connectionStart, id, [.runnableLeft])
            } else {
                order(connectionStart, id, [.runnableLeft])
                order(containerStart, id, containerFlags)
            }
        case "stop", "demote":
            // Implied by the container stopping when it failed; otherwise before the connection goes.
            if !container.failed {
                for stop in stopActions(connection) { order(id, stop, stopFlags(connection)) }
            }
        default:
            order(startAction(connection), id, [.runnableLeft])
        }
    }

    /// A stop on the node comes before the connection's stop, and the connection stopping
    /// forces it, unless the connection migrates (the node stays reachable throughout).
    private func stopFlags(_ connection: SchedulerResource) -> OrderingFlags {
        connection.migrating ? [] : [.impliesFirst]
    }

    func remoteState(_ node: SchedulerNode, _ connection: SchedulerResource) -> RemoteConnectionState {
        let clusterNode = connection.runningOn.first
        if connection.nextRole == .stopped || connection.allocatedTo == nil {
            if let clusterNode, clusterNode.unclean { return .failed }
            if !connection.failed { return .stopped }
            // (A shutdown the node asked for, not one decided here: pe__shutdown_requested.)
            let shutdownRequested = node.attributes["shutdown"].map { !$0.isEmpty && $0 != "0" } ?? false
            if connection.nextRole == .stopped && reconnectInterval(connection) > 0 && node.remoteWasFenced && !shutdownRequested {
                return .unknown
            }
            return .failed
        }
        guard let clusterNode else { return .unknown }
        if clusterNode.unclean || !clusterNode.online { return .resting }
        return .alive
    }

    private func orderOnRemote(_ id: Int, node: SchedulerNode, connection: SchedulerResource) {
        let state = remoteState(node, connection)
        switch actions[id].task {
        case "start", "promote":
            order(startAction(connection), id, state == .failed ? [.runnableLeft, .impliesThen] : [.runnableLeft])
        case "stop":
            if state == .alive || (state != .failed && connection.nextRole == .stopped) {
                for stop in stopActions(connection) { order(id, stop, stopFlags(connection)) }
            } else if state == .failed {
                fenceRemote(node, reason: "resources are active but connection is unrecoverable")
                if node.unclean, canFence(node) { impliedByFencing(node, fence: lateFence(node)) }
            } else {
                order(startAction(connection), id, [])
            }
        case "demote":
            if state == .resting || state == .unknown { order(startAction(connection), id, []) }
        default:
            order(startAction(connection), id, [])
        }
    }

    /// Whether Pacemaker would probe the resource on this remote node: it may run there and
    /// nothing (no instance, for a clone) has a history there yet.
    func wouldProbe(_ resource: SchedulerResource, on node: SchedulerNode) -> Bool {
        guard !resource.orphan, !resource.isRemoteConnection, resource.primitive?.resourceClass != "stonith" else { return false }
        if node.guestContainer != nil && remoteNodeProvided(by: resource) != nil { return false }
        if let attribute = node.attributes["resource-discovery-enabled"], !isTrue(attribute) { return false }
        var current: SchedulerResource? = resource
        while let scope = current {
            if let exclusive = scope.exclusiveDiscoveryNodes, !exclusive.contains(node.name) { return false }
            current = scope.parent
        }
        let related = resource.cloneParent.map { $0.primitives.filter { $0.baseID == resource.baseID } } ?? [resource]
        return !related.contains { $0.historyNodes.contains { $0 === node } }
    }

    /// The fence action of a node fenced after the actions were created (kept in the order the
    /// nodes were found to need it).
    private func lateFence(_ node: SchedulerNode) -> Int {
        if let existing = fenceActions.first(where: { actions[$0].node === node }) { return existing }
        let id = addAction(nil, "stonith", node, optional: false)
        actions[id].fenceReason = node.fenceReason ?? "node is unclean"
        fenceActions.append(id)
        let rank = { (action: Int) -> Int in
            self.fenceOrder.firstIndex { $0 === self.actions[action].node } ?? Int.max
        }
        fenceActions = fenceActions.enumerated().sorted { lhs, rhs in
            let left = rank(lhs.element), right = rank(rhs.element)
            return left != right ? left < right : lhs.offset < rhs.offset
        }.map(\.element)
        return id
    }

    /// Stops and demotes on a fenced node will not be run: fencing implies them.
    private func impliedByFencing(_ node: SchedulerNode, fence: Int) {
        for id in actions.indices where actions[id].node === node && actions[id].resource != nil {
            guard actions[id].task == "stop" || actions[id].task == "demote" else { continue }
            guard actions[id].resource?.managed ?? false else { continue }
            actions[id].pseudo = true
            actions[id].runnable = true
            order(fence, id, [.impliesThen])
        }
    }

    /// Pacemaker's pe_can_fence for a guest node: its container's hosts are online or fenceable.
    func canFenceGuest(_ node: SchedulerNode) -> Bool {
        guard let container = guestContainerResource(of: node) else { return false }
        return container.runningOn.allSatisfy { $0.online || canFence($0) }
    }

    /// A guest node is "fenced" by stopping its container: a pseudo fence action after that
    /// stop (or after the host's fencing, when the stop is implied by it).
    private func fenceGuest(_ node: SchedulerNode) {
        guard let container = guestContainerResource(of: node) else { return }
        let restarts = findActions(container, "start").contains { actions[$0].node != nil }
        let id = addAction(nil, "stonith", node, optional: false, pseudo: true)
        actions[id].fenceReason = "guest is unclean"
        actions[id].fenceType = restarts ? "reboot" : "off"
        fenceActions.append(id)
        if let stop = findAction(container, "stop") {
            if actions[stop].pseudo, let host = actions[stop].node,
               let hostFence = fenceActions.first(where: { actions[$0].node === host && $0 != id }) {
                order(hostFence, id, [.runnableLeft, .impliesThen])
            } else {
                order(stop, id, [.runnableLeft, .impliesThen])
            }
        } else if let connection = connectionResource(of: node), let stop = findAction(connection, "stop") {
            order(stop, id, [])
        }
        impliedByFencing(node, fence: id)
    }
}
