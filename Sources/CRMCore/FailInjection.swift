import CIB
import TicketWire

/// `baton crm resource fail RSC -N NODE` (crm_resource --fail, wire message 21): the node
/// named reports a failed `asyncmon` of the resource as its own result, as Pacemaker's
/// controller synthesizes one (rc 1, call-id one past the resource's highest there), so every
/// member records it (last failure, fail count) and the DC recovers the resource.
public struct FailInjection: Hashable, Sendable {
    public var view: UInt64
    public var node: NodeID
    public var resource: String
    public var resourceClass: String
    public var provider: String
    public var type: String
    /// The asking node's clock (last-rc-change, last-failure).
    public var wallClockSeconds: UInt64

    public init(view: UInt64, node: NodeID, resource: String, resourceClass: String, provider: String, type: String, wallClockSeconds: UInt64) {
        self.view = view
        self.node = node
        self.resource = resource
        self.resourceClass = resourceClass
        self.provider = provider
        self.type = type
        self.wallClockSeconds = wallClockSeconds
    }
}

extension NodeCore {
    public mutating func requestFailInjection(_ injection: FailInjection) throws(RequestError) -> [Directive] {
        guard settled, let view else { throw .invalid("no settled membership: the request would be lost") }
        guard view.nodeIDs.contains(injection.node) else { throw .invalid("node \(injection.node) is not in the membership") }
        for text in [injection.resource, injection.resourceClass, injection.type] where text.isEmpty || text.utf8.count > MessageWire.nameBytesMax {
            throw .invalid("a resource id, class or type is empty or over \(MessageWire.nameBytesMax) bytes")
        }
        guard injection.provider.utf8.count <= MessageWire.nameBytesMax else { throw .invalid("the provider is over \(MessageWire.nameBytesMax) bytes") }
        var stamped = injection
        stamped.view = view.fingerprint
        return [.broadcast(.failInjection(stamped))]
    }

    mutating func receivedFailInjection(_ injection: FailInjection) -> [Directive] {
        guard settled, let view, injection.view == view.fingerprint else { return ignored() }
        guard injection.node == local.nodeID, settings.runsResources else { return [] }
        let name = nodeName(local.nodeID)
        let calls = resourceStatus.nodeStates.first { $0.uname == name }?.lrm?.resources.first { $0.id == injection.resource }?
            .operations.compactMap(\.callID) ?? []
        let action = ResourceOperation(resource: injection.resource, resourceClass: injection.resourceClass, provider: injection.provider,
                                       type: injection.type, operation: "asyncmon", intervalMilliseconds: 0, timeoutMilliseconds: 0, parameters: [:])
        let result = ExecuteResult(node: local.nodeID, transitionKey: "", action: action, targetRC: 0, rc: 1, opStatus: 0,
                                   exitReason: "Simulated failure", callID: UInt64(max(0, (calls.max() ?? 0) + 1)),
                                   execMilliseconds: 0, queueMilliseconds: 0, wallClockSeconds: injection.wallClockSeconds)
        return sendResult(result)
    }
}

extension MessageWire {
    static func writeFailInjection(_ injection: FailInjection, into writer: inout ByteWriter) {
        writer.u64(injection.view)
        writer.u32(injection.node.rawValue)
        for text in [injection.resource, injection.resourceClass, injection.provider, injection.type] {
            writer.string(text.validPrefix(nameBytesMax), lengthMax: nameBytesMax)
        }
        writer.u64(injection.wallClockSeconds)
    }

    static func readFailInjection(_ reader: inout ByteReader) throws(WireError) -> FailInjection {
        let view = try reader.u64("fail.view")
        let node = NodeID(try reader.u32("fail.node"))
        var texts: [String] = []
        for name in ["resource", "class", "provider", "type"] {
            let text = try reader.string("fail." + name, lengthMax: nameBytesMax)
            guard !text.isEmpty || name == "provider" else { throw WireError.invalid(field: "fail." + name, offset: reader.offset, reason: "empty") }
            texts.append(text)
        }
        return FailInjection(view: view, node: node, resource: texts[0], resourceClass: texts[1], provider: texts[2], type: texts[3],
                             wallClockSeconds: try reader.u64("fail.wallClock"))
    }
}
