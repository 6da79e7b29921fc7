/// An entry of `<constraints>`.
public enum Constraint: Equatable, Sendable {
    case location(LocationConstraint)
    case colocation(ColocationConstraint)
    case order(OrderConstraint)
    case ticket(TicketConstraint)
    case other(XMLElement)

    init(xml: XMLElement) throws(CIBError) {
        switch xml.name {
        case "rsc_location": self = .location(try LocationConstraint(xml: xml))
        case "rsc_colocation": self = .colocation(try ColocationConstraint(xml: xml))
        case "rsc_order": self = .order(try OrderConstraint(xml: xml))
        case "rsc_ticket": self = .ticket(try TicketConstraint(xml: xml))
        default: self = .other(xml)
        }
    }

    public var xml: XMLElement {
        switch self {
        case .location(let constraint): return constraint.xml
        case .colocation(let constraint): return constraint.xml
        case .order(let constraint): return constraint.xml
        case .ticket(let constraint): return constraint.xml
        case .other(let element): return element
        }
    }
}

/// `<resource_set>` inside a constraint.
public struct ResourceSet: XMLRepresentable {
    public var id: String?
    public var idRef: String?
    public var sequential: String?
    public var requireAll: String?
    public var ordering: String?
    public var action: String?
    public var role: String?
    public var score: Score?
    public var kind: String?
    public var resources: [String]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        idRef = reader.optional("id-ref")
        sequential = reader.optional("sequential")
        requireAll = reader.optional("require-all")
        ordering = reader.optional("ordering")
        action = reader.optional("action")
        role = reader.optional("role")
        score = try reader.score("score")
        kind = reader.optional("kind")
        resources = try reader.children(named: ["resource_ref"]) { (child: XMLElement) throws(CIBError) -> String in
            var childReader = ElementReader(child)
            return try childReader.required("id")
        }
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("resource_set")
        builder.set("id", id); builder.set("id-ref", idRef); builder.set("sequential", sequential)
        builder.set("require-all", requireAll); builder.set("ordering", ordering); builder.set("action", action)
        builder.set("role", role); builder.set("score", score); builder.set("kind", kind)
        for resource in resources {
            builder.addRaw(XMLElement(name: "resource_ref", attributes: [.init(name: "id", value: resource)]))
        }
        return builder.finish(extras)
    }

    public var isSequential: Bool { sequential.map(isTrue) ?? true }
}

/// `<rsc_location id rsc|rsc-pattern node score role | rule>`.
public struct LocationConstraint: XMLRepresentable {
    public var id: String
    public var resource: String?
    public var resourcePattern: String?
    public var node: String?
    public var score: Score?
    public var role: String?
    public var resourceDiscovery: String?
    public var rules: [Rule]
    public var sets: [ResourceSet]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        resource = reader.optional("rsc")
        resourcePattern = reader.optional("rsc-pattern")
        node = reader.optional("node")
        score = try reader.score("score")
        role = reader.optional("role")
        resourceDiscovery = reader.optional("resource-discovery")
        rules = try reader.children(named: "rule", as: Rule.self)
        sets = try reader.children(named: "resource_set", as: ResourceSet.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("rsc_location")
        builder.set("id", id); builder.set("rsc", resource); builder.set("rsc-pattern", resourcePattern)
        builder.set("node", node); builder.set("score", score); builder.set("role", role)
        builder.set("resource-discovery", resourceDiscovery)
        builder.add(rules); builder.add(sets)
        return builder.finish(extras)
    }
}

/// `<rsc_colocation id rsc with-rsc score rsc-role with-rsc-role>`.
public struct ColocationConstraint: XMLRepresentable {
    public var id: String
    public var resource: String?
    public var withResource: String?
    public var score: Score?
    public var resourceRole: String?
    public var withResourceRole: String?
    public var nodeAttribute: String?
    public var sets: [ResourceSet]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        resource = reader.optional("rsc")
        withResource = reader.optional("with-rsc")
        score = try reader.score("score")
        resourceRole = reader.optional("rsc-role")
        withResourceRole = reader.optional("with-rsc-role")
        nodeAttribute = reader.optional("node-attribute")
        sets = try reader.children(named: "resource_set", as: ResourceSet.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("rsc_colocation")
        builder.set("id", id); builder.set("rsc", resource); builder.set("with-rsc", withResource)
        builder.set("score", score); builder.set("rsc-role", resourceRole)
        builder.set("with-rsc-role", withResourceRole); builder.set("node-attribute", nodeAttribute)
        builder.add(sets)
        return builder.finish(extras)
    }
}

/// `<rsc_order id first then first-action then-action kind score symmetrical>`.
public struct OrderConstraint: XMLRepresentable {
    public var id: String
    public var first: String?
    public var then: String?
    public var firstAction: String?
    public var thenAction: String?
    public var kind: String?
    public var score: Score?
    public var symmetrical: String?
    public var sets: [ResourceSet]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        first = reader.optional("first")
        then = reader.optional("then")
        firstAction = reader.optional("first-action")
        thenAction = reader.optional("then-action")
        kind = reader.optional("kind")
        score = try reader.score("score")
        symmetrical = reader.optional("symmetrical")
        sets = try reader.children(named: "resource_set", as: ResourceSet.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("rsc_order")
        builder.set("id", id); builder.set("first", first); builder.set("then", then)
        builder.set("first-action", firstAction); builder.set("then-action", thenAction)
        builder.set("kind", kind); builder.set("score", score); builder.set("symmetrical", symmetrical)
        builder.add(sets)
        return builder.finish(extras)
    }
}

/// `<rsc_ticket id rsc ticket loss-policy rsc-role | resource_set>`.
public struct TicketConstraint: XMLRepresentable {
    public var id: String
    public var resource: String?
    public var ticket: String
    public var lossPolicy: String?
    public var resourceRole: String?
    public var sets: [ResourceSet]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        resource = reader.optional("rsc")
        ticket = try reader.required("ticket")
        lossPolicy = reader.optional("loss-policy")
        resourceRole = reader.optional("rsc-role")
        sets = try reader.children(named: "resource_set", as: ResourceSet.self)
        extras = reader.extras
        if resource == nil && sets.isEmpty { throw ElementReader(xml).error(.missingAttribute(name: "rsc")) }
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("rsc_ticket")
        builder.set("id", id); builder.set("rsc", resource); builder.set("ticket", ticket)
        builder.set("loss-policy", lossPolicy); builder.set("rsc-role", resourceRole)
        builder.add(sets)
        return builder.finish(extras)
    }
}
