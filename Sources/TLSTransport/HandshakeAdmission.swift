import NIOConcurrencyHelpers
import NIOCore

/// How many accepted connections may be in their TLS handshake at once: before the handshake
/// a connection is anyone's, and each one holds a descriptor, memory and a timer until it
/// finishes or its handshake timeout fires. An unauthenticated flood must not be able to take
/// every descriptor, nor every handshake slot.
public struct HandshakeLimits: Sendable, Equatable {
    /// Handshakes in progress from all sources together.
    public let inProgressMax: Int
    /// Handshakes in progress from one source address.
    public let inProgressPerSourceMax: Int

    public init(inProgressMax: Int, inProgressPerSourceMax: Int) {
        precondition(inProgressMax >= 1 && inProgressPerSourceMax >= 1, "handshake limits are at least 1: \(inProgressMax), \(inProgressPerSourceMax)")
        precondition(inProgressPerSourceMax <= inProgressMax, "a source's share (\(inProgressPerSourceMax)) exceeds the total (\(inProgressMax))")
        self.inProgressMax = inProgressMax
        self.inProgressPerSourceMax = inProgressPerSourceMax
    }
}

/// The admission rule for accepted connections, without I/O (the `HandshakeGate` shell holds
/// the channels).
///
/// | input                     | condition                                  | result                                  |
/// |---------------------------|--------------------------------------------|-----------------------------------------|
/// | accepted from S           | S already has `inProgressPerSourceMax`     | refused (closed at once)                |
/// | accepted from S           | all slots taken                            | admitted; the oldest handshake of the   |
/// |                           |                                            | source holding the most slots is evicted|
/// | accepted from S           | otherwise                                  | admitted                                |
/// | handshake done / closed   | admitted, not yet ended                    | its slot is free                        |
///
/// Evicting instead of refusing when every slot is taken keeps a member able to connect while
/// many sources hold idle connections: their slots turn over, and a member's handshake takes
/// milliseconds where theirs wait for the timeout.
public struct HandshakeAdmission: Sendable {
    public enum Decision: Equatable, Sendable {
        case refused
        case admitted(id: UInt64, evicting: UInt64?)
    }

    public let limits: HandshakeLimits
    /// Handshakes in progress, oldest first (at most `limits.inProgressMax`).
    private var entries: [(id: UInt64, source: String)] = []
    private var lastID: UInt64 = 0

    public init(limits: HandshakeLimits) {
        self.limits = limits
    }

    public var inProgress: Int { entries.count }

    public func inProgress(from source: String) -> Int { entries.count(where: { $0.source == source }) }

    public mutating func admit(source: String) -> Decision {
        precondition(entries.count <= limits.inProgressMax, "\(entries.count) handshakes tracked, limit \(limits.inProgressMax)")
        if inProgress(from: source) >= limits.inProgressPerSourceMax { return .refused }
        var evicted: UInt64?
        if entries.count == limits.inProgressMax {
            var counts: [String: Int] = [:]
            for entry in entries { counts[entry.source, default: 0] += 1 }
            // Among the sources holding the most slots, the one whose handshake is oldest.
            let most = counts.values.max()!
            let position = entries.firstIndex { counts[$0.source] == most }!
            evicted = entries.remove(at: position).id
        }
        lastID += 1
        entries.append((lastID, source))
        precondition(entries.count <= limits.inProgressMax, "admission overfilled: \(entries.count) of \(limits.inProgressMax)")
        return .admitted(id: lastID, evicting: evicted)
    }

    /// The handshake ended (completed, failed, evicted or closed). Idempotent.
    public mutating func ended(_ id: UInt64) {
        entries.removeAll { $0.id == id }
    }
}

/// Counts of what the gate did, for metrics.
public struct HandshakeGateCounts: Sendable, Equatable {
    public var inProgress = 0
    /// Accepted connections closed at once: their source had its share of handshakes.
    public var refusedPerSource = 0
    /// Handshakes closed to make room when every slot was taken.
    public var evicted = 0
}

/// The shell around `HandshakeAdmission` for one listener: admits or refuses each accepted
/// channel, closes the one an admission evicts, and frees the slot when the handshake
/// completes or the channel closes. Called from the channels' event loops; the state is
/// behind a lock (tiny critical sections, no I/O under it).
public final class HandshakeGate: Sendable {
    private struct State {
        var admission: HandshakeAdmission
        var channels: [UInt64: any Channel] = [:]
        var counts = HandshakeGateCounts()
        var lastReported: NIODeadline?
    }
    /// While the limits close connections, one report (log line) per this interval at most:
    /// a flood must not fill the log.
    static let reportInterval = TimeAmount.seconds(60)
    private let state: NIOLockedValueBox<State>

    public init(limits: HandshakeLimits) {
        state = NIOLockedValueBox(State(admission: HandshakeAdmission(limits: limits)))
    }

    public var counts: HandshakeGateCounts {
        state.withLockedValue { state in
            var counts = state.counts
            counts.inProgress = state.admission.inProgress
            return counts
        }
    }

    /// The slot the channel holds, or nil when it was refused (the caller closes it); and the
    /// counts to report when a limit closed a connection and no report was made lately.
    func admit(_ channel: any Channel, source: String, now: NIODeadline) -> (slot: UInt64?, report: HandshakeGateCounts?) {
        let (decision, evicted, report) = state.withLockedValue { state -> (HandshakeAdmission.Decision, (any Channel)?, HandshakeGateCounts?) in
            let decision = state.admission.admit(source: source)
            var evicted: (any Channel)?
            switch decision {
            case .refused:
                state.counts.refusedPerSource += 1
            case .admitted(let id, let evicting):
                state.channels[id] = channel
                if let evicting {
                    evicted = state.channels.removeValue(forKey: evicting)
                    state.counts.evicted += 1
                }
            }
            var report: HandshakeGateCounts?
            if decision == .refused || evicted != nil, state.lastReported.map({ now - $0 >= Self.reportInterval }) ?? true {
                state.lastReported = now
                report = state.counts
                report?.inProgress = state.admission.inProgress
            }
            return (decision, evicted, report)
        }
        evicted?.close(promise: nil)
        guard case .admitted(let id, _) = decision else { return (nil, report) }
        return (id, report)
    }

    func ended(_ id: UInt64) {
        state.withLockedValue { state in
            state.admission.ended(id)
            state.channels[id] = nil
        }
    }
}

/// Frees the connection's handshake slot when its handshake completes (the close frees it
/// otherwise: see `TLSChannels.listen`).
final class HandshakeSlotHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let gate: HandshakeGate
    private let id: UInt64

    init(gate: HandshakeGate, id: UInt64) {
        self.gate = gate
        self.id = id
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted {
            gate.ended(id)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
