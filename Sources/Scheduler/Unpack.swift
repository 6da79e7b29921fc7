import CIB

/// Unpacking: configuration, nodes, resources and status into the working set.
extension WorkingSet {
    func unpackConfiguration() {
        let configuration = cib.configuration
        stonithEnabled = truthy(configuration.clusterProperty("stonith-enabled"), default: true)
        symmetricCluster = truthy(configuration.clusterProperty("symmetric-cluster"), default: true)
        noQuorumPolicy = configuration.clusterProperty("no-quorum-policy")?.lowercased() ?? "stop"
        startFailureIsFatal = truthy(configuration.clusterProperty("start-failure-is-fatal"), default: true)
        stopOrphanResources = truthy(configuration.clusterProperty("stop-orphan-resources"), default: true)
        maintenanceMode = truthy(configuration.clusterProperty("maintenance-mode"))
        startupFencing = truthy(configuration.clusterProperty("startup-fencing"), default: true)
        placementStrategy = configuration.clusterProperty("placement-strategy") ?? "default"
        haveQuorum = cib.haveQuorum
        if let ticketStates = cib.status.tickets?.states {
            for state in ticketStates { tickets[state.id] = state }
        }
    }

    func unpackNodes() {
        // Pacemaker Remote connections: each ocf:pacemaker:remote primitive is a node too.
        // Guest nodes too: a primitive with meta remote-node=NAME is the container of node NAME.
        let definitions = remoteNodeDefinitions()
        let remoteConnections = definitions.map(\.name)
        for (index, node) in cib.configuration.nodes.enumerated() {
            if let type = node.type, type != "member", type != "normal" {
                guard type == "remote", remoteConnections.contains(node.uname) || remoteConnections.contains(node.id) else { continue }
            }
            let schedulerNode = SchedulerNode(id: node.id, name: node.uname, order: index)
            schedulerNode.attributes = values(of: node.attributes.instance, in: RuleContext(node: schedulerNode, now: now))
            // Utilization sets by score, their rules (dates) evaluated like other attribute sets.
            for (name, value) in values(of: node.attributes.utilization, in: RuleContext(node: schedulerNode, now: now)) {
                schedulerNode.capacity[name] = SchedulerLimits.integer(value)
            }
            schedulerNode.attributes["#uname"] = node.uname
            schedulerNode.attributes["#id"] = node.id
            schedulerNode.attributes["#kind"] = "cluster"
            schedulerNode.attributes["#is_dc"] = cib.dcUUID == node.id ? "true" : "false"
            if node.type == "remote" {
                schedulerNode.isRemote = true
                schedulerNode.connection = remoteConnections.first { $0 == node.uname || $0 == node.id }
                schedulerNode.guestContainer = definitions.first { $0.name == schedulerNode.connection }?.container
                schedulerNode.attributes["#kind"] = schedulerNode.guestContainer == nil ? "remote" : "container"
            } else if startupFencing {
                schedulerNode.unclean = true
            }
            nodes.append(schedulerNode)
            nodesByName[node.uname] = schedulerNode
            nodesByID[node.id] = schedulerNode
        }
        for (connection, container) in definitions where nodesByName[connection] == nil {
            let node = SchedulerNode(id: connection, name: connection, order: nodes.count)
            node.isRemote = true
            node.connection = connection
            node.guestContainer = container
            node.unclean = false
            node.unseen = false
            node.attributes = ["#uname": connection, "#id": connection, "#kind": container == nil ? "remote" : "container"]
            nodes.append(node)
            nodesByName[connection] = node
            nodesByID[connection] = node
        }
    }

    func node(for state: NodeState) -> SchedulerNode? {
        if let id = state.id, let node = nodesByID[id] { return node }
        if let uname = state.uname { return nodesByName[uname] }
        return nil
    }

    /// Node states: membership, online status, uncleanliness (Pacemaker's
    /// determine_online_status with and without fencing).
    func unpackNodeStates() {
        for state in cib.status.nodeStates {
            guard let node = node(for: state), !node.isRemote else { continue }
            node.unseen = false
            node.unclean = false
            for set in state.transientAttributes?.sets ?? [] {
                for pair in set.pairs { if let value = pair.value { node.attributes[pair.name] = value } }
            }
            if let shutdown = node.attributes["shutdown"], shutdown != "0", !shutdown.isEmpty { node.shutdown = true }
            let inCluster = state.inCCM
            let crmdOnline = state.crmd?.lowercased() == "online"
            let join = state.join?.lowercased()
            let expected = state.expected?.lowercased() ?? "down"
            node.expectedUp = expected == "member"
            let terminate = truthy(node.attributes["terminate"])
            if stonithEnabled {
                if node.shutdown {
                    node.online = crmdOnline
                } else if inCluster == nil {
                    fenceNode(node, reason: "peer has not been seen by the cluster")
                } else if join == "nack" || join == "banned" {
                    fenceNode(node, reason: "peer failed Pacemaker membership criteria")
                } else if !terminate && expected == "down" {
                    if truthy(inCluster) || crmdOnline { node.standby = true; node.pending = true }
                } else if terminate && join == "down" && !truthy(inCluster) && !crmdOnline {
                    node.online = false
                } else if !truthy(inCluster) {
                    fenceNode(node, reason: "peer is no longer part of the cluster")
                } else if !crmdOnline {
                    fenceNode(node, reason: "peer process is no longer available")
                } else if terminate {
                    fenceNode(node, reason: "termination was requested")
                } else if join == "member" {
                    node.online = true
                } else if join == "pending" || join == "down" {
                    node.standby = true; node.pending = true
                } else {
                    fenceNode(node, reason: "peer was in an unknown state")
                }
            } else {
                if !truthy(inCluster) {
                    node.online = false
                } else if crmdOnline {
                    node.online = join == "member"
                } else if !node.expectedUp {
                    node.online = false
                } else {
                    fenceNode(node, reason: "peer is unexpectedly down")
                }
            }
            if truthy(node.attributes["standby"]) { node.standby = true }
            if truthy(node.attributes["maintenance"]) { node.maintenance = true }
        }
        for node in cib.configuration.nodes {
            guard let schedulerNode = nodesByName[node.uname] else { continue }
            for set in node.attributes.instance where set.rules.isEmpty {
                if truthy(set["standby"]) { schedulerNode.standby = true }
                if truthy(set["maintenance"]) { schedulerNode.maintenance = true }
            }
        }
    }

    /// no-quorum-policy=suicide once quorum was lost (the CIB says no-quorum-panic): every
    /// node of this partition fences itself. A partition that never had quorum does not.
    func applyQuorumSuicide() {
        guard stonithEnabled, !haveQuorum, noQuorumPolicy == "suicide",
              truthy(cib[attribute: "no-quorum-panic"]) else { return }
        for node in nodes where node.online && !node.unclean {
            fenceNode(node, reason: "cluster does not have quorum")
        }
    }

    /// Marks a node unclean; the first reason given is the one the fence action reports.
    func fenceNode(_ node: SchedulerNode, reason: String) {
        if !node.unclean || node.fenceReason == nil {
            node.unclean = true
            if node.fenceReason == nil { node.fenceReason = reason }
            if !fenceOrder.contains(where: { $0 === node }) { fenceOrder.append(node) }
        }
    }

    // MARK: resources

    /// rsc_defaults for a resource agent (rules may select by class, provider, type and date).
    func resourceDefaults(for primitive: Primitive? = nil) -> [String: String] {
        let context = RuleContext(resourceClass: primitive?.resourceClass, provider: primitive?.provider,
                                  type: primitive?.type, now: now)
        return values(of: cib.configuration.resourceDefaults ?? [], in: context)
    }

    func unpackResources() {
        let defaults = resourceDefaults()
        for resource in cib.configuration.resources {
            if case .other(let element) = resource, element.name == "template", let id = element["id"] {
                templates[id] = element
            }
        }
        for element in cib.configuration.extras.children where element.name == "tags" {
            for tag in element.children(named: "tag") {
                guard let id = tag["id"] else { continue }
                tags[id] = tag.children(named: "obj_ref").compactMap { $0["id"] }
            }
        }
        for resource in cib.configuration.resources {
            switch resource {
            case .primitive(let primitive):
                let built = makePrimitive(primitive, id: primitive.id, parent: nil, defaults: defaults)
                resources.append(built)
            case .group(let group):
                resources.append(makeGroup(group, id: group.id, parent: nil, suffix: "", defaults: defaults))
            case .clone(let clone):
                if let built = makeClone(clone, defaults: defaults) { resources.append(built) }
            case .other(let element):
                if element.name == "bundle", let bundle = makeBundle(element) { resources.append(bundle) }
            }
        }
        addBundleParts()
        addGuestConnections()
        for resource in allResources() { resourcesByID[resource.id] = resource }
        haveStonithResource = allPrimitives.contains { $0.primitive?.resourceClass == "stonith" }
    }

    private func metaMap(_ attributes: ResourceAttributes, primitive: Primitive? = nil) -> [String: String] {
        let context = RuleContext(resourceClass: primitive?.resourceClass, provider: primitive?.provider,
                                  type: primitive?.type, now: now)
        return values(of: attributes.meta, in: context)
    }

    private func inherit(_ resource: SchedulerResource, own: [String: String], parent: SchedulerResource?,
                         defaults: [String: String]) {
        var meta = own
        if let parent { for (key, value) in parent.meta where meta[key] == nil { meta[key] = value } }
        for (key, value) in defaults where meta[key] == nil { meta[key] = value }
        resource.meta = meta
        resource.priority = score(meta["priority"]).value
        resource.stickiness = score(meta["resource-stickiness"] ?? meta["default-resource-stickiness"]).value
        if let threshold = meta["migration-threshold"] {
            let value = score(threshold).value
            resource.migrationThreshold = value <= 0 ? Score.infinityValue : value
        }
        if let timeout = meta["failure-timeout"] {
            resource.failureTimeout = (Duration.milliseconds(parsing: timeout) ?? 0) / 1000
        }
        if let managed = meta["is-managed"] { resource.managed = isTrue(managed) }
        if maintenanceMode || truthy(meta["maintenance"]) { resource.managed = false }
    }

    private func nextOrder() -> Int {
        resourceCounter += 1
        return resourceCounter
    }

    /// A primitive with its template's class, agent, attributes and operations folded in.
    func expandTemplate(_ primitive: Primitive) -> Primitive {
        guard let name = primitive.template, let template = templates[name] else { return primitive }
        var element = primitive.xml
        for attribute in ["class", "provider", "type"] where element[attribute] == nil {
            element[attribute] = template[attribute]
        }
        element["template"] = nil
        // The primitive's own attribute sets come first, so they win over the template's.
        for child in template.children where child.name != "operations" { element.children.append(child) }
        if let operations = template.children(named: "operations").first {
            if let index = element.children.firstIndex(where: { $0.name == "operations" }) {
                let own = Set(element.children[index].children.map { "\($0["name"] ?? "")/\($0["interval"] ?? "")/\($0["role"] ?? "")" })
                element.children[index].children += operations.children.filter { !own.contains("\($0["name"] ?? "")/\($0["interval"] ?? "")/\($0["role"] ?? "")") }
            } else {
                element.children.append(operations)
            }
        }
        return (try? Primitive(xml: element)) ?? primitive
    }

    func makePrimitive(_ original: Primitive, id: String, parent: SchedulerResource?,
                       defaults: [String: String]) -> SchedulerResource {
        let primitive = expandTemplate(original)
        let resource = SchedulerResource(id: id, kind: .primitive, order: nextOrder())
        resource.template = original.template
        if primitive.resourceClass == "ocf", primitive.provider == "pacemaker", primitive.type == "remote" {
            resource.isRemoteConnection = true
        }
        let utilizationContext = RuleContext(resourceClass: primitive.resourceClass, provider: primitive.provider,
                                             type: primitive.type, now: now)
        for (name, value) in values(of: primitive.attributes.utilization, in: utilizationContext) {
            resource.utilization[name] = SchedulerLimits.integer(value)
        }
        resource.parent = parent
        resource.primitive = primitive
        inherit(resource, own: metaMap(primitive.attributes, primitive: primitive), parent: parent,
                defaults: resourceDefaults(for: primitive))
        if resource.isRemoteConnection && resource.meta["allow-migrate"] == nil { resource.meta["allow-migrate"] = "true" }
        return resource
    }

    func makeGroup(_ group: Group, id: String, parent: SchedulerResource?, suffix: String,
                   defaults: [String: String]) -> SchedulerResource {
        let resource = SchedulerResource(id: id, kind: .group, order: nextOrder())
        resource.parent = parent
        inherit(resource, own: metaMap(group.attributes), parent: parent, defaults: defaults)
        for member in group.members {
            resource.children.append(makePrimitive(member, id: member.id + suffix, parent: resource, defaults: defaults))
        }
        return resource
    }

    func makeClone(_ clone: Clone, defaults: [String: String]) -> SchedulerResource? {
        guard let child = clone.child else { return nil }
        let resource = SchedulerResource(id: clone.id, kind: .clone, order: nextOrder())
        var own = metaMap(clone.attributes)
        if own["resource-stickiness"] == nil && defaults["resource-stickiness"] == nil { own["resource-stickiness"] = "1" }
        inherit(resource, own: own, parent: nil, defaults: defaults)
        resource.promotable = clone.isPromotable
        resource.cloneMax = Int(resource.meta["clone-max"] ?? "") ?? nodes.count
        resource.cloneNodeMax = Int(resource.meta["clone-node-max"] ?? "") ?? 1
        resource.promotedMax = Int(resource.meta["promoted-max"] ?? resource.meta["master-max"] ?? "") ?? 1
        resource.promotedNodeMax = Int(resource.meta["promoted-node-max"] ?? resource.meta["master-node-max"] ?? "") ?? 1
        resource.globallyUnique = truthy(resource.meta["globally-unique"])
        var forcedAnonymous: ((Primitive) -> Bool)?
        // Only ocf and stonith agents can be globally unique: a unique clone of anything else is
        // made anonymous (native_unpack: pe__force_anon, recursive_clear_unique).
        if resource.globallyUnique {
            let primitives: [Primitive]
            switch child {
            case .primitive(let primitive): primitives = [primitive]
            case .group(let group): primitives = group.members
            }
            let canBeUnique = { (primitive: Primitive) in ["ocf", "stonith"].contains(self.expandTemplate(primitive).resourceClass?.lowercased() ?? "") }
            if !primitives.allSatisfy(canBeUnique) {
                resource.globallyUnique = false
                // pe__force_anon: one instance per node, at most as many as there are nodes
                // (clone_unpack's loop reads the lowered clone_max from its second instance on).
                resource.cloneMax = min(resource.cloneMax, nodes.count)
                forcedAnonymous = canBeUnique
            }
        }
        // Anonymous clones run at most one instance per node: crm_simulate 2.1.5 ignores a larger
        // clone-node-max for them (observed: clone-max 4, clone-node-max 2 on two nodes starts two).
        if !resource.globallyUnique { resource.cloneNodeMax = min(resource.cloneNodeMax, 1) }
        resource.interleave = truthy(resource.meta["interleave"])
        for index in 0..<min(max(resource.cloneMax, 0), max(SchedulerLimits.instancesMax, nodes.count)) { addInstance(to: resource, child: child, index: index, defaults: defaults) }
        if let canBeUnique = forcedAnonymous, case .group(let group) = child, let last = resource.children.last {
            for (member, definition) in zip(last.children, group.members) where canBeUnique(definition) { member.uniqueInAnonymousClone = true }
        }
        return resource
    }

    @discardableResult
    func addInstance(to clone: SchedulerResource, child: Clone.Child, index: Int,
                     defaults: [String: String]) -> SchedulerResource {
        let instance: SchedulerResource
        switch child {
        case .primitive(let primitive):
            instance = makePrimitive(primitive, id: "\(primitive.id):\(index)", parent: clone, defaults: defaults)
        case .group(let group):
            instance = makeGroup(group, id: "\(group.id):\(index)", parent: clone, suffix: ":\(index)", defaults: defaults)
        }
        clone.children.append(instance)
        primitivesByBaseID = nil
        return instance
    }
}
