/// Applying a v2 patchset the way Pacemaker 2.1.5 does (lib/common/patchset.c
/// `xml_apply_patchset`, `apply_v2_patchset`):
///
/// 1. Version check (when asked): the document's version must equal the patchset's source
///    (older: a full resync is needed; newer: the patchset is stale), and the target must differ.
/// 2. In order: find each change's element by its path; a delete of a missing element is
///    skipped, any other change without a match fails. Deletes and modifies happen at once
///    (a modify replaces all attributes by the result's); creates and moves wait, a moving
///    element is parked after its last sibling.
/// 3. The waiting creates and moves, sorted by position (stable): a create is inserted before
///    the child at its position (or last), a move goes to its position.
/// 4. When the patchset carries a digest, the result's versioned digest must equal it.
///
/// Paths are resolved through an id index (`IndexedNode`): only the elements on the paths of
/// the changes are unpacked, and each unpacked element indexes its children by name and id
/// once, so a change costs its path's depth, not a scan of the document.
extension Patchset {
    /// The document after the patchset; throws what failed first, naming the change and path.
    public func apply(to root: XMLElement, checkVersion: Bool = true) throws(PatchsetError) -> XMLElement {
        if checkVersion { try self.checkVersion(of: root) }
        let document = IndexedNode(document: root)
        var failures = [PatchsetError]()
        var waiting = [(change: Change, number: Int, node: IndexedNode)]()
        for (offset, change) in changes.enumerated() {
            let number = offset + 1
            let match = document.resolve(change.path)
            guard let match else {
                if case .delete = change { continue }
                failures.append(PatchsetError(.noMatch, change: number, path: change.path))
                continue
            }
            switch change {
            case .create:
                waiting.append((change, number, match))
            case .move:
                guard let parent = match.parent, parent !== document else {
                    failures.append(PatchsetError(.rootChange, change: number, path: change.path))
                    continue
                }
                parent.moveToEnd(match)
                waiting.append((change, number, match))
            case .delete:
                guard let parent = match.parent, parent !== document else {
                    failures.append(PatchsetError(.rootChange, change: number, path: change.path))
                    continue
                }
                parent.remove(match)
            case .modify(_, _, let result):
                match.attributes = result.attributes
            }
        }
        let sorted = waiting.enumerated().sorted { lhs, rhs in
            let left = lhs.element.change.sortPosition, right = rhs.element.change.sortPosition
            return left != right ? left < right : lhs.offset < rhs.offset
        }.map(\.element)
        for (change, number, match) in sorted {
            switch change {
            case .create(_, let position, let element):
                match.insert(IndexedNode(element), at: position)
            case .move(_, let position):
                guard let parent = match.parent else { continue }
                let actual = parent.move(match, to: position)
                if actual != position {
                    failures.append(PatchsetError(.moveMisplaced(expected: position, actual: actual), change: number, path: change.path))
                }
            default:
                preconditionFailure("only creates and moves wait for the second pass")
            }
        }
        if var first = failures.first {
            first.otherFailures = failures.count - 1
            throw first
        }
        let result = document.onlyChild.element
        if let digest {
            let computed = CIBDigest.compute(result)
            guard computed.lowercased() == digest.lowercased() else {
                throw PatchsetError(.digestMismatch(expected: digest, computed: computed))
            }
        }
        return result
    }

    /// Pacemaker's `xml_patch_version_check`: missing attributes of the document read as 0,
    /// missing versions in the patchset as the document's (target: num_updates + 1).
    public func checkVersion(of root: XMLElement) throws(PatchsetError) {
        let current: CIBVersion
        do { current = try CIBVersion(of: root) } catch { throw PatchsetError(.malformed("\(error)")) }
        let source = versions?.source ?? current
        let target = versions?.target ?? CIBVersion(adminEpoch: current.adminEpoch, epoch: current.epoch,
                                                    numUpdates: current.numUpdates + 1)
        let fields: [KeyPath<CIBVersion, Int>] = [\.adminEpoch, \.epoch, \.numUpdates]
        for field in fields {
            if current[keyPath: field] < source[keyPath: field] {
                throw PatchsetError(.documentOlder(document: current, source: source))
            }
            if current[keyPath: field] > source[keyPath: field] {
                throw PatchsetError(.documentNewer(document: current, source: source))
            }
        }
        guard fields.contains(where: { target[keyPath: $0] > source[keyPath: $0] }) else {
            throw PatchsetError(.versionUnchanged(target))
        }
    }
}

extension Patchset.Change {
    /// The key Pacemaker sorts waiting changes by (a missing position would be -1; ours are
    /// always present).
    var sortPosition: Int {
        switch self {
        case .create(_, let position, _), .move(_, let position): position
        case .delete(_, let position): position ?? -1
        case .modify: -1
        }
    }
}

/// A mutable view of an element tree for applying patchsets: an element is unpacked (its
/// children become nodes) only when a path goes through it or a change edits it; packed
/// subtrees stay shared with the input. Each unpacked element indexes its children by
/// name and id, rebuilt after its children change.
final class IndexedNode {
    private(set) var name: String
    var attributes: [XMLElement.Attribute]
    private let line: Int
    /// The packed children, until `unpacked` takes them over.
    private var packed: [XMLElement]
    private var unpacked: [IndexedNode]?
    private(set) weak var parent: IndexedNode?
    /// First child per name + "\0" + id, and per name; nil until needed or after a change.
    private var index: (byNameAndID: [String: Int], byName: [String: Int])?

    init(_ element: XMLElement) {
        name = element.name
        attributes = element.attributes
        line = element.line
        packed = element.children
    }

    /// The document node above `root` (Pacemaker's paths start at the document).
    convenience init(document root: XMLElement) {
        self.init(XMLElement(name: "#document", children: [root]))
    }

    var onlyChild: IndexedNode {
        let children = self.children
        precondition(children.count == 1, "a document holds exactly one root element")
        return children[0]
    }

    var children: [IndexedNode] {
        if let unpacked { return unpacked }
        let nodes = packed.map { IndexedNode($0) }
        for node in nodes { node.parent = self }
        unpacked = nodes
        packed = []
        return nodes
    }

    /// The element again (packed subtrees are returned as they came in).
    var element: XMLElement {
        guard let unpacked else { return XMLElement(name: name, attributes: attributes, children: packed, line: line) }
        return XMLElement(name: name, attributes: attributes, children: unpacked.map(\.element), line: line)
    }

    /// The element a patchset path names, from this (document) node: `/tag[@id='x']/tag…`.
    func resolve(_ path: String) -> IndexedNode? {
        guard path.hasPrefix("/") else { return nil }
        var current = self
        for component in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let tag: Substring, id: Substring?
            if let bracket = component.firstIndex(of: "[") {
                tag = component[..<bracket]
                let predicate = component[bracket...]
                guard predicate.hasPrefix("[@id='"), predicate.hasSuffix("']"), predicate.count >= 8 else { return nil }
                id = predicate.dropFirst(6).dropLast(2)
            } else {
                tag = component
                id = nil
            }
            guard let next = current.firstChild(named: tag, id: id) else { return nil }
            current = next
        }
        return current === self ? nil : current
    }

    private func firstChild(named tag: Substring, id: Substring?) -> IndexedNode? {
        let children = self.children
        if children.count <= 8 {
            return children.first { child in
                child.name == tag && (id == nil || child.attributes.first(where: { $0.name == "id" })?.value == id.map(String.init))
            }
        }
        if index == nil {
            var byNameAndID = [String: Int](minimumCapacity: children.count), byName = [String: Int]()
            for position in children.indices.reversed() {
                let child = children[position]
                byName[child.name] = position
                if let childID = child.attributes.first(where: { $0.name == "id" })?.value {
                    byNameAndID[child.name + "\u{0}" + childID] = position
                }
            }
            index = (byNameAndID, byName)
        }
        let position: Int?
        if let id {
            position = index!.byNameAndID[String(tag) + "\u{0}" + String(id)]
        } else {
            position = index!.byName[String(tag)]
        }
        return position.map { children[$0] }
    }

    private func position(of child: IndexedNode) -> Int {
        guard let position = children.firstIndex(where: { $0 === child }) else {
            preconditionFailure("<\(child.name)> is not a child of <\(name)>")
        }
        return position
    }

    func remove(_ child: IndexedNode) {
        let at = position(of: child)
        unpacked!.remove(at: at)
        child.parent = nil
        index = nil
    }

    func moveToEnd(_ child: IndexedNode) {
        remove(child)
        unpacked!.append(child)
        child.parent = self
    }

    /// Before the child now at `position`, or last (Pacemaker's create).
    func insert(_ child: IndexedNode, at position: Int) {
        _ = children
        child.parent = self
        if position >= 0, position < unpacked!.count {
            unpacked!.insert(child, at: position)
        } else {
            unpacked!.append(child)
        }
        index = nil
    }

    /// Pacemaker's move: returns the position the child ends at.
    func move(_ child: IndexedNode, to position: Int) -> Int {
        let current = self.position(of: child)
        guard position != current else { return current }
        let target = position > current ? position + 1 : position
        let before: IndexedNode? = target >= 0 && target < unpacked!.count ? unpacked![target] : nil
        remove(child)
        if let before {
            unpacked!.insert(child, at: self.position(of: before))
        } else {
            unpacked!.append(child)
        }
        child.parent = self
        index = nil
        return self.position(of: child)
    }
}
