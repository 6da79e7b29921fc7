import CIB

/// Random edits of a CIB document, for differential tests of patchsets: the kinds of change
/// a live cluster makes (resources, constraints, attributes and status entries added, removed
/// or modified; children reordered; versions bumped), applied anywhere in the tree.
/// New elements get fresh ids, and elements are only copied with a new id, so siblings never
/// share a name without an id (Pacemaker's diff reports spurious moves for those).
public struct CIBMutator: Sendable {
    /// Edits per mutated document.
    public var editsRange: ClosedRange<Int>

    public init(editsRange: ClosedRange<Int> = 1...6) {
        precondition(editsRange.lowerBound >= 0 && editsRange.upperBound <= 1000, "CIBMutator: edits per document within 0...1000")
        self.editsRange = editsRange
    }

    public func mutate<R: RandomNumberGenerator>(_ root: XMLElement, using random: inout R) -> XMLElement {
        var document = root
        var fresh = 0
        for _ in 0..<Int.random(in: editsRange, using: &random) {
            Self.edit(&document, fresh: &fresh, using: &random)
        }
        return document
    }

    /// Index paths of every element (the root is []).
    static func paths(_ element: XMLElement, prefix: [Int] = [], into paths: inout [[Int]]) {
        paths.append(prefix)
        for index in element.children.indices {
            Self.paths(element.children[index], prefix: prefix + [index], into: &paths)
        }
    }

    static func withElement<T>(_ root: inout XMLElement, at path: ArraySlice<Int>, _ body: (inout XMLElement) -> T) -> T {
        guard let first = path.first else { return body(&root) }
        return withElement(&root.children[first], at: path.dropFirst(), body)
    }

    static func edit<R: RandomNumberGenerator>(_ root: inout XMLElement, fresh: inout Int, using random: inout R) {
        var all = [[Int]]()
        paths(root, into: &all)
        let path = all.randomElement(using: &random)!
        let structural: Set<String> = ["cib", "configuration", "status", "crm_config", "nodes", "resources", "constraints"]
        fresh += 1
        let freshID = "mut-\(fresh)"
        switch Int.random(in: 0..<9, using: &random) {
        case 0:   // version bump, as a write does
            let name = ["epoch", "num_updates", "admin_epoch"].randomElement(using: &random)!
            root[name] = String((Int(root[name] ?? "0") ?? 0) + 1)
        case 1, 2:   // modify an attribute value (versions stay numbers: case 0 changes them)
            withElement(&root, at: path[...]) { element in
                let candidates = element.attributes.indices.filter {
                    element.attributes[$0].name != "id" && !(path.isEmpty && CIBVersion.attributeNames.contains(element.attributes[$0].name))
                }
                guard let index = candidates.randomElement(using: &random) else { return }
                element.attributes[index].value += "-\(freshID)"
            }
        case 3:   // add an attribute
            withElement(&root, at: path[...]) { element in
                element["mut-attr-\(fresh)"] = ["x", "a b", "<&>'\"", "tab\tnewline\n", "ünïcode <"].randomElement(using: &random)!
            }
        case 4:   // remove an attribute (ids stay)
            withElement(&root, at: path[...]) { element in
                let candidates = element.attributes.indices.filter { element.attributes[$0].name != "id" }
                guard let index = candidates.randomElement(using: &random) else { return }
                element.attributes.remove(at: index)
            }
        case 5:   // delete an element
            guard let last = path.last else { return }
            let doomed = withElement(&root, at: path[...]) { $0.name }
            guard !structural.contains(doomed) else { return }
            withElement(&root, at: path.dropLast()) { parent in _ = parent.children.remove(at: last) }
        case 6:   // add a new element (a copy of one with an id, given a fresh id, or a new one)
            withElement(&root, at: path[...]) { parent in
                var child: XMLElement
                if let model = parent.children.filter({ $0["id"] != nil }).randomElement(using: &random) {
                    child = model
                    child["id"] = freshID
                } else {
                    child = XMLElement(name: "nvpair", attributes: [.init(name: "id", value: freshID),
                                                                   .init(name: "name", value: "mut"), .init(name: "value", value: "1")])
                }
                parent.children.insert(child, at: Int.random(in: 0...parent.children.count, using: &random))
            }
        case 7:   // move a child elsewhere among its siblings
            withElement(&root, at: path[...]) { parent in
                guard parent.children.count >= 2 else { return }
                let from = Int.random(in: 0..<parent.children.count, using: &random)
                let child = parent.children.remove(at: from)
                parent.children.insert(child, at: Int.random(in: 0...parent.children.count, using: &random))
            }
        default:   // a status-like entry: a new element under a leaf's parent, nested
            withElement(&root, at: path[...]) { parent in
                let entry = XMLElement(name: "lrm_rsc_op", attributes: [
                    .init(name: "id", value: freshID), .init(name: "operation", value: "monitor"),
                    .init(name: "call-id", value: String(fresh)), .init(name: "rc-code", value: "0"),
                ])
                parent.children.append(XMLElement(name: "lrm_resource", attributes: [.init(name: "id", value: freshID + "-rsc")],
                                                  children: [entry]))
            }
        }
    }
}
