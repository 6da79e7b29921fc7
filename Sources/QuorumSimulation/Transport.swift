import QuorumArbiter
import SimulationKernel

/// The simulated TCP+TLS stream between a node's device and the arbitrator, over the kernel's
/// lossy, reordering network: segments are numbered per connection and direction, the
/// receiver hands them on in order and drops duplicates; a lost segment leaves a gap that
/// never fills, so the stream stalls, as a TCP connection over a dead path does, until a
/// heartbeat times out.
public enum Segment<Payload: Sendable>: Sendable {
    /// The first segment of a connection (seq 0): the TLS handshake, naming the cluster (its
    /// name and the identity the certificate proves).
    case open(ClusterKey)
    /// The arbitrator's answer to `open` (seq 0 in its direction).
    case accepted
    case data(Payload)
    /// The end of the stream (FIN).
    case close
    /// The arbitrator does not know the connection (it restarted): the node's stream is dead.
    case reset
}

/// One message on the simulated network.
public enum Wire: Sendable {
    case toArbiter(ConnectionID, sequence: UInt64, Segment<DeviceMessage>)
    case toNode(ConnectionID, sequence: UInt64, Segment<ArbiterMessage>)
}

/// One direction's receiving end: hands segments on in sequence order.
struct InboundStream<Payload: Sendable>: Sendable {
    var next: UInt64 = 0
    var early: [UInt64: Segment<Payload>] = [:]
    /// Segments held for a gap; past this the connection is given up (a full receive window).
    static var earlyMax: Int { 256 }

    /// The segments now in order (empty when `sequence` leaves a gap or was seen); nil when the
    /// window overflowed.
    mutating func receive(_ segment: Segment<Payload>, sequence: UInt64) -> [Segment<Payload>]? {
        guard sequence >= next, early[sequence] == nil else { return [] }  // a duplicate
        early[sequence] = segment
        guard early.count <= Self.earlyMax else { return nil }
        var ready: [Segment<Payload>] = []
        while let segment = early.removeValue(forKey: next) {
            ready.append(segment)
            next += 1
        }
        return ready
    }
}
