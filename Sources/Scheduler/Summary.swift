/// The Transition Summary in crm_simulate's words and order (Pacemaker's
/// pcmk__output_actions, rsc_action_default and rsc_action_item).
struct SummaryWriter {
    let workingSet: WorkingSet
    private(set) var lines: [String] = []
    // crm_simulate widens its columns as it goes; the same widths keep the output identical.
    private var resourceWidth = 5
    private var detailWidth = 5

    init(workingSet: WorkingSet) { self.workingSet = workingSet }

    /// crm_simulate formats every item twice (once for its log, once for the screen) with
    /// column widths that only grow, so the screen pass uses the widest of all: do the same.
    mutating func write() {
        writePass()
        lines.removeAll()
        writePass()
    }

    private mutating func writePass() {
        let set = workingSet
        // Shutdowns are scheduled but crm_simulate's summary lists only fencing.
        // Pacemaker prepends new actions to its list, so fencing is reported newest first.
        for id in set.fenceActions.reversed() {
            let action = set.actions[id]
            guard !action.optional, let node = action.node else { continue }
            if action.task == "stonith" {
                // A guest node is named with the resource it lives in.
                let name = node.guestContainer.map { "\(node.name) (resource: \($0))" } ?? node.name
                lines.append("  * Fence (\(action.fenceType ?? "reboot")) \(name) '\(action.fenceReason ?? "node is unclean")'")
            } else {
                lines.append("  * Shutdown \(node.name)")
            }
        }
        // Unfencing was scheduled before the fencing of unclean nodes: listed after it.
        for id in set.unfenceActions.reversed() {
            let action = set.actions[id]
            guard !action.optional, let node = action.node else { continue }
            lines.append("  * Fence (on) \(node.name) '\(action.fenceReason ?? "required")'")
        }
        // Reported by priority, then in configuration order (orphans last).
        var ordered = set.resources.enumerated().sorted { lhs, rhs in
            lhs.element.priority != rhs.element.priority ? lhs.element.priority > rhs.element.priority : lhs.offset < rhs.offset
        }.map(\.element)
        if let order = set.reportOrder {
            // Orphans found later are not in the sorted list: they keep their place at the end.
            ordered = order + ordered.filter { resource in !order.contains { $0 === resource } }
        }
        for resource in ordered {
            for primitive in set.reportedPrimitives(resource) { writeActions(primitive) }
        }
    }

    private func actions(_ resource: SchedulerResource, _ task: String, on node: SchedulerNode?) -> SchedulerAction? {
        let set = workingSet
        return resource.actions.map { set.actions[$0] }.first { $0.task == task && (node == nil || $0.node === node) }
    }

    private mutating func writeActions(_ resource: SchedulerResource) {
        let current = resource.runningOn.first
        let next = resource.allocatedTo
        guard resource.managed, current != nil || next != nil else { return }
        let moving = current != nil && next != nil && current !== next
        let start = actions(resource, "start", on: next)
        let startNode = (start == nil || !start!.runnable) ? nil : current
        // (Stopped only away from its node, a multiply active resource shows that stop.)
        let stop = actions(resource, "stop", on: startNode) ?? (resource.stopUnexpected ? actions(resource, "stop", on: nil) : nil)
        let promote = actions(resource, "promote", on: next)
        let demote = actions(resource, "demote", on: next)
        let role = resource.role
        let nextRole = resource.nextRole ?? .stopped

        if role == nextRole {
            guard let next else { return }
            if resource.migrating, let current, let start, start.runnable, !start.optional {
                item("Migrate", resource, current, next, action: start, source: nil)
            } else if resource.reload, let start, start.optional {
                item("Reload", resource, current, next, action: start, source: nil)
            } else if start == nil || start!.optional {
                if let demote, let promote, !demote.optional, !promote.optional {
                    item("Re-promote", resource, current, next, action: promote, source: demote)
                }
            } else if !start!.runnable {
                let source = (stop?.reason != nil) ? stop : start
                item("Stop", resource, current, nil, action: stop ?? start!, source: source)
            } else if moving, let current {
                item(resource.failed ? "Recover" : "Move", resource, current, next, action: stop ?? start!, source: nil)
            } else if resource.failed {
                item("Recover", resource, current, nil, action: stop ?? start!, source: nil)
            } else {
                item("Restart", resource, current, next, action: start!, source: nil)
            }
            return
        }

        if let stop, nextRole == .stopped || (start.map { !$0.runnable } ?? false) {
            for node in resource.runningOn {
                let stopHere = actions(resource, "stop", on: node) ?? stop
                let source = stopHere.reason != nil ? stopHere : (start ?? stopHere)
                item("Stop", resource, node, nil, action: stopHere, source: source)
            }
        } else if let stop, resource.failed, !stop.optional {
            item("Recover", resource, current, next, action: stop, source: start)
        } else if moving {
            item("Move", resource, current, next, action: stop ?? start!, source: nil)
        } else if let stop, !stop.optional {
            item("Restart", resource, current, next, action: start ?? stop, source: nil)
        } else if role == .promoted, let demote {
            item("Demote", resource, current, next, action: demote, source: nil)
        } else if nextRole == .promoted, let promote {
            item("Promote", resource, current, next, action: promote, source: nil)
        } else if role == .stopped && nextRole > .stopped, let start {
            item("Start", resource, current, next, action: start, source: nil)
        }
    }

    private mutating func item(_ change: String, _ resource: SchedulerResource, _ origin: SchedulerNode?,
                               _ destination: SchedulerNode?, action: SchedulerAction, source: SchedulerAction?) {
        let source = source ?? action
        if resource.id.count > resourceWidth { resourceWidth = resource.id.count + 2 }
        let needRole = resource.role > .started || (resource.nextRole ?? .stopped) > .unpromoted
        let sameHost = origin != nil && destination != nil && origin === destination
        let role = resource.role, nextRole = resource.nextRole ?? .stopped
        let sameRole = role == nextRole
        let originName = origin?.name ?? "", destinationName = destination?.name ?? ""
        let details: String
        if needRole && origin == nil {
            details = "\(role.text) -> \(nextRole.text) \(destinationName)"
        } else if origin == nil {
            details = destinationName
        } else if needRole && destination == nil {
            details = "\(role.text) \(originName)"
        } else if destination == nil {
            details = originName
        } else if needRole && sameRole && sameHost {
            details = "\(role.text) \(originName)"
        } else if sameRole && sameHost {
            details = originName
        } else if needRole && sameRole {
            details = "\(originName) -> \(destinationName) \(role.text)"
        } else if sameRole {
            details = "\(originName) -> \(destinationName)"
        } else if sameHost {
            details = "\(role.text) -> \(nextRole.text) \(originName)"
        } else {
            details = "\(role.text) \(originName) -> \(nextRole.text) \(destinationName)"
        }
        if details.count > detailWidth { detailWidth = details.count }
        var reason = ""
        if let text = source.reason, !action.runnable {
            reason = "  due to \(text) (blocked)"
        } else if let text = source.reason {
            reason = "  due to \(text)"
        } else if !action.runnable {
            reason = "  blocked"
        }
        let changeColumn = change.padding(toLength: max(8, change.count))
        let resourceColumn = resource.id.padding(toLength: max(resourceWidth, resource.id.count))
        let detailColumn = String(repeating: " ", count: max(0, detailWidth - details.count)) + details
        lines.append("  * \(changeColumn)   \(resourceColumn)   ( \(detailColumn) )\(reason)")
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
