import CIB
import TicketWire

/// `baton crm resource cleanup|refresh` on the running cluster (issue 14 point 4, wire message
/// 20): a node's operation history of some resources forgotten on every member, in the group's
/// order (so the status stays the same everywhere), as Pacemaker's controller deletes
/// lrm_resource entries (or, with an operation, that operation's entries). The DC then
/// schedules again: a resource without history on a node is probed there. The fail counts are
/// transient attributes: the asking node deletes them through the DC (attributeRequest).
///
/// | message       | from          | every member                                             |
/// |---------------|---------------|----------------------------------------------------------|
/// | historyForget | the admin's   | drops `node`'s lrm_resource entries of `resources` (or   |
/// |               | node          | only the entries of `operation`/interval); resourcesChanged |
public struct HistoryForget: Hashable, Sendable {
    public var view: UInt64
    public var node: NodeID
    /// Configured ids; a clone instance's entry (`R:N`) is forgotten with `R`.
    public var resources: [String]
    /// Only this operation's entries (its recurring entry and its last failure), nil: all.
    public var operation: String?
    /// With `operation`: only this interval (milliseconds), nil: any.
    public var intervalMilliseconds: UInt64?

    public static let resourcesMax = 1024

    public init(view: UInt64, node: NodeID, resources: [String], operation: String? = nil, intervalMilliseconds: UInt64? = nil) {
        self.view = view
        self.node = node
        self.resources = resources
        self.operation = operation
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Whether an lrm_resource id is one of `resources` (or an instance of one).
    func names(_ id: String) -> Bool {
        resources.contains { $0 == id || (id.hasPrefix($0 + ":") && id.dropFirst($0.count + 1).allSatisfy(\.isNumber)) }
    }

    /// Whether an lrm_rsc_op entry is of the operation (and interval) named.
    func matches(_ entry: LRMOperation) -> Bool {
        guard let operation else { return true }
        guard entry.operation == operation else { return false }
        return intervalMilliseconds.map { UInt64(max(0, entry.interval)) == $0 } ?? true
    }
}

extension NodeCore {
    /// Asks every member to forget `forget.node`'s history of `forget.resources` (the view is
    /// stamped here). Needs a settled view with the node in it.
    public mutating func requestHistoryForget(_ forget: HistoryForget) throws(RequestError) -> [Directive] {
        guard settled, let view else { throw .invalid("no settled membership: the request would be lost") }
        guard !forget.resources.isEmpty, forget.resources.count <= HistoryForget.resourcesMax else {
            throw .invalid("1 to \(HistoryForget.resourcesMax) resources, not \(forget.resources.count)")
        }
        guard forget.resources.allSatisfy({ !$0.isEmpty && $0.utf8.count <= MessageWire.nameBytesMax }) else {
            throw .invalid("a resource id is empty or over \(MessageWire.nameBytesMax) bytes")
        }
        if let operation = forget.operation, operation.isEmpty || operation.utf8.count > MessageWire.nameBytesMax {
            throw .invalid("the operation name is empty or over \(MessageWire.nameBytesMax) bytes")
        }
        var stamped = forget
        stamped.view = view.fingerprint
        return [.broadcast(.historyForget(stamped))]
    }

    /// Every member, in the group's order.
    mutating func receivedHistoryForget(_ forget: HistoryForget) -> [Directive] {
        guard settled, let view, forget.view == view.fingerprint else { return ignored() }
        let name = nodeName(forget.node)
        guard let index = resourceStatus.nodeStates.firstIndex(where: { $0.uname == name }), var lrm = resourceStatus.nodeStates[index].lrm else {
            return []
        }
        let before = lrm.resources
        if forget.operation == nil {
            lrm.resources.removeAll { forget.names($0.id) }
        } else {
            for entry in lrm.resources.indices where forget.names(lrm.resources[entry].id) {
                lrm.resources[entry].operations.removeAll { forget.matches($0) }
            }
        }
        guard lrm.resources != before else { return [] }
        resourceStatus.nodeStates[index].lrm = lrm
        return [.resourcesChanged]
    }
}

extension MessageWire {
    static func writeHistoryForget(_ forget: HistoryForget, into writer: inout ByteWriter) {
        writer.u64(forget.view)
        writer.u32(forget.node.rawValue)
        precondition(forget.resources.count <= HistoryForget.resourcesMax, "historyForget: \(forget.resources.count) resources over \(HistoryForget.resourcesMax)")
        writer.u16(UInt16(forget.resources.count))
        for resource in forget.resources { writer.string(resource.validPrefix(nameBytesMax), lengthMax: nameBytesMax) }
        writer.string((forget.operation ?? "").validPrefix(nameBytesMax), lengthMax: nameBytesMax)
        writer.bool(forget.intervalMilliseconds != nil)
        writer.u64(forget.intervalMilliseconds ?? 0)
    }

    static func readHistoryForget(_ reader: inout ByteReader) throws(WireError) -> HistoryForget {
        let view = try reader.u64("forget.view")
        let node = NodeID(try reader.u32("forget.node"))
        let count = Int(try reader.u16("forget.resources.count"))
        guard (1...HistoryForget.resourcesMax).contains(count) else {
            throw WireError.invalid(field: "forget.resources.count", offset: reader.offset - 2, reason: "\(count) not in 1...\(HistoryForget.resourcesMax)")
        }
        var resources: [String] = []
        for _ in 0..<count {
            let resource = try reader.string("forget.resource", lengthMax: nameBytesMax)
            guard !resource.isEmpty else { throw WireError.invalid(field: "forget.resource", offset: reader.offset, reason: "empty") }
            resources.append(resource)
        }
        let operation = try reader.string("forget.operation", lengthMax: nameBytesMax)
        let hasInterval = try reader.bool("forget.hasInterval")
        let interval = try reader.u64("forget.interval")
        return HistoryForget(view: view, node: node, resources: resources, operation: operation.isEmpty ? nil : operation,
                             intervalMilliseconds: hasInterval ? interval : nil)
    }
}
