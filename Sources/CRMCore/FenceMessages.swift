import CIB
import TicketWire

/// Fencing in baton-crmd (issue 14, point 2; CRM-LIVE.md §1.5, Pacemaker's pacemaker-fenced):
/// the CIB's stonith resources are known to every node's fencer; a fence action (the DC's
/// graph, or an admin's `baton crm fence`) is sent to one node that can run a device for the
/// target, never the target itself; that node runs the agents (ExecutorShell's FenceRunner)
/// and broadcasts the result, which every member records in the same order:
///
/// | message        | from                     | every member                                           |
/// |----------------|--------------------------|--------------------------------------------------------|
/// | fenceRequest   | the DC (its graph) or an | the executing node it names runs the devices (levels   |
/// |                | admin's node             | of fencing-topology, else each device in CIB order)    |
/// | fenceResult    | the executing node (or   | fence history (bounded); on success the target is      |
/// |                | an admin's confirm-down) | fenced: not lost any more (expected=down), its resource|
/// |                |                          | history and attributes dropped; the DC's graph hears it|
///
/// A node that leaves the group without having asked to (no `shutdown` attribute) is lost: its
/// node_state says expected="member" while in_ccm="false", which the scheduler fences (with
/// stonith-enabled) before anything it ran starts elsewhere.

/// Fence `target` (a nodelist name) with `action` (reboot, off, on), run by `executor`.
public struct FenceRequest: Hashable, Sendable {
    public var view: UInt64
    public var executor: NodeID
    public var target: String
    public var action: String
    /// The DC's transition key for a graph's fence action; "admin:NODE:N" for an admin's.
    public var key: String
    /// stonith-timeout: the agents' default action timeout, milliseconds.
    public var timeoutMilliseconds: UInt64

    public init(view: UInt64, executor: NodeID, target: String, action: String, key: String, timeoutMilliseconds: UInt64) {
        self.view = view
        self.executor = executor
        self.target = target
        self.action = action
        self.key = key
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// One fence action's outcome, as every member keeps it (stonith_admin --history).
public struct FenceRecord: Hashable, Sendable, Codable {
    public var executor: NodeID
    public var target: String
    public var action: String
    /// The device that fenced (or the last one tried); "confirm-down" for an admin's.
    public var device: String
    public var succeeded: Bool
    public var reason: String
    /// The request's key (an admin's for a confirm-down).
    public var key: String
    /// When the executing node finished, seconds since the epoch.
    public var wallClockSeconds: UInt64

    public init(executor: NodeID, target: String, action: String, device: String, succeeded: Bool, reason: String, key: String,
                wallClockSeconds: UInt64) {
        self.executor = executor
        self.target = target
        self.action = action
        self.device = device
        self.succeeded = succeeded
        self.reason = reason
        self.key = key
        self.wallClockSeconds = wallClockSeconds
    }

    /// An action that leaves the target down (off, reboot; an admin's confirmation).
    public var downsTarget: Bool { action != "on" }

    /// One line of `baton crm fence --history`.
    public var line: String {
        "\(target) \(action) by \(device) on node \(executor): \(succeeded ? "ok" : "FAILED (\(reason))") at \(wallClockSeconds)"
    }
}

/// The stonith devices of a CIB and the order to try them for a target, from the XML alone.
public struct FencePlan: Sendable, Equatable {
    public struct Device: Sendable, Equatable {
        public var id: String
        public var agent: String
        public var parameters: [String: String]
    }

    /// Every top-level stonith primitive, in CIB order.
    public var devices: [Device] = []
    /// fencing-topology: target → levels (by index), each a list of device ids.
    public var levels: [String: [[String]]] = [:]

    public init(devices: [Device] = [], levels: [String: [[String]]] = [:]) {
        self.devices = devices
        self.levels = levels
    }

    /// The CIB's `<cib>` document (or its `<configuration>`).
    public init(cib document: XMLElement) {
        let configuration = document.name == "configuration" ? document : document.children.first { $0.name == "configuration" }
        guard let configuration else { return }
        for resources in configuration.children where resources.name == "resources" {
            for primitive in resources.children where primitive.name == "primitive" && primitive["class"] == "stonith" {
                guard let id = primitive["id"], let agent = primitive["type"] else { continue }
                var parameters: [String: String] = [:]
                for set in primitive.children where set.name == "instance_attributes" {
                    for pair in set.children where pair.name == "nvpair" {
                        if let name = pair["name"], let value = pair["value"] { parameters[name] = value }
                    }
                }
                devices.append(Device(id: id, agent: agent, parameters: parameters))
            }
        }
        var indexed: [String: [(Int, [String])]] = [:]
        for topology in configuration.children where topology.name == "fencing-topology" {
            for level in topology.children where level.name == "fencing-level" {
                guard let target = level["target"], let index = Int(level["index"] ?? ""), let list = level["devices"] else { continue }
                indexed[target, default: []].append((index, list.split(separator: ",").map(String.init)))
            }
        }
        levels = indexed.mapValues { $0.sorted { $0.0 < $1.0 }.map(\.1) }
    }

    /// What to try for `target`, in order: each entry a set of devices that must all succeed
    /// (a topology level), or one device each when the target has no levels.
    public func attempts(for target: String) -> [[Device]] {
        if let targetLevels = levels[target], !targetLevels.isEmpty {
            return targetLevels.map { ids in ids.compactMap { id in devices.first { $0.id == id } } }.filter { !$0.isEmpty }
        }
        return devices.map { [$0] }
    }

    /// The node that runs a fence of `target`: the first of `candidates` (the DC first, then
    /// the other joined members) that is not the target; nil when there is none or no device.
    public func executor(for target: NodeID, candidates: [NodeID]) -> NodeID? {
        guard !devices.isEmpty else { return nil }
        return candidates.first { $0 != target }
    }
}

extension MessageWire {
    static func writeFenceRequest(_ request: FenceRequest, into writer: inout ByteWriter) {
        writer.u64(request.view)
        writer.u32(request.executor.rawValue)
        for text in [request.target, request.action, request.key] { writer.string(text.validPrefix(nameBytesMax), lengthMax: nameBytesMax) }
        writer.u64(request.timeoutMilliseconds)
    }

    static func readFenceRequest(_ reader: inout ByteReader) throws(WireError) -> FenceRequest {
        let view = try reader.u64("fence.view")
        let executor = NodeID(try reader.u32("fence.executor"))
        var texts: [String] = []
        for name in ["target", "action", "key"] { texts.append(try reader.string("fence." + name, lengthMax: nameBytesMax)) }
        return FenceRequest(view: view, executor: executor, target: texts[0], action: texts[1], key: texts[2],
                            timeoutMilliseconds: try reader.u64("fence.timeout"))
    }

    static func writeFenceRecord(_ record: FenceRecord, into writer: inout ByteWriter) {
        writer.u32(record.executor.rawValue)
        for text in [record.target, record.action, record.device, record.key] {
            writer.string(text.validPrefix(nameBytesMax), lengthMax: nameBytesMax)
        }
        writer.bool(record.succeeded)
        writer.string(record.reason.validPrefix(valueBytesMax), lengthMax: valueBytesMax)
        writer.u64(record.wallClockSeconds)
    }

    static func readFenceRecord(_ reader: inout ByteReader) throws(WireError) -> FenceRecord {
        let executor = NodeID(try reader.u32("fenced.executor"))
        var texts: [String] = []
        for name in ["target", "action", "device", "key"] { texts.append(try reader.string("fenced." + name, lengthMax: nameBytesMax)) }
        let succeeded = try reader.bool("fenced.succeeded")
        let reason = try reader.string("fenced.reason", lengthMax: valueBytesMax)
        return FenceRecord(executor: executor, target: texts[0], action: texts[1], device: texts[2], succeeded: succeeded, reason: reason,
                           key: texts[3], wallClockSeconds: try reader.u64("fenced.wallClock"))
    }
}

extension NodeCore {
    /// Fence records every member keeps (oldest dropped first).
    public static let fenceHistoryMax = 500

    /// A fence request delivered: this node runs it when it is the executor named. A request
    /// to bring down a target that another request in flight is already bringing down (an
    /// admin's `baton crm fence`, then the DC's graph for the node lost meanwhile) is merged
    /// with it, as Pacemaker's fencer merges identical requests: the target is fenced once, and
    /// the executor named answers the later request with the earlier one's result. Every
    /// member keeps the requests in flight alike (they come in the group's order).
    mutating func receivedFenceRequest(_ request: FenceRequest, from sender: Member) -> [Directive] {
        guard let view else { return ignored() }
        guard settled, request.view == view.fingerprint else {
            return ignored() + notDelivered(request.key, sentBy: sender, stamped: request.view, view: view)
        }
        guard fencesInFlight[request.key] == nil else { return [] }
        fencesInFlight[request.key] = request
        fenceArrivals += 1
        fenceArrival[request.key] = fenceArrivals
        if request.action != "on" {
            if let running = fencesRunning[request.target] {
                if request.executor == local.nodeID { mergedFences[running, default: []].append(request) }
                return []
            }
            fencesRunning[request.target] = request.key
        }
        return request.executor == local.nodeID ? [.fence(request)] : []
    }

    /// At a view change: a request whose executor left is answered by no one; the request
    /// that came next for the same target runs instead, by its own executor.
    mutating func fencesOfLeftExecutors(next: View) -> [Directive] {
        var directives: [Directive] = []
        for (key, request) in fencesInFlight where !next.nodeIDs.contains(request.executor) {
            fencesInFlight[key] = nil
            fenceArrival[key] = nil
            guard fencesRunning[request.target] == key else { continue }
            fencesRunning[request.target] = nil
            let waiting = mergedFences.removeValue(forKey: key) ?? []
            let successor = fencesInFlight.values
                .filter { $0.target == request.target && $0.action != "on" && next.nodeIDs.contains($0.executor) }
                .min { (fenceArrival[$0.key] ?? 0) < (fenceArrival[$1.key] ?? 0) }
            guard let successor else { continue }
            fencesRunning[request.target] = successor.key
            for merged in waiting where merged.key != successor.key { mergedFences[successor.key, default: []].append(merged) }
            if successor.executor == local.nodeID { directives.append(.fence(successor)) }
        }
        return directives
    }

    /// A fence result delivered (every member alike): recorded; a target brought down is
    /// fenced: not lost any more, seen (down), its resource history and attributes dropped (its
    /// resources are stopped; what it runs when it comes back is probed).
    mutating func recordFence(_ record: FenceRecord, from sender: Member) -> [Directive] {
        guard record.executor == sender.nodeID else { return ignored() }
        fenceHistory.append(record)
        if fenceHistory.count > Self.fenceHistoryMax { fenceHistory.removeFirst(fenceHistory.count - Self.fenceHistoryMax) }
        if record.succeeded && record.downsTarget, let node = settings.nodelist.first(where: { $0.name == record.target }) {
            lostNodes.remove(node.nodeID)
            // Its state is known now (down): a node never seen (startup fencing) gets its
            // node_state, expected="down", or the scheduler would find it unclean again.
            seen.insert(node.nodeID)
            if !(view?.nodeIDs.contains(node.nodeID) ?? false) {
                attributes[node.nodeID] = nil
                if let index = resourceStatus.nodeStates.firstIndex(where: { $0.uname == record.target }) {
                    resourceStatus.nodeStates[index].lrm = nil
                }
            }
        }
        var directives: [Directive] = [.fenceRecorded(record)]
        fencesInFlight[record.key] = nil
        fenceArrival[record.key] = nil
        if fencesRunning[record.target] == record.key { fencesRunning[record.target] = nil }
        for merged in mergedFences.removeValue(forKey: record.key) ?? [] {
            directives.append(.broadcast(.fenceResult(FenceRecord(
                executor: local.nodeID, target: merged.target, action: merged.action, device: record.device, succeeded: record.succeeded,
                reason: "merged with \(record.key): \(record.reason)", key: merged.key, wallClockSeconds: record.wallClockSeconds))))
        }
        return directives
    }

    /// At a view change, before the left nodes' attributes go: a node that leaves without
    /// having asked to (`shutdown`) is lost (unclean until fenced); one that is back is not.
    mutating func noteLostNodes(next: View, left: [Member]) {
        for node in Set(left.map(\.nodeID)) where !next.nodeIDs.contains(node) {
            let joined = joinedMembers.contains { $0.nodeID == node }
            let shutdown = attributes[node]?["shutdown"].map { !$0.isEmpty && $0 != "0" } ?? false
            if joined && !shutdown { lostNodes.insert(node) }
        }
        lostNodes.subtract(next.nodeIDs)
    }

    /// An admin's confirmation that `target` is down (stonith_admin --confirm): a successful
    /// fence record from this node, without a device.
    /// `key` comes back in the record (the admin's reply waits for it).
    public func confirmDown(_ target: String, key: String, wallClockSeconds: UInt64) throws(RequestError) -> [Directive] {
        guard settings.nodelist.contains(where: { $0.name == target }) else { throw .invalid("no node named \(target) in the nodelist") }
        guard settled else { throw .invalid("this node has not joined a settled group yet") }
        return [.broadcast(.fenceResult(FenceRecord(executor: local.nodeID, target: target, action: "off", device: "confirm-down",
                                                    succeeded: true, reason: "confirmed down by an admin", key: key,
                                                    wallClockSeconds: wallClockSeconds)))]
    }
}
