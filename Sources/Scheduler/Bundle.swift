import CIB

/// Bundles (Pacemaker's pe__unpack_bundle and the bundle's scheduling), expanded into what
/// the rest of the scheduler already knows: per replica a container primitive
/// (NAME-docker-N, -podman-N or -rkt-N), an optional IPaddr2 (NAME-ip-ADDRESS), and, when the
/// bundle holds a primitive and has a network to reach it, a guest node NAME-N with its
/// connection and an instance of the primitive cloned (NAME-clone) pinned to that guest.
///
/// The bundle itself is a clone of its containers: constraints naming the bundle place and
/// order relative to the containers, which are spread over the nodes like clone instances.
extension WorkingSet {
    private static func xmlPair(_ id: String, _ name: String, _ value: String) -> XMLElement {
        XMLElement(name: "nvpair", attributes: [.init(name: "id", value: id), .init(name: "name", value: name),
                                                .init(name: "value", value: value)])
    }

    private static func xmlPrimitive(_ id: String, _ provider: String, _ type: String, meta: [(String, String)] = []) -> XMLElement {
        var children: [XMLElement] = []
        if !meta.isEmpty {
            children.append(XMLElement(name: "meta_attributes", attributes: [.init(name: "id", value: "\(id)-meta")],
                                       children: meta.map { xmlPair("\(id)-meta-\($0.0)", $0.0, $0.1) }))
        }
        return XMLElement(name: "primitive", attributes: [
            .init(name: "id", value: id), .init(name: "class", value: "ocf"),
            .init(name: "provider", value: provider), .init(name: "type", value: type),
        ], children: children)
    }

    /// The IPv4 address `offset` after `start` (nil for anything else).
    private static func address(_ start: String, plus offset: Int) -> String? {
        let parts = start.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 4, parts.allSatisfy({ (0...255).contains($0) }) else { return nil }
        var value = parts.reduce(0) { $0 * 256 + $1 } + offset
        var octets: [Int] = []
        for _ in 0..<4 { octets.insert(value % 256, at: 0); value /= 256 }
        return octets.map(String.init).joined(separator: ".")
    }

    /// Builds a bundle's resources and guest nodes; returns the bundle (a clone of its containers).
    func makeBundle(_ element: XMLElement) -> SchedulerResource? {
        guard let id = element["id"] else { return nil }
        let runtimes = ["docker", "podman", "rkt"]
        guard let runtime = element.children.first(where: { runtimes.contains($0.name) }) else { return nil }
        let promotedMax = Int(runtime["promoted-max"] ?? runtime["masters"] ?? "") ?? 0
        // Without replicas, as many as may be promoted (at least one).
        let replicas = min(max(Int(runtime["replicas"] ?? "") ?? max(promotedMax, 1), 0), SchedulerLimits.bundleReplicasMax)
        let perHost = max(Int(runtime["replicas-per-host"] ?? "") ?? 1, 1)
        let network = element.children(named: "network").first
        let ipStart = network?["ip-range-start"]
        let childElement = element.children(named: "primitive").first
        let hasRemote = childElement != nil && (ipStart != nil || network?["control-port"] != nil)

        // The bundle: a clone whose instances are the containers.
        var bundleMeta = [XMLElement]()
        for set in element.children(named: "meta_attributes") { bundleMeta.append(set) }
        let container = XMLElement(name: "primitive", attributes: [
            .init(name: "id", value: "\(id)-\(runtime.name)"), .init(name: "class", value: "ocf"),
            .init(name: "provider", value: "heartbeat"), .init(name: "type", value: runtime.name),
        ])
        var cloneMeta = [Self.xmlPair("\(id)-bundle-max", "clone-max", String(replicas)),
                         Self.xmlPair("\(id)-bundle-node-max", "clone-node-max", String(perHost))]
        if let stickiness = bundleMeta.lazy.flatMap({ $0.children }).first(where: { $0["name"] == "resource-stickiness" })?["value"] {
            cloneMeta.append(Self.xmlPair("\(id)-bundle-stickiness", "resource-stickiness", stickiness))
        }
        let cloneElement = XMLElement(name: "clone", attributes: [.init(name: "id", value: id)],
                                      children: bundleMeta + [XMLElement(name: "meta_attributes", attributes: [.init(name: "id", value: "\(id)-bundle-meta")], children: cloneMeta), container])
        guard let cloneConfig = try? Clone(xml: cloneElement),
              let bundle = makeClone(cloneConfig, defaults: resourceDefaults()) else { return nil }
        bundle.isBundle = true
        // Containers are named per replica (NAME-docker-N), not as clone instances.
        var renamed: [SchedulerResource] = []
        for (index, instance) in bundle.children.enumerated() {
            let named = SchedulerResource(id: "\(id)-\(runtime.name)-\(index)", kind: .primitive, order: instance.order)
            named.parent = bundle
            named.primitive = instance.primitive
            named.meta = instance.meta
            named.stickiness = instance.stickiness
            named.priority = instance.priority
            named.managed = instance.managed
            named.migrationThreshold = instance.migrationThreshold
            named.failureTimeout = instance.failureTimeout
            named.generated = true
            renamed.append(named)
        }
        bundle.children = renamed
        primitivesByBaseID = nil

        var parts: [[SchedulerResource]] = Array(repeating: [], count: replicas)
        var extra: [SchedulerResource] = []
        for index in 0..<replicas {
            let containerResource = renamed[index]
            if let start = ipStart, let address = Self.address(start, plus: index),
               let ip = try? Primitive(xml: Self.xmlPrimitive("\(id)-ip-\(address)", "heartbeat", "IPaddr2")) {
                let resource = makePrimitive(ip, id: "\(id)-ip-\(address)", parent: nil, defaults: resourceDefaults())
                resource.bundlePart = true
                resource.generated = true
                inheritBundleMeta(resource, from: bundle)
                bundleIPs[containerResource.id] = resource
                parts[index].append(resource)
                extra.append(resource)
            }
            parts[index].append(containerResource)
            guard hasRemote else { continue }
            let name = "\(id)-\(index)"
            if let remote = try? Primitive(xml: Self.xmlPrimitive(name, "pacemaker", "remote", meta: [("container", containerResource.id)])) {
                let resource = makePrimitive(remote, id: name, parent: nil, defaults: resourceDefaults())
                resource.bundlePart = true
                resource.generated = true
                inheritBundleMeta(resource, from: bundle)
                parts[index].append(resource)
                extra.append(resource)
                if nodesByName[name] == nil {
                    let node = SchedulerNode(id: name, name: name, order: nodes.count)
                    node.unseen = false
                    node.attributes = ["#uname": name, "#id": name, "#kind": "container"]
                    nodes.append(node)
                    nodesByName[name] = node
                    nodesByID[name] = node
                }
                nodesByName[name]?.isRemote = true
                nodesByName[name]?.connection = name
                nodesByName[name]?.guestContainer = containerResource.id
            }
        }
        if hasRemote, let childElement, let childID = childElement["id"] {
            var meta = [Self.xmlPair("\(id)-child-max", "clone-max", String(replicas)),
                        Self.xmlPair("\(id)-child-node-max", "clone-node-max", String(perHost))]
            if promotedMax > 0 {
                meta.append(Self.xmlPair("\(id)-child-promotable", "promotable", "true"))
                meta.append(Self.xmlPair("\(id)-child-promoted-max", "promoted-max", String(promotedMax)))
            }
            let childClone = XMLElement(name: "clone", attributes: [.init(name: "id", value: "\(id)-\(promotedMax > 0 ? "master" : "clone")")],
                                        children: bundleMeta + [XMLElement(name: "meta_attributes", attributes: [.init(name: "id", value: "\(id)-child-meta")], children: meta), childElement])
            if let config = try? Clone(xml: childClone), let clone = makeClone(config, defaults: resourceDefaults()) {
                clone.bundlePart = true
                for (index, instance) in clone.children.enumerated() where index < replicas {
                    parts[index].append(instance)
                    bundleGuestOfInstance[instance.id] = "\(id)-\(index)"
                }
                bundleChildClones[childID] = clone
                extra.append(clone)
            }
        }
        bundle.bundleReplicas = parts
        bundleExtras[bundle.id] = extra
        return bundle
    }

    /// A replica's IP and connection take the bundle's meta-attributes (is-managed,
    /// target-role …) as Pacemaker's replica resources do from their parent.
    private func inheritBundleMeta(_ resource: SchedulerResource, from bundle: SchedulerResource) {
        for (key, value) in bundle.meta where resource.meta[key] == nil { resource.meta[key] = value }
        if !bundle.managed { resource.managed = false }
    }

    /// The clone of a bundle's primitive (what the bundle runs in its guests), if it has one.
    func bundleChild(of bundle: SchedulerResource) -> SchedulerResource? {
        guard bundle.isBundle else { return nil }
        return (bundleExtras[bundle.id] ?? []).first { $0.kind == .clone }
    }

    /// After the configured resources: each bundle's IPs, connections and child clone join the
    /// resource list (reported with their bundle).
    func addBundleParts() {
        for resource in resources where resource.isBundle {
            resources += bundleExtras[resource.id] ?? []
        }
    }

    /// Internal placement of bundle parts: an IP runs with its container; a child instance
    /// only on its replica's guest node; containers may not run on guest nodes of bundles.
    func applyBundlePlacement() {
        for (containerID, ip) in bundleIPs {
            guard let container = resourcesByID[containerID] else { continue }
            let colocation = Colocation(id: "\(ip.id)-with-container", dependent: ip, primary: container, score: .infinity,
                                        dependentRole: nil, primaryRole: nil, nodeAttribute: "#uname", influence: true)
            ip.dependentColocations.append(colocation)
            container.primaryColocations.append(colocation)
            addStartOrder(id: "\(ip.id)-then-container", first: ip, then: container)
        }
        // A bundle's guest nodes are for its child only (Pacemaker gives them weight -INFINITY).
        var childResources: Set<ObjectIdentifier> = []
        for clone in bundleChildClones.values {
            for resource in [clone] + clone.children + clone.children.flatMap(\.children) {
                childResources.insert(ObjectIdentifier(resource))
            }
        }
        let bundleGuests = Set(bundleGuestOfInstance.values)
        for resource in allResources() where !childResources.contains(ObjectIdentifier(resource)) {
            for name in bundleGuests { resource.allowed[name] = .minusInfinity }
        }
        for clone in bundleChildClones.values {
            for instance in clone.children {
                for member in [instance] + instance.children {
                    let guest = bundleGuestOfInstance[instance.id]
                    for node in nodes { member.allowed[node.name] = node.name == guest ? (member.allowed[node.name] ?? .zero) : .minusInfinity }
                    if let guest, member.allowed[guest] == nil || member.allowed[guest]! < .zero { member.allowed[guest] = .zero }
                }
            }
            for node in nodes {
                clone.allowed[node.name] = bundleGuestOfInstance.values.contains(node.name) ? .zero : .minusInfinity
            }
        }
        // Role-specific locations naming a bundle weigh on its child's promotion.
        for index in roleLocations.indices where roleLocations[index].resource.isBundle {
            let location = roleLocations[index]
            guard let child = bundleChild(of: location.resource) else { continue }
            roleLocations[index] = RoleLocation(resource: child, node: location.node, score: location.score, role: location.role)
        }
        // The bundle's containers start before its child starts (the bundle runs both).
        for bundle in resources where bundle.isBundle {
            guard let child = bundleChild(of: bundle) else { continue }
            addStartOrder(id: "\(bundle.id)-child", first: bundle, then: child)
        }
    }

    /// A bundle's connection whose container is placed on a remote node runs where that
    /// node's own connection runs (Pacemaker's child-remote-with-docker-remote: a remote node
    /// takes one connection only).
    func followNestedContainerHost(_ connection: SchedulerResource) {
        guard let container = container(of: connection) else { return }
        assign(container, prefer: nil)
        guard let host = container.allocatedTo, host.isRemote, let hostConnection = connectionResource(of: host) else { return }
        assign(hostConnection, prefer: nil)
        let colocation = Colocation(id: "\(connection.id)-with-host-connection", dependent: connection, primary: hostConnection,
                                    score: .infinity, dependentRole: nil, primaryRole: nil, nodeAttribute: "#uname", influence: true)
        connection.dependentColocations.append(colocation)
        hostConnection.primaryColocations.append(colocation)
    }

    /// Right after its containers, a bundle places each replica's IP and connection, then its
    /// child (Pacemaker assigns a bundle's parts together).
    func assignBundleParts(_ bundle: SchedulerResource) {
        for replica in bundle.bundleReplicas ?? [] {
            for part in replica where part.parent !== bundle && !part.isCloneInstance { assign(part, prefer: nil) }
        }
        for part in bundleExtras[bundle.id] ?? [] where part.kind == .clone { assign(part, prefer: nil) }
    }

    /// For a colocation with a bundle in a role: the hosts of the containers whose replica's
    /// instance will be in that role (nil for anything but a bundle with a child).
    func bundleRoleHosts(_ bundle: SchedulerResource, _ role: Role) -> [SchedulerNode]? {
        guard let child = bundleChild(of: bundle) else { return nil }
        return child.children.compactMap { instance in
            guard let guest = instance.allocatedTo else { return nil }
            let next = instance.nextRole ?? .started
            if role == .promoted && next != .promoted { return nil }
            if role == .unpromoted && next == .promoted { return nil }
            return guestContainerResource(of: guest)?.allocatedTo
        }
    }

    /// The child instance a history on a bundle's guest node belongs to.
    func bundleInstance(_ clone: SchedulerResource, on node: SchedulerNode) -> SchedulerResource? {
        guard bundleChildClones.values.contains(where: { $0 === clone }) else { return nil }
        return clone.children.first { bundleGuestOfInstance[$0.id] == node.name }
    }

    /// What the Transition Summary reports for a top-level resource: a bundle's parts replica
    /// by replica (IP, container, connection, child), and nothing for parts on their own.
    func reportedPrimitives(_ resource: SchedulerResource) -> [SchedulerResource] {
        if resource.bundlePart { return [] }
        if let replicas = resource.bundleReplicas { return replicas.flatMap { $0.flatMap(\.primitives) } }
        return resource.primitives
    }
}
