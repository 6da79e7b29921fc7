/// A Pacemaker-compatible CIB: configuration plus status, read from and written to XML.
///
/// Every typed part keeps what it does not model in `extras`, so that writing a CIB back
/// loses nothing an admin put there.
public struct CIB: Equatable, Sendable {
    /// Root attributes in document order (epoch, admin_epoch, have-quorum, execution-date …).
    public var attributes: [XMLElement.Attribute]
    public var configuration: Configuration
    public var status: Status
    public var extraChildren: [XMLElement]

    public init(xml root: XMLElement) throws(CIBError) {
        try self.init(xml: root, decodedStatus: nil)
    }

    /// `decodedStatus`: the root's first `<status>`, already decoded (and not among the
    /// root's children).
    init(xml root: XMLElement, decodedStatus: Status?) throws(CIBError) {
        guard root.name == "cib" else {
            throw CIBError(.unexpectedRoot, element: root.name, id: root["id"], line: root.line)
        }
        var reader = ElementReader(root)
        guard let configuration = try reader.child(named: "configuration", as: Configuration.self) else {
            throw CIBError(.malformedXML(message: "missing <configuration>"), element: "cib", id: nil, line: root.line)
        }
        self.configuration = configuration
        if let section = root.children.first(where: { $0.name == "configuration" }) { try Self.checkUniqueIDs(section) }
        if let decodedStatus {
            status = decodedStatus
        } else {
            status = try reader.child(named: "status", as: Status.self) ?? Status()
        }
        let extras = reader.extras
        attributes = root.attributes
        extraChildren = extras.children
        for name in ["epoch", "admin_epoch", "num_updates", "execution-date"] {
            if let text = root[name], Int(text.trimmed) == nil {
                throw CIBError(.invalidValue(attribute: name, value: text), element: "cib", id: nil, line: root.line)
            }
        }
    }

    /// Elements whose `id` names something else (IDREF in Pacemaker's schema) or is free text.
    static let idIsNotAnID: Set<String> = ["node", "acl_target", "obj_ref", "resource_ref", "role", "role_ref"]

    /// Every id in the configuration is defined once, as Pacemaker's schema (xsd:ID) requires:
    /// two resources of the same id would otherwise both be scheduled.
    static func checkUniqueIDs(_ configuration: XMLElement) throws(CIBError) {
        var seen: [String: (element: String, line: Int)] = [:]
        var pending: [XMLElement] = [configuration]
        while let element = pending.popLast() {
            if !idIsNotAnID.contains(element.name), let id = element["id"] {
                if let first = seen[id] {
                    // Report the later of the two, naming the earlier (the walk is not in document order).
                    let this = (element: element.name, line: element.line)
                    let later = this.line >= first.line ? this : first
                    let earlier = this.line >= first.line ? first : this
                    throw CIBError(.duplicateID(firstElement: earlier.element, firstLine: earlier.line), element: later.element, id: id, line: later.line)
                }
                seen[id] = (element.name, element.line)
            }
            pending.append(contentsOf: element.children)
        }
    }

    /// Parses a CIB document.
    public init(parsing text: String) throws(CIBError) {
        // A native string is contiguous UTF-8: read it in place rather than copy 10s of MB.
        let result = text.utf8.withContiguousStorageIfAvailable { buffer in
            Result { () throws(CIBError) -> CIB in try CIB(buffer: buffer) }
        }
        if let result { self = try result.get(); return }
        try self.init(bytes: Array(text.utf8))
    }

    /// Parses a CIB document from its bytes (UTF-8, or as its declaration says).
    public init(bytes: [UInt8]) throws(CIBError) {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(CIBError) -> CIB in try CIB(buffer: buffer) }
        }
        self = try result.get()
    }

    /// The same value as `CIB(xml: XMLCodec.parse(…))`, read faster: the fast reader decodes
    /// the status section straight into the model when it can.
    init(buffer: UnsafeBufferPointer<UInt8>) throws(CIBError) {
        let (root, status) = try XMLCodec.parseCIB(buffer: buffer)
        try self.init(xml: root, decodedStatus: status)
    }

    public var xml: XMLElement {
        XMLElement(name: "cib", attributes: attributes,
                   children: [configuration.xml, status.xml] + extraChildren)
    }

    /// The CIB as an XML document (libxml2, indented).
    public func serialized() -> String { XMLCodec.serialize(xml) }

    public subscript(attribute name: String) -> String? {
        get { attributes.first { $0.name == name }?.value }
        set {
            var root = XMLElement(name: "cib", attributes: attributes)
            root[name] = newValue
            attributes = root.attributes
        }
    }

    public var haveQuorum: Bool { self[attribute: "have-quorum"].map(isTrue) ?? false }
    public var dcUUID: String? { self[attribute: "dc-uuid"] }
    /// Seconds since the epoch: "now" for the scheduler, when recorded.
    public var executionDate: Int? { self[attribute: "execution-date"].flatMap { Int($0.trimmed) } }
}

/// `<configuration>`.
public struct Configuration: XMLRepresentable {
    public var crmConfig: [NameValueSet]
    public var nodes: [Node]
    public var resources: [Resource]
    public var constraints: [Constraint]
    public var resourceDefaults: [NameValueSet]?
    public var operationDefaults: [NameValueSet]?
    public var extras: Extras
    /// What each section element carried besides its typed children, by element name.
    public var sectionExtras: [String: Extras]

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        var sectionExtras: [String: Extras] = [:]
        func section<T>(_ name: String, _ body: (inout ElementReader) throws(CIBError) -> T)
            throws(CIBError) -> T? {
            guard let element = reader.firstChild(named: [name]) else { return nil }
            var inner = ElementReader(element)
            let value = try body(&inner)
            // Only what a section carries besides its typed children: a section that is absent
            // is written out empty, and must read back as the same value.
            if inner.extras != .none { sectionExtras[name] = inner.extras }
            return value
        }
        crmConfig = try section("crm_config") { (inner: inout ElementReader) throws(CIBError) in
            try inner.children(named: "cluster_property_set", as: NameValueSet.self)
        } ?? []
        nodes = try section("nodes") { (inner: inout ElementReader) throws(CIBError) in
            try inner.children(named: "node", as: Node.self)
        } ?? []
        resources = try section("resources") { (inner: inout ElementReader) throws(CIBError) in
            try inner.children(named: Resource.elementNames) { (element: XMLElement) throws(CIBError) in
                try Resource(xml: element)
            }
        } ?? []
        constraints = try section("constraints") { (inner: inout ElementReader) throws(CIBError) in
            try inner.children(named: ["rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket"]) {
                (element: XMLElement) throws(CIBError) in try Constraint(xml: element)
            }
        } ?? []
        resourceDefaults = try section("rsc_defaults") { (inner: inout ElementReader) throws(CIBError) in
            try inner.children(named: "meta_attributes", as: NameValueSet.self)
        }
        operationDefaults = try section("op_defaults") { (inner: inout ElementReader) throws(CIBError) in
            try inner.children(named: "meta_attributes", as: NameValueSet.self)
        }
        self.sectionExtras = sectionExtras
        extras = reader.extras
    }

    public var xml: XMLElement {
        func section(_ name: String, _ children: [XMLElement]) -> XMLElement {
            let extras = sectionExtras[name] ?? .none
            return XMLElement(name: name, attributes: extras.attributes, children: children + extras.children)
        }
        var builder = ElementBuilder("configuration")
        builder.addRaw(section("crm_config", crmConfig.map(\.xml)))
        builder.addRaw(section("nodes", nodes.map(\.xml)))
        builder.addRaw(section("resources", resources.map(\.xml)))
        builder.addRaw(section("constraints", constraints.map(\.xml)))
        if let resourceDefaults { builder.addRaw(section("rsc_defaults", resourceDefaults.map(\.xml))) }
        if let operationDefaults { builder.addRaw(section("op_defaults", operationDefaults.map(\.xml))) }
        return builder.finish(extras)
    }

    /// A cluster property from the first cluster_property_set that defines it.
    public func clusterProperty(_ name: String) -> String? {
        for set in crmConfig { if let value = set[name] { return value } }
        return nil
    }
}

/// `<node id uname type>`.
public struct Node: XMLRepresentable {
    public var id: String
    public var uname: String
    public var type: String?
    public var attributes: ResourceAttributes
    public var extras: Extras

    public init(xml: XMLElement) throws(CIBError) {
        var reader = ElementReader(xml)
        id = try reader.required("id")
        uname = try reader.required("uname")
        type = reader.optional("type")
        attributes = try ResourceAttributes(reader: &reader)
        extras = reader.extras
    }

    public var xml: XMLElement {
        var builder = ElementBuilder("node")
        builder.set("id", id); builder.set("uname", uname); builder.set("type", type)
        attributes.write(to: &builder)
        return builder.finish(extras)
    }
}
