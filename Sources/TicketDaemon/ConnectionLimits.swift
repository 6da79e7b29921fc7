import TLSTransport

/// Every bound batond puts on connections, in one place. Before its TLS handshake a
/// connection is anyone's; each one holds a descriptor until it is closed. Together these keep
/// the descriptors batond can be made to hold far below its limit (raised at start to the hard
/// limit, `LimitNOFILE=65536` in the units), so renewals, the admin socket and /metrics are
/// served while the member port is flooded.
///
/// Worst case at these values, 16 members: 64 handshakes + 16 × 4 member connections + 15
/// dialled + 32 admin socket clients + 8 metrics clients + the journal, listeners and NIO's own
/// descriptors: about 200, under even a 256 limit.
public enum ConnectionLimits {
    /// Accepted member-port connections in their TLS handshake, from all sources. When all are
    /// taken, the oldest handshake of the source holding the most is closed to admit the new one.
    public static let handshakesInProgressMax = 64
    /// The same from one source address: beyond it, a new connection is closed at once.
    public static let handshakesInProgressPerSourceMax = 8
    /// Connections the kernel queues on the member port before batond accepts them (they hold
    /// no descriptor of batond's). Deep enough that a flood arriving while the network thread
    /// waits for a CPU does not overflow it, which would drop a member's SYN for a second or more.
    public static let memberPortBacklogMax = 1024
    /// Verified connections one member may hold to us (its mesh connection, remote admin
    /// clients run on its machine, one left over from before its restart). A new one beyond
    /// it closes that member's oldest.
    public static let memberConnectionsPerMemberMax = 4
    /// A connection that carried admin requests (`baton -s` from another member's machine) is
    /// closed when no request of it is waiting and it has sent nothing for this long.
    public static let remoteAdminIdleDurationMax: Duration = .seconds(30)
    /// Clients connected to the local admin socket at once; more are closed at once.
    public static let adminSocketConnectionsMax = 32
    /// Clients connected to /metrics at once; more are closed at once.
    public static let metricsConnectionsMax = 8
    /// A /metrics client must send its request within this time.
    public static let metricsRequestDurationMax: Duration = .seconds(5)

    /// batond raises its soft limit on open descriptors to the hard limit, up to this (a
    /// higher one only slows programs that close every descriptor before exec).
    public static let descriptorsSoftLimitMax = 65_536

    static let handshakeLimits = HandshakeLimits(
        inProgressMax: handshakesInProgressMax, inProgressPerSourceMax: handshakesInProgressPerSourceMax)
}
