import CIB

/// Unfencing: fence devices that "provide unfencing" (fence_scsi, fence_mpath …) must turn a
/// node "on" before resources that need it start there, and before the devices themselves
/// are probed or started there. A node that was never unfenced (no #node-unfenced attribute)
/// is unfenced as soon as any of those would run there; a node whose device definition
/// changed is unfenced again, and what needs unfencing there restarts after it.
extension WorkingSet {
    /// Pacemaker's pe_flag_enable_unfencing: some nvpair says provides=unfencing or
    /// requires=unfencing (resources, their defaults).
    func detectUnfencing() {
        func says(_ sets: [NameValueSet]) -> Bool {
            sets.contains { set in
                set.pairs.contains { pair in
                    (pair.name == "provides" || pair.name == "requires") && pair.value == "unfencing"
                }
            }
        }
        func says(_ attributes: ResourceAttributes) -> Bool {
            says(attributes.meta) || says(attributes.instance)
        }
        func says(_ primitive: Primitive) -> Bool {
            says(primitive.attributes) || (primitive.operations?.operations.contains { says($0.attributes) } ?? false)
        }
        var found = says(cib.configuration.resourceDefaults ?? []) || says(cib.configuration.operationDefaults ?? [])
        for resource in cib.configuration.resources where !found {
            switch resource {
            case .primitive(let primitive): found = says(primitive)
            case .group(let group): found = says(group.attributes) || group.members.contains(where: says)
            case .clone(let clone):
                found = says(clone.attributes)
                switch clone.child {
                case .primitive(let primitive)?: found = found || says(primitive)
                case .group(let group)?: found = found || says(group.attributes) || group.members.contains(where: says)
                case nil: break
                }
            case .other(let element):
                func search(_ element: XMLElement) -> Bool {
                    if element.name == "nvpair", element["name"] == "provides" || element["name"] == "requires",
                       element["value"] == "unfencing" { return true }
                    return element.children.contains(where: search)
                }
                found = search(element)
            }
        }
        unfencingEnabled = found
    }

    func isFenceDevice(_ resource: SchedulerResource) -> Bool {
        resource.kind == .primitive && resource.primitive?.resourceClass == "stonith"
    }

    /// requires=unfencing, set or implied (the default when unfencing is in use). Fence devices
    /// and remote connections never require it; without fencing nothing does.
    func needsUnfencing(_ resource: SchedulerResource) -> Bool {
        guard resource.kind == .primitive, stonithEnabled, !isFenceDevice(resource), !resource.isRemoteConnection else { return false }
        if let requires = resource.meta["requires"]?.lowercased() { return requires == "unfencing" }
        return unfencingEnabled
    }

    /// Fence devices (when unfencing is in use) and resources requiring unfencing wait for it.
    private func waitsForUnfencing(_ resource: SchedulerResource) -> Bool {
        (isFenceDevice(resource) && unfencingEnabled) || needsUnfencing(resource)
    }

    /// The node was unfenced already (#node-unfenced set, and not "0").
    func wasUnfenced(_ node: SchedulerNode) -> Bool {
        guard let value = node.attributes["#node-unfenced"] else { return false }
        return value != "0"
    }

    /// The unfencing action of a node, created (optional) on first use.
    @discardableResult
    func unfenceAction(for node: SchedulerNode) -> Int {
        if let existing = unfenceActionsByNode[node.name] { return existing }
        let id = addAction(nil, "stonith", node, optional: true)
        unfenceActions.append(id)
        unfenceActionsByNode[node.name] = id
        return id
    }

    /// Requires unfencing of the node (Pacemaker's pe_fence_op with optional false): the first
    /// reason given is the one reported.
    private func requireUnfencing(_ node: SchedulerNode, reason: String) {
        let id = unfenceAction(for: node)
        if canFence(node) { actions[id].optional = false }
        if actions[id].fenceReason == nil { actions[id].fenceReason = reason }
    }

    /// Pacemaker's trigger_unfencing: with a resource, only for fence devices; the node when it
    /// can take it, otherwise every such node the device may run on.
    func triggerUnfencing(_ resource: SchedulerResource?, node: SchedulerNode?, reason: String) {
        guard unfencingEnabled else { return }
        if let resource, !isFenceDevice(resource) { return }
        if let node, node.online && !node.unclean && !node.shutdown {
            requireUnfencing(node, reason: reason)
        } else if let resource {
            for node in nodes where resource.allowed[node.name] != nil && node.online && !node.unclean && !node.shutdown {
                requireUnfencing(node, reason: reason)
            }
        }
    }

    /// Resources that require unfencing wait for it on every node they may run on (created
    /// before the configuration checks, as Pacemaker creates them with its internal constraints).
    func createUnfencingForRequirers() {
        guard unfencingEnabled else { return }
        // Allowed nodes by name, as Pacemaker sorts them for this (unmanaged resources skipped).
        let byName = nodes.filter { !$0.isRemote }.sorted { $0.name < $1.name }
        for resource in allPrimitives where needsUnfencing(resource) && resource.managed {
            for node in byName where resource.allowed[node.name] != nil { unfenceAction(for: node) }
        }
    }

    /// After the actions exist: probes and starts of what waits for unfencing on a node never
    /// unfenced require it, and those starts are ordered after it (a required unfencing
    /// restarts what requires unfencing there).
    func scheduleUnfencing() {
        guard unfencingEnabled else { return }
        // Probes, node by node (by name, as Pacemaker lists nodes), resource by resource.
        if truthy(cib.configuration.clusterProperty("enable-startup-probes"), default: true) {
            for node in nodes.sorted(by: { $0.name < $1.name }) where node.online && !node.unclean && !node.isRemote {
                for resource in probedPrimitives(on: node) where waitsForUnfencing(resource) {
                    unfenceAction(for: node)
                    if !wasUnfenced(node) { triggerUnfencing(nil, node: node, reason: "required by \(resource.id) monitor") }
                }
            }
        }
        // Starts: a fresh start (or a required restart) on a node never unfenced requires it,
        // and waits for it; what requires unfencing waits for it wherever it starts.
        for resource in allPrimitives where waitsForUnfencing(resource) && resource.managed {
            for start in findActions(resource, "start") {
                guard let node = actions[start].node, !node.isRemote else { continue }
                let fresh = !resource.runningOn.contains { $0 === node } || !actions[start].optional
                if fresh {
                    unfenceAction(for: node)
                    if !wasUnfenced(node) { triggerUnfencing(nil, node: node, reason: "required by \(resource.id) start") }
                }
                guard fresh || needsUnfencing(resource), let unfence = unfenceActionsByNode[node.name] else { continue }
                order(unfence, start, [.impliesThen, .reasonFromTask])
            }
        }
    }

    /// The primitives Pacemaker would probe on a node, in resource order: those with no
    /// history there (an anonymous clone is probed once, through its instance on the node or
    /// its first), none in a container, no orphans.
    private func probedPrimitives(on node: SchedulerNode) -> [SchedulerResource] {
        var result: [SchedulerResource] = []
        func known(_ resource: SchedulerResource) -> Bool {
            if resource.historyNodes.contains(where: { $0 === node }) { return true }
            if let clone = resource.cloneParent, !clone.globallyUnique, resource.parent === clone {
                return clone.primitives.contains { $0.historyNodes.contains { $0 === node } }
            }
            return false
        }
        func walk(_ resource: SchedulerResource) {
            switch resource.kind {
            case .primitive:
                guard !resource.orphan, container(of: resource) == nil, !known(resource) else { return }
                result.append(resource)
            case .group:
                resource.children.forEach(walk)
            case .clone:
                if resource.globallyUnique {
                    resource.children.forEach(walk)
                } else if let instance = resource.children.first(where: { $0.primitives.contains { $0.runningOn.contains { $0 === node } } })
                            ?? resource.children.first {
                    walk(instance)
                }
            }
        }
        resources.forEach(walk)
        return result
    }
}
