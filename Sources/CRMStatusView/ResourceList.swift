import AgentTools
import Scheduler

/// "Active Resources:" / "Full List of Resources:" as Pacemaker 2.1.5 prints them
/// (pe_output.c's resource_list; native.c's pcmk__native_output_string; group.c's
/// pe__group_default; clone.c's pe__clone_default). Lines are indented two spaces per level.
struct ResourceList {
    typealias Resource = StatusSnapshot.Resource
    let status: StatusSnapshot
    let failures: [FailedOperation]
    let inactive: Bool
    let nodesByName: [String: StatusSnapshot.Node]

    init(status: StatusSnapshot, failures: [FailedOperation], inactive: Bool) {
        self.status = status
        self.failures = failures
        self.inactive = inactive
        var nodesByName: [String: StatusSnapshot.Node] = [:]
        for node in status.nodes { nodesByName[node.name] = node }
        self.nodesByName = nodesByName
    }

    func lines() -> [String] {
        var lines = [inactive ? "Full List of Resources:" : "Active Resources:"]
        var printed = false
        // Pacemaker sorts its resource list by priority (a stable sort: configuration order otherwise).
        let ordered = status.resources.enumerated().sorted {
            $0.element.priority != $1.element.priority ? $0.element.priority > $1.element.priority : $0.offset < $1.offset
        }.map(\.element)
        for resource in ordered {
            let active = isActive(resource, all: true), partially = isActive(resource, all: false)
            if resource.orphan && !active { continue }   // deleted, stopped
            if !partially && !inactive { continue }
            let own = output(resource, depth: 1, topPromotable: resource.promotable)
            if !own.isEmpty { printed = true }
            lines += own
        }
        if !printed { lines.append(inactive ? "  * No resources" : "  * No active resources") }
        return lines
    }

    // MARK: activity (native_active, group and clone active with all / any)

    func isActive(_ resource: Resource, all: Bool) -> Bool {
        if resource.kind == .primitive {
            return resource.nodes.contains { name in
                guard let node = nodesByName[name] else { return true }
                return node.unclean || node.online || !resource.managed
            }
        }
        guard !resource.children.isEmpty else { return false }
        if resource.kind == .bundle, let replicas = resource.replicas {
            let parts = replicas.flatMap { [$0.ip, $0.child, $0.container, $0.remote].compactMap { $0 } }
            return all ? parts.allSatisfy { isActive($0, all: true) } : parts.contains { isActive($0, all: false) }
        }
        return all ? resource.children.allSatisfy { isActive($0, all: true) }
                   : resource.children.contains { isActive($0, all: false) }
    }

    /// Every node a resource or its members run on, first seen first.
    func location(_ resource: Resource) -> [String] {
        if resource.kind == .primitive { return resource.nodes }
        var result: [String] = []
        for child in resource.children { for node in location(child) where !result.contains(node) { result.append(node) } }
        return result
    }

    func anyRecursive(_ resource: Resource, _ flag: (Resource) -> Bool) -> Bool {
        flag(resource) || resource.children.contains { anyRecursive($0, flag) }
    }

    // MARK: output by kind

    func output(_ resource: Resource, depth: Int, topPromotable: Bool, printableID: String? = nil) -> [String] {
        switch resource.kind {
        case .primitive:
            if resource.isInternal { return [] }
            return [indent(depth) + primitiveLine(resource, name: printableID ?? resource.id, promotable: topPromotable)]
        case .group: return group(resource, depth: depth, topPromotable: topPromotable, memberIDs: printableID != nil)
        case .clone: return clone(resource, depth: depth)
        case .bundle: return bundle(resource, depth: depth)
        }
    }

    func indent(_ depth: Int) -> String { String(repeating: "  ", count: depth) + "* " }

    /// pcmk__native_output_string with show_nodes.
    func primitiveLine(_ resource: Resource, name: String, promotable: Bool) -> String {
        var text = "\(name)\t(\(resource.agent ?? "unknown:unknown")):\t"
        if resource.orphan { text += " ORPHANED" }
        if resource.failed {
            text += " FAILED"
            if resource.role == "Promoted" { text += " Promoted" }
        } else {
            text += " \(Self.pendingState(resource.pendingTask) ?? resource.role)"
        }
        let multiple = resource.nodes.count > 1
        var node: StatusSnapshot.Node?
        if !multiple, let name = currentNode(resource) ?? resource.pendingNode { node = nodesByName[name] }
        if let node { text += " \(node.name)" }
        if resource.role == "Stopped", let probe = failedProbe(resource.id, baseID: baseID(resource), on: node?.name) {
            text += " (\(FailedOperation.exitText(probe.rc))) "
        }
        var flags: [String] = []
        if let node, !node.online, node.unclean { flags.append("UNCLEAN") }
        if resource.pendingTask == "monitor" { flags.append("Monitoring") }
        switch resource.targetRole?.lowercased() {
        case "stopped": flags.append("disabled")
        case "unpromoted", "slave" where promotable: flags.append("target-role:\(resource.targetRole ?? "")")
        default: break
        }
        if resource.blocked { flags.append("blocked") } else if !resource.managed { flags.append("unmanaged") }
        if resource.failureIgnored { flags.append("failure ignored") }
        if !flags.isEmpty { text += " (" + flags.joined(separator: ", ") + ")" }
        if multiple {
            if let description = resource.description { text += " \(description)" }
            text += " [ " + resource.nodes.joined(separator: " ") + " ]"
        }
        return text
    }

    /// native_pending_state: the word shown instead of the role while an action is in flight.
    static func pendingState(_ task: String?) -> String? {
        switch task {
        case "start": return "Starting"
        case "stop": return "Stopping"
        case "migrate_to", "migrate_from": return "Migrating"
        case "promote": return "Promoting"
        case "demote": return "Demoting"
        default: return nil
        }
    }

    /// pe__current_node: the first clean node it runs on, else the first.
    func currentNode(_ resource: Resource) -> String? {
        resource.nodes.first { nodesByName[$0].map { $0.online && !$0.unclean } ?? false } ?? resource.nodes.first
    }

    func baseID(_ resource: Resource) -> String {
        guard let colon = resource.id.lastIndex(of: ":"), Int(resource.id[resource.id.index(after: colon)...]) != nil else { return resource.id }
        return String(resource.id[..<colon])
    }

    /// pe__failed_probe_for_rsc: a masked probe failure of this resource (on that node).
    func failedProbe(_ id: String, baseID: String, on node: String?) -> FailedOperation? {
        failures.first { $0.isMaskedProbe && ($0.resource == id || $0.resource == baseID) && (node == nil || $0.node == node) }
    }

    /// pe__group_default (not brief).
    func group(_ resource: Resource, depth: Int, topPromotable: Bool, memberIDs: Bool) -> [String] {
        let active = isActive(resource, all: true), partially = isActive(resource, all: false)
        let inactiveCount = !active && partially ? resource.children.filter { !isActive($0, all: true) }.count : 0
        var attributes: [String] = []
        if inactiveCount > 0 && !inactive { attributes.append("\(inactiveCount) member\(inactiveCount == 1 ? "" : "s") inactive") }
        if !resource.managed { attributes.append("unmanaged") }
        if CrmMonView.isDisabled(resource, promotable: topPromotable) { attributes.append("disabled") }
        var lines: [String] = []
        for child in resource.children where isActive(child, all: false) || inactive {
            if lines.isEmpty {
                lines.append(indent(depth) + "Resource Group: \(resource.id)" + (attributes.isEmpty ? "" : " (\(attributes.joined(separator: ", ")))") + ":")
            }
            // Members of an anonymous clone's instance print without the instance number.
            lines += output(child, depth: depth + 1, topPromotable: topPromotable, printableID: memberIDs ? baseID(child) : nil)
        }
        return lines
    }

    /// pe__clone_default.
    func clone(_ resource: Resource, depth: Int) -> [String] {
        var attributes: [String] = []
        if resource.promotable { attributes.append("promotable") }
        if resource.globallyUnique { attributes.append("unique") }
        if !resource.managed { attributes.append("unmanaged") }
        if CrmMonView.isDisabled(resource, promotable: resource.promotable) { attributes.append("disabled") }
        let header = indent(depth) + "Clone Set: \(resource.id) [\(resource.childID ?? "")]"
            + (attributes.isEmpty ? "" : " (\(attributes.joined(separator: ", ")))") + ":"
        var lines: [String] = []
        func item(_ text: String) {
            if lines.isEmpty { lines.append(header) }
            lines.append(indent(depth + 1) + text)
        }
        var promoted: [String] = [], started: [String] = [], stoppedInstances: [String] = []
        for child in resource.children {
            let partially = isActive(child, all: false)
            var full = false
            if resource.globallyUnique {
                full = partially || !resource.orphan
            } else if child.pendingTask.map({ $0 != "probe" }) ?? false {
                full = true   // an action in flight is shown on the instance's own line
            } else if !partially {
                if !child.orphan && inactive { stoppedInstances.append(child.id) }
            } else if anyRecursive(child, { $0.orphan }) || anyRecursive(child, { !$0.managed }) || anyRecursive(child, { $0.failed }) {
                full = true
            } else if isActive(child, all: true) {
                let nodes = location(child)
                if nodes.count == 1, let node = nodesByName[nodes[0]] {
                    if !node.online && node.unclean {
                        full = true
                    } else if child.role == "Promoted" {
                        promoted.append(node.name)
                    } else {
                        started.append(node.name)
                    }
                } else {
                    full = true
                }
            } else {
                full = true
            }
            if full {
                if lines.isEmpty { lines.append(header) }
                let printable = resource.globallyUnique ? child.id : baseID(child)
                lines += output(child, depth: depth + 1, topPromotable: resource.promotable,
                                printableID: child.kind == .group ? (resource.globallyUnique ? nil : "") : printable)
            }
        }
        let promotedNames = promoted.sorted(by: Self.nodeNameOrder)
        if !promotedNames.isEmpty { item("Promoted: [ \(promotedNames.joined(separator: " ")) ]") }
        let startedNames = started.sorted(by: Self.nodeNameOrder)
        if !startedNames.isEmpty {
            if resource.promotable {
                let targetUnpromoted = ["unpromoted", "slave"].contains(resource.targetRole?.lowercased() ?? "")
                item("Unpromoted\(targetUnpromoted ? " (target-role)" : ""): [ \(startedNames.joined(separator: " ")) ]")
            } else {
                item("Started: [ \(startedNames.joined(separator: " ")) ]")
            }
        }
        guard inactive else { return lines }
        let activeInstances = promotedNames.count + startedNames.count
        var stopped: [(key: String, state: String)] = stoppedInstances.map { ($0, "Stopped") }
        if !resource.globallyUnique && resource.cloneMax > activeInstances {
            stopped = []
            let running = Set(location(resource))
            let disabled = resource.targetRole?.lowercased() == "stopped"
            // The nodes that existed when the clone was unpacked: a bundle's guests only when the
            // bundle comes first in the configuration.
            let position = status.resources.firstIndex { $0.id == resource.id } ?? Int.max
            let known = status.nodes.filter { node in
                node.bundle.map { bundle in (status.resources.firstIndex { $0.id == bundle } ?? Int.max) < position } ?? true
            }
            for node in known.map(\.name) where !running.contains(node) {
                if let probe = failedProbe(resource.id, baseID: resource.childID ?? resource.id, on: node) {
                    stopped.append((node, "Stopped (\(FailedOperation.exitText(probe.rc)))"))
                } else {
                    stopped.append((node, disabled ? "Stopped (disabled)" : "Stopped"))
                }
            }
        }
        if !stopped.isEmpty {
            if lines.isEmpty { lines.append(header) }
            for state in Set(stopped.map(\.state)).sorted() {
                let keys = stopped.filter { $0.state == state }.map(\.key)
                item("\(state): [ \(keys.joined(separator: " ")) ]")
            }
        } else if activeInstances == 0 && lines.isEmpty {
            lines.append(header)
        }
        return lines
    }

    /// pe__bundle_text: the header, then a line per replica naming it by its guest node (or
    /// container) and IP, showing the bundled resource's state (or the container's) on the
    /// container's node.
    func bundle(_ resource: Resource, depth: Int) -> [String] {
        let replicas = resource.replicas ?? []
        var header = "Container bundle\(replicas.count > 1 ? " set" : ""): \(resource.id) [\(resource.image ?? "")]"
        if !resource.managed { header += " (unmanaged)" }
        var lines = [indent(depth) + header + ":"]
        for replica in replicas {
            var name = replica.remote?.id ?? replica.container.id
            if let address = replica.ipAddress { name += " (\(address))" }
            var shown = replica.child ?? replica.container
            // The line shows the bundled resource on the container's node.
            shown.nodes = currentNode(replica.container).map { [$0] } ?? []
            lines.append(indent(depth + 1) + primitiveLine(shown, name: name, promotable: resource.promotable))
        }
        return lines
    }

    /// pe__cmp_node_name (pcmk__numeric_strcasecmp, as crm_node sorts).
    static func nodeNameOrder(_ lhs: String, _ rhs: String) -> Bool { numericCaseInsensitiveLess(lhs, rhs) }
}
