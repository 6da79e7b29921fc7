/// A group's later member stops before the earlier one, and Pacemaker marks that ordering as a
/// restart ordering (handle_restart_ordering): when the earlier member's stop is required the
/// later one's is too ("required <earlier> stop"), and when the later member's stop is required
/// but cannot happen, the earlier one's cannot either ("unrunnable <later> stop").
extension OrderingFlags {
    static let memberStopRestart = OrderingFlags(rawValue: 1 << 20)
}

extension WorkingSet {
    /// Applies one member-stop restart ordering; true when it changed an action.
    func applyMemberStopRestart(_ ordering: Ordering) -> Bool {
        var changed = false
        let first = actions[ordering.first], then = actions[ordering.then]
        // (Pacemaker acts on this ordering only once "then" is required.)
        guard !then.optional else { return false }
        // (A stop already required by its own restart, which we give no reason, takes this one:
        // Pacemaker reaches it through this ordering first. Limited to stops that cannot happen,
        // the ones whose reason the summary prints.)
        if first.optional || (first.reason == nil && first.runnable == false) {
            actions[ordering.first].optional = false
            if actions[ordering.first].reason == nil, let resource = then.resource {
                actions[ordering.first].reason = "required \(resource.id) \(then.task)"
            }
            if first.optional { changed = true }
        }
        let updated = actions[ordering.first]
        if !updated.optional && !updated.runnable && actions[ordering.then].runnable {
            actions[ordering.then].runnable = false
            if actions[ordering.then].reason == nil, let resource = updated.resource {
                actions[ordering.then].reason = "unrunnable \(resource.id) \(updated.task)"
            }
            changed = true
        }
        return changed
    }
}
