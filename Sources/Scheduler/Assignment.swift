import CIB

/// Placement: stickiness, fail counts, colocation and score-based assignment
/// (Pacemaker's pcmk__primitive_assign, group and clone assignment, promotion).
extension WorkingSet {
    // MARK: node criteria

    /// node-health-strategy: "#health-*" node attributes (red/yellow/green or numbers) become
    /// scores on every resource that does not allow unhealthy nodes.
    func applyNodeHealth() {
        let strategy = cib.configuration.clusterProperty("node-health-strategy")?.lowercased() ?? "none"
        guard strategy != "none" else { return }
        let configuration = cib.configuration
        func option(_ name: String, _ fallback: Score) -> Score {
            configuration.clusterProperty(name).map { score($0) } ?? fallback
        }
        var red = option("node-health-red", .minusInfinity)
        var yellow = option("node-health-yellow", .zero)
        var green = option("node-health-green", .zero)
        switch strategy {
        case "migrate-on-red": red = .minusInfinity; yellow = .zero; green = .zero
        case "only-green": red = .minusInfinity; yellow = .minusInfinity; green = .zero
        default: break
        }
        for node in nodes {
            var total = strategy == "progressive" ? option("node-health-base", .zero) : .zero
            var seen = false
            for (name, value) in node.attributes where name.hasPrefix("#health") {
                seen = true
                switch value.lowercased() {
                case "red": total = total + red
                case "yellow": total = total + yellow
                case "green": total = total + green
                default: total = total + score(value)
                }
            }
            guard seen || strategy == "progressive", total != .zero else { continue }
            for resource in resources where !truthy(resource.meta["allow-unhealthy-nodes"]) {
                applyLocation(resource, node: node, score: total)
            }
        }
    }

    func applyNodeCriteria() {
        collectiveInstanceSets = collectiveInstanceAttributes()
        for resource in allPrimitives {
            // Stickiness counts on the current node even when that node cannot run resources
            // (Pacemaker's apply_stickiness): it weighs in the resource sort.
            if resource.managed, resource.stickiness != 0, resource.runningOn.count == 1, let node = resource.runningOn.first,
               resource.allowed[node.name] != nil || symmetricCluster {
                resource.allowed[node.name] = (resource.allowed[node.name] ?? .zero) + Score(resource.stickiness)
            }
            for node in nodes where !resource.failureIgnored {
                // History recorded under another agent is deleted, its fail count cleared
                // (Pacemaker's check_rsc_parameters on a changed class, provider or type).
                if agentChanged(resource, on: node) { continue }
                let count = failCount(resource, on: node)
                guard count > 0, count >= resource.migrationThreshold else { continue }
                if lastFailureParametersChanged(resource, on: node) { continue }
                var banned = (resource.cloneParent != nil && !(resource.cloneParent!.globallyUnique)) ? resource.cloneParent! : resource
                if let container = container(of: resource) { banned = container }
                applyLocation(banned, node: node, score: .minusInfinity)
            }
        }
    }

    /// The last failure recorded on the node (a start or monitor) ran with other parameters
    /// than the resource has now: Pacemaker schedules its fail count's clearing ("resource
    /// parameters have changed", check_operation_expiry) and does not ban the resource for it
    /// (check_failure_threshold; remote-connection-shutdown).
    func lastFailureParametersChanged(_ resource: SchedulerResource, on node: SchedulerNode) -> Bool {
        guard let entry = resource.histories[node.name], let primitive = resource.primitive,
              let failure = entry.operations.first(where: { $0.id.hasSuffix("_last_failure_0") }),
              failure.operation == "start" || failure.operation == "monitor", failure.opDigest != nil,
              // (A recurring operation's digest also covers its timeout, which compareDigests does
              // not model: such a failure keeps its ban.)
              failure.interval == 0 else { return false }
        // (An expired failure is cleared for that reason instead: failCount already drops it.)
        if resource.failureTimeout > 0, let now, let changed = failure.lastRCChange,
           changed.addingSaturated(resource.failureTimeout) <= now { return false }
        return compareDigests(primitive, inherited: inheritedInstanceSets(resource), operation: failure, node: node) != .match
    }

    /// The resource's history on the node was recorded for another agent.
    func agentChanged(_ resource: SchedulerResource, on node: SchedulerNode) -> Bool {
        guard let primitive = resource.primitive, let entry = resource.histories[node.name] else { return false }
        return primitive.resourceClass != entry.resourceClass || primitive.provider != entry.provider
            || primitive.type != entry.type
    }

    /// Effective fail count of a resource on a node, from the node's transient attributes
    /// (with `ignoringTimeout`, Pacemaker's pe_fc_default: expired failures count too).
    func failCount(_ resource: SchedulerResource, on node: SchedulerNode, ignoringTimeout: Bool = false) -> Int {
        let (own, lastFailure) = failureTotals(resource, on: node)
        var total = own
        if !ignoringTimeout, resource.failureTimeout > 0, let now, lastFailure > 0,
           lastFailure.addingSaturated(resource.failureTimeout) <= now { return 0 }
        // A container's fail count includes the failures of what runs inside it.
        for filler in fillers[resource.id] ?? [] where filler !== resource {
            total = total + Score(failCount(filler, on: node, ignoringTimeout: ignoringTimeout))
        }
        return total.value
    }

    /// The last failure of a resource on a node (its own records), 0 when none.
    func lastFailure(_ resource: SchedulerResource, on node: SchedulerNode) -> Int { failureTotals(resource, on: node).last }

    /// A resource's own fail count and last failure on a node, from the node's transient
    /// attributes.
    private func failureTotals(_ resource: SchedulerResource, on node: SchedulerNode) -> (count: Score, last: Int) {
        let records = node.failureRecords
        var total = Score.zero
        var lastFailure = 0
        if !records.isEmpty {
            // The resource's own records, and those under its id without the instance number;
            // an anonymous clone's instance counts those of every instance number (Pacemaker
            // matches fail-count-BASE(:N)?).
            let anonymous = resource.cloneParent.map { !$0.globallyUnique } ?? false
            var names = resource.baseID == resource.id ? [resource.id] : [resource.id, resource.baseID]
            if anonymous {
                let prefix = resource.baseID + ":"
                names = [resource.baseID] + records.keys.filter { key in
                    key.hasPrefix(prefix) && !key.dropFirst(prefix.count).isEmpty && key.dropFirst(prefix.count).allSatisfy(\.isNumber)
                }.sorted()
            }
            for name in names {
                if let record = records[name] {
                    total = total + record.count
                    lastFailure = max(lastFailure, record.last)
                }
            }
        }
        return (total, lastFailure)
    }

    // MARK: tickets

    func applyTickets() {
        for constraint in ticketConstraints {
            let state = tickets[constraint.ticket]
            let granted = state?.isGranted ?? false
            let standby = state?.isStandby ?? false
            guard !granted || standby else { continue }
            for resource in constraint.resource.primitives {
                applyTicket(constraint, to: resource, granted: granted, standby: standby)
            }
        }
    }

    private func applyTicket(_ constraint: TicketConstraintSpec, to resource: SchedulerResource, granted: Bool, standby: Bool) {
        let roleMatches = constraint.role == nil || constraint.role == resource.role
            || (constraint.role == .started && resource.role > .stopped)
        if constraint.role == .promoted { resource.promotionBanned = true }
        if !granted && !resource.runningOn.isEmpty {
            switch constraint.lossPolicy {
            case "demote":
                if constraint.role != .promoted { applyLocation(resource, node: nil, score: .minusInfinity) }
            case "fence":
                guard roleMatches else { return }
                applyLocation(resource, node: nil, score: .minusInfinity)
                for node in resource.runningOn { fenceNode(node, reason: "deadman ticket was lost") }
            case "freeze":
                guard roleMatches else { return }
                resource.managed = false
                resource.blocked = true
            default:
                applyLocation(resource, node: nil, score: .minusInfinity)
            }
        } else if constraint.role != .promoted || constraint.lossPolicy == "stop" {
            applyLocation(resource, node: nil, score: .minusInfinity)
        }
    }

    // MARK: assignment

    func assignAll() {
        // Resources are assigned by priority, then in configuration order; only utilization
        // strategies sort them by their scores first (Pacemaker's sort_rsc_process_order).
        let ordered = placementStrategy == "default" ? byPriority(resources) : sortedForAssignment()
        // With a utilization strategy Pacemaker re-sorts its resource list, which is also the
        // order of the Transition Summary.
        if placementStrategy != "default" { reportOrder = ordered }
        // Remote connections first: where they run decides whether their nodes can host anything.
        // (A bundle's connections are placed with their bundle, after these.)
        // A connection partially migrated prefers its migration target (to finish the migration).
        for resource in ordered where resource.isRemoteConnection && !resource.bundlePart {
            assign(resource, prefer: resource.partialMigrationTarget)
        }
        // A remote node can host resources when its connection will run (it may be starting now).
        for node in nodes where node.isRemote && !(connectionResource(of: node)?.bundlePart ?? false) { remoteConnectionAssigned(node) }
        for resource in ordered { assign(resource, prefer: nil) }
    }

    func byPriority(_ list: [SchedulerResource]) -> [SchedulerResource] {
        list.enumerated().sorted { lhs, rhs in
            lhs.element.priority != rhs.element.priority ? lhs.element.priority > rhs.element.priority : lhs.offset < rhs.offset
        }.map(\.element)
    }

    /// Pacemaker assigns (and reports) resources by priority, then by the score on their
    /// current node, then by their scores on the nodes in name order (a stable sort).
    func sortedForAssignment() -> [SchedulerResource] {
        // The nodes in Pacemaker's order (compare_nodes): those that can run resources first, more
        // free capacity first under "balanced", then by name.
        let nodeOrder = nodes.sorted { lhs, rhs in
            // A node that cannot run resources scores -INFINITY there, so it sorts last.
            if lhs.canRunResources != rhs.canRunResources { return lhs.canRunResources }
            if placementStrategy == "balanced" {
                let keys = Set(lhs.capacity.keys).union(rhs.capacity.keys)
                let better = keys.filter { lhs.free($0) > rhs.free($0) }.count
                let worse = keys.filter { lhs.free($0) < rhs.free($0) }.count
                if better != worse { return better > worse }
            }
            return lhs.name < rhs.name
        }
        // Pacemaker's rsc_cons: the colocations each resource (group or member) is the dependent of.
        var thisWith: [ObjectIdentifier: [Colocation]] = [:]
        for owner in allResources() {
            for colocation in owner.dependentColocations {
                thisWith[ObjectIdentifier(colocation.namedDependent ?? colocation.dependent), default: []].append(colocation)
            }
        }
        var keys: [ObjectIdentifier: [Score]] = [:]
        for resource in resources {
            let table = sortingWeights(resource, thisWith: thisWith)
            var current = Score.minusInfinity
            if let node = resource.primitives.first(where: { !$0.runningOn.isEmpty })?.runningOn.first, let value = table[node.name] {
                current = value
            }
            keys[ObjectIdentifier(resource)] = [current] + nodeOrder.map { table[$0.name] ?? .minusInfinity }
        }
        return resources.enumerated().sorted { lhs, rhs in
            let left = lhs.element, right = rhs.element
            if left.priority != right.priority { return left.priority > right.priority }
            let leftKey = keys[ObjectIdentifier(left)]!, rightKey = keys[ObjectIdentifier(right)]!
            for (a, b) in zip(leftKey, rightKey) where a != b { return a > b }
            return lhs.offset < rhs.offset
        }.map(\.element)
    }

    /// A resource's node scores with those of the resources it is colocated with folded in, as
    /// Pacemaker's cmp_resources computes them (pcmk__add_colocated_node_scores with no table
    /// and "this with" colocations): a group starts from its last member, which reaches the
    /// others through the group's internal colocations, then adds the group's own colocations;
    /// a group it is colocated with adds its first member's scores.
    private func sortingWeights(_ resource: SchedulerResource, thisWith: [ObjectIdentifier: [Colocation]]) -> [String: Score] {
        var merging: Set<ObjectIdentifier> = []
        return addColocatedScores(resource, into: nil, attribute: "#uname", factor: 1, rollback: false,
                                  thisWith: thisWith, merging: &merging) ?? resource.allowed
    }

    private func addColocatedScores(_ resource: SchedulerResource, into table: [String: Score]?, attribute: String,
                                    factor: Double, rollback: Bool, thisWith: [ObjectIdentifier: [Colocation]],
                                    merging: inout Set<ObjectIdentifier>) -> [String: Score]? {
        let key = ObjectIdentifier(resource)
        // A colocation loop is broken where it comes back to a resource being merged.
        guard !merging.contains(key) else { return table }
        merging.insert(key)
        defer { merging.remove(key) }
        var work: [String: Score]
        if resource.kind == .group {
            guard let member = table == nil ? resource.children.last : resource.children.first,
                  let merged = addColocatedScores(member, into: table, attribute: attribute, factor: factor, rollback: rollback,
                                                  thisWith: thisWith, merging: &merging) else { return table }
            work = merged
        } else if let table {
            work = table
            addMatching(&work, from: resource, attribute: attribute, factor: factor)
        } else {
            work = resource.allowed
        }
        if canRunAny(work) {
            let multiplier: Double = factor < 0 ? -1 : 1
            for colocation in thisWith[key] ?? [] {
                let primary = colocation.namedPrimary ?? colocation.primary
                work = addColocatedScores(primary, into: work, attribute: colocation.nodeAttribute,
                                          factor: multiplier * Double(colocation.score.value) / Double(Score.infinityValue),
                                          rollback: true, thisWith: thisWith, merging: &merging) ?? work
            }
        } else if rollback {
            return table
        }
        return work
    }

    private func addMatching(_ work: inout [String: Score], from resource: SchedulerResource, attribute: String, factor: Double) {
        // The best weight of the resource among the nodes that can run resources, by the
        // nodes' value of the attribute (one pass, instead of one per node).
        var bestByValue: [String?: Score] = [:]
        for other in nodes where other.canRunResources {
            guard let weight = resource.allowed[other.name] else { continue }
            let value = other.attributes[attribute]
            if let best = bestByValue[value], best >= weight { continue }
            bestByValue[value] = weight
        }
        for node in nodes {
            guard let current = work[node.name] else { continue }
            let bestScore = bestByValue[node.attributes[attribute]] ?? .minusInfinity
            if factor < 0 && bestScore < .zero { continue }
            let weighted: Score
            if bestScore.isInfinite && abs(factor) >= 1 {
                weighted = (bestScore.value > 0) == (factor > 0) ? .infinity : .minusInfinity
            } else {
                // Rounded half away from zero, and a nonzero score never weighs nothing: small
                // factors would otherwise erase the small scores configurations use (Pacemaker's
                // add_node_scores_matching_attr).
                let product = Double(bestScore.value) * factor
                var value = Int(product < 0 ? product - 0.5 : product + 0.5)
                if value == 0 && bestScore.value != 0 { value = factor > 0 ? 1 : (factor < 0 ? -1 : 0) }
                weighted = Score(value)
            }
            work[node.name] = current + weighted
        }
    }

    @discardableResult
    func assign(_ resource: SchedulerResource, prefer: SchedulerNode?) -> SchedulerNode? {
        guard resource.provisional else { return resource.allocatedTo }
        guard !resource.allocating else { return nil }   // a colocation loop: break it here
        resource.allocating = true
        defer { resource.allocating = false }
        if let group = resource.parent, group.kind == .group { group.groupColocationsExpanded = true }
        switch resource.kind {
        case .primitive: return assignPrimitive(resource, prefer: prefer)
        case .group:
            if let parent = resource.parent, parent.kind == .clone, parent.provisional, !parent.allocating {
                assign(parent, prefer: nil)
                return resource.allocatedTo
            }
            resource.groupColocationsExpanded = true
            for colocation in resource.dependentColocations { assign(colocation.primary, prefer: nil) }
            var first: SchedulerNode?
            for (index, member) in resource.children.enumerated() {
                let node = assign(member, prefer: index == 0 ? prefer : nil)
                if index == 0 { first = node }
            }
            resource.allocatedTo = first
            resource.provisional = false
            resource.nextRole = first == nil ? .stopped : (resource.children.first?.nextRole ?? .started)
            return first
        case .clone:
            assignClone(resource)
            if resource.isBundle { assignBundleParts(resource) }
            return nil
        }
    }

    private func assignPrimitive(_ resource: SchedulerResource, prefer: SchedulerNode?) -> SchedulerNode? {
        if let clone = resource.cloneParent, clone.provisional, !clone.allocating {
            assign(clone, prefer: nil)
            return resource.allocatedTo
        }
        if resource.bundlePart && resource.isRemoteConnection { followNestedContainerHost(resource) }
        for colocation in resource.dependentColocations {
            if colocation.dependentRole == .promoted || colocation.dependentRole == .unpromoted { continue }
            let archive = resource.allowed
            assign(colocation.primary, prefer: nil)
            applyColocation(colocation, to: resource)
            if colocation.score < .zero && colocation.score > .minusInfinity && !canRunAny(resource.allowed) {
                resource.allowed = archive
            }
        }
        for colocation in resource.primaryColocations where colocation.influence {
            if colocation.dependentRole == .promoted { continue }
            var visited: Set<ObjectIdentifier> = [ObjectIdentifier(resource)]
            resource.allowed = mergeWeights(from: colocation.dependent, into: resource.allowed,
                                            attribute: colocation.nodeAttribute,
                                            factor: Double(colocation.score.value) / Double(Score.infinityValue),
                                            named: colocation.namedDependent, visited: &visited)
        }
        var chosen: SchedulerNode?
        if !resource.managed {
            // An unmanaged resource stays where it is; where it may not be, it counts as unplaced
            // for what depends on it.
            chosen = resource.runningOn.first.flatMap { node in (resource.allowed[node.name] ?? .minusInfinity) > .minusInfinity ? node : nil }
            // Pacemaker assigns it there all the same (pcmk__finalize_assignment, forced): the
            // node counts it among its resources when later ones break ties.
            if chosen == nil, let current = resource.runningOn.first { current.assignedCount += 1 }
        } else if resource.orphan || resource.nextRole == .stopped || targetRole(resource) == .stopped {
            chosen = nil
        } else {
            let mostCapable = banInsufficientCapacity(resource)
            chosen = chooseNode(resource, prefer: prefer ?? mostCapable, excluding: [])
        }
        commit(resource, to: chosen)
        return chosen
    }

    /// Utilization strategies: nodes without room for the resource (and what must run with it)
    /// are not candidates (Pacemaker's pcmk__ban_insufficient_capacity).
    @discardableResult
    func banInsufficientCapacity(_ resource: SchedulerResource) -> SchedulerNode? {
        guard placementStrategy != "default" else { return nil }
        // Everything tied to it by mandatory colocations must fit too (Pacemaker's colocated
        // utilization).
        var together: [SchedulerResource] = [resource]
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(resource)]
        var index = 0
        while index < together.count && together.count < 10_000 {
            let current = together[index]
            index += 1
            let linked = current.primaryColocations.filter { $0.score >= .infinity }.map(\.dependent)
                + current.dependentColocations.filter { $0.score >= .infinity }.map(\.primary)
            for other in linked where other.kind == .primitive && !seen.contains(ObjectIdentifier(other)) {
                seen.insert(ObjectIdentifier(other))
                together.append(other)
            }
        }
        func total(_ members: [SchedulerResource]) -> [String: Int] {
            var sum: [String: Int] = [:]
            for member in members where member.provisional || member === resource {
                for (key, value) in member.utilization { sum[key, default: 0] += value }
            }
            return sum
        }
        func fits(_ node: SchedulerNode, _ need: [String: Int]) -> Bool {
            need.allSatisfy { node.free($0.key) >= $0.value }
        }
        // A clone instance counts what is colocated with its clone too, as Pacemaker's
        // colocated_resources and add_utilization walk it (colocated-utilization-clone).
        let all = resource.cloneParent != nil ? colocatedUtilization(resource) ?? total(together) : total(together)
        let available = nodes.filter { $0.canRunResources && (resource.allowed[$0.name].map { $0 >= .zero } ?? false) }
        let anyCapable = available.contains { fits($0, all) }
        let need = anyCapable ? all : total([resource])
        for node in nodes where !fits(node, need) { resource.allowed[node.name] = .minusInfinity }
        // No node can take them all: the node with the most free capacity (attribute by
        // attribute) is preferred, as long as it scores as well as the best.
        guard !anyCapable, together.count > 1 else { return nil }
        var mostCapable: SchedulerNode?
        for node in available where mostCapable == nil || compareCapacity(node, mostCapable!) < 0 { mostCapable = node }
        return mostCapable
    }

    /// Negative when the first node has more free capacity (Pacemaker's
    /// pcmk__compare_node_capacities: one vote per utilization attribute).
    /// The utilization of a clone instance and of what its colocations tie to it that is not
    /// placed yet (Pacemaker's pcmk__colocated_resources, with the instance's clone's
    /// colocations appended as append_parent_colocation does, and the variants'
    /// add_utilization). Nil when a bundle is involved (left to the simpler sum).
    private func colocatedUtilization(_ resource: SchedulerResource) -> [String: Int]? {
        let available = nodes.filter(\.canRunResources).count
        // The clone whose colocations an instance (or a cloned group's first member) takes on.
        func instanceClone(_ owner: SchedulerResource) -> SchedulerResource? {
            guard let parent = owner.parent else { return nil }
            if parent.kind == .clone { return parent }
            if parent.kind == .group, parent.children.first === owner, let clone = parent.parent, clone.kind == .clone { return clone }
            return nil
        }
        // Pacemaker's rsc_cons and rsc_cons_lhs: the colocations by the resource they name.
        var byDependent: [ObjectIdentifier: [Colocation]] = [:], byPrimary: [ObjectIdentifier: [Colocation]] = [:]
        for owner in allResources() {
            for colocation in owner.dependentColocations {
                byDependent[ObjectIdentifier(colocation.namedDependent ?? colocation.dependent), default: []].append(colocation)
            }
            for colocation in owner.primaryColocations {
                byPrimary[ObjectIdentifier(colocation.namedPrimary ?? colocation.primary), default: []].append(colocation)
            }
        }
        func thisWith(_ owner: SchedulerResource) -> [Colocation] {
            var list = byDependent[ObjectIdentifier(owner)] ?? []
            if let clone = instanceClone(owner) {
                let all = clone.cloneMax < available
                list += thisWith(clone).filter { all || $0.score < .zero || $0.score >= .infinity }
            }
            return list
        }
        func withThis(_ owner: SchedulerResource) -> [Colocation] {
            var list = byPrimary[ObjectIdentifier(owner)] ?? []
            if let clone = instanceClone(owner) {
                let all = clone.cloneMax < available
                list += withThis(clone).filter { $0.influence && (all || $0.score < .zero) }
            }
            return list
        }
        // pcmk__colocation_affects with preview: whether the colocation places the dependent.
        func affectsLocation(_ dependent: SchedulerResource, _ primary: SchedulerResource, _ colocation: Colocation) -> Bool {
            if let role = colocation.dependentRole, role >= .unpromoted, dependent.parent?.promotable == true, !dependent.provisional {
                return false
            }
            if colocation.score > .zero, let role = colocation.dependentRole, role != dependent.nextRole { return false }
            if colocation.score > .zero, let role = colocation.primaryRole, role != primary.nextRole { return false }
            return true
        }
        var list: [SchedulerResource] = []
        var bundled = false
        func collect(_ current: SchedulerResource) {
            if current.isBundle || current.bundlePart { bundled = true }
            guard !bundled, list.count < 10_000 else { return }
            if current.kind == .group {
                let collocated = truthy(current.meta["collocated"], default: true) || current.parent?.kind == .clone
                for member in collocated ? current.children : Array(current.children.prefix(1)) { collect(member) }
            }
            guard !list.contains(where: { $0 === current }) else { return }
            list.append(current)
            for colocation in thisWith(current) where colocation.score >= .infinity {
                let primary = colocation.namedPrimary ?? colocation.primary
                if primary !== resource && affectsLocation(current, primary, colocation) { collect(primary) }
            }
            for colocation in withThis(current) where colocation.score >= .infinity {
                let dependent = colocation.namedDependent ?? colocation.dependent
                if dependent === resource || (current.kind == .clone && dependent.kind != .clone) { continue }
                if affectsLocation(dependent, current, colocation) { collect(dependent) }
            }
        }
        collect(resource)
        guard !bundled else { return nil }
        var sum: [String: Int] = [:]
        func add(_ current: SchedulerResource) {
            guard current.provisional else { return }
            switch current.kind {
            case .primitive:
                for (key, value) in current.utilization { sum[key, default: 0] += value }
            case .group:
                let collocated = truthy(current.meta["collocated"], default: true) || current.parent?.kind == .clone
                for member in collocated ? current.children : Array(current.children.prefix(1))
                where member.provisional && !list.contains(where: { $0 === member }) {
                    add(member)
                }
            case .clone:
                var existing = false
                for child in current.children {
                    if list.contains(where: { $0 === child }) {
                        existing = true
                    } else if child.children.contains(where: { member in list.contains { $0 === member } }) {
                        add(child)
                        existing = true
                    }
                }
                if !existing, let first = current.children.first { add(first) }
            }
        }
        for member in list { add(member) }
        return sum
    }

    private func compareCapacity(_ first: SchedulerNode, _ second: SchedulerNode) -> Int {
        var result = 0
        for name in Set(first.capacity.keys).union(second.capacity.keys) {
            let left = first.capacity[name] == nil ? 0 : first.free(name)
            let right = second.capacity[name] == nil ? 0 : second.free(name)
            if left > right { result -= 1 } else if left < right { result += 1 }
        }
        return result
    }

    func commit(_ resource: SchedulerResource, to node: SchedulerNode?) {
        if explain {
            let scores = nodes.map { "\($0.name)=\(resource.allowed[$0.name]?.description ?? "-")" }.joined(separator: " ")
            explanation.append("assign \(resource.id) -> \(node?.name ?? "none") [\(scores)]")
        }
        resource.allocatedTo = node
        resource.provisional = false
        defer { if resource.bundlePart && resource.isRemoteConnection, let guest = nodesByName[resource.id] { remoteConnectionAssigned(guest) } }
        node?.assignedCount += 1
        if let node { for (key, value) in resource.utilization { node.consumed[key, default: 0] += value } }
        if node == nil {
            resource.nextRole = .stopped
        } else if resource.nextRole == nil || resource.nextRole == .stopped && resource.managed == false {
            resource.nextRole = resource.managed ? .started : resource.role
        } else if resource.nextRole == .stopped {
            resource.nextRole = .stopped
        }
    }

    func targetRole(_ resource: SchedulerResource) -> Role? {
        var current: SchedulerResource? = resource
        while let candidate = current {
            if let role = Role(parsing: candidate.meta["target-role"]) { return role }
            current = candidate.parent
        }
        return nil
    }

    func chooseNode(_ resource: SchedulerResource, prefer: SchedulerNode?, excluding: Set<String>) -> SchedulerNode? {
        var candidates: [(node: SchedulerNode, score: Score)] = []
        candidates.reserveCapacity(nodes.count)
        for node in nodes where node.canRunResources && !excluding.contains(node.name) {
            if let value = resource.allowed[node.name], value >= .zero { candidates.append((node, value)) }
        }
        guard !candidates.isEmpty else { return guestFallback(resource, excluding: excluding) }
        let running = resource.runningOn.first
        if placementStrategy != "balanced" {
            // The same order as the sort below, which is total here (lexicographic, names are
            // unique): its first element is the single best candidate, found in one pass.
            let fewerFirst = placementStrategy != "minimal"
            func better(_ lhs: (node: SchedulerNode, score: Score), _ rhs: (node: SchedulerNode, score: Score)) -> Bool {
                if lhs.score != rhs.score { return lhs.score > rhs.score }
                if fewerFirst && lhs.node.assignedCount != rhs.node.assignedCount {
                    return lhs.node.assignedCount < rhs.node.assignedCount
                }
                if (lhs.node === running) != (rhs.node === running) { return lhs.node === running }
                return lhs.node.name < rhs.node.name
            }
            var best = candidates[0]
            for candidate in candidates.dropFirst() where better(candidate, best) { best = candidate }
            if let prefer, let preferred = candidates.first(where: { $0.node === prefer }), preferred.score >= best.score {
                return prefer
            }
            return best.node
        }
        // Highest score first; among equals the node with fewer resources, then the node the
        // resource runs on, then by name (Pacemaker's compare_nodes and native_choose_node).
        // Under "balanced" the capacity comparison need not be transitive: keep the sort.
        let sorted = candidates.map(\.node).sorted { lhs, rhs in
            let left = resource.allowed[lhs.name]!, right = resource.allowed[rhs.name]!
            if left != right { return left > right }
            if placementStrategy == "balanced" {
                let keys = Set(lhs.capacity.keys).union(rhs.capacity.keys)
                let better = keys.filter { lhs.free($0) > rhs.free($0) }.count
                let worse = keys.filter { lhs.free($0) < rhs.free($0) }.count
                if better != worse { return better > worse }
            }
            if placementStrategy != "minimal" && lhs.assignedCount != rhs.assignedCount {
                return lhs.assignedCount < rhs.assignedCount
            }
            if (lhs === running) != (rhs === running) { return lhs === running }
            return lhs.name < rhs.name
        }
        let best = sorted[0]
        let bestScore = resource.allowed[best.name]!
        if let prefer, sorted.contains(where: { $0 === prefer }), resource.allowed[prefer.name]! >= bestScore { return prefer }
        return best
    }

    func canRunAny(_ allowed: [String: Score]) -> Bool {
        nodes.contains { node in node.canRunResources && (allowed[node.name].map { $0 >= .zero } ?? false) }
    }

    /// Nodes on which the primary of a colocation ends up, in the role the colocation names.
    func primaryNodes(_ colocation: Colocation) -> [SchedulerNode] {
        let primary = colocation.primary
        if let role = colocation.primaryRole, role == .promoted || role == .unpromoted, let hosts = bundleRoleHosts(primary, role) {
            return hosts
        }
        let members: [SchedulerResource] = primary.kind == .clone ? primary.children : [primary]
        // A mandatory colocation with a clone (no promotable role) counts only the instances
        // whose resources are not blocked (Pacemaker's clone colocation with INFINITY).
        let skipBlocked = primary.kind == .clone && colocation.score >= .infinity
            && !(primary.promotable && colocation.primaryRole != nil)
        // A mandatory colocation with a clone that is not promotable ignores the role it
        // names (pcmk__clone_apply_coloc_score: every instance's node counts; unrunnable-2).
        let ignoresRole = primary.kind == .clone && !primary.promotable && !primary.isBundle && colocation.score >= .infinity
        return members.compactMap { member -> SchedulerNode? in
            guard let node = member.allocatedTo else { return nil }
            if skipBlocked && member.primitives.contains(where: \.blocked) { return nil }
            if !ignoresRole, let role = colocation.primaryRole {
                let next = member.nextRole ?? .started
                if role == .promoted && next != .promoted { return nil }
                if role == .unpromoted && next == .promoted { return nil }
            }
            return node
        }
    }

    func applyColocation(_ colocation: Colocation, to dependent: SchedulerResource) {
        // A primary not yet placed (a colocation loop) says nothing yet.
        if colocation.primary.provisional { return }
        // Role-limited colocations apply only when the roles match (Pacemaker compares with
        // the next role, which a resource being placed does not have yet).
        if colocation.dependentRole == .started && dependent.nextRole != .started { return }
        if colocation.primaryRole == .started && colocation.primary.kind != .clone
            && (colocation.primary.nextRole ?? .unknown) != .started { return }
        let targets = primaryNodes(colocation)
        let values = Set(targets.compactMap { $0.attributes[colocation.nodeAttribute] })
        var work = dependent.allowed
        for node in nodes {
            guard let current = work[node.name] else { continue }
            if targets.isEmpty {
                if colocation.score >= .infinity { work[node.name] = current + Score(-colocation.score.value) }
                else if colocation.score > .zero { work[node.name] = current + Score(-colocation.score.value) }
            } else if let value = node.attributes[colocation.nodeAttribute], values.contains(value) {
                if colocation.score < .infinity { work[node.name] = current + colocation.score }
            } else if colocation.score >= .infinity {
                work[node.name] = .minusInfinity
            }
        }
        if colocation.score.isInfinite || canRunAny(work) { dependent.allowed = work }
    }

    /// `named`: the resource as the colocation named it (a group, whose first member stands
    /// for it here).
    func mergeWeights(from resource: SchedulerResource, into nodesTable: [String: Score], attribute: String,
                      factor: Double, named: SchedulerResource? = nil, visited: inout Set<ObjectIdentifier>) -> [String: Score] {
        guard !visited.contains(ObjectIdentifier(resource)) else { return nodesTable }
        visited.insert(ObjectIdentifier(resource))
        var work = nodesTable
        addMatching(&work, from: resource, attribute: attribute, factor: factor)
        var dependents = resource.primaryColocations
        if !canRunAny(work), let group = named, group.kind == .group, group.children.first === resource, group.groupColocationsExpanded {
            // A group merges through its first member, and only that member's merge is rolled
            // back when it leaves no node: what is colocated with the group itself still weighs,
            // once the group's assignment has moved those colocations to its last member
            // (Pacemaker's init_group_colocated_nodes, then the last member's dependents).
            work = nodesTable
            dependents = dependents.filter { $0.namedPrimary === group }
        }
        if canRunAny(work) {
            for colocation in dependents where colocation.influence {
                work = mergeWeights(from: colocation.dependent, into: work, attribute: colocation.nodeAttribute,
                                    factor: (factor < 0 ? -1 : 1) * Double(colocation.score.value) / Double(Score.infinityValue),
                                    named: colocation.namedDependent, visited: &visited)
            }
        }
        return canRunAny(work) ? work : nodesTable
    }

    // MARK: clones

    private func assignClone(_ clone: SchedulerResource) {
        let promotionPriority = clone.promotable ? addPromotionScores(clone) : [:]
        for colocation in clone.dependentColocations {
            assign(colocation.primary, prefer: nil)
            for instance in clone.children {
                for member in instance.kind == .group ? [instance.children.first].compactMap({ $0 }) : [instance] {
                    let copy = Colocation(id: colocation.id, dependent: member, primary: colocation.primary, score: colocation.score,
                                          dependentRole: colocation.dependentRole, primaryRole: colocation.primaryRole,
                                          nodeAttribute: colocation.nodeAttribute, influence: colocation.influence)
                    if colocation.dependentRole == .promoted || colocation.dependentRole == .unpromoted { continue }
                    applyColocation(copy, to: member)
                }
            }
        }
        let available = nodes.filter { $0.canRunResources && (clone.allowed[$0.name].map { $0 >= .zero } ?? false) }
        // The instances' own target-role (their meta wins over the clone's) decides.
        let instanceRole = clone.children.first?.primitives.first.flatMap(targetRole) ?? targetRole(clone)
        let maximum = instanceRole == .stopped ? 0 : clone.cloneMax
        let perNode = max(clone.cloneNodeMax, 1)
        var spread = available.isEmpty ? 1 : maximum / available.count
        if spread < 1 { spread = 1 }
        spread = min(spread, perNode)
        var counts: [String: Int] = [:]
        var assigned = 0
        let unrunnable = Set(nodes.filter { !$0.canRunResources && !$0.isRemote }.map(\.name))
        func full(_ limit: Int) -> Set<String> { Set(counts.filter { $0.value >= limit }.map(\.key)) }
        // An active instance whose current node it may no longer run on (its score there is
        // missing or negative) sorts after the others, inactive ones included (Pacemaker's
        // sort_clone_instance: "availability of current location"). Only on a node that can
        // still run resources, or where the instance failed (its ban): elsewhere our table may
        // already hold the -INFINITY of colocations Pacemaker applies to the instance later, at
        // its assignment (not at this sort).
        func currentNode(_ instance: SchedulerResource) -> SchedulerNode? {
            instance.primitives.first(where: { !$0.runningOn.isEmpty })?.runningOn.first
        }
        func unavailable(_ instance: SchedulerResource) -> Bool {
            guard instance.isActive, let current = currentNode(instance) else { return false }
            let banned = (instance.allowed[current.name] ?? .minusInfinity) < .zero
            return banned && (current.canRunResources || instance.primitives.contains(where: \.failed))
        }
        let instances = clone.children.enumerated().sorted { lhs, rhs in
            let leftGone = unavailable(lhs.element), rightGone = unavailable(rhs.element)
            if leftGone != rightGone { return rightGone }
            // A higher priority first: a promotable instance's priority is raised to its best
            // promotion score before placement (pcmk__add_promotion_scores).
            let leftPriority = promotionPriority[ObjectIdentifier(lhs.element)] ?? lhs.element.priority
            let rightPriority = promotionPriority[ObjectIdentifier(rhs.element)] ?? rhs.element.priority
            if leftPriority != rightPriority { return leftPriority > rightPriority }
            let left = lhs.element.isActive && !leftGone, right = rhs.element.isActive && !rightGone
            if left != right { return left }
            guard left else { return lhs.offset < rhs.offset }
            // Both active where they may stay: one whose node can run resources first, then
            // one that has not failed.
            let leftNode = currentNode(lhs.element), rightNode = currentNode(rhs.element)
            let leftCan = leftNode?.canRunResources ?? false, rightCan = rightNode?.canRunResources ?? false
            if leftCan != rightCan { return leftCan }
            let leftFailed = lhs.element.primitives.contains(where: \.failed), rightFailed = rhs.element.primitives.contains(where: \.failed)
            if leftFailed != rightFailed { return rightFailed }
            return lhs.offset < rhs.offset
        }.map(\.element)
        // Keep running instances where they are, as far as the spread allows.
        for instance in instances where instance.isActive && assigned < maximum && !instance.orphan {
            guard let current = instance.primitives.first(where: { !$0.runningOn.isEmpty })?.runningOn.first,
                  current.canRunResources, !instance.primitives.contains(where: { $0.failed }),
                  (counts[current.name] ?? 0) < spread else { continue }
            let chosen = assignInstance(instance, prefer: current, excluding: full(spread), banned: unrunnable.union(full(perNode)))
            if chosen === current {
                counts[current.name, default: 0] += 1
                assigned += 1
            } else {
                unassign(instance)
            }
        }
        let remaining = instances.filter(\.provisional)
        for instance in remaining {
            // An orphaned instance (beyond clone-max, or not counted) is only stopped.
            if assigned >= maximum || instance.orphan {
                stopInstance(instance)
                continue
            }
            if let node = assignInstance(instance, prefer: nil, excluding: full(perNode), banned: unrunnable.union(full(perNode))) {
                counts[node.name, default: 0] += 1
                assigned += 1
            }
        }
        clone.provisional = false
        if clone.promotable { assignRoles(clone) }
    }

    private func assignInstance(_ instance: SchedulerResource, prefer: SchedulerNode?, excluding: Set<String>,
                                banned: Set<String> = []) -> SchedulerNode? {
        // Pacemaker's can_run_instance bans the instance for good from the nodes that cannot
        // run resources and from those holding clone-node-max instances already, before it
        // assigns (a later promotion score on such a node no longer applies).
        for member in [instance] + instance.children {
            for name in banned where member.allowed[name] != nil { member.allowed[name] = .minusInfinity }
        }
        var saved: [ObjectIdentifier: [String: Score]] = [:]
        for member in [instance] + instance.children {
            saved[ObjectIdentifier(member)] = member.allowed
            for name in excluding { member.allowed[name] = .minusInfinity }
        }
        instance.allocating = false
        let node: SchedulerNode?
        if instance.kind == .group {
            instance.allocating = true
            var first: SchedulerNode?
            for (index, member) in instance.children.enumerated() {
                let chosen = assignMember(member, prefer: index == 0 ? prefer : nil)
                if index == 0 { first = chosen }
            }
            instance.allocating = false
            instance.allocatedTo = first
            instance.provisional = false
            instance.nextRole = first == nil ? .stopped : .started
            node = first
        } else {
            node = assignMember(instance, prefer: prefer)
        }
        for member in [instance] + instance.children { if let table = saved[ObjectIdentifier(member)] { member.allowed = table } }
        return node
    }

    private func assignMember(_ member: SchedulerResource, prefer: SchedulerNode?) -> SchedulerNode? {
        member.allocating = true
        defer { member.allocating = false }
        return assignPrimitiveInClone(member, prefer: prefer)
    }

    private func assignPrimitiveInClone(_ resource: SchedulerResource, prefer: SchedulerNode?) -> SchedulerNode? {
        for colocation in resource.dependentColocations {
            assign(colocation.primary, prefer: nil)
            applyColocation(colocation, to: resource)
        }
        if resource.parent?.isBundle == true { weighConnection(of: resource) }
        var chosen: SchedulerNode?
        if !resource.managed {
            chosen = resource.runningOn.first
        } else if resource.nextRole == .stopped || targetRole(resource) == .stopped {
            chosen = nil
        } else {
            let mostCapable = banInsufficientCapacity(resource)
            chosen = chooseNode(resource, prefer: prefer ?? mostCapable, excluding: [])
        }
        commit(resource, to: chosen)
        return chosen
    }

    /// A bundle's container weighs its connection's scores, as Pacemaker's primitive
    /// assignment merges a dependent's: the connection's best score on each online node, times
    /// its colocation's factor (10000 / INFINITY). A node that is not online counts -INFINITY
    /// (so -10000: the containers prefer cluster nodes to remote nodes still starting), and an
    /// online remote node counts 0 (Pacemaker bans connections from remote nodes only when it
    /// places them, not in this table). bundle-probe-remotes.
    private func weighConnection(of container: SchedulerResource) {
        for colocation in container.primaryColocations
        where colocation.influence && colocation.dependent.isRemoteConnection && colocation.score > .zero {
            let factor = Double(colocation.score.value) / Double(Score.infinityValue)
            var work = container.allowed
            for node in nodes {
                guard let current = work[node.name] else { continue }
                let best: Score = !(node.onlineAsUnpacked ?? node.online) ? .minusInfinity : (node.isRemote ? .zero : colocation.dependent.allowed[node.name] ?? .minusInfinity)
                let weighted = best.isInfinite && factor >= 1 ? best : Score(Int(Double(best.value) * factor))
                work[node.name] = current + weighted
            }
            if canRunAny(work) { container.allowed = work }
        }
    }

    private func unassign(_ instance: SchedulerResource) {
        for member in [instance] + instance.children {
            member.allocatedTo?.assignedCount -= 1
            if let node = member.allocatedTo { for (key, value) in member.utilization { node.consumed[key, default: 0] -= value } }
            member.allocatedTo = nil
            member.provisional = true
            if member.nextRole != .stopped || member.managed { member.nextRole = nil }
        }
    }

    private func stopInstance(_ instance: SchedulerResource) {
        for member in [instance] + instance.children {
            member.allocatedTo = nil
            member.provisional = false
            member.nextRole = .stopped
        }
    }

    // MARK: promotion

    private func assignRoles(_ clone: SchedulerResource) {
        struct Candidate {
            let instance: SchedulerResource; let node: SchedulerNode; var score: Score
            /// The instance's own score, before its node's total replaced it (breaks ties).
            var own: Score = .zero
        }
        var candidates: [Candidate] = []
        for instance in clone.children {
            guard let node = instance.allocatedTo else { continue }
            var value = promotionBase(instance, on: node)
            for location in roleLocations where location.role == .promoted {
                if location.node === node && (location.resource === clone || location.resource === instance) {
                    value = value + location.score
                }
            }
            for primitive in instance.primitives where primitive.promotionBanned { value = .minusInfinity }
            // A group instance is promoted only with all its members placed (Pacemaker's
            // node_to_be_promoted_on asks every member).
            if instance.kind == .group && instance.primitives.contains(where: { $0.allocatedTo == nil }) { value = .minusInfinity }
            if instance.primitives.allSatisfy(\.managed) && !canPromote(on: node) { value = .minusInfinity }
            if !haveQuorum && noQuorumPolicy == "demote" { value = .minusInfinity }
            // Role-limited colocations weigh on promotion (Pacemaker's pcmk__apply_coloc_to_priority).
            for colocation in clone.dependentColocations where colocation.dependentRole == .promoted || colocation.dependentRole == .unpromoted {
                let targets = primaryNodes(colocation)
                if targets.contains(where: { $0 === node }) {
                    value = value + (colocation.dependentRole == .promoted ? colocation.score : Score(-colocation.score.value))
                } else if colocation.score >= .infinity && colocation.dependentRole == .promoted {
                    value = .minusInfinity
                }
            }
            // target-role Unpromoted (or Stopped) forbids promotion; Started does not limit it.
            if let role = targetRole(instance), role == .unpromoted || role == .stopped { value = .minusInfinity }
            candidates.append(Candidate(instance: instance, node: node, score: value))
            if explain { explanation.append("promotion score \(instance.id) on \(node.name): \(value)") }
        }
        candidates = applyPromotedDependents(clone, candidates.map { ($0.instance, $0.node, $0.score) })
            .enumerated().map { Candidate(instance: $0.element.instance, node: $0.element.node, score: $0.element.score,
                                          own: candidates[$0.offset].score) }
        let sorted = candidates.enumerated().sorted { lhs, rhs in
            if lhs.element.score != rhs.element.score { return lhs.element.score > rhs.element.score }
            if lhs.element.own != rhs.element.own { return lhs.element.own > rhs.element.own }
            let leftPromoted = lhs.element.instance.role == .promoted, rightPromoted = rhs.element.instance.role == .promoted
            if leftPromoted != rightPromoted { return leftPromoted }
            // Then as clone instances sort: one that has not failed first.
            let leftFailed = lhs.element.instance.primitives.contains(where: \.failed)
            let rightFailed = rhs.element.instance.primitives.contains(where: \.failed)
            if leftFailed != rightFailed { return rightFailed }
            return lhs.offset < rhs.offset
        }.map(\.element)
        // Promoted instances that cannot be demoted (stuck on a node that cannot be fenced, or
        // unmanaged) still hold their promotion.
        var promoted = clone.children.filter { instance in
            instance.allocatedTo == nil && instance.primitives.contains { primitive in
                primitive.roleOnNode.contains { name, role in
                    guard role == .promoted, let node = nodesByName[name] else { return false }
                    return !primitive.managed || (node.unclean && !canFence(node))
                }
            }
        }.count
        var perNode: [String: Int] = [:]
        for candidate in sorted {
            var canPromote = candidate.score >= .zero && promoted < clone.promotedMax
                && (perNode[candidate.node.name] ?? 0) < clone.promotedNodeMax
            // Without quorum under freeze an instance that is not promoted stays unpromoted,
            // and counts against neither limit (Pacemaker's promote_instance).
            if canPromote && candidate.instance.role < .promoted && !haveQuorum && noQuorumPolicy == "freeze" { canPromote = false }
            for member in [candidate.instance] + candidate.instance.children where member.nextRole != .stopped {
                member.nextRole = canPromote ? .promoted : .unpromoted
            }
            if canPromote {
                promoted += 1
                perNode[candidate.node.name, default: 0] += 1
            }
        }
    }

    /// The clone's own node scores and what must run with the promoted instance weigh in
    /// (Pacemaker's sort_promotable_instances: instance scores are summed per node, the
    /// dependents' scores added without turning a positive node negative, and each instance
    /// that could be promoted takes its node's total).
    private func applyPromotedDependents(_ clone: SchedulerResource,
                                         _ candidates: [(instance: SchedulerResource, node: SchedulerNode, score: Score)])
        -> [(instance: SchedulerResource, node: SchedulerNode, score: Score)] {
        let colocations = clone.primaryColocations.filter { $0.primaryRole == .promoted && $0.influence }
        // The clone's node scores include what its dependents prefer (Pacemaker merges their
        // scores into the clone's table when placing it; they never turn a node negative).
        var base: [String: Score] = [:]
        for candidate in candidates {
            let name = candidate.node.name
            guard base[name] == nil else { continue }
            var weight = clone.allowed[name] ?? .zero
            for colocation in clone.primaryColocations where colocation.primaryRole != .promoted && colocation.influence
                && colocation.score > .zero {
                let dependent = colocation.namedDependent ?? colocation.dependent
                var preference = Score.zero
                for member in dependent.primitives { preference = preference + (member.allowed[name] ?? .zero) }
                guard preference > .zero, preference < .infinity else { continue }
                let factor = Double(colocation.score.value) / Double(Score.infinityValue)
                weight = weight + Score(max(1, Int((factor * Double(preference.value)).rounded())))
            }
            base[name] = weight
        }
        var weights: [String: Score] = [:]
        for candidate in candidates where candidate.score >= .zero {
            weights[candidate.node.name] = (weights[candidate.node.name] ?? (base[candidate.node.name] ?? .zero)) + candidate.score
        }
        for colocation in colocations {
            let dependent = colocation.namedDependent ?? colocation.dependent
            let factor = Double(colocation.score.value) / Double(Score.infinityValue)
            for (name, weight) in weights {
                var preference = Score.zero
                for member in dependent.primitives { preference = preference + (member.allowed[name] ?? .zero) }
                if factor < 0 && preference < .zero { continue }
                var scaled: Score
                if preference.value >= Score.infinityValue || preference.value <= -Score.infinityValue {
                    scaled = factor >= 1 ? preference : Score(Int((factor * Double(preference.value)).rounded()))
                } else {
                    scaled = Score(Int((factor * Double(preference.value)).rounded()))
                    if scaled == .zero && preference != .zero { scaled = Score(factor > 0 ? 1 : -1) }
                }
                let total = weight + scaled
                if total < .zero && weight > .zero {
                    weights[name] = Score(1)   // a positive node stays usable, barely
                } else if total < .zero && weight == .zero {
                    continue
                } else {
                    weights[name] = total
                }
            }
        }
        return candidates.map { candidate in
            // An unmanaged promoted instance stays promoted, whatever its node's total.
            if candidate.instance.role == .promoted && candidate.instance.primitives.contains(where: { !$0.managed }) {
                return (candidate.instance, candidate.node, .infinity)
            }
            guard candidate.score >= .zero, let weight = weights[candidate.node.name] else { return candidate }
            return (candidate.instance, candidate.node, weight)
        }
    }

    /// Before a promotable clone's instances are placed, each instance's positive promotion
    /// score on a node that can run resources is added to its score there, and its priority
    /// is raised to the best of them (Pacemaker's pcmk__add_promotion_scores). Returns the
    /// raised priorities by instance, for the placement order.
    private func addPromotionScores(_ clone: SchedulerResource) -> [ObjectIdentifier: Int] {
        // Per member name: the member active on each node, and the nodes where one was probed
        // (computed once, not per instance and node).
        var activeByNode: [String: [String: SchedulerResource]] = [:]
        var probedOn: [String: Set<String>] = [:]
        for instance in clone.children {
            for primitive in instance.primitives {
                for node in primitive.runningOn where activeByNode[primitive.baseID]?[node.name] == nil {
                    activeByNode[primitive.baseID, default: [:]][node.name] = primitive
                }
                probedOn[primitive.baseID, default: []].formUnion(primitive.historyNodes.map(\.name))
            }
        }
        func applies(_ primitive: SchedulerResource, _ node: SchedulerNode) -> Bool {
            promotionScoreApplies(primitive, of: clone, on: node, active: activeByNode[primitive.baseID]?[node.name],
                                  probedByAny: probedOn[primitive.baseID]?.contains(node.name) ?? false)
        }
        var priorities: [ObjectIdentifier: Int] = [:]
        for instance in clone.children {
            var priority = instance.priority
            for node in nodes where node.canRunResources && instance.allowed[node.name] != nil {
                var total = 0
                for primitive in instance.primitives where applies(primitive, node) {
                    total = (Score(total) + (promotionAttribute(primitive, on: node) ?? .zero)).value
                }
                // (A cloned group's members take their scores from the group when placed: only
                // a primitive instance's own scores are raised here.)
                if total > 0, instance.kind == .primitive, let current = instance.allowed[node.name] {
                    instance.allowed[node.name] = current + Score(total)
                }
                if total > priority { priority = total }
            }
            priorities[ObjectIdentifier(instance)] = priority
        }
        return priorities
    }

    /// Whether an instance member's promotion score counts on a node (Pacemaker's
    /// promotion_score_applies): where it is active, where no instance is active but one was
    /// probed, everywhere while it was probed nowhere, else where it was probed or is active;
    /// always only where it is allowed.
    /// `active` is the clone's member of that name active on the node, `probedByAny` whether
    /// one of them was probed there.
    private func promotionScoreApplies(_ primitive: SchedulerResource, of clone: SchedulerResource, on node: SchedulerNode,
                                       active: SchedulerResource?, probedByAny: Bool) -> Bool {
        func allowed() -> Bool { (primitive.allowed[node.name] ?? .minusInfinity) >= .zero }
        if !clone.globallyUnique {
            if active === primitive { return allowed() }
            if active == nil && probedByAny { return allowed() }
        }
        if primitive.runningOn.isEmpty && primitive.historyNodes.isEmpty { return allowed() }
        if primitive.historyNodes.contains(where: { $0 === node }) || primitive.runningOn.contains(where: { $0 === node }) {
            return allowed()
        }
        return false
    }

    /// The promotion score attribute recorded for the primitive on the node, if any.
    private func promotionAttribute(_ primitive: SchedulerResource, on node: SchedulerNode) -> Score? {
        let recorded = primitive.historyName ?? primitive.id
        let attributes = attributeNode(for: primitive, on: node)?.attributes ?? [:]
        for name in ["master-\(recorded)", "master-\(primitive.baseID)", "promotion-\(recorded)", "promotion-\(primitive.baseID)"] {
            if let value = attributes[name] { return score(value) }
        }
        return nil
    }

    private func promotionBase(_ instance: SchedulerResource, on node: SchedulerNode) -> Score {
        var total = Score.zero
        var found = false
        for primitive in instance.primitives {
            // A score counts only where the instance is allowed (promotion_score_applies'
            // is_allowed): not on a node it was banned from, e.g. by can_run_instance.
            guard (primitive.allowed[node.name] ?? .minusInfinity) >= .zero else { continue }
            let recorded = primitive.historyName ?? primitive.id
            let attributes = attributeNode(for: primitive, on: node)?.attributes ?? [:]
            for name in ["master-\(recorded)", "master-\(primitive.baseID)", "promotion-\(recorded)", "promotion-\(primitive.baseID)"] {
                if let value = attributes[name] { total = total + score(value); found = true; break }
            }
        }
        if !found {
            // Without a promotion score: -1, even for an instance promoted now (Pacemaker's
            // set_instance_priority); only role-Promoted locations can then promote it.
            return Score(-1)
        }
        return total
    }
}
