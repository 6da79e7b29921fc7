import CIB

/// Resources that do not need fencing (fence devices, requires=quorum or nothing) are not
/// taken as active on nodes that are about to be fenced when deciding whether they are
/// multiply active, and their current node is the first clean one (Pacemaker's
/// pe__find_active_on).
extension WorkingSet {
    /// requires=fencing (or unfencing), set or implied.
    func requiresFencing(_ resource: SchedulerResource) -> Bool {
        if let requires = resource.meta["requires"]?.lowercased() {
            return (requires == "fencing" || requires == "unfencing") && stonithEnabled
                && resource.primitive?.resourceClass != "stonith"
        }
        if resource.primitive?.resourceClass == "stonith" || resource.isRemoteConnection { return false }
        return stonithEnabled
    }

    /// A start that needs neither quorum nor fencing (Pacemaker's unpack_requires and
    /// rsc_req_nothing): requires=nothing, or by default (no value, or one that is not valid)
    /// when the resource is no fence device or remote connection, unfencing and fencing are
    /// off, and no-quorum-policy is ignore. Such a start's reason is cleared once it is placed.
    func startRequiresNothing(_ resource: SchedulerResource) -> Bool {
        switch resource.meta["requires"]?.lowercased() {
        case "nothing": return true
        case "quorum", "fencing", "unfencing": return false
        default:
            if resource.primitive?.resourceClass == "stonith" || resource.isRemoteConnection { return false }
            return !unfencingEnabled && !stonithEnabled && noQuorumPolicy == "ignore"
        }
    }

    /// Active on more than one node that counts.
    func isMultiplyActive(_ resource: SchedulerResource) -> Bool {
        if requiresFencing(resource) { return resource.runningOn.count > 1 }
        return resource.runningOn.filter { $0.online && !$0.unclean }.count > 1
    }

    /// Puts clean nodes first in the active list of resources that do not need fencing.
    func preferCleanCurrentNodes() {
        for resource in allPrimitives where resource.runningOn.count > 1 && !requiresFencing(resource) {
            let clean = resource.runningOn.filter { $0.online && !$0.unclean }
            guard !clean.isEmpty, resource.runningOn.first.map({ !$0.online || $0.unclean }) ?? false else { continue }
            resource.runningOn = clean + resource.runningOn.filter { !($0.online && !$0.unclean) }
        }
    }
}
