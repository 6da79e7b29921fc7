import CIB
import Scheduler

/// Results recorded in the CIB's status as pacemaker-controld records them (Pacemaker 2.1.5,
/// `pcmk__create_history_xml`), so that the scheduler reads them as it reads Pacemaker's:
///
/// - a one-shot op replaces the resource's `RSC_last_0` entry; a failed one (rc other than the
///   expected, or op-status other than done or pending) also replaces `RSC_last_failure_0`; a
///   pending one (op-status -1, rc 193: record-pending, the op in flight) is what the scheduler
///   reads as "in progress" until the result replaces it;
/// - a recurring op's result replaces `RSC_ACTION_INTERVALMS`; its cancel removes that entry; a
///   failed one replaces `RSC_last_failure_0` only (the recurring entry keeps its last good result);
/// - attributes: operation_key, operation, crm-debug-origin, crm_feature_set, transition-key and
///   transition-magic (`OP-STATUS:RC;KEY`) when the controller gave a key, exit-reason, on_node,
///   call-id, rc-code, op-status, interval, last-rc-change (kept while the rc stays the same),
///   last-run (one-shot ops), exec-time, queue-time (ms), op-digest (the scheduler's own digest
///   of the resource's parameters, with CRM_meta_timeout for a recurring op, as Pacemaker's
///   `pcmk__filter_op_for_digest` keeps it).
public enum OperationHistory {
    /// Records `result` for `node` into `status` (creating its node_state, lrm and lrm_resource
    /// as needed). `wallClockSeconds` is the time of the record (last-rc-change, last-run).
    public static func record(
        _ result: OperationResult, into status: inout Status, node: String, nodeID: String? = nil, wallClockSeconds: Int
    ) throws(CIBError) {
        let operation = result.operation
        let resource = operation.resource
        var nodeIndex = status.nodeStates.firstIndex { $0.uname == node }
        if nodeIndex == nil {
            status.nodeStates.append(try NodeState(xml: XMLElement(name: "node_state", attributes: [
                .init(name: "id", value: nodeID ?? node), .init(name: "uname", value: node),
            ])))
            nodeIndex = status.nodeStates.count - 1
        }
        var state = status.nodeStates[nodeIndex!]
        var lrm: LocalResourceManager
        if let existing = state.lrm {
            lrm = existing
        } else {
            lrm = try LocalResourceManager(xml: XMLElement(name: "lrm", attributes: [.init(name: "id", value: nodeID ?? node)]))
        }
        if !lrm.hasResourcesElement { lrm.hasResourcesElement = true }
        var resourceIndex = lrm.resources.firstIndex { $0.id == resource.id }
        if resourceIndex == nil {
            var attributes: [XMLElement.Attribute] = [.init(name: "id", value: resource.id), .init(name: "type", value: resource.type),
                                                      .init(name: "class", value: resource.standard.rawValue)]
            if let provider = resource.provider { attributes.append(.init(name: "provider", value: provider)) }
            lrm.resources.append(try LRMResource(xml: XMLElement(name: "lrm_resource", attributes: attributes)))
            resourceIndex = lrm.resources.count - 1
        }
        var history = lrm.resources[resourceIndex!]
        let key = operation.key
        if operation.interval > .zero {
            let failed = result.verdict.status != .cancelled && result.verdict.status != .pending
                && (result.verdict.status != .done || result.verdict.rc.rawValue != result.targetRC)
            if failed {
                // pcmk__create_history_xml: a failed recurring op is recorded as
                // RSC_last_failure_0 alone; its own entry keeps its last good result (as in
                // the conformance suite's CIBs: 67 such pairs, none with the failure in both).
                let failureID = "\(resource.id)_last_failure_0"
                history.operations.removeAll { $0.id == failureID }
                history.operations.append(try entry(result, id: failureID, node: node, wallClockSeconds: wallClockSeconds, previous: nil))
            } else {
                history.operations.removeAll { $0.id == key }
                if result.verdict.status != .cancelled {
                    history.operations.append(try entry(result, id: key, node: node, wallClockSeconds: wallClockSeconds, previous: nil))
                }
            }
        } else {
            let lastID = "\(resource.id)_last_0"
            let previous = history.operations.first { $0.id == lastID }
            history.operations.removeAll { $0.id == lastID }
            history.operations.append(try entry(result, id: lastID, node: node, wallClockSeconds: wallClockSeconds, previous: previous))
            // A pending op (record-pending: the controller's "in flight" entry) is no failure.
            let failed = result.verdict.status != .pending
                && (result.verdict.status != .done || result.verdict.rc.rawValue != result.targetRC)
            if failed {
                let failureID = "\(resource.id)_last_failure_0"
                history.operations.removeAll { $0.id == failureID }
                history.operations.append(try entry(result, id: failureID, node: node, wallClockSeconds: wallClockSeconds, previous: nil))
            }
        }
        lrm.resources[resourceIndex!] = history
        state.lrm = lrm
        status.nodeStates[nodeIndex!] = state
    }

    /// One lrm_rsc_op entry for `result`.
    public static func entry(
        _ result: OperationResult, id: String, node: String, wallClockSeconds: Int, previous: LRMOperation?
    ) throws(CIBError) -> LRMOperation {
        let operation = result.operation
        let verdict = result.verdict
        let intervalMilliseconds = operation.interval.milliseconds
        var digestParameters = operation.resource.parameters
        if intervalMilliseconds > 0 { digestParameters["CRM_meta_timeout"] = String(operation.timeout.milliseconds) }
        let lastRCChange = previous.flatMap { $0.rcCode == verdict.rc.rawValue ? $0.lastRCChange : nil } ?? wallClockSeconds
        var attributes: [(String, String?)] = [
            ("id", id), ("operation_key", operation.key), ("operation", operation.action),
            ("crm-debug-origin", "do_update_resource"), ("crm_feature_set", operation.featureSet),
            ("transition-key", operation.transitionKey),
            ("transition-magic", operation.transitionKey.map { "\(verdict.status.rawValue):\(verdict.rc.rawValue);\($0)" }),
            ("exit-reason", verdict.exitReason ?? ""), ("on_node", node), ("call-id", String(result.callID.value)),
            ("rc-code", String(verdict.rc.rawValue)), ("op-status", String(verdict.status.rawValue)),
            ("interval", String(intervalMilliseconds)), ("last-rc-change", String(lastRCChange)),
        ]
        if intervalMilliseconds == 0 { attributes.append(("last-run", String(wallClockSeconds))) }
        attributes += [
            ("exec-time", String(result.execTime.milliseconds)), ("queue-time", String(result.queueTime.milliseconds)),
            ("op-digest", parameterDigest(digestParameters)),
        ]
        let element = XMLElement(name: "lrm_rsc_op", attributes: attributes.compactMap { name, value in
            value.map { XMLElement.Attribute(name: name, value: $0) }
        })
        return try LRMOperation(xml: element)
    }
}
