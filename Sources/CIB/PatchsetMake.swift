/// Making a v2 patchset the way Pacemaker 2.1.5 does (lib/common/xml.c `mark_xml_changes`,
/// lib/common/patchset.c `xml_create_patchset_v2`), so that `baton crm cib diff` prints what
/// `crm_diff` prints:
///
/// 1. Mark (pre-order over matched pairs): an old child matches the first new sibling with its
///    name and, when it has an id, its id. Unmatched old children are deleted (recorded in the
///    order met); matched pairs are compared recursively, once per new element.
/// 2. Attributes: changed or new ones are "set" (in the new element's order), removed ones
///    "unset" after them; without `asCIB`, an equal attribute at another position (not
///    counting those already marked) is "set" too (Pacemaker's lazy mode skips that).
/// 3. Children: a new child without a match is created; a matched one whose position among
///    the siblings not yet marked differs is moved (the side with the higher position is then
///    left out of later counts).
/// 4. Emit: deletes first, then a walk of the new document: modify (if attributes changed) or
///    create (whole subtree, no further walk), the children, then the move.
///
/// Deviation, on purpose: equal subtrees are skipped without comparing (what makes a patch of
/// a 60 MB CIB cheap). Pacemaker compares them, and reports a spurious move when siblings
/// share a name and have no id (`<x/><x/>`); CIBs give such elements ids.
extension Patchset {
    /// The patchset that turns `old` into `new`; nil when they do not differ.
    /// `asCIB` (`crm_diff -c`, and what the CIB managers use): attribute reordering is not a
    /// change, and the result's versioned digest is included unless `withDigest` is false (a
    /// large CIB's writer leaves it out of most patchsets: it costs a pass over the document).
    public static func make(from old: XMLElement, to new: XMLElement, asCIB: Bool = true) throws(PatchsetError) -> Patchset? {
        try make(from: old, to: new, asCIB: asCIB, withDigest: true)
    }

    public static func make(from old: XMLElement, to new: XMLElement, asCIB: Bool, withDigest: Bool) throws(PatchsetError) -> Patchset? {
        guard old.name == new.name, old["id"]?.lowercased() == new["id"]?.lowercased() else {
            throw PatchsetError(.rootsDiffer(old: "<\(old.name)\(old["id"].map { " id=\($0)" } ?? "")>",
                                             new: "<\(new.name)\(new["id"].map { " id=\($0)" } ?? "")>"))
        }
        var differ = Differ(lazy: asCIB)
        // A mark is nil when nothing is left to emit at or under an element; deletions are
        // recorded apart (they come first), so an empty mark may still hide some.
        let mark = differ.mark(old: old, new: new, newPath: "/" + new.name)
        var changes = differ.deletes.map { Change.delete(path: $0, position: nil) }
        if let mark { emit(new, path: "/" + new.name, mark: mark, into: &changes) }
        guard !changes.isEmpty else { return nil }
        let versions = Versions(source: try versionForPatch(old, removedFrom: nil), target: try versionForPatch(new, removedFrom: old))
        var digest: String?
        if asCIB && withDigest {
            digest = CIBDigest.compute(new, featureSet: old["crm_feature_set"])
        }
        return Patchset(versions: versions, digest: digest, changes: changes)
    }

    /// Pacemaker writes "1" for a missing version attribute. An attribute the target lost
    /// still reads as the source's: Pacemaker's change tracking keeps a removed attribute in
    /// place, marked, until the patchset is made. A value that is not a number is refused
    /// (crm_diff would copy it into `<version>`, where no CIB manager could read it).
    private static func versionForPatch(_ root: XMLElement, removedFrom source: XMLElement?) throws(PatchsetError) -> CIBVersion {
        var fields = [Int]()
        for name in CIBVersion.attributeNames {
            guard let text = root[name] ?? source?[name] else { fields.append(1); continue }
            guard let value = Int(text), value >= 0 else {
                throw PatchsetError(.malformed("<\(root.name)> has \(name)=\"\(text)\", not a version number"))
            }
            fields.append(value)
        }
        return CIBVersion(adminEpoch: max(0, fields[0]), epoch: max(0, fields[1]), numUpdates: max(0, fields[2]))
    }

    /// The path Pacemaker gives an element under `parentPath` (`pcmk__element_xpath`).
    static func path(_ parentPath: String, _ element: XMLElement) -> String {
        if let id = element["id"] { return "\(parentPath)/\(element.name)[@id='\(id)']" }
        return "\(parentPath)/\(element.name)"
    }

    private static func emit(_ new: XMLElement, path: String, mark: Mark, into changes: inout [Change]) {
        if !mark.attributeChanges.isEmpty {
            changes.append(.modify(path: path, attributes: mark.attributeChanges,
                                   result: XMLElement(name: new.name, attributes: new.attributes)))
        }
        let indices = Set(mark.children.keys).union(mark.created).union(mark.moved).sorted()
        for index in indices {
            let child = new.children[index]
            if mark.created.contains(index) {
                changes.append(.create(parentPath: path, position: index, element: child))
                continue
            }
            let childPath = Self.path(path, child)
            if let childMark = mark.children[index] {
                emit(child, path: childPath, mark: childMark, into: &changes)
            }
            if mark.moved.contains(index) {
                changes.append(.move(path: childPath, position: index))
            }
        }
    }

    /// What changed at one element of the new document; sparse (children by index).
    struct Mark {
        var attributeChanges: [AttributeChange] = []
        var children: [Int: Mark] = [:]
        var created: Set<Int> = []
        var moved: Set<Int> = []
        var isEmpty: Bool { attributeChanges.isEmpty && children.isEmpty && created.isEmpty && moved.isEmpty }
    }

    struct Differ {
        let lazy: Bool
        var deletes: [String] = []

        /// Nil when nothing is to be emitted at or under this pair (its deletions, if any, are
        /// in `deletes`).
        mutating func mark(old: XMLElement, new: XMLElement, newPath: String) -> Mark? {
            if old == new { return nil }
            var result = Mark()
            result.attributeChanges = attributeChanges(old: old.attributes, new: new.attributes)
            let newKeys = SiblingKeys(new.children), oldKeys = SiblingKeys(old.children)
            var processed = Set<Int>()
            var oldSkip = SkipCounts(count: old.children.count)
            for oldChild in old.children.indices {
                let child = old.children[oldChild]
                if let newChild = newKeys.firstMatch(for: child) {
                    guard processed.insert(newChild).inserted else { continue }
                    let childPath = Patchset.path(newPath, new.children[newChild])
                    if let childMark = mark(old: child, new: new.children[newChild], newPath: childPath) {
                        result.children[newChild] = childMark
                    }
                } else {
                    deletes.append(Patchset.path(newPath, child))
                    oldSkip.skip(oldChild)
                }
            }
            var newPosition = 0   // new siblings before this one that are not skipped
            for newChild in new.children.indices {
                var skipped = false
                if let oldChild = oldKeys.firstMatch(for: new.children[newChild]) {
                    let oldPosition = oldSkip.unskippedBefore(oldChild)
                    if oldPosition != newPosition {
                        result.moved.insert(newChild)
                        if oldPosition > newPosition { oldSkip.skip(oldChild) } else { skipped = true }
                    }
                } else {
                    result.created.insert(newChild)
                    result.children[newChild] = nil
                    skipped = true
                }
                if !skipped { newPosition += 1 }
            }
            return result.isEmpty ? nil : result
        }

        func attributeChanges(old: [XMLElement.Attribute], new: [XMLElement.Attribute]) -> [AttributeChange] {
            if old == new { return [] }
            var created = [Bool](repeating: true, count: new.count)
            var dirty = [Bool](repeating: false, count: new.count)
            var newSkip = [Bool](repeating: false, count: new.count)
            var oldSkip = [Bool](repeating: false, count: old.count)
            var removed = [String]()
            for oldIndex in old.indices {
                let attribute = old[oldIndex]
                guard let newIndex = new.firstIndex(where: { $0.name == attribute.name }) else {
                    removed.append(attribute.name)
                    continue
                }
                created[newIndex] = false
                if new[newIndex].value != attribute.value {
                    dirty[newIndex] = true
                } else if !lazy {
                    let oldPosition = oldSkip[..<oldIndex].lazy.filter { !$0 }.count
                    let newPosition = newSkip[..<newIndex].lazy.filter { !$0 }.count
                    if oldPosition != newPosition {
                        dirty[newIndex] = true
                        if oldPosition > newPosition { oldSkip[oldIndex] = true } else { newSkip[newIndex] = true }
                    }
                }
            }
            var changes = [AttributeChange]()
            for index in new.indices where created[index] || dirty[index] {
                changes.append(AttributeChange(name: new[index].name, value: new[index].value))
            }
            for name in removed { changes.append(AttributeChange(name: name, value: nil)) }
            return changes
        }
    }

    /// Pacemaker's sibling match (`pcmk__xml_match`): the first sibling with the needle's name
    /// and, when the needle has an id, that id. Indexed: one pass over the siblings.
    struct SiblingKeys {
        private var byNameAndID: [String: Int] = [:]
        private var byName: [String: Int] = [:]

        init(_ siblings: [XMLElement]) {
            byNameAndID.reserveCapacity(siblings.count)
            for index in siblings.indices.reversed() {
                let sibling = siblings[index]
                byName[sibling.name] = index
                if let id = sibling["id"] { byNameAndID[sibling.name + "\u{0}" + id] = index }
            }
        }

        func firstMatch(for needle: XMLElement) -> Int? {
            if let id = needle["id"] { return byNameAndID[needle.name + "\u{0}" + id] }
            return byName[needle.name]
        }
    }

    /// Positions among old siblings not counting skipped ones: a Fenwick tree of skip marks
    /// (CIBs have thousands of siblings under `<resources>` and `<lrm_resources>`).
    struct SkipCounts {
        private var tree: [Int]
        private var skipped: [Bool]

        init(count: Int) {
            tree = [Int](repeating: 0, count: count + 1)
            skipped = [Bool](repeating: false, count: count)
        }

        mutating func skip(_ index: Int) {
            guard !skipped[index] else { return }
            skipped[index] = true
            var position = index + 1
            while position < tree.count {
                tree[position] += 1
                position += position & -position
            }
        }

        /// Siblings before `index` that are not skipped.
        func unskippedBefore(_ index: Int) -> Int {
            var skippedBefore = 0
            var position = index
            while position > 0 {
                skippedBefore += tree[position]
                position -= position & -position
            }
            precondition(skippedBefore <= index, "skip counts cannot exceed the siblings counted")
            return index - skippedBefore
        }
    }
}
