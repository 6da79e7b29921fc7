/// `<status>`: what the cluster knows of each node and of the tickets.
public struct Status: XMLRepresentable {
    public var nodeStates: [NodeState]
    public var tickets: Tickets?
    public var extras: Extras

    public init() { nodeStates = []; tickets = nil; extras = .none }

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        nodeStates = try reader.children(named: "node_state", as: NodeState.self)
        tickets = try reader.child(named: "tickets", as: Tickets.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("status")
        builder.add(nodeStates); builder.add(tickets)
        return builder.finish(extras)
    }
}

/// `<node_state id uname in_ccm crmd join expected>` with its operation history (lrm) and
/// transient attributes (fail counts, last failures).
public struct NodeState: XMLRepresentable {
    /// Node id; old CIBs sometimes name the node by uname only.
    public var id: String?
    public var uname: String?
    public var inCCM: String?
    public var crmd: String?
    public var join: String?
    public var expected: String?
    public var lrm: LocalResourceManager?
    public var transientAttributes: TransientAttributes?
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        uname = reader.optional("uname")
        inCCM = reader.optional("in_ccm")
        crmd = reader.optional("crmd")
        join = reader.optional("join")
        expected = reader.optional("expected")
        lrm = try reader.child(named: "lrm", as: LocalResourceManager.self)
        transientAttributes = try reader.child(named: "transient_attributes", as: TransientAttributes.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("node_state")
        builder.set("id", id); builder.set("uname", uname); builder.set("in_ccm", inCCM)
        builder.set("crmd", crmd); builder.set("join", join); builder.set("expected", expected)
        builder.add(lrm); builder.add(transientAttributes)
        return builder.finish(extras)
    }
}

/// `<lrm><lrm_resources>…` collapsed into one value (the two wrappers carry only ids).
public struct LocalResourceManager: XMLRepresentable {
    public var id: String?
    public var resourcesID: String?
    public var hasResourcesElement: Bool
    public var resources: [LRMResource]
    public var extras: Extras
    public var resourcesExtras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        if let wrapper = reader.firstChild(named: ["lrm_resources"]) {
            hasResourcesElement = true
            var inner = ElementReader(wrapper)
            resourcesID = inner.optional("id")
            resources = try inner.children(named: "lrm_resource", as: LRMResource.self)
            resourcesExtras = inner.extras
        } else {
            hasResourcesElement = false
            resourcesID = nil
            resources = []
            resourcesExtras = .none
        }
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("lrm")
        builder.set("id", id)
        if hasResourcesElement {
            var inner = ElementBuilder("lrm_resources")
            inner.set("id", resourcesID)
            inner.add(resources)
            builder.addRaw(inner.finish(resourcesExtras))
        }
        return builder.finish(extras)
    }
}

/// `<lrm_resource id class provider type>`: the operation history of one resource on one node.
public struct LRMResource: XMLRepresentable {
    public var id: String
    public var resourceClass: String?
    public var provider: String?
    public var type: String?
    public var container: String?
    public var operations: [LRMOperation]
    public var extras: Extras

    /// Read in one pass over attributes and children (a status section has one per resource
    /// and node); the same result as an `ElementReader`: the first of a repeated attribute
    /// counts, the rest is kept in `extras` in document order.
    public init(xml: XMLElement) throws(CIBError) {
        try self.init(attributes: xml.attributes, line: xml.line)
        operations.reserveCapacity(xml.children.count)
        for child in xml.children {
            if child.name == "lrm_rsc_op" { operations.append(try LRMOperation(xml: child)) } else { extras.children.append(child) }
        }
    }

    /// The attributes only (no operations yet): the first half of reading the element, also
    /// used by the fast CIB reader's status lane, which then adds the operations it decodes.
    init<Attributes: Collection<XMLElement.Attribute>>(attributes: Attributes, line: Int) throws(CIBError) {
        var id, resourceClass, provider, type, container: String?
        var extraAttributes: [XMLElement.Attribute] = []
        for attribute in attributes {
            // The names' lengths differ: one comparison per attribute instead of up to five.
            let name = attribute.name
            switch name.utf8.count {
            case 2 where name == "id": if id == nil { id = attribute.value }
            case 5 where name == "class": if resourceClass == nil { resourceClass = attribute.value }
            case 8 where name == "provider": if provider == nil { provider = attribute.value }
            case 4 where name == "type": if type == nil { type = attribute.value }
            case 9 where name == "container": if container == nil { container = attribute.value }
            default: extraAttributes.append(attribute)
            }
        }
        guard let id else { throw CIBError(.missingAttribute(name: "id"), element: "lrm_resource", id: nil, line: line) }
        self.id = id
        self.resourceClass = resourceClass
        self.provider = provider
        self.type = type
        self.container = container
        self.operations = []
        extras = Extras(attributes: extraAttributes, children: [])
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("lrm_resource")
        builder.set("id", id); builder.set("class", resourceClass); builder.set("provider", provider)
        builder.set("type", type); builder.set("container", container)
        builder.add(operations)
        return builder.finish(extras)
    }
}

/// `<lrm_rsc_op>`: one recorded operation result. Interval is in milliseconds.
public struct LRMOperation: XMLRepresentable {
    public var id: String
    public var operation: String
    public var interval: Int
    public var callID: Int?
    public var rcCode: Int?
    public var opStatus: Int?
    public var transitionKey: String?
    public var transitionMagic: String?
    public var opDigest: String?
    public var lastRCChange: Int?
    public var lastRun: Int?
    public var exitReason: String?
    public var onNode: String?
    public var extras: Extras

    init(id: String, operation: String, interval: Int, callID: Int?, rcCode: Int?, opStatus: Int?,
         transitionKey: String?, transitionMagic: String?, opDigest: String?, lastRCChange: Int?, lastRun: Int?,
         exitReason: String?, onNode: String?, extras: Extras) {
        self.id = id
        self.operation = operation
        self.interval = interval
        self.callID = callID
        self.rcCode = rcCode
        self.opStatus = opStatus
        self.transitionKey = transitionKey
        self.transitionMagic = transitionMagic
        self.opDigest = opDigest
        self.lastRCChange = lastRCChange
        self.lastRun = lastRun
        self.exitReason = exitReason
        self.onNode = onNode
        self.extras = extras
    }

    /// Read in one pass over the attributes (the most numerous element of a CIB), with the
    /// same result and the same first error as an `ElementReader`.
    public init(xml: XMLElement) throws(CIBError) {
        try self.init(attributes: xml.attributes, children: xml.children, line: xml.line)
    }

    /// The same, from an element's parts (the fast CIB reader's status lane decodes straight
    /// from the attributes it scanned, without building the element).
    init<Attributes: Collection<XMLElement.Attribute>>(attributes: Attributes, children: [XMLElement], line: Int) throws(CIBError) {
        var id, operation, interval, callID, rcCode, opStatus, lastRCChange, lastRun: String?
        var transitionKey, transitionMagic, opDigest, exitReason, onNode: String?
        var extraAttributes: [XMLElement.Attribute] = []
        for attribute in attributes {
            let value = attribute.value
            switch Self.field(attribute.name) {
            case .id: if id == nil { id = value }
            case .operation: if operation == nil { operation = value }
            case .interval: if interval == nil { interval = value }
            case .callID: if callID == nil { callID = value }
            case .rcCode: if rcCode == nil { rcCode = value }
            case .opStatus: if opStatus == nil { opStatus = value }
            case .transitionKey: if transitionKey == nil { transitionKey = value }
            case .transitionMagic: if transitionMagic == nil { transitionMagic = value }
            case .opDigest: if opDigest == nil { opDigest = value }
            case .lastRCChange: if lastRCChange == nil { lastRCChange = value }
            case .lastRun: if lastRun == nil { lastRun = value }
            case .exitReason: if exitReason == nil { exitReason = value }
            case .onNode: if onNode == nil { onNode = value }
            case nil: extraAttributes.append(attribute)
            }
        }
        func error(_ kind: CIBError.Kind) -> CIBError {
            CIBError(kind, element: "lrm_rsc_op", id: id, line: line)
        }
        func number(_ name: String, _ text: String?) throws(CIBError) -> Int? {
            guard let text else { return nil }
            if let value = plainInteger(text) ?? Int(text.trimmed) { return value }
            throw error(.invalidValue(attribute: name, value: text))
        }
        guard let id else { throw error(.missingAttribute(name: "id")) }
        guard let operation else { throw error(.missingAttribute(name: "operation")) }
        self.id = id
        self.operation = operation
        self.interval = try number("interval", interval) ?? 0
        self.callID = try number("call-id", callID)
        self.rcCode = try number("rc-code", rcCode)
        self.opStatus = try number("op-status", opStatus)
        self.transitionKey = transitionKey
        self.transitionMagic = transitionMagic
        self.opDigest = opDigest
        self.lastRCChange = try number("last-rc-change", lastRCChange)
        self.lastRun = try number("last-run", lastRun)
        self.exitReason = exitReason
        self.onNode = onNode
        extras = Extras(attributes: extraAttributes, children: children)
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("lrm_rsc_op")
        builder.set("id", id); builder.set("operation", operation); builder.set("interval", interval)
        builder.set("call-id", callID); builder.set("rc-code", rcCode); builder.set("op-status", opStatus)
        builder.set("transition-key", transitionKey); builder.set("transition-magic", transitionMagic)
        builder.set("op-digest", opDigest); builder.set("last-rc-change", lastRCChange)
        builder.set("last-run", lastRun); builder.set("exit-reason", exitReason); builder.set("on_node", onNode)
        return builder.finish(extras)
    }

    private enum Field {
        case id, operation, interval, callID, rcCode, opStatus, transitionKey, transitionMagic
        case opDigest, lastRCChange, lastRun, exitReason, onNode
    }

    /// Which typed field an attribute name is. The length picks the few candidates, so that
    /// a name is compared with one or two strings instead of up to thirteen (a switch over
    /// String cases compares them one by one, out of line: measurable for the most numerous
    /// element of a CIB).
    @inline(__always) private static func field(_ name: String) -> Field? {
        switch name.utf8.count {
        case 2: return name == "id" ? .id : nil
        case 7:
            if name == "call-id" { return .callID }
            if name == "rc-code" { return .rcCode }
            if name == "on_node" { return .onNode }
            return nil
        case 8:
            if name == "interval" { return .interval }
            if name == "last-run" { return .lastRun }
            return nil
        case 9:
            if name == "operation" { return .operation }
            if name == "op-status" { return .opStatus }
            if name == "op-digest" { return .opDigest }
            return nil
        case 11: return name == "exit-reason" ? .exitReason : nil
        case 14:
            if name == "transition-key" { return .transitionKey }
            if name == "last-rc-change" { return .lastRCChange }
            return nil
        case 16: return name == "transition-magic" ? .transitionMagic : nil
        default: return nil
        }
    }

    /// An attribute the model keeps untyped (e.g. "op-force-restart", "queue-time").
    public func extraAttribute(_ name: String) -> String? {
        extras.attributes.first { $0.name == name }?.value
    }
}

/// `<transient_attributes>`: node attributes that do not survive a restart (fail counts).
public struct TransientAttributes: XMLRepresentable {
    public var id: String?
    public var sets: [NameValueSet]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        sets = try reader.children(named: "instance_attributes", as: NameValueSet.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("transient_attributes")
        builder.set("id", id); builder.add(sets)
        return builder.finish(extras)
    }
}

/// `<tickets>` in the status section.
public struct Tickets: XMLRepresentable {
    public var states: [TicketState]
    public var extras: Extras

    public init(states: [TicketState]) { self.states = states; extras = .none }

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        states = try reader.children(named: "ticket_state", as: TicketState.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("tickets")
        builder.add(states)
        return builder.finish(extras)
    }
}

/// `<ticket_state id granted standby last-granted …>`; other attributes (owner, expires,
/// term from batond) are kept.
public struct TicketState: XMLRepresentable {
    public var id: String
    public var granted: String?
    public var standby: String?
    public var lastGranted: Int?
    public var extras: Extras

    public init(id: String, granted: Bool, standby: Bool = false) {
        self.id = id
        self.granted = granted ? "true" : "false"
        self.standby = standby ? "true" : nil
        self.lastGranted = nil
        self.extras = .none
    }

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        granted = reader.optional("granted")
        standby = reader.optional("standby")
        lastGranted = try reader.int("last-granted")
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("ticket_state")
        builder.set("id", id); builder.set("granted", granted); builder.set("standby", standby)
        builder.set("last-granted", lastGranted)
        return builder.finish(extras)
    }

    public var isGranted: Bool { granted.map(isTrue) ?? false }
    public var isStandby: Bool { standby.map(isTrue) ?? false }
}
