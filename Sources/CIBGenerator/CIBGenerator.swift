import Scheduler

/// One generated CIB: the XML (configuration and status), the switches it used, and the time
/// it is meant to be scheduled at (operation histories are dated relative to it).
public struct GeneratedCIB: Sendable {
    public var xml: String
    public var features: Set<CIBFeature>
    public var now: Int
}

/// A random but valid Pacemaker CIB from a seeded generator, for the differential test against
/// crm_simulate: 2-8 nodes, resources of every kind the scheduler models, constraints, tickets
/// and an operation history with failures, as a running cluster would have written it.
///
/// Pure: no I/O, no clock, no randomness but the generator it is given, so a seed replays the
/// same document. Each feature is a switch (`enabled`); each switch is turned on for a given CIB
/// with a probability, and the CIB reports the ones it used. Operation digests are Pacemaker's,
/// computed by the scheduler's own `parameterDigest`, so that only the definition changes the
/// generator means to make (`definition-change`) restart anything.
public struct CIBGenerator: Sendable {
    /// The switches that may be turned on.
    public var enabled: Set<CIBFeature>
    /// The chance (percent) that an enabled switch is on in a given CIB.
    public var featurePercent: Int

    /// 2026-01-01T00:00:00Z: the "now" of every generated CIB (crm_simulate's `-t`).
    public static let now = 1_767_225_600
    public static let nowISO8601 = "2026-01-01T00:00:00Z"
    public static let nodeCountRange = 2...8
    public static let topResourceCountRange = 2...10

    public init(enabled: Set<CIBFeature> = Set(CIBFeature.allCases), featurePercent: Int = 50) {
        precondition((0...100).contains(featurePercent), "CIBGenerator: featurePercent \(featurePercent) is not a percentage")
        self.enabled = enabled
        self.featurePercent = featurePercent
    }

    public func generate<R: RandomNumberGenerator>(using random: inout R) -> GeneratedCIB {
        var builder = CIBBuilder(random: random)
        for feature in CIBFeature.allCases.sorted() where enabled.contains(feature) && builder.chance(featurePercent) {
            builder.on.insert(feature)
        }
        let xml = builder.build()
        random = builder.random
        return GeneratedCIB(xml: xml, features: builder.used, now: Self.now)
    }
}

/// The generator's working state for one CIB.
struct CIBBuilder<R: RandomNumberGenerator> {
    var random: R
    /// Switches turned on for this CIB; `used` those that made it into the document.
    var on: Set<CIBFeature> = []
    var used: Set<CIBFeature> = []

    enum NodeState { case online, offline, unclean }
    struct Node {
        var id: String
        var name: String
        var state: NodeState
        var standby = false
        var maintenance = false
        var site: String
        var canHost: Bool { state != .offline }
    }
    struct Operation {
        var name: String
        var intervalMilliseconds: Int
        var timeoutSeconds: Int?
        var role: String?
        var onFail: String?
    }
    struct PrimitiveSpec {
        var id: String
        var resourceClass: String
        var provider: String?
        var type: String
        var parameters: [(String, String)]
        var meta: [(String, String)] = []
        var operations: [Operation]
        var monitor: Operation? { operations.first { $0.name == "monitor" && $0.role != "Promoted" } }
        var promotedMonitor: Operation? { operations.first { $0.name == "monitor" && $0.role == "Promoted" } }
    }
    enum Kind { case primitive, group, clone, promotable }
    struct TopResource {
        var id: String
        var kind: Kind
        /// The primitives (one for a primitive or a clone of a primitive; a group's members).
        var members: [PrimitiveSpec]
        /// A clone of a group: the group's id.
        var groupID: String?
        var meta: [(String, String)] = []
        var globallyUnique = false
    }
    struct HistoryEntry {
        var lrmID: String
        var primitive: PrimitiveSpec
        var operations: [String] = []
        /// The call id of the start (or promote) that operations[0] records.
        var startCall = 0
    }

    var nodes: [Node] = []
    var resources: [TopResource] = []
    var histories: [String: [HistoryEntry]] = [:]
    var transientAttributes: [String: [(String, String)]] = [:]
    var callIDs: [String: Int] = [:]
    var constraints: [String] = []
    var tickets: [String] = []
    var stonithOn = false

    init(random: R) { self.random = random }

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func pick<T>(_ choices: [T]) -> T {
        precondition(!choices.isEmpty, "CIBGenerator: nothing to pick from")
        return choices[Int.random(in: 0..<choices.count, using: &random)]
    }
    mutating func feature(_ feature: CIBFeature, _ percent: Int = 100) -> Bool {
        guard on.contains(feature), chance(percent) else { return false }
        used.insert(feature)
        return true
    }

    // MARK: - The document

    mutating func build() -> String {
        makeNodes()
        makeResources()
        makeStatus()
        makeConstraints()
        var lines: [String] = []
        let quorum = feature(.quorum) ? "0" : "1"
        let dc = nodes.first { $0.state == .online }?.id ?? nodes[0].id
        lines.append("<cib epoch=\"1\" num_updates=\"1\" admin_epoch=\"0\" validate-with=\"pacemaker-3.7\" crm_feature_set=\"3.16.1\" have-quorum=\"\(quorum)\" dc-uuid=\"\(dc)\">")
        lines.append("  <configuration>")
        lines.append("    <crm_config>")
        lines.append("      <cluster_property_set id=\"cib-bootstrap-options\">")
        lines.append(nvpair("opt-stonith-enabled", "stonith-enabled", stonithOn ? "true" : "false", indent: 8))
        if quorum == "0" {
            lines.append(nvpair("opt-no-quorum-policy", "no-quorum-policy", pick(["stop", "freeze", "ignore", "demote"]), indent: 8))
        }
        lines.append("      </cluster_property_set>")
        lines.append("    </crm_config>")
        lines.append("    <nodes>")
        for node in nodes {
            var attributes: [(String, String)] = []
            if used.contains(.locationRules) { attributes.append(("site", node.site)) }
            if node.standby { attributes.append(("standby", "on")) }
            if node.maintenance { attributes.append(("maintenance", "true")) }
            if attributes.isEmpty {
                lines.append("      <node id=\"\(node.id)\" uname=\"\(node.name)\" type=\"member\"/>")
            } else {
                lines.append("      <node id=\"\(node.id)\" uname=\"\(node.name)\" type=\"member\">")
                lines += attributeSet("instance_attributes", id: "\(node.name)-attributes", attributes, indent: 8)
                lines.append("      </node>")
            }
        }
        lines.append("    </nodes>")
        lines.append("    <resources>")
        for resource in resources { lines += resourceXML(resource, indent: 6) }
        lines.append("    </resources>")
        lines.append("    <constraints>")
        lines += constraints.map { "      " + $0 }
        lines.append("    </constraints>")
        if used.contains(.stickiness) {
            lines.append("    <rsc_defaults>")
            lines += attributeSet("meta_attributes", id: "rsc-options", [("resource-stickiness", String(pick([0, 1, 100])))], indent: 6)
            lines.append("    </rsc_defaults>")
        }
        lines.append("  </configuration>")
        lines.append("  <status>")
        for node in nodes { lines += nodeStateXML(node) }
        if !tickets.isEmpty {
            lines.append("    <tickets>")
            lines += tickets.map { "      " + $0 }
            lines.append("    </tickets>")
        }
        lines.append("  </status>")
        lines.append("</cib>")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Nodes

    mutating func makeNodes() {
        let count = int(CIBGenerator.nodeCountRange)
        for index in 1...count {
            nodes.append(Node(id: String(index), name: "node\(index)", state: .online, site: index % 2 == 1 ? "a" : "b"))
        }
        // At most half the nodes down or set aside, and node1 always online (a DC).
        for index in 1..<count where index * 2 < count + 1 {
            if feature(.nodesDown, 30) { nodes[index].state = chance(50) ? .offline : .unclean; continue }
            if feature(.standby, 25) { nodes[index].standby = true; continue }
            if feature(.maintenance, 15) { nodes[index].maintenance = true }
        }
        if feature(.stonith) { stonithOn = true }
    }

    // MARK: - Resources

    mutating func makePrimitive(_ id: String, stateful: Bool = false) -> PrimitiveSpec {
        var primitive: PrimitiveSpec
        if stateful {
            primitive = PrimitiveSpec(id: id, resourceClass: "ocf", provider: "pacemaker", type: "Stateful", parameters: [],
                                      operations: [Operation(name: "monitor", intervalMilliseconds: 10_000, timeoutSeconds: 20, role: "Promoted"),
                                                   Operation(name: "monitor", intervalMilliseconds: 11_000, timeoutSeconds: 20, role: "Unpromoted")])
        } else if feature(.lsb, 25) {
            primitive = PrimitiveSpec(id: id, resourceClass: "lsb", provider: nil, type: pick(["cron", "nginx", "postfix"]), parameters: [],
                                      operations: [Operation(name: "monitor", intervalMilliseconds: 15_000, timeoutSeconds: 15)])
        } else {
            let type = pick(["Dummy", "Dummy", "IPaddr2"])
            var parameters: [(String, String)] = []
            if type == "IPaddr2" {
                parameters = [("ip", "192.0.2.\(int(1...254))"), ("cidr_netmask", "24")]
            } else if chance(60) {
                parameters = [("fake", String(int(1...99)))]
            }
            primitive = PrimitiveSpec(id: id, resourceClass: "ocf", provider: type == "IPaddr2" ? "heartbeat" : "pacemaker", type: type,
                                      parameters: parameters,
                                      operations: [Operation(name: "monitor", intervalMilliseconds: pick([5_000, 10_000, 30_000]),
                                                             timeoutSeconds: pick([nil, 20, 30]))])
        }
        if chance(40) {
            primitive.operations.append(Operation(name: "start", intervalMilliseconds: 0, timeoutSeconds: pick([20, 60])))
            primitive.operations.append(Operation(name: "stop", intervalMilliseconds: 0, timeoutSeconds: pick([20, 60])))
        }
        if feature(.failures, 30), let index = primitive.operations.firstIndex(where: { $0.name == "monitor" }) {
            primitive.operations[index].onFail = pick(stonithOn ? ["restart", "stop", "block", "ignore", "standby", "fence"]
                                                                : ["restart", "stop", "block", "ignore", "standby"])
        }
        if feature(.stickiness, 30) { primitive.meta.append(("resource-stickiness", pick(["0", "50", "100", "INFINITY"]))) }
        if feature(.migrationThreshold, 40) { primitive.meta.append(("migration-threshold", pick(["1", "2", "3"]))) }
        if !stateful, feature(.allowMigrate, 30) { primitive.meta.append(("allow-migrate", "true")) }
        return primitive
    }

    mutating func makeResources() {
        if stonithOn {
            resources.append(TopResource(id: "fencing", kind: .primitive, members: [
                PrimitiveSpec(id: "fencing", resourceClass: "stonith", provider: nil, type: "fence_xvm",
                              parameters: [("pcmk_host_list", nodes.map(\.name).joined(separator: " "))],
                              operations: [Operation(name: "monitor", intervalMilliseconds: 60_000, timeoutSeconds: 20)])]))
        }
        let count = int(CIBGenerator.topResourceCountRange)
        for index in 1...count {
            var kinds: [Kind] = [.primitive, .primitive]
            if on.contains(.groups) { kinds.append(.group) }
            if on.contains(.clones) { kinds.append(.clone) }
            if on.contains(.promotable) { kinds.append(.promotable) }
            let kind = pick(kinds)
            var resource: TopResource
            switch kind {
            case .primitive:
                resource = TopResource(id: "rsc\(index)", kind: .primitive, members: [makePrimitive("rsc\(index)")])
            case .group:
                used.insert(.groups)
                resource = TopResource(id: "grp\(index)", kind: .group,
                                       members: (1...int(2...3)).map { makePrimitive("grp\(index)-m\($0)") })
            case .clone:
                used.insert(.clones)
                let ofGroup = on.contains(.groups) && chance(30)
                resource = TopResource(id: "cln\(index)", kind: .clone,
                                       members: ofGroup ? (1...2).map { makePrimitive("cln\(index)-m\($0)") } : [makePrimitive("cln\(index)-child")],
                                       groupID: ofGroup ? "cln\(index)-group" : nil)
                if ofGroup { used.insert(.groups) }
                resource.globallyUnique = chance(25)
                if resource.globallyUnique { resource.meta.append(("globally-unique", "true")) }
                if chance(40) { resource.meta.append(("clone-max", String(int(1...nodes.count)))) }
                if chance(25) { resource.meta.append(("clone-node-max", String(int(1...2)))) }
                if chance(50) { resource.meta.append(("interleave", "true")) }
            case .promotable:
                used.insert(.promotable)
                resource = TopResource(id: "ms\(index)", kind: .promotable, members: [makePrimitive("ms\(index)-child", stateful: true)])
                resource.meta.append(("promotable", "true"))
                if chance(30) { resource.meta.append(("promoted-max", String(int(1...2)))) }
                if chance(40) { resource.meta.append(("clone-max", String(int(1...nodes.count)))) }
                if chance(50) { resource.meta.append(("interleave", "true")) }
            }
            if feature(.targetRole, 15) {
                let roles = kind == .promotable ? ["Stopped", "Started", "Unpromoted", "Promoted"] : ["Stopped", "Started"]
                resource.meta.append(("target-role", pick(roles)))
            }
            if kind != .primitive, feature(.stickiness, 20) { resource.meta.append(("resource-stickiness", pick(["0", "100"]))) }
            resources.append(resource)
        }
    }

    func resourceXML(_ resource: TopResource, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch resource.kind {
        case .primitive:
            return primitiveXML(resource.members[0], extraMeta: resource.meta, indent: indent)
        case .group:
            var lines = ["\(pad)<group id=\"\(resource.id)\">"]
            lines += attributeSet("meta_attributes", id: "\(resource.id)-meta", resource.meta, indent: indent + 2)
            for member in resource.members { lines += primitiveXML(member, extraMeta: [], indent: indent + 2) }
            return lines + ["\(pad)</group>"]
        case .clone, .promotable:
            var lines = ["\(pad)<clone id=\"\(resource.id)\">"]
            lines += attributeSet("meta_attributes", id: "\(resource.id)-meta", resource.meta, indent: indent + 2)
            if let groupID = resource.groupID {
                lines.append("\(pad)  <group id=\"\(groupID)\">")
                for member in resource.members { lines += primitiveXML(member, extraMeta: [], indent: indent + 4) }
                lines.append("\(pad)  </group>")
            } else {
                lines += primitiveXML(resource.members[0], extraMeta: [], indent: indent + 2)
            }
            return lines + ["\(pad)</clone>"]
        }
    }

    func primitiveXML(_ primitive: PrimitiveSpec, extraMeta: [(String, String)], indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        let provider = primitive.provider.map { " provider=\"\($0)\"" } ?? ""
        var lines = ["\(pad)<primitive id=\"\(primitive.id)\" class=\"\(primitive.resourceClass)\"\(provider) type=\"\(primitive.type)\">"]
        lines += attributeSet("instance_attributes", id: "\(primitive.id)-params", primitive.parameters, indent: indent + 2)
        lines += attributeSet("meta_attributes", id: "\(primitive.id)-meta", primitive.meta + extraMeta, indent: indent + 2)
        lines.append("\(pad)  <operations>")
        for operation in primitive.operations {
            var text = "\(pad)    <op id=\"\(primitive.id)-\(operation.name)-\(operation.intervalMilliseconds)\" name=\"\(operation.name)\""
            text += " interval=\"\(operation.intervalMilliseconds / 1000)s\""
            if let timeout = operation.timeoutSeconds { text += " timeout=\"\(timeout)s\"" }
            if let role = operation.role { text += " role=\"\(role)\"" }
            if let onFail = operation.onFail { text += " on-fail=\"\(onFail)\"" }
            lines.append(text + "/>")
        }
        lines.append("\(pad)  </operations>")
        return lines + ["\(pad)</primitive>"]
    }

    // MARK: - Status

    /// Where each resource runs now, with the history a cluster would have recorded for it.
    mutating func makeStatus() {
        let hosts = nodes.indices.filter { nodes[$0].canHost }
        for resource in resources {
            switch resource.kind {
            case .primitive, .group:
                guard chance(75) else { probeElsewhere(resource, running: []); continue }
                var where_ = [pick(hosts)]
                if resource.kind == .primitive, hosts.count > 1, feature(.multipleActive, 25) {
                    where_.append(pick(hosts.filter { $0 != where_[0] }))
                }
                let runningMembers = resource.kind == .group && chance(20) ? int(1...resource.members.count) : resource.members.count
                for node in where_ {
                    for member in resource.members.prefix(runningMembers) { addRunning(member, lrmID: member.id, node: node, promoted: false) }
                }
                probeElsewhere(resource, running: where_)
            case .clone, .promotable:
                var instance = 0
                var promotedCount = 0
                var running: [Int] = []
                for node in hosts where chance(70) {
                    running.append(node)
                    let promoted = resource.kind == .promotable && promotedCount == 0 && chance(50)
                    if promoted { promotedCount += 1 }
                    for member in resource.members {
                        let lrmID = resource.globallyUnique ? "\(member.id):\(instance)" : member.id
                        addRunning(member, lrmID: lrmID, node: node, promoted: promoted)
                    }
                    if resource.kind == .promotable && chance(70) {
                        transientAttributes[nodes[node].name, default: []].append(("master-\(resource.members[0].id)", pick(["5", "10"])))
                    }
                    instance += 1
                }
                probeElsewhere(resource, running: running)
            }
        }
        if on.contains(.failures) { addFailures() }
        if on.contains(.definitionChange) { changeDefinition() }
        if on.contains(.tickets) { makeTicketStates() }
    }

    mutating func nextCall(_ node: Int) -> Int {
        let call = (callIDs[nodes[node].name] ?? 1) + 1
        callIDs[nodes[node].name] = call
        return call
    }

    /// The history of `primitive` started (and promoted) on `node`, its monitor running.
    mutating func addRunning(_ primitive: PrimitiveSpec, lrmID: String, node: Int, promoted: Bool) {
        var entry = HistoryEntry(lrmID: lrmID, primitive: primitive)
        let name = nodes[node].name
        entry.startCall = nextCall(node)
        entry.operations.append(operationXML(entry, id: "\(lrmID)_last_0", task: promoted ? "promote" : "start", interval: 0,
                                             rc: 0, target: 0, node: name, call: entry.startCall, age: 3_600))
        if let monitor = promoted ? primitive.promotedMonitor : primitive.monitor {
            entry.operations.append(operationXML(entry, id: "\(lrmID)_monitor_\(monitor.intervalMilliseconds)", task: "monitor",
                                                 interval: monitor.intervalMilliseconds, rc: promoted ? 8 : 0, target: promoted ? 8 : 0,
                                                 node: name, call: nextCall(node), age: 3_500, timeout: monitor.timeoutSeconds))
        }
        histories[name, default: []].append(entry)
    }

    /// Probes (not running) recorded on some of the online nodes the resource is not on.
    mutating func probeElsewhere(_ resource: TopResource, running: [Int]) {
        for node in nodes.indices where nodes[node].state == .online && !running.contains(node) && chance(40) {
            for member in resource.members where !(resource.globallyUnique) {
                var entry = HistoryEntry(lrmID: member.id, primitive: member)
                entry.operations.append(operationXML(entry, id: "\(member.id)_last_0", task: "monitor", interval: 0, rc: 7, target: 7,
                                                     node: nodes[node].name, call: nextCall(node), age: 7_200))
                histories[nodes[node].name, default: []].append(entry)
            }
        }
    }

    /// Failed monitors, starts and stops, and a recovery after an earlier failure.
    mutating func addFailures() {
        let candidates = histories.keys.sorted().flatMap { name in histories[name]!.indices.map { (name, $0) } }
            .filter { histories[$0.0]![$0.1].operations.count == 2 }
        guard !candidates.isEmpty else { return }
        used.insert(.failures)
        for (name, index) in candidates.shuffled(using: &random).prefix(int(1...2)) {
            var entry = histories[name]![index]
            guard entry.operations.count == 2, let monitor = entry.primitive.monitor else { continue }
            let node = nodes.firstIndex { $0.name == name }!
            let kind = pick(["monitor", "monitor", "start", "stop", "recovered"])
            let failureTime = CIBGenerator.now - int(60...1_800)
            let count: String
            let key: String
            switch kind {
            case "monitor":
                let rc = pick([1, 7])
                entry.operations[1] = operationXML(entry, id: "\(entry.lrmID)_monitor_\(monitor.intervalMilliseconds)", task: "monitor",
                                                   interval: monitor.intervalMilliseconds, rc: rc, target: 0, node: name,
                                                   call: nextCall(node), age: CIBGenerator.now - failureTime, timeout: monitor.timeoutSeconds)
                entry.operations.append(operationXML(entry, id: "\(entry.lrmID)_last_failure_0", task: "monitor",
                                                     interval: monitor.intervalMilliseconds, rc: rc, target: 0, node: name,
                                                     call: nextCall(node) - 1, age: CIBGenerator.now - failureTime, timeout: monitor.timeoutSeconds))
                key = "monitor_\(monitor.intervalMilliseconds)"; count = "1"
            case "start", "stop":
                let call = nextCall(node)
                let failed = operationXML(entry, id: "\(entry.lrmID)_last_0", task: kind, interval: 0, rc: 1, target: 0, node: name,
                                          call: call, age: CIBGenerator.now - failureTime)
                let failure = operationXML(entry, id: "\(entry.lrmID)_last_failure_0", task: kind, interval: 0, rc: 1, target: 0,
                                           node: name, call: call, age: CIBGenerator.now - failureTime)
                entry.operations = [failed, failure]
                key = "\(kind)_0"; count = "INFINITY"
            default:
                // An earlier monitor failure, recovered in place: started again, monitor fine.
                entry.operations.append(operationXML(entry, id: "\(entry.lrmID)_last_failure_0", task: "monitor",
                                                     interval: monitor.intervalMilliseconds, rc: 1, target: 0, node: name,
                                                     call: 1, age: 4_000, timeout: monitor.timeoutSeconds))
                key = "monitor_\(monitor.intervalMilliseconds)"; count = pick(["1", "2"])
            }
            histories[name]![index] = entry
            transientAttributes[name, default: []].append(("fail-count-\(entry.lrmID)#\(key)", count))
            transientAttributes[name, default: []].append(("last-failure-\(entry.lrmID)#\(key)", String(failureTime)))
        }
    }

    /// One running primitive's start recorded with another parameter value than it has now.
    mutating func changeDefinition() {
        let candidates = histories.keys.sorted().flatMap { name in histories[name]!.indices.map { (name, $0) } }
            .filter { histories[$0.0]![$0.1].primitive.resourceClass == "ocf" && histories[$0.0]![$0.1].primitive.type != "Stateful"
                && histories[$0.0]![$0.1].operations.count == 2 }
        guard !candidates.isEmpty else { return }
        used.insert(.definitionChange)
        let (name, index) = pick(candidates)
        var entry = histories[name]![index]
        var old = entry.primitive
        old.parameters = old.parameters.isEmpty ? [("fake", "old")] : old.parameters.map { ($0.0, $0.1 + "0") }
        // The same start (same call id, before its monitor), recorded with the old parameters.
        let oldEntry = HistoryEntry(lrmID: entry.lrmID, primitive: old)
        entry.operations[0] = operationXML(oldEntry, id: "\(entry.lrmID)_last_0", task: "start", interval: 0, rc: 0, target: 0,
                                           node: name, call: entry.startCall, age: 3_600)
        histories[name]![index] = entry
    }

    mutating func makeTicketStates() {
        for ticket in ["ticketA", "ticketB"] where chance(80) {
            var text = "<ticket_state id=\"\(ticket)\" granted=\"\(chance(60) ? "true" : "false")\" last-granted=\"\(CIBGenerator.now - 86_400)\""
            if chance(15) { text += " standby=\"true\"" }
            tickets.append(text + "/>")
        }
    }

    /// One lrm_rsc_op as the controller records it, with Pacemaker's digests.
    func operationXML(_ entry: HistoryEntry, id: String, task: String, interval: Int, rc: Int, target: Int, node: String,
                      call: Int, age: Int, timeout: Int? = nil) -> String {
        let key = "\(call):1:\(target):00000000-0000-0000-0000-000000000000"
        var parameters: [String: String] = [:]
        for (name, value) in entry.primitive.parameters { parameters[name] = value }
        // A recurring operation's digest also covers its timeout (Pacemaker's pcmk__filter_op_for_digest).
        if interval > 0 { parameters["CRM_meta_timeout"] = String((timeout ?? 20) * 1000) }
        return "<lrm_rsc_op id=\"\(id)\" operation_key=\"\(entry.primitive.id)_\(task)_\(interval)\" operation=\"\(task)\""
            + " crm-debug-origin=\"crm_simulate\" crm_feature_set=\"3.16.1\" transition-key=\"\(key)\""
            + " transition-magic=\"0:\(rc);\(key)\" exit-reason=\"\" on_node=\"\(node)\" call-id=\"\(call)\" rc-code=\"\(rc)\""
            + " op-status=\"0\" interval=\"\(interval)\" last-rc-change=\"\(CIBGenerator.now - age)\" exec-time=\"10\" queue-time=\"0\""
            + " op-digest=\"\(parameterDigest(parameters))\"/>"
    }

    func nodeStateXML(_ node: Node) -> [String] {
        let state: String
        switch node.state {
        case .online: state = "in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\""
        case .offline: state = "in_ccm=\"false\" crmd=\"offline\" join=\"down\" expected=\"down\""
        case .unclean: state = "in_ccm=\"false\" crmd=\"offline\" join=\"member\" expected=\"member\""
        }
        var lines = ["    <node_state id=\"\(node.id)\" uname=\"\(node.name)\" \(state) crm-debug-origin=\"crm_simulate\">"]
        if node.canHost {
            lines.append("      <lrm id=\"\(node.id)\">")
            lines.append("        <lrm_resources>")
            for entry in histories[node.name] ?? [] {
                let provider = entry.primitive.provider.map { " provider=\"\($0)\"" } ?? ""
                lines.append("          <lrm_resource id=\"\(entry.lrmID)\" class=\"\(entry.primitive.resourceClass)\"\(provider) type=\"\(entry.primitive.type)\">")
                lines += entry.operations.map { "            " + $0 }
                lines.append("          </lrm_resource>")
            }
            lines.append("        </lrm_resources>")
            lines.append("      </lrm>")
            if let attributes = transientAttributes[node.name], !attributes.isEmpty {
                lines.append("      <transient_attributes id=\"\(node.id)\">")
                lines += attributeSet("instance_attributes", id: "status-\(node.id)", attributes, indent: 8)
                lines.append("      </transient_attributes>")
            }
        }
        return lines + ["    </node_state>"]
    }

    // MARK: - Constraints

    mutating func makeConstraints() {
        let ids = resources.filter { $0.id != "fencing" }
        guard !ids.isEmpty else { return }
        let scores = ["-INFINITY", "-100", "50", "100", "200", "INFINITY"]
        if feature(.locations) {
            for index in 0..<int(1...3) {
                let resource = pick(ids)
                let role = resource.kind == .promotable && chance(40) ? " role=\"Promoted\"" : ""
                constraints.append("<rsc_location id=\"loc\(index)\" rsc=\"\(resource.id)\" node=\"\(pick(nodes).name)\" score=\"\(pick(scores))\"\(role)/>")
            }
        }
        if feature(.locationRules) {
            for index in 0..<int(1...2) {
                let resource = pick(ids)
                let role = resource.kind == .promotable && chance(50) ? " role=\"Promoted\"" : ""
                let expression = chance(50)
                    ? "<expression id=\"rule\(index)-expr\" attribute=\"site\" operation=\"eq\" value=\"\(pick(["a", "b"]))\"/>"
                    : "<expression id=\"rule\(index)-expr\" attribute=\"#uname\" operation=\"\(pick(["eq", "ne"]))\" value=\"\(pick(nodes).name)\"/>"
                constraints.append("<rsc_location id=\"rule-loc\(index)\" rsc=\"\(resource.id)\"><rule id=\"rule\(index)\" score=\"\(pick(scores))\"\(role)>\(expression)</rule></rsc_location>")
            }
        }
        if ids.count >= 2, feature(.colocations) {
            // A chain: each link colocates the next resource with the one before it.
            let chain = ids.shuffled(using: &random).prefix(int(2...min(4, ids.count)))
            for (index, (with, resource)) in zip(chain, chain.dropFirst()).enumerated() {
                var text = "<rsc_colocation id=\"col\(index)\" rsc=\"\(resource.id)\" with-rsc=\"\(with.id)\" score=\"\(pick(["-INFINITY", "-100", "100", "500", "INFINITY", "INFINITY"]))\""
                if with.kind == .promotable, chance(60) { text += " with-rsc-role=\"Promoted\"" }
                if resource.kind == .promotable, chance(40) { text += " rsc-role=\"Promoted\"" }
                constraints.append(text + "/>")
            }
        }
        if ids.count >= 2, feature(.orders) {
            for index in 0..<int(1...3) {
                let first = pick(ids)
                let then = pick(ids.filter { $0.id != first.id })
                var text = "<rsc_order id=\"ord\(index)\" first=\"\(first.id)\" then=\"\(then.id)\""
                if chance(60) { text += " kind=\"\(pick(["Mandatory", "Optional", "Serialize"]))\"" }
                if chance(30) { text += " symmetrical=\"false\"" }
                if first.kind == .promotable, chance(50) { text += " first-action=\"promote\" then-action=\"start\"" }
                constraints.append(text + "/>")
            }
        }
        if feature(.tickets) {
            for index in 0..<int(1...2) {
                let resource = pick(ids)
                var policies = ["stop", "freeze"]
                if stonithOn { policies.append("fence") }
                var text = "<rsc_ticket id=\"tkt\(index)\" rsc=\"\(resource.id)\" ticket=\"\(pick(["ticketA", "ticketB"]))\""
                if resource.kind == .promotable, chance(50) {
                    text += " rsc-role=\"Promoted\""
                    policies.append("demote")
                }
                if chance(70) { text += " loss-policy=\"\(pick(policies))\"" }
                constraints.append(text + "/>")
            }
        }
    }

    // MARK: - XML pieces

    func nvpair(_ id: String, _ name: String, _ value: String, indent: Int) -> String {
        "\(String(repeating: " ", count: indent))<nvpair id=\"\(id)\" name=\"\(name)\" value=\"\(value)\"/>"
    }

    func attributeSet(_ element: String, id: String, _ pairs: [(String, String)], indent: Int) -> [String] {
        guard !pairs.isEmpty else { return [] }
        let pad = String(repeating: " ", count: indent)
        var lines = ["\(pad)<\(element) id=\"\(id)\">"]
        for (name, value) in pairs {
            let safe = name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }
            lines.append(nvpair("\(id)-\(String(safe))", name, value, indent: indent + 2))
        }
        return lines + ["\(pad)</\(element)>"]
    }
}
