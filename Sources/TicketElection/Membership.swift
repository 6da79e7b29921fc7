/// The members of one Baton deployment: sites (which may hold tickets) and arbitrators
/// (which only vote). Every member runs the same list, in the same order.

/// A member's position in the shared member list. Stable for the life of a configuration.
public struct MemberID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let index: Int

    public init(_ index: Int) {
        precondition(index >= 0 && index < Membership.membersMax, "member index \(index) out of range")
        self.index = index
    }

    public static func < (left: MemberID, right: MemberID) -> Bool { left.index < right.index }
    public var description: String { "#\(index)" }
}

public enum MemberRole: String, Sendable, Equatable {
    case site
    case arbitrator
}

public struct Member: Sendable, Equatable {
    public let id: MemberID
    /// The name admins see: the certificate name or the address from the config.
    public let name: String
    public let role: MemberRole

    public init(id: MemberID, name: String, role: MemberRole) {
        self.id = id
        self.name = name
        self.role = role
    }
}

public enum MembershipError: Error, Equatable, CustomStringConvertible {
    case tooManyMembers(count: Int)
    case tooFewMembers(count: Int)
    case noSite
    case duplicateName(String)
    case selfNotMember(MemberID)

    public var description: String {
        switch self {
        case .tooManyMembers(let count): "\(count) members configured; at most \(Membership.membersMax) are allowed"
        case .tooFewMembers(let count): "\(count) member configured; at least 2 are needed"
        case .noSite: "no site configured: arbitrators alone cannot hold a ticket"
        case .duplicateName(let name): "member name \"\(name)\" appears twice"
        case .selfNotMember(let id): "own identity \(id) is not in the member list"
        }
    }
}

/// The member list as seen from one member (`selfID`).
public struct Membership: Sendable, Equatable {
    public static let membersMax = 16

    public let members: [Member]
    public let selfID: MemberID

    public init(members: [Member], selfID: MemberID) throws(MembershipError) {
        guard members.count <= Membership.membersMax else { throw .tooManyMembers(count: members.count) }
        guard members.count >= 2 else { throw .tooFewMembers(count: members.count) }
        guard members.contains(where: { $0.role == .site }) else { throw .noSite }
        var seen = Set<String>()
        for member in members {
            guard seen.insert(member.name).inserted else { throw .duplicateName(member.name) }
        }
        for (index, member) in members.enumerated() {
            precondition(member.id.index == index, "member \(member.name) has id \(member.id), expected #\(index)")
        }
        guard selfID.index < members.count else { throw .selfNotMember(selfID) }
        self.members = members
        self.selfID = selfID
    }

    public var count: Int { members.count }
    public var selfMember: Member { members[selfID.index] }
    public var isSite: Bool { selfMember.role == .site }
    public var others: [MemberID] { members.map(\.id).filter { $0 != selfID } }
    public var sites: [MemberID] { members.filter { $0.role == .site }.map(\.id) }

    public func member(_ id: MemberID) -> Member { members[id.index] }
    public func name(_ id: MemberID) -> String { members[id.index].name }
    public func contains(_ id: MemberID) -> Bool { id.index < members.count }

    /// Strict majority, arbitrators counted: `votes * 2 > members`.
    public func isMajority(_ votes: Int) -> Bool {
        precondition(votes >= 0 && votes <= count, "vote count \(votes) outside 0...\(count)")
        return votes * 2 > count
    }
}
