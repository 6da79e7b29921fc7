import CIB

/// An operation result to inject before scheduling, as crm_simulate's `-i`:
/// `RESOURCE_TASK_INTERVALMS@NODE=RC`.
public struct OperationInjection: Sendable, Equatable {
    public var resource: String
    public var task: String
    public var intervalMilliseconds: Int
    public var node: String
    public var rc: Int

    public init?(parsing text: String) {
        guard let at = text.lastIndex(of: "@"), let equals = text.lastIndex(of: "="), at < equals else { return nil }
        let key = text[..<at]
        node = String(text[text.index(after: at)..<equals])
        guard let rc = Int(text[text.index(after: equals)...]) else { return nil }
        self.rc = rc
        let parts = key.split(separator: "_")
        guard parts.count >= 3, let interval = Int(parts.last!) else { return nil }
        intervalMilliseconds = interval
        task = String(parts[parts.count - 2])
        resource = parts[..<(parts.count - 2)].joined(separator: "_")
        guard !resource.isEmpty, !node.isEmpty else { return nil }
    }
}

extension CIB {
    /// Sets a ticket's granted state in the status section (creating it when absent).
    public mutating func setTicket(_ id: String, granted: Bool) {
        var tickets = status.tickets ?? Tickets(states: [])
        if let index = tickets.states.firstIndex(where: { $0.id == id }) {
            tickets.states[index].granted = granted ? "true" : "false"
            if !granted { tickets.states[index].standby = "false" }
        } else {
            tickets.states.append(TicketState(id: id, granted: granted))
        }
        status.tickets = tickets
    }

    public mutating func setTicketStandby(_ id: String) {
        var tickets = status.tickets ?? Tickets(states: [])
        if let index = tickets.states.firstIndex(where: { $0.id == id }) {
            tickets.states[index].standby = "true"
        } else {
            var state = TicketState(id: id, granted: false)
            state.standby = "true"
            tickets.states.append(state)
        }
        status.tickets = tickets
    }

    /// Records an injected operation result in the node's history (and its fail count when it failed).
    public mutating func inject(_ injection: OperationInjection, now: Int) {
        guard let stateIndex = status.nodeStates.firstIndex(where: { $0.uname == injection.node }) else { return }
        let resourceConfig = configuration.resources.lazy.compactMap { resource -> Primitive? in
            switch resource {
            case .primitive(let primitive): return primitive.id == injection.resource ? primitive : nil
            case .group(let group): return group.members.first { $0.id == injection.resource }
            case .clone(let clone):
                switch clone.child {
                case .primitive(let primitive)?: return primitive.id == injection.resource.split(separator: ":").first.map(String.init) ? primitive : nil
                case .group(let group)?: return group.members.first { $0.id == injection.resource.split(separator: ":").first.map(String.init) }
                case nil: return nil
                }
            case .other: return nil
            }
        }.first
        let callID = (status.nodeStates.flatMap { $0.lrm?.resources ?? [] }.flatMap(\.operations).compactMap(\.callID).max() ?? 0).addingSaturated(1)
        let expected = injection.task == "monitor" && injection.intervalMilliseconds == 0 ? 7 : 0
        let operationXML = XMLElement(name: "lrm_rsc_op", attributes: [
            .init(name: "id", value: "\(injection.resource)_\(injection.task)_\(injection.intervalMilliseconds)"),
            .init(name: "operation", value: injection.task),
            .init(name: "interval", value: String(injection.intervalMilliseconds)),
            .init(name: "call-id", value: String(callID)),
            .init(name: "rc-code", value: String(injection.rc)),
            .init(name: "op-status", value: "0"),
            .init(name: "transition-key", value: "0:0:\(expected):injected"),
            .init(name: "last-rc-change", value: String(now)),
        ])
        guard let operation = try? LRMOperation(xml: operationXML) else { return }
        var state = status.nodeStates[stateIndex]
        if state.lrm == nil {
            state.lrm = try? LocalResourceManager(xml: XMLElement(name: "lrm", attributes: [.init(name: "id", value: state.id ?? injection.node)],
                                                                   children: [XMLElement(name: "lrm_resources")]))
        }
        if let index = state.lrm?.resources.firstIndex(where: { $0.id == injection.resource }) {
            state.lrm?.resources[index].operations.append(operation)
        } else if let resource = try? LRMResource(xml: XMLElement(name: "lrm_resource", attributes: [
            .init(name: "id", value: injection.resource),
            .init(name: "class", value: resourceConfig?.resourceClass ?? "ocf"),
            .init(name: "type", value: resourceConfig?.type ?? "Dummy"),
        ] + (resourceConfig?.provider.map { [XMLElement.Attribute(name: "provider", value: $0)] } ?? []))) {
            var added = resource
            added.operations.append(operation)
            state.lrm?.resources.append(added)
            state.lrm?.hasResourcesElement = true
        }
        if injection.rc != expected && !(injection.task == "monitor" && injection.intervalMilliseconds == 0 && injection.rc == 7) {
            let name = "fail-count-\(injection.resource.split(separator: ":").first.map(String.init) ?? injection.resource)#\(injection.task)_\(injection.intervalMilliseconds)"
            var transient = state.transientAttributes ?? (try? TransientAttributes(xml: XMLElement(name: "transient_attributes", attributes: [.init(name: "id", value: state.id ?? injection.node)])))!
            if transient.sets.isEmpty { transient.sets.append(NameValueSet(kind: "instance_attributes", id: "status-\(state.id ?? injection.node)", pairs: [])) }
            let current = transient.sets[0].pairs.first { $0.name == name }?.value.flatMap { Int($0) } ?? 0
            transient.sets[0].pairs.removeAll { $0.name == name }
            transient.sets[0].pairs.append(NameValuePair(name: name, value: String(current.addingSaturated(1))))
            transient.sets[0].pairs.append(NameValuePair(name: "last-failure-\(injection.resource)#\(injection.task)_\(injection.intervalMilliseconds)", value: String(now)))
            state.transientAttributes = transient
        }
        status.nodeStates[stateIndex] = state
    }
}
