/// A set of members as a bit mask (there are at most `Membership.membersMax` of them): the
/// votes, refusals and acknowledgements of every round, at 10,000 tickets several thousand
/// inserts a second, without the allocation and hashing of a `Set<MemberID>`.
public struct MemberSet: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    public private(set) var bits: UInt32 = 0

    public init() {}

    public init(arrayLiteral members: MemberID...) {
        for member in members { insert(member) }
    }

    public init(_ members: some Sequence<MemberID>) {
        for member in members { insert(member) }
    }

    private static func bit(_ member: MemberID) -> UInt32 {
        precondition(member.index < 32, "member index \(member.index) out of a member set's range")
        return 1 << UInt32(member.index)
    }

    public var count: Int { bits.nonzeroBitCount }
    public var isEmpty: Bool { bits == 0 }

    public func contains(_ member: MemberID) -> Bool { bits & MemberSet.bit(member) != 0 }

    @discardableResult
    public mutating func insert(_ member: MemberID) -> (inserted: Bool, memberAfterInsert: MemberID) {
        let bit = MemberSet.bit(member)
        defer { bits |= bit }
        return (bits & bit == 0, member)
    }

    @discardableResult
    public mutating func remove(_ member: MemberID) -> MemberID? {
        let bit = MemberSet.bit(member)
        defer { bits &= ~bit }
        return bits & bit != 0 ? member : nil
    }

    public func union(_ other: MemberSet) -> MemberSet {
        var result = self
        result.bits |= other.bits
        return result
    }

    /// Members in index order.
    public struct Iterator: IteratorProtocol {
        var remaining: UInt32
        public mutating func next() -> MemberID? {
            guard remaining != 0 else { return nil }
            let index = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            return MemberID(index)
        }
    }

    public func makeIterator() -> Iterator { Iterator(remaining: bits) }

    public var description: String { "[" + map { "\($0)" }.joined(separator: ", ") + "]" }
}
