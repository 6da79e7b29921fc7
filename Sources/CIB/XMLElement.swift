/// A generic XML element: what the CIB model keeps for the parts it does not type
/// (unknown elements and attributes are written back as they were read).
public struct XMLElement: Equatable, Sendable {
    public struct Attribute: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var name: String
    public var attributes: [Attribute]
    public var children: [XMLElement]
    /// Line in the source document (0 when built in memory). Not part of equality.
    public var line: Int

    public init(name: String, attributes: [Attribute] = [], children: [XMLElement] = [], line: Int = 0) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.line = line
    }

    public subscript(attribute: String) -> String? {
        get { attributes.first { $0.name == attribute }?.value }
        set {
            if let index = attributes.firstIndex(where: { $0.name == attribute }) {
                if let newValue { attributes[index].value = newValue } else { attributes.remove(at: index) }
            } else if let newValue {
                attributes.append(Attribute(name: attribute, value: newValue))
            }
        }
    }

    public func children(named name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }

    public static func == (lhs: XMLElement, rhs: XMLElement) -> Bool {
        lhs.name == rhs.name && lhs.attributes == rhs.attributes && lhs.children == rhs.children
    }
}
