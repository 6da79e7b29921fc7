import CCorosync
import Dispatch
import Synchronization

/// A member of a process group: a process (pid) on a node.
public struct GroupMember: Hashable, Sendable, Codable, CustomStringConvertible {
    public let nodeID: NodeID
    public let pid: UInt32
    public init(nodeID: NodeID, pid: UInt32) {
        self.nodeID = nodeID
        self.pid = pid
    }
    public var description: String { "\(nodeID)/\(pid)" }
}

/// Why a member joined or left (`cpg_reason_t`).
public enum MembershipReason: UInt32, Sendable, Codable, CustomStringConvertible {
    case undefined = 0
    case join = 1
    case leave = 2
    case nodeDown = 3
    case nodeUp = 4
    case processDown = 5

    public var description: String {
        switch self {
        case .undefined: "undefined"
        case .join: "join"
        case .leave: "leave"
        case .nodeDown: "nodedown"
        case .nodeUp: "nodeup"
        case .processDown: "procdown"
        }
    }
}

/// A message delivered to the group, in the group's one total (agreed) order.
public struct GroupMessage: Hashable, Sendable {
    public let sender: GroupMember
    public let bytes: [UInt8]
}

/// A change of the group's membership (`cpg_confchg_fn_t`).
public struct GroupMembershipChange: Hashable, Sendable {
    public struct Change: Hashable, Sendable {
        public let member: GroupMember
        public let reason: MembershipReason
    }
    public let members: [GroupMember]
    public let joined: [Change]
    public let left: [Change]
    /// The latest totem ring this handle had seen when the change was delivered; nil before
    /// the first `.totem` event. corosync delivers a node-level change (nodedown, nodeup)
    /// before the `.totem` event of the new ring, so for those this is the previous ring and
    /// the `.totem` event that follows carries the new one.
    public let ringID: RingID?
}

/// A change of the totem ring under the group (`cpg_totem_confchg_fn_t`): all cluster nodes.
public struct TotemMembership: Hashable, Sendable {
    public let ringID: RingID
    public let nodes: [NodeID]
}

/// A Corosync closed process group (libcpg): one handle, one group.
///
/// Why a class: it owns a library handle (like a file descriptor): call `close()` (or stop
/// consuming `events`, which closes it); until then the handle keeps this object alive. It is Sendable because
/// every stored property is a `let` of a Sendable type; mutable state lives in a `Mutex`;
/// every C call runs on the handle's serial queue.
public final class ProcessGroup: Sendable {
    public enum Event: Hashable, Sendable {
        case message(GroupMessage)
        case membership(GroupMembershipChange)
        case totem(TotemMembership)
    }

    public struct Options: Sendable, Hashable {
        /// Refused before sending when larger (bytes).
        public var messageBytesMax: Int
        /// Events buffered for a slow consumer before the sequence ends with an overflow.
        public var eventBufferLimit: Int
        public var retry: RetryPolicy
        public init(messageBytesMax: Int = 1 << 20, eventBufferLimit: Int = 100_000, retry: RetryPolicy = RetryPolicy()) {
            precondition(messageBytesMax >= 1, "ProcessGroup.Options: messageBytesMax must be positive")
            self.messageBytesMax = messageBytesMax
            self.eventBufferLimit = eventBufferLimit
            self.retry = retry
        }
    }

    /// The group's name (at most 127 bytes).
    public let name: String
    public let options: Options
    /// This node's id (`cpg_local_get`).
    public let localNodeID: NodeID
    /// Single consumer. Ends with a `CorosyncError` (`CS_ERR_LIBRARY` when corosync goes away).
    public var events: AsyncThrowingStream<Event, any Error> { pump.stream }

    static let nameBytesMax = Int(CPG_MAX_NAME_LENGTH) - 1

    private let handle: cpg_handle_t
    private let pump: EventPump<Event>
    private let ringID = Mutex<RingID?>(nil)

    private init(name: String, options: Options, handle: cpg_handle_t, localNodeID: NodeID, queue: DispatchQueue) {
        self.name = name
        self.options = options
        self.handle = handle
        self.localNodeID = localNodeID
        self.pump = EventPump(queue: queue, bufferLimit: options.eventBufferLimit)
    }

    /// Connects to the local corosync and joins `name`. Retries CS_ERR_TRY_AGAIN.
    public static func join(_ name: String, options: Options = Options()) async throws(CorosyncError) -> ProcessGroup {
        guard !name.isEmpty, name.utf8.count <= nameBytesMax else { throw CorosyncError.invalidName(name, limit: nameBytesMax) }
        let queue = DispatchQueue(label: "baton.corosync.cpg")
        let group = try await retryingTryAgain("cpg_model_initialize", policy: options.retry) { () async throws(CorosyncError) -> ProcessGroup in
            try await queue.call { () throws(CorosyncError) -> ProcessGroup in try open(name: name, options: options, queue: queue) }
        }
        do {
            try await retryingTryAgain("cpg_join", policy: options.retry) { () async throws(CorosyncError) in
                try await group.onQueue { handle throws(CorosyncError) in
                    var groupName = group.cName()
                    try check(cpg_join(handle, &groupName), "cpg_join")
                }
            }
        } catch {
            await group.close()
            throw error
        }
        return group
    }

    /// On `queue`: initialize the handle, attach this object as its context, watch its fd.
    private static func open(name: String, options: Options, queue: DispatchQueue) throws(CorosyncError) -> ProcessGroup {
        var handle: cpg_handle_t = 0
        var model = cpg_model_v1_data_t()
        model.model = CPG_MODEL_V1
        model.flags = UInt32(CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF)
        model.cpg_deliver_fn = { handle, _, nodeID, pid, message, length in
            guard let group = ProcessGroup.from(handle) else { return }
            let bytes = message.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
            group.pump.yield(.message(GroupMessage(sender: GroupMember(nodeID: NodeID(nodeID), pid: pid), bytes: bytes)))
        }
        model.cpg_confchg_fn = { handle, _, members, membersCount, left, leftCount, joined, joinedCount in
            guard let group = ProcessGroup.from(handle) else { return }
            let member = { (address: cpg_address) in GroupMember(nodeID: NodeID(address.nodeid), pid: address.pid) }
            let change = { (address: cpg_address) in
                GroupMembershipChange.Change(member: member(address), reason: MembershipReason(rawValue: address.reason) ?? .undefined)
            }
            group.pump.yield(.membership(GroupMembershipChange(
                members: copyArray(members, membersCount, member),
                joined: copyArray(joined, joinedCount, change),
                left: copyArray(left, leftCount, change),
                ringID: group.ringID.withLock { $0 })))
        }
        model.cpg_totem_confchg_fn = { handle, ring, count, nodes in
            guard let group = ProcessGroup.from(handle) else { return }
            let ringID = RingID(nodeID: NodeID(ring.nodeid), sequence: ring.seq)
            group.ringID.withLock { $0 = ringID }
            group.pump.yield(.totem(TotemMembership(ringID: ringID, nodes: copyArray(nodes, Int(count), { NodeID($0) }))))
        }
        let status = withUnsafeMutablePointer(to: &model) { pointer in
            pointer.withMemoryRebound(to: cpg_model_data_t.self, capacity: 1) { cpg_model_initialize(&handle, CPG_MODEL_V1, $0, nil) }
        }
        try check(status, "cpg_model_initialize")
        var localNodeID: UInt32 = 0
        var fd: Int32 = -1
        try finalizingOnFailure({ _ = cpg_finalize(handle) }) { () throws(CorosyncError) in
            try check(cpg_local_get(handle, &localNodeID), "cpg_local_get")
            try check(cpg_fd_get(handle, &fd), "cpg_fd_get")
        }
        let opened = handle
        let group = ProcessGroup(name: name, options: options, handle: opened, localNodeID: NodeID(localNodeID), queue: queue)
        group.pump.attach(group, library: "cpg", fd: fd, setContext: { _ = cpg_context_set(opened, $0) },
                          dispatch: { cpg_dispatch(opened, CS_DISPATCH_ALL) }, finalize: { _ = cpg_finalize(opened) })
        return group
    }

    /// Recovers the group from a handle's context, inside a C callback.
    private static func from(_ handle: cpg_handle_t) -> ProcessGroup? {
        var context: UnsafeMutableRawPointer?
        guard cpg_context_get(handle, &context) == CS_OK, let context else { return nil }
        return Unmanaged<ProcessGroup>.fromOpaque(context).takeUnretainedValue()
    }

    private func cName() -> cpg_name {
        var groupName = cpg_name()
        let bytes = Array(name.utf8)
        precondition(bytes.count <= ProcessGroup.nameBytesMax, "ProcessGroup: name checked at join")
        groupName.length = UInt32(bytes.count)
        withUnsafeMutableBytes(of: &groupName.value) { buffer in
            buffer.copyBytes(from: bytes)
        }
        return groupName
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable (cpg_handle_t) throws(CorosyncError) -> T) async throws(CorosyncError) -> T {
        let handle = self.handle
        let pump = self.pump
        return try await pump.queue.call { () throws(CorosyncError) -> T in
            guard !pump.isStopped else { throw CorosyncError.closed }
            return try body(handle)
        }
    }

    /// Multicasts `bytes` to the group in agreed (total) order. Retries CS_ERR_TRY_AGAIN
    /// (flow control) with the bounded back-off of `options.retry`.
    public func send(_ bytes: [UInt8]) async throws(CorosyncError) {
        guard bytes.count <= options.messageBytesMax else {
            throw CorosyncError.messageTooLarge(bytes: bytes.count, limit: options.messageBytesMax)
        }
        try await retryingTryAgain("cpg_mcast_joined", policy: options.retry) { () async throws(CorosyncError) in
            try await onQueue { handle throws(CorosyncError) in
                let status = bytes.withUnsafeBytes { buffer in
                    var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: buffer.count)
                    return cpg_mcast_joined(handle, CPG_TYPE_AGREED, &vector, 1)
                }
                try check(status, "cpg_mcast_joined")
            }
        }
    }

    /// The group's current members (`cpg_membership_get`).
    public func members() async throws(CorosyncError) -> [GroupMember] {
        return try await onQueue { [self] handle throws(CorosyncError) in
            var groupName = cName()
            var list = [cpg_address](repeating: cpg_address(), count: Int(CPG_MEMBERS_MAX))
            var count = Int32(CPG_MEMBERS_MAX)
            try check(cpg_membership_get(handle, &groupName, &list, &count), "cpg_membership_get")
            precondition(count >= 0 && count <= CPG_MEMBERS_MAX, "cpg_membership_get returned \(count) members")
            return list.prefix(Int(count)).map { GroupMember(nodeID: NodeID($0.nodeid), pid: $0.pid) }
        }
    }

    /// The largest message corosync delivers without fragmenting (`cpg_max_atomic_msgsize_get`).
    public func atomicMessageBytesMax() async throws(CorosyncError) -> Int {
        try await onQueue { handle throws(CorosyncError) in
            var size: UInt32 = 0
            try check(cpg_max_atomic_msgsize_get(handle, &size), "cpg_max_atomic_msgsize_get")
            return Int(size)
        }
    }

    /// Leaves the group; the handle stays open until `close()` (its events show the leave).
    public func leave() async throws(CorosyncError) {
        try await retryingTryAgain("cpg_leave", policy: options.retry) { () async throws(CorosyncError) in
            try await onQueue { [self] handle throws(CorosyncError) in
                var groupName = cName()
                try check(cpg_leave(handle, &groupName), "cpg_leave")
            }
        }
    }

    /// Finalizes the handle (which also leaves the group) and ends `events` normally.
    /// Idempotent.
    public func close() async {
        let pump = self.pump
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pump.queue.async {
                pump.stopOnQueue(nil)
                continuation.resume()
            }
        }
    }

    /// A new group handle with the same name and options, once corosync answers again:
    /// the reconnect helper for `CS_ERR_LIBRARY`.
    public func rejoin(within timeLimit: Duration = .seconds(30)) async throws(CorosyncError) -> ProcessGroup {
        await close()
        let name = self.name
        let options = self.options
        return try await Reconnect.retrying(for: timeLimit) { () async throws(CorosyncError) in
            try await ProcessGroup.join(name, options: options)
        }
    }
}
