import AgentTools
import CIB

/// crm_resource's configuration edits on a running cluster's CIB (baton-crmd's `cib query`):
/// the same edit as on a file, sent back as one v2 patchset whose source is the version the
/// edit read. The DC refuses a patchset whose source is older than its CIB (the edit was made
/// on a stale copy: another admin wrote in between), so a concurrent write is never lost; the
/// caller queries again and retries. Pure: the caller does the I/O and gives the time.
public enum LiveResourceEdit {
    /// What one attempt gives: the outcome to print, and the patchset to send (nil when the
    /// edit changed nothing or failed, e.g. an unknown resource).
    public struct Attempt: Sendable {
        public var outcome: ToolOutcome
        public var patch: Patchset?
    }

    /// How many times a stale edit is redone before the command gives up.
    public static let attemptsMax = 8

    /// The edit `command` on `cib` (a `<cib>` as `cib query` shows it, status included) at `now`.
    public static func attempt(_ command: ResourceEdits.Command, on cib: XMLElement, now: Int) throws(PatchsetError) -> Attempt {
        var document = CIBDocument(root: cib)
        let outcome = ResourceEdits.run(command, on: &document, now: now)
        guard outcome.exitCode == 0, document.root != cib else { return Attempt(outcome: outcome, patch: nil) }
        return Attempt(outcome: outcome, patch: try patch(from: cib, to: document.root))
    }

    /// The patchset from `old` to `new` (configuration changes only, versions set, no digest:
    /// baton-crmd's replica keeps the status section apart, so a digest could not match).
    static func patch(from old: XMLElement, to new: XMLElement) throws(PatchsetError) -> Patchset? {
        guard var made = try Patchset.make(from: old, to: new, asCIB: true, withDigest: false) else { return nil }
        made.digest = nil
        return made
    }

    /// Whether baton-crmd's refusal says the patchset's source was older than the CIB.
    public static func isStale(_ error: String) -> Bool { error.contains("the patchset is stale") }

    /// The nodes `resource` is active on by the CIB's status (nil: no such resource).
    public static func activeNodes(_ resource: String, in cib: XMLElement) -> [String]? {
        ResourceModel(id: resource, in: CIBDocument(root: cib))?.activeNodes
    }

    // MARK: cleanup and refresh

    /// The primitives crm_resource --cleanup|--refresh cleans for `resource`: those under its
    /// top resource (under itself with `force`), by configured id; nil when there is none.
    public static func primitives(_ resource: String, force: Bool, in cib: XMLElement) -> [String]? {
        guard let model = ResourceModel(id: resource, in: CIBDocument(root: cib)) else { return nil }
        var found: [String] = []
        func walk(_ model: ResourceModel, depth: Int) {
            guard depth < CIBDocument.maximumDepth else { return }
            if model.children.isEmpty {
                if !found.contains(model.configuredID) { found.append(model.configuredID) }
                return
            }
            for child in model.children { walk(child, depth: depth + 1) }
        }
        walk(force ? model : model.top, depth: 0)
        return found
    }

    /// crm_resource's --interval (`10s`, `2000ms`, `1min`, `1h`; a bare number is seconds) in
    /// milliseconds; nil when unreadable.
    public static func intervalMilliseconds(_ text: String) -> UInt64? {
        let digits = text.prefix { $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let value = UInt64(digits) else { return nil }
        let factors: [String: UInt64] = ["": 1000, "ms": 1, "msec": 1, "s": 1000, "sec": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "hr": 3_600_000]
        guard let factor = factors[String(text.dropFirst(digits.count))] else { return nil }
        return value * factor
    }

    // MARK: fail (crm_resource --fail)

    /// The primitive crm_resource --fail reports a failure of on `node`: its id (a clone
    /// instance's configured id), class, provider ("" for none) and type; else the outcome to print.
    public struct FailTarget: Sendable, Equatable {
        public var resource: String, resourceClass: String, provider: String, type: String
    }

    public static func failTarget(_ resource: String, node: String?, in cib: XMLElement) -> (target: FailTarget?, refusal: ToolOutcome?) {
        var run = ResourceEdits.Run(document: CIBDocument(root: cib), now: 0)
        guard let node else {
            return (nil, ToolOutcome(standardError: "crm_resource: --fail needs the node (-N NODE)\n", exitCode: ResourceEdits.Exit.usage))
        }
        guard let model = run.lookUp(resource, node) else { return (nil, run.outcome) }
        guard model.isPrimitive, let resources = run.document.configurationChild("resources"),
              let path = resources.path(toID: model.configuredID) else {
            return (nil, ToolOutcome(standardError: "crm_resource: '\(resource)' is not a primitive: name one of its resources\n", exitCode: ResourceEdits.Exit.usage))
        }
        let element = resources.element(at: path[...])
        guard element.name == "primitive", let resourceClass = element["class"], let type = element["type"] else {
            return (nil, ToolOutcome(standardError: "crm_resource: '\(resource)' names no agent (class and type) of its own\n", exitCode: ResourceEdits.Exit.usage))
        }
        return (FailTarget(resource: model.configuredID, resourceClass: resourceClass, provider: element["provider"] ?? "", type: type), nil)
    }

    // MARK: restart (crm_resource --restart)

    /// The resource's own target-role meta attribute (nil when it sets none), as restart
    /// reads it before stopping the resource, to put it back after.
    public static func targetRole(_ resource: String, in cib: XMLElement) -> String? {
        guard let model = ResourceModel(id: resource, in: CIBDocument(root: cib)) else { return nil }
        let run = ResourceEdits.Run(document: CIBDocument(root: cib), now: 0)
        let pairs = run.pairsNamed("target-role", in: model.configuredID, setKind: "meta_attributes")
        return pairs.first?["value"]
    }

    /// Restart's last step: target-role back to `original`, or removed when there was none
    /// (crm_resource --restart's "Deleted 'R' option: id=… name=target-role").
    public static func restoreTargetRole(_ resource: String, original: String?, on cib: XMLElement) throws(PatchsetError) -> Attempt {
        if let original {
            return try attempt(.setMeta(resource: resource, name: "target-role", value: original, force: true), on: cib, now: 0)
        }
        var outcome = ToolOutcome()
        guard let model = ResourceModel(id: resource, in: CIBDocument(root: cib)) else {
            outcome.standardError = "crm_resource: Resource '\(resource)' not found\nError performing operation: No such object\n"
            outcome.exitCode = ResourceEdits.Exit.noSuchObject
            return Attempt(outcome: outcome, patch: nil)
        }
        var document = CIBDocument(root: cib)
        var deleted: [String] = []
        document.write(.configuration) { configuration in
            configuration.child("resources") { resources in
                guard let path = resources.path(toID: model.configuredID) else { return }
                resources.edit(at: path[...]) { element in
                    for index in element.children.indices where element.children[index].name == "meta_attributes" {
                        element.children[index].children.removeAll { pair in
                            guard pair.name == "nvpair", pair["name"] == "target-role" else { return false }
                            deleted.append(pair["id"] ?? "")
                            return true
                        }
                    }
                }
            }
        }
        for id in deleted { outcome.standardOutput += "Deleted '\(model.configuredID)' option: id=\(id) name=target-role\n" }
        guard document.root != cib else { return Attempt(outcome: outcome, patch: nil) }
        return Attempt(outcome: outcome, patch: try patch(from: cib, to: document.root))
    }
}
