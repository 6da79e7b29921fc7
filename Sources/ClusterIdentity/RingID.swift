/// A totem ring id as votequorum, quorum and CPG give it: the representative node and a
/// sequence that grows with every membership change. A new membership always has a new ring
/// id; a quorum device's vote is only ever for one ring. The Corosync bindings and the quorum
/// device's pure cores (QuorumArbiter) share this one type. Printed like corosync-quorumtool
/// does: `1.9` (both in hex).
public struct RingID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let nodeID: NodeID
    public let sequence: UInt64

    public init(nodeID: NodeID, sequence: UInt64) {
        self.nodeID = nodeID
        self.sequence = sequence
    }

    /// Later rings have higher sequences; the representative orders equal sequences.
    public static func < (left: RingID, right: RingID) -> Bool {
        (left.sequence, left.nodeID) < (right.sequence, right.nodeID)
    }

    public var description: String { String(nodeID.rawValue, radix: 16) + "." + String(sequence, radix: 16) }
}
