import CIB

/// A CIB document being edited by one admin command, as the stock tools edit a CIB file
/// (`CIB_file=F`): every write is one CIB operation; a write that changes the configuration
/// raises epoch (num_updates back to 0), one that changes only the status raises num_updates,
/// and a write that changes nothing leaves the version alone (the file backend's rule). Pure.
public struct CIBDocument: Sendable, Equatable {
    public private(set) var root: XMLElement
    /// Writes that changed something, for the caller's checks.
    public private(set) var changedWrites = 0

    /// Limits on what an edit walks (STYLE: limits on everything).
    public static let maximumDepth = 64

    public init(root: XMLElement) {
        precondition(root.name == "cib", "CIBDocument: the root is <cib>, not <\(root.name)>")
        self.root = root
    }

    public enum Section: Sendable { case configuration, status }

    /// One write: `body` edits the section's element (made when missing); the version rises
    /// when the section changed.
    public mutating func write(_ section: Section, _ body: (inout XMLElement) -> Void) {
        let name = section == .configuration ? "configuration" : "status"
        let index = root.children.firstIndex { $0.name == name } ?? {
            root.children.append(XMLElement(name: name))
            return root.children.count - 1
        }()
        let before = root.children[index]
        body(&root.children[index])
        guard root.children[index] != before else { return }
        let version = (try? CIBVersion(of: root)) ?? CIBVersion()
        let next = version.bumped(by: section == .configuration ? .configuration : .status)
        next.write(to: &root)
        changedWrites += 1
        precondition((try? CIBVersion(of: root)) == next, "write: the CIB carries the raised version")
    }

    /// The configuration's child `name` (e.g. constraints, resources), read-only.
    public func configurationChild(_ name: String) -> XMLElement? {
        root.children.first { $0.name == "configuration" }?.children.first { $0.name == name }
    }

    /// The status section, read-only.
    public var status: XMLElement? { root.children.first { $0.name == "status" } }
}

extension XMLElement {
    /// The child `name`, made (appended) when missing.
    mutating func child(_ name: String, _ body: (inout XMLElement) -> Void) {
        let index = children.firstIndex { $0.name == name } ?? {
            children.append(XMLElement(name: name))
            return children.count - 1
        }()
        body(&children[index])
    }

    /// The first element (depth first, this one included) whose id is `id`, by its path of child indices.
    func path(toID id: String, depth: Int = 0) -> [Int]? {
        if self["id"] == id { return [] }
        guard depth < CIBDocument.maximumDepth else { return nil }
        for (index, child) in children.enumerated() {
            if let rest = child.path(toID: id, depth: depth + 1) { return [index] + rest }
        }
        return nil
    }

    /// The element at `path` (child indices), edited in place.
    mutating func edit(at path: ArraySlice<Int>, _ body: (inout XMLElement) -> Void) {
        guard let first = path.first else { body(&self); return }
        children[first].edit(at: path.dropFirst(), body)
    }

    func element(at path: ArraySlice<Int>) -> XMLElement {
        guard let first = path.first else { return self }
        return children[first].element(at: path.dropFirst())
    }

    /// Every descendant (not this one) named `name`, in document order.
    func descendants(named name: String, depth: Int = 0) -> [XMLElement] {
        guard depth < CIBDocument.maximumDepth else { return [] }
        var found: [XMLElement] = []
        for child in children {
            if child.name == name { found.append(child) }
            found += child.descendants(named: name, depth: depth + 1)
        }
        return found
    }
}
