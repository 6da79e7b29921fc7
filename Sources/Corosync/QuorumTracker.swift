import CCorosync
import Dispatch

/// What libquorum reports: whether this node's partition is quorate, and its members.
public struct QuorumView: Hashable, Sendable {
    public let quorate: Bool
    public let ringID: RingID
    public let members: [NodeID]
}

/// A change of the cluster's node list as libquorum reports it.
public struct QuorumNodeListChange: Hashable, Sendable {
    public let ringID: RingID
    public let members: [NodeID]
    public let joined: [NodeID]
    public let left: [NodeID]
}

/// Tracks quorum (libquorum, QUORUM_MODEL_V1) as an async sequence.
///
/// Sendable: only `let`s of Sendable types; every C call runs on the handle's serial queue.
public final class QuorumTracker: Sendable {
    public enum Event: Hashable, Sendable {
        case quorum(QuorumView)
        case nodeList(QuorumNodeListChange)
    }

    /// Single consumer. The current state arrives first. Ends with a `CorosyncError`.
    public var events: AsyncThrowingStream<Event, any Error> { pump.stream }
    /// The quorum provider's type as libquorum reports it (1 = votequorum).
    public let quorumType: UInt32

    private let handle: quorum_handle_t
    private let pump: EventPump<Event>

    private init(handle: quorum_handle_t, quorumType: UInt32, queue: DispatchQueue, bufferLimit: Int) {
        self.handle = handle
        self.quorumType = quorumType
        self.pump = EventPump(queue: queue, bufferLimit: bufferLimit)
    }

    /// Connects and starts tracking (current state, then every change).
    public static func start(eventBufferLimit: Int = 10_000, retry: RetryPolicy = RetryPolicy()) async throws(CorosyncError) -> QuorumTracker {
        let queue = DispatchQueue(label: "baton.corosync.quorum")
        return try await retryingTryAgain("quorum_model_initialize", policy: retry) { () async throws(CorosyncError) -> QuorumTracker in
            try await queue.call { () throws(CorosyncError) -> QuorumTracker in
                try open(queue: queue, bufferLimit: eventBufferLimit)
            }
        }
    }

    private static func open(queue: DispatchQueue, bufferLimit: Int) throws(CorosyncError) -> QuorumTracker {
        var handle: quorum_handle_t = 0
        var quorumType: UInt32 = 0
        var model = quorum_model_v1_data_t()
        model.model = QUORUM_MODEL_V1
        model.quorum_notify_fn = { handle, quorate, ring, count, members in
            guard let tracker = QuorumTracker.from(handle) else { return }
            tracker.pump.yield(.quorum(QuorumView(
                quorate: quorate != 0, ringID: RingID(nodeID: NodeID(ring.nodeid), sequence: ring.seq),
                members: copyArray(members, Int(count), { NodeID($0) }))))
        }
        model.nodelist_notify_fn = { handle, ring, count, members, joinedCount, joined, leftCount, left in
            guard let tracker = QuorumTracker.from(handle) else { return }
            tracker.pump.yield(.nodeList(QuorumNodeListChange(
                ringID: RingID(nodeID: NodeID(ring.nodeid), sequence: ring.seq),
                members: copyArray(members, Int(count), { NodeID($0) }),
                joined: copyArray(joined, Int(joinedCount), { NodeID($0) }),
                left: copyArray(left, Int(leftCount), { NodeID($0) }))))
        }
        let status = withUnsafeMutablePointer(to: &model) { pointer in
            pointer.withMemoryRebound(to: quorum_model_data_t.self, capacity: 1) {
                quorum_model_initialize(&handle, QUORUM_MODEL_V1, $0, &quorumType, nil)
            }
        }
        try check(status, "quorum_model_initialize")
        var fd: Int32 = -1
        try finalizingOnFailure({ _ = quorum_finalize(handle) }) { () throws(CorosyncError) in
            try check(quorum_fd_get(handle, &fd), "quorum_fd_get")
        }
        let tracker = QuorumTracker(handle: handle, quorumType: quorumType, queue: queue, bufferLimit: bufferLimit)
        let opened = handle
        tracker.pump.attach(tracker, library: "quorum", fd: fd, setContext: { _ = quorum_context_set(opened, $0) },
                            dispatch: { quorum_dispatch(opened, CS_DISPATCH_ALL) }, finalize: { _ = quorum_finalize(opened) })
        try tracker.pump.checkAfterAttach(quorum_trackstart(handle, baton_cs_track_current | baton_cs_track_changes), "quorum_trackstart")
        return tracker
    }

    private static func from(_ handle: quorum_handle_t) -> QuorumTracker? {
        var context: UnsafeRawPointer?
        guard quorum_context_get(handle, &context) == CS_OK, let context else { return nil }
        return Unmanaged<QuorumTracker>.fromOpaque(context).takeUnretainedValue()
    }

    /// Whether this node is quorate now (`quorum_getquorate`).
    public func isQuorate() async throws(CorosyncError) -> Bool {
        let handle = self.handle
        let pump = self.pump
        return try await pump.queue.call { () throws(CorosyncError) -> Bool in
            guard !pump.isStopped else { throw CorosyncError.closed }
            var quorate: Int32 = 0
            try check(quorum_getquorate(handle, &quorate), "quorum_getquorate")
            return quorate != 0
        }
    }

    /// Stops tracking, finalizes the handle, ends `events` normally. Idempotent.
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
