/// Cluster identity apart from the libcpg binding: the Corosync bindings and the pure node
/// core (CRMCore) share it, so neither converts.

/// A Corosync node id (`nodelist.node.X.nodeid`).
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (left: NodeID, right: NodeID) -> Bool { left.rawValue < right.rawValue }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(UInt32.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
