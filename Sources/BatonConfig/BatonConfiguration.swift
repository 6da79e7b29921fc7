import TicketElection

/// A validated, immutable batond configuration: who the members are, how they authenticate,
/// and the policy of every ticket.
///
/// Why a single value: the daemon, the CLI and the election core all read the same facts;
/// nothing here changes after load (a reload produces a new value). Produced only by
/// `BatonConfigurationParser`, so every instance has passed validation.
public struct BatonConfiguration: Sendable, Equatable {
    /// booth's configuration name (`name = …`, default `booth`); exported to handlers as
    /// BOOTH_CONF_NAME.
    public let name: String
    /// The TCP port members listen on unless a member line gives its own.
    public let port: UInt16
    /// Every member in configuration order (sites and arbitrators interleaved as written).
    public let members: [Member]
    /// Every ticket in configuration order.
    public let tickets: [TicketPolicy]
    /// Certificates and keys for the member mesh; `nil` when the file names none (a plain
    /// booth file): batond must then refuse to start its mesh, the CLI may still read it.
    public let transportSecurity: TransportSecurity?
    /// The explicit identity (`identity = NAME`), a member's name; `nil` means "find it by
    /// the certificate or a command line option".
    public let identity: String?
    /// booth's `maxtimeskew`: accepted and kept; Baton's leases are relative durations.
    public let maximumTimeSkew: Duration
    /// Credentials the daemon drops to (booth's site-user/-group, arbitrator-user/-group).
    public let siteUser: String
    public let siteGroup: String
    public let arbitratorUser: String
    public let arbitratorGroup: String
    /// booth's `debug` level (0 = none).
    public let debugLevel: Int
    /// `admin-from`: which members' certificates may send admin requests (`baton -s`).
    public let adminFrom: RemoteAdministration
    /// `clock-drift-max`: how much faster or slower any member's clock may run than real time,
    /// in parts per million. Leases are shortened by it; every member must use the same value.
    public let clockDriftMaxPartsPerMillion: Int

    public init(
        name: String, port: UInt16, members: [Member], tickets: [TicketPolicy],
        transportSecurity: TransportSecurity?, identity: String?, maximumTimeSkew: Duration,
        siteUser: String, siteGroup: String, arbitratorUser: String, arbitratorGroup: String,
        debugLevel: Int, adminFrom: RemoteAdministration, clockDriftMaxPartsPerMillion: Int
    ) {
        precondition(!members.isEmpty, "a configuration has at least one member")
        precondition(members.count <= Limits.membersMaximum, "at most \(Limits.membersMaximum) members, got \(members.count)")
        self.name = name
        self.port = port
        self.members = members
        self.tickets = tickets
        self.transportSecurity = transportSecurity
        self.identity = identity
        self.maximumTimeSkew = maximumTimeSkew
        self.siteUser = siteUser
        self.siteGroup = siteGroup
        self.arbitratorUser = arbitratorUser
        self.arbitratorGroup = arbitratorGroup
        self.debugLevel = debugLevel
        self.adminFrom = adminFrom
        precondition(Limits.clockDriftRange.contains(clockDriftMaxPartsPerMillion), "clock drift \(clockDriftMaxPartsPerMillion) ppm out of range")
        self.clockDriftMaxPartsPerMillion = clockDriftMaxPartsPerMillion
    }

    /// Whether `member`'s certificate may administer this member remotely (`admin-from`).
    public func mayAdministerRemotely(_ member: Member) -> Bool {
        switch adminFrom {
        case .all: true
        case .sites: member.role == .site
        case .none: false
        case .members(let names): names.contains(member.certificateName)
        }
    }

    public var sites: [Member] { members.filter { $0.role == .site } }
    public var arbitrators: [Member] { members.filter { $0.role == .arbitrator } }

    /// The member whose certificate name (or address, as written) is `name`.
    public func member(named name: String) -> Member? {
        members.first { $0.certificateName == name } ?? members.first { $0.address == name }
    }

    public func ticket(named name: String) -> TicketPolicy? {
        tickets.first { $0.name == name }
    }

    /// The member this process is, from the names its own TLS certificate carries. With an
    /// explicit `identity`, that member, provided its certificate name is among
    /// `certificateNames` (peers would see a different member otherwise); without one, the one
    /// member whose certificate name is among them. Nil when none or several match: the caller
    /// must then ask for `--site` and say why.
    public func localMember(certificateNames: [String]) -> Member? {
        if let localMember {
            return certificateNames.contains(localMember.certificateName) ? localMember : nil
        }
        let matches = members.filter { certificateNames.contains($0.certificateName) }
        return matches.count == 1 ? matches[0] : nil
    }

    /// The local member by the explicit `identity` key, if the file sets one.
    public var localMember: Member? {
        identity.flatMap { member(named: $0) }
    }
}

/// Bounds checked at load; the rest of Baton may rely on them.
public enum Limits {
    /// booth's limit; majority arithmetic and per-peer state are sized by it.
    public static let membersMaximum = 16
    public static let ticketsMaximum = 16_384
    /// booth's ticket name length limit.
    public static let nameLengthMaximum = 63
    /// A certificate name is a DNS name.
    public static let certificateNameLengthMaximum = 253
    public static let retriesMinimum = 3
    public static let retriesMaximum = 100
    /// No configured time span may exceed a week; a longer one is a typo.
    public static let durationMaximum: Duration = .seconds(7 * 24 * 3600)
    public static let lineLengthMaximum = 4096
    public static let linesMaximum = 100_000
    public static let weightMaximum = 1_000_000
    public static let debugLevelMaximum = 10
    /// `clock-drift-max` bounds, in parts per million (10 % at most; the default is 1 %).
    public static let clockDriftRange = 0...100_000
    public static let clockDriftDefaultPartsPerMillion = 10_000
}

/// `admin-from`: whose member certificates may send admin requests over the member mesh
/// (`baton -s MEMBER` run on another member's machine). A member's own admin socket is not
/// affected. Default `sites`: an arbitrator never holds a ticket and is often run by another
/// team, so its certificate should not grant, revoke or set attributes at the sites.
public enum RemoteAdministration: Sendable, Equatable {
    /// Any member's certificate (booth's rule: every member may administer every member).
    case all
    /// Sites' certificates only.
    case sites
    /// Nobody remotely: each member is administered on its own machine.
    case none
    /// The named members (certificate names) only.
    case members([String])
}

// MemberRole, TicketMode and AttributePrerequisite are the election's own types
// (TicketElection): the configuration speaks the same words as the code that acts on it.

/// One member of the ticket mesh, as a `site = …` or `arbitrator = …` line declares it.
public struct Member: Sendable, Equatable, CustomStringConvertible {
    public let role: MemberRole
    /// The address as written (IPv4, IPv6 without brackets, or a host name).
    public let address: String
    public let port: UInt16
    /// The name its TLS certificate must carry (subject CN or a SAN DNS entry). `name=` on
    /// the member line; without it, the address as written (so booth files keep loading).
    public let certificateName: String
    /// Position in the configuration (0-based, sites and arbitrators together): the order
    /// `weights` refer to and the tie-breaker among equal weights.
    public let index: Int
    /// The line that declared it.
    public let line: Int

    public init(role: MemberRole, address: String, port: UInt16, certificateName: String, index: Int, line: Int) {
        precondition(!address.isEmpty && !certificateName.isEmpty, "a member has an address and a certificate name")
        self.role = role
        self.address = address
        self.port = port
        self.certificateName = certificateName
        self.index = index
        self.line = line
    }

    public var description: String { "\(role) \(certificateName) (\(address) port \(port))" }
}

/// Files for mutual TLS 1.3 between members. All three are required together.
public struct TransportSecurity: Sendable, Equatable {
    /// PEM bundle of the certificate authorities members' certificates must chain to.
    public let certificateAuthorityFile: String
    /// This member's certificate chain (PEM).
    public let certificateFile: String
    /// This member's private key (PEM).
    public let privateKeyFile: String
    /// How long a peer may take to finish its TLS handshake.
    public let handshakeTimeout: Duration

    public init(certificateAuthorityFile: String, certificateFile: String, privateKeyFile: String, handshakeTimeout: Duration) {
        self.certificateAuthorityFile = certificateAuthorityFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.handshakeTimeout = handshakeTimeout
    }
}

/// The policy of one ticket: everything the election needs to know about it.
public struct TicketPolicy: Sendable, Equatable {
    public let name: String
    /// Lease length. Meaningless for manual tickets (they never expire).
    public let expire: Duration
    /// Resend interval for unacknowledged messages.
    public let timeout: Duration
    /// How many times a message is resent before giving up (3...100).
    public let retries: Int
    /// The leader renews every `renewalFrequency` (default expire / 2).
    public let renewalFrequency: Duration
    /// Followers wait this long after lease end before electing.
    public let acquireAfter: Duration
    /// `stop-before` (Baton's key): a holder whose renewal is failing stops what the ticket
    /// guards this long before its lease ends (nil: the default, see `TicketElection.TicketPolicy`).
    public let stopBefore: Duration?
    /// Program (or directory of programs) run before acquiring and at every renewal.
    public let beforeAcquireHandler: String?
    public let attributePrerequisites: [AttributePrerequisite]
    public let mode: TicketMode
    /// One weight per member in configuration order (0 where not given); lower campaigns first.
    public let weights: [Int]
    /// The `ticket = …` line.
    public let line: Int

    public init(
        name: String, expire: Duration, timeout: Duration, retries: Int, renewalFrequency: Duration,
        acquireAfter: Duration, stopBefore: Duration? = nil, beforeAcquireHandler: String?, attributePrerequisites: [AttributePrerequisite],
        mode: TicketMode, weights: [Int], line: Int
    ) {
        precondition(expire > .zero && timeout > .zero && renewalFrequency > .zero, "ticket \(name): time spans are positive")
        precondition((Limits.retriesMinimum...Limits.retriesMaximum).contains(retries), "ticket \(name): retries \(retries) out of range")
        self.name = name
        self.expire = expire
        self.timeout = timeout
        self.retries = retries
        self.renewalFrequency = renewalFrequency
        self.acquireAfter = acquireAfter
        self.stopBefore = stopBefore
        self.beforeAcquireHandler = beforeAcquireHandler
        self.attributePrerequisites = attributePrerequisites
        self.mode = mode
        self.weights = weights
        self.line = line
    }
}
