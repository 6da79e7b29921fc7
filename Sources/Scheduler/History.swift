import CIB

/// What one resource's operation history on one node says (Pacemaker's unpack_rsc_op).
struct HistoryState {
    var role: Role = .unknown
    var failed = false
    var onFail: String?
    var banHere = false
    var banEverywhere = false
    var pendingTask: String?
    var lastFailure: LRMOperation?
    var failureIgnored = false
    /// A contained resource's stop failed: its container must restart.
    var containerRestart = false
    /// The start that the resource's current activity on this node comes from.
    var activeStart: LRMOperation?
    /// Other nodes a migration recorded here shows the resource active on (MigrationHistory.swift).
    var alsoActiveOn: [String] = []
    /// A migration away from this node completed without the stop here (a dangling migration).
    var danglingMigration = false
    /// A migration from this node to that one is half done (migrate_to only).
    var partialMigrationTarget: String?
}

extension WorkingSet {
    func unpackStatus() {
        // Map lrm_resource ids of cloned primitives to their clone.
        var cloneOfTemplate: [String: SchedulerResource] = [:]
        for clone in resources where clone.kind == .clone {
            guard case .clone(let config)? = cib.configuration.resources.first(where: { $0.id == clone.id }) else { continue }
            switch config.child {
            case .primitive(let primitive)?: cloneOfTemplate[primitive.id] = clone
            case .group(let group)?: for member in group.members { cloneOfTemplate[member.id] = clone }
            case nil: break
            }
        }
        for (childID, clone) in bundleChildClones { cloneOfTemplate[childID] = clone }
        // Cluster nodes first: remote nodes are up only if their connection resource runs.
        let clusterStates = cib.status.nodeStates.filter { node(for: $0).map { !$0.isRemote } ?? false }
        for state in clusterStates { unpackHistory(state, cloneOfTemplate: cloneOfTemplate) }
        // (An orphaned connection found in the cluster nodes' histories makes a remote node too.)
        let remoteStates = cib.status.nodeStates.filter { node(for: $0)?.isRemote ?? false }
        unpackRemoteStatus(remoteStates) { unpackHistory($0, cloneOfTemplate: cloneOfTemplate) }
    }

    /// Histories of inactive resources matter to shutdown locks only.
    private var keepAllHistories: Bool { truthy(cib.configuration.clusterProperty("shutdown-lock")) }

    private func unpackHistory(_ state: NodeState, cloneOfTemplate: [String: SchedulerResource]) {
        do {
            guard let node = node(for: state) else { return }
            // Without fencing, only the history of online cluster nodes counts (Pacemaker's
            // unpack_node_history; remote nodes are unpacked once their connection is known).
            guard node.online || stonithEnabled || node.isRemote else { return }
            guard let lrmResources = state.lrm?.resources else { return }
            let keepAll = keepAllHistories
            for index in lrmResources.indices {
                // Read in place: an lrm_resource is not copied (there is one per resource and node).
                let id = lrmResources[index].id
                let direct = resourcesByID[id]
                let history = evaluateHistory(id: id, operations: lrmResources[index].operations, node: node, configured: direct)
                let resource: SchedulerResource?
                if let direct, direct.kind == .primitive, !direct.isCloneInstance || direct.parent?.isBundle == true {
                    resource = direct
                } else if let clone = cloneOfTemplate[baseName(id)] {
                    resource = instanceFor(clone: clone, lrmID: id, node: node, active: history.role > .stopped)
                        // An instance number a globally unique clone no longer has (clone-max
                        // lowered) is an orphan of its own, stopped (Pacemaker's
                        // process_orphan_resource: no anonymous instance stands in for it).
                        ?? (clone.globallyUnique && clone.parent == nil && (history.role > .stopped || !lrmResources[index].operations.isEmpty)
                            ? makeOrphan(lrmResources[index]) : nil)
                } else {
                    resource = history.role > .stopped || !lrmResources[index].operations.isEmpty ? makeOrphan(lrmResources[index]) : nil
                }
                guard let resource else { continue }
                apply(history, to: resource, on: node, historyID: id)
                // Kept for the configuration checks (active resources; fence devices when
                // unfencing is in use), shutdown locks, and fail counts (cleared with a history
                // recorded for another agent).
                let entry = lrmResources[index]
                let otherAgent = resource.primitive.map { primitive in
                    primitive.resourceClass != entry.resourceClass || primitive.provider != entry.provider
                        || primitive.type != entry.type
                } ?? false
                // (A recorded last failure too: its parameters may have changed since, which
                // clears its fail count.)
                if history.role > .stopped || keepAll || otherAgent
                    || (unfencingEnabled && resource.primitive?.resourceClass == "stonith")
                    || entry.operations.contains(where: { $0.id.hasSuffix("_last_failure_0") }) {
                    resource.histories[node.name] = lrmResources[index]
                }
            }
        }
    }

    private func baseName(_ id: String) -> String {
        guard let colon = id.lastIndex(of: ":"), Int(id[id.index(after: colon)...]) != nil else { return id }
        return String(id[..<colon])
    }

    /// Which instance of a clone an lrm_resource entry belongs to (Pacemaker's find_anonymous_clone).
    private func instanceFor(clone: SchedulerResource, lrmID: String, node: SchedulerNode, active: Bool) -> SchedulerResource? {
        let base = baseName(lrmID)
        func member(of instance: SchedulerResource) -> SchedulerResource? {
            instance.primitives.first { $0.baseID == base }
        }
        // A bundle's instance is the one of the replica whose guest node this is.
        if let pinned = bundleInstance(clone, on: node) { return member(of: pinned) }
        if clone.globallyUnique {
            if let exact = allResources().first(where: { $0.id == lrmID && $0.cloneParent === clone }) { return exact }
            if lrmID == base, let first = clone.children.first { return member(of: first) }
            return nil
        }
        // Pacemaker's find_anonymous_clone: the instance active on this node, else the first
        // instance active nowhere; a second history of the same member on one node is an orphan.
        var inactive: SchedulerResource?
        var skipInactive = false
        for instance in clone.children {
            let locations = instance.primitives.flatMap(\.runningOn)
            if !locations.isEmpty {
                guard locations.contains(where: { $0 === node }), let found = member(of: instance) else { continue }
                if !found.runningOn.isEmpty {
                    skipInactive = true
                    continue
                }
                return found
            } else if !skipInactive && inactive == nil && !instance.primitives.contains(where: \.blocked) {
                inactive = member(of: instance)
            }
        }
        // An instance that does not need fencing, found active on a node that is down or
        // unclean, does not use up an instance number: it is an orphan.
        let requires = clone.meta["requires"]?.lowercased() ?? (clone.primitives.first?.meta["requires"]?.lowercased())
        let needsFencing = requires.map { $0 == "fencing" || $0 == "unfencing" } ?? stonithEnabled
        let universal = clone.cloneMax >= nodes.filter { !$0.isRemote }.count
        if !skipInactive, let inactive, needsFencing || universal || (node.online && !node.unclean) { return inactive }
        guard case .clone(let cloneConfig)? = cib.configuration.resources.first(where: { $0.id == clone.id }),
              let child = cloneConfig.child else { return nil }
        let instance = addInstance(to: clone, child: child, index: clone.children.count, defaults: resourceDefaults())
        for resource in [instance] + instance.children { resourcesByID[resource.id] = resource; resource.orphan = true }
        return member(of: instance)
    }

    private func makeOrphan(_ lrmResource: LRMResource) -> SchedulerResource {
        let resource = SchedulerResource(id: lrmResource.id, kind: .primitive, order: 1_000_000 + resources.count)
        resource.primitive = try? Primitive(xml: XMLElement(name: "primitive", attributes: [
            .init(name: "id", value: lrmResource.id),
            .init(name: "class", value: lrmResource.resourceClass ?? "ocf"),
            .init(name: "type", value: lrmResource.type ?? "unknown"),
        ] + (lrmResource.provider.map { [XMLElement.Attribute(name: "provider", value: $0)] } ?? [])))
        resource.orphan = true
        resource.managed = stopOrphanResources
        let defaults = resourceDefaults()
        resource.meta = defaults
        resource.stickiness = score(defaults["resource-stickiness"]).value
        resources.append(resource)
        resourcesByID[resource.id] = resource
        adoptOrphanConnection(resource, lrmResource)
        return resource
    }

    private func apply(_ history: HistoryState, to resource: SchedulerResource, on node: SchedulerNode,
                       historyID: String) {
        resource.historyNodes.append(node)
        if history.role > .stopped || resource.historyName == nil { resource.historyName = historyID }
        if history.failureIgnored { resource.failureIgnored = true }
        if history.containerRestart, let container = container(of: resource) { container.restartRequired = true }
        // Hard errors keep the resource off the node: for an anonymous clone, every instance.
        if history.banHere {
            let target = (resource.cloneParent.map { $0.globallyUnique ? resource : $0 }) ?? resource
            if target === resource { resource.allowed[node.name] = .minusInfinity }
            banned(target, node)
        }
        if history.banEverywhere { for node in nodes { banned(resource, node) } }
        // A migration recorded here can show it active on its other node (added first, as
        // Pacemaker adds it while reading this node's history).
        if history.danglingMigration { resource.migrationBlocked = true }
        if let target = history.partialMigrationTarget { resource.partialMigrationTarget = nodesByName[target] }
        for name in history.alsoActiveOn {
            guard let other = nodesByName[name], !resource.runningOn.contains(where: { $0 === other }) else { continue }
            resource.runningOn.append(other)
            if resource.roleOnNode[name] == nil { resource.roleOnNode[name] = .started }
            if resource.role < .started { resource.role = .started }
            // Stopped here after the failed migration: Pacemaker's role for it ends Stopped
            // although it counts as active on the target.
            if history.role <= .stopped { resource.stoppedButActive = true }
        }
        let role = history.role == .unknown ? Role.stopped : history.role
        if role <= .stopped && history.failed && resource.isRemoteConnection {
            // A stopped connection still failed (waiting out its reconnect interval).
            resource.failed = true
            remoteConnectionFailed(resource, lastFailure: history.lastFailure)
        }
        guard role > .stopped else { return }
        resource.stoppedButActive = false
        // Resources active on a node in maintenance are left alone.
        if node.maintenance { resource.managed = false }
        resource.roleOnNode[node.name] = role
        if let start = history.activeStart { resource.activeStarts[node.name] = start }
        if !resource.runningOn.contains(where: { $0 === node }) { resource.runningOn.append(node) }
        if role > resource.role { resource.role = role }
        let wasUnclean = node.unclean
        if !node.online && !node.maintenance && resource.managed {
            if node.isRemote {
                activeOnOfflineRemote(resource, node)
            } else {
                fenceNode(node, reason: "\(resource.id) is thought to be active there")
            }
        }
        if history.failed && resource.isRemoteConnection { remoteConnectionFailed(resource, lastFailure: history.lastFailure) }
        // On a node that will be fenced anyway, a failure needs no handling of its own.
        if history.failed && !(wasUnclean && stonithEnabled && haveStonithResource) {
            switch history.onFail ?? "restart" {
            case "ignore":
                break
            case "block":
                resource.failed = true
                resource.managed = false
                resource.blocked = true
            case "stop":
                resource.failed = true
                resource.nextRole = .stopped
                for node in nodes { banned(resource, node) }
            case "fence":
                resource.failed = true
                // A remote or guest node is "fenced" as pe_fence_node does it: a guest by
                // recovering its container (bug-rh-1097457).
                if node.isRemote {
                    fenceRemote(node, reason: "\(resource.id) failed there")
                } else {
                    fenceNode(node, reason: "\(resource.id) failed there")
                }
                // A node that cannot be fenced keeps it: nothing can be done about it there.
                if !canFence(node) {
                    resource.managed = false
                    resource.blocked = true
                }
            case "standby":
                resource.failed = true
                node.standby = true
            case "demote":
                // Demote instead of recovering (promoted again where it stays promoted).
                if role == .promoted { resource.demoteRecovery = true } else { resource.failed = true }
            default:
                resource.failed = true
                // A failure inside a container restarts the container (on-fail=restart-container).
                if let container = container(of: resource) { container.restartRequired = true }
            }
        }
    }

    /// Extra -INFINITY locations decided while unpacking (hard errors), kept apart from the
    /// allowed-node table that constraints fill later.
    private func banned(_ resource: SchedulerResource, _ node: SchedulerNode) {
        bans.append((resource, node))
    }

    /// Replays an operation history in call order.
    /// `configured` is the resource of the history's id, when there is one (the caller has
    /// looked it up already).
    func evaluateHistory(id: String, operations recorded: [LRMOperation], node: SchedulerNode,
                         configured direct: SchedulerResource?) -> HistoryState {
        let resourceSettings = direct ?? firstPrimitive(withBaseID: baseName(id))
        /// Call order of the operations at two positions (fields read in place, no copies).
        func callOrder(_ recorded: [LRMOperation], _ lhs: Int, _ rhs: Int) -> Bool {
            // Pending operations (call-id -1) are the newest.
            let left = recorded[lhs].callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max
            let right = recorded[rhs].callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max
            if left != right { return left < right }
            // The same call recorded twice (the last result and the last failure): older first.
            let leftChange = recorded[lhs].lastRCChange ?? -1, rightChange = recorded[rhs].lastRCChange ?? -1
            if leftChange >= 0 && rightChange >= 0 && leftChange != rightChange { return leftChange < rightChange }
            return lhs < rhs
        }
        // Histories are usually recorded in call order already: then the (stable) sort would
        // leave them as they are, and is skipped.
        var inOrder = true
        for index in recorded.indices.dropFirst() where callOrder(recorded, index, index - 1) {
            inOrder = false
            break
        }
        let operations = inOrder ? recorded : recorded.indices.sorted { callOrder(recorded, $0, $1) }.map { recorded[$0] }
        // Every operation counts, in call order (Pacemaker's unpack_lrm_resource): a failure
        // before the last start stays decided unless something since cleared it.
        var state = HistoryState()
        for index in operations.indices {
            // Fields read in place (copying the whole operation costs more than replaying it).
            let task = operations[index].operation
            let interval = operations[index].interval
            switch task {
            case "notify", "meta-data", "reload", "reload-agent", "cancel": continue
            default: break
            }
            let isProbe = task == "monitor" && interval == 0
            let status = operations[index].opStatus ?? 0
            if status == -1 || operations[index].callID == -1 || operations[index].rcCode == nil {
                // Pending: the action is in flight.
                state.pendingTask = task
                switch task {
                case "start", "migrate_from": state.role = max(state.role, .started)
                case "promote": state.role = .promoted
                default: break
                }
                continue
            }
            if status == 1 { continue }  // cancelled
            // Degraded results count as their healthy counterparts.
            var rc = operations[index].rcCode ?? 0
            if rc == 190 { rc = 0 } else if rc == 191 { rc = 8 }
            let expected = expectedRC(operations[index].transitionKey)
            // Expired failures are forgotten.
            if let settings = resourceSettings, settings.failureTimeout > 0, let now,
               rc != expected, !(isProbe && (rc == 7 || rc == 0 || rc == 8)),   // (a probe finding it active is no failure)
               let changed = operations[index].lastRCChange ?? operations[index].lastRun,
               changed.addingSaturated(settings.failureTimeout) <= now {
                continue
            }
            var success: Bool
            var hard = false, fatal = false
            // "Error" results are judged by their rc like completed ones.
            if status == 0 || status == 4 {
                // An error result (1 to 6) is an error even when it was the one expected
                // (Pacemaker's determine_op_status).
                if rc == expected && (rc == 0 || rc == 7 || rc == 8) {
                    success = true
                } else if isProbe && (rc == 7 || rc == 0 || rc == 8) {
                    success = true
                } else if task == "stop" && rc == 7 {
                    success = true
                } else {
                    success = false
                    switch rc {
                    case 3 where interval > 0: break   // recurring action not supported: soft
                    case 2, 3, 4, 5: hard = true
                    case 6: fatal = true
                    default: break
                    }
                }
            } else {
                success = false
                switch status {
                case 3, 5, 7: hard = true   // not supported, not installed, invalid
                default: break
                }
                if rc == 5 || rc == 2 || rc == 4 { hard = true }
            }
            if success {
                // Later success clears earlier failures that only asked for a restart (or block,
                // demote, ignore); stop, fence and standby stay decided.
                let sameAsFailure = task == state.lastFailure?.operation && interval == state.lastFailure?.interval
                // Switches, not array literals: an array made per successful operation was a
                // measurable part of reading a big status section.
                let clearsFailure: Bool
                switch task {
                case _ where rc == 7: clearsFailure = true   // "not running", as expected
                case "start", "migrate_from", "promote": clearsFailure = true
                // A demote clears an earlier failure only when that failure asked for a demote.
                case "demote": clearsFailure = state.onFail == "demote"
                case "monitor": clearsFailure = sameAsFailure
                default: clearsFailure = false
                }
                if clearsFailure, let onFail = state.onFail, Self.isRecoverable(onFail) {
                    state.failed = false
                    state.onFail = nil
                }
                // Any operation that was expected to find the resource not running (and did)
                // leaves it stopped, whatever the task (Pacemaker's update_resource_state).
                if rc == 7 && task != "stop" {
                    state.role = .stopped
                    continue
                }
                switch task {
                case "start", "migrate_from":
                    state.role = .started
                    state.activeStart = operations[index]
                case "stop":
                    state.role = .stopped
                    // A remote connection waiting out its reconnect interval stays failed.
                    if !(state.failed && resourceSettings.map({ keepsRemoteFailure($0, state.lastFailure) }) ?? false) {
                        state.failed = false
                        state.onFail = nil
                    }
                case "promote": state.role = .promoted
                case "demote": state.role = .unpromoted
                case "migrate_to":
                    state.role = max(state.role, .started)
                    migrateToSucceeded(operations[index], resourceID: id, node: node, state: &state)
                case "monitor":
                    if rc == 7 { state.role = .stopped }
                    else if rc == 8 { state.role = .promoted }
                    else if rc == 0 {
                        if state.role <= .stopped || state.role == .promoted && !isProbe { state.role = state.role == .promoted ? .promoted : .started }
                        if isProbe { state.role = .started }
                    }
                default: break
                }
                continue
            }
            // A failure.
            if isProbe && rc == 5 {
                // Not installed: not running here, and never will be.
                state.banHere = true
                continue
            }
            // The configuration (looked up only here: a failure's on-fail is all it is needed for).
            let primitiveConfig = direct?.primitive ?? firstPrimitive(withBaseID: baseName(id))?.primitive
            var onFail = configuredOnFail(primitiveConfig, task: task, interval: interval)
            // A missing agent cannot be ignored: recovered elsewhere (it is banned from here).
            if onFail == "ignore" && status == 7 { onFail = "restart" }
            if onFail == "ignore" {
                state.failureIgnored = true
                if task == "start" || task == "migrate_from" { state.role = .started }
                continue
            }
            state.failed = true
            state.onFail = onFail
            state.lastFailure = operations[index]
            let contained = resourceSettings.map { container(of: $0) != nil } ?? false
            if hard { state.banHere = true }
            if task == "stop" && !contained { state.banHere = true }
            if fatal { state.banEverywhere = true }
            if contained && task == "stop" {
                // Restarting the container stops it for good.
                state.role = .stopped
                state.containerRestart = true
                continue
            }
            switch task {
            case "promote": state.role = .promoted
            case "demote":
                // A failed demote leaves it unpromoted (it will be recovered), unless blocked.
                state.role = onFail == "block" ? .promoted : .unpromoted
            case "monitor":
                if rc == 9 { state.role = .promoted }
                else if rc == 8 { state.role = .promoted }
                else if state.role <= .stopped { state.role = .started }
            default:
                if state.role <= .stopped { state.role = .started }
            }
            if task == "migrate_to" {
                migrateToFailed(operations[index], resourceID: id, node: node, state: &state)
            } else if task == "migrate_from" {
                migrateFromFailed(operations[index], resourceID: id, node: node, state: &state)
            }
        }
        return state
    }

    /// On-fail policies that a later success of the operation clears.
    private static func isRecoverable(_ onFail: String) -> Bool {
        switch onFail {
        case "block", "ignore", "demote", "restart", "recover": return true
        default: return false
        }
    }

    /// The rc the operation was expected to return: the third field of its transition key
    /// ("action:transition:rc:uuid").
    private func expectedRC(_ transitionKey: String?) -> Int {
        guard let key = transitionKey else { return 0 }
        // Fields as `split(separator: ":")` gives them (empty fields dropped).
        var field = 0
        var start = key.utf8.startIndex
        var index = start
        let colon = UInt8(ascii: ":")
        let utf8 = key.utf8
        while true {
            let atEnd = index == utf8.endIndex
            if atEnd || utf8[index] == colon {
                if index > start {
                    if field == 2 { return Self.decimal(utf8[start..<index]) ?? Int(Substring(utf8[start..<index])) ?? 0 }
                    field += 1
                }
                if atEnd { return 0 }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
    }

    /// A field of at most 18 plain digits (the usual expected rc), read without making a
    /// Substring and going through the general integer parser: the same value as `Int(…)`.
    /// Nil for anything else (a sign, spaces, too long), which the caller parses as before.
    @inline(__always) private static func decimal(_ digits: Substring.UTF8View) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// The first primitive (in resource order) whose id without instance number is `base`;
    /// the table is rebuilt after resources are added.
    func firstPrimitive(withBaseID base: String) -> SchedulerResource? {
        if primitivesByBaseID == nil {
            var table: [String: SchedulerResource] = [:]
            for primitive in allPrimitives where table[primitive.baseID] == nil { table[primitive.baseID] = primitive }
            primitivesByBaseID = table
        }
        return primitivesByBaseID?[base]
    }

    private func configuredOnFail(_ primitive: Primitive?, task: String, interval: Int) -> String {
        let configured = primitive?.operations?.operations.first {
            $0.name == task && $0.intervalMilliseconds == interval
        }?.onFail?.lowercased()
        if let configured { return configured }
        if task == "stop" { return stonithEnabled && haveStonithResource ? "fence" : "block" }
        return "restart"
    }
}
