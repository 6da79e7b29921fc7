import CIB

struct OrderConstraintSpec {
    let id: String
    let first: SchedulerResource
    let firstAction: String
    let then: SchedulerResource
    let thenAction: String
    let mandatory: Bool
    let oneOrMore: Bool
    /// An optional ordering upgraded to "a restart of first restarts then" (restart-type=restart).
    var impliesThen = false
    /// The inverse half of a symmetrical ordering (stops in reverse).
    var inverted = false
    var symmetrical = true
    /// "then" may run when enough of the firsts grouped under this name can
    /// (require-all=false sets: one; clones with clone-min: that many instances).
    var oneOrMoreName: String?
    var oneOrMoreMinimum = 1

    /// Whether the two clones' instances are paired node by node: the interleave of the clone
    /// whose action comes second, or of the first one when that second action is a stop or a
    /// demote (Pacemaker's can_interleave_actions), so for a start-then-start order and its
    /// inverse, the configured "then" clone's.
    var interleaved: Bool {
        guard first.kind == .clone && then.kind == .clone else { return false }
        return thenAction.hasPrefix("stop") || thenAction.hasPrefix("demote") ? first.interleave : then.interleave
    }
}

struct TicketConstraintSpec {
    let id: String
    let resource: SchedulerResource
    let ticket: String
    let lossPolicy: String
    let role: Role?
}

/// Role-specific placement scores (they weigh on promotion, not on placement).
struct RoleLocation {
    let resource: SchedulerResource
    let node: SchedulerNode
    let score: Score
    let role: Role
}

extension WorkingSet {
    func initialiseAllowedNodes() {
        // Every node at 0 in a symmetric cluster: built once, copied per resource.
        var everyNode: [String: Score] = [:]
        if symmetricCluster { for node in nodes { everyNode[node.name] = .zero } }
        for resource in allResources() {
            var allowed = everyNode
            for (key, value) in resource.allowed { allowed[key] = (allowed[key] ?? .zero) + value }
            resource.allowed = allowed
        }
        // A guest's connection may run wherever its container may (it opts in everywhere).
        if !symmetricCluster {
            for resource in allPrimitives where resource.isRemoteConnection && container(of: resource) != nil {
                for node in nodes where resource.allowed[node.name] == nil { resource.allowed[node.name] = .zero }
            }
        }
        for (resource, node) in bans { applyLocation(resource, node: node, score: .minusInfinity) }
        // Remote connections and fencing devices never run on remote nodes.
        for resource in allPrimitives where resource.isRemoteConnection || resource.primitive?.resourceClass == "stonith"
            || isGuestContainer(resource) && !(resource.parent?.isBundle ?? false) {
            for node in nodes where node.isRemote { resource.allowed[node.name] = .minusInfinity }
        }
        // A bundle's containers may run on remote nodes, not on guest nodes.
        for bundle in resources where bundle.isBundle {
            for container in bundle.children {
                for node in nodes where node.guestContainer != nil { container.allowed[node.name] = .minusInfinity }
            }
        }
    }

    /// Adds `score` for `node` (every node when nil) to the resource and everything inside it.
    func applyLocation(_ resource: SchedulerResource, node: SchedulerNode?, score: Score) {
        let targets = node.map { [$0] } ?? nodes
        func walk(_ current: SchedulerResource) {
            for target in targets { current.allowed[target.name] = (current.allowed[target.name] ?? .zero) + score }
            current.children.forEach(walk)
        }
        walk(resource)
    }

    func resolve(_ id: String?) -> SchedulerResource? {
        guard let id else { return nil }
        return resourcesByID[id]
    }

    /// What an id in a constraint stands for: a resource, every primitive made from a
    /// template, or every member of a tag.
    func resolveAll(_ id: String?) -> [SchedulerResource] {
        guard let id else { return [] }
        if let resource = resourcesByID[id] { return [resource] }
        if templates[id] != nil { return allPrimitives.filter { $0.template == id && !$0.isCloneInstance } + resources.filter { $0.kind == .clone && $0.primitives.first?.template == id } }
        if let members = tags[id] { return members.flatMap { resolveAll($0) } }
        return []
    }

    func isReferenceToMany(_ id: String?) -> Bool {
        guard let id else { return false }
        return resourcesByID[id] == nil && (templates[id] != nil || tags[id] != nil)
    }

    /// Expands template and tag references inside sets.
    func expandSets(_ sets: [ResourceSet]) -> [ResourceSet] {
        sets.map { set in
            var expanded = set
            expanded.resources = set.resources.flatMap { id in isReferenceToMany(id) ? resolveAll(id).map(\.id) : [id] }
            return expanded
        }
    }

    /// A synthetic resource set for a constraint whose plain reference names a template or tag.
    func syntheticSet(_ id: String, action: String? = nil, role: String? = nil) throws -> ResourceSet {
        var element = XMLElement(name: "resource_set", attributes: [.init(name: "id", value: "\(id)-set")])
        if let action { element["action"] = action }
        if let role { element["role"] = role }
        // Pacemaker's tag_to_set: a template's or tag's set is not sequential.
        if isReferenceToMany(id) { element["sequential"] = "false" }
        element.children = resolveAll(id).map { XMLElement(name: "resource_ref", attributes: [.init(name: "id", value: $0.id)]) }
        return try ResourceSet(xml: element)
    }

    func unpackConstraints() {
        var orderSpecs: [OrderConstraintSpec] = []
        for constraint in cib.configuration.constraints {
            switch constraint {
            case .location(let location): unpackLocation(location)
            case .colocation(let colocation): unpackColocation(colocation)
            case .order(let order): orderSpecs += unpackOrder(order)
            case .ticket(let ticket): unpackTicket(ticket)
            case .other: continue
            }
        }
        orderConstraints = orderSpecs
        applyExclusiveDiscovery()
    }

    /// A resource with resource-discovery=exclusive locations may run only on the nodes those
    /// locations name (Pacemaker's apply_exclusive_discovery), and so may what it contains.
    func applyExclusiveDiscovery() {
        func walk(_ resource: SchedulerResource, _ nodes: Set<String>) {
            for name in resource.allowed.keys where !nodes.contains(name) { resource.allowed[name] = .minusInfinity }
            resource.children.forEach { walk($0, nodes) }
        }
        for resource in allResources() {
            guard let exclusive = resource.exclusiveDiscoveryNodes else { continue }
            walk(resource, exclusive)
        }
    }

    // MARK: location

    private func unpackLocation(_ location: LocationConstraint) {
        var targets: [SchedulerResource] = resolveAll(location.resource)
        if var pattern = location.resourcePattern {
            // A POSIX extended regular expression matched anywhere in the id; "!" inverts it.
            let inverted = pattern.hasPrefix("!")
            if inverted { pattern.removeFirst() }
            if let regex = try? Regex(pattern) {
                // Only configured resources: a bundle's generated parts (IPs, connections, the
                // clone of its child) are not in Pacemaker's resource list (colocation-influence).
                let generated = Set(bundleExtras.values.flatMap { $0 }.map(ObjectIdentifier.init))
                targets += resources.filter { resource in
                    !generated.contains(ObjectIdentifier(resource)) && ((try? regex.firstMatch(in: resource.id)) != nil) != inverted
                }
            }
        }
        for set in expandSets(location.sets) { targets += set.resources.compactMap(resolve) }
        let role = Role(parsing: location.role)
        let exclusive = location.resourceDiscovery?.lowercased() == "exclusive"
        for resource in targets {
            if exclusive && resource.exclusiveDiscoveryNodes == nil { resource.exclusiveDiscoveryNodes = [] }
            if let nodeName = location.node {
                guard let node = nodesByName[nodeName] else { continue }
                place(resource, node: node, score: location.score ?? .zero, role: role)
                if exclusive { resource.exclusiveDiscoveryNodes?.insert(node.name) }
            }
            for rule in location.rules {
                let ruleRole = Role(parsing: rule.role) ?? role
                for node in nodes {
                    guard evaluate(rule, on: node, for: resource) else { continue }
                    if exclusive { resource.exclusiveDiscoveryNodes?.insert(node.name) }
                    var value = rule.score ?? .zero
                    if let attribute = rule.scoreAttribute {
                        value = score(node.attributes[attribute])
                    }
                    place(resource, node: node, score: value, role: ruleRole)
                }
            }
        }
    }

    private func place(_ resource: SchedulerResource, node: SchedulerNode, score: Score, role: Role?) {
        if let role, role == .promoted || role == .unpromoted {
            roleLocations.append(RoleLocation(resource: resource, node: node, score: score, role: role))
            if role == .promoted { return }
        }
        applyLocation(resource, node: node, score: score)
    }

    func evaluate(_ rule: Rule, on node: SchedulerNode, for resource: SchedulerResource? = nil) -> Bool {
        var context = RuleContext(node: node, now: now)
        if let primitive = resource?.primitives.first?.primitive {
            context.resourceClass = primitive.resourceClass
            context.provider = primitive.provider
            context.type = primitive.type
            // The parameters as they are on that node (their sets may have rules of their own).
            context.parameters = values(of: primitive.attributes.instance, in: context)
        }
        context.meta = resource?.meta ?? [:]
        return evaluate(rule, in: context)
    }

    // MARK: colocation

    private func unpackColocation(_ original: ColocationConstraint) {
        var colocation = original
        // Pacemaker ignores a colocation between two templates or tags.
        if colocation.sets.isEmpty, isReferenceToMany(colocation.resource), isReferenceToMany(colocation.withResource) { return }
        if colocation.sets.isEmpty, isReferenceToMany(colocation.resource) || isReferenceToMany(colocation.withResource),
           let first = colocation.resource, let second = colocation.withResource,
           let dependentSet = try? syntheticSet(first, role: colocation.resourceRole),
           let primarySet = try? syntheticSet(second, role: colocation.withResourceRole) {
            colocation.sets = [dependentSet, primarySet]
        }
        colocation.sets = expandSets(colocation.sets)
        let score = colocation.score ?? .zero
        let attribute = colocation.nodeAttribute ?? "#uname"
        let influence = original.extras.attributes.first { $0.name == "influence" }?.value
        if colocation.sets.isEmpty {
            guard let dependent = resolve(colocation.resource), let primary = resolve(colocation.withResource) else { return }
            // A colocation reads role "Started" as no role at all (so do its sets).
            func plain(_ text: String?) -> Role? {
                let role = Role(parsing: text)
                return role == .started ? nil : role
            }
            addColocation(id: colocation.id, dependent: dependent, primary: primary, score: score,
                          dependentRole: plain(colocation.resourceRole),
                          primaryRole: plain(colocation.withResourceRole), attribute: attribute, influence: influence)
            return
        }
        // Sets: within a sequential set each member follows the one before it; an earlier set
        // follows the set after it.
        var previousSet: (members: [SchedulerResource], sequential: Bool, role: Role?)?
        for set in colocation.sets.reversed() {
            let members = set.resources.compactMap(resolve)
            let setScore = set.score ?? score
            let role = Role(parsing: set.role).flatMap { $0 == .started ? nil : $0 }
            if setScore < .zero {
                // Anti-colocation sets keep every member away from every earlier one.
                for index in members.indices {
                    for earlier in members[..<index] {
                        addColocation(id: colocation.id, dependent: members[index], primary: earlier, score: setScore,
                                      dependentRole: role, primaryRole: role, attribute: attribute, influence: influence)
                    }
                }
            } else if set.isSequential {
                // ordering="listed": each member with the one after it; the default ("group"):
                // each with the one before it (Pacemaker's unpack_colocation_set).
                let listed = set.ordering?.lowercased() == "listed"
                for index in members.indices.dropFirst() {
                    let (dependent, primary) = listed ? (members[index - 1], members[index]) : (members[index], members[index - 1])
                    addColocation(id: colocation.id, dependent: dependent, primary: primary, score: setScore,
                                  dependentRole: role, primaryRole: role, attribute: attribute, influence: influence)
                }
            }
            if let previous = previousSet, !members.isEmpty, !previous.members.isEmpty {
                // Pacemaker's colocate_rsc_sets: the first of the earlier set with the last of the later one.
                let dependents = set.isSequential ? [members.first!] : members
                let primaries = previous.sequential ? [previous.members.last!] : previous.members
                for dependent in dependents {
                    for primary in primaries {
                        addColocation(id: colocation.id, dependent: dependent, primary: primary, score: score,
                                      dependentRole: role, primaryRole: previous.role, attribute: attribute, influence: influence)
                    }
                }
            }
            previousSet = (members, set.isSequential, role)
        }
    }

    func addColocation(id: String, dependent: SchedulerResource, primary: SchedulerResource, score: Score,
                       dependentRole: Role?, primaryRole: Role?, attribute: String, influence influenceText: String? = nil) {
        guard dependent !== primary, score != .zero else { return }
        // A dependent limited to role Started never matches while it is being placed: such a
        // colocation has no effect (and does not order the placement either).
        if dependentRole == .started { return }
        var dependentTarget = dependent
        if dependent.kind == .group, let first = dependent.children.first { dependentTarget = first }
        var primaryTarget = primary
        if primary.kind == .group {
            if let member = score >= .infinity ? primary.children.last : primary.children.first { primaryTarget = member }
        }
        // The colocation's own influence (when a valid boolean), else the dependent's critical
        // meta (Pacemaker's unpack_influence); either way a primary that is not active yet is
        // influenced (pcmk__colocation_has_influence: colocation-influence).
        let configured = Self.boolean(influenceText) ?? truthy(dependent.meta["critical"], default: true)
        let influence = configured || !primary.isActive
        let colocation = Colocation(id: id, dependent: dependentTarget, primary: primaryTarget, score: score,
                                    dependentRole: dependentRole,
                                    primaryRole: primaryRole,
                                    nodeAttribute: attribute, influence: influence,
                                    namedDependent: dependent, namedPrimary: primary)
        dependentTarget.dependentColocations.append(colocation)
        primaryTarget.primaryColocations.append(colocation)
    }

    /// A boolean as Pacemaker's crm_str_to_boolean reads it; nil when it is none.
    static func boolean(_ text: String?) -> Bool? {
        switch text?.lowercased() {
        case "true", "on", "yes", "y", "1": return true
        case "false", "off", "no", "n", "0": return false
        default: return nil
        }
    }

    /// Pacemaker keeps each resource's colocations sorted: by the other side's priority, then
    /// clones before groups before primitives, then by id.
    func sortColocations() {
        func variant(_ resource: SchedulerResource) -> Int {
            switch resource.kind {
            case .primitive: return 0
            case .group: return 1
            case .clone: return resource.promotable ? 3 : 2
            }
        }
        func before(_ left: SchedulerResource, _ right: SchedulerResource) -> Bool? {
            if left.priority != right.priority { return left.priority > right.priority }
            if variant(left) != variant(right) { return variant(left) > variant(right) }
            if left.id != right.id { return left.id < right.id }
            return nil
        }
        for resource in allResources() {
            resource.dependentColocations = resource.dependentColocations.enumerated().sorted { lhs, rhs in
                before(lhs.element.namedPrimary ?? lhs.element.primary, rhs.element.namedPrimary ?? rhs.element.primary) ?? (lhs.offset < rhs.offset)
            }.map(\.element)
            resource.primaryColocations = resource.primaryColocations.enumerated().sorted { lhs, rhs in
                before(lhs.element.namedDependent ?? lhs.element.dependent, rhs.element.namedDependent ?? rhs.element.dependent) ?? (lhs.offset < rhs.offset)
            }.map(\.element)
        }
    }

    // MARK: order

    private func unpackOrder(_ original: OrderConstraint) -> [OrderConstraintSpec] {
        var order = original
        if order.sets.isEmpty, isReferenceToMany(order.first) || isReferenceToMany(order.then),
           let first = order.first, let then = order.then,
           let firstSet = try? syntheticSet(first, action: order.firstAction),
           let thenSet = try? syntheticSet(then, action: order.thenAction ?? order.firstAction) {
            order.sets = [firstSet, thenSet]
        }
        order.sets = expandSets(order.sets)
        let kind = order.kind?.lowercased() ?? ((order.score ?? .infinity) == .zero ? "optional" : "mandatory")
        // Anything but Optional and Serialize (an unknown kind included) is mandatory. Serialize
        // is an optional ordering that is never symmetrical (Pacemaker ignores symmetrical=true
        // there, get_ordering_symmetry).
        let mandatory = kind != "optional" && kind != "serialize"
        let symmetrical = kind != "serialize" && truthy(order.symmetrical, default: true)
        var specs: [OrderConstraintSpec] = []
        func add(_ first: SchedulerResource, _ firstAction: String, _ then: SchedulerResource, _ thenAction: String,
                 oneOrMore: Bool = false, groupName: String? = nil) {
            var spec = OrderConstraintSpec(id: order.id, first: first, firstAction: firstAction, then: then,
                                           thenAction: thenAction, mandatory: mandatory, oneOrMore: oneOrMore)
            if oneOrMore { spec.oneOrMoreName = groupName }
            // A clone first with clone-min, or an order that does not require all of it: "then"
            // needs only that many instances (one without clone-min).
            let requireAll = truthy(order.extras.attributes.first { $0.name == "require-all" }?.value, default: true)
            let minimum = first.kind == .clone ? Int(first.meta["clone-min"] ?? "") ?? (requireAll ? 0 : 1) : 0
            if !oneOrMore, first.kind == .clone, minimum > 0, mandatory, !firstAction.hasPrefix("stop"), !firstAction.hasPrefix("demote") {
                spec.oneOrMoreName = "clone-one-or-more:\(order.id)"
                spec.oneOrMoreMinimum = minimum
            }
            spec.impliesThen = !mandatory && ([then] + then.primitives).contains { $0.meta["restart-type"]?.lowercased() == "restart" }
            spec.symmetrical = symmetrical
            specs.append(spec)
            if symmetrical, let inverseFirst = inverse(thenAction), let inverseThen = inverse(firstAction) {
                var inverseSpec = OrderConstraintSpec(id: order.id, first: then, firstAction: inverseFirst, then: first,
                                                      thenAction: inverseThen, mandatory: mandatory, oneOrMore: false)
                inverseSpec.inverted = true
                // Stops of some instances do not stop what needs only some of them.
                if spec.oneOrMoreName != nil {
                    inverseSpec = OrderConstraintSpec(id: order.id, first: then, firstAction: inverseFirst, then: first,
                                                      thenAction: inverseThen, mandatory: false, oneOrMore: false)
                    inverseSpec.inverted = true
                }
                specs.append(inverseSpec)
            }
        }
        if order.sets.isEmpty {
            guard let first = resolve(order.first), let then = resolve(order.then) else { return [] }
            add(first, order.firstAction ?? "start", then, order.thenAction ?? order.firstAction ?? "start")
            return specs
        }
        var previous: (members: [SchedulerResource], sequential: Bool, action: String, requireAll: Bool, id: String)?
        for set in order.sets {
            let members = set.resources.compactMap(resolve)
            let action = set.action ?? "start"
            // A set that does not require all its members has no ordering inside it.
            if set.isSequential && truthy(set.requireAll, default: true) {
                for index in members.indices.dropFirst() { add(members[index - 1], action, members[index], action) }
            }
            if let previous, !members.isEmpty, !previous.members.isEmpty {
                let firsts = previous.sequential && previous.requireAll ? [previous.members.last!] : previous.members
                let thens = set.isSequential ? [members.first!] : members
                for first in firsts {
                    for then in thens {
                        add(first, previous.action, then, action, oneOrMore: !previous.requireAll,
                            groupName: "one-or-more:\(previous.id)")
                    }
                }
            }
            previous = (members, set.isSequential, action, truthy(set.requireAll, default: true), set.id ?? order.id)
        }
        return specs
    }

    private func inverse(_ action: String) -> String? {
        switch action {
        case "start": return "stop"
        case "stop": return "start"
        case "promote": return "demote"
        case "demote": return "promote"
        default: return nil
        }
    }

    // MARK: tickets

    private func unpackTicket(_ ticket: TicketConstraint) {
        func add(_ resource: SchedulerResource, role: Role?) {
            let policy = ticket.lossPolicy?.lowercased() ?? (role == .promoted ? "demote" : "stop")
            ticketConstraints.append(TicketConstraintSpec(id: ticket.id, resource: resource, ticket: ticket.ticket,
                                                          lossPolicy: policy, role: role))
        }
        for resource in resolveAll(ticket.resource) { add(resource, role: Role(parsing: ticket.resourceRole)) }
        for set in expandSets(ticket.sets) {
            for member in set.resources.compactMap(resolve) { add(member, role: Role(parsing: set.role ?? ticket.resourceRole)) }
        }
    }
}
