/// `<nvpair id name value/>`.
public struct NameValuePair: XMLRepresentable {
    public var id: String?
    public var idRef: String?
    /// Empty only for a reference (`id-ref`) to a pair defined elsewhere.
    public var name: String
    public var value: String?
    public var extras: Extras

    public init(id: String? = nil, name: String, value: String?, extras: Extras = .none) {
        self.id = id; self.idRef = nil; self.name = name; self.value = value; self.extras = extras
    }

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        idRef = reader.optional("id-ref")
        name = idRef == nil ? try reader.required("name") : reader.optional("name") ?? ""
        value = reader.optional("value")
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("nvpair")
        builder.set("id", id); builder.set("id-ref", idRef)
        builder.set("name", idRef != nil && name.isEmpty ? nil : name); builder.set("value", value)
        return builder.finish(extras)
    }
}

/// A set of name/value pairs: `instance_attributes`, `meta_attributes`, `utilization`,
/// `cluster_property_set` (the element name is `kind`), optionally guarded by rules.
public struct NameValueSet: XMLRepresentable {
    public static let kinds: Set<String> = ["instance_attributes", "meta_attributes", "utilization",
                                            "cluster_property_set"]
    public var kind: String
    public var id: String?
    public var idRef: String?
    public var score: Score?
    public var rules: [Rule]
    public var pairs: [NameValuePair]
    public var extras: Extras

    public init(kind: String, id: String?, pairs: [NameValuePair]) {
        self.kind = kind; self.id = id; self.idRef = nil; self.score = nil
        self.rules = []; self.pairs = pairs; self.extras = .none
    }

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        kind = xml.name
        id = reader.optional("id")
        idRef = reader.optional("id-ref")
        score = try reader.score("score")
        rules = try reader.children(named: "rule", as: Rule.self)
        pairs = try reader.children(named: "nvpair", as: NameValuePair.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder(kind)
        builder.set("id", id); builder.set("id-ref", idRef); builder.set("score", score)
        builder.add(rules); builder.add(pairs)
        return builder.finish(extras)
    }

    /// The value of `name` in this set (the last pair wins, as in Pacemaker's unpacking).
    public subscript(name: String) -> String? {
        pairs.last { $0.name == name }?.value
    }
}

/// `<rule>`: a boolean combination of expressions, with a score when it guards a location.
public struct Rule: XMLRepresentable {
    public var id: String?
    public var idRef: String?
    public var score: Score?
    public var scoreAttribute: String?
    public var booleanOperation: String?
    public var role: String?
    public var conditions: [RuleCondition]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        idRef = reader.optional("id-ref")
        score = try reader.score("score")
        scoreAttribute = reader.optional("score-attribute")
        booleanOperation = reader.optional("boolean-op")
        role = reader.optional("role")
        conditions = try reader.children(named: ["expression", "date_expression", "rule", "rsc_expression",
                                                 "op_expression"]) { (child: XMLElement) throws(CIBError) -> RuleCondition in
            switch child.name {
            case "expression": return .expression(try Expression(xml: child))
            case "rule": return .rule(try Rule(xml: child))
            default: return .other(child)
            }
        }
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("rule")
        builder.set("id", id); builder.set("id-ref", idRef); builder.set("score", score)
        builder.set("score-attribute", scoreAttribute); builder.set("boolean-op", booleanOperation)
        builder.set("role", role)
        for condition in conditions {
            switch condition {
            case .expression(let expression): builder.add(expression)
            case .rule(let rule): builder.add(rule)
            case .other(let element): builder.addRaw(element)
            }
        }
        return builder.finish(extras)
    }
}

public indirect enum RuleCondition: Equatable, Sendable {
    case expression(Expression)
    case rule(Rule)
    /// date_expression, rsc_expression, op_expression: kept, evaluated where the scheduler knows how.
    case other(XMLElement)
}

/// `<expression attribute operation value type value-source/>`.
public struct Expression: XMLRepresentable {
    public var id: String?
    public var attribute: String
    public var operation: String
    public var value: String?
    public var type: String?
    public var valueSource: String?
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        attribute = try reader.required("attribute")
        operation = try reader.required("operation")
        value = reader.optional("value")
        type = reader.optional("type")
        valueSource = reader.optional("value-source")
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("expression")
        builder.set("id", id); builder.set("attribute", attribute); builder.set("operation", operation)
        builder.set("value", value); builder.set("type", type); builder.set("value-source", valueSource)
        return builder.finish(extras)
    }
}
