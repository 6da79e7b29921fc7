import CIB

/// A pseudo-action whose flags follow its members (group/clone "running", "stopped" …).
struct DerivedPseudo {
    let action: Int
    let sources: [Int]
    /// Clones: runnable when any member is; groups: when all are.
    let anyRunnable: Bool
    /// When set: runnable when at least this many sources are.
    var minimum: Int? = nil
}

/// Actions, their orderings, and the propagation of "required" and "unrunnable" along them.
extension WorkingSet {
    func createActions() {
        let uncleanNodes = fenceOrder.filter(\.unclean) + nodes.filter { node in node.unclean && !fenceOrder.contains { $0 === node } }
        for node in uncleanNodes where canFence(node) {
            let id = addAction(nil, "stonith", node, optional: false)
            actions[id].fenceReason = node.fenceReason ?? "node is unclean"
            fenceActions.append(id)
        }
        for node in nodes where node.shutdown && node.online && !node.unclean {
            shutdownActions.append(addAction(nil, "do_shutdown", node, optional: false))
        }
        for resource in allPrimitives { createPrimitiveActions(resource) }
        // Members first: a clone of groups waits for its groups' own pseudo-actions.
        for resource in allResources().reversed() where resource.kind != .primitive { createCollectiveActions(resource) }
        inhibitUnpairedInterleavedInstances()
        for spec in orderConstraints { applyOrder(spec) }
    }

    /// An interleaved clone instance not yet running may start only where an instance of the
    /// clone it is ordered after (start or promote, mandatory) is placed; otherwise it is left
    /// unassigned. Pacemaker applies this while it updates the graph, so it carries along a
    /// chain of such orders whatever their order in the configuration (order-clone: a disabled
    /// clone at the head leaves every clone after it unassigned, with no summary line).
    private func inhibitUnpairedInterleavedInstances() {
        let specs = orderConstraints.filter { spec in
            spec.oneOrMoreName == nil && spec.mandatory && !spec.inverted
                && (spec.firstAction == "start" || spec.firstAction == "promote")
                && spec.interleaved
        }
        // Each round unassigns at least one instance, so the rounds are bounded by the instances.
        let roundsMax = specs.reduce(1) { $0 + $1.then.children.count }
        var changed = true
        var rounds = 0
        while changed {
            precondition(rounds <= roundsMax, "unassigning unpaired interleaved instances did not settle after \(rounds) rounds")
            changed = false
            rounds += 1
            for spec in specs {
                for thenInstance in spec.then.children where !thenInstance.isActive {
                    guard let node = thenInstance.allocatedTo else { continue }
                    let paired = spec.first.children.contains { ($0.allocatedTo ?? $0.primitives.first?.runningOn.first) === node }
                    if paired { continue }
                    inhibit(thenInstance)
                    changed = true
                }
            }
        }
    }

    /// Leaves a clone instance that is not running unassigned: it will not start.
    private func inhibit(_ instance: SchedulerResource) {
        for member in [instance] + instance.children {
            if let allocated = member.allocatedTo { allocated.assignedCount -= 1 }
            member.allocatedTo = nil
            member.nextRole = .stopped
        }
        for primitive in instance.primitives {
            for id in primitive.actions where actions[id].task == "start" { actions[id].runnable = false }
        }
    }

    private func fenceAction(for node: SchedulerNode) -> Int? {
        fenceActions.first { actions[$0].node === node }
    }

    private func createPrimitiveActions(_ resource: SchedulerResource) {
        let next = resource.allocatedTo
        var nextRole = resource.nextRole ?? (next == nil ? .stopped : .started)
        if next == nil { nextRole = .stopped }
        resource.nextRole = nextRole
        let multiple = isMultiplyActive(resource)
        guard resource.managed else {
            // Unmanaged: nothing is done to it, but orderings may still refer to it.
            let node = resource.runningOn.first
            addAction(resource, "start", node, optional: true, runnable: !resource.blocked && node != nil)
            // A blocked resource needs its stop (Pacemaker's need_stop), which cannot happen.
            if let node { addAction(resource, "stop", node, optional: !resource.blocked, runnable: !resource.blocked) }
            return
        }
        var stops: [Int] = []
        var demotes: [Int] = []
        // multiple-active=stop_unexpected: only the copies away from its node are stopped.
        let stopUnexpected = multiple && next != nil && resource.meta["multiple-active"]?.lowercased() == "stop_unexpected"
        resource.stopUnexpected = stopUnexpected
        for node in resource.runningOn {
            if stopUnexpected && node === next { continue }
            let roleHere = resource.roleOnNode[node.name] ?? .started
            var mustStop = multiple || next == nil || next !== node || resource.failed || nextRole == .stopped
            // Staying on its clean node, a resource that needs no fencing is not stopped for its
            // copy on a node being fenced (that stop is only implied by the fencing).
            var impliedOnly = false
            if mustStop && !multiple && node.unclean && !resource.failed && !requiresFencing(resource)
                && next != nil && resource.runningOn.first === next { mustStop = false; impliedOnly = true }
            let stop = addAction(resource, "stop", node, optional: !mustStop)
            if node.unclean {
                actions[stop].pseudo = true
                if let fence = fenceAction(for: node) {
                    order(fence, stop, impliedOnly ? [] : [.impliesThen])
                } else {
                    actions[stop].runnable = false
                }
            } else if node.guestContainer != nil && ((!node.online && node.remoteRequiresReset) || !canFenceGuest(node)) {
                // An offline guest node that needs a reset runs nothing (fencing it, when its
                // host can be fenced, implies the stop instead); nor can a stop complete on a
                // guest whose host is down and cannot be fenced (Pacemaker's
                // update_resource_action_runnable).
                actions[stop].runnable = false
            }
            if next == nil && mustStop { actions[stop].reason = "node availability" }
            if stopUnexpected { actions[stop].reason = "being multiply active" }
            stops.append(stop)
            if roleHere == .promoted {
                let demote = addAction(resource, "demote", node, optional: !(mustStop || nextRole < .promoted))
                if node.unclean { actions[demote].pseudo = true }
                if !actions[stop].runnable { actions[demote].runnable = false }
                order(demote, stop, [.impliesFirst])
                demotes.append(demote)
            }
        }
        let start: Int
        if let next, nextRole >= .started {
            let staying = resource.runningOn.contains { $0 === next } && !multiple && !resource.failed
            var change = staying ? definitionChange(resource, on: next) : .none
            if staying && resource.restartRequired { change = .restart }
            let restart = change == .restart || change == .stopRequired
            // Moving, a definition change's start still exists: Pacemaker creates it before
            // placement, with no node (force_restart), so unrunnable, and under freeze nothing
            // makes it runnable again once placed (pe_actions.c only clears the flag there).
            let restartedElsewhere = !staying && resource.runningOn.contains { resource.configChanges[$0.name]?.restart == true }
            start = addAction(resource, "start", next, optional: staying && !restart && !resource.stoppedButActive)
            if restartedElsewhere && !resource.restartRequired && !startRequiresNothing(resource) {
                // The start Pacemaker made for the restart is the one placed elsewhere: it keeps
                // the reason ("Migrate rsc ( n1 -> n2 ) due to resource definition change").
                actions[start].reason = "resource definition change"
            }
            if restart {
                // (Pacemaker gives the start this reason before it has a node; placing the start
                // of a resource that requires nothing clears its reason again: probe-2.)
                if change == .restart && !resource.restartRequired && !startRequiresNothing(resource) {
                    actions[start].reason = "resource definition change"
                }
                for stop in stops where actions[stop].node === next { actions[stop].optional = false }
            } else if change == .reload {
                resource.reload = true
            }
            // requires=nothing: may start without quorum.
            let promotableInstance = resource.cloneParent?.promotable ?? false
            if !haveQuorum && !startRequiresNothing(resource) {
                if noQuorumPolicy == "demote" && promotableInstance && resource.isActive {
                    // no-quorum-policy=demote: promotable instances keep running, unpromoted.
                } else if noQuorumPolicy == "stop" || noQuorumPolicy == "suicide" || noQuorumPolicy == "demote" {
                    actions[start].runnable = false
                    actions[start].reason = "no quorum"
                } else if noQuorumPolicy == "freeze", !resource.isActive || nextRole > resource.role || restart || restartedElsewhere {
                    // (A restart's start is a start: frozen too; the stop stays, for the
                    // restart's own reason.)
                    actions[start].runnable = false
                    let frozen = !resource.isActive || nextRole > resource.role
                    if restartedElsewhere && !frozen {
                        actions[start].reason = "resource definition change"
                    } else if !restart {
                        actions[start].reason = "quorum freeze"
                    }
                }
            }
            // A start waits for the probes of pending nodes that have never seen the resource;
            // those probes cannot run yet, so the start is blocked (silently).
            if !staying, nodes.contains(where: { node in
                node.pending && !node.unclean && !resource.historyNodes.contains { $0.name == node.name }
            }) {
                actions[start].runnable = false
            }
            // Pacemaker's start_resource creates the start optional and makes it required only
            // if it can run then: a start blocked from the outset (no quorum, quorum freeze, a
            // pending node's probe) stays optional, so what is ordered after it is not made
            // required by it and names it as unrunnable ("due to unrunnable b start", seed
            // 41182). A restart's start was created required before placement (force_restart).
            if !actions[start].runnable && !restart && !restartedElsewhere { actions[start].optional = true }
            if !actions[start].runnable { startsUnrunnableAtCreation.insert(start) }
            if !actions[start].optional { startsRequiredAtCreation.insert(start) }
            if nextRole == .promoted {
                let wasPromoted = resource.roleOnNode[next.name] == .promoted
                // A restart known when the actions are created promotes again; one that orderings
                // make required later does not (Pacemaker orders start -> promote with
                // pe_order_runnable_left only, and schedules the promote of a promoted resource
                // that restarts only when its stop is needed from the start).
                let promote = addAction(resource, "promote", next, optional: wasPromoted && staying && actions[start].optional)
                order(start, promote, [.runnableLeft])
                for demote in demotes { order(demote, promote, []) }
                // A promoted failure with on-fail=demote: demoted, then promoted again.
                if resource.demoteRecovery && wasPromoted && staying {
                    actions[promote].optional = false
                    for demote in demotes where actions[demote].node === next { actions[demote].optional = false }
                }
                if !haveQuorum && noQuorumPolicy != "ignore" && !wasPromoted {
                    actions[promote].runnable = false
                    // (blocked without a reason of its own, as Pacemaker reports it)
                }
            }
        } else {
            // No start is scheduled: a placeholder, unrunnable, that orderings can refer to.
            start = addAction(resource, "start", nil, optional: true, runnable: false)
            // A definition change where it runs made Pacemaker create a required start before
            // placement (force_restart), with no node: it stays required and unrunnable when
            // the resource only stops, and what it implies is printed (a group's or clone's
            // start pseudo-event, through pe_order_implies_first_printed).
            if resource.runningOn.contains(where: { resource.configChanges[$0.name]?.restart == true }) {
                actions[start].optional = false
                actions[start].reason = "resource definition change"
                forcedRestartStarts.insert(start)
            }
        }
        for stop in stops {
            order(stop, start, [.impliesThen, .restart])
            // A stop that cannot happen blocks the start; the start carries the stop's reason.
            order(stop, start, [.runnableLeft, .inheritReason, .whenFirstRequired])
        }
    }

    private func createCollectiveActions(_ resource: SchedulerResource) {
        let isClone = resource.kind == .clone
        if isClone {
            // What Pacemaker's clone_update_pseudo_status sees now, before any ordering: an
            // instance's required stop (the graph's stop and stopped milestones).
            let memberActions = resource.primitives.flatMap(\.actions).map { actions[$0] }.filter { !$0.optional }
            if memberActions.contains(where: { $0.task == "stop" && ($0.runnable || $0.pseudo) }) { clonesStoppingAtCreation.insert(ObjectIdentifier(resource)) }
        }
        let tasks: [(entry: String, exit: String, member: String)] = [
            ("start", "running", "start"), ("stop", "stopped", "stop"),
            ("promote", "promoted", "promote"), ("demote", "demoted", "demote"),
        ]
        for task in tasks {
            let entry = addAction(resource, task.entry, nil, optional: true, pseudo: true)
            let exit = addAction(resource, task.exit, nil, optional: true, pseudo: true)
            var sources: [Int] = []
            for child in resource.children {
                // (A collective's stop or demote reaches its members with no runnability:
                // Pacemaker orders them pe_order_implies_first_printed only, so a group's or
                // clone's stop that cannot run, behind a blocked stop, blocks no member's: seed
                // 40409.)
                let flags: OrderingFlags = task.entry == "stop" || task.entry == "demote" ? [] : [.runnableLeft, .inheritReason]
                for id in entryActions(child, task.member) { order(entry, id, flags) }
                if let id = exitAction(child, task.member) { sources.append(id) }
            }
            order(entry, exit, [])
            derived.append(DerivedPseudo(action: exit, sources: sources, anyRunnable: isClone))
        }
        if resource.kind == .group {
            let members = resource.children
            for index in members.indices.dropFirst() {
                order(findAction(members[index - 1], "start"), findAction(members[index], "start"), [.impliesThen, .runnableLeft])
                if let laterStop = findAction(members[index], "stop"), let earlierStop = findAction(members[index - 1], "stop") {
                    order(laterStop, earlierStop, [.waitsForBlocked, .memberStopRestart])
                }
                if let earlierPromote = findAction(members[index - 1], "promote"), let laterPromote = findAction(members[index], "promote") {
                    order(earlierPromote, laterPromote, [.runnableLeft])
                }
            }
        }
    }

    /// The actions an ordering that ends at `task` of this resource points to.
    func entryActions(_ resource: SchedulerResource, _ task: String) -> [Int] {
        if resource.kind == .primitive {
            return resource.actions.filter { actions[$0].task == task }
        }
        return findAction(resource, task).map { [$0] } ?? []
    }

    /// The action an ordering that starts at `task` of this resource waits for.
    func exitAction(_ resource: SchedulerResource, _ task: String) -> Int? {
        if resource.kind == .primitive {
            let candidates = resource.actions.filter { actions[$0].task == task }
            return candidates.first { !actions[$0].optional } ?? candidates.first
        }
        let exitTask = ["start": "running", "stop": "stopped", "promote": "promoted", "demote": "demoted"][task] ?? task
        return findAction(resource, exitTask)
    }

    private func applyOrder(_ spec: OrderConstraintSpec) {
        // Pacemaker's flags per order kind: mandatory orders make "then" required when "first"
        // is, and unrunnable when a first start/promote is; their inverse halves make "first"
        // required when "then" is.
        var effective: OrderingFlags = []
        if spec.mandatory && spec.inverted {
            effective = [.impliesFirst]
        } else if spec.mandatory && !spec.symmetrical {
            effective = [.asymmetrical]
        } else if spec.mandatory {
            effective = [.impliesThen]
            if spec.firstAction == "start" || spec.firstAction == "promote" { effective.insert(.runnableLeft) }
        } else if spec.impliesThen {
            effective = [.impliesThen]
        }
        // New clone instances starting do not restart what is ordered after the clone; a
        // bundle's new containers do restart what the configuration orders after the bundle.
        let interleaved = spec.interleaved
        // (Pacemaker judges a clone's action for the node of the action ordered after it: only
        // an instance required on that same node makes it required there.)
        // (Bundles keep the rule they had: a bundle first implies what follows it in full; what
        // follows a clone inside or as a bundle is not judged per node.)
        if spec.first.kind == .clone && !interleaved && !(spec.first.isBundle && !spec.then.bundlePart) {
            let implied = effective.contains(.impliesThen)
            effective.remove(.impliesThen)
            if implied && !spec.then.isBundle && !spec.then.bundlePart { effective.insert(.impliesThenOnNode) }
        }
        if spec.oneOrMoreName == nil, spec.interleaved {
            // The clones' own pseudo-events stay ordered too (Pacemaker keeps the ordering it
            // remapped to the first clone's milestone, and interleaves the instances from it).
            if let first = exitAction(spec.first, spec.firstAction) {
                for then in entryActions(spec.then, spec.thenAction) { interleavedCloneOrderings.append((first, then)) }
            }
            for thenInstance in spec.then.children {
                guard let node = thenInstance.allocatedTo ?? thenInstance.primitives.first?.runningOn.first else { continue }
                guard let firstInstance = spec.first.children.first(where: { ($0.allocatedTo ?? $0.primitives.first?.runningOn.first) === node }) else {
                    // Nothing of "first" there: an instance that is not running yet may not start there.
                    if !spec.inverted && effective.contains(.runnableLeft) && !thenInstance.isActive { inhibit(thenInstance) }
                    continue
                }
                // Placed where "first" keeps no instance (it runs there but stops): an active
                // instance cannot stay either; it is stopped (Pacemaker unassigns it, the stop
                // required without a reason of its own).
                if !spec.inverted && effective.contains(.runnableLeft) && thenInstance.isActive
                    && firstInstance.allocatedTo == nil && thenInstance.allocatedTo === node
                    && thenInstance.primitives.allSatisfy({ $0.runningOn.count == 1 && $0.runningOn.first === node }) {
                    for member in [thenInstance] + thenInstance.children {
                        if let allocated = member.allocatedTo { allocated.assignedCount -= 1 }
                        member.allocatedTo = nil
                        member.nextRole = .stopped
                    }
                    for primitive in thenInstance.primitives {
                        for id in primitive.actions {
                            if actions[id].task == "stop" { actions[id].optional = false }
                            if actions[id].task == "start" { actions[id].runnable = false }
                        }
                    }
                    continue
                }
                for then in entryActions(thenInstance, spec.thenAction) {
                    order(exitAction(firstInstance, spec.firstAction), then, effective)
                }
            }
            return
        }
        if let name = spec.oneOrMoreName {
            let pseudo: Int
            if let existing = oneOrMoreActions[name] {
                pseudo = existing
            } else {
                pseudo = addAction(nil, name, nil, optional: true, pseudo: true)
                oneOrMoreActions[name] = pseudo
                derived.append(DerivedPseudo(action: pseudo, sources: [], anyRunnable: true, minimum: spec.oneOrMoreMinimum))
            }
            let sources: [Int]
            if spec.first.kind == .clone && spec.oneOrMoreName!.hasPrefix("clone-") {
                sources = spec.first.children.compactMap { exitAction($0, spec.firstAction) }
            } else {
                sources = exitAction(spec.first, spec.firstAction).map { [$0] } ?? []
            }
            if let index = derived.firstIndex(where: { $0.action == pseudo }) {
                derived[index] = DerivedPseudo(action: pseudo, sources: derived[index].sources + sources.filter { !derived[index].sources.contains($0) },
                                               anyRunnable: true, minimum: spec.oneOrMoreMinimum)
            }
            for source in sources { order(source, pseudo, []) }
            for then in entryActions(spec.then, spec.thenAction) { order(pseudo, then, effective) }
            return
        }
        guard let first = exitAction(spec.first, spec.firstAction) else { return }
        // An asymmetrical order does not hold back its "then" because a running "first" is
        // being stopped (observed in Pacemaker 2.1.5: bug-5014-A-stop-B-started).
        if !spec.symmetrical && spec.first.isActive && spec.firstAction == "start"
            && spec.first.primitives.allSatisfy({ $0.allocatedTo == nil }) { return }
        for then in entryActions(spec.then, spec.thenAction) { order(first, then, effective) }
        // A primitive active on several nodes has a stop on each: "then" waits for every one
        // (Pacemaker orders every action with the first's key).
        if spec.first.kind == .primitive {
            for other in spec.first.actions where other != first && actions[other].task == actions[first].task && actions[other].node != nil {
                for then in entryActions(spec.then, spec.thenAction) { order(other, then, effective) }
            }
        }
        // A required first action makes every member's action required too (the collective
        // entry pseudo-action only carries runnability to them).
        if spec.then.kind == .group && spec.first.kind == .primitive && effective.contains(.impliesThen),
           let entry = spec.then.children.first {
            // A primitive's required action makes a group's first member's action required (a
            // restart when it runs); the group's own orderings carry it to the other members,
            // "required <previous member> start" (Pacemaker's group_update_actions).
            for then in entryActions(entry, spec.thenAction) { order(first, then, [.impliesThen, .settlesLast]) }
        } else if spec.then.kind != .primitive && effective.contains(.impliesThen) {
            let flags: OrderingFlags = spec.then.kind == .clone ? [.impliesThen] : [.impliesThenOnNode]
            // A clone of groups: each instance's first member; the instance's own orderings
            // carry it to the others ("required <previous member> start", as Pacemaker says).
            let members = spec.then.kind == .clone && spec.then.children.contains(where: { $0.kind == .group })
                ? spec.then.children.compactMap { $0.kind == .group ? $0.children.first : $0 }
                : spec.then.primitives
            for member in members {
                for then in entryActions(member, spec.thenAction) { order(first, then, flags) }
            }
        } else if spec.then.kind != .primitive && effective.contains(.impliesThenOnNode) {
            // A clone ordered after a clone as a whole: judged for no node in particular, so any
            // instance's required action makes it required for every member (a group's members
            // are judged for their own node).
            let flags: OrderingFlags = spec.then.kind == .clone ? [.impliesThen] : [.impliesThenOnNode]
            for member in spec.then.primitives {
                for then in entryActions(member, spec.thenAction) { order(first, then, flags) }
            }
        }
    }

    enum DefinitionChange { case none, reload, restart, stopRequired }

    /// What the configuration checks found changed in the definition it runs with on the node.
    func definitionChange(_ resource: SchedulerResource, on node: SchedulerNode) -> DefinitionChange {
        guard let change = resource.configChanges[node.name] else { return .none }
        if change.restart { return .restart }
        if change.stopRequired { return .stopRequired }
        return change.reload ? .reload : .none
    }

    // MARK: migration

    /// Resources with allow-migrate that move, healthy, between healthy nodes, migrate
    /// unless something they are ordered after moves the hard way. Instances of a clone that is
    /// not promotable migrate too (crm_simulate 2.1.5: "Migrate a:0 ( node1 -> node2 )").
    func decideMigrations() {
        var candidates: [SchedulerResource] = allPrimitives.filter { resource in
            guard truthy(resource.meta["allow-migrate"]), resource.managed, !resource.failed, resource.cloneParent == nil || resource.cloneParent?.promotable == false,
                  !resource.migrationBlocked,
                  resource.runningOn.count == 1, let current = resource.runningOn.first, let next = resource.allocatedTo,
                  current !== next, current.online, !current.unclean, resource.role == .started,
                  (resource.nextRole ?? .started) == .started,
                  let start = findAction(resource, "start", node: next), actions[start].runnable else { return false }
            return true
        }
        var changed = true
        while changed {
            changed = false
            for resource in candidates {
                guard let start = findAction(resource, "start", node: resource.allocatedTo) else { continue }
                for ordering in orderings where ordering.then == start && ordering.flags.contains(.impliesThen) {
                    guard let blocker = actions[ordering.first].resource, blocker !== resource, blocker.kind == .primitive,
                          actions[ordering.first].task == "start", isMovingHard(blocker, candidates: candidates) else { continue }
                    candidates.removeAll { $0 === resource }
                    // (A guest's connection simply moves with its container.)
                    if let stop = findAction(resource, "stop"), actions[stop].reason == nil, container(of: resource) !== blocker {
                        actions[stop].reason = "unrunnable \(blocker.id) stop"
                    }
                    changed = true
                    break
                }
            }
        }
        // Nor after a clone (a mandatory order) some of whose instances move (instances never
        // migrate): the clone's stop cannot wait for the migration.
        for resource in candidates {
            guard let start = findAction(resource, "start", node: resource.allocatedTo) else { continue }
            for ordering in orderings where ordering.then == start && ordering.flags.contains(.runnableLeft) {
                guard let clone = actions[ordering.first].resource, clone.kind == .clone,
                      actions[ordering.first].task == "running",
                      clone.primitives.contains(where: { isMovingHard($0, candidates: []) }) else { continue }
                candidates.removeAll { $0 === resource }
                if let stop = findAction(resource, "stop"), actions[stop].reason == nil {
                    actions[stop].reason = "unrunnable \(clone.id) stop"
                }
                break
            }
        }
        for resource in candidates { resource.migrating = true }
    }

    private func isMovingHard(_ resource: SchedulerResource, candidates: [SchedulerResource]) -> Bool {
        guard let current = resource.runningOn.first, let next = resource.allocatedTo, current !== next else { return false }
        return !candidates.contains { $0 === resource }
    }

    // MARK: propagation

    func propagate() {
        var sourcesOf: [Int: [Int]] = [:]
        for pseudo in derived { sourcesOf[pseudo.action] = pseudo.sources }
        var changed = true
        var rounds = 0
        // The orderings that settle last join once the others are settled.
        var allOrderings = false
        while changed && rounds < 1000 {
            changed = false
            rounds += 1
            for ordering in orderings {
                if !allOrderings && ordering.flags.contains(.settlesLast) { continue }
                let first = actions[ordering.first], then = actions[ordering.then]
                // A migrating resource's start does not force a restart of what follows it.
                if ordering.flags.contains(.impliesThen) && !first.optional && then.optional
                    && !(first.task == "start" && first.resource?.migrating == true && then.resource !== first.resource) {
                    actions[ordering.then].optional = false
                    if actions[ordering.then].reason == nil && (first.resource != nil || ordering.flags.contains(.reasonFromTask))
                        && first.resource !== then.resource {
                        actions[ordering.then].reason = "required \(describe(first))"
                    }
                    changed = true
                }
                if ordering.flags.contains(.impliesThenOnNode) && then.optional, let node = then.node,
                   first.resource != nil, first.resource !== then.resource,
                   (sourcesOf[ordering.first] ?? []).contains(where: { !actions[$0].optional && actions[$0].node === node }) {
                    actions[ordering.then].optional = false
                    if actions[ordering.then].reason == nil { actions[ordering.then].reason = "required \(describe(first))" }
                    changed = true
                }
                if ordering.flags.contains(.runnableLeft) && !first.runnable && then.runnable
                    && !(ordering.flags.contains(.whenFirstRequired) && first.optional) {
                    actions[ordering.then].runnable = false
                    if actions[ordering.then].reason == nil && !ordering.flags.contains(.silent)
                        && first.resource !== then.resource {
                        actions[ordering.then].reason = ordering.flags.contains(.inheritReason) ? first.reason : "unrunnable \(describe(first))"
                    }
                    changed = true
                }
                if ordering.flags.contains(.asymmetrical) && !first.runnable && then.runnable, let resource = then.resource {
                    let stopOfStopped = then.task == "stop" && !resource.isActive
                    let startWhereRunning = then.task == "start" && then.optional && then.node != nil
                        && resource.runningOn.count == 1 && resource.runningOn.first === then.node
                    if !stopOfStopped && !startWhereRunning {
                        actions[ordering.then].optional = false
                        actions[ordering.then].runnable = false
                        if actions[ordering.then].reason == nil && first.resource !== resource {
                            actions[ordering.then].reason = "unrunnable \(describe(first))"
                        }
                        changed = true
                    }
                }
                // Nor does a migrating resource's stop force what is ordered before it to stop.
                if ordering.flags.contains(.impliesFirst) && !then.optional && first.optional
                    && !(then.task == "stop" && then.resource?.migrating == true && first.resource !== then.resource) {
                    actions[ordering.first].optional = false
                    changed = true
                }
                if ordering.flags.contains(.memberStopRestart) && applyMemberStopRestart(ordering) { changed = true }
                // An action ordered after one that a blocked resource cannot perform waits forever.
                // (Pacemaker's check of a blocked, unmanaged, unrunnable stop also holds for the
                // orderings that imply "first", the inverse of a mandatory order: the stop ordered
                // after a blocked stop becomes unrunnable here, before the rule below could give it
                // a reason, so a restart's summary line prints the start's reason: seed 42124.)
                if (ordering.flags.contains(.impliesThen) || ordering.flags.contains(.waitsForBlocked)
                    || (ordering.flags.contains(.impliesFirst) && first.task == "stop"))
                    && !first.runnable && actions[ordering.then].runnable
                    && first.resource?.blocked == true && first.resource !== then.resource && first.node != nil {
                    actions[ordering.then].runnable = false
                    // (Pacemaker gives no reason here: a member stop's reason comes from the
                    // member-stop restart ordering, when there is one.)
                    changed = true
                }
                // A required action that must wait for one that cannot happen cannot happen either.
                // (Not behind a collective's pseudo-action, which has no node: Pacemaker keeps a
                // clone's stop runnable, so a stop ordered after a frozen clone's stop is not
                // blocked: seed 40347.)
                if ordering.flags.contains(.impliesFirst) && !then.optional && !first.runnable && actions[ordering.then].runnable && first.node != nil
                    && first.resource != nil && first.resource !== then.resource {
                    actions[ordering.then].runnable = false
                    if actions[ordering.then].reason == nil { actions[ordering.then].reason = "unrunnable \(describe(first))" }
                    changed = true
                }
                if ordering.flags.contains(.restart) && first.optional && (!then.optional || !then.runnable) {
                    if let resource = first.resource, let node = first.node, resource.runningOn.contains(where: { $0 === node }) {
                        if then.optional == false || then.node == nil || then.node === resource.allocatedTo {
                            actions[ordering.first].optional = false
                            changed = true
                        }
                    }
                }
            }
            for pseudo in derived where !pseudo.sources.isEmpty {
                let sources = pseudo.sources.map { actions[$0] }
                let runnable: Bool
                if let minimum = pseudo.minimum {
                    runnable = sources.filter(\.runnable).count >= minimum
                } else {
                    runnable = pseudo.anyRunnable ? sources.contains { $0.runnable } : sources.allSatisfy { $0.runnable }
                }
                let optional = sources.allSatisfy { $0.optional }
                if !runnable && actions[pseudo.action].runnable { actions[pseudo.action].runnable = false; changed = true }
                // one-or-more pseudo-actions carry runnability only.
                if pseudo.minimum == nil && !optional && actions[pseudo.action].optional {
                    actions[pseudo.action].optional = false
                    changed = true
                }
            }
            if !changed && !allOrderings {
                allOrderings = true
                changed = true
            }
        }
    }

    private func describe(_ action: SchedulerAction) -> String {
        guard let resource = action.resource else { return action.task }
        return "\(resource.id) \(action.task)"
    }
}
