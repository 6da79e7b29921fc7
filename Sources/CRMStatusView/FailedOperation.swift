import CIB

/// One failed operation as crm_mon lists it under "Failed Resource Actions" (Pacemaker's
/// record_failed_op in unpack.c: failures recorded on online nodes, one per operation key and
/// node, in the order the status is unpacked — cluster nodes, then remote ones).
public struct FailedOperation: Sendable, Equatable, Codable {
    public var node: String
    /// The operation key (`rsc_monitor_10000`).
    public var key: String
    public var resource: String
    public var task: String
    public var intervalMilliseconds: Int
    public var rc: Int
    public var status: Int
    public var exitReason: String?
    public var lastRCChange: Int?
    public var execMilliseconds: Int?
    public var queueMilliseconds: Int?
    public var callID: Int?
    /// A probe finding the agent missing or misconfigured: recorded, not listed
    /// (pcmk_xe_mask_probe_failure).
    public var isMaskedProbe: Bool

    /// Every failure the status records, in Pacemaker's order.
    static func all(in cib: CIB, onlineNodes: Set<String>) -> [FailedOperation] {
        let remoteNames = Set(cib.configuration.nodes.filter { $0.type == "remote" }.map(\.uname))
        let states = cib.status.nodeStates.filter { !remoteNames.contains($0.uname ?? "") }
            + cib.status.nodeStates.filter { remoteNames.contains($0.uname ?? "") }
        var result: [FailedOperation] = []
        var seen = Set<String>()
        for state in states {
            guard let node = state.uname, onlineNodes.contains(node), let lrm = state.lrm else { continue }
            for resource in lrm.resources {
                let ordered = resource.operations.enumerated().sorted { lhs, rhs in
                    let left = lhs.element.callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max
                    let right = rhs.element.callID.map { $0 < 0 ? Int.max : $0 } ?? Int.max
                    return left != right ? left < right : lhs.offset < rhs.offset
                }.map(\.element)
                for operation in ordered {
                    guard let failure = FailedOperation(operation, resourceID: resource.id, node: node) else { continue }
                    guard seen.insert("\(failure.key)\u{0}\(node)").inserted else { continue }
                    result.append(failure)
                }
            }
        }
        precondition(result.count == seen.count, "failed operations: one per key and node")
        return result
    }

    /// The failure this history entry records, or nil when it records none.
    init?(_ operation: LRMOperation, resourceID: String, node: String) {
        let status = operation.opStatus ?? 0
        // Pending, or cancelled: nothing failed (yet).
        guard status != -1, status != 1, operation.callID != -1, let recordedRC = operation.rcCode else { return nil }
        let isProbe = operation.operation == "monitor" && operation.interval == 0
        let expected = Self.expectedRC(operation.transitionKey)
        var failed: Bool
        // A degraded monitor is recorded as a failure, then read as its healthy counterpart.
        if operation.operation == "monitor" && (recordedRC == 190 || recordedRC == 191) {
            failed = true
        } else if status == 0 || status == 4 {
            if recordedRC == expected && [0, 7, 8].contains(recordedRC) {
                failed = false
            } else if isProbe && [0, 7, 8].contains(recordedRC) {
                failed = false
            } else if operation.operation == "stop" && recordedRC == 7 {
                failed = false
            } else {
                failed = true
            }
        } else {
            failed = true
        }
        guard failed else { return nil }
        self.node = node
        self.key = operation.extraAttribute("operation_key") ?? operation.id
        let parsed = Self.parse(key: key)
        self.resource = parsed?.resource ?? "unknown resource"
        self.task = parsed?.task ?? "unknown action"
        self.intervalMilliseconds = parsed?.interval ?? 0
        self.rc = recordedRC
        self.status = status
        self.exitReason = operation.exitReason
        self.lastRCChange = operation.lastRCChange
        self.execMilliseconds = operation.extraAttribute("exec-time").flatMap { Int($0) }
        self.queueMilliseconds = operation.extraAttribute("queue-time").flatMap { Int($0) }
        self.callID = operation.callID
        self.isMaskedProbe = isProbe && (recordedRC == 5 || recordedRC == 2 || status == 7)
    }

    /// The rc the operation was expected to return: the third field of its transition key.
    static func expectedRC(_ transitionKey: String?) -> Int {
        guard let key = transitionKey else { return 0 }
        let fields = key.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 3, let rc = Int(fields[2]) else { return 0 }
        return rc
    }

    /// Pacemaker's parse_op_key: `RSC_TASK_INTERVAL`, where RSC may hold underscores and TASK
    /// may be `migrate_to`, `migrate_from` or `pre_notify_start`-like.
    static func parse(key: String) -> (resource: String, task: String, interval: Int)? {
        guard let last = key.lastIndex(of: "_"), let interval = Int(key[key.index(after: last)...]) else { return nil }
        let rest = key[..<last]
        for suffix in ["_migrate_to", "_migrate_from"] where rest.hasSuffix(suffix) && rest.count > suffix.count {
            return (String(rest.dropLast(suffix.count)), String(suffix.dropFirst()), interval)
        }
        for kind in ["_pre_notify_", "_post_notify_"] {
            // The last occurrence of the marker (the resource id may hold underscores).
            var index = rest.endIndex
            while index > rest.startIndex {
                index = rest.index(before: index)
                guard rest[index...].hasPrefix(kind), index > rest.startIndex else { continue }
                return (String(rest[..<index]), String(rest[rest.index(after: index)...]), interval)
            }
        }
        guard let split = rest.lastIndex(of: "_"), split > rest.startIndex else { return nil }
        return (String(rest[..<split]), String(rest[rest.index(after: split)...]), interval)
    }

    /// pe_output.c's failed_action_friendly.
    func friendlyText(timeText: (Int) -> String) -> String {
        var text = "\(resource) "
        if intervalMilliseconds != 0 { text += "\(Self.readableInterval(intervalMilliseconds))-interval " }
        text += "\(task == "monitor" && intervalMilliseconds == 0 ? "probe" : task) on \(node)"
        if status == 0 {
            text += " returned '\(Self.exitText(rc))'"
            if let reason = exitReason, !reason.isEmpty { text += " (\(reason))" }
        } else {
            text += " could not be executed (\(Self.statusText(status))"
            if let reason = exitReason, !reason.isEmpty { text += ": \(reason)" }
            text += ")"
        }
        if let change = lastRCChange { text += " at \(timeText(change))" }
        if let exec = execMilliseconds, exec > 0 { text += " after \(Self.readableInterval(exec))" }
        return text
    }

    /// pcmk__readable_interval (its comparisons are strict: 1000 ms prints as "1000ms").
    static func readableInterval(_ milliseconds: Int) -> String {
        var rest = max(milliseconds, 0)
        var text = ""
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)] where rest > size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        if rest > 1000 {
            text += "\(rest / 1000)"
            let fraction = rest % 1000
            if fraction > 0 { text += "." + String(String(fraction + 1000).dropFirst()) }
            text += "s"
        } else if rest > 0 {
            text += "\(rest)ms"
        } else if text.isEmpty {
            text = "0s"
        }
        return text
    }

    /// services_ocf_exitcode_str.
    static func exitText(_ rc: Int) -> String {
        switch rc {
        case 0: return "ok"
        case 1: return "error"
        case 2: return "invalid parameter"
        case 3: return "unimplemented feature"
        case 4: return "insufficient privileges"
        case 5: return "not installed"
        case 6: return "not configured"
        case 7: return "not running"
        case 8: return "promoted"
        case 9: return "promoted (failed)"
        case 190: return "OCF_DEGRADED"
        case 191: return "promoted (degraded)"
        case 194: return "interrupted by signal (DEPRECATED STATUS)"
        case 195: return "not supported (DEPRECATED STATUS)"
        case 196: return "pending (DEPRECATED STATUS)"
        case 197: return "cancelled (DEPRECATED STATUS)"
        case 198: return "timeout (DEPRECATED STATUS)"
        case 199: return "other error (DEPRECATED STATUS)"
        default: return "unknown"
        }
    }

    /// pcmk_exec_status_str.
    static func statusText(_ status: Int) -> String {
        switch status {
        case -1: return "pending"
        case 0: return "complete"
        case 1: return "Cancelled"
        case 2: return "Timed Out"
        case 3: return "NOT SUPPORTED"
        case 4: return "Error"
        case 5: return "Hard error"
        case 6: return "Fatal error"
        case 7: return "Not installed"
        case 8: return "Internal communication failure"
        case 9: return "Cannot execute now"
        case 10: return "No fence device"
        case 11: return "CIB secrets unavailable"
        default: return "UNKNOWN!"
        }
    }
}
