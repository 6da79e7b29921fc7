import ClusterIdentity

/// The messages between a node's device and the arbitrator, as values (the TLS wire that
/// carries them is the shell's). They mirror qdevice-net's: init + configuration node list
/// (`register`), membership node list (`membership`), heuristics change, vote info and its
/// reply, echo request and reply (`heartbeat`).

/// A connection between one node's device and the arbitrator, numbered by the shell that
/// accepted it (unique for the arbitrator's life).
public struct ConnectionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (left: ConnectionID, right: ConnectionID) -> Bool { left.rawValue < right.rawValue }
    public var description: String { "connection \(rawValue)" }
}

/// Node → arbitrator.
public enum DeviceMessage: Sendable, Hashable {
    case register(DeviceRegistration)
    case membership(MembershipReport)
    case heuristics(HeuristicsResult)
    case voteInfoReply(sequence: UInt32)
    /// An echo request; the arbitrator answers `heartbeatReply`. Any message keeps the
    /// connection alive at the arbitrator.
    case heartbeat
}

/// Arbitrator → node.
public enum ArbiterMessage: Sendable, Hashable {
    /// The registration was accepted.
    case registered
    /// The registration or a message was refused; the arbitrator closes the connection.
    case refused(String)
    case voteInfo(sequence: UInt32, ring: RingID, vote: Vote)
    case heartbeatReply
}
