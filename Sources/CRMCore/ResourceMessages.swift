import CIB
import Executor
import TicketWire

/// The resource messages of baton-crmd (issue 14): the DC's execute requests, the executing
/// node's results, and each node's own resource history at the join. Every member receives
/// every one in the group's order; results and histories are recorded by all of them alike
/// (`NodeCore.resourceHistory`), so every node holds the same status section.

/// The DC asks `node` to run one action of its transition graph.
public struct ExecuteRequest: Hashable, Sendable {
    public var view: UInt64
    public var node: NodeID
    /// Pacemaker's transition key: `ACTION:TRANSITION:TARGET_RC:DC_UUID`.
    public var transitionKey: String
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
    /// CRM_meta_* values without the prefix (op_target_rc, on_node, start_delay …).
    public var meta: [String: String]

    public init(view: UInt64, node: NodeID, transitionKey: String, resource: String, resourceClass: String, provider: String,
                type: String, operation: String, intervalMilliseconds: UInt64, timeoutMilliseconds: UInt64,
                parameters: [String: String], meta: [String: String]) {
        self.view = view
        self.node = node
        self.transitionKey = transitionKey
        self.resource = resource
        self.resourceClass = resourceClass
        self.provider = provider
        self.type = type
        self.operation = operation
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.parameters = parameters
        self.meta = meta
    }

    /// Why this request cannot cross the group (a CIB with values over the wire's limits), nil
    /// when it can.
    public var problem: String? {
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

/// One result of a node's executor, broadcast by that node: everything an `lrm_rsc_op` entry
/// holds (the op-digest is computed from `parameters` by every recipient alike).
public struct ExecuteResult: Hashable, Sendable {
    public var node: NodeID
    /// "" for a result no graph asked for (none so far: recurring monitors keep their key).
    public var transitionKey: String
    public var resource: String
    public var resourceClass: String
    public var provider: String
    public var type: String
    public var operation: String
    public var intervalMilliseconds: UInt64
    public var timeoutMilliseconds: UInt64
    public var parameters: [String: String]
    public var targetRC: Int
    public var rc: Int
    public var opStatus: Int
    public var exitReason: String
    public var callID: UInt64
    public var execMilliseconds: UInt64
    public var queueMilliseconds: UInt64
    /// When the executing node recorded it (last-rc-change, last-run, last-failure).
    public var wallClockSeconds: UInt64

    public init(node: NodeID, transitionKey: String, resource: String, resourceClass: String, provider: String, type: String,
                operation: String, intervalMilliseconds: UInt64, timeoutMilliseconds: UInt64, parameters: [String: String],
                targetRC: Int, rc: Int, opStatus: Int, exitReason: String, callID: UInt64, execMilliseconds: UInt64,
                queueMilliseconds: UInt64, wallClockSeconds: UInt64) {
        self.node = node
        self.transitionKey = transitionKey
        self.resource = resource
        self.resourceClass = resourceClass
        self.provider = provider
        self.type = type
        self.operation = operation
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.parameters = parameters
        self.targetRC = targetRC
        self.rc = rc
        self.opStatus = opStatus
        self.exitReason = exitReason
        self.callID = callID
        self.execMilliseconds = execMilliseconds
        self.queueMilliseconds = queueMilliseconds
        self.wallClockSeconds = wallClockSeconds
    }

    /// The result the graph expected (rc = op_target_rc, op-status done).
    public var succeeded: Bool { opStatus == ExecutionStatus.done.rawValue && rc == targetRC }

    /// The executor's result as the message carries it (`node`: where it ran).
    public init(_ result: OperationResult, node: NodeID, wallClockSeconds: UInt64) {
        let operation = result.operation
        let resource = operation.resource
        self.init(node: node, transitionKey: operation.transitionKey ?? "", resource: resource.id,
                  resourceClass: resource.standard.rawValue, provider: resource.provider ?? "", type: resource.type,
                  operation: operation.action, intervalMilliseconds: UInt64(max(0, operation.interval.wholeMilliseconds)),
                  timeoutMilliseconds: UInt64(max(0, operation.timeout.wholeMilliseconds)), parameters: resource.parameters,
                  targetRC: result.targetRC, rc: result.verdict.rc.rawValue, opStatus: result.verdict.status.rawValue,
                  exitReason: String((result.verdict.exitReason ?? "").utf8.prefix(MessageWire.valueBytesMax)) ?? "",
                  callID: UInt64(max(0, result.callID.value)), execMilliseconds: UInt64(max(0, result.execTime.wholeMilliseconds)),
                  queueMilliseconds: UInt64(max(0, result.queueTime.wholeMilliseconds)), wallClockSeconds: wallClockSeconds)
    }

    /// The executor's result rebuilt (for `OperationHistory.record`); nil when a field is not
    /// one the executor knows (class, rc, op-status).
    public var operationResult: OperationResult? {
        guard let standard = AgentStandard(rawValue: resourceClass), let code = OCFReturnCode(rawValue: rc),
              let status = ExecutionStatus(rawValue: opStatus) else { return nil }
        let agent = AgentResource(id: resource, standard: standard, provider: provider.isEmpty ? nil : provider, type: type, parameters: parameters)
        let request = OperationRequest(resource: agent, action: operation, interval: .milliseconds(Int64(intervalMilliseconds)),
                                       timeout: .milliseconds(Int64(timeoutMilliseconds)), meta: ["op_target_rc": String(targetRC)],
                                       featureSet: "3.16.1", transitionKey: transitionKey.isEmpty ? nil : transitionKey)
        return OperationResult(callID: CallID(value: Int(callID)), operation: request,
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
    /// `<lrm>…</lrm>` (UTF-8), empty for a node with no history.
    public var lrm: [UInt8]

    public init(view: UInt64, node: NodeID, lrm: [UInt8]) {
        self.view = view
        self.node = node
        self.lrm = lrm
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
    static func writeExecuteRequest(_ request: ExecuteRequest, into writer: inout ByteWriter) {
        writer.u64(request.view)
        writer.u32(request.node.rawValue)
        for text in [request.transitionKey, request.resource, request.resourceClass, request.provider, request.type, request.operation] {
            writer.string(text, lengthMax: nameBytesMax)
        }
        writer.u64(request.intervalMilliseconds)
        writer.u64(request.timeoutMilliseconds)
        writeMap(request.parameters, into: &writer)
        writeMap(request.meta, into: &writer)
    }

    static func readExecuteRequest(_ reader: inout ByteReader) throws(WireError) -> ExecuteRequest {
        let view = try reader.u64("execute.view")
        let node = NodeID(try reader.u32("execute.node"))
        var texts: [String] = []
        for field in ["transitionKey", "resource", "class", "provider", "type", "operation"] {
            texts.append(try reader.string("execute." + field, lengthMax: nameBytesMax))
        }
        let interval = try reader.u64("execute.interval")
        let timeout = try reader.u64("execute.timeout")
        let parameters = try readMap("execute.parameters", &reader)
        let meta = try readMap("execute.meta", &reader)
        return ExecuteRequest(view: view, node: node, transitionKey: texts[0], resource: texts[1], resourceClass: texts[2],
                              provider: texts[3], type: texts[4], operation: texts[5], intervalMilliseconds: interval,
                              timeoutMilliseconds: timeout, parameters: parameters, meta: meta)
    }

    static func writeExecuteResult(_ result: ExecuteResult, into writer: inout ByteWriter) {
        writer.u32(result.node.rawValue)
        for text in [result.transitionKey, result.resource, result.resourceClass, result.provider, result.type, result.operation] {
            writer.string(text, lengthMax: nameBytesMax)
        }
        writer.u64(result.intervalMilliseconds)
        writer.u64(result.timeoutMilliseconds)
        writeMap(result.parameters, into: &writer)
        writer.u32(UInt32(bitPattern: Int32(clamping: result.targetRC)))
        writer.u32(UInt32(bitPattern: Int32(clamping: result.rc)))
        writer.u32(UInt32(bitPattern: Int32(clamping: result.opStatus)))
        writer.string(result.exitReason, lengthMax: valueBytesMax)
        writer.u64(result.callID)
        writer.u64(result.execMilliseconds)
        writer.u64(result.queueMilliseconds)
        writer.u64(result.wallClockSeconds)
    }

    static func readExecuteResult(_ reader: inout ByteReader) throws(WireError) -> ExecuteResult {
        let node = NodeID(try reader.u32("result.node"))
        var texts: [String] = []
        for field in ["transitionKey", "resource", "class", "provider", "type", "operation"] {
            texts.append(try reader.string("result." + field, lengthMax: nameBytesMax))
        }
        let interval = try reader.u64("result.interval")
        let timeout = try reader.u64("result.timeout")
        let parameters = try readMap("result.parameters", &reader)
        let target = Int(Int32(bitPattern: try reader.u32("result.targetRC")))
        let rc = Int(Int32(bitPattern: try reader.u32("result.rc")))
        let status = Int(Int32(bitPattern: try reader.u32("result.opStatus")))
        let reason = try reader.string("result.exitReason", lengthMax: valueBytesMax)
        let callID = try reader.u64("result.callID")
        let exec = try reader.u64("result.exec")
        let queue = try reader.u64("result.queue")
        let wall = try reader.u64("result.wallClock")
        return ExecuteResult(node: node, transitionKey: texts[0], resource: texts[1], resourceClass: texts[2], provider: texts[3],
                             type: texts[4], operation: texts[5], intervalMilliseconds: interval, timeoutMilliseconds: timeout,
                             parameters: parameters, targetRC: target, rc: rc, opStatus: status, exitReason: reason, callID: callID,
                             execMilliseconds: exec, queueMilliseconds: queue, wallClockSeconds: wall)
    }
}
