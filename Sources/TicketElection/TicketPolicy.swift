/// The validated, immutable settings of one ticket: what booth.conf's ticket section says,
/// plus Baton's own keys. Built by the config loader; the election only reads it.

public enum TicketMode: String, Sendable, Equatable {
    /// Elected, leased, failed over (booth's default).
    case automatic = "auto"
    /// Granted and revoked by admins only: no election, no expiry, no failover.
    case manual
}

/// `attr-prereq auto|manual NAME eq|ne VALUE`: a site attribute that must match before this
/// site acquires the ticket (manual: on an admin grant; auto: on failover).
public struct AttributePrerequisite: Sendable, Equatable {
    public enum Trigger: String, Sendable { case automatic = "auto", manual }
    public enum Comparison: String, Sendable { case equal = "eq", notEqual = "ne" }

    public let trigger: Trigger
    public let name: String
    public let comparison: Comparison
    public let value: String

    public init(trigger: Trigger, name: String, comparison: Comparison, value: String) {
        self.trigger = trigger
        self.name = name
        self.comparison = comparison
        self.value = value
    }

    public func isSatisfied(by attributes: [String: String]) -> Bool {
        let actual = attributes[name]
        switch comparison {
        case .equal: return actual == value
        case .notEqual: return actual != value
        }
    }
}

/// Safety rules that the simulator's self-test switches off on purpose, to show that the
/// checkers find the double holder that follows. Always empty in batond.
public struct SafetyRuleBreaks: OptionSet, Sendable, Equatable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Voters grant votes while they still promise a lease to another leader.
    public static let votersIgnoreLease = SafetyRuleBreaks(rawValue: 1 << 0)
    /// A leader keeps its grant past its own lease end when it cannot renew.
    public static let leaderIgnoresLeaseEnd = SafetyRuleBreaks(rawValue: 1 << 1)
    /// A leader counts its lease from the moment the majority answered, not from when it asked.
    public static let leaseFromReply = SafetyRuleBreaks(rawValue: 1 << 2)
    /// Followers skip writes the stretched promise on disk would cover, but write it unstretched.
    public static let promiseWrittenShort = SafetyRuleBreaks(rawValue: 1 << 3)
    /// A member that starts without state votes and acknowledges at once (no quiet period),
    /// as batond did before issue 10: it may break a promise it gave and forgot.
    public static let amnesiacVotesAtOnce = SafetyRuleBreaks(rawValue: 1 << 4)
}

public enum TicketPolicyError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case nonPositive(key: String)
    case retriesOutOfRange(Int)
    case renewalTooShort(timeout: Duration, retries: Int, renewal: Duration)
    case renewalNotShorterThanExpire(renewal: Duration, expire: Duration)
    case driftOutOfRange(partsPerMillion: Int)
    case weightsCount(expected: Int, got: Int)
    case stopBeforeTooLong(stopBefore: Duration, room: Duration)

    public var description: String {
        switch self {
        case .invalidName(let name):
            "ticket name \"\(name)\" is invalid: use 1 to 63 characters of A-Z a-z 0-9 - /"
        case .nonPositive(let key): "\(key) must be greater than zero"
        case .retriesOutOfRange(let retries): "retries = \(retries) is outside 3...100"
        case .renewalTooShort(let timeout, let retries, let renewal):
            "timeout * (retries + 1) = \((timeout * (retries + 1)).shortDescription) must be shorter than renewal-freq = \(renewal.shortDescription)"
        case .renewalNotShorterThanExpire(let renewal, let expire):
            "renewal-freq = \(renewal.shortDescription) must be shorter than expire = \(expire.shortDescription)"
        case .driftOutOfRange(let ppm): "clock drift bound \(ppm) ppm is outside 0...100000"
        case .weightsCount(let expected, let got): "weights lists \(got) values for \(expected) members"
        case .stopBeforeTooLong(let stopBefore, let room):
            "stop-before = \(stopBefore.shortDescription) must be shorter than the lease left at a renewal, \(room.shortDescription) (expire less the clock drift allowance, less renewal-freq)"
        }
    }
}

public struct TicketPolicy: Sendable, Equatable {
    public static let nameLengthMax = 63
    public static let retriesRange = 3...100

    public let name: String
    public let mode: TicketMode
    /// Lease length granted by a majority (booth `expire`).
    public let expire: Duration
    /// Resend period for unanswered messages (booth `timeout`).
    public let timeout: Duration
    /// Resends of one message before giving up (booth `retries`).
    public let retries: Int
    /// How often the leader renews (booth `renewal-freq`, default expire / 2).
    public let renewalFrequency: Duration
    /// Wait after a lease is lost before acquiring (booth `acquire-after`).
    public let acquireAfter: Duration
    /// The holder's margin (`stop-before`, Baton's key; booth has none): a leader whose lease
    /// has not been renewed by `leaseEnd - stopBefore` revokes locally then (what the ticket
    /// guards stops, as each rsc_ticket's loss-policy says) and releases once the site has
    /// confirmed it, so the stop is over before its own view of the lease ends, and so before
    /// any other site can acquire. Zero: revoke at the lease end, as booth does.
    /// Default `defaultStopBefore`.
    public let stopBefore: Duration
    /// Bound on how much faster or slower any member's clock may run, in parts per million.
    public let clockDriftMaxPartsPerMillion: Int
    public let hasBeforeAcquireHandler: Bool
    /// Every prerequisite must hold (booth allows several `attr-prereq` lines).
    public let attributePrerequisites: [AttributePrerequisite]
    /// Campaign order after a lease is lost: lower weight campaigns first, ties by member order.
    /// One value per member (arbitrators' values are ignored).
    public let weights: [Int]
    /// Empty in production; see `SafetyRuleBreaks`.
    public let safetyRuleBreaks: SafetyRuleBreaks

    public init(
        name: String,
        mode: TicketMode = .automatic,
        expire: Duration = .seconds(600),
        timeout: Duration = .seconds(5),
        retries: Int = 10,
        renewalFrequency: Duration? = nil,
        acquireAfter: Duration = .zero,
        stopBefore: Duration? = nil,
        clockDriftMaxPartsPerMillion: Int = 10_000,
        hasBeforeAcquireHandler: Bool = false,
        attributePrerequisites: [AttributePrerequisite] = [],
        weights: [Int],
        safetyRuleBreaks: SafetyRuleBreaks = [],
        retryBudgetChecked: Bool = true
    ) throws(TicketPolicyError) {
        guard TicketPolicy.isValidName(name) else { throw .invalidName(name) }
        guard expire > .zero else { throw .nonPositive(key: "expire") }
        guard timeout > .zero else { throw .nonPositive(key: "timeout") }
        guard TicketPolicy.retriesRange.contains(retries) else { throw .retriesOutOfRange(retries) }
        let renewal = renewalFrequency ?? expire / 2
        guard renewal > .zero else { throw .nonPositive(key: "renewal-freq") }
        guard renewal < expire else { throw .renewalNotShorterThanExpire(renewal: renewal, expire: expire) }
        // booth's rule; the config loader only warns when renewal-freq was left at its
        // default (booth files with expire = 60 rely on that) and then passes false here.
        if mode == .automatic && retryBudgetChecked {
            guard timeout * (retries + 1) < renewal else {
                throw .renewalTooShort(timeout: timeout, retries: retries, renewal: renewal)
            }
        }
        guard acquireAfter >= .zero else { throw .nonPositive(key: "acquire-after") }
        guard (0...100_000).contains(clockDriftMaxPartsPerMillion) else {
            throw .driftOutOfRange(partsPerMillion: clockDriftMaxPartsPerMillion)
        }
        let room = TicketPolicy.stopBeforeRoom(expire: expire, renewal: renewal, driftPartsPerMillion: clockDriftMaxPartsPerMillion)
        if let stopBefore {
            guard stopBefore >= .zero else { throw .nonPositive(key: "stop-before") }
            guard stopBefore == .zero || stopBefore < room else { throw .stopBeforeTooLong(stopBefore: stopBefore, room: room) }
        }
        self.stopBefore = stopBefore ?? TicketPolicy.defaultStopBefore(expire: expire, timeout: timeout, room: room)
        precondition(self.stopBefore >= .zero && (self.stopBefore == .zero || self.stopBefore < room), "ticket \(name): stop-before out of range")
        self.name = name
        self.mode = mode
        self.expire = expire
        self.timeout = timeout
        self.retries = retries
        self.renewalFrequency = renewal
        self.acquireAfter = acquireAfter
        self.clockDriftMaxPartsPerMillion = clockDriftMaxPartsPerMillion
        self.hasBeforeAcquireHandler = hasBeforeAcquireHandler
        self.attributePrerequisites = attributePrerequisites
        self.weights = weights
        self.safetyRuleBreaks = safetyRuleBreaks
    }

    /// The lease a leader has left when a renewal round starts (its own view, shortened for
    /// drift): a `stop-before` this long or longer would revoke at every renewal.
    static func stopBeforeRoom(expire: Duration, renewal: Duration, driftPartsPerMillion: Int) -> Duration {
        let ppm = Int64(driftPartsPerMillion)
        let leaderLease = Duration.nanoseconds(expire.nanoseconds * (1_000_000 - ppm) / (1_000_000 + ppm))
        return max(.zero, leaderLease - renewal)
    }

    /// The larger of 2 s and a fifth of the lease (the stop of a few resources, and a share of
    /// longer leases for sites with many), but never so long that a renewal gets less than one
    /// `timeout` to be acknowledged before it: then it shrinks (to zero when the lease leaves no
    /// room, and the holder revokes at the lease end, as booth does).
    static func defaultStopBefore(expire: Duration, timeout: Duration, room: Duration) -> Duration {
        let wanted = max(.seconds(2), expire / 5)
        return max(.zero, min(wanted, room - timeout))
    }

    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= nameLengthMax else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2F
        }
    }

    /// The leader's own view of a lease of `expire` that it asked for: shortened so that,
    /// with every clock within the drift bound, it ends in real time before any promiser's
    /// view (which starts later, at receipt, and is `expire` long on the promiser's clock).
    public var leaderLease: Duration {
        let ppm = Int64(clockDriftMaxPartsPerMillion)
        let shortened = expire.nanoseconds * (1_000_000 - ppm) / (1_000_000 + ppm)
        precondition(shortened > 0 && shortened <= expire.nanoseconds, "leader lease \(shortened) ns out of range")
        return .nanoseconds(shortened)
    }

    /// The longest real time a lease of `expire` on some member's clock may last:
    /// used for the quiet period after a restart without state.
    public var expireRealMax: Duration {
        let ppm = Int64(clockDriftMaxPartsPerMillion)
        return .nanoseconds(expire.nanoseconds * (1_000_000 + ppm) / (1_000_000 - ppm) + 1)
    }

    /// How often a leader resends a renewal that no majority has acknowledged yet, until its
    /// lease ends. booth gives up after `retries` resends and the lease then runs out even
    /// though most of it was left: at 25 % loss and 200 ± 100 ms one renewal in a few hundred
    /// went unanswered that way (issue 10). Resending every half timeout for the whole rest of
    /// the lease (about 9 tries with booth's defaults expire / 2 and timeout) makes that
    /// vanishingly rare; each resend is one small heartbeat to the members that have not answered.
    public var renewalResendInterval: Duration { timeout / 2 }

    /// One campaign slot after a lost lease: a candidate of rank r waits r slots.
    public var campaignSlot: Duration { timeout }

    /// The first prerequisite for `trigger` that `attributes` do not meet, if any.
    public func unmetPrerequisite(_ trigger: AttributePrerequisite.Trigger, attributes: [String: String]) -> AttributePrerequisite? {
        attributePrerequisites.first { $0.trigger == trigger && !$0.isSatisfied(by: attributes) }
    }

    public func weight(of member: MemberID) -> Int {
        member.index < weights.count ? weights[member.index] : 0
    }
}
