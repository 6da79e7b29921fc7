/// A start or promotion that cannot happen blocks what must be colocated with it
/// (Pacemaker's pcmk__block_colocation_dependents, applied before orderings propagate).
extension WorkingSet {
    func blockColocationDependents() {
        for id in actions.indices { blockDependents(of: id) }
    }

    /// The collective whose instances all have to fail before its dependents are blocked.
    private func collective(of resource: SchedulerResource) -> SchedulerResource {
        let top = resource.top
        if top.bundlePart, top.kind == .clone,
           let bundle = resources.first(where: { bundle in bundle.isBundle && (bundleExtras[bundle.id] ?? []).contains { $0 === top } }) {
            return bundle
        }
        return top
    }

    private func blockDependents(of id: Int) {
        let action = actions[id]
        guard !action.runnable, action.task == "start" || action.task == "promote", let resource = action.resource else { return }
        let isStart = action.task == "start"
        let primary = collective(of: resource)
        // Only when no instance of the collective can get there.
        for child in primary.children {
            guard let first = child.primitives.lazy.compactMap({ self.findAction($0, action.task) }).first else { return }
            if actions[first].runnable { return }
        }
        for colocation in primary.primaryColocations where colocation.score >= .infinity {
            if !isStart && colocation.primaryRole != .promoted { continue }
            let task = colocation.dependentRole == .promoted ? "promote" : "start"
            markBlocked(colocation.dependent, task: task, because: resource)
        }
    }

    private func markBlocked(_ resource: SchedulerResource, task: String, because cause: SchedulerResource) {
        for id in resource.actions where actions[id].task == task && actions[id].runnable {
            actions[id].runnable = false
            if actions[id].reason == nil { actions[id].reason = "colocation with \(cause.id)" }
            blockDependents(of: id)
        }
        // (A bundle's parts include its child clone.)
        let parts = resource.children + (resource.isBundle ? (bundleExtras[resource.id] ?? []).filter { $0.kind == .clone } : [])
        for child in parts { markBlocked(child, task: task, because: cause) }
    }
}
