import CIB

/// A start (or promote) that cannot happen blocks what is colocated with its resource
/// mandatorily: the dependent cannot reach its colocated role either (Pacemaker's
/// pcmk__block_colocation_dependents). The blocked actions say "colocation with PRIMARY".
extension WorkingSet {
    /// Blocks colocation dependents of the starts and promotes that are unrunnable as created,
    /// then propagates, then blocks dependents of what became unrunnable and propagates again
    /// until nothing more is blocked (Pacemaker blocks dependents of every action once before
    /// it updates actions for their orderings, so those blocks carry "colocation with" reasons).
    func propagateBlockingColocations() {
        var byPrimary: [ObjectIdentifier: [Colocation]] = [:]
        for resource in allResources() {
            for colocation in resource.primaryColocations where colocation.score >= .infinity {
                byPrimary[ObjectIdentifier(colocation.namedPrimary ?? colocation.primary), default: []].append(colocation)
            }
        }
        guard !byPrimary.isEmpty else { propagate(); return }
        var handled = Set<Int>()
        while blockDependents(byPrimary, handled: &handled) {}
        propagate()
        while blockDependents(byPrimary, handled: &handled) { propagate() }
    }

    /// One pass over the unrunnable starts and promotes not yet handled; whether it blocked anything.
    private func blockDependents(_ byPrimary: [ObjectIdentifier: [Colocation]], handled: inout Set<Int>) -> Bool {
        var changed = false
        for id in actions.indices where !actions[id].runnable && !handled.contains(id) {
            let action = actions[id]
            guard action.task == "start" || action.task == "promote",
                  let resource = action.resource, resource.kind == .primitive, resource.managed else { continue }
            let top = resource.top
            // Looked at again later while another instance can still do it.
            guard let colocations = byPrimary[ObjectIdentifier(top)], everyInstanceBlocked(top, task: action.task) else { continue }
            handled.insert(id)
            for colocation in colocations {
                // An unpromotable primary only blocks what needs it promoted.
                if action.task == "promote" && colocation.primaryRole != .promoted { continue }
                let dependent = colocation.namedDependent ?? colocation.dependent
                let task = colocation.dependentRole == .promoted ? "promote" : "start"
                if markBlocked(dependent, task: task, reason: "colocation with \(resource.id)") { changed = true }
            }
        }
        return changed
    }

    /// Whether no member of a collective can perform the task (a primitive: trivially true).
    private func everyInstanceBlocked(_ top: SchedulerResource, task: String) -> Bool {
        guard top.kind != .primitive else { return true }
        for child in top.children {
            let childActions: [Int]
            if child.kind == .primitive {
                childActions = findActions(child, task)
            } else {
                childActions = findAction(child, task).map { [$0] } ?? []
            }
            guard let first = childActions.first, !actions[first].runnable else { return false }
        }
        return true
    }

    /// Makes the resource's (and its members') runnable actions of the task unrunnable.
    private func markBlocked(_ resource: SchedulerResource, task: String, reason: String) -> Bool {
        var changed = false
        for id in resource.actions where actions[id].task == task && actions[id].runnable {
            actions[id].runnable = false
            if actions[id].reason == nil { actions[id].reason = reason }
            changed = true
        }
        for child in resource.children where markBlocked(child, task: task, reason: reason) { changed = true }
        // A bundle's children include the clone of what it runs in its guests.
        if let child = bundleChild(of: resource), markBlocked(child, task: task, reason: reason) { changed = true }
        return changed
    }
}
