import AgentTools
import CIB
import Scheduler

/// crm_resource's CIB edits (Pacemaker 2.1.5) on a CIB document, without a cluster: what
/// `CIB_file=F crm_resource --move|--ban|--clear|--meta|--cleanup|--refresh|--restart|--fail`
/// writes into F and prints. Location constraints cli-prefer-RSC and cli-ban-RSC-on-NODE (a
/// date rule for a lifetime), meta attributes placed as crm_resource places them (group
/// members and clone children included), and the refusals and dry runs of the commands that
/// need a live cluster. Pure: the caller gives the time.
public enum ResourceEdits {
    public enum Command: Sendable, Equatable {
        /// `--move -r R [-N NODE]`: prefer NODE (without one: ban the current node).
        case move(resource: String, node: String?, lifetime: String?, promoted: Bool, force: Bool)
        /// `--ban -r R [-N NODE]`: ban NODE (without one: the current node).
        case ban(resource: String, node: String?, lifetime: String?, promoted: Bool, force: Bool)
        /// `--clear -r R [-N NODE]`: remove the cli-prefer / cli-ban constraints (on NODE).
        case clear(resource: String, node: String?, force: Bool)
        /// `--meta -r R -p NAME -v VALUE`: target-role (enable/disable), is-managed (manage/unmanage).
        case setMeta(resource: String, name: String, value: String, force: Bool)
        /// `--cleanup|--refresh -r R [-N NODE]`: on a file, a dry run (the history is the controller's).
        case cleanup(resource: String, node: String?, refresh: Bool, force: Bool)
        /// `--restart -r R`: needs a live cluster (stops and waits); on a file the stock tool fails.
        case restart(resource: String)
        /// `--fail -r R -N NODE`: asks the controller; on a file the stock tool cannot connect.
        case fail(resource: String, node: String?)
    }

    /// Exit codes crm_resource uses here (crm_exit_t).
    public enum Exit {
        public static let usage: Int32 = 64
        public static let noSuchObject: Int32 = 105
        public static let notConnected: Int32 = 102
        public static let alreadyExists: Int32 = 108
        public static let multiple: Int32 = 109
    }

    /// Runs `command` on `document` at `now` (seconds since the epoch, for a lifetime's end).
    public static func run(_ command: Command, on document: inout CIBDocument, now: Int) -> ToolOutcome {
        var run = Run(document: document, now: now)
        run.perform(command)
        document = run.document
        return run.outcome
    }

    struct Run {
        var document: CIBDocument
        let now: Int
        var outcome = ToolOutcome()

        mutating func say(_ line: String) { outcome.standardOutput += line + "\n" }
        mutating func warn(_ line: String) { outcome.standardError += line + "\n" }

        /// "crm_resource: MESSAGE" then "Error performing operation: TEXT", exit `code`.
        mutating func fail(_ message: String?, _ text: String, _ code: Int32) {
            if let message { warn("crm_resource: \(message)") }
            warn(message == nil ? "crm_resource: Error performing operation: \(text)" : "Error performing operation: \(text)")
            outcome.exitCode = code
        }

        mutating func perform(_ command: Command) {
            switch command {
            case let .move(resource, node, lifetime, promoted, force):
                guard let model = lookUp(resource, node) else { return }
                if let node { move(model, to: node, lifetime: lifetime, promoted: promoted, force: force) } else {
                    banOrMove(model, lifetime: lifetime, promoted: promoted)
                }
            case let .ban(resource, node, lifetime, promoted, _):
                guard let model = lookUp(resource, node) else { return }
                if let node {
                    guard let end = lifetimeEnd(lifetime) else { return }
                    ban(model.id, on: node, end: end, promoted: promoted)
                } else {
                    banOrMove(model, lifetime: lifetime, promoted: promoted)
                }
            case let .clear(resource, node, force):
                guard lookUp(resource, node) != nil else { return }
                clear(resource, node: node, force: force)
            case let .setMeta(resource, name, value, force):
                guard let model = lookUp(resource, nil) else { return }
                setMeta(model, name: name, value: value, force: force)
            case let .cleanup(resource, node, _, force):
                guard let model = lookUp(resource, node) else { return }
                cleanup(model, node: node, force: force)
            case .restart(let resource):
                guard lookUp(resource, nil) != nil else { return }
                // crm_resource --restart needs the live CIB to stop and wait; with CIB_file it
                // cannot read it back and fails without writing the file (exit 105).
                fail("--restart needs a running cluster: it stops the resource, waits, and starts it again; on a CIB file use disable then enable",
                     "No such object", Exit.noSuchObject)
            case let .fail(resource, node):
                guard lookUp(resource, node) != nil else { return }
                fail("Error connecting to the controller: Connection refused", "Not connected", Exit.notConnected)
            }
        }

        /// The resource (and the node when given), or the stock tool's error.
        mutating func lookUp(_ id: String, _ node: String?) -> ResourceModel? {
            guard let model = ResourceModel(id: id, in: document) else {
                fail("Resource '\(id)' not found", "No such object", Exit.noSuchObject)
                return nil
            }
            if let node, !model.nodeNames.contains(node) {
                fail("Node '\(node)' not found", "No such object", Exit.noSuchObject)
                return nil
            }
            return model
        }

        // MARK: move, ban, clear

        mutating func banOrMove(_ model: ResourceModel, lifetime: String?, promoted: Bool) {
            let active = model.activeRequiringNodes
            if active.count == 1 {
                guard let end = lifetimeEnd(lifetime) else { return }
                ban(model.id, on: active[0], end: end, promoted: promoted)
            } else if model.promotable {
                let promotedNodes = model.promotedNodes
                if promotedNodes.count == 1 {
                    guard let end = lifetimeEnd(lifetime) else { return }
                    ban(model.id, on: promotedNodes[0], end: end, promoted: promoted)
                } else {
                    warn("crm_resource: Resource '\(model.id)' not moved: active in \(active.count) locations (promoted in \(promotedNodes.count)).")
                    warn("To prevent '\(model.id)' from running on a specific location, specify a node.To prevent '\(model.id)' from being promoted at a specific location, specify a node and the --promoted option.")
                    outcome.exitCode = Exit.usage
                }
            } else {
                warn("crm_resource: Resource '\(model.id)' not moved: active in \(active.count) locations.")
                warn("To prevent '\(model.id)' from running on a specific location, specify a node.")
                outcome.exitCode = Exit.usage
            }
        }

        mutating func move(_ model: ResourceModel, to node: String, lifetime: String?, promoted requested: Bool, force: Bool) {
            var id = model.id, promoted = requested, target = model
            if promoted && !model.promotable {
                if let parent = model.promotableAncestor {
                    say("Using parent '\(parent.id)' for move instead of '\(model.id)'.")
                    id = parent.id; target = parent
                } else {
                    say("Ignoring --promoted option: \(model.id) is not promotable")
                    promoted = false
                }
            }
            // pe__find_active_requires: the first node it is active on, counted only where clean
            // when it does not need fencing (a fence device on an unclean node: current, count 0).
            var active = target.activeRequiringNodes
            var current = target.activeNodes.first
            if target.promotable {
                let promotedNodes = target.promotedNodes
                if promoted || !promotedNodes.isEmpty { active = promotedNodes; current = promotedNodes.first }
            }
            if active.count > 1 {
                guard target.isClone else {
                    fail(nil, "Resource active on multiple nodes", Exit.multiple)
                    return
                }
                current = nil
            }
            if current == node && !force {
                fail(nil, "Requested item already exists", Exit.alreadyExists)
                return
            }
            // Any earlier preference (every node), then a ban on the destination, then the
            // preference (crm_resource reads the lifetime only then: a bad one leaves the clears).
            for name in target.nodeNames { clearOn(id, node: name, bans: false, force: force) }
            clearOn(id, node: node, bans: true, force: force)
            guard let end = lifetimeEnd(lifetime) else { return }
            prefer(id, on: node, end: end, promoted: promoted)
            if force, current != node {
                if let current {
                    ban(id, on: current, end: end, promoted: promoted)
                } else if active.count > 1 {
                    let state = promoted ? "promoted" : "active"
                    say("Resource '\(id)' is currently \(state) in \(active.count) locations. One may now move to \(node)")
                    say("To prevent '\(id)' from being \(state) at a specific location, specify a node.")
                }
            }
        }

        /// The lifetime's end as the stock tool writes it ("2026-12-06 23:31:44Z"), nil (and an
        /// error) for a duration it cannot read, `.some(nil)` without a lifetime.
        mutating func lifetimeEnd(_ lifetime: String?) -> String?? {
            guard let lifetime else { return .some(nil) }
            guard let duration = ISODuration(lifetime) else {
                warn("Invalid duration specified: \(lifetime)")
                warn("Please refer to https://en.wikipedia.org/wiki/ISO_8601#Durations for examples of valid durations")
                outcome.exitCode = Exit.usage
                return nil
            }
            let end = CivilTime.text(duration.added(to: now))
            say("Migration will take effect until: \(end)")
            return .some(end)
        }

        mutating func ban(_ id: String, on node: String, end: String?, promoted: Bool) {
            let constraint = "cli-ban-\(id)-on-\(node)"
            say("WARNING: Creating rsc_location constraint '\(constraint)' with a score of -INFINITY for resource \(id) on \(node).")
            say("\tThis will prevent \(id) from \(promoted ? "being promoted" : "running") on \(node) until the constraint is removed using the clear option or by editing the CIB with an appropriate tool")
            say("\tThis will be the case even if \(node) is the last node in the cluster")
            location(constraint, id, node: node, score: "-INFINITY", end: end, promoted: promoted,
                     ids: ("\(constraint)-rule", "\(constraint)-expr", "\(constraint)-lifetime"))
        }

        mutating func prefer(_ id: String, on node: String, end: String?, promoted: Bool) {
            location("cli-prefer-\(id)", id, node: node, score: "INFINITY", end: end, promoted: promoted,
                     ids: ("cli-prefer-rule-\(id)", "cli-prefer-expr-\(id)", "cli-prefer-lifetime-end-\(id)"))
        }

        /// The short form (node, score) without a lifetime, else a rule (#uname eq NODE and now < end).
        mutating func location(_ constraint: String, _ id: String, node: String, score: String, end: String?, promoted: Bool,
                               ids: (rule: String, expression: String, lifetime: String)) {
            var location = XMLElement(name: "rsc_location", attributes: [.init(name: "id", value: constraint), .init(name: "rsc", value: id),
                                                                         .init(name: "role", value: promoted ? "Promoted" : "Started")])
            if let end {
                location.children = [Self.rule(id: ids.rule, score: score, node: node, expression: ids.expression, lifetime: ids.lifetime, end: end)]
            } else {
                location["node"] = node
                location["score"] = score
            }
            modifyConstraint(location)
        }

        static func rule(id: String, score: String, node: String, expression: String, lifetime: String, end: String) -> XMLElement {
            XMLElement(name: "rule", attributes: [.init(name: "id", value: id), .init(name: "score", value: score), .init(name: "boolean-op", value: "and")],
                       children: [
                        XMLElement(name: "expression", attributes: [.init(name: "id", value: expression), .init(name: "attribute", value: "#uname"),
                                                                    .init(name: "operation", value: "eq"), .init(name: "value", value: node),
                                                                    .init(name: "type", value: "string")]),
                        XMLElement(name: "date_expression", attributes: [.init(name: "id", value: lifetime), .init(name: "operation", value: "lt"),
                                                                         .init(name: "end", value: end)]),
                       ])
        }

        /// cibadmin --modify of <constraints><rsc_location …/></constraints>: an element of that
        /// id is updated in place (attributes set, children merged by id), else appended.
        mutating func modifyConstraint(_ location: XMLElement) {
            document.write(.configuration) { configuration in
                configuration.child("constraints") { constraints in
                    if let index = constraints.children.firstIndex(where: { $0.name == location.name && $0["id"] == location["id"] }) {
                        Self.merge(location, into: &constraints.children[index], depth: 0)
                    } else {
                        constraints.children.append(location)
                    }
                }
            }
        }

        static func merge(_ update: XMLElement, into target: inout XMLElement, depth: Int) {
            precondition(depth < CIBDocument.maximumDepth, "merge: the update is shallower than the CIB's depth limit")
            for attribute in update.attributes { target[attribute.name] = attribute.value }
            for child in update.children {
                if let index = target.children.firstIndex(where: { $0.name == child.name && $0["id"] == child["id"] }) {
                    merge(child, into: &target.children[index], depth: depth + 1)
                } else {
                    target.children.append(child)
                }
            }
        }

        /// crm_resource --clear: per node (every node without -N, in the CIB's order), the
        /// lifetime form of cli-prefer naming that node, then cli-ban-R-on-NODE and cli-prefer-R
        /// whose node is NODE (any node with --force); "Removing constraint: ID" for each removed.
        mutating func clear(_ id: String, node: String?, force: Bool) {
            let before = cliConstraintIDs()
            let model = ResourceModel(id: id, in: document)
            for name in node.map({ [$0] }) ?? model?.nodeNames ?? [] { clearOn(id, node: name, bans: true, force: force) }
            let after = Set(cliConstraintIDs())
            for removed in before where !after.contains(removed) { say("Removing constraint: \(removed)") }
        }

        func cliConstraintIDs() -> [String] {
            (document.configurationChild("constraints")?.children ?? []).filter { $0.name == "rsc_location" }.compactMap { $0["id"] }
                .filter { $0.hasPrefix("cli-") }.sorted()
        }

        mutating func clearOn(_ id: String, node: String, bans: Bool, force: Bool) {
            // The lifetime form of the preference (its rule's #uname expression names the node).
            document.write(.configuration) { configuration in
                configuration.child("constraints") { constraints in
                    constraints.children.removeAll { location in
                        location.name == "rsc_location" && location["id"] == "cli-prefer-\(id)"
                            && location.children.contains { rule in
                                rule.name == "rule" && rule["id"] == "cli-prefer-rule-\(id)"
                                    && rule.children.contains { $0.name == "expression" && $0["attribute"] == "#uname" && $0["value"] == node }
                            }
                    }
                }
            }
            document.write(.configuration) { configuration in
                configuration.child("constraints") { constraints in
                    constraints.children.removeAll { location in
                        guard location.name == "rsc_location" else { return false }
                        if bans && location["id"] == "cli-ban-\(id)-on-\(node)" { return true }
                        return location["id"] == "cli-prefer-\(id)" && (force || location["node"] == node)
                    }
                }
            }
        }

        // MARK: meta attributes

        /// crm_resource --meta -r R -p NAME -v VALUE: where the attribute already is (a clone's
        /// child, a group's members that set it too), else R's `R-meta_attributes` set.
        mutating func setMeta(_ model: ResourceModel, name: String, value: String, force: Bool) {
            if !force { reportMultiple(in: model.topID, name: name, setKind: nil) }
            var targets: [ResourceModel]
            if force {
                targets = [model]
            } else if let parent = model.parent, parent.isClone {
                if findNVPair(in: model.configuredID, setKind: "meta_attributes", name: name) == nil {
                    say("Performing update of '\(name)' on '\(parent.id)', the parent of '\(model.id)'")
                    targets = [parent]
                } else {
                    targets = [model]
                }
            } else if model.parent == nil, model.isClone, let child = model.children.first {
                if child.isPrimitive, findNVPair(in: child.configuredID, setKind: "meta_attributes", name: name) != nil {
                    say("A value for '\(name)' already exists in child '\(child.configuredID)', performing update on that instead of '\(model.id)'")
                    targets = [child]
                } else {
                    targets = [model]
                }
            } else {
                targets = matchingDescendants(model, name: name, depth: 0)
            }
            for target in targets {
                let lookup = target.configuredID
                switch findNVPair(in: lookup, setKind: "meta_attributes", name: name) {
                case .some(.unique(let pairID)):
                    setPair(id: pairID, value: value)
                    say("Set '\(lookup)' option: id=\(pairID) name=\(name) value=\(value)")
                case .some(.multiple):
                    // find_resource_attr lists the matches; the update fails with ENOTUNIQ.
                    reportMultiple(in: lookup, name: name, setKind: "meta_attributes")
                    fail(nil, "Name not unique on network", Exit.multiple)
                    return
                case nil:
                    let setID = "\(lookup)-meta_attributes", pairID = "\(lookup)-meta_attributes-\(name)"
                    addPair(to: lookup, setID: setID, pairID: pairID, name: name, value: value)
                    say("Set '\(lookup)' option: id=\(pairID) set=\(setID) name=\(name) value=\(value)")
                }
            }
        }

        /// Post order: the members that set `name` themselves, then the resource itself.
        func matchingDescendants(_ model: ResourceModel, name: String, depth: Int) -> [ResourceModel] {
            var found: [ResourceModel] = []
            for child in model.children {
                found += matchingDescendants(child, name: name, depth: depth + 1)
                if model.isClone { break }
            }
            if depth == 0 || findNVPair(in: model.configuredID, setKind: "meta_attributes", name: name) != nil { found.append(model) }
            return found
        }

        enum PairMatch: Equatable { case unique(String), multiple }

        /// `//resources//*[@id=R]/KIND//nvpair[@name=NAME]` (KIND any when nil).
        func findNVPair(in id: String, setKind: String?, name: String) -> PairMatch? {
            let pairs = pairsNamed(name, in: id, setKind: setKind)
            if pairs.count > 1 { return .multiple }
            return pairs.first.map { .unique($0["id"] ?? "") }
        }

        func pairsNamed(_ name: String, in id: String, setKind: String?) -> [XMLElement] {
            guard let resources = document.configurationChild("resources"), let path = resources.path(toID: id) else { return [] }
            let element = resources.element(at: path[...])
            if let setKind {
                return element.children.filter { $0.name == setKind }.flatMap { $0.descendants(named: "nvpair") }.filter { $0["name"] == name }
            }
            return element.descendants(named: "nvpair").filter { $0["name"] == name }
        }

        /// crm_resource's look-up on the top resource first: it lists several matches.
        mutating func reportMultiple(in id: String, name: String, setKind: String?) {
            let pairs = pairsNamed(name, in: id, setKind: setKind)
            guard pairs.count > 1 else { return }
            say("Multiple attributes match name=\(name)")
            for pair in pairs { say("  Value: \(pair["value"] ?? "(null)") \t(id=\(pair["id"] ?? "(null)"))") }
            say("")
        }

        mutating func setPair(id: String, value: String) {
            document.write(.configuration) { configuration in
                configuration.child("resources") { resources in
                    guard let path = resources.path(toID: id) else { return }
                    resources.edit(at: path[...]) { $0["value"] = value }
                }
            }
        }

        mutating func addPair(to resource: String, setID: String, pairID: String, name: String, value: String) {
            let pair = XMLElement(name: "nvpair", attributes: [.init(name: "id", value: pairID), .init(name: "name", value: name), .init(name: "value", value: value)])
            document.write(.configuration) { configuration in
                configuration.child("resources") { resources in
                    guard let path = resources.path(toID: resource) else { return }
                    resources.edit(at: path[...]) { element in
                        if let index = element.children.firstIndex(where: { $0.name == "meta_attributes" && $0["id"] == setID }) {
                            element.children[index].children.append(pair)
                        } else {
                            element.children.append(XMLElement(name: "meta_attributes", attributes: [.init(name: "id", value: setID)], children: [pair]))
                        }
                    }
                }
            }
        }

        // MARK: cleanup and refresh

        /// On a file crm_resource only says which clean-ups it would ask the controller for
        /// (standard error), then why the resource may stay stopped (standard output).
        mutating func cleanup(_ model: ResourceModel, node: String?, force: Bool) {
            let top = force ? model : model.top
            dryRun(top, node: node, depth: 0)
            let role = roleCheckValue(top.configuredID, "target-role")
            let managed = roleCheckValue(top.configuredID, "is-managed")
            if role?.lowercased() == "stopped" { say("Configuration specifies '\(top.id)' should remain stopped") }
            if top.promotable, let role, ["unpromoted", "slave"].contains(role.lowercased()) {
                say("Configuration specifies '\(top.id)' should not be promoted")
            }
            if let managed, !isTrue(managed) { say("Configuration prevents cluster from stopping or starting unmanaged '\(top.id)'") }
        }

        mutating func roleCheckValue(_ id: String, _ name: String) -> String? {
            let pairs = pairsNamed(name, in: id, setKind: nil)
            if pairs.count > 1 {
                reportMultiple(in: id, name: name, setKind: nil)
                return nil
            }
            return pairs.first?["value"]
        }

        mutating func dryRun(_ model: ResourceModel, node: String?, depth: Int) {
            guard depth < CIBDocument.maximumDepth else { return }
            if !model.children.isEmpty {
                for child in model.children { dryRun(child, node: node, depth: depth + 1) }
                return
            }
            let nodes = node.map { [$0] } ?? model.knownOnlineNodes
            for name in nodes { warn("Dry run: skipping clean-up of \(model.id) on \(name) due to CIB_file") }
        }
    }
}

/// crm_is_true.
func isTrue(_ text: String) -> Bool { ["true", "on", "yes", "y", "1"].contains(text.lowercased()) }
