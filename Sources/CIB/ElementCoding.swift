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

/// Which of an element's attributes or children were taken: a bit per index (no allocation
/// up to 64), a flag array beyond.
struct ConsumedIndices {
    private var bits: UInt64 = 0
    private var overflow: [Bool]

    init(count: Int) {
        overflow = count > 64 ? Array(repeating: false, count: count) : []
    }

    @inline(__always) subscript(index: Int) -> Bool {
        get { overflow.isEmpty ? bits & (1 << UInt64(index)) != 0 : overflow[index] }
        set {
            if overflow.isEmpty {
                if newValue { bits |= 1 << UInt64(index) } else { bits &= ~(1 << UInt64(index)) }
            } else {
                overflow[index] = newValue
            }
        }
    }
}

/// Pulls typed values out of an element and remembers what it took, so that the rest can be
/// kept as `Extras`.
struct ElementReader {
    let element: XMLElement
    private var consumedAttributes: ConsumedIndices
    private var consumedChildren: ConsumedIndices

    init(_ element: XMLElement) {
        self.element = element
        self.consumedAttributes = ConsumedIndices(count: element.attributes.count)
        self.consumedChildren = ConsumedIndices(count: element.children.count)
    }

    func error(_ kind: CIBError.Kind) -> CIBError {
        CIBError(kind, element: element.name, id: element["id"], line: element.line)
    }

    /// The first attribute of this name; every attribute of the name counts as taken.
    mutating func optional(_ name: String) -> String? {
        var value: String?
        for index in element.attributes.indices where element.attributes[index].name == name {
            if value == nil { value = element.attributes[index].value }
            consumedAttributes[index] = true
        }
        return value
    }

    mutating func required(_ name: String) throws(CIBError) -> String {
        guard let value = optional(name) else { throw error(.missingAttribute(name: name)) }
        return value
    }

    mutating func int(_ name: String) throws(CIBError) -> Int? {
        guard let text = optional(name) else { return nil }
        if let value = plainInteger(text) { return value }
        guard let value = Int(text.trimmed) else { throw error(.invalidValue(attribute: name, value: text)) }
        return value
    }

    mutating func score(_ name: String) throws(CIBError) -> Score? {
        guard let text = optional(name) else { return nil }
        if let value = plainInteger(text) { return Score(value) }
        guard let value = Score(parsing: text) else { throw error(.invalidValue(attribute: name, value: text)) }
        return value
    }

    mutating func children<T>(named names: [String],
                              _ decode: (XMLElement) throws(CIBError) -> T) throws(CIBError) -> [T] {
        var result: [T] = []
        for index in element.children.indices where !consumedChildren[index] && names.contains(element.children[index].name) {
            consumedChildren[index] = true
            result.append(try decode(element.children[index]))
        }
        return result
    }

    mutating func children<T: XMLRepresentable>(named name: String, as type: T.Type) throws(CIBError) -> [T] {
        var result: [T] = []
        // Usually all or most children are of the one kind (1000 lrm_resource in an
        // lrm_resources): reserved once instead of grown, copied and page-faulted ~10 times.
        result.reserveCapacity(element.children.count)
        for index in element.children.indices where !consumedChildren[index] && element.children[index].name == name {
            consumedChildren[index] = true
            result.append(try T(xml: element.children[index]))
        }
        return result
    }

    mutating func child<T: XMLRepresentable>(named name: String, as type: T.Type) throws(CIBError) -> T? {
        guard let index = element.children.indices.first(where: { element.children[$0].name == name && !consumedChildren[$0] })
        else { return nil }
        consumedChildren[index] = true
        return try T(xml: element.children[index])
    }

    mutating func firstChild(named names: [String]) -> XMLElement? {
        guard let index = element.children.indices.first(where: { names.contains(element.children[$0].name) && !consumedChildren[$0] })
        else { return nil }
        consumedChildren[index] = true
        return element.children[index]
    }

    var extras: Extras {
        var attributes: [XMLElement.Attribute] = []
        for index in element.attributes.indices where !consumedAttributes[index] { attributes.append(element.attributes[index]) }
        var children: [XMLElement] = []
        for index in element.children.indices where !consumedChildren[index] { children.append(element.children[index]) }
        return Extras(attributes: attributes, children: children)
    }
}

/// A decimal integer of at most 18 digits without sign or spaces: the common case, read
/// without trimming or the general parser (same value as `Int(text)`). Nil for anything else.
@inline(__always) func plainInteger(_ text: String) -> Int? {
    let utf8 = text.utf8
    guard !utf8.isEmpty, utf8.count <= 18 else { return nil }
    return utf8.withContiguousStorageIfAvailable { bytes -> Int? in
        var value = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    } ?? nil
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
