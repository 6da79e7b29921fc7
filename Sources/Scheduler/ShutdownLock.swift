import CIB

/// shutdown-lock: a resource active on a node that shuts down cleanly stays with that node
/// (it is stopped, not moved), and a resource whose history records such a lock
/// (lrm_resource shutdown-lock="TIME") stays banned from every other node until
/// shutdown-lock-limit has passed since then.
extension WorkingSet {
    /// Pacemaker's apply_shutdown_locks (primitive resources outside clones; fence devices
    /// and remote connections are never locked).
    func applyShutdownLocks() {
        guard truthy(cib.configuration.clusterProperty("shutdown-lock")) else { return }
        let limit = cib.configuration.clusterProperty("shutdown-lock-limit")
            .flatMap { Duration.milliseconds(parsing: $0) }.map { $0 / 1000 } ?? 0
        for resource in allPrimitives where resource.cloneParent == nil && !resource.isRemoteConnection
            && resource.primitive?.resourceClass != "stonith" {
            var lockNode: SchedulerNode?
            for node in nodes {
                guard let entry = resource.histories[node.name],
                      let text = entry.extras.attributes.first(where: { $0.name == "shutdown-lock" })?.value,
                      let lockTime = Int(text.trimmed), lockTime != 0 else { continue }
                // An expired lock is forgotten (its history is cleared).
                if limit > 0, let now, now > lockTime.addingSaturated(limit) { continue }
                lockNode = node
            }
            if lockNode != nil {
                // Started elsewhere after all: the lock no longer holds.
                if !resource.runningOn.isEmpty { lockNode = nil }
            } else if resource.runningOn.count == 1, let node = resource.runningOn.first, node.shutdown, !node.unclean {
                lockNode = node
            }
            guard let lockNode else { continue }
            for node in nodes where node !== lockNode { applyLocation(resource, node: node, score: .minusInfinity) }
        }
    }
}
