import CIB
import Executor

/// Resource history in the node core (issue 14): what every node's executor did, recorded by
/// every member in the group's order, so that the status section (`cibQuery`'s lrm elements)
/// and the fail counts are the same everywhere and a new DC knows what runs where.
///
/// | message           | from            | every member                                              |
/// |-------------------|-----------------|-----------------------------------------------------------|
/// | executeResult     | the node it ran | records it as lrm_rsc_op (`OperationHistory.record`); a  |
/// |                   | on              | failure raises the node's fail-count and last-failure;   |
/// |                   |                 | `.resourceResult` for the DC's graph                      |
/// | resourceHistory   | each member, at | replaces what it held for the sender's node (a restarted |
/// |                   | the end of each | process reports none: its resources are probed); once    |
/// |                   | join round, in  | every member's came and the joins are acknowledged, the   |
/// |                   | chunks          | DC may schedule                                           |
///
/// record-pending (Pacemaker's default since 2.1.0): a node that takes a start, stop, promote,
/// demote or migration from the DC first broadcasts it as pending (op-status -1, rc 193), which
/// every member records as the resource's last op; its result replaces it. So a new DC's
/// scheduler sees what the old DC had in flight (a pending start counts as started there) and
/// does not plan it again elsewhere; the DC's graph ignores pending results.
///
/// Fail counts as Pacemaker's controller writes them (controld_te_events.c, update_failcount):
/// a failed start or stop sets INFINITY (failed-start-offset, failed-stop-offset), any other
/// failure adds 1; a probe that finds the resource stopped or running is no failure.
extension NodeCore {
    /// Every joined member's history of this view was taken: the status is complete.
    public var historyComplete: Bool {
        guard settled, let view else { return false }
        guard settings.runsResources else { return true }
        // And the DC's acknowledgement of the joins delivered: until then the status says
        // join="pending" and the scheduler would place nothing on those nodes.
        return joinedMembers.filter { view.contains($0) }.allSatisfy { historyReported.contains($0.nodeID) && acknowledged.contains($0) }
    }

    public func nodeName(_ node: NodeID) -> String {
        settings.nodelist.first { $0.nodeID == node }?.name ?? "node\(node)"
    }

    /// This node's executor result, to broadcast (counted until delivered back).
    public mutating func sendResult(_ result: ExecuteResult) -> [Directive] {
        precondition(result.node == local.nodeID, "NodeCore: a result of node \(result.node) sent by \(local.nodeID)")
        ownResultsInFlight += 1
        return [.broadcast(.executeResult(result))]
    }

    /// At the end of a round: this node's history report, once its own results in flight are
    /// delivered (a report built before one of them would erase it everywhere).
    mutating func reportHistoryWhenSettled() -> [Directive] {
        guard settings.runsResources, settled, let view else { return [] }
        guard ownResultsInFlight == 0 else {
            historyReportDue = true
            return []
        }
        historyReportDue = false
        return ownHistoryReports(view: view).map { .broadcast(.resourceHistory($0)) }
    }

    mutating func recordResult(_ message: ExecuteResult) -> [Directive] {
        if message.node == local.nodeID && ownResultsInFlight > 0 { ownResultsInFlight -= 1 }
        let report = historyReportDue && ownResultsInFlight == 0 ? reportHistoryWhenSettled() : []
        return recordOne(message) + report
    }

    private mutating func recordOne(_ message: ExecuteResult) -> [Directive] {
        guard let result = message.operationResult else { return ignored() }
        // A cancel's confirmation is for the graph only: the cancelled op's own report
        // (op-status cancelled) removes its entry.
        guard message.operation != "cancel" else { return [.resourceResult(message)] }
        let name = nodeName(message.node)
        do {
            try OperationHistory.record(result, into: &resourceStatus, node: name, nodeID: String(message.node.rawValue),
                                        wallClockSeconds: Int(clamping: message.wallClockSeconds))
        } catch {
            return ignored()
        }
        if message.resourceClass == "stonith", let index = resourceStatus.nodeStates.firstIndex(where: { $0.uname == name }),
           let entry = resourceStatus.nodeStates[index].lrm?.resources.firstIndex(where: { $0.id == message.resource }) {
            resourceStatus.nodeStates[index].lrm?.resources[entry].resourceClass = "stonith"
            resourceStatus.nodeStates[index].lrm?.resources[entry].provider = nil
        }
        countFailure(message)
        return [.resourceResult(message)]
    }

    private mutating func countFailure(_ result: ExecuteResult) {
        guard !result.succeeded, result.opStatus != ExecutionStatus.cancelled.rawValue, result.opStatus != ExecutionStatus.pending.rawValue,
              result.operation != "cancel" else { return }
        let probe = result.operation == "monitor" && result.intervalMilliseconds == 0
        if probe && result.opStatus == ExecutionStatus.done.rawValue
            && (result.rc == OCFReturnCode.ok.rawValue || result.rc == OCFReturnCode.notRunning.rawValue) { return }
        let interval = Int(clamping: result.intervalMilliseconds)
        let countName = AttributeName.failCount(resource: result.resource, operation: result.operation, intervalMilliseconds: interval)
        let lastName = AttributeName.lastFailure(resource: result.resource, operation: result.operation, intervalMilliseconds: interval)
        var store = attributes[result.node] ?? [:]
        guard store.count + 2 <= MessageWire.attributesMax || store[countName] != nil else { return }
        let value: String
        if result.operation == "start" || result.operation == "stop" {
            value = "INFINITY"
        } else {
            let previous = store[countName]
            value = previous == "INFINITY" ? "INFINITY" : String(min(1_000_000, (previous.flatMap { Int($0) } ?? 0) + 1))
        }
        store[countName] = value
        store[lastName] = String(result.wallClockSeconds)
        attributes[result.node] = store
    }

    /// The operations a node records as pending when it takes them (record-pending): one-shot
    /// actions that change where or how a resource runs (not probes, monitors or notifies).
    public static let recordedPending: Set<String> = ["start", "stop", "promote", "demote", "migrate_to", "migrate_from"]

    /// The pending result of `request` (op-status -1, rc 193), for `sendResult`.
    public static func pendingResult(of request: ExecuteRequest, node: NodeID, wallClockSeconds: UInt64) -> ExecuteResult? {
        guard request.intervalMilliseconds == 0, recordedPending.contains(request.operation) else { return nil }
        return ExecuteResult(node: node, transitionKey: request.transitionKey, action: request.action,
                             targetRC: Int(request.meta["op_target_rc"] ?? "") ?? 0, rc: OCFReturnCode.unknown.rawValue,
                             opStatus: ExecutionStatus.pending.rawValue, exitReason: "", callID: 0, execMilliseconds: 0,
                             queueMilliseconds: 0, wallClockSeconds: wallClockSeconds)
    }

    /// This node's own history, as it recorded it, for the round's report: its `<lrm>` text in
    /// chunks that fit a message each (a node running a few thousand resources has several
    /// megabytes of history; cut short, the others would probe every one of them again).
    mutating func ownHistoryReports(view: View) -> [ResourceHistoryReport] {
        let name = nodeName(local.nodeID)
        var lrm: [UInt8] = []
        if let element = resourceStatus.nodeStates.first(where: { $0.uname == name })?.lrm?.xml {
            lrm = Array(XMLCodec.serialize(element).utf8)
        }
        if lrm.count > SyncChunks.totalBytesMax { lrm = [] }  // over any document we read: probed again
        let chunks = SyncChunks.split(lrm, transfer: nextTransfer, messageBytesMax: MessageWire.cibPayloadBytesMax)
        nextTransfer += 1
        return chunks.map { ResourceHistoryReport(view: view.fingerprint, node: local.nodeID, part: $0.encoded()) }
    }

    mutating func takeHistory(_ report: ResourceHistoryReport) -> [Directive] {
        let whole: [UInt8]
        do {
            let chunk = try SyncChunks.Chunk(decoding: report.part)
            guard let done = try historyParts[report.node, default: .init()].add(chunk) else { return [] }
            historyParts[report.node] = nil
            whole = done
        } catch {
            historyParts[report.node] = nil
            return ignored()
        }
        let name = nodeName(report.node)
        var lrm: LocalResourceManager?
        if !whole.isEmpty {
            do {
                let element = try XMLCodec.parse(bytes: whole)
                guard element.name == "lrm" else { return ignored() }
                lrm = try LocalResourceManager(xml: element)
            } catch {
                return ignored()
            }
        }
        if let index = resourceStatus.nodeStates.firstIndex(where: { $0.uname == name }) {
            resourceStatus.nodeStates[index].lrm = lrm
        } else if let lrm {
            do {
                var state = try NodeState(xml: XMLElement(name: "node_state", attributes: [
                    .init(name: "id", value: String(report.node.rawValue)), .init(name: "uname", value: name),
                ]))
                state.lrm = lrm
                resourceStatus.nodeStates.append(state)
            } catch {
                return ignored()
            }
        }
        historyReported.insert(report.node)
        return [.resourcesChanged]
    }
}
