/// An entry of `<resources>`.
public enum Resource: Equatable, Sendable {
    case primitive(Primitive)
    case group(Group)
    case clone(Clone)
    /// bundle, template and anything newer: kept as read (the scheduler reads bundles from the
    /// element itself).
    case other(XMLElement)

    static let elementNames: [String] = ["primitive", "group", "clone", "master", "bundle", "template"]

    init(xml: XMLElement) throws(CIBError) {
        switch xml.name {
        case "primitive": self = .primitive(try Primitive(xml: xml))
        case "group": self = .group(try Group(xml: xml))
        case "clone", "master": self = .clone(try Clone(xml: xml))
        default: self = .other(xml)
        }
    }

    public var xml: XMLElement {
        switch self {
        case .primitive(let primitive): return primitive.xml
        case .group(let group): return group.xml
        case .clone(let clone): return clone.xml
        case .other(let element): return element
        }
    }

    public var id: String {
        switch self {
        case .primitive(let primitive): return primitive.id
        case .group(let group): return group.id
        case .clone(let clone): return clone.id
        case .other(let element): return element["id"] ?? ""
        }
    }
}

/// Meta and instance attributes shared by every resource kind.
public struct ResourceAttributes: Equatable, Sendable {
    public var meta: [NameValueSet] = []
    public var instance: [NameValueSet] = []
    public var utilization: [NameValueSet] = []

    init(reader: inout ElementReader) throws(CIBError) {
        meta = try reader.children(named: "meta_attributes", as: NameValueSet.self)
        instance = try reader.children(named: "instance_attributes", as: NameValueSet.self)
        utilization = try reader.children(named: "utilization", as: NameValueSet.self)
    }

    func write(to builder: inout ElementBuilder) {
        builder.add(meta); builder.add(instance); builder.add(utilization)
    }

    /// The first value of a meta attribute among the sets without rules.
    public func metaValue(_ name: String) -> String? {
        for set in meta where set.rules.isEmpty { if let value = set[name] { return value } }
        return nil
    }
}

/// `<primitive id class provider type>`.
public struct Primitive: XMLRepresentable {
    public var id: String
    public var resourceClass: String?
    public var provider: String?
    public var type: String?
    public var template: String?
    public var attributes: ResourceAttributes
    public var operations: Operations?
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        resourceClass = reader.optional("class")
        provider = reader.optional("provider")
        type = reader.optional("type")
        template = reader.optional("template")
        if template == nil {
            if resourceClass == nil { throw reader.error(.missingAttribute(name: "class")) }
            if type == nil { throw reader.error(.missingAttribute(name: "type")) }
        }
        attributes = try ResourceAttributes(reader: &reader)
        operations = try reader.child(named: "operations", as: Operations.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("primitive")
        builder.set("id", id); builder.set("class", resourceClass); builder.set("provider", provider)
        builder.set("type", type); builder.set("template", template)
        attributes.write(to: &builder)
        builder.add(operations)
        return builder.finish(extras)
    }

    /// "ocf:heartbeat:apache" as crm_mon shows it.
    public var agentName: String {
        [resourceClass, provider, type].compactMap { $0 }.joined(separator: ":")
    }
}

/// `<operations>` of a primitive (or `op_defaults` style lists).
public struct Operations: XMLRepresentable {
    public var id: String?
    public var idRef: String?
    public var operations: [Operation]
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        idRef = reader.optional("id-ref")
        operations = try reader.children(named: "op", as: Operation.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("operations")
        builder.set("id", id); builder.set("id-ref", idRef); builder.add(operations)
        return builder.finish(extras)
    }
}

/// `<op id name interval role on-fail timeout enabled>`; interval and timeout keep their text
/// ("10s", "1min", "20000") and are interpreted by the scheduler.
public struct Operation: XMLRepresentable {
    public var id: String?
    public var name: String
    public var interval: String?
    public var role: String?
    public var onFail: String?
    public var timeout: String?
    public var enabled: String?
    public var attributes: ResourceAttributes
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = reader.optional("id")
        name = try reader.required("name")
        interval = reader.optional("interval")
        role = reader.optional("role")
        onFail = reader.optional("on-fail")
        timeout = reader.optional("timeout")
        enabled = reader.optional("enabled")
        attributes = try ResourceAttributes(reader: &reader)
        extras = reader.extras
        if let interval, Duration.milliseconds(parsing: interval) == nil {
            throw ElementReader(xml).error(.invalidValue(attribute: "interval", value: interval))
        }
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("op")
        builder.set("id", id); builder.set("name", name); builder.set("interval", interval)
        builder.set("role", role); builder.set("on-fail", onFail); builder.set("timeout", timeout)
        builder.set("enabled", enabled)
        attributes.write(to: &builder)
        return builder.finish(extras)
    }

    public var intervalMilliseconds: Int {
        min(interval.flatMap(Duration.milliseconds(parsing:)) ?? 0, Duration.intervalMillisecondsMax)
    }
}

/// `<group id>`: ordered and colocated primitives.
public struct Group: XMLRepresentable {
    public var id: String
    public var members: [Primitive]
    public var attributes: ResourceAttributes
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        attributes = try ResourceAttributes(reader: &reader)
        members = try reader.children(named: "primitive", as: Primitive.self)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("group")
        builder.set("id", id)
        attributes.write(to: &builder)
        builder.add(members)
        return builder.finish(extras)
    }
}

/// `<clone id>` (promotable with meta promotable=true) or the legacy `<master id>`.
public struct Clone: XMLRepresentable {
    public enum Child: Equatable, Sendable {
        case primitive(Primitive)
        case group(Group)
        public var id: String {
            switch self {
            case .primitive(let primitive): return primitive.id
            case .group(let group): return group.id
            }
        }
    }

    public var id: String
    public var isLegacyMaster: Bool
    public var child: Child?
    public var attributes: ResourceAttributes
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        isLegacyMaster = xml.name == "master"
        attributes = try ResourceAttributes(reader: &reader)
        if let first = reader.firstChild(named: ["primitive", "group"]) {
            child = first.name == "group" ? .group(try Group(xml: first)) : .primitive(try Primitive(xml: first))
        } else {
            child = nil
        }
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder(isLegacyMaster ? "master" : "clone")
        builder.set("id", id)
        attributes.write(to: &builder)
        switch child {
        case .primitive(let primitive): builder.add(primitive)
        case .group(let group): builder.add(group)
        case nil: break
        }
        return builder.finish(extras)
    }

    public var isPromotable: Bool {
        isLegacyMaster || (attributes.metaValue("promotable").map(isTrue) ?? false)
    }
}

/// Pacemaker's crm_is_true.
public func isTrue(_ text: String) -> Bool {
    ["true", "on", "yes", "y", "1"].contains(text.trimmed.lowercased())
}

extension Duration {
    /// Pacemaker's interval syntax: plain numbers are seconds; suffixes ms, s, m/min, h;
    /// ISO 8601 "PT10S" style is accepted for hours/minutes/seconds. Nil when unreadable.
    ///
    /// Numbers too large saturate at `Int.max` milliseconds, as Pacemaker's `crm_get_msec`
    /// clips them to LLONG_MAX (crm_simulate accepts `interval="9223372036854775807"`); an
    /// ISO duration that overflows is unreadable (nil), where Pacemaker's duration parser
    /// refuses it too.
    public static func milliseconds(parsing text: String) -> Int? {
        let text = text.trimmed.lowercased()
        if text.isEmpty { return 0 }
        if text.hasPrefix("p") {
            var total = 0
            var number = ""
            var inTime = false
            for character in text.dropFirst() {
                if character == "t" { inTime = true; continue }
                if character.isASCII && character.isNumber { number.append(character); continue }
                guard let value = Int(number) else { return nil }
                number = ""
                let unit: Int
                switch (character, inTime) {
                case ("h", _): unit = 3_600_000
                case ("m", true): unit = 60_000
                case ("m", false): unit = 30 * 86_400_000
                case ("s", _): unit = 1000
                case ("d", false): unit = 86_400_000
                case ("w", false): unit = 7 * 86_400_000
                default: return nil
                }
                let (product, productOverflow) = value.multipliedReportingOverflow(by: unit)
                let (sum, sumOverflow) = total.addingReportingOverflow(product)
                guard !productOverflow, !sumOverflow else { return nil }
                total = sum
            }
            return number.isEmpty ? total : nil
        }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else { return nil }
        // strtoll clips to LLONG_MAX; so does this (digits only: the value is not negative).
        let value = Int(digits) ?? Int.max
        let multiplier: Int
        switch String(text.dropFirst(digits.count)).trimmed {
        case "", "s", "sec": multiplier = 1000
        case "ms", "msec": multiplier = 1
        case "us", "usec": return value / 1000
        case "m", "min": multiplier = 60_000
        case "h", "hr": multiplier = 3_600_000
        default: return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? Int.max : product
    }

    /// Pacemaker keeps an operation's interval in a guint of milliseconds
    /// (`crm_parse_interval_spec` clips larger values to G_MAXUINT).
    public static let intervalMillisecondsMax = Int(UInt32.max)
}
