import CIB

/// A start (or promote) that cannot happen blocks what is colocated with its resource
/// mandatorily: the dependent cannot reach its colocated role either (Pacemaker's
/// pcmk__block_colocation_dependents). The blocked actions say "colocation with PRIMARY".
extension WorkingSet {
    /// Propagates, then blocks colocation dependents of unrunnable starts and promotes, and
    /// propagates again until nothing more is blocked.
    func propagateBlockingColocations() {
        propagate()
        var byPrimary: [ObjectIdentifier: [Colocation]] = [:]
        for resource in allResources() {
            for colocation in resource.primaryColocations where colocation.score >= .infinity {
                byPrimary[ObjectIdentifier(colocation.namedPrimary ?? colocation.primary), default: []].append(colocation)
            }
        }
        guard !byPrimary.isEmpty else { return }
        var handled = Set<Int>()
        var changed = true
        while changed {
            changed = false
            for id in actions.indices where !actions[id].runnable && !handled.contains(id) {
                let action = actions[id]
                guard action.task == "start" || action.task == "promote", action.node != nil,
                      let resource = action.resource, resource.kind == .primitive, resource.managed else { continue }
                handled.insert(id)
                let top = resource.top
                guard let colocations = byPrimary[ObjectIdentifier(top)], everyInstanceBlocked(top, task: action.task) else { continue }
                for colocation in colocations {
                    // An unpromotable primary only blocks what needs it promoted.
                    if action.task == "promote" && colocation.primaryRole != .promoted { continue }
                    let dependent = colocation.namedDependent ?? colocation.dependent
                    let task = colocation.dependentRole == .promoted ? "promote" : "start"
                    if markBlocked(dependent, task: task, reason: "colocation with \(resource.id)") { changed = true }
                }
            }
            if changed { propagate() }
        }
    }

    /// Whether no member of a collective can perform the task (a primitive: trivially true).
    private func everyInstanceBlocked(_ top: SchedulerResource, task: String) -> Bool {
        guard top.kind != .primitive else { return true }
        for child in top.children {
            let childActions: [Int]
            if child.kind == .primitive {
                childActions = findActions(child, task).filter { actions[$0].node != nil }
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
        return changed
    }
}
