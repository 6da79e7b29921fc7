/// Writes a `TransitionGraph` as crm_simulate 2.1.5 does: `-G` (Pacemaker's graph XML, as
/// libxml2 formats it: two-space indentation, attributes of `<attributes>` sorted by name,
/// crm_feature_set included) and `-D` (the dot graph of the actions in the transition).
public enum TransitionGraphWriter {
    /// The feature set crm_simulate 2.1.5 writes into each action's attributes.
    public static let featureSet = "3.16.1"

    public static func xml(_ graph: TransitionGraph) -> String {
        var out = "<transition_graph"
        for (name, value) in graph.attributes.pairs { out += " \(name)=\"\(escape(value))\"" }
        if graph.synapses.isEmpty { return out + "/>\n" }
        out += ">\n"
        let index = graph.synapseIndexByActionID()
        for synapse in graph.synapses {
            out += "  <synapse id=\"\(synapse.id)\""
            if synapse.priority > 0 { out += " priority=\"\(synapse.priority)\"" }
            out += ">\n    <action_set>\n"
            writeAction(synapse.action, indent: "      ", full: true, into: &out)
            out += "    </action_set>\n"
            if synapse.inputs.isEmpty {
                out += "    <inputs/>\n"
            } else {
                out += "    <inputs>\n"
                for input in synapse.inputs {
                    guard let position = index[input.id] else {
                        preconditionFailure("synapse \(synapse.id): input \(input.identity) (id \(input.id)) has no synapse")
                    }
                    out += "      <trigger>\n"
                    writeAction(graph.synapses[position].action, indent: "        ", full: false, into: &out)
                    out += "      </trigger>\n"
                }
                out += "    </inputs>\n"
            }
            out += "  </synapse>\n"
        }
        return out + "</transition_graph>\n"
    }

    private static func writeAction(_ action: TransitionGraph.Action, indent: String, full: Bool, into out: inout String) {
        out += "\(indent)<\(action.element.rawValue) id=\"\(action.id)\" operation=\"\(escape(action.operation.description))\""
        out += " operation_key=\"\(escape(action.operationKey))\""
        if let key = action.internalOperationKey { out += " internal_operation_key=\"\(escape(key))\"" }
        if action.writesNode, let node = action.node {
            out += " on_node=\"\(escape(node.name))\" on_node_uuid=\"\(escape(node.uuid))\""
            if let router = action.routerNode { out += " router_node=\"\(escape(router))\"" }
        }
        for (name, value) in action.elementAttributes.sorted(by: { $0.key < $1.key }) { out += " \(name)=\"\(escape(value))\"" }
        guard full else { out += "/>\n"; return }
        out += ">\n"
        if let primitive = action.primitive {
            out += "\(indent)  <primitive id=\"\(escape(primitive.id))\""
            if let longID = primitive.longID { out += " long-id=\"\(escape(longID))\"" }
            if let value = primitive.resourceClass { out += " class=\"\(escape(value))\"" }
            if let value = primitive.provider { out += " provider=\"\(escape(value))\"" }
            if let value = primitive.type { out += " type=\"\(escape(value))\"" }
            out += "/>\n"
        }
        var attributes = action.attributes
        attributes["crm_feature_set"] = featureSet
        out += "\(indent)  <attributes"
        for name in attributes.keys.sorted(by: byteOrder) { out += " \(name)=\"\(escape(attributes[name]!))\"" }
        out += "/>\n"
        if !action.downed.isEmpty {
            out += "\(indent)  <downed>\n"
            for node in action.downed { out += "\(indent)    <node id=\"\(escape(node))\"/>\n" }
            out += "\(indent)  </downed>\n"
        }
        out += "\(indent)</\(action.element.rawValue)>\n"
    }

    /// libxml2's sort (strcmp): by bytes, so upper case before lower case.
    private static func byteOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Attribute value escaping as libxml2 writes it: the digest's escaping, and control
    /// characters as character references.
    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 < 0x20 }) else { return value }
        var result = ""
        for character in escapeAttribute(value) {
            switch character {
            case "\n": result += "&#10;"
            case "\r": result += "&#13;"
            case "\t": result += "&#9;"
            default: result.append(character)
            }
        }
        return result
    }

    /// The dot graph crm_simulate -D writes (without -a): each action of the transition, then
    /// each input edge.
    public static func dot(_ graph: TransitionGraph) -> String {
        var out = " digraph \"g\" {\n"
        for synapse in graph.synapses {
            let action = synapse.action
            let font = action.element == .pseudoEvent ? "orange" : "black"
            out += "\"\(dotName(action))\" [ style=bold color=\"green\" fontcolor=\"\(font)\"]\n"
        }
        let index = graph.synapseIndexByActionID()
        for synapse in graph.synapses {
            for input in synapse.inputs {
                guard let position = index[input.id] else { continue }
                out += "\"\(dotName(graph.synapses[position].action))\" -> \"\(dotName(synapse.action))\" [ style = bold]\n"
            }
        }
        return out + "}\n"
    }

    /// crm_simulate's create_action_name.
    static func dotName(_ action: TransitionGraph.Action) -> String {
        let host = action.node?.name ?? action.plannedNode ?? (action.element == .pseudoEvent ? nil : "<none>")
        if action.operation == .stonith {
            return "stonith '\(action.attributes["CRM_meta_stonith_action"] ?? "reboot")' \(host ?? "")"
        }
        if action.operation == .doShutdown || action.operation == .clearFailcount, let host {
            return "\(action.operation) \(host)"
        }
        if let host { return "\(action.operationKey) \(host)" }
        return action.operationKey
    }
}
