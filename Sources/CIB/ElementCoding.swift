/// What the typed model does not understand in an element: written back unchanged.
public struct Extras: Equatable, Sendable {
    public var attributes: [XMLElement.Attribute]
    public var children: [XMLElement]
    public init(attributes: [XMLElement.Attribute] = [], children: [XMLElement] = []) {
        self.attributes = attributes
        self.children = children
    }
    public static let none = Extras()
}

/// A part of the CIB that has a typed model and reads from / writes to one XML element.
public protocol XMLRepresentable: Equatable, Sendable {
    init(xml: XMLElement) throws(CIBError)
    var xml: XMLElement { get }
}

/// Pulls typed values out of an element and remembers what it took, so that the rest can be
/// kept as `Extras`.
struct ElementReader {
    let element: XMLElement
    private var consumedAttributes: Set<String> = []
    private var consumedChildren: [Bool]

    init(_ element: XMLElement) {
        self.element = element
        self.consumedChildren = Array(repeating: false, count: element.children.count)
    }

    func error(_ kind: CIBError.Kind) -> CIBError {
        CIBError(kind, element: element.name, id: element["id"], line: element.line)
    }

    mutating func optional(_ name: String) -> String? {
        consumedAttributes.insert(name)
        return element[name]
    }

    mutating func required(_ name: String) throws(CIBError) -> String {
        guard let value = optional(name) else { throw error(.missingAttribute(name: name)) }
        return value
    }

    mutating func int(_ name: String) throws(CIBError) -> Int? {
        guard let text = optional(name) else { return nil }
        guard let value = Int(text.trimmed) else { throw error(.invalidValue(attribute: name, value: text)) }
        return value
    }

    mutating func score(_ name: String) throws(CIBError) -> Score? {
        guard let text = optional(name) else { return nil }
        guard let value = Score(parsing: text) else { throw error(.invalidValue(attribute: name, value: text)) }
        return value
    }

    mutating func children<T>(named names: Set<String>,
                              _ decode: (XMLElement) throws(CIBError) -> T) throws(CIBError) -> [T] {
        var result: [T] = []
        for (index, child) in element.children.enumerated() where names.contains(child.name) && !consumedChildren[index] {
            consumedChildren[index] = true
            result.append(try decode(child))
        }
        return result
    }

    mutating func children<T: XMLRepresentable>(named name: String, as type: T.Type) throws(CIBError) -> [T] {
        try children(named: [name]) { (child: XMLElement) throws(CIBError) -> T in try T(xml: child) }
    }

    mutating func child<T: XMLRepresentable>(named name: String, as type: T.Type) throws(CIBError) -> T? {
        guard let index = element.children.indices.first(where: { element.children[$0].name == name && !consumedChildren[$0] })
        else { return nil }
        consumedChildren[index] = true
        return try T(xml: element.children[index])
    }

    mutating func firstChild(named names: Set<String>) -> XMLElement? {
        guard let index = element.children.indices.first(where: { names.contains(element.children[$0].name) && !consumedChildren[$0] })
        else { return nil }
        consumedChildren[index] = true
        return element.children[index]
    }

    var extras: Extras {
        Extras(attributes: element.attributes.filter { !consumedAttributes.contains($0.name) },
               children: element.children.enumerated().filter { !consumedChildren[$0.offset] }.map(\.element))
    }
}

/// Builds an element from typed values; `nil` values are left out.
struct ElementBuilder {
    private(set) var element: XMLElement
    init(_ name: String) { element = XMLElement(name: name) }

    mutating func set(_ name: String, _ value: String?) {
        guard let value else { return }
        element.attributes.append(.init(name: name, value: value))
    }
    mutating func set(_ name: String, _ value: Int?) { set(name, value.map(String.init)) }
    mutating func set(_ name: String, _ value: Score?) { set(name, value?.description) }
    mutating func add(_ child: some XMLRepresentable) { element.children.append(child.xml) }
    mutating func add(_ children: [some XMLRepresentable]) { element.children += children.map(\.xml) }
    mutating func add(_ child: (some XMLRepresentable)?) { if let child { add(child) } }
    mutating func addRaw(_ child: XMLElement) { element.children.append(child) }

    func finish(_ extras: Extras) -> XMLElement {
        var result = element
        result.attributes += extras.attributes
        result.children += extras.children
        return result
    }
}

extension String {
    public var trimmed: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
