/// A v2 patchset, the format `crm_diff` prints and Pacemaker's CIB managers broadcast
/// (lib/common/patchset.c): the difference between two CIB documents as a list of changes
/// addressed by simplified XPaths (`/cib/configuration/resources/primitive[@id='r1']`).
///
/// ```
/// <diff format="2" [digest="versioned digest of the target"]>
///   <version><source admin_epoch epoch num_updates/><target …/></version>
///   <change operation="delete" path="P"/>
///   <change operation="create" path="PARENT" position="N"><new-element …/></change>
///   <change operation="modify" path="P">
///     <change-list><change-attr name operation="set|unset" [value]/>…</change-list>
///     <change-result><element-with-all-its-attributes/></change-result>
///   </change>
///   <change operation="move" path="P" position="N"/>
/// </diff>
/// ```
/// `make` computes one the way Pacemaker 2.1.5 does (PatchsetMake.swift), `apply` applies one
/// the way Pacemaker does (PatchsetApply.swift), with its version check and digest check.
public struct Patchset: Equatable, Sendable {
    public struct AttributeChange: Equatable, Sendable {
        public var name: String
        /// Nil: the attribute is removed (`operation="unset"`).
        public var value: String?
        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    public enum Change: Equatable, Sendable {
        /// `element` becomes the child at `position` of the element at `parentPath`.
        case create(parentPath: String, position: Int, element: XMLElement)
        /// The element at `path` is removed (with its subtree). `position` is only used by
        /// Pacemaker for comments.
        case delete(path: String, position: Int?)
        /// The element at `path` gets exactly the attributes of `result` (`attributes` lists
        /// what changed, for readers; applying uses `result`).
        case modify(path: String, attributes: [AttributeChange], result: XMLElement)
        /// The element at `path` moves to `position` among its siblings.
        case move(path: String, position: Int)

        public var operation: String {
            switch self {
            case .create: "create"
            case .delete: "delete"
            case .modify: "modify"
            case .move: "move"
            }
        }

        /// The path the change names (for a create: the parent's).
        public var path: String {
            switch self {
            case .create(let path, _, _), .delete(let path, _), .modify(let path, _, _), .move(let path, _): path
            }
        }
    }

    public struct Versions: Equatable, Sendable {
        public var source: CIBVersion
        public var target: CIBVersion
        public init(source: CIBVersion, target: CIBVersion) {
            self.source = source
            self.target = target
        }
    }

    /// Nil when the patchset carries no `<version>` (`crm_diff -u`).
    public var versions: Versions?
    /// The versioned digest (`CIBDigest.compute`) of the document the patchset produces.
    public var digest: String?
    public var changes: [Change]

    /// Bounds on a patchset read from the network or a file.
    public static let changesMax = 1_000_000

    public init(versions: Versions?, digest: String?, changes: [Change]) {
        self.versions = versions
        self.digest = digest
        self.changes = changes
    }

    /// Whether applying this changes the configuration section (then epoch is bumped and
    /// num_updates reset; otherwise num_updates is bumped): Pacemaker's `is_config_change`.
    public var changesConfiguration: Bool {
        changes.contains { change in
            if case .create(let parent, _, let element) = change, parent == "/cib", element.name == "configuration" {
                return true
            }
            return change.path.hasPrefix("/cib/configuration")
        }
    }

    // MARK: XML

    /// The patchset as `crm_diff` prints it (attribute and element order included).
    public var xml: XMLElement {
        var root = XMLElement(name: "diff", attributes: [.init(name: "format", value: "2")])
        if let digest { root["digest"] = digest }
        if let versions {
            var source = XMLElement(name: "source"), target = XMLElement(name: "target")
            versions.source.write(to: &source)
            versions.target.write(to: &target)
            root.children.append(XMLElement(name: "version", children: [source, target]))
        }
        for change in changes {
            var element = XMLElement(name: "change", attributes: [.init(name: "operation", value: change.operation),
                                                                  .init(name: "path", value: change.path)])
            switch change {
            case .create(_, let position, let created):
                element["position"] = String(position)
                element.children = [created]
            case .delete(_, let position):
                if let position { element["position"] = String(position) }
            case .modify(_, let attributes, let result):
                var list = XMLElement(name: "change-list")
                for attribute in attributes {
                    var item = XMLElement(name: "change-attr", attributes: [.init(name: "name", value: attribute.name)])
                    item["operation"] = attribute.value == nil ? "unset" : "set"
                    if let value = attribute.value { item["value"] = value }
                    list.children.append(item)
                }
                element.children = [list, XMLElement(name: "change-result", children: [result])]
            case .move(_, let position):
                element["position"] = String(position)
            }
            root.children.append(element)
        }
        return root
    }

    /// The text `crm_diff` prints for this patchset.
    public func text() -> String { PacemakerXMLText.text(xml, formatted: true) }

    /// Reads a patchset document. Only format 2 is read (Pacemaker has written v2 since
    /// feature set 3.0.9, 2014); children without an `operation` are skipped, as Pacemaker
    /// does.
    public init(xml root: XMLElement) throws(PatchsetError) {
        guard root.name == "diff" else {
            throw PatchsetError(.malformed("expected <diff> as the root element, found <\(root.name)> at line \(root.line)"))
        }
        guard root["format"] == "2" else {
            throw PatchsetError(.malformed("<diff> at line \(root.line) has format \"\(root["format"] ?? "1")\": only format 2 is read"))
        }
        digest = root["digest"]
        versions = nil
        changes = []
        var number = 0
        for child in root.children {
            if child.name == "version", child["operation"] == nil {
                guard let source = child.children(named: "source").first,
                      let target = child.children(named: "target").first else {
                    throw PatchsetError(.malformed("<version> at line \(child.line) lacks <source> or <target>"))
                }
                do {
                    versions = Versions(source: try CIBVersion(of: source), target: try CIBVersion(of: target))
                } catch {
                    throw PatchsetError(.malformed("\(error)"))
                }
                continue
            }
            guard let operation = child["operation"] else { continue }
            number += 1
            guard number <= Self.changesMax else {
                throw PatchsetError(.malformed("more than \(Self.changesMax) changes"), change: number, path: nil)
            }
            guard let path = child["path"] else {
                throw PatchsetError(.malformed("<\(child.name)> at line \(child.line) lacks a path"), change: number, path: nil)
            }
            func position(required: Bool) throws(PatchsetError) -> Int? {
                guard let text = child["position"] else {
                    if required { return 0 }   // Pacemaker reads a missing position as 0
                    return nil
                }
                guard let value = Int(text) else {
                    throw PatchsetError(.malformed("position \"\(text)\" at line \(child.line) is not an integer"),
                                        change: number, path: path)
                }
                return value
            }
            switch operation {
            case "create":
                guard let created = child.children.first else {
                    throw PatchsetError(.malformed("create at line \(child.line) holds no element"), change: number, path: path)
                }
                changes.append(.create(parentPath: path, position: try position(required: true)!, element: created))
            case "delete":
                changes.append(.delete(path: path, position: try position(required: false)))
            case "move":
                changes.append(.move(path: path, position: try position(required: true)!))
            case "modify":
                guard let result = child.children(named: "change-result").first?.children.first else {
                    throw PatchsetError(.malformed("modify at line \(child.line) has no <change-result> element"),
                                        change: number, path: path)
                }
                let attributes = (child.children(named: "change-list").first?.children ?? []).map { item in
                    AttributeChange(name: item["name"] ?? "", value: item["operation"] == "unset" ? nil : (item["value"] ?? ""))
                }
                changes.append(.modify(path: path, attributes: attributes, result: result))
            default:
                throw PatchsetError(.unknownOperation(operation), change: number, path: path)
            }
        }
    }

    /// Reads a patchset from its text.
    public init(parsing text: String) throws(PatchsetError) {
        let root: XMLElement
        do { root = try XMLCodec.parse(text) } catch { throw PatchsetError(.malformed("\(error)")) }
        try self.init(xml: root)
    }
}

/// Why a patchset could not be made, read or applied: what, and which change and path.
public struct PatchsetError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The patchset document is not a v2 patchset.
        case malformed(String)
        case unknownOperation(String)
        /// The path names no element of the document.
        case noMatch
        /// The path names the document's root, which a patchset cannot delete or move.
        case rootChange
        /// The document is older than the patchset's source: it needs a full resync first
        /// (Pacemaker's `pcmk_rc_diff_resync`).
        case documentOlder(document: CIBVersion, source: CIBVersion)
        /// The document is newer than the patchset's source: the patchset is stale
        /// (Pacemaker's `pcmk_rc_old_data`).
        case documentNewer(document: CIBVersion, source: CIBVersion)
        /// Source and target versions are equal (Pacemaker refuses those as old data).
        case versionUnchanged(CIBVersion)
        /// A move did not end at its position.
        case moveMisplaced(expected: Int, actual: Int)
        /// The result's digest is not the patchset's.
        case digestMismatch(expected: String, computed: String)
        /// The two documents' roots differ in name or id (`crm_diff` compares nothing then).
        case rootsDiffer(old: String, new: String)
    }

    public var kind: Kind
    /// 1-based number of the change among the patchset's changes.
    public var change: Int?
    public var path: String?
    /// Other changes that failed too (the first failure is the one described).
    public var otherFailures: Int

    public init(_ kind: Kind, change: Int? = nil, path: String? = nil, otherFailures: Int = 0) {
        self.kind = kind
        self.change = change
        self.path = path
        self.otherFailures = otherFailures
    }

    public var description: String {
        var place = ""
        if let change { place += "change \(change)" }
        if let path { place += (place.isEmpty ? "" : " ") + "at \(path)" }
        if !place.isEmpty { place += ": " }
        let what: String
        switch kind {
        case .malformed(let message): what = "not a v2 patchset: \(message)"
        case .unknownOperation(let operation): what = "unknown operation \"\(operation)\""
        case .noMatch: what = "no element of the document matches the path"
        case .rootChange: what = "the document's root cannot be deleted or moved"
        case .documentOlder(let document, let source):
            what = "the document (\(document)) is older than the patchset's source (\(source)): a full resync is needed"
        case .documentNewer(let document, let source):
            what = "the document (\(document)) is newer than the patchset's source (\(source)): the patchset is stale"
        case .versionUnchanged(let version): what = "the patchset does not change the version (\(version))"
        case .moveMisplaced(let expected, let actual): what = "moved to position \(actual) instead of \(expected)"
        case .digestMismatch(let expected, let computed):
            what = "the result's digest is \(computed), the patchset expects \(expected)"
        case .rootsDiffer(let old, let new): what = "the documents' roots differ (\(old) vs \(new))"
        }
        return place + what + (otherFailures > 0 ? " (and \(otherFailures) more failed changes)" : "")
    }
}
