import TicketElection

/// What one simulation run looks like: the members, the tickets and their timings, the
/// faults to inject and for how long. Every random choice is drawn from the seed.
public struct Scenario: Sendable, Equatable {
    public var sites: Int
    public var arbitrators: Int
    public var tickets: Int
    public var expire: Duration
    public var timeout: Duration
    public var retries: Int
    public var renewalFrequency: Duration?
    public var acquireAfter: Duration
    public var clockDriftMaxPartsPerMillion: Int
    public var withHandler: Bool
    public var faults: FaultProfile
    /// Faults are injected during this span; then everything heals.
    public var faultPhase: Duration
    /// After healing: how long the run goes on, to check that a holder appears.
    public var settlePhase: Duration
    public var safetyRuleBreaks: SafetyRuleBreaks
    /// When set, the site holding the first ticket is killed at this instant (failover figures).
    public var crashHolderAt: Duration?

    public init(
        sites: Int, arbitrators: Int, tickets: Int, expire: Duration = .seconds(10), timeout: Duration = .seconds(1),
        retries: Int = 3, renewalFrequency: Duration? = nil, acquireAfter: Duration = .zero,
        clockDriftMaxPartsPerMillion: Int = 10_000, withHandler: Bool = false, faults: FaultProfile = .mixed,
        faultPhase: Duration = .seconds(120), settlePhase: Duration = .seconds(60), safetyRuleBreaks: SafetyRuleBreaks = []
    ) {
        precondition(sites >= 1 && sites + arbitrators >= 2 && sites + arbitrators <= Membership.membersMax, "bad member counts")
        precondition(tickets >= 1 && tickets <= 64, "1...64 tickets per simulation")
        self.sites = sites
        self.arbitrators = arbitrators
        self.tickets = tickets
        self.expire = expire
        self.timeout = timeout
        self.retries = retries
        self.renewalFrequency = renewalFrequency
        self.acquireAfter = acquireAfter
        self.clockDriftMaxPartsPerMillion = clockDriftMaxPartsPerMillion
        self.withHandler = withHandler
        self.faults = faults
        self.faultPhase = faultPhase
        self.settlePhase = settlePhase
        self.safetyRuleBreaks = safetyRuleBreaks
        self.crashHolderAt = nil
    }

    /// 2 sites + 1 arbitrator, booth's classic shape.
    public static func twoSitesOneArbitrator(tickets: Int = 3) -> Scenario {
        Scenario(sites: 2, arbitrators: 1, tickets: tickets)
    }

    /// 3 sites + 2 arbitrators.
    public static func threeSitesTwoArbitrators(tickets: Int = 3) -> Scenario {
        Scenario(sites: 3, arbitrators: 2, tickets: tickets)
    }

    public var memberCount: Int { sites + arbitrators }

    public func members() -> [Member] {
        (0..<memberCount).map { index in
            index < sites
                ? Member(id: MemberID(index), name: "site-\(Character(UnicodeScalar(UInt8(97 + index))))", role: .site)
                : Member(id: MemberID(index), name: "arbitrator-\(index - sites + 1)", role: .arbitrator)
        }
    }

    public func policy(ticket index: Int) -> TicketPolicy {
        do {
            return try TicketPolicy(
                name: "ticket-\(index + 1)", expire: expire, timeout: timeout, retries: retries,
                renewalFrequency: renewalFrequency, acquireAfter: acquireAfter,
                // A rule broken on purpose must be seen to bite on its own: the holder's
                // stop-before margin is a second layer that would hide, for one, a lease counted
                // from the reply (the holder then revokes well before the others' view ends).
                stopBefore: safetyRuleBreaks.isEmpty ? nil : .zero,
                clockDriftMaxPartsPerMillion: clockDriftMaxPartsPerMillion, hasBeforeAcquireHandler: withHandler,
                weights: Array(repeating: 0, count: memberCount), safetyRuleBreaks: safetyRuleBreaks)
        } catch {
            preconditionFailure("scenario policy invalid: \(error)")
        }
    }
}

/// How often each kind of fault happens during the fault phase.
public struct FaultProfile: Sendable, Equatable {
    /// Mean time between injected fault events.
    public var meanInterval: Duration
    public var messageLossMax: Double
    public var duplicationProbability: Double
    public var delayMin: Duration
    public var delayMax: Duration
    /// Probability that one message is held back much longer (up to `delaySpikeMax`).
    public var delaySpikeProbability: Double
    public var delaySpikeMax: Duration
    public var partitionWeight: Int
    public var crashWeight: Int
    public var lossBurstWeight: Int
    public var adminWeight: Int
    public var quorumWeight: Int
    public var handlerWeight: Int
    /// Of the crashes, the share after which the member comes back with its state wiped (a
    /// deleted state directory, a reinstall), after a short outage of up to half a lease.
    public var stateLossProbability: Double = 0

    public static let mixed = FaultProfile(
        meanInterval: .seconds(4), messageLossMax: 0.5, duplicationProbability: 0.02, delayMin: .milliseconds(1),
        delayMax: .milliseconds(60), delaySpikeProbability: 0.005, delaySpikeMax: .milliseconds(2500),
        partitionWeight: 30, crashWeight: 20, lossBurstWeight: 10, adminWeight: 25, quorumWeight: 8, handlerWeight: 7,
        stateLossProbability: 0.3)

    /// No injected faults: a steady network with small delays (for failover figures and demos).
    public static let calm = FaultProfile(
        meanInterval: .seconds(1_000_000), messageLossMax: 0, duplicationProbability: 0, delayMin: .milliseconds(1),
        delayMax: .milliseconds(20), delaySpikeProbability: 0, delaySpikeMax: .milliseconds(20),
        partitionWeight: 0, crashWeight: 0, lossBurstWeight: 0, adminWeight: 0, quorumWeight: 0, handlerWeight: 0)
}
