import CCorosync
import Dispatch
import Synchronization

/// votequorum's flags for a node (`VOTEQUORUM_INFO_*`).
public struct VoteQuorumFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let twoNode = VoteQuorumFlags(rawValue: 1)
    public static let quorate = VoteQuorumFlags(rawValue: 2)
    public static let waitForAll = VoteQuorumFlags(rawValue: 4)
    public static let lastManStanding = VoteQuorumFlags(rawValue: 8)
    public static let autoTieBreaker = VoteQuorumFlags(rawValue: 16)
    public static let allowDownscale = VoteQuorumFlags(rawValue: 32)
    public static let qdeviceRegistered = VoteQuorumFlags(rawValue: 64)
    public static let qdeviceAlive = VoteQuorumFlags(rawValue: 128)
    public static let qdeviceCastVote = VoteQuorumFlags(rawValue: 256)
    public static let qdeviceMasterWins = VoteQuorumFlags(rawValue: 512)

    /// The names corosync-quorumtool prints.
    public var names: [String] {
        let all: [(VoteQuorumFlags, String)] = [
            (.twoNode, "2Node"), (.quorate, "Quorate"), (.waitForAll, "WaitForAll"),
            (.lastManStanding, "LastManStanding"), (.autoTieBreaker, "AutoTieBreaker"),
            (.allowDownscale, "AllowDownscale"), (.qdeviceRegistered, "Qdevice"),
            (.qdeviceAlive, "QdeviceAlive"), (.qdeviceCastVote, "QdeviceCastVote"),
            (.qdeviceMasterWins, "QdeviceMasterWins"),
        ]
        return all.filter { contains($0.0) }.map(\.1)
    }
}

/// A node's state in votequorum (`VOTEQUORUM_NODESTATE_*`).
public enum VoteQuorumNodeState: UInt32, Hashable, Sendable {
    case unknown = 0
    case member = 1
    case dead = 2
    case leaving = 3
}

/// `struct votequorum_info`: one node's (or the qdevice's, node 0) votes and flags.
public struct VoteQuorumInfo: Hashable, Sendable {
    public let nodeID: NodeID
    public let state: VoteQuorumNodeState
    public let nodeVotes: UInt32
    public let expectedVotes: UInt32
    public let highestExpected: UInt32
    public let totalVotes: UInt32
    public let quorum: UInt32
    public let flags: VoteQuorumFlags
    public let qdeviceVotes: UInt32
    public let qdeviceName: String
}

/// A votequorum node list entry (quorum notification).
public struct VoteQuorumNode: Hashable, Sendable {
    public let nodeID: NodeID
    public let state: VoteQuorumNodeState
}

/// libvotequorum: vote arithmetic, expected votes, and the quorum-device (qdevice) calls.
///
/// Sendable: only `let`s of Sendable types plus a Mutex; every C call runs on the handle's
/// serial queue.
public final class VoteQuorum: Sendable {
    public enum Event: Hashable, Sendable {
        case quorum(quorate: Bool, nodes: [VoteQuorumNode])
        case nodeList(ringID: RingID, nodes: [NodeID])
        case expectedVotes(UInt32)
    }

    /// The node id votequorum uses for the quorum device.
    public static let qdeviceNodeID = NodeID(UInt32(VOTEQUORUM_QDEVICE_NODEID))
    static let qdeviceNameBytesMax = Int(VOTEQUORUM_QDEVICE_MAX_NAME_LEN) - 1

    /// Single consumer; empty unless `connect(track: true)`. Ends with a `CorosyncError`.
    public var events: AsyncThrowingStream<Event, any Error> { pump.stream }

    private let handle: votequorum_handle_t
    private let pump: EventPump<Event>
    private let retry: RetryPolicy
    private let latestRingID = Mutex<RingID?>(nil)

    private init(handle: votequorum_handle_t, queue: DispatchQueue, bufferLimit: Int, retry: RetryPolicy) {
        self.handle = handle
        self.pump = EventPump(queue: queue, bufferLimit: bufferLimit)
        self.retry = retry
    }

    /// Connects; with `track`, `events` carries the current state and every change.
    public static func connect(track: Bool = true, eventBufferLimit: Int = 10_000, retry: RetryPolicy = RetryPolicy()) async throws(CorosyncError) -> VoteQuorum {
        let queue = DispatchQueue(label: "baton.corosync.votequorum")
        return try await retryingTryAgain("votequorum_initialize", policy: retry) { () async throws(CorosyncError) -> VoteQuorum in
            try await queue.call { () throws(CorosyncError) -> VoteQuorum in
                try open(track: track, queue: queue, bufferLimit: eventBufferLimit, retry: retry)
            }
        }
    }

    private static func open(track: Bool, queue: DispatchQueue, bufferLimit: Int, retry: RetryPolicy) throws(CorosyncError) -> VoteQuorum {
        var handle: votequorum_handle_t = 0
        var callbacks = votequorum_callbacks_t()
        callbacks.votequorum_quorum_notify_fn = { handle, _, quorate, count, nodes in
            guard let voteQuorum = VoteQuorum.from(handle) else { return }
            let list = copyArray(nodes.map { UnsafePointer($0) }, Int(count)) {
                VoteQuorumNode(nodeID: NodeID($0.nodeid), state: VoteQuorumNodeState(rawValue: $0.state) ?? .unknown)
            }
            voteQuorum.pump.yield(.quorum(quorate: quorate != 0, nodes: list))
        }
        callbacks.votequorum_nodelist_notify_fn = { handle, _, ring, count, nodes in
            guard let voteQuorum = VoteQuorum.from(handle) else { return }
            let ringID = RingID(nodeID: NodeID(ring.nodeid), sequence: ring.seq)
            voteQuorum.latestRingID.withLock { $0 = ringID }
            voteQuorum.pump.yield(.nodeList(ringID: ringID, nodes: copyArray(nodes.map { UnsafePointer($0) }, Int(count), { NodeID($0) })))
        }
        callbacks.votequorum_expectedvotes_notify_fn = { handle, _, expected in
            guard let voteQuorum = VoteQuorum.from(handle) else { return }
            voteQuorum.pump.yield(.expectedVotes(expected))
        }
        try check(votequorum_initialize(&handle, &callbacks), "votequorum_initialize")
        var fd: Int32 = -1
        try finalizingOnFailure({ _ = votequorum_finalize(handle) }) { () throws(CorosyncError) in
            try check(votequorum_fd_get(handle, &fd), "votequorum_fd_get")
        }
        let voteQuorum = VoteQuorum(handle: handle, queue: queue, bufferLimit: bufferLimit, retry: retry)
        let opened = handle
        voteQuorum.pump.attach(voteQuorum, library: "votequorum", fd: fd, setContext: { _ = votequorum_context_set(opened, $0) },
                               dispatch: { votequorum_dispatch(opened, CS_DISPATCH_ALL) }, finalize: { _ = votequorum_finalize(opened) })
        if track {
            try voteQuorum.pump.checkAfterAttach(votequorum_trackstart(handle, 0, baton_cs_track_current | baton_cs_track_changes),
                                                  "votequorum_trackstart")
        }
        return voteQuorum
    }

    private static func from(_ handle: votequorum_handle_t) -> VoteQuorum? {
        var context: UnsafeMutableRawPointer?
        guard votequorum_context_get(handle, &context) == CS_OK, let context else { return nil }
        return Unmanaged<VoteQuorum>.fromOpaque(context).takeUnretainedValue()
    }

    private func onQueue<T: Sendable>(_ function: String, _ body: @escaping @Sendable (votequorum_handle_t) -> (cs_error_t, T)) async throws(CorosyncError) -> T {
        let handle = self.handle
        let pump = self.pump
        return try await retryingTryAgain(function, policy: retry) { () async throws(CorosyncError) -> T in
            try await pump.queue.call { () throws(CorosyncError) -> T in
                guard !pump.isStopped else { throw CorosyncError.closed }
                let (status, value) = body(handle)
                try check(status, function)
                return value
            }
        }
    }

    /// The ring id of the latest node-list notification (what `pollDevice` must pass).
    public var ringID: RingID? { latestRingID.withLock { $0 } }

    /// One node's votequorum view (`votequorum_getinfo`); node 0 is the quorum device.
    public func info(node: NodeID) async throws(CorosyncError) -> VoteQuorumInfo {
        try await onQueue("votequorum_getinfo") { handle in
            var info = votequorum_info()
            let status = votequorum_getinfo(handle, node.rawValue, &info)
            let name = withUnsafeBytes(of: &info.qdevice_name) { buffer in
                String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
            }
            return (status, VoteQuorumInfo(
                nodeID: NodeID(info.node_id), state: VoteQuorumNodeState(rawValue: info.node_state) ?? .unknown,
                nodeVotes: info.node_votes, expectedVotes: info.node_expected_votes,
                highestExpected: info.highest_expected, totalVotes: info.total_votes, quorum: info.quorum,
                flags: VoteQuorumFlags(rawValue: info.flags), qdeviceVotes: info.qdevice_votes, qdeviceName: name))
        }
    }

    /// Changes the expected votes cluster-wide (`votequorum_setexpected`).
    public func setExpectedVotes(_ votes: UInt32) async throws(CorosyncError) {
        try await onQueue("votequorum_setexpected") { handle in (votequorum_setexpected(handle, votes), ()) }
    }

    /// Changes one node's votes (`votequorum_setvotes`).
    public func setVotes(_ votes: UInt32, node: NodeID) async throws(CorosyncError) {
        try await onQueue("votequorum_setvotes") { handle in (votequorum_setvotes(handle, node.rawValue, votes), ()) }
    }

    private static func checkName(_ name: String) throws(CorosyncError) {
        guard !name.isEmpty, name.utf8.count <= qdeviceNameBytesMax else { throw CorosyncError.invalidName(name, limit: qdeviceNameBytesMax) }
    }

    /// Registers this process as the node's quorum device (one per node).
    public func registerDevice(name: String) async throws(CorosyncError) {
        try Self.checkName(name)
        try await onQueue("votequorum_qdevice_register") { handle in (votequorum_qdevice_register(handle, name), ()) }
    }

    public func unregisterDevice(name: String) async throws(CorosyncError) {
        try Self.checkName(name)
        try await onQueue("votequorum_qdevice_unregister") { handle in (votequorum_qdevice_unregister(handle, name), ()) }
    }

    public func updateDevice(oldName: String, newName: String) async throws(CorosyncError) {
        try Self.checkName(oldName)
        try Self.checkName(newName)
        try await onQueue("votequorum_qdevice_update") { handle in (votequorum_qdevice_update(handle, oldName, newName), ()) }
    }

    /// Tells votequorum the device is alive and whether it casts its vote for this node's
    /// partition. Must come within the device timeout, with the current ring id (a stale
    /// ring id gives CS_ERR_MESSAGE_ERROR).
    public func pollDevice(name: String, castVote: Bool, ringID: RingID) async throws(CorosyncError) {
        try Self.checkName(name)
        try await onQueue("votequorum_qdevice_poll") { handle in
            let ring = votequorum_ring_id_t(nodeid: ringID.nodeID.rawValue, seq: ringID.sequence)
            return (votequorum_qdevice_poll(handle, name, castVote ? 1 : 0, ring), ())
        }
    }

    /// Sets the device's master-wins mode (`votequorum_qdevice_master_wins`).
    public func setDeviceMasterWins(name: String, allow: Bool) async throws(CorosyncError) {
        try Self.checkName(name)
        try await onQueue("votequorum_qdevice_master_wins") { handle in
            (votequorum_qdevice_master_wins(handle, name, allow ? 1 : 0), ())
        }
    }

    /// Finalizes the handle and ends `events` normally. Idempotent.
    public func close() async {
        let pump = self.pump
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pump.queue.async {
                pump.stopOnQueue(nil)
                continuation.resume()
            }
        }
    }
}
