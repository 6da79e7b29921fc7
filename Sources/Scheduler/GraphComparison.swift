import CIB

/// A transition graph read back from Pacemaker's XML (an `exp/NAME.exp`, or what `-G` wrote).
public struct TransitionGraphReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var description: String { "line \(line): \(message)" }
}

extension TransitionGraph {
    /// Reads `<transition_graph>`. crm_feature_set is dropped (it names the writer's version,
    /// not the graph); batch-limit is kept as read.
    public init(xml root: XMLElement) throws(TransitionGraphReadError) {
        guard root.name == "transition_graph" else {
            throw TransitionGraphReadError(message: "expected <transition_graph>, found <\(root.name)>", line: root.line)
        }
        var attributes = Attributes()
        for attribute in root.attributes {
            switch attribute.name {
            case "cluster-delay": attributes.clusterDelay = attribute.value
            case "stonith-timeout": attributes.stonithTimeout = attribute.value
            case "failed-stop-offset": attributes.failedStopOffset = attribute.value
            case "failed-start-offset": attributes.failedStartOffset = attribute.value
            case "batch-limit": attributes.batchLimit = attribute.value
            case "transition_id": attributes.transitionID = Int(attribute.value) ?? -1
            case "migration-limit": attributes.migrationLimit = attribute.value
            case "recheck-by": attributes.recheckBy = Int(attribute.value)
            default: break
            }
        }
        var synapses: [Synapse] = []
        for element in root.children(named: "synapse") {
            guard let id = element["id"].flatMap({ Int($0) }) else {
                throw TransitionGraphReadError(message: "<synapse> without a numeric id", line: element.line)
            }
            guard let set = element.children(named: "action_set").first, let actionXML = set.children.first else {
                throw TransitionGraphReadError(message: "synapse \(id) has no action", line: element.line)
            }
            let action = try Self.action(actionXML)
            var inputs: [Action.Reference] = []
            for trigger in element.children(named: "inputs").first?.children(named: "trigger") ?? [] {
                for child in trigger.children { inputs.append(try Self.action(child).reference) }
            }
            synapses.append(Synapse(id: id, priority: element["priority"].flatMap { Int($0) } ?? 0, action: action, inputs: inputs))
        }
        self.init(attributes: attributes, synapses: synapses)
    }

    private static func action(_ element: XMLElement) throws(TransitionGraphReadError) -> Action {
        guard let kind = Element(rawValue: element.name) else {
            throw TransitionGraphReadError(message: "unknown action element <\(element.name)>", line: element.line)
        }
        guard let id = element["id"].flatMap({ Int($0) }), let operation = element["operation"],
              let key = element["operation_key"] else {
            throw TransitionGraphReadError(message: "<\(element.name)> without id, operation or operation_key", line: element.line)
        }
        var action = Action(id: id, element: kind, operation: Operation(operation), operationKey: key,
                            internalOperationKey: element["internal_operation_key"])
        if let name = element["on_node"] { action.node = Node(name: name, uuid: element["on_node_uuid"] ?? "") }
        action.routerNode = element["router_node"]
        let known: Set<String> = ["id", "operation", "operation_key", "internal_operation_key", "on_node", "on_node_uuid", "router_node"]
        for attribute in element.attributes where !known.contains(attribute.name) {
            action.elementAttributes[attribute.name] = attribute.value
        }
        for child in element.children {
            switch child.name {
            case "primitive":
                action.primitive = Primitive(id: child["id"] ?? "", longID: child["long-id"], resourceClass: child["class"],
                                             provider: child["provider"], type: child["type"])
            case "attributes":
                for attribute in child.attributes where attribute.name != "crm_feature_set" {
                    action.attributes[attribute.name] = attribute.value
                }
            case "downed":
                action.downed = child.children(named: "node").compactMap { $0["id"] }
            default: break
            }
        }
        return action
    }

    /// How this graph differs from `expected` as a controller would execute them, independent
    /// of the numbering: actions are identified by (element, operation_key, on_node); both
    /// graphs need the same transition_graph attributes (batch-limit aside), the same actions
    /// with the same attributes (all but id: internal key, node uuid, router, primitive,
    /// attributes, downed), and per action the same synapse priority and the same set of
    /// input identities. Empty when they agree. At most `limit` lines.
    public func differences(from expected: TransitionGraph, limit: Int = 20) -> [String] {
        precondition(limit > 0, "a difference limit of \(limit) reports nothing")
        var lines: [String] = []
        func note(_ line: String) { if lines.count < limit { lines.append(line) } }
        var ours = attributes, theirs = expected.attributes
        ours.batchLimit = ""; theirs.batchLimit = ""
        if ours != theirs { note("graph attributes: \(Self.describe(ours)) vs expected \(Self.describe(theirs))") }
        let mine = Self.byIdentity(self), other = Self.byIdentity(expected)
        for (identity, _) in other.sorted(by: { $0.key.description < $1.key.description }) where mine[identity] == nil {
            note("missing action: \(identity)")
        }
        for (identity, _) in mine.sorted(by: { $0.key.description < $1.key.description }) where other[identity] == nil {
            note("extra action: \(identity)")
        }
        for (identity, synapse) in mine.sorted(by: { $0.key.description < $1.key.description }) {
            guard let wanted = other[identity] else { continue }
            let action = synapse.action, want = wanted.action
            if synapse.priority != wanted.priority { note("\(identity): priority \(synapse.priority), expected \(wanted.priority)") }
            if action.operation != want.operation { note("\(identity): operation \(action.operation), expected \(want.operation)") }
            if action.internalOperationKey != want.internalOperationKey {
                note("\(identity): internal_operation_key \(action.internalOperationKey ?? "-"), expected \(want.internalOperationKey ?? "-")")
            }
            if action.writesNode && action.node?.uuid != want.node?.uuid {
                note("\(identity): on_node_uuid \(action.node?.uuid ?? "-"), expected \(want.node?.uuid ?? "-")")
            }
            if action.routerNode != want.routerNode { note("\(identity): router_node \(action.routerNode ?? "-"), expected \(want.routerNode ?? "-")") }
            if action.elementAttributes != want.elementAttributes { note("\(identity): element attributes \(action.elementAttributes), expected \(want.elementAttributes)") }
            if action.primitive != want.primitive { note("\(identity): primitive \(String(describing: action.primitive)), expected \(String(describing: want.primitive))") }
            if action.attributes != want.attributes {
                for name in Set(action.attributes.keys).union(want.attributes.keys).sorted() where action.attributes[name] != want.attributes[name] {
                    note("\(identity): \(name)=\(action.attributes[name] ?? "(none)"), expected \(want.attributes[name] ?? "(none)")")
                }
            }
            if action.downed != want.downed { note("\(identity): downed \(action.downed), expected \(want.downed)") }
            let inputs = Set(synapse.inputs.map(\.identity)), wantedInputs = Set(wanted.inputs.map(\.identity))
            for input in wantedInputs.subtracting(inputs).sorted(by: { $0.description < $1.description }) { note("\(identity): missing input \(input)") }
            for input in inputs.subtracting(wantedInputs).sorted(by: { $0.description < $1.description }) { note("\(identity): extra input \(input)") }
        }
        return lines
    }

    private static func byIdentity(_ graph: TransitionGraph) -> [Action.Identity: Synapse] {
        var result: [Action.Identity: Synapse] = [:]
        for synapse in graph.synapses { result[synapse.action.identity] = synapse }
        return result
    }

    private static func describe(_ attributes: Attributes) -> String {
        attributes.pairs.filter { $0.name != "batch-limit" }.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }

    /// Pacemaker's own regression check (cts-scheduler): the XML texts equal once
    /// crm_feature_set and batch-limit attributes are removed and whitespace is ignored.
    public static func normalizedForDiff(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var rest = Substring(text)
        while let range = rest.range(of: "crm_feature_set=\"") ?? rest.range(of: "batch-limit=\"") {
            result += rest[..<range.lowerBound]
            let after = rest[range.upperBound...]
            guard let close = after.firstIndex(of: "\"") else { rest = after; break }
            rest = after[after.index(after: close)...]
        }
        result += rest
        return String(result.filter { !$0.isWhitespace })
    }
}
