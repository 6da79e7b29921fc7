import CIB

/// What a live migration's records say across nodes (Pacemaker's unpack_migrate_to_success,
/// unpack_migrate_to_failure and unpack_migrate_from_failure): a migration's source history
/// can show the resource active on its target, and the other way round.
extension WorkingSet {
    /// A migrate_to that succeeded on `node` (the source).
    func migrateToSucceeded(_ migrateTo: LRMOperation, resourceID: String, node: SchedulerNode, state: inout HistoryState) {
        guard let (source, target) = migrationNodes(migrateTo), source == node.name else { return }
        let sourceNewer = nonMonitorAfter(resourceID, on: source, migrateTo, sameNode: true)
        let migrateFrom = findOperation(resourceID, "migrate_from", on: target, peer: source)
        // A newer operation on the source and a migrate_from on the target: this one is over.
        if migrateFrom != nil && sourceNewer { return }
        let fromRC = migrateFrom?.rcCode ?? 0
        let fromPending = migrateFrom == nil || migrateFrom?.opStatus == -1 || migrateFrom?.callID == -1
        let targetNewer = newerStateAfterMigration(resourceID, on: target, migrateTo: migrateTo, migrateFrom: migrateFrom)
        if sourceNewer && targetNewer { return }
        // Both halves succeeded but the source was never stopped: a dangling migration (the
        // resource runs on the target; the source only needs its stop).
        if fromRC == 0 && !fromPending && (migrateFrom?.opStatus ?? 0) == 0 {
            state.role = .stopped
            state.danglingMigration = true
            return
        }
        state.role = .started
        let targetNode = nodesByName[target]
        let activeOnTarget = !targetNewer && (targetNode?.online ?? false)
        if !fromPending {
            // The migrate_from failed on the target.
            if activeOnTarget {
                state.alsoActiveOn.append(target)
            } else {
                state.failed = true
            }
            return
        }
        // The migrate_from is pending, or not done yet (or its record was cleaned): with no
        // history at all on an online target, a probe will tell.
        if let targetNode, targetNode.online, unknown(resourceID, on: target) { return }
        if activeOnTarget {
            // A partial migration: with the source up, it continues when the target stays the
            // choice (the resource is taken as running on the source, and migrates as usual).
            state.alsoActiveOn.append(target)
            if nodesByName[source]?.online ?? false { state.partialMigrationTarget = target }
        } else if !sourceNewer {
            state.failed = true
        }
    }

    /// A migrate_to that failed on `node` (the source): the resource may be active on the
    /// target too.
    func migrateToFailed(_ migrateTo: LRMOperation, resourceID: String, node: SchedulerNode, state: inout HistoryState) {
        guard let (source, target) = migrationNodes(migrateTo), source == node.name else { return }
        let migrateFrom = findOperation(resourceID, "migrate_from", on: target, peer: source, succeeded: true)
        if mayStillBeActive(resourceID, on: target, migrateTo: migrateTo, migrateFrom: migrateFrom) {
            state.alsoActiveOn.append(target)
        }
    }

    /// A migrate_from that failed on `node` (the target): the resource may still be active on
    /// the source.
    func migrateFromFailed(_ migrateFrom: LRMOperation, resourceID: String, node: SchedulerNode, state: inout HistoryState) {
        guard let (source, target) = migrationNodes(migrateFrom), target == node.name else { return }
        let migrateTo = findOperation(resourceID, "migrate_to", on: source, peer: target, succeeded: true)
        if mayStillBeActive(resourceID, on: source, migrateTo: migrateTo, migrateFrom: migrateFrom) {
            state.alsoActiveOn.append(source)
        }
    }

    /// After a failed migration step: whether the resource may still be active on the other
    /// node of the migration (its history there is known, nothing newer than the migration
    /// says otherwise, and the node is online).
    private func mayStillBeActive(_ resourceID: String, on other: String, migrateTo: LRMOperation?,
                                  migrateFrom: LRMOperation?) -> Bool {
        !unknown(resourceID, on: other)
            && !newerStateAfterMigration(resourceID, on: other, migrateTo: migrateTo, migrateFrom: migrateFrom)
            && (nodesByName[other]?.online ?? false)
    }

    /// After placement: a partial migration continues when the resource is active on just its
    /// source and target and stays placed on the target (and may migrate): it is then taken as
    /// running on the source only, and migrates as usual (Pacemaker's check in
    /// pcmk__primitive_create_actions). Otherwise it is recovered from both.
    func settlePartialMigrations() {
        for resource in allPrimitives {
            guard let target = resource.partialMigrationTarget else { continue }
            resource.partialMigrationTarget = nil
            guard resource.allocatedTo === target, resource.runningOn.count == 2,
                  resource.runningOn.contains(where: { $0 === target }),
                  truthy(resource.meta["allow-migrate"]), resource.managed, !resource.failed else {
                resource.migrationBlocked = true
                continue
            }
            resource.runningOn.removeAll { $0 === target }
            resource.roleOnNode[target.name] = nil
        }
    }

    private func migrationNodes(_ operation: LRMOperation) -> (String, String)? {
        guard let source = operation.extraAttribute("migrate_source"),
              let target = operation.extraAttribute("migrate_target") else { return nil }
        return (source, target)
    }

    /// The operations recorded for a resource on a node (by node name), nil without a record.
    private func recordedOperations(_ resourceID: String, on nodeName: String) -> [LRMOperation]? {
        for state in cib.status.nodeStates where state.uname == nodeName || (state.uname == nil && nodesByID[state.id ?? ""]?.name == nodeName) {
            for resource in state.lrm?.resources ?? [] where resource.id == resourceID { return resource.operations }
        }
        return nil
    }

    /// Pacemaker's find_lrm_op: the first operation of the task on the node (a migration's
    /// with that peer), and, when `succeeded`, only if it completed with rc 0.
    private func findOperation(_ resourceID: String, _ task: String, on nodeName: String, peer: String? = nil,
                               succeeded: Bool = false) -> LRMOperation? {
        let found = recordedOperations(resourceID, on: nodeName)?.first { operation in
            guard operation.operation == task else { return false }
            guard let peer else { return true }
            let attribute = task == "migrate_to" ? "migrate_target" : "migrate_source"
            return operation.extraAttribute(attribute) == peer
        }
        guard let found else { return nil }
        if succeeded && (found.rcCode != 0 || (found.opStatus ?? 0) != 0) { return nil }
        return found
    }

    /// No record but pending ones (rc 193) of the resource on the node.
    private func unknown(_ resourceID: String, on nodeName: String) -> Bool {
        !(recordedOperations(resourceID, on: nodeName)?.contains { $0.rcCode != 193 } ?? false)
    }

    /// Pacemaker's pe__is_newer_op: call ids on one node, last-rc-change across nodes.
    private func isNewer(_ lhs: LRMOperation, than rhs: LRMOperation, sameNodeDefault: Bool) -> Bool {
        let sameNode: Bool
        if let left = lhs.onNode, let right = rhs.onNode { sameNode = left.lowercased() == right.lowercased() } else { sameNode = sameNodeDefault }
        let left = lhs.callID ?? -1, right = rhs.callID ?? -1
        if left == -1 && right == -1 { return false }
        if sameNode && left >= 0 && left < right { return false }
        if sameNode && right >= 0 && left > right { return true }
        if left >= 0 && right >= 0 && (!sameNode || left == right) {
            let leftChange = lhs.lastRCChange ?? -1, rightChange = rhs.lastRCChange ?? -1
            return rightChange >= 0 && leftChange > rightChange
        }
        // One of them is pending: the pending one is the newer.
        return left == -1
    }

    /// Any start, stop or migration on the node newer than `operation`.
    private func nonMonitorAfter(_ resourceID: String, on nodeName: String, _ operation: LRMOperation, sameNode: Bool) -> Bool {
        recordedOperations(resourceID, on: nodeName)?.contains { other in
            guard other.id != operation.id || other.callID != operation.callID else { return false }
            switch other.operation {
            case "start", "stop", "migrate_to", "migrate_from": return isNewer(other, than: operation, sameNodeDefault: sameNode)
            default: return false
            }
        } ?? false
    }

    /// Pacemaker's newer_state_after_migrate: something newer on the node than the migration's
    /// own record there (a start, stop, migration, or a monitor that found it not running).
    private func newerStateAfterMigration(_ resourceID: String, on nodeName: String, migrateTo: LRMOperation?,
                                          migrateFrom: LRMOperation?) -> Bool {
        guard let reference = migrateFrom ?? migrateTo else { return false }
        var operation = reference
        var sameNode = false
        let source = reference.extraAttribute("migrate_source"), target = reference.extraAttribute("migrate_target")
        if nodeName == target {
            if let migrateFrom { operation = migrateFrom; sameNode = true } else if let migrateTo { operation = migrateTo }
        } else if nodeName == source {
            if let migrateTo { operation = migrateTo; sameNode = true } else if let migrateFrom { operation = migrateFrom }
        }
        if nonMonitorAfter(resourceID, on: nodeName, operation, sameNode: sameNode) { return true }
        // The first monitor recorded there, if it found the resource not running.
        if let monitor = recordedOperations(resourceID, on: nodeName)?.first(where: { $0.operation == "monitor" }),
           monitor.rcCode == 7, (monitor.opStatus ?? 0) == 0 {
            return isNewer(monitor, than: operation, sameNodeDefault: sameNode)
        }
        return false
    }
}
