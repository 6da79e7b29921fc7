import CIB

/// What changed in a resource's definition since it was started on a node (Pacemaker's
/// pcmk__handle_rsc_config_changes: agent and parameter digest checks of the active history).
struct ConfigChange: Equatable {
    /// The parameters changed and cannot be reloaded: restart ("resource definition change").
    var restart = false
    /// The agent changed, or a reload was due while the start was still pending: the stop is
    /// required, and the start follows without a reason of its own.
    var stopRequired = false
    /// Only reloadable parameters changed: reload in place.
    var reload = false
}

/// How a recorded operation's digests compare with the definition now (Pacemaker's
/// rsc_action_digest_cmp results).
enum DigestComparison { case match, restart, all, unknown }

extension WorkingSet {
    /// Checks every active resource's history on the nodes that can run resources, before
    /// placement: changed agents and changed parameters. Fence devices whose definition changed
    /// ask for unfencing (when unfencing is in use).
    func checkConfigChanges() {
        createUnfencingForRequirers()
        let primitives = allPrimitives.filter { !$0.orphan && !$0.generated && !$0.histories.isEmpty }
        collectiveInstanceSets = collectiveInstanceAttributes()
        if unfencingEnabled {
            // Node by node, as Pacemaker goes: the first reason given for unfencing a node wins.
            // (A fence device's changed agent counts even where it is not active.)
            for node in nodes where node.maintenance || isAvailableForActions(node) {
                for resource in primitives where isFenceDevice(resource) || resource.runningOn.contains(where: { $0 === node }) {
                    guard let entry = resource.histories[node.name], let primitive = resource.primitive else { continue }
                    checkConfig(resource, primitive: primitive, entry: entry, node: node)
                }
            }
            return
        }
        // Otherwise only where each resource is active (a changed agent elsewhere only
        // matters for unfencing).
        for resource in primitives {
            guard let primitive = resource.primitive else { continue }
            for node in resource.runningOn where node.maintenance || isAvailableForActions(node) {
                guard let entry = resource.histories[node.name] else { continue }
                checkConfig(resource, primitive: primitive, entry: entry, node: node)
            }
        }
    }

    /// Online and able to run resources (Pacemaker's pcmk__node_available without scores).
    private func isAvailableForActions(_ node: SchedulerNode) -> Bool {
        node.online && !node.shutdown && !node.unclean && !node.standby && !node.maintenance
    }

    private func checkConfig(_ resource: SchedulerResource, primitive: Primitive, entry: LRMResource, node: SchedulerNode) {
        let active = resource.runningOn.contains { $0 === node }
        let agentChanged = primitive.resourceClass != entry.resourceClass || primitive.provider != entry.provider
            || primitive.type != entry.type
        // Most histories are of inactive resources with the same agent: nothing to check.
        guard active || agentChanged else { return }
        var change = resource.configChanges[node.name] ?? ConfigChange()
        defer { if change != ConfigChange() { resource.configChanges[node.name] = change } }
        // The agent (class, provider, type) it was started as.
        if agentChanged {
            triggerUnfencing(resource, node: node, reason: "Device definition changed")
            if active { change.stopRequired = true }
        }
        guard active else { return }
        // Histories are usually in call order already: then they need no sorting.
        var inOrder = true
        for index in entry.operations.indices.dropFirst() where Self.callOrder(entry.operations[index], entry.operations[index - 1]) {
            inOrder = false
            break
        }
        let operations = inOrder ? entry.operations : entry.operations.sorted(by: Self.callOrder)
        // Only what happened since the last start counts (calculate_active_ops).
        var startIndex = -1, stopIndex = -1, impliedMonitorStart = -1, impliedCloneStart = -1
        for (index, operation) in operations.enumerated() {
            switch operation.operation {
            case "stop" where (operation.opStatus ?? 0) == 0: stopIndex = index
            case "start", "migrate_from": startIndex = index
            case "monitor" where impliedMonitorStart <= stopIndex && (operation.rcCode == 0 || operation.rcCode == 8):
                impliedMonitorStart = index
            case "promote", "demote": impliedCloneStart = index
            default: break
            }
        }
        if startIndex == -1 { startIndex = impliedCloneStart != -1 ? impliedCloneStart : impliedMonitorStart }
        guard startIndex >= stopIndex else { return }
        let startPending = operations.contains { $0.operation == "start" && ($0.callID == -1 || $0.opStatus == -1) }
        for operation in operations.dropFirst(max(startIndex, 0)) where operation.interval == 0 {
            // Recurring operations are only rescheduled (nothing the summary shows).
            switch operation.operation {
            case "monitor", "start", "promote", "migrate_from": break
            default: continue
            }
            let comparison = compareDigests(primitive, inherited: inheritedInstanceSets(resource), operation: operation, node: node)
            switch comparison {
            case .match:
                continue
            case .restart:
                change.restart = true
                triggerUnfencing(resource, node: node, reason: "Device parameters changed")
            case .all, .unknown:
                if operation.extraAttribute("op-restart-digest") != nil {
                    triggerUnfencing(resource, node: node, reason: "Device parameters changed (reload)")
                    // No reload of what is unmanaged or failed; a pending start restarts instead.
                    guard resource.managed && !resource.failed else { continue }
                    if startPending { change.stopRequired = true } else { change.reload = true }
                } else {
                    change.restart = true
                    triggerUnfencing(resource, node: node, reason: "Device parameters changed")
                }
            }
        }
    }

    /// Operations in call order, pending ones (call-id -1) last.
    private static func callOrder(_ lhs: LRMOperation, _ rhs: LRMOperation) -> Bool {
        let left = lhs.callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max
        let right = rhs.callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max
        if left != right { return left < right }
        return (lhs.lastRCChange ?? -1) < (rhs.lastRCChange ?? -1)
    }

    /// Compares the digests recorded with an operation with the resource's definition now.
    /// The instance attribute sets of the configured groups and clones, by id (a primitive's
    /// parameters include its parents' instance attributes).
    func collectiveInstanceAttributes() -> [String: [NameValueSet]] {
        var sets: [String: [NameValueSet]] = [:]
        for resource in cib.configuration.resources {
            switch resource {
            case .group(let group):
                sets[group.id] = group.attributes.instance
            case .clone(let clone):
                sets[clone.id] = clone.attributes.instance
                if case .group(let group)? = clone.child { sets[group.id] = group.attributes.instance }
            default:
                break
            }
        }
        return sets
    }

    /// The instance attribute sets of the resource's group and clone, nearest first (Pacemaker's
    /// get_rsc_attributes adds each parent's without overwriting). Bundles are left out: their
    /// generated parts' parameters are not compared.
    func inheritedInstanceSets(_ resource: SchedulerResource) -> [[NameValueSet]] {
        var result: [[NameValueSet]] = []
        var ancestor = resource.parent
        while let current = ancestor, !current.isBundle, !current.bundlePart {
            if let sets = collectiveInstanceSets[current.baseID], !sets.isEmpty { result.append(sets) }
            ancestor = current.parent
        }
        return result
    }

    func compareDigests(_ primitive: Primitive, inherited: [[NameValueSet]] = [], operation: LRMOperation,
                        node: SchedulerNode) -> DigestComparison {
        let featureSet = operation.extraAttribute("crm_feature_set") ?? cib[attribute: "crm_feature_set"]
        // Digests from before feature set 2.0 were computed differently; they are not compared.
        if let featureSet, let major = Int(featureSet.split(separator: ".").first ?? ""), major < 2 { return .match }
        let context = RuleContext(node: node, resourceClass: primitive.resourceClass, provider: primitive.provider,
                                  type: primitive.type, now: now)
        var parameters = values(of: primitive.attributes.instance, in: context)
        for sets in inherited {
            for (name, value) in values(of: sets, in: context) where parameters[name] == nil { parameters[name] = value }
        }
        // The operation's own parameters (instance attributes of its configured op) count too.
        var extra: [String: String] = [:]
        if let configured = primitive.operations?.operations.first(where: {
            $0.name == operation.operation && $0.intervalMilliseconds == operation.interval && truthy($0.enabled, default: true)
        }) {
            extra = values(of: configured.attributes.instance, in: context)
        }
        var all = parameters
        for (name, value) in extra { all[name] = value }
        // A start with parameters of its own restarts on any change (never reloads).
        let extraForcesRestart = operation.interval == 0 && !extra.isEmpty
        var result: DigestComparison
        if let recordedRestart = operation.extraAttribute("op-restart-digest"),
           parameterDigest(all, only: operation.extraAttribute("op-force-restart").map(Self.names)) != recordedRestart {
            result = .restart
        } else if let recorded = operation.opDigest {
            if parameterDigest(all) == recorded {
                result = .match
            } else {
                result = extraForcesRestart ? .restart : .all
            }
        } else {
            // No digest recorded: nothing to compare (Pacemaker would call this unknown and
            // restart; histories without digests are hand-written, and are left alone).
            return .match
        }
        // crm_simulate works on sanitized CIBs: a change of secret parameters only is no change.
        if result != .match, let recordedSecure = operation.extraAttribute("op-secure-digest") {
            let secret = Self.names(operation.extraAttribute("op-secure-params") ?? "")
            let oldVersion = compareVersions(featureSet ?? "3.16.0", "3.16.0") < 0
            var secure = oldVersion ? parameters : all
            for name in secret { secure[name] = nil }
            if oldVersion && primitive.resourceClass == "stonith" {
                for name in secure.keys where Self.isFencerParameter(name) { secure[name] = nil }
            }
            if parameterDigest(secure) == recordedSecure { result = .match }
        }
        return result
    }

    private static func names(_ list: String) -> Set<String> {
        Set(list.split(separator: " ").map(String.init))
    }

    /// Parameters the fencer handles itself (Pacemaker's pcmk_stonith_param).
    private static func isFencerParameter(_ name: String) -> Bool {
        guard name.hasPrefix("pcmk_"), name != "provides", name != "stonith-timeout" else { return false }
        switch name {
        case "pcmk_action_limit", "pcmk_delay_base", "pcmk_delay_max", "pcmk_host_argument", "pcmk_host_check",
             "pcmk_host_list", "pcmk_host_map":
            return true
        default:
            let rest = name.dropFirst(5)
            guard let underscore = rest.firstIndex(of: "_") else { return false }
            switch rest[underscore...] {
            case "_action", "_timeout", "_retries": return true
            default: return false
            }
        }
    }
}

/// Compares dotted version numbers field by field (Pacemaker's compare_version).
func compareVersions(_ lhs: String, _ rhs: String) -> Int {
    let left = lhs.split(separator: ".").map { Int($0) ?? 0 }
    let right = rhs.split(separator: ".").map { Int($0) ?? 0 }
    for index in 0..<max(left.count, right.count) {
        let l = index < left.count ? left[index] : 0, r = index < right.count ? right[index] : 0
        if l != r { return l < r ? -1 : 1 }
    }
    return 0
}
