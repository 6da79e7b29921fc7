import CIB

/// Everything one scheduler run works on. Built from a CIB, used once, then dropped.
final class WorkingSet {
    let cib: CIB
    let now: Int?
    /// Record the decisions in `explanation` (costs a string per resource and node).
    let explain: Bool

    // Cluster options.
    var stonithEnabled = true
    var symmetricCluster = true
    var noQuorumPolicy = "stop"
    var haveQuorum = true
    var startFailureIsFatal = true
    var stopOrphanResources = true
    var maintenanceMode = false
    var startupFencing = true
    var placementStrategy = "default"
    var haveStonithResource = false

    var nodes: [SchedulerNode] = []
    var nodesByName: [String: SchedulerNode] = [:]
    var nodesByID: [String: SchedulerNode] = [:]

    /// Top-level resources in configuration order.
    var resources: [SchedulerResource] = [] { didSet { primitivesByBaseID = nil } }
    var resourcesByID: [String: SchedulerResource] = [:]
    /// See `firstPrimitive(withBaseID:)`; nil when it must be rebuilt.
    var primitivesByBaseID: [String: SchedulerResource]?
    var resourceCounter = 0

    var tickets: [String: TicketState] = [:]
    /// -INFINITY placements found while unpacking the status (hard errors, fatal errors).
    var bans: [(SchedulerResource, SchedulerNode)] = []
    var orderConstraints: [OrderConstraintSpec] = []
    var templates: [String: XMLElement] = [:]
    var tags: [String: [String]] = [:]
    var ticketConstraints: [TicketConstraintSpec] = []
    var roleLocations: [RoleLocation] = []

    var actions: [SchedulerAction] = []
    var orderings: [Ordering] = []
    /// Fence actions in creation order.
    var fenceActions: [Int] = []
    /// Some device provides unfencing, or some resource requires it (Unfencing.swift).
    var unfencingEnabled = false
    /// Unfencing ("on") fence actions in creation order, and by node name.
    var unfenceActions: [Int] = []
    var unfenceActionsByNode: [String: Int] = [:]
    var shutdownActions: [Int] = []
    var derived: [DerivedPseudo] = []
    var oneOrMoreActions: [String: Int] = [:]
    /// Orders between interleaved clones, clone to clone: only the graph shows them (the
    /// instances are ordered pairwise for the decisions).
    var interleavedCloneOrderings: [(first: Int, then: Int)] = []
    /// Clones with an instance stopping when their actions were created: their stop and
    /// stopped are in the graph (GraphBuilder.swift).
    var clonesStoppingAtCreation: Set<ObjectIdentifier> = []
    /// Starts that could not run when they were created (no quorum, a pending node's probes):
    /// Pacemaker creates those optional (start_resource), and its recurring monitors look at
    /// the start as it was then (GraphBuilder.swift).
    var startsUnrunnableAtCreation: Set<Int> = []
    /// Starts that were required when created (a recovery, a move), before orderings made more so.
    var startsRequiredAtCreation: Set<Int> = []
    /// Starts with no node that a definition change made required before placement, for
    /// resources that only stop (Pacemaker's force_restart): they put the start pseudo-event
    /// of the group or clone around them into the graph (GraphBuilder.swift).
    var forcedRestartStarts: Set<Int> = []
    var explanation: [String] = []
    /// Resources running inside each container, by container id.
    var fillers: [String: [SchedulerResource]] = [:]
    /// Bundles: each replica's IP by container id, the guest node of each child instance, the
    /// child clone by the bundled primitive's id, and the parts of each bundle.
    var bundleIPs: [String: SchedulerResource] = [:]
    var bundleGuestOfInstance: [String: String] = [:]
    var bundleChildClones: [String: SchedulerResource] = [:]
    var bundleExtras: [String: [SchedulerResource]] = [:]
    /// The order resources are reported in when it is not priority then configuration.
    var reportOrder: [SchedulerResource]?
    /// Instance attribute sets of configured groups and clones by id, for the digests.
    var collectiveInstanceSets: [String: [NameValueSet]] = [:]
    /// Nodes in the order they were found unclean (their fence actions are created in this order).
    var fenceOrder: [SchedulerNode] = []

    init(cib: CIB, now: Int?, explain: Bool) {
        self.cib = cib
        self.now = now
        self.explain = explain
    }

    var allPrimitives: [SchedulerResource] { resources.flatMap(\.primitives) }

    func allResources() -> [SchedulerResource] {
        var result: [SchedulerResource] = []
        func walk(_ resource: SchedulerResource) {
            result.append(resource)
            resource.children.forEach(walk)
        }
        resources.forEach(walk)
        return result
    }

    /// Can this node be fenced now (Pacemaker's pe_can_fence)?
    func canFence(_ node: SchedulerNode?) -> Bool {
        guard stonithEnabled, haveStonithResource else { return false }
        if haveQuorum || noQuorumPolicy == "ignore" { return true }
        guard let node else { return false }
        return node.online
    }

    // MARK: actions

    @discardableResult
    func addAction(_ resource: SchedulerResource?, _ task: String, _ node: SchedulerNode?,
                   optional: Bool, runnable: Bool = true, pseudo: Bool = false) -> Int {
        let id = actions.count
        actions.append(SchedulerAction(id: id, resource: resource, task: task, node: node, optional: optional,
                                       runnable: runnable, pseudo: pseudo))
        resource?.actions.append(id)
        return id
    }

    func findAction(_ resource: SchedulerResource, _ task: String, node: SchedulerNode? = nil) -> Int? {
        resource.actions.first { actions[$0].task == task && (node == nil || actions[$0].node === node) }
    }

    func findActions(_ resource: SchedulerResource, _ task: String) -> [Int] {
        resource.actions.filter { actions[$0].task == task }
    }

    func order(_ first: Int?, _ then: Int?, _ flags: OrderingFlags) {
        guard let first, let then, first != then else { return }
        orderings.append(Ordering(first: first, then: then, flags: flags))
    }
}

/// Pacemaker's crm_is_true for optional texts.
func truthy(_ text: String?, default value: Bool = false) -> Bool {
    guard let text else { return value }
    return isTrue(text)
}

/// Parses a score the way Pacemaker's char2score does (unreadable text is 0).
func score(_ text: String?) -> Score {
    guard let text else { return .zero }
    switch text.lowercased() {
    case "red", "yellow", "green": return .zero
    default:
        if let parsed = Score(parsing: text) { return parsed }
        // Like strtol: the leading integer ("1.0" is 1), 0 when there is none.
        var digits = Substring(text.trimmed)
        var sign = 1
        if digits.first == "-" { sign = -1; digits = digits.dropFirst() } else if digits.first == "+" { digits = digits.dropFirst() }
        return Score(sign * (Int(digits.prefix { $0.isNumber }) ?? 0))
    }
}

extension WorkingSet {
    /// Roles that only the whole resource tree can settle: promotable instances that run
    /// but are not promoted are Unpromoted; collective resources take their members' role.
    func settleCurrentRoles() {
        for clone in resources where clone.kind == .clone && clone.promotable {
            for primitive in clone.primitives {
                for (node, role) in primitive.roleOnNode where role == .started { primitive.roleOnNode[node] = .unpromoted }
                if primitive.role == .started { primitive.role = .unpromoted }
            }
        }
        for resource in allResources().reversed() where resource.kind != .primitive {
            resource.role = resource.children.map(\.role).max() ?? .stopped
        }
        if truthy(cib.configuration.clusterProperty("stop-all-resources")) {
            for resource in allPrimitives { resource.nextRole = .stopped }
        }
        for resource in allPrimitives where resource.runningOn.count > 1 {
            switch resource.meta["multiple-active"]?.lowercased() {
            case "stop_only": resource.nextRole = .stopped
            case "block":
                resource.managed = false; resource.blocked = true
                // A group (or bundle) itself set to block is blocked as a whole.
                if let parent = resource.parent, parent.kind == .group || parent.isBundle,
                   parent.meta["multiple-active"]?.lowercased() == "block" {
                    for sibling in parent.children { sibling.managed = false; sibling.blocked = true }
                }
            default: break
            }
        }
        if stonithEnabled && !haveStonithResource {
            // Pacemaker refuses to start anything when fencing is enabled without a device.
            for resource in allPrimitives where resource.runningOn.isEmpty { resource.nextRole = .stopped }
        }
    }

    /// The container of a resource (meta container=ID), when it names a configured primitive.
    func container(of resource: SchedulerResource) -> SchedulerResource? {
        guard let id = resource.meta["container"], let container = resourcesByID[id], container !== resource else { return nil }
        return container
    }

    /// Group members are colocated with, and ordered after, the member before them; a resource
    /// runs with, and after, its container.
    func addGroupColocations() {
        for resource in allPrimitives {
            guard let container = container(of: resource) else { continue }
            fillers[container.id, default: []].append(resource)
            // Contained in a remote or guest node's resource: it runs on that node instead.
            if !resource.isRemoteConnection, let node = remoteNodeProvided(by: container) {
                for other in nodes where other !== node { resource.allowed[other.name] = .minusInfinity }
                continue
            }
            // A bundle's connection only prefers its container's node (the container may run on
            // a remote node, where connections cannot).
            let score: Score = resource.bundlePart && resource.isRemoteConnection ? Score(10_000) : .infinity
            let colocation = Colocation(id: "\(resource.id)-container", dependent: resource, primary: container,
                                        score: score, dependentRole: nil, primaryRole: nil,
                                        nodeAttribute: "#uname", influence: true)
            resource.dependentColocations.append(colocation)
            container.primaryColocations.append(colocation)
            addStartOrder(id: "\(resource.id)-container", first: container, then: resource)
        }
        for group in allResources() where group.kind == .group {
            guard truthy(group.meta["collocated"], default: true) else { continue }
            for index in group.children.indices.dropFirst() {
                // A member with critical=false does not pull the member before it once that one
                // runs (Pacemaker's internal colocation takes the member's critical flag).
                let influence = truthy(group.children[index].meta["critical"], default: true) || !group.children[index - 1].isActive
                let colocation = Colocation(id: "\(group.id)-internal", dependent: group.children[index],
                                            primary: group.children[index - 1], score: .infinity,
                                            dependentRole: nil, primaryRole: nil, nodeAttribute: "#uname", influence: influence)
                group.children[index].dependentColocations.insert(colocation, at: 0)
                group.children[index - 1].primaryColocations.insert(colocation, at: 0)
            }
        }
    }

    /// An internal mandatory ordering: `first` starts before `then`, and `then` stops before
    /// `first` (the symmetrical order and its inverse, as a configured order would give).
    func addStartOrder(id: String, first: SchedulerResource, then: SchedulerResource) {
        var forward = OrderConstraintSpec(id: id, first: first, firstAction: "start",
                                          then: then, thenAction: "start", mandatory: true, oneOrMore: false)
        forward.symmetrical = true
        var inverse = OrderConstraintSpec(id: id, first: then, firstAction: "stop",
                                          then: first, thenAction: "stop", mandatory: true, oneOrMore: false)
        inverse.inverted = true
        orderConstraints += [forward, inverse]
    }

    func graphActions() -> [GraphAction] {
        var dependencies: [Int: [Int]] = [:]
        for ordering in orderings { dependencies[ordering.then, default: []].append(ordering.first) }
        let kept = actions.filter { !$0.optional && $0.runnable }
        let keptIDs = Set(kept.map(\.id))
        return kept.map { action in
            GraphAction(id: action.id, resource: action.resource?.id, task: action.task, node: action.node?.name,
                        isPseudo: action.pseudo, dependsOn: (dependencies[action.id] ?? []).filter(keptIDs.contains).sorted())
        }
    }
}
