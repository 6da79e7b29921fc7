import CIB
import Executor
import TicketWire

/// The resource messages of baton-crmd (issue 14): the DC's execute requests, the executing
/// node's results, and each node's own resource history at the join. Every member receives
/// every one in the group's order; results and histories are recorded by all of them alike
/// (`NodeCore.resourceHistory`), so every node holds the same status section.

/// What an execute request and its result both name: the resource's agent and parameters, the
/// operation, its interval and timeout.
public struct ResourceOperation: Hashable, Sendable {
    public var resource: String
    /// ocf, lsb, systemd.
    public var resourceClass: String
    /// "" when the class has none.
    public var provider: String
    public var type: String
    /// start, stop, monitor … or `cancel` (of the recurring op `meta["operation"]`/interval).
    public var operation: String
    public var intervalMilliseconds: UInt64
    public var timeoutMilliseconds: UInt64
    /// Instance parameters (OCF_RESKEY_*).
    public var parameters: [String: String]

    public init(resource: String, resourceClass: String, provider: String, type: String, operation: String,
                intervalMilliseconds: UInt64, timeoutMilliseconds: UInt64, parameters: [String: String]) {
        self.resource = resource
        self.resourceClass = resourceClass
        self.provider = provider
        self.type = type
        self.operation = operation
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.parameters = parameters
    }

    /// Why this cannot cross the group (a CIB with values over the wire's limits), nil when it can.
    public func problem(meta: [String: String] = [:], transitionKey: String = "") -> String? {
        for name in [resource, resourceClass, provider, type, operation, transitionKey] where name.utf8.count > MessageWire.nameBytesMax {
            return "'\(name.prefix(40))…' is over \(MessageWire.nameBytesMax) bytes"
        }
        for map in [parameters, meta] {
            if map.count > MessageWire.attributesMax { return "\(map.count) parameters over \(MessageWire.attributesMax)" }
            for (name, value) in map where name.isEmpty || name.utf8.count > MessageWire.nameBytesMax || value.utf8.count > MessageWire.valueBytesMax {
                return "parameter '\(name.prefix(40))' is empty or over the wire's limits"
            }
        }
        return nil
    }
}

/// The DC asks `node` to run one action of its transition graph.
@dynamicMemberLookup
public struct ExecuteRequest: Hashable, Sendable {
    public var view: UInt64
    public var node: NodeID
    /// Pacemaker's transition key: `ACTION:TRANSITION:TARGET_RC:DC_UUID`.
    public var transitionKey: String
    public var action: ResourceOperation
    /// CRM_meta_* values without the prefix (op_target_rc, on_node, start_delay …).
    public var meta: [String: String]

    public init(view: UInt64, node: NodeID, transitionKey: String, action: ResourceOperation, meta: [String: String]) {
        self.view = view
        self.node = node
        self.transitionKey = transitionKey
        self.action = action
        self.meta = meta
    }

    public subscript<T>(dynamicMember path: KeyPath<ResourceOperation, T>) -> T { action[keyPath: path] }

    public var problem: String? { action.problem(meta: meta, transitionKey: transitionKey) }
}

/// One result of a node's executor, broadcast by that node: everything an `lrm_rsc_op` entry
/// holds (the op-digest is computed from the parameters by every recipient alike).
@dynamicMemberLookup
public struct ExecuteResult: Hashable, Sendable {
    public var node: NodeID
    /// The key of the request that started the operation ("" for none).
    public var transitionKey: String
    public var action: ResourceOperation
    public var targetRC: Int
    public var rc: Int
    public var opStatus: Int
    public var exitReason: String
    public var callID: UInt64
    public var execMilliseconds: UInt64
    public var queueMilliseconds: UInt64
    /// When the executing node recorded it (last-rc-change, last-run, last-failure).
    public var wallClockSeconds: UInt64

    public init(node: NodeID, transitionKey: String, action: ResourceOperation, targetRC: Int, rc: Int, opStatus: Int,
                exitReason: String, callID: UInt64, execMilliseconds: UInt64, queueMilliseconds: UInt64, wallClockSeconds: UInt64) {
        self.node = node
        self.transitionKey = transitionKey
        self.action = action
        self.targetRC = targetRC
        self.rc = rc
        self.opStatus = opStatus
        self.exitReason = exitReason
        self.callID = callID
        self.execMilliseconds = execMilliseconds
        self.queueMilliseconds = queueMilliseconds
        self.wallClockSeconds = wallClockSeconds
    }

    public subscript<T>(dynamicMember path: KeyPath<ResourceOperation, T>) -> T { action[keyPath: path] }

    /// The result the graph expected (rc = op_target_rc, op-status done).
    public var succeeded: Bool { opStatus == ExecutionStatus.done.rawValue && rc == targetRC }

    /// The executor's result as the message carries it (`node`: where it ran).
    public init(_ result: OperationResult, node: NodeID, wallClockSeconds: UInt64) {
        let operation = result.operation
        let resource = operation.resource
        let action = ResourceOperation(
            resource: resource.id, resourceClass: resource.standard.rawValue, provider: resource.provider ?? "", type: resource.type,
            operation: operation.action, intervalMilliseconds: UInt64(max(0, operation.interval.wholeMilliseconds)),
            timeoutMilliseconds: UInt64(max(0, operation.timeout.wholeMilliseconds)), parameters: resource.parameters)
        self.init(node: node, transitionKey: operation.transitionKey ?? "", action: action, targetRC: result.targetRC,
                  rc: result.verdict.rc.rawValue, opStatus: result.verdict.status.rawValue,
                  exitReason: String((result.verdict.exitReason ?? "").utf8.prefix(MessageWire.valueBytesMax)) ?? "",
                  callID: UInt64(max(0, result.callID.value)), execMilliseconds: UInt64(max(0, result.execTime.wholeMilliseconds)),
                  queueMilliseconds: UInt64(max(0, result.queueTime.wholeMilliseconds)), wallClockSeconds: wallClockSeconds)
    }

    /// The executor's result rebuilt (for `OperationHistory.record`); nil when a field is not
    /// one the executor knows (class, rc, op-status).
    public var operationResult: OperationResult? {
        // A stonith resource's operations (the daemon answers them: registration with the
        // fencer) are recorded as an OCF resource's; `recordOne` restores the class.
        let standardName = action.resourceClass == "stonith" ? AgentStandard.ocf.rawValue : action.resourceClass
        guard let standard = AgentStandard(rawValue: standardName), let code = OCFReturnCode(rawValue: rc),
              let status = ExecutionStatus(rawValue: opStatus) else { return nil }
        let agent = AgentResource(id: action.resource, standard: standard, provider: action.provider.isEmpty ? nil : action.provider,
                                  type: action.type, parameters: action.parameters)
        let request = OperationRequest(resource: agent, action: action.operation, interval: .milliseconds(Int64(action.intervalMilliseconds)),
                                       timeout: .milliseconds(Int64(action.timeoutMilliseconds)), meta: ["op_target_rc": String(targetRC)],
                                       featureSet: "3.16.1", transitionKey: transitionKey.isEmpty ? nil : transitionKey)
        // A pending operation (record-pending) is recorded with call-id -1, as the controller
        // records it: the scheduler takes -1 for the newest call, so a pending stop stays after
        // the start it stops (with 0 it sorted first, and the resource looked stopped while its
        // stop still ran: batond released a ticket early, the geo demo's witness saw it).
        return OperationResult(callID: CallID(value: status == .pending ? -1 : Int(callID)), operation: request,
                               verdict: AgentVerdict(rc: code, status: status, exitReason: exitReason.isEmpty ? nil : exitReason),
                               standardOutput: [], standardError: [], queueTime: .milliseconds(Int64(queueMilliseconds)),
                               execTime: .milliseconds(Int64(execMilliseconds)), finishedAt: .zero, rcChanged: true)
    }
}

/// A node's own resource history (its `<lrm>` element's text) at the join round: every member
/// takes it in place of what it held for that node, so a new DC knows what runs where.
public struct ResourceHistoryReport: Hashable, Sendable {
    public var view: UInt64
    public var node: NodeID
    /// One `SyncChunks` chunk (encoded) of `<lrm>…</lrm>` (UTF-8; empty for a node with no
    /// history): a report is as many messages as its chunks, in order.
    public var part: [UInt8]

    public init(view: UInt64, node: NodeID, part: [UInt8]) {
        self.view = view
        self.node = node
        self.part = part
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension MessageWire {
    /// The node, the key and the operation: what a request and a result both begin with.
    static func writeOperation(node: NodeID, key: String, _ action: ResourceOperation, into writer: inout ByteWriter) {
        writer.u32(node.rawValue)
        for text in [key, action.resource, action.resourceClass, action.provider, action.type, action.operation] {
            writer.string(text, lengthMax: nameBytesMax)
        }
        writer.u64(action.intervalMilliseconds)
        writer.u64(action.timeoutMilliseconds)
        writeMap(action.parameters, into: &writer)
    }

    static func readOperation(_ field: String, _ reader: inout ByteReader) throws(WireError) -> (NodeID, String, ResourceOperation) {
        let node = NodeID(try reader.u32(field + ".node"))
        var texts: [String] = []
        for name in ["transitionKey", "resource", "class", "provider", "type", "operation"] {
            texts.append(try reader.string(field + "." + name, lengthMax: nameBytesMax))
        }
        let interval = try reader.u64(field + ".interval")
        let timeout = try reader.u64(field + ".timeout")
        let parameters = try readMap(field + ".parameters", &reader)
        return (node, texts[0], ResourceOperation(resource: texts[1], resourceClass: texts[2], provider: texts[3], type: texts[4],
                                                  operation: texts[5], intervalMilliseconds: interval, timeoutMilliseconds: timeout,
                                                  parameters: parameters))
    }

    static func writeExecuteRequest(_ request: ExecuteRequest, into writer: inout ByteWriter) {
        writer.u64(request.view)
        writeOperation(node: request.node, key: request.transitionKey, request.action, into: &writer)
        writeMap(request.meta, into: &writer)
    }

    static func readExecuteRequest(_ reader: inout ByteReader) throws(WireError) -> ExecuteRequest {
        let view = try reader.u64("execute.view")
        let (node, key, action) = try readOperation("execute", &reader)
        return ExecuteRequest(view: view, node: node, transitionKey: key, action: action, meta: try readMap("execute.meta", &reader))
    }

    static func writeExecuteResult(_ result: ExecuteResult, into writer: inout ByteWriter) {
        writeOperation(node: result.node, key: result.transitionKey, result.action, into: &writer)
        for code in [result.targetRC, result.rc, result.opStatus] { writer.u32(UInt32(bitPattern: Int32(clamping: code))) }
        writer.string(result.exitReason, lengthMax: valueBytesMax)
        for value in [result.callID, result.execMilliseconds, result.queueMilliseconds, result.wallClockSeconds] { writer.u64(value) }
    }

    static func readExecuteResult(_ reader: inout ByteReader) throws(WireError) -> ExecuteResult {
        let (node, key, action) = try readOperation("result", &reader)
        var codes: [Int] = []
        for name in ["targetRC", "rc", "opStatus"] { codes.append(Int(Int32(bitPattern: try reader.u32("result." + name)))) }
        let reason = try reader.string("result.exitReason", lengthMax: valueBytesMax)
        var values: [UInt64] = []
        for name in ["callID", "exec", "queue", "wallClock"] { values.append(try reader.u64("result." + name)) }
        return ExecuteResult(node: node, transitionKey: key, action: action, targetRC: codes[0], rc: codes[1], opStatus: codes[2],
                             exitReason: reason, callID: values[0], execMilliseconds: values[1], queueMilliseconds: values[2],
                             wallClockSeconds: values[3])
    }
}
