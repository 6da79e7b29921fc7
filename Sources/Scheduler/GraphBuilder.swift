import CIB

/// Builds the `TransitionGraph` from a working set whose actions are decided (after the
/// summary): the graph-only actions Pacemaker adds (probes, recurring monitors, the
/// migrate_to / migrate_from pair of a live migration), each action's attributes, and the
/// inputs (pcmk_graph_producer.c, pcmk_sched_probes.c, pcmk_sched_recurring.c).
///
/// What is kept (should_add_action_to_graph): runnable and required actions; for unmanaged
/// resources only monitors; resource operations only on nodes that are online and clean.
/// An input is kept when its action is in the graph.
struct TransitionGraphBuilder {
    let set: WorkingSet
    /// Graph-only detail of actions (indexes into `set.actions`).
    /// (Internal, not private: Notifications.swift adds to these.)
    var intervals: [Int: Int] = [:]
    private var targetRCs: [Int: Int] = [:]
    var extraMeta: [Int: [String: String]] = [:]
    /// The configured operation of an action (name + interval), when there is one.
    private var definitions: [Int: Operation] = [:]
    /// Orderings only the graph needs (first, then).
    var graphOrderings: [(first: Int, then: Int)] = []
    /// Notification actions: the type and operation their key names (CLONE_pre_notify_start_0).
    var notificationKeys: [Int: (type: String, operation: String)] = [:]
    /// Synapse priorities above the resource's (post-notifications: INFINITY).
    var actionPriorities: [Int: Int] = [:]
    /// A notify=true clone's start, running, stop, stopped, … : the confirmed-post
    /// pseudo-event that orderings from other resources wait for instead.
    var notificationRemaps: [Int: Int] = [:]
    /// Resources whose start is replaced by migrate_to + migrate_from (the start a pseudo-event).
    private var migratedStarts: Set<Int> = []
    /// Orderings that hold only between actions on the same node, and only when the first
    /// is required (Pacemaker's anti-colocation orderings).
    private var sameNodeOrderings: [(first: Int, then: Int)] = []
    /// The probes of each primitive (by object identity).
    private var probesByResource: [ObjectIdentifier: [Int]] = [:]
    /// Cancellations: the task they cancel and the call id of the recurring operation.
    private var cancelledTasks: [Int: (task: String, callID: Int?)] = [:]
    /// Pacemaker's pe_order_load orderings (placement strategies): kept only between actions
    /// of the same node, and only when the first is required; a load_stopped -> migrate_to
    /// one counts the resource's target node and is dropped when it would close a loop.
    private var loadOrderings: [(first: Int, then: Int)] = []

    /// Every (first, then) pair of the working set's orderings, for `reachesThroughParent`.
    private var orderingPairs: Set<ActionPair> = []
    struct ActionPair: Hashable { let first: Int; let then: Int }

    init(set: WorkingSet) { self.set = set }

    mutating func build() -> TransitionGraph {
        let firstGraphOnly = set.actions.count
        orderingPairs = Set(set.orderings.map { ActionPair(first: $0.first, then: $0.then) })
        addProbes()
        addRecurringMonitors()
        addStoppedRoleMonitors()
        addOrphanedOperationCancels()
        addOrphanCleanups()
        addFailcountClears()
        addMigrations()
        addLoadOrderings()
        addShutdownOrderings()
        graphOrderings += set.interleavedCloneOrderings
        requireCollectiveEntries()
        addCollectiveOrderings()
        // Pacemaker's pcmk__order_probes: restart orderings from the probes' own orderings
        // first, the probe-before-stop orderings after (they are not followed).
        addRestartOrderingsForProbes()
        addProbeOrderingsForStops()
        addAntiColocationOrderings()
        addFencingOrderings()
        addStopOrderingsForFencing()
        addFencingChain()
        addNotifications()
        precondition(set.actions.count >= firstGraphOnly, "graph actions were removed while building the graph")
        return assemble()
    }

    // MARK: probes

    /// Pacemaker's pcmk__schedule_probes: on every online, clean node, each primitive whose
    /// state there is unknown (no history), unless orphaned, inside a container or kept off
    /// the node by resource-discovery; one instance per node for anonymous clones.
    private mutating func addProbes() {
        guard truthy(set.cib.configuration.clusterProperty("enable-startup-probes"), default: true) else { return }
        for node in set.nodes where node.online && !node.unclean && !node.pending {
            for resource in set.resources { probe(resource, on: node) }
        }
    }

    private mutating func probe(_ resource: SchedulerResource, on node: SchedulerNode) {
        if node.isRemote || node.guestContainer != nil {
            if resource.primitive?.resourceClass == "stonith" || resource.isRemoteConnection { return }
        }
        switch resource.kind {
        case .group:
            for child in resource.children { probe(child, on: node) }
        case .clone:
            if resource.globallyUnique || resource.isBundle {
                for child in resource.children { probe(child, on: node) }
                return
            }
            // Anonymous: nothing when an instance was seen here; else the instance placed
            // here, else the first.
            if resource.children.contains(where: { instance in instance.primitives.contains { known($0, on: node) } }) { return }
            let placed = resource.children.first { $0.allocatedTo === node } ?? resource.children.first
            if let placed { probe(placed, on: node) }
        case .primitive:
            guard let primitive = resource.primitive, !resource.orphan, !resource.generated,
                  set.container(of: resource) == nil || resource.isRemoteConnection,
                  !known(resource, on: node) else { return }
            if let exclusive = resource.exclusiveDiscoveryNodes, !exclusive.contains(node.name) { return }
            if resource.allowed[node.name] == .minusInfinity, resource.meta["resource-discovery-never"] != nil { return }
            _ = primitive
            let probe = set.addAction(resource, "monitor", node, optional: false)
            probesByResource[ObjectIdentifier(resource), default: []].append(probe)
            intervals[probe] = 0
            if !resource.runningOn.contains(where: { $0 === node }) {
                targetRCs[probe] = 7
            } else if resource.roleOnNode[node.name] == .promoted {
                targetRCs[probe] = 8
            }
            // Probe, then start: the resource's own start, or its clone's.
            let top = resource.top
            let startOwner = top.kind == .clone && !(primitive.resourceClass == "stonith" && set.unfencingEnabled) ? top : resource
            if let start = set.findAction(startOwner, "start") { graphOrderings.append((probe, start)) }
        }
    }

    private func known(_ resource: SchedulerResource, on node: SchedulerNode) -> Bool {
        resource.historyNodes.contains { $0 === node }
    }

    // MARK: recurring monitors

    /// Pacemaker's recurring-operation rule: a monitor of the role the resource ends in,
    /// on the node it ends on, required when the start (or promote) is, or when the history
    /// shows no such monitor running there.
    ///
    /// pcmk__create_recurring_actions: none for a blocked resource or one in maintenance, nor
    /// on a node in maintenance; an unmanaged resource keeps the monitors of the role it has
    /// where it is.
    private mutating func addRecurringMonitors() {
        for resource in set.allPrimitives where !resource.blocked && !inMaintenance(resource) {
            let unmanagedNode = resource.managed ? nil : resource.runningOn.first
            guard let primitive = resource.primitive, let node = unmanagedNode ?? resource.allocatedTo, !node.maintenance,
                  let operations = primitive.operations?.operations else { continue }
            let nextRole = unmanagedNode != nil ? (resource.roleOnNode[node.name] ?? resource.role) : (resource.nextRole ?? .stopped)
            guard nextRole >= .started, let start = set.findAction(resource, "start", node: node) else { continue }
            // Pacemaker creates the recurring actions with the start as it is then: one that
            // could not run was created optional (even if a stop makes it required later), so
            // a running monitor of the role the resource leaves is still cancelled.
            let unrunnableAtCreation = set.startsUnrunnableAtCreation.contains(start)
            // A start that orderings made unrunnable later was runnable then, and required
            // only if it was so at creation.
            let unrunnableLater = !set.actions[start].runnable && !unrunnableAtCreation
            let startRequired = unrunnableLater ? set.startsRequiredAtCreation.contains(start)
                : !unrunnableAtCreation && !set.actions[start].optional
            let promote = set.findAction(resource, "promote", node: node)
            let demote = set.findAction(resource, "demote", node: node)
            // Two monitors with the same interval are a configuration error: Pacemaker
            // schedules neither (is_op_dup).
            var definitionsByInterval: [Int: Int] = [:]
            for operation in operations where operation.name == "monitor" { definitionsByInterval[operation.intervalMilliseconds, default: 0] += 1 }
            for operation in operations where operation.name == "monitor" && truthy(operation.enabled, default: true) {
                let interval = operation.intervalMilliseconds
                guard interval > 0, definitionsByInterval[interval] == 1 else { continue }
                let role = Role(parsing: operation.role)
                let isPromotedMonitor = role == .promoted
                if role == .stopped { continue }
                let endsPromoted = nextRole == .promoted
                let running = historyShowsMonitor(resource, interval: interval, on: node)
                if isPromotedMonitor != endsPromoted {
                    // recurring_op_for_active: a monitor of another role that runs (and the
                    // resource stays) is cancelled before the role changes.
                    if !startRequired && running { cancelForRoleChange(resource, operation, on: node) }
                    continue
                }
                // (A monitor after a start that cannot run cannot run either.)
                guard set.actions[start].runnable else { continue }
                if let role, role == .started, resource.cloneParent?.promotable == true { continue }
                var required = startRequired || !running
                if isPromotedMonitor, let promote, !set.actions[promote].optional { required = true }
                if !isPromotedMonitor, let demote, !set.actions[demote].optional, endsPromoted == false { required = true }
                guard required else { continue }
                let monitor = set.addAction(resource, "monitor", node, optional: false)
                intervals[monitor] = interval
                definitions[monitor] = operation
                // A resource that ends promoted is expected to answer "running promoted".
                if endsPromoted { targetRCs[monitor] = 8 }
                graphOrderings.append((start, monitor))
                // (promote_key / demote_key: the resource's promotes or demotes on any node; a
                // demote only when the resource is promoted now.)
                if endsPromoted {
                    for promote in set.findActions(resource, "promote") { graphOrderings.append((promote, monitor)) }
                } else if resource.role == .promoted {
                    for demote in set.findActions(resource, "demote") { graphOrderings.append((demote, monitor)) }
                }
            }
        }
    }

    /// Pacemaker's pe_rsc_maintenance: the resource's (or its parent's) maintenance
    /// meta-attribute, or the cluster's maintenance-mode.
    private func inMaintenance(_ resource: SchedulerResource) -> Bool {
        if set.maintenanceMode { return true }
        var current: SchedulerResource? = resource
        while let checked = current {
            if let value = checked.meta["maintenance"] { return truthy(value) }
            current = checked.parent
        }
        return false
    }

    /// The cancellation of a running monitor configured for a role the resource leaves: before
    /// the promote when it ends promoted, before the demote when it is promoted now, before
    /// the stop when it stops (recurring_op_for_active).
    private mutating func cancelForRoleChange(_ resource: SchedulerResource, _ operation: Operation, on node: SchedulerNode) {
        let cancel = set.addAction(resource, "cancel", node, optional: false)
        intervals[cancel] = operation.intervalMilliseconds
        cancelledTasks[cancel] = (operation.name, nil)
        definitions[cancel] = operation
        let current = resource.roleOnNode[node.name] ?? resource.role
        let after: String?
        switch current {
        case .promoted: after = "demote"
        case .unpromoted, .started:
            after = resource.nextRole == .promoted ? "promote" : (resource.nextRole == .stopped ? "stop" : nil)
        default: after = nil
        }
        if let after {
            for then in resource.actions where set.actions[then].task == after { graphOrderings.append((cancel, then)) }
        }
    }

    /// Pacemaker's recurring_op_for_inactive: a monitor with role Stopped runs on every node
    /// but the one the resource is placed on (expecting "not running"), after the probe and
    /// any stop there; required unless the history has it there. On the resource's own node
    /// a running one is cancelled. Anonymous clones are not supported by Pacemaker either.
    private mutating func addStoppedRoleMonitors() {
        for resource in set.allPrimitives where !resource.blocked && !inMaintenance(resource) {
            if let clone = resource.cloneParent, !clone.globallyUnique { continue }
            guard let operations = resource.primitive?.operations?.operations else { continue }
            var definitionsByInterval: [Int: Int] = [:]
            for operation in operations where operation.name == "monitor" { definitionsByInterval[operation.intervalMilliseconds, default: 0] += 1 }
            for operation in operations where operation.name == "monitor" && truthy(operation.enabled, default: true)
                && Role(parsing: operation.role) == .stopped {
                let interval = operation.intervalMilliseconds
                guard interval > 0, definitionsByInterval[interval] == 1 else { continue }
                let placed = (resource.nextRole ?? .stopped) > .stopped ? resource.allocatedTo : nil
                for node in set.nodes {
                    // Already running there: its last result is "not running", as expected.
                    let last = recordedHistory(resource, on: node)?.operations.filter { $0.operation == "monitor" && $0.interval == interval }
                        .max { ($0.callID ?? -1) < ($1.callID ?? -1) }
                    let recorded = last.map { $0.rcCode == 7 && ($0.opStatus ?? 0) == 0 } ?? false
                    if node === placed {
                        if recorded {
                            let cancel = set.addAction(resource, "cancel", node, optional: false)
                            intervals[cancel] = interval
                            // (No call id: cancel_if_running does not pass one.)
                            cancelledTasks[cancel] = ("monitor", nil)
                            definitions[cancel] = operation
                            if let start = set.findAction(resource, "start", node: node) { graphOrderings.append((cancel, start)) }
                        }
                        continue
                    }
                    guard !recorded, node.online, !node.unclean else { continue }
                    let monitor = set.addAction(resource, "monitor", node, optional: false)
                    intervals[monitor] = interval
                    definitions[monitor] = operation
                    targetRCs[monitor] = 7
                    if resource.managed {
                        for probe in probesByResource[ObjectIdentifier(resource)] ?? [] where set.actions[probe].node === node {
                            graphOrderings.append((probe, monitor))
                        }
                    }
                    for stop in resource.actions where set.actions[stop].task == "stop" && set.actions[stop].node === node {
                        graphOrderings.append((stop, monitor))
                    }
                }
            }
        }
    }

    /// A resource's recorded history on a node, active or not (the working set keeps only the
    /// active ones): by its own id in the status section.
    private func recordedHistory(_ resource: SchedulerResource, on node: SchedulerNode) -> LRMResource? {
        if let kept = resource.histories[node.name] { return kept }
        let name = resource.historyName ?? resource.id
        for state in set.cib.status.nodeStates where state.uname == node.name || state.id == node.id {
            if let found = state.lrm?.resources.first(where: { $0.id == name }) { return found }
        }
        return nil
    }

    /// Pacemaker's process_rsc_history: on a node where the resource is active, a recurring
    /// operation recorded since its last start that the configuration no longer has (or any,
    /// in maintenance) is cancelled, after the stop if there is one.
    private mutating func addOrphanedOperationCancels() {
        let stopOrphans = truthy(set.cib.configuration.clusterProperty("stop-orphan-actions"), default: true)
        for resource in set.allPrimitives where !resource.orphan {
            guard let primitive = resource.primitive else { continue }
            let configured = Set((primitive.operations?.operations ?? []).filter { truthy($0.enabled, default: true) }
                .map { "\($0.name)/\($0.intervalMilliseconds)" })
            let maintenance = inMaintenance(resource)
            // (pcmk__handle_rsc_config_changes: only on nodes that can run actions, or in
            // maintenance.)
            for node in resource.runningOn where node.maintenance
                || (node.online && !node.shutdown && !node.unclean && !node.standby) {
                guard let history = resource.histories[node.name] else { continue }
                let sorted = history.operations.sorted { ($0.callID ?? -1) < ($1.callID ?? -1) }
                let lastStart = sorted.lastIndex { $0.operation == "start" || $0.operation == "migrate_from" } ?? -1
                let lastStop = sorted.lastIndex { $0.operation == "stop" } ?? -1
                if lastStart < lastStop { continue }
                for record in sorted.dropFirst(max(lastStart, 0)) where record.interval > 0 {
                    let inMaintenance = maintenance || node.maintenance
                    guard inMaintenance || (stopOrphans && !configured.contains("\(record.operation)/\(record.interval)")) else { continue }
                    let cancel = set.addAction(resource, "cancel", node, optional: false)
                    intervals[cancel] = record.interval
                    cancelledTasks[cancel] = (record.operation, record.callID)
                    // (In maintenance the operation may still be configured: its meta too.)
                    if let operation = primitive.operations?.operations.first(where: {
                        $0.name == record.operation && $0.intervalMilliseconds == record.interval
                    }) { definitions[cancel] = operation }
                    if let stop = set.findAction(resource, "stop", node: node) { graphOrderings.append((stop, cancel)) }
                }
            }
        }
    }

    /// Pacemaker's pcmk__schedule_cleanup for an orphaned resource (not an anonymous clone
    /// instance): its history is deleted on each node that has one, after its stop there.
    private mutating func addOrphanCleanups() {
        for resource in set.allPrimitives where resource.orphan {
            if let clone = resource.cloneParent, !clone.globallyUnique { continue }
            var seen: Set<String> = []
            for node in resource.historyNodes where node.online && !node.unclean && seen.insert(node.name).inserted {
                let delete = set.addAction(resource, "delete", node, optional: false)
                if let stop = set.findAction(resource, "stop", node: node) { graphOrderings.append((stop, delete)) }
                if let start = set.findAction(resource, "start") { graphOrderings.append((delete, start)) }
            }
        }
    }

    /// Whether the history shows the monitor active on the node (Pacemaker's
    /// process_recurring, which makes an action of each recurring operation recorded since
    /// the last start, unless pending or the resource was stopped after it; calculate_active_ops
    /// finds the last start: a start or migrate_from, else a promote or demote, else a
    /// successful monitor after the last stop).
    /// Pacemaker's clear_failcount events (pe__clear_failcount): on each node with the
    /// resource's history, when an operation recorded there is older than failure-timeout
    /// and the fail count there has expired as a whole (check_operation_expiry: "it
    /// expired"), when the last failure ran with other parameters ("resource parameters have
    /// changed"), and for an orphan with a fail count on an online node ("it is orphaned",
    /// before its stop). One per resource and node; controller events, no waiting.
    private mutating func addFailcountClears() {
        var cleared: Set<String> = []
        var historyIndex: [String: [String: LRMResource]]?
        let stopOrphans = truthy(set.cib.configuration.clusterProperty("stop-orphan-resources"), default: true)
        func clear(_ resource: SchedulerResource, on node: SchedulerNode) -> Int? {
            guard cleared.insert("\(resource.id)\u{0}\(node.name)").inserted else { return nil }
            let action = set.addAction(resource, "clear_failcount", node, optional: false)
            extraMeta[action] = ["op_no_wait": "true"]
            return action
        }
        for resource in set.allPrimitives {
            if resource.orphan {
                // (Top-level orphans only: clear_failcounts_if_orphaned does not recurse into
                // clone instances.)
                guard resource.parent == nil, stopOrphans else { continue }
                for node in set.nodes where node.online && set.failCount(resource, on: node) > 0 {
                    guard let action = clear(resource, on: node) else { continue }
                    for stop in set.findActions(resource, "stop") { graphOrderings.append((action, stop)) }
                }
                continue
            }
            // (Only an expiry or a remote connection's reconnect interval looks at histories
            // where the resource is not active; the parameter check needs an active one.)
            let inactiveToo = (resource.failureTimeout > 0 || resource.isRemoteConnection)
                && resource.cloneParent.map({ !$0.globallyUnique }) != true
            for node in set.nodes {
                guard let history = resource.histories[node.name]
                        ?? (inactiveToo ? inactiveHistory(resource, on: node, index: &historyIndex) : nil) else { continue }
                // (A failure that blocks the resource keeps its fail count: failure-timeout is
                // disregarded, pe_get_failcount's block_failure.)
                if blocksOnFailure(resource, history) { continue }
                var reason = false
                for record in history.operations where record.operation != "notify" && record.operation != "meta-data" && record.opStatus != 7 {
                    let isLastFailure = record.id.hasSuffix("_last_failure_0")
                    var expired = false
                    if resource.failureTimeout > 0, let now = set.now, let changed = record.lastRCChange,
                       now >= changed.addingSaturated(resource.failureTimeout),
                       !(resource.isRemoteConnection && set.reconnectInterval(resource) > 0 && set.stonithEnabled
                         && record.interval != 0 && record.operation == "monitor" && !(set.nodes.first { $0.name == resource.id }?.remoteWasFenced ?? true)) {
                        expired = true
                    }
                    if expired {
                        if set.failCount(resource, on: node, ignoringTimeout: true) > 0 {
                            if set.failCount(resource, on: node) == 0 { reason = true } else { expired = false }
                        } else if isLastFailure && resource.isRemoteConnection && set.reconnectInterval(resource) > 0 {
                            reason = true
                        }
                    }
                    if !expired && isLastFailure && set.lastFailureParametersChanged(resource, on: node) { reason = true }
                }
                if reason { _ = clear(resource, on: node) }
            }
        }
    }

    /// A resource's recorded history on a node where it is not active, from an index of the
    /// status section built on first use (one pass over it, not one per resource and node).
    private func inactiveHistory(_ resource: SchedulerResource, on node: SchedulerNode,
                                 index: inout [String: [String: LRMResource]]?) -> LRMResource? {
        if index == nil {
            var built: [String: [String: LRMResource]] = [:]
            for state in set.cib.status.nodeStates {
                guard let resources = state.lrm?.resources else { continue }
                var byID: [String: LRMResource] = [:]
                for entry in resources where byID[entry.id] == nil { byID[entry.id] = entry }
                for key in [state.uname, state.id].compactMap({ $0 }) where built[key] == nil { built[key] = byID }
            }
            index = built
        }
        let name = resource.historyName ?? resource.id
        return index?[node.name]?[name] ?? index?[node.id]?[name]
    }

    /// Pacemaker's block_failure: an operation configured with on-fail=block (literally, on
    /// the op element) whose failure is recorded (its last_failure entry, or its own entry
    /// with a result other than the one expected).
    private func blocksOnFailure(_ resource: SchedulerResource, _ history: LRMResource) -> Bool {
        guard let operations = resource.primitive?.operations?.operations else { return false }
        let base = resource.baseID
        for operation in operations where operation.onFail?.lowercased() == "block" {
            let interval = operation.intervalMilliseconds
            for record in history.operations where record.operation == operation.name && record.interval == interval {
                if record.id == "\(base)_last_failure_0" { return true }
                if record.id == "\(base)_\(operation.name)_\(interval)",
                   let key = record.transitionKey?.split(separator: ":"), key.count > 2,
                   let target = Int(key[2]), record.rcCode != target { return true }
            }
        }
        return false
    }

    private func historyShowsMonitor(_ resource: SchedulerResource, interval: Int, on node: SchedulerNode) -> Bool {
        guard node.online, let history = resource.histories[node.name] else { return false }
        let sorted = history.operations.sorted { ($0.callID ?? -1) < ($1.callID ?? -1) }
        var startIndex = -1, stopIndex = -1, impliedMonitorStart = -1, impliedCloneStart = -1
        for (index, record) in sorted.enumerated() {
            switch record.operation {
            case "stop" where record.opStatus == 0: stopIndex = index
            case "start", "migrate_from": startIndex = index
            case "monitor" where impliedMonitorStart <= stopIndex:
                if record.rcCode == 0 || record.rcCode == 8 { impliedMonitorStart = index }
            case "promote", "demote": impliedCloneStart = index
            default: break
            }
        }
        if startIndex == -1 { startIndex = impliedCloneStart != -1 ? impliedCloneStart : impliedMonitorStart }
        for (index, record) in sorted.enumerated() {
            if startIndex < stopIndex && index <= stopIndex { continue }
            if index < startIndex { continue }
            if record.interval == 0 || record.opStatus == -1 { continue }
            if record.operation == "monitor" && record.interval == interval { return true }
        }
        return false
    }

    // MARK: migration

    /// A live migration: migrate_to on the source, migrate_from on the target, then the stop
    /// on the source; the start on the target becomes a pseudo-event after them
    /// (pcmk__create_migration_actions). The resource's probes come before the migrate_to.
    /// Orderings with other resources are carried over by `addMigrationEquivalents`.
    private mutating func addMigrations() {
        var migrations: [(resource: SchedulerResource, migrateTo: Int, migrateFrom: Int)] = []
        for resource in set.allPrimitives where resource.migrating {
            guard let source = resource.runningOn.first, let target = resource.allocatedTo,
                  let start = set.findAction(resource, "start", node: target), set.actions[start].runnable,
                  !set.actions[start].optional,
                  let stop = set.findAction(resource, "stop", node: source), !set.actions[stop].optional else { continue }
            let migrateTo = set.addAction(resource, "migrate_to", source, optional: false)
            let migrateFrom = set.addAction(resource, "migrate_from", target, optional: false)
            for id in [migrateTo, migrateFrom] {
                extraMeta[id] = ["migrate_source": source.name, "migrate_target": target.name]
            }
            // Pacemaker records the migrate_to as pending, so that a half-done one is known.
            // (add_hash_param: a record-pending already set, by op_defaults for one, stays.)
            extraMeta[migrateTo]?["record-pending"] = "true"
            for probe in probesByResource[ObjectIdentifier(resource)] ?? [] { graphOrderings.append((probe, migrateTo)) }
            graphOrderings.append((migrateTo, migrateFrom))
            graphOrderings.append((migrateFrom, stop))
            graphOrderings.append((migrateFrom, start))
            set.actions[start].pseudo = true
            migratedStarts.insert(start)
            migrations.append((resource, migrateTo, migrateFrom))
        }
        addMigrationEquivalents(migrations)
    }

    /// Pacemaker's pcmk__order_migration_equivalents, for orderings between unrelated
    /// resources (neither inside the other) where the "then" resource migrates: "A start then
    /// B start" becomes "A migrate_from then B migrate_to" when A migrates too, else "A start
    /// then B migrate_to"; "A stop then B stop" becomes "A stop then B migrate_to" unless A
    /// migrates (its stop is part of the migration); "A promote then B start" and "A demote
    /// then B stop" order A's action before B's migrate_to. A collective's milestone stands
    /// for its action (running for start, …), as Pacemaker converts the first task later.
    /// Orderings that reach a member only through its group or clone are the collective's
    /// and are not carried over. The first resource's probes come before the migrate_to of a
    /// "stop then stop" one.
    private mutating func addMigrationEquivalents(_ migrations: [(resource: SchedulerResource, migrateTo: Int, migrateFrom: Int)]) {
        guard !migrations.isEmpty else { return }
        var migrateFromOf: [ObjectIdentifier: Int] = [:]
        for migration in migrations { migrateFromOf[ObjectIdentifier(migration.resource)] = migration.migrateFrom }
        let byThen = Dictionary(grouping: set.orderings.indices, by: { set.orderings[$0].then })
        let milestoneTasks = ["running": "start", "stopped": "stop", "promoted": "promote", "demoted": "demote"]
        func related(_ a: SchedulerResource, _ b: SchedulerResource) -> Bool {
            var current: SchedulerResource? = a
            while let resource = current { if resource === b { return true }; current = resource.parent }
            current = b
            while let resource = current { if resource === a { return true }; current = resource.parent }
            return false
        }
        for migration in migrations {
            let resource = migration.resource
            var added: Set<Int> = []
            var probed: Set<ObjectIdentifier> = []
            for then in resource.actions {
                let thenTask = set.actions[then].task
                guard thenTask == "start" || thenTask == "stop" else { continue }
                for index in byThen[then] ?? [] {
                    let ordering = set.orderings[index]
                    let firstAction = set.actions[ordering.first]
                    guard let first = firstAction.resource, !related(first, resource),
                          !reachesThroughParent(ordering) else { continue }
                    let firstTask = first.kind == .primitive ? firstAction.task : (milestoneTasks[firstAction.task] ?? firstAction.task)
                    let firstMigrates = migrateFromOf[ObjectIdentifier(first)]
                    var equivalent: Int?
                    switch (firstTask, thenTask) {
                    case ("start", "start"): equivalent = firstMigrates ?? ordering.first
                    case ("stop", "stop"): equivalent = firstMigrates == nil ? ordering.first : nil
                    case ("promote", "start"), ("demote", "stop"): equivalent = ordering.first
                    default: equivalent = nil
                    }
                    if let equivalent, added.insert(equivalent).inserted { graphOrderings.append((equivalent, migration.migrateTo)) }
                    // The "stop then migrate_to" ordering is made even when the graph ignores
                    // it (A migrates), and its first resource's probes come before the
                    // migrate_to (add_probe_orderings_for_stops).
                    if firstTask == "stop", thenTask == "stop", first.kind == .primitive, probed.insert(ObjectIdentifier(first)).inserted {
                        for probe in probesByResource[ObjectIdentifier(first)] ?? [] { graphOrderings.append((probe, migration.migrateTo)) }
                    }
                }
            }
        }
    }

    // MARK: utilization

    /// Pacemaker's pcmk__create_utilization_constraints: with a placement strategy other than
    /// default, each managed primitive with utilization orders its stops before the
    /// load_stopped pseudo-event of each node it is active on, and that of each node it is
    /// allowed on before its start and migrate_to. The pseudo-events are required whether or
    /// not anything is ordered with them; the orderings count only on one node.
    private mutating func addLoadOrderings() {
        guard set.placementStrategy.lowercased() != "default" else { return }
        var loadStopped: [String: Int] = [:]
        func pseudoEvent(_ node: SchedulerNode) -> Int {
            if let id = loadStopped[node.name] { return id }
            let id = set.addAction(nil, "load_stopped_\(node.name)", node, optional: false, pseudo: true)
            loadStopped[node.name] = id
            return id
        }
        for resource in set.allPrimitives where resource.managed && !resource.utilization.isEmpty {
            let stops = set.findActions(resource, "stop")
            for node in resource.runningOn {
                let load = pseudoEvent(node)
                for stop in stops { loadOrderings.append((stop, load)) }
                // (add_probe_orderings_for_stops: the probes come before it too.)
                for probe in probesByResource[ObjectIdentifier(resource)] ?? [] { loadOrderings.append((probe, load)) }
            }
            // allowed_nodes_as_list: by node name.
            let starts = set.findActions(resource, "start") + set.findActions(resource, "migrate_to")
            for node in set.nodes.filter({ resource.allowed[$0.name] != nil }).sorted(by: { $0.name < $1.name }) {
                let load = pseudoEvent(node)
                for start in starts { loadOrderings.append((load, start)) }
            }
        }
    }

    // MARK: shutdown

    private mutating func addShutdownOrderings() {
        for shutdown in set.shutdownActions {
            guard let node = set.actions[shutdown].node else { continue }
            for action in set.actions where action.task == "stop" && action.node === node && action.resource != nil {
                graphOrderings.append((action.id, shutdown))
            }
        }
    }

    // MARK: orderings only the graph shows

    /// A group's or clone's start (stop, promote, demote) pseudo-event is in the graph when
    /// its running (stopped, promoted, demoted) one is: a member's action is required.
    private mutating func requireCollectiveEntries() {
        // A one-or-more pseudo-event is in the graph when it can happen and one of the actions
        // it stands for is.
        for pseudo in set.derived where pseudo.minimum != nil {
            let action = set.actions[pseudo.action]
            if action.runnable, pseudo.sources.contains(where: { isKept(set.actions[$0]) }) { set.actions[pseudo.action].optional = false }
        }
        // A milestone none of whose members' actions is in the graph has nothing to mark
        // (members required but blocked make it required in the working set).
        for pseudo in set.derived where pseudo.minimum == nil && !pseudo.sources.isEmpty {
            guard set.actions[pseudo.action].resource != nil else { continue }
            if !pseudo.sources.contains(where: { isKept(set.actions[$0]) }) { set.actions[pseudo.action].optional = true }
        }
        // A clone whose instance was stopping when its actions were created has its stop and
        // stopped required from then on (clone_create_pseudo_actions). (Its start and running
        // likewise in Pacemaker, but our start milestones' runnability does not follow
        // Pacemaker's closely enough yet: applying it lost two graphs for one.)
        for resource in set.allResources() where resource.kind == .clone && set.clonesStoppingAtCreation.contains(ObjectIdentifier(resource)) {
            for task in ["stop", "stopped"] {
                if let id = set.findAction(resource, task), set.actions[id].runnable { set.actions[id].optional = false }
            }
        }
        let pairs = [("start", "running"), ("stop", "stopped"), ("promote", "promoted"), ("demote", "demoted")]
        for resource in set.allResources() where resource.kind != .primitive {
            // A group's entry is printed when a member's action is required, even one that
            // cannot run (pe_order_implies_first_printed from the group to its members).
            if resource.kind == .group {
                for (entryTask, _) in pairs {
                    guard let entry = set.findAction(resource, entryTask), set.actions[entry].runnable else { continue }
                    // (A member's start with no node counts only when Pacemaker has it: the start a
                    // definition change made required before placement, for a member that only stops.)
                    let memberActions = resource.children.flatMap { member in
                        member.actions.filter {
                            set.actions[$0].task == entryTask && (set.actions[$0].node != nil || set.forcedRestartStarts.contains($0))
                        }
                    }
                    let required: Bool
                    if entryTask == "start" || entryTask == "stop" {
                        required = memberActions.contains(where: requiredAsPacemakerSeesIt)
                    } else {
                        // (A member's promote or demote that cannot run: not printed, as measured.)
                        required = memberActions.contains(where: { !set.actions[$0].optional })
                            && memberActions.allSatisfy({ set.actions[$0].runnable })
                    }
                    if required { set.actions[entry].optional = false }
                }
            }
            // A clone's start is required when an instance's start is (summary_action_flags),
            // here one that cannot run because the definition changed (a restart frozen without
            // quorum, or the start Pacemaker made before placement for an instance that only
            // stops); the ones that can run are judged above, by the running milestone. It is
            // in the graph only if some instance's start can run ("no children are" runnable
            // otherwise), and its running then too (pe_order_implies_then_printed).
            if resource.kind == .clone, let start = set.findAction(resource, "start"), set.actions[start].runnable,
               resource.primitives.contains(where: { member in
                   member.actions.contains {
                       set.actions[$0].task == "start" && !set.actions[$0].runnable && requiredAsPacemakerSeesIt($0)
                           && set.actions[$0].reason == "resource definition change"
                   }
               }),
               resource.children.contains(where: { instance in set.entryActions(instance, "start").contains { set.actions[$0].runnable } }) {
                set.actions[start].optional = false
                if let running = set.findAction(resource, "running"), set.actions[running].runnable { set.actions[running].optional = false }
            }
            for (entryTask, exitTask) in pairs {
                guard let entry = set.findAction(resource, entryTask), let exit = set.findAction(resource, exitTask),
                      !set.actions[exit].optional, set.actions[exit].runnable, set.actions[entry].runnable else { continue }
                set.actions[entry].optional = false
            }
        }
        // A clone of groups: its start is required when a group instance's start is, and the
        // instance's start is in the graph (summary_action_flags; pe_order_implies_first_printed
        // from the clone to its instances). After every group's entries are judged above.
        for resource in set.allResources() where resource.kind == .clone {
            guard let start = set.findAction(resource, "start"), set.actions[start].runnable else { continue }
            if resource.children.contains(where: { instance in
                instance.kind == .group && set.findAction(instance, "start").map { !set.actions[$0].optional && set.actions[$0].runnable } == true
            }) {
                set.actions[start].optional = false
            }
        }
    }

    /// Whether Pacemaker holds a member's start or stop required, which the working set's
    /// flag does not always say for one that cannot run: an action of an unmanaged resource
    /// is optional from its creation, and a start that cannot run when it is created (no
    /// quorum, no node) stays optional (start_resource) unless a required action implies it,
    /// as the member's own required stop does for a restart.
    private func requiredAsPacemakerSeesIt(_ id: Int) -> Bool {
        let action = set.actions[id]
        guard !action.optional, let member = action.resource, member.managed else { return false }
        if action.runnable || action.task != "start" { return true }
        return member.actions.contains { set.actions[$0].task == "stop" && !set.actions[$0].optional }
    }

    /// A collective's milestones wait for its members' actions (the working set keeps those
    /// as the sources of the derived pseudo-action); its start waits for its stopped; a
    /// member's probes come before its parent's stopped (a member stop is ordered before it).
    private mutating func addCollectiveOrderings() {
        for pseudo in set.derived {
            for source in pseudo.sources { graphOrderings.append((source, pseudo.action)) }
        }
        for resource in set.allResources() where resource.kind != .primitive {
            guard let stopped = set.findAction(resource, "stopped") else { continue }
            if let start = set.findAction(resource, "start") { graphOrderings.append((stopped, start)) }
            if resource.kind == .clone && resource.promotable {
                // pcmk__promotable_restart_ordering: start and promote after every instance
                // stopped; stop, start and promote after every instance demoted; promote after
                // every instance started.
                let promote = set.findAction(resource, "promote")
                if let running = set.findAction(resource, "running"), let promote { graphOrderings.append((running, promote)) }
                // pcmk__order_promotable_instances: each instance demotes before it promotes
                // (a group instance by its own pseudo-events).
                for instance in resource.children where instance.kind == .group {
                    if let demote = set.findAction(instance, "demote"), let promote = set.findAction(instance, "promote") {
                        graphOrderings.append((demote, promote))
                    }
                }
                if let promote { graphOrderings.append((stopped, promote)) }
                if let demoted = set.findAction(resource, "demoted") {
                    for task in ["stop", "start", "promote"] {
                        if let then = set.findAction(resource, task) { graphOrderings.append((demoted, then)) }
                    }
                }
            }
            for child in resource.children where child.kind == .primitive {
                for probe in probesByResource[ObjectIdentifier(child)] ?? [] { graphOrderings.append((probe, stopped)) }
            }
            if resource.kind == .clone, truthy(resource.meta["ordered"]) { addOrderedCloneOrderings(resource) }
            // A group member stops after the member after it: that member's probes come first.
            if resource.kind == .group {
                for index in resource.children.indices.dropFirst() {
                    guard let stop = set.findAction(resource.children[index - 1], "stop") else { continue }
                    for probe in probesByResource[ObjectIdentifier(resource.children[index])] ?? [] { graphOrderings.append((probe, stop)) }
                }
            }
        }
    }

    /// An ordered clone (child_ordering_constraints): by instance number, each instance's
    /// start after the previous one's, its stop before the previous one's; an instance counts
    /// when exactly one of its own actions of that task is required (find_rsc_action).
    private mutating func addOrderedCloneOrderings(_ clone: SchedulerResource) {
        func number(_ instance: SchedulerResource) -> Int {
            instance.id.lastIndex(of: ":").flatMap { Int(instance.id[instance.id.index(after: $0)...]) } ?? 0
        }
        func single(_ instance: SchedulerResource, _ task: String) -> Int? {
            let required = instance.actions.filter { set.actions[$0].task == task && !set.actions[$0].optional }
            return required.count == 1 ? required[0] : nil
        }
        var lastStop: Int?, lastStart: Int?
        for instance in clone.children.sorted(by: { number($0) < number($1) }) {
            if let stop = single(instance, "stop") {
                if let lastStop { graphOrderings.append((stop, lastStop)) }
                lastStop = stop
            }
            if let start = single(instance, "start") {
                if let lastStart { graphOrderings.append((lastStart, start)) }
                lastStart = start
            }
        }
    }

    /// Pacemaker's add_probe_orderings_for_stops: for an order whose first action is a stop
    /// of another resource, that resource's probes come before the order's "then" actions.
    private mutating func addProbeOrderingsForStops() {
        for spec in set.orderConstraints where spec.firstAction == "stop" && spec.first !== spec.then {
            if set.container(of: spec.first) === spec.then && spec.thenAction == "stop" { continue }
            guard let probes = probesByResource[ObjectIdentifier(spec.first)] else { continue }
            let thens = spec.then.actions.filter { set.actions[$0].task == spec.thenAction }
            for probe in probes {
                for then in thens { graphOrderings.append((probe, then)) }
            }
        }
    }

    /// A mandatory anti-colocation (-INFINITY) orders, both ways, what makes one resource
    /// leave its role before what makes the other take its role, on the same node; and the
    /// probes of a resource before the other's start there (pcmk_sched_colocation.c).
    private mutating func addAntiColocationOrderings() {
        for resource in set.allResources() {
            for colocation in resource.dependentColocations where colocation.score <= .minusInfinity {
                let dependent = colocation.namedDependent ?? colocation.dependent
                let primary = colocation.namedPrimary ?? colocation.primary
                antiColocationOrder(first: dependent, firstRole: colocation.dependentRole, then: primary, thenRole: colocation.primaryRole)
                antiColocationOrder(first: primary, firstRole: colocation.primaryRole, then: dependent, thenRole: colocation.dependentRole)
            }
        }
    }

    private mutating func antiColocationOrder(first: SchedulerResource, firstRole: Role?, then: SchedulerResource, thenRole: Role?) {
        let firstTasks = firstRole == .promoted ? ["demote"] : (firstRole == .unpromoted ? ["stop", "promote"] : ["stop"])
        let thenTasks = thenRole == .promoted ? ["promote"] : (thenRole == .unpromoted ? ["start", "demote"] : ["start"])
        for firstTask in firstTasks {
            // (A group's or clone's stop is remapped to its stopped, as every ordering after a
            // collective is: pcmk__update_action_for_orderings, action_for_ordering.)
            let firsts = first.kind == .primitive
                ? first.actions.filter { set.actions[$0].task == firstTask }
                : set.exitAction(first, firstTask).map { [$0] } ?? []
            for thenTask in thenTasks {
                let thens = then.actions.filter { set.actions[$0].task == thenTask }
                for a in firsts { for b in thens { sameNodeOrderings.append((a, b)) } }
                if firstTask == "stop", let probes = probesByResource[ObjectIdentifier(first)] {
                    for probe in probes { for b in thens { sameNodeOrderings.append((probe, b)) } }
                }
            }
        }
    }

    /// Pacemaker's add_restart_orderings_for_probe: a probe ordered before a start (promote)
    /// also comes before the stops (demotes) of what follows that start, in case it is part of
    /// a restart, following orderings that imply "then" and a collective's own members.
    private mutating func addRestartOrderingsForProbes() {
        var after: [Int: [(then: Int, impliesThen: Bool)]] = [:]
        // (Not the working set's orderings straight to a collective's members: Pacemaker's
        // actions_after has only the one to the collective's pseudo-event.)
        // An order after a group or clone starts, when probes are ordered, at the collective's
        // own action (start, not running: Pacemaker remaps it to running only afterwards, in
        // pcmk__update_action_for_orderings), with the flags of its kind.
        // (order_actions keeps only the first ordering of two actions: a later one with other
        // flags adds nothing.)
        var remapped: Set<ActionPair> = []
        var entryPairs: Set<ActionPair> = []
        // (Orderings are applied in the order they were created: one to a start Pacemaker has
        // not created, of a primitive placed nowhere, finds no action, unless an earlier
        // ordering created it as its first: rsc_order_then ignores it, rsc_order_first creates it.)
        var earlierFirsts: Set<String> = []
        for spec in set.orderConstraints {
            defer { earlierFirsts.insert("\(spec.first.id)\u{0}\(spec.firstAction)") }
            guard spec.first.kind != .primitive && spec.oneOrMoreName == nil else { continue }
            guard let entry = set.findAction(spec.first, spec.firstAction) else { continue }
            let impliesThen = (spec.mandatory && !spec.inverted && spec.symmetrical) || spec.impliesThen
            let exit = set.exitAction(spec.first, spec.firstAction)
            for then in set.entryActions(spec.then, spec.thenAction) {
                let thenAction = set.actions[then]
                if thenAction.node == nil, thenAction.task == "start", let thenResource = thenAction.resource,
                   thenResource.kind == .primitive, thenResource.parent == nil,
                   !earlierFirsts.contains("\(thenResource.id)\u{0}start") { continue }
                if entryPairs.insert(ActionPair(first: entry, then: then)).inserted { after[entry, default: []].append((then, impliesThen)) }
                if let exit { remapped.insert(ActionPair(first: exit, then: then)) }
            }
        }
        for ordering in set.orderings where !reachesThroughParent(ordering)
            && !remapped.contains(ActionPair(first: ordering.first, then: ordering.then)) {
            after[ordering.first, default: []].append((ordering.then, ordering.flags.contains(.impliesThen)))
        }
        for ordering in graphOrderings { after[ordering.first, default: []].append((ordering.then, false)) }
        var added: [(Int, Int)] = []
        var firstOfOtherResource: Set<Int> = []
        for ordering in set.orderings where set.actions[ordering.first].resource !== set.actions[ordering.then].resource {
            firstOfOtherResource.insert(ordering.first)
        }
        // (Also the firsts of order constraints the working set keeps no ordering for, such
        // as kind=Serialize.)
        var constraintFirsts: Set<String> = []
        for spec in set.orderConstraints { constraintFirsts.insert("\(spec.first.id)\u{0}\(spec.firstAction)") }
        for case .order(let order) in set.cib.configuration.constraints where order.kind?.lowercased() == "serialize" {
            if let first = order.first { constraintFirsts.insert("\(first)\u{0}\(order.firstAction ?? "start")") }
        }
        // A member's start and promote are always firsts (of its collective's milestones).
        func placeholderExists(_ id: Int) -> Bool {
            guard let resource = set.actions[id].resource else { return false }
            return firstOfOtherResource.contains(id) || resource.parent != nil
                || constraintFirsts.contains("\(resource.id)\u{0}\(set.actions[id].task)")
        }
        for (_, probes) in probesByResource {
            for probe in probes {
                guard let probed = set.actions[probe].resource else { continue }
                var visited: Set<Int> = []
                var pending = (after[probe] ?? []).map(\.then)
                while let current = pending.popLast() {
                    guard visited.insert(current).inserted else { continue }
                    precondition(visited.count <= set.actions.count, "restart orderings of a probe visited more actions than exist")
                    let action = set.actions[current]
                    // (The placeholder start of a primitive placed nowhere has no node; Pacemaker
                    // has such an action only when an ordering needs it as its first
                    // (rsc_order_first creates it), else there is nothing to follow from it.)
                    if action.node == nil, action.task == "start" || action.task == "promote",
                       let resource = action.resource, resource.kind == .primitive, !placeholderExists(current) { continue }
                    if let resource = action.resource, resource.kind == .primitive, resource !== probed {
                        let task = action.task == "start" ? "stop" : (action.task == "promote" ? "demote" : nil)
                        if let task {
                            for id in resource.actions where set.actions[id].task == task && !set.actions[id].pseudo { added.append((probe, id)) }
                        }
                    }
                    for next in after[current] ?? [] {
                        if !next.impliesThen {
                            guard let resource = action.resource, resource.kind != .primitive, probed.parent !== resource,
                                  let nextResource = set.actions[next.then].resource, nextResource.kind != .clone,
                                  nextResource.parent === resource else { continue }
                            // A member's start (promote) placed nowhere is made by the ordering
                            // "member start then collective running", which Pacemaker applies
                            // after "collective start then member start": that one found no
                            // action then, so the collective leads to no such member.
                            let then = set.actions[next.then]
                            if then.node == nil, then.task == "start" || then.task == "promote", nextResource.kind == .primitive { continue }
                            // Into an interleaved clone, only to the instance compatible with the
                            // probed resource (find_compatible_child: placed on its node).
                            if resource.kind == .clone && resource.interleave
                                && compatibleInstance(of: resource, with: probed) !== nextResource { continue }
                        }
                        pending.append(next.then)
                    }
                }
            }
        }
        graphOrderings += added
    }

    /// Pacemaker's find_compatible_child for a probe's restart orderings: the clone's instance
    /// placed where the resource is placed or, placed nowhere, on the first of its allowed nodes
    /// (best score, then name) that has one; a blocked instance has no node.
    func compatibleInstance(of clone: SchedulerResource, with resource: SchedulerResource) -> SchedulerResource? {
        precondition(clone.kind == .clone, "compatibleInstance: \(clone.id) is not a clone")
        func instance(on node: String) -> SchedulerResource? {
            clone.children.first { child in
                !child.blocked && !child.primitives.contains(where: \.blocked) && child.allocatedTo?.name == node
            }
        }
        if let node = resource.allocatedTo { return instance(on: node.name) }
        let nodes = resource.allowed.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        for (node, _) in nodes {
            if let found = instance(on: node) { return found }
        }
        return nil
    }

    /// Pacemaker's order_stop_vs_fencing: a stop (demote) on a node being fenced is implied by
    /// the fencing, and waits for it when the resource needs fencing (or the node is a guest),
    /// as does the first stop in its top-level resource's list of actions (find_first_action;
    /// the list is prepended, so for a primitive active on several nodes that is the stop
    /// created last). The working set's own fence -> stop orderings are replaced by these (see
    /// `isReplacedFencingOrdering`).
    private mutating func addStopOrderingsForFencing() {
        for fence in set.fenceActions where set.actions[fence].task == "stonith" && set.actions[fence].fenceType != "on" {
            guard let target = set.actions[fence].node else { continue }
            for resource in set.allPrimitives where resource.managed {
                let implicit = set.requiresFencing(resource) || target.guestContainer != nil
                guard implicit else { continue }
                let stops = resource.actions.filter { set.actions[$0].task == "stop" && set.actions[$0].node === target }
                guard !stops.isEmpty else {
                    continue
                }
                let bundled = resource.bundlePart || resource.top.isBundle
                let parentStop = resource.top.actions.last { set.actions[$0].task == "stop" }
                for stop in stops {
                    if !bundled { graphOrderings.append((fence, stop)) }
                    if let parentStop { graphOrderings.append((fence, parentStop)) }
                }
                if !bundled {
                    for demote in resource.actions where set.actions[demote].task == "demote" && set.actions[demote].node === target {
                        if !target.online || target.unclean || resource.failed { graphOrderings.append((fence, demote)) }
                    }
                }
            }
        }
    }

    /// concurrent-fencing=false (2.1.5's default): fencing one node after another in node
    /// order; the DC's fencing or shutdown after the others.
    private mutating func addFencingChain() {
        let concurrent = truthy(set.cib.configuration.clusterProperty("concurrent-fencing"), default: false)
        let dcID = set.cib.dcUUID
        var others: [Int] = []
        var shutdowns: [Int] = []
        var dcDown: Int?
        for node in set.nodes where node.guestContainer == nil {
            if let fence = set.fenceActions.first(where: {
                set.actions[$0].node === node && set.actions[$0].task == "stonith" && set.actions[$0].fenceType != "on"
            }) {
                if node.id == dcID {
                    dcDown = fence
                } else {
                    if !concurrent, let last = others.last { graphOrderings.append((last, fence)) }
                    others.append(fence)
                }
            } else if let shutdown = set.shutdownActions.first(where: { set.actions[$0].node === node }) {
                if node.id == dcID { dcDown = shutdown } else { shutdowns.append(shutdown) }
            }
        }
        guard let dcDown else { return }
        if set.actions[dcDown].task == "do_shutdown" { for shutdown in shutdowns { graphOrderings.append((shutdown, dcDown)) } }
        if concurrent {
            for fence in others { graphOrderings.append((fence, dcDown)) }
        } else if let last = others.last {
            graphOrderings.append((last, dcDown))
        }
    }

    /// The working set orders fencing before every stop and demote it implies; the graph keeps
    /// only Pacemaker's (`addStopOrderingsForFencing`).
    private func isReplacedFencingOrdering(_ ordering: Ordering) -> Bool {
        let first = set.actions[ordering.first], then = set.actions[ordering.then]
        return first.task == "stonith" && first.fenceType != "on" && then.resource != nil
            && (then.task == "stop" || then.task == "demote")
    }

    /// Fencing comes before the starts, promotes and migrate_tos of resources that need fencing, and
    /// before the start of one that needs quorum and was never seen on the node being fenced
    /// (pcmk__order_vs_fence).
    private mutating func addFencingOrderings() {
        for fence in set.fenceActions where set.actions[fence].fenceType != "on" {
            guard let target = set.actions[fence].node else { continue }
            for resource in set.allPrimitives where resource.managed {
                let needsFencing = set.requiresFencing(resource)
                let needsNothing = set.startRequiresNothing(resource)
                for id in resource.actions {
                    let task = set.actions[id].task
                    // (A migrate_to needs what the start needs.)
                    guard task == "start" || task == "promote" || task == "migrate_to" else { continue }
                    if needsFencing {
                        graphOrderings.append((fence, id))
                    } else if !needsNothing, task == "start", resource.allowed[target.name] != nil, !known(resource, on: target) {
                        graphOrderings.append((fence, id))
                    }
                }
            }
        }
    }

    // MARK: assembly

    func isKept(_ action: SchedulerAction) -> Bool {
        guard action.runnable, !action.optional else { return false }
        // (Of an unmanaged resource only monitors, and cancellations, which have an interval.)
        if let resource = action.resource, !resource.managed, action.task != "monitor", (intervals[action.id] ?? 0) == 0 { return false }
        if action.pseudo || action.task == "stonith" || action.task == "do_shutdown" { return true }
        guard let node = action.node else { return false }
        if node.guestContainer != nil && !node.remoteRequiresReset { return true }
        return node.online && !node.unclean
    }

    private func assemble() -> TransitionGraph {
        var graphAttributes = TransitionGraph.Attributes()
        let configuration = set.cib.configuration
        if let value = configuration.clusterProperty("cluster-delay") { graphAttributes.clusterDelay = value }
        if let value = configuration.clusterProperty("stonith-timeout") { graphAttributes.stonithTimeout = value }
        if !set.startFailureIsFatal { graphAttributes.failedStartOffset = "1" }
        if let value = configuration.clusterProperty("batch-limit") { graphAttributes.batchLimit = value }
        if let value = configuration.clusterProperty("migration-limit"), let limit = Int(value.trimmed), limit > 0 {
            graphAttributes.migrationLimit = value
        }

        let kept = set.actions.map(isKept)
        // Synapse order: Pacemaker adds each resource's actions (newest first), children after
        // their parent, then the actions of no resource (newest first).
        var order: [Int] = []
        func walk(_ resource: SchedulerResource) {
            order += resource.actions.reversed().filter { kept[$0] }
            resource.children.forEach(walk)
        }
        set.resources.forEach(walk)
        var placed = Set(order)
        for action in set.actions.reversed() where kept[action.id] && !placed.contains(action.id) {
            order.append(action.id)
            placed.insert(action.id)
        }

        var inputs: [Int: [Int]] = [:]
        // The working set also orders a first action straight before each member action of a
        // group or clone ordered after it (so that requirement reaches them); the graph has
        // only the ordering before the collective's own pseudo-event.
        for ordering in set.orderings where kept[ordering.first] && kept[ordering.then] {
            if reachesThroughParent(ordering) { continue }
            // (A clone's promoted milestone waits for its instances' promotions, not for its
            // promote pseudo-event.)
            let first = set.actions[ordering.first], then = set.actions[ordering.then]
            if first.task == "promote", then.task == "promoted", first.resource === then.resource, first.resource?.kind == .clone { continue }
            // (Nor does a group's: pcmk__group_internal_constraints orders only stop -> stopped
            // and start -> running; its promoted and demoted wait for its members.)
            if first.resource === then.resource, first.resource?.kind == .group,
               (first.task == "promote" && then.task == "promoted") || (first.task == "demote" && then.task == "demoted") { continue }
            if isReplacedFencingOrdering(ordering) { continue }
            let remapped = notificationRemapped(first: ordering.first, then: ordering.then)
            if kept[remapped] { inputs[ordering.then, default: []].append(remapped) }
        }
        for ordering in graphOrderings where kept[ordering.first] && kept[ordering.then] {
            let remapped = notificationRemapped(first: ordering.first, then: ordering.then)
            if kept[remapped] { inputs[ordering.then, default: []].append(remapped) }
        }
        for ordering in sameNodeOrderings where kept[ordering.first] && kept[ordering.then] {
            let first = set.actions[ordering.first].node, then = set.actions[ordering.then].node
            if let first, let then, first !== then { continue }
            inputs[ordering.then, default: []].append(ordering.first)
        }
        addLoadInputs(kept: kept, to: &inputs)
        var graphActions: [Int: TransitionGraph.Action] = [:]
        for id in order { graphActions[id] = graphAction(set.actions[id]) }
        var synapses: [TransitionGraph.Synapse] = []
        synapses.reserveCapacity(order.count)
        for id in order {
            let action = set.actions[id]
            var seen: Set<Int> = []
            var references: [TransitionGraph.Action.Reference] = []
            for input in (inputs[id] ?? []).sorted() where input != id && seen.insert(input).inserted {
                references.append(graphActions[input]!.reference)
            }
            var priority = max(action.resource?.priority ?? 0, 0)
            // A clone's milestones fire first among those ready (Pacemaker gives them INFINITY).
            if ["running", "stopped", "promoted", "demoted"].contains(action.task), action.resource?.kind == .clone {
                priority = Score.infinityValue
            }
            if let raised = actionPriorities[id] {
                priority = max(priority, raised)
            }
            synapses.append(TransitionGraph.Synapse(id: synapses.count, priority: priority,
                                                    action: graphActions[id]!, inputs: references))
        }
        return TransitionGraph(attributes: graphAttributes, synapses: synapses)
    }

    /// Whether an ordering from a first action straight to a member's action of a group or
    /// clone stands for the ordering before the collective's own pseudo-event (the working set
    /// adds both, so that requirement reaches the members; the graph has only the latter).
    private func reachesThroughParent(_ ordering: Ordering) -> Bool {
        let then = set.actions[ordering.then]
        guard let member = then.resource, member.kind == .primitive else { return false }
        var ancestor = member.parent
        while let collective = ancestor {
            if collective !== set.actions[ordering.first].resource,
               let entry = set.findAction(collective, then.task), orderingPairs.contains(ActionPair(first: ordering.first, then: entry)) { return true }
            ancestor = collective.parent
        }
        return false
    }

    /// The load orderings that hold (should_add_input_to_graph for pe_order_load): both actions
    /// on the same node, the target node for a migrate_to; a load_stopped -> migrate_to input
    /// that would close a loop of inputs is dropped, newest action first (ordering_is_invalid:
    /// two resources migrating past each other).
    private func addLoadInputs(kept: [Bool], to inputs: inout [Int: [Int]]) {
        var migrateInputs: [(first: Int, then: Int)] = []
        for ordering in loadOrderings where kept[ordering.first] && kept[ordering.then] {
            let first = set.actions[ordering.first], then = set.actions[ordering.then]
            if then.task == "migrate_to" {
                guard let node = first.node, node === then.resource?.allocatedTo else { continue }
                migrateInputs.append(ordering)
            } else {
                guard let node = first.node, node === then.node else { continue }
                inputs[ordering.then, default: []].append(ordering.first)
            }
        }
        for ordering in migrateInputs { inputs[ordering.then, default: []].append(ordering.first) }
        // (data_set->actions is newest first.)
        for ordering in migrateInputs.sorted(by: { $0.then > $1.then }) {
            if Self.reaches(from: ordering.first, to: ordering.then, inputs: inputs, limit: set.actions.count) {
                inputs[ordering.then]?.removeAll { $0 == ordering.first }
            }
        }
    }

    /// Whether `target` is among the inputs of `start`, transitively (iterative, each action
    /// visited once).
    static func reaches(from start: Int, to target: Int, inputs: [Int: [Int]], limit: Int) -> Bool {
        var visited: Set<Int> = [start]
        var pending = [start]
        while let current = pending.popLast() {
            for input in inputs[current] ?? [] {
                if input == target { return true }
                if visited.insert(input).inserted { pending.append(input) }
            }
            precondition(visited.count <= limit + 1, "input search visited more actions than the \(limit) that exist")
        }
        return false
    }

    /// An anonymous clone instance's name as its history knows it (Pacemaker's clone_name).
    private func cloneName(_ resource: SchedulerResource) -> String? {
        guard let name = resource.historyName, name != resource.id else { return nil }
        if name.contains(":") && resource.runningOn.isEmpty { return nil }
        return name
    }

    private func graphAction(_ action: SchedulerAction) -> TransitionGraph.Action {
        let node = action.node.map { TransitionGraph.Node(name: $0.name, uuid: $0.id) }
        let operation = TransitionGraph.Operation(action.task)
        switch action.task {
        case "stonith":
            let type = action.fenceType ?? "reboot"
            var attributes = ["CRM_meta_stonith_action": type]
            if let node { attributes["CRM_meta_on_node"] = node.name; attributes["CRM_meta_on_node_uuid"] = node.uuid }
            // The node's attributes as meta-attributes; a name with a colon (a clone instance's
            // promotion score) or a '#' (a per-operation fail count) does not make an XML
            // attribute and is not written.
            for (name, value) in action.node?.attributes ?? [:] where !name.hasPrefix("#") && !name.contains(":") && !name.contains("#") {
                attributes["CRM_meta_" + name.replacingDashes] = value
            }
            var downed: [String] = []
            if let node = action.node, type == "reboot" || type == "off" {
                downed.append(node.id)
                downed += set.nodes.filter { guest in
                    guard let container = guest.guestContainer, let resource = set.resourcesByID[container] else { return false }
                    return resource.runningOn.contains { $0 === node }
                }.map(\.id)
            }
            return TransitionGraph.Action(id: action.id, element: action.pseudo ? .pseudoEvent : .controllerEvent,
                                          operation: .stonith, operationKey: "stonith-\(node?.name ?? "")-\(type)",
                                          node: node, attributes: attributes, downed: downed)
        case "do_shutdown":
            var attributes = ["CRM_meta_op_no_wait": "true"]
            if let node { attributes["CRM_meta_on_node"] = node.name; attributes["CRM_meta_on_node_uuid"] = node.uuid }
            return TransitionGraph.Action(id: action.id, element: .controllerEvent, operation: .doShutdown,
                                          operationKey: "do_shutdown-\(node?.name ?? "")", node: node,
                                          attributes: attributes, downed: node.map { [$0.uuid] } ?? [])
        default:
            break
        }
        guard let resource = action.resource else {
            // A pseudo-event of no resource (one-or-more orderings): its name is its key.
            return TransitionGraph.Action(id: action.id, element: .pseudoEvent, operation: operation,
                                          operationKey: action.task)
        }
        let interval = intervals[action.id] ?? 0
        // A cancellation is keyed by the operation it cancels.
        let keyTask = cancelledTasks[action.id]?.task ?? action.task
        // A notification is keyed by its type and the operation it is about.
        let notification = notificationKeys[action.id]
        func key(_ name: String) -> String {
            if let notification { return "\(name)_\(notification.type)_notify_\(notification.operation)_0" }
            return "\(name)_\(keyTask)_\(interval)"
        }
        var operationKey = key(resource.id)
        var internalKey: String?
        let clone = resource.kind == .primitive ? cloneName(resource) : nil
        if let clone {
            operationKey = key(clone)
            internalKey = key(resource.id)
            // (clone_op_key: a notification by its notify_type and notify_operation, its
            // confirmation by its task.)
            if let notification, action.pseudo {
                let meta = extraMeta[action.id] ?? [:]
                operationKey = action.task == "notify"
                    ? "\(clone)_\(meta["notify_type"] ?? notification.type)_notify_\(meta["notify_operation"] ?? notification.operation)_0"
                    : "\(clone)_\(action.task)_0"
            }
        }
        var attributes = meta(of: action, resource: resource, interval: interval)
        var primitive: TransitionGraph.Primitive?
        let isResourceOperation = !action.pseudo
        if isResourceOperation, let node = action.node {
            attributes["CRM_meta_on_node"] = node.name
            attributes["CRM_meta_on_node_uuid"] = node.id
            primitive = primitiveElement(resource, cloneName: clone)
        }
        // Instance parameters, for the node when there is one (pseudo-events too: a stop
        // implied by fencing, a migrated start), for none on a primitive's pseudo-event.
        if resource.kind == .primitive {
            for (name, value) in parameters(resource, on: action.node, action: action) { attributes[name] = value }
        }
        let element: TransitionGraph.Element = !isResourceOperation ? .pseudoEvent
            : (action.task == "clear_failcount" ? .controllerEvent : .resourceOperation)
        var result = TransitionGraph.Action(id: action.id, element: element,
                                            operation: operation, operationKey: operationKey, internalOperationKey: internalKey,
                                            node: isResourceOperation ? node : nil, primitive: primitive, attributes: attributes)
        if !isResourceOperation { result.plannedNode = node?.name }
        return result
    }

    private func primitiveElement(_ resource: SchedulerResource, cloneName: String?) -> TransitionGraph.Primitive {
        let definition = resource.primitive
        let xmlID = definition?.id ?? resource.baseID
        var id = resource.id
        var longID: String?
        let unique = resource.cloneParent.map { $0.globallyUnique } ?? true || resource.uniqueInAnonymousClone
        if resource.orphan, let cloneName {
            id = cloneName
            longID = resource.id
        } else if !unique {
            id = xmlID
            longID = (cloneName != nil && cloneName != xmlID) ? cloneName : resource.id
        }
        return TransitionGraph.Primitive(id: id, longID: longID, resourceClass: definition?.resourceClass,
                                         provider: definition?.provider, type: definition?.type)
    }

    /// A demote without an on-fail of its own takes the first recurring Promoted-role monitor's
    /// (other than "demote"), as Pacemaker's unpack_operation_on_fail does; of those values only
    /// "block" reaches the action's meta (unpack_operation writes that one back). `operations`:
    /// the primitive's enabled operations, in document order.
    static func promotedMonitorOnFail(_ operations: [Operation]) -> String? {
        for operation in operations where operation.name.lowercased() == "monitor" && operation.intervalMilliseconds > 0 {
            guard let onFail = operation.onFail, let role = operation.role?.lowercased(),
                  role == "promoted" || role == "master", onFail.lowercased() != "demote" else { continue }
            return onFail.lowercased() == "block" ? "block" : nil
        }
        return nil
    }

    /// CRM_meta_* of an action: op_defaults, the configured operation's meta and properties
    /// (interval and timeout in milliseconds), the expected result, the clone's variables.
    private func meta(of action: SchedulerAction, resource: SchedulerResource, interval: Int) -> [String: String] {
        var meta: [String: String] = [:]
        let primitive = resource.kind == .primitive ? resource.primitive : nil
        let context = RuleContext(node: nil, resourceClass: primitive?.resourceClass, provider: primitive?.provider,
                                  type: primitive?.type, now: set.now)
        let defaults = set.cib.configuration.operationDefaults?.filter { $0.kind == "meta_attributes" } ?? []
        for (name, value) in set.values(of: defaults, in: context) { meta[name] = value }
        let isProbe = action.task == "monitor" && interval == 0
        let operations = primitive?.operations?.operations.filter { truthy($0.enabled, default: true) } ?? []
        if isProbe, let shortest = operations.filter({ $0.name == "monitor" && $0.intervalMilliseconds > 0 })
            .min(by: { $0.intervalMilliseconds < $1.intervalMilliseconds }), let timeout = shortest.timeout {
            meta["timeout"] = timeout
        }
        // (A notification's confirmation finds the notify operation too: Pacemaker looks its
        // key, which names "notify", up that way.)
        let definitionTask = action.task == "notified" ? "notify" : action.task
        let definition = definitions[action.id]
            ?? operations.first { $0.name == definitionTask && $0.intervalMilliseconds == interval }
        if let definition {
            for (name, value) in set.values(of: definition.attributes.meta, in: context) { meta[name] = value }
            meta["name"] = definition.name
            if let value = definition.interval { meta["interval"] = value }
            if let value = definition.role { meta["role"] = Role(parsing: value)?.text ?? value }
            if let value = definition.onFail { meta["on-fail"] = value }
            if let value = definition.timeout { meta["timeout"] = value }
            if let value = definition.enabled { meta["enabled"] = value }
            for attribute in definition.extras.attributes where attribute.name != "id" { meta[attribute.name] = attribute.value }
        }
        if action.task == "demote", meta["on-fail"] == nil, let inherited = Self.promotedMonitorOnFail(operations) {
            meta["on-fail"] = inherited
        }
        // Pacemaker writes "block" back into the meta, in lower case, whatever the spelling.
        if meta["on-fail"]?.lowercased() == "block" { meta["on-fail"] = "block" }
        if interval > 0 { meta["interval"] = String(interval) } else { meta["interval"] = nil }
        if let delay = meta["start-delay"] { meta["start-delay"] = Self.milliseconds(delay).map(String.init) }
        meta["timeout"] = String(Self.milliseconds(meta["timeout"]) ?? 20_000)
        if let rc = targetRCs[action.id] { meta["op_target_rc"] = String(rc) }
        if let cancelled = cancelledTasks[action.id] {
            meta["operation"] = cancelled.task
            if let callID = cancelled.callID { meta["call_id"] = String(callID) }
        }
        for (name, value) in extraMeta[action.id] ?? [:] where !(name == "record-pending" && meta[name] != nil) { meta[name] = value }
        var result: [String: String] = [:]
        for (name, value) in meta { result["CRM_meta_" + name.replacingDashes] = value }
        // The clone's variables, and the instance number of a primitive instance.
        var ancestor: SchedulerResource? = resource
        while let current = ancestor {
            if current.kind == .clone {
                result["CRM_meta_clone_max"] = String(current.cloneMax)
                result["CRM_meta_clone_node_max"] = String(current.cloneNodeMax)
                result["CRM_meta_globally_unique"] = current.globallyUnique ? "true" : "false"
                result["CRM_meta_notify"] = truthy(current.meta["notify"]) ? "true" : "false"
                if current.promotable {
                    for name in ["promoted_max", "master_max"] { result["CRM_meta_" + name] = String(current.promotedMax) }
                    for name in ["promoted_node_max", "master_node_max"] { result["CRM_meta_" + name] = String(current.promotedNodeMax) }
                }
            }
            ancestor = current.parent
        }
        if resource.kind == .primitive, resource.cloneParent != nil, let colon = resource.id.lastIndex(of: ":") {
            result["CRM_meta_clone"] = String(resource.id[resource.id.index(after: colon)...])
        }
        if resource.kind == .primitive, let container = set.container(of: resource) {
            result["CRM_meta_container"] = container.id
        }
        return result
    }

    /// The resource's instance parameters for the node (its parents' too), then the
    /// configured operation's own.
    private func parameters(_ resource: SchedulerResource, on node: SchedulerNode?, action: SchedulerAction) -> [String: String] {
        guard let primitive = resource.primitive else { return [:] }
        let context = RuleContext(node: node, resourceClass: primitive.resourceClass, provider: primitive.provider,
                                  type: primitive.type, now: set.now)
        var result = set.values(of: primitive.attributes.instance, in: context)
        // Names XML cannot carry as attributes (a heartbeat-class "1") are not written.
        for name in result.keys where name.first.map({ !($0.isLetter || $0 == "_") }) ?? true { result[name] = nil }
        var parent = resource.parent
        while let current = parent {
            if let sets = set.instanceAttributeSets(of: current) {
                for (name, value) in set.values(of: sets, in: context) where result[name] == nil { result[name] = value }
            }
            parent = current.parent
        }
        let interval = intervals[action.id] ?? 0
        if let definition = definitions[action.id]
            ?? primitive.operations?.operations.first(where: { $0.name == action.task && $0.intervalMilliseconds == interval }) {
            for (name, value) in set.values(of: definition.attributes.instance, in: context) { result[name] = value }
        }
        return result
    }

    /// Pacemaker's crm_get_msec for timeouts ("20s", "1min", "500ms", "30"): milliseconds.
    static func milliseconds(_ text: String?) -> Int? {
        guard let text else { return nil }
        return Duration.milliseconds(parsing: text)
    }
}

extension WorkingSet {
    /// The instance attribute sets configured on a group or clone.
    func instanceAttributeSets(of resource: SchedulerResource) -> [NameValueSet]? {
        for entry in cib.configuration.resources where entry.id == resource.baseID || entry.id == resource.id {
            switch entry {
            case .group(let group): return group.attributes.instance
            case .clone(let clone): return clone.attributes.instance
            default: return nil
            }
        }
        // A group inside a clone.
        for entry in cib.configuration.resources {
            if case .clone(let clone) = entry, case .group(let group)? = clone.child, group.id == resource.baseID {
                return group.attributes.instance
            }
        }
        return nil
    }

    func transitionGraph() -> TransitionGraph {
        var builder = TransitionGraphBuilder(set: self)
        return builder.build()
    }
}

extension String {
    /// Meta names as CRM_meta_ variables spell them ("on-fail" is CRM_meta_on_fail).
    var replacingDashes: String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}

extension Scheduler {
    /// An ISO 8601 date and time ("2014-05-07 00:28:00", "2005-020T12:30", "2005-020") as
    /// seconds since the epoch, read as the scheduler reads dates in rules; nil when unreadable.
    public static func parseDate(_ text: String, in cib: CIB) -> Int? {
        WorkingSet(cib: cib, now: nil, explain: false).parseISODate(text)
    }
}

extension Transition {
    /// crm_simulate -s's score lines, as far as the explanation records them: each
    /// assignment's node scores ("pcmk__primitive_assign: R allocation score on N: S") and
    /// promotion scores ("R promotion score on N: S"), sorted as the suite's scores files are.
    /// Empty unless the run was made with `explain`.
    public var scoreLines: [String] {
        var lines: [String] = []
        for line in explanation {
            if line.hasPrefix("assign "), let arrow = Substring(line).range(of: " -> "), let open = line.lastIndex(of: "[") {
                let resource = line[line.index(line.startIndex, offsetBy: 7)..<arrow.lowerBound]
                for pair in line[line.index(after: open)...].dropLast().split(separator: " ") {
                    guard let equals = pair.lastIndex(of: "=") else { continue }
                    let value = pair[pair.index(after: equals)...]
                    guard value != "-" else { continue }
                    lines.append("pcmk__primitive_assign: \(resource) allocation score on \(pair[..<equals]): \(value)")
                }
            } else if line.hasPrefix("promotion score ") {
                lines.append(String(line.dropFirst("promotion score ".count)).replacingFirst(" on ", with: " promotion score on "))
            }
        }
        return lines.sorted()
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = Substring(self).range(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
