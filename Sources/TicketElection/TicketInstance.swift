/// The per-ticket lease election: a pure state machine. Inputs are peer messages, timer
/// wake-ups, admin commands and the results of side work; outputs are `Directive`s that the
/// shell carries out (persist first, then send). No clock, no randomness, no I/O here.
///
/// ## The safety rule (why two sites never hold the same ticket)
/// A vote or a heartbeat acknowledgement is a *promise*: "until my clock reads
/// receipt + expire, I will promise nobody else". A member never gives a promise to another
/// leader while one is running (`validPromise`), and writes it to disk before the reply leaves.
/// A leader counts its lease from the moment it *sent* the request a majority answered, and
/// shortens it by the clock drift bound (`TicketPolicy.leaderLease`). Two leaders valid at one
/// real instant would need a common member in their majorities that promised both with
/// overlapping promises, which the rule forbids. Terms order states and filter stale messages;
/// safety does not depend on them.
///
/// ## A member without state (first start, wiped disk, reinstall, damaged journal)
/// It may have given promises it no longer knows of, so it gives none until every such promise
/// has surely run out: `expireRealMax` (the longest lease on the slowest clock) after its start.
/// A missing state cannot be told from a first start, so a first start is quiet too, unless the
/// other members prove that no forgotten promise can be live (`.fresh` only; a damaged journal
/// proves this member had state, and simply waits):
/// - every promise is given to a candidate or leader of term >= 1 (a campaign starts with
///   `term += 1` from term >= 0), and that candidate writes its term to disk before the vote
///   request leaves (persist before send), so from then on it reports a term >= 1 for as long
///   as it keeps its state; terms never go down;
/// - only sites campaign and lead, so the member that may rely on a forgotten promise of ours
///   is another site (our own lead or campaign ended with the restart);
/// - a promise is only live while its leader holds the lease, and a leader that restarts
///   without its state no longer leads (a lead resumes only from restored state; a site that
///   starts without a lead revokes locally);
/// - so if EVERY other site answers this start's state query with term 0 (no lease, not
///   granted), the one that could rely on a forgotten promise of ours does not exist: the
///   quiet period ends at once (with no other site at all, there is nothing to wait for).
///   The answer must answer this incarnation's query: a reply sent before this start
///   (delivered late) could predate the campaign it would have to report, so queries carry
///   a nonce (the start instant) that the reply echoes.
/// Anything less keeps the quiet period: a majority of term-0 answers (the holder may be the
/// silent one), or a site answering with a term > 0. Arbitrators' answers neither count nor
/// cancel (an arbitrator's term may come from a campaign that started after this start, which
/// the site's own answer would show; waiting on it would only let a quick first grant race
/// this member's query). The quiet period
/// binds this member's own campaign too (a vote for itself would break a forgotten promise as
/// surely as one for another site). A brand-new cluster whose sites are up is grantable at
/// once; an arbitrator restarted with its state deleted while a site holds waits. (What this
/// does not cover: several members losing their state at once while the old holder's startup
/// revoke is still in flight; in batond that revoke is the first thing a restarted site does.)
///
/// ## Transition table (automatic tickets; manual tickets only record grants and revokes)
///
/// | role       | input                                   | next role  | directives                                    |
/// |------------|-----------------------------------------|------------|-----------------------------------------------|
/// | starting   | start (no lead to resume)               | starting   | revokeLocally(not-held-at-startup), send state-query |
/// | starting   | start (restored lead, elapsed known)    | leader     | grantLocally, heartbeat round                 |
/// | starting   | state-reply from all / query deadline   | follower   | adopt newest term, lease, intent; log         |
/// | follower   | vote-request, no running promise        | follower   | persist promise, send vote-granted            |
/// | follower   | vote-request, promise to someone else   | follower   | send vote-refused(lease-held-elsewhere)       |
/// | follower   | heartbeat from promised leader / none   | follower   | persist promise, send heartbeat-ack           |
/// | follower   | promise runs out (timer)                | follower   | log; campaign at + acquire-after + rank slots |
/// | follower   | release(handover to self)               | candidate  | persist, send vote-request                    |
/// | follower   | admin grant                             | candidate  | (runHandler) persist, send vote-request       |
/// | candidate  | vote-granted reaching a majority        | leader     | heartbeat round; grantLocally or commit pending |
/// | candidate  | refusal naming a lease / no majority    | follower   | send withdrawn; retry later if intended       |
/// | leader     | renewal timer                           | leader     | persist self-promise, send heartbeat (runHandler) |
/// | leader     | round not acked by a majority (timer)   | leader     | resend heartbeat every timeout / 2 until lease end |
/// | leader     | heartbeat-acks reaching a majority      | leader     | lease end = round start + leader lease        |
/// | leader     | lease end passes without renewal        | follower   | revokeLocally(lease-expired)                  |
/// | leader     | lease end - stop-before, not renewed    | releasing  | revokeLocally(renewal-failing)                |
/// | leader     | revoke / move / quorum lost / handler failed | releasing | revokeLocally(reason)                     |
/// | releasing  | local revoke completed                  | follower   | send release(revoked?, handover?)             |
/// | releasing  | local revoke not confirmed by the site  | follower   | log (no release: the lease runs out)          |
/// | leader     | message of a newer leader               | follower   | revokeLocally(superseded-by-newer-term)       |
public struct TicketInstance: Sendable {
    public let policy: TicketPolicy
    public let membership: Membership

    // MARK: State that is persisted (see `persistentState(now:)`).
    public private(set) var term: UInt64 = 0
    private var votedFor: MemberID?
    private var promise: Promise?
    public private(set) var intendedGranted = false
    public private(set) var standby = false
    public private(set) var manualHolders: Set<MemberID> = []
    public private(set) var attributes: [String: String] = [:]

    // MARK: Volatile state.
    public private(set) var role: Role = .starting
    /// What this instance last told the shell to write to the site's CIB.
    public private(set) var grantedLocally = false
    private var siteQuorate = true
    private var quietUntil: LocalInstant?
    /// A start without state: the term-0 answers that may end the quiet period early.
    private var quietProof: QuietProof?
    /// Names this incarnation's state queries (its start instant); replies echo it.
    private var queryNonce: UInt64 = 0
    /// The highest term each member sent this incarnation (`corroboratedTerm`).
    private var heardTerms: [UInt64]
    /// A message refused for its term asks the others for theirs, at most once per timeout.
    private var catchUpQueryAt: LocalInstant?
    private var startup: Startup?
    private var campaignAt: LocalInstant?
    private var previousLeader: MemberID?
    /// The newest release this member saw (leader and term): a refusal that cites that lease
    /// comes from a voter the release has not reached yet (it travels on another connection).
    private var observedRelease: (leader: MemberID, term: UInt64)?
    private var handoverTarget: MemberID?
    private var pending: [PendingRequest] = []
    private var handlerInFlight: HandlerPurpose?
    private var pendingGrantAfterHandler: PendingGrant?
    /// Grants asked for while the startup query runs: carried out when it completes.
    private var grantsAfterStartup: [PendingGrant] = []
    private var lastWakeUp: LocalInstant?
    private var dirty = false
    /// The promise to another leader as last written, stretched one renewal period ahead: a
    /// heartbeat whose promise the stretch covers needs no write (a follower writes every other
    /// heartbeat, not every one). Restored from disk it is only ever longer than the real
    /// one: a follower restarted within a lease withholds its vote at most a renewal period
    /// longer. Set at every write (`finish`), so it always is what the disk holds.
    private var promiseOnDisk: Promise?

    static let pendingRequestsMax = 64

    public init(policy: TicketPolicy, membership: Membership) {
        precondition(
            policy.weights.isEmpty || policy.weights.count == membership.count,
            "ticket \(policy.name): \(policy.weights.count) weights for \(membership.count) members")
        self.policy = policy
        self.membership = membership
        self.heardTerms = Array(repeating: 0, count: membership.count)
    }

    // MARK: - Public types

    public enum Role: Sendable, Equatable {
        case starting
        case follower
        case candidate(Campaign)
        case leader(Leadership)
        case releasing(Release)

        public var name: String {
            switch self {
            case .starting: "starting"
            case .follower: "follower"
            case .candidate: "candidate"
            case .leader: "leader"
            case .releasing: "releasing"
            }
        }
    }

    public struct Campaign: Sendable, Equatable {
        public var term: UInt64
        public var startedAt: LocalInstant
        public var votes: MemberSet
        public var refusals: MemberSet
        public var resendAt: LocalInstant
        public var resends: Int
        public var forced: Bool
        /// Started by an admin's grant (booth's "commit pending" applies), not by a failover
        /// or handover, where the lease itself proves the previous holder gave up.
        public var byAdmin: Bool
    }

    public struct Leadership: Sendable, Equatable {
        public var term: UInt64
        /// This site's own (shortened) view of when its lease ends.
        public var leaseEnd: LocalInstant
        public var round: UInt64
        public var roundStartedAt: LocalInstant
        public var acknowledged: MemberSet
        public var resendAt: LocalInstant?
        public var resends: Int
        public var nextRenewalAt: LocalInstant
        /// Members that answered since the election: a silent site may still hold the ticket.
        public var heard: MemberSet
        public var electedAt: LocalInstant
        public var silentCheckAt: LocalInstant?
        public var commitPendingUntil: LocalInstant?
        public var forced: Bool
    }

    public struct Release: Sendable, Equatable {
        public var term: UInt64
        public var reason: RevokeReason
        public var revoked: Bool
        public var handoverTo: MemberID?
    }

    struct Promise: Sendable, Equatable {
        var leader: MemberID
        var term: UInt64
        var until: LocalInstant
        /// Given to an elected leader (heartbeat, or our own lead), not to a candidate.
        var confirmed: Bool

        func view(now: LocalInstant) -> LeaseView {
            LeaseView(leader: leader, term: term, remaining: until.since(now), confirmed: confirmed)
        }
    }

    struct QuietProof: Sendable, Equatable {
        /// Other sites that answered this incarnation's query with term 0, no lease, not granted.
        var termZero: MemberSet
        /// After the startup query: ask those that have not answered again at this instant.
        var resendAt: LocalInstant
    }

    struct Startup: Sendable, Equatable {
        /// Ask again (those that have not answered) at this instant; finish at `deadline`.
        var resendAt: LocalInstant
        var deadline: LocalInstant
        var replied: MemberSet
        var newestTerm: UInt64
        var newestGranted: Bool
        var newestManualHolders: [MemberID]?
    }

    enum PendingKind: Sendable, Equatable {
        case grant(waitForCommit: Bool)
        case revoke(leader: MemberID?)
        case move(to: MemberID)

        /// A move, or this leader's own revoke: answered only after the site's stop.
        var waitsForTheRelease: Bool {
            switch self {
            case .move, .revoke(leader: nil): true
            case .grant, .revoke: false
            }
        }
    }

    struct PendingRequest: Sendable, Equatable {
        var id: RequestID
        var kind: PendingKind
        var deadline: LocalInstant
    }

    struct PendingGrant: Sendable, Equatable {
        var request: RequestID?
        var forced: Bool
        var wait: Bool
        var waitForCommit: Bool
    }

    /// How the shell knows the time that passed since the state file was written.
    public enum Elapsed: Sendable, Equatable {
        /// Measured on a clock that kept running (same boot, CLOCK_BOOTTIME).
        case known(Duration)
        /// After a reboot: promises are restored in full, a lead is given up.
        case unknown
    }

    public enum StartMode: Sendable, Equatable {
        /// No state for this ticket: a first start, or a wiped disk or reinstalled member (the
        /// shell cannot tell them apart). Quiet as `.stateLost`, unless every other member
        /// answers this start's query with term 0 (the type's opening comment says why).
        case fresh
        case restored(PersistentTicketState, elapsed: Elapsed)
        /// The state file existed but is lost or unreadable: promise nothing until any
        /// promise this member may have given has surely run out.
        case stateLost
    }

    // MARK: - Queries

    /// Whether this site believes it holds the ticket with a valid lease now.
    public func believesHolding(now: LocalInstant) -> Bool {
        guard case .leader(let leadership) = role else { return false }
        return now < leadership.leaseEnd || policy.safetyRuleBreaks.contains(.leaderIgnoresLeaseEnd)
    }

    public var isLeader: Bool {
        if case .leader = role { return true }
        return false
    }

    public func status(now: LocalInstant) -> TicketStatus {
        var leader: MemberID?
        var remaining: Duration?
        var commitPending: Duration?
        switch role {
        case .leader(let leadership):
            leader = membership.selfID
            remaining = max(.zero, leadership.leaseEnd.since(now))
            commitPending = leadership.commitPendingUntil.map { max(.zero, $0.since(now)) }
        default:
            if let held = validPromise(now: now), held.confirmed, held.leader != membership.selfID {
                leader = held.leader
                remaining = held.until.since(now)
            }
        }
        if policy.mode == .manual {
            leader = manualHolders.min()
            remaining = nil
        }
        return TicketStatus(
            name: policy.name, mode: policy.mode, role: role.name, term: term, leader: leader,
            leaseRemaining: remaining, commitPendingRemaining: commitPending, grantedLocally: grantedLocally,
            standby: standby, manualHolders: manualHolders.sorted(), intendedGranted: intendedGranted,
            attributes: attributes)
    }

    /// The state to write to disk, with times as spans left at `now`.
    public func persistentState(now: LocalInstant) -> PersistentTicketState {
        var view: LeaseView?
        if var written = promise {
            if let disk = promiseOnDisk, disk.leader == written.leader, disk.term == written.term,
                disk.confirmed == written.confirmed, disk.until > written.until,
                !policy.safetyRuleBreaks.contains(.promiseWrittenShort)
            {
                written.until = disk.until
            }
            if written.until > now { view = written.view(now: now) }
        }
        var leading: Duration?
        if case .leader(let leadership) = role, leadership.leaseEnd > now {
            leading = leadership.leaseEnd.since(now)
        }
        return PersistentTicketState(
            term: term, votedFor: votedFor, promise: view, leading: leading, intendedGranted: intendedGranted,
            standby: standby, manualHolders: manualHolders.sorted(), attributes: attributes)
    }

    // MARK: - Inputs

    /// The first input of every instance.
    public mutating func start(_ mode: StartMode, now: LocalInstant) -> [Directive] {
        precondition(role == .starting && startup == nil, "ticket \(policy.name): start called twice")
        var out: [Directive] = []
        var resume: Duration?
        queryNonce = UInt64(bitPattern: now.nanoseconds)
        switch mode {
        case .fresh:
            // Manual tickets give no promises; the broken rule is batond before issue 10.
            if policy.mode == .automatic && !policy.safetyRuleBreaks.contains(.amnesiacVotesAtOnce) && !otherSites.isEmpty {
                quietUntil = now + policy.expireRealMax
                quietProof = QuietProof(termZero: [], resendAt: now + policy.timeout * TicketInstance.startupQueryRounds)
                out.append(.log(.quietAfterRestart(until: now + policy.expireRealMax, endsIfAllReportTermZero: true)))
            }
        case .stateLost:
            quietUntil = now + policy.expireRealMax
            out.append(.log(.quietAfterRestart(until: now + policy.expireRealMax, endsIfAllReportTermZero: false)))
        case .restored(let saved, let elapsed):
            term = saved.term
            votedFor = saved.votedFor
            intendedGranted = saved.intendedGranted
            standby = saved.standby
            manualHolders = Set(saved.manualHolders.filter { membership.contains($0) })
            attributes = saved.attributes
            let elapsedLowerBound: Duration
            switch elapsed {
            case .known(let span): elapsedLowerBound = max(.zero, span)
            case .unknown: elapsedLowerBound = .zero
            }
            if let view = saved.promise, membership.contains(view.leader), view.remaining > elapsedLowerBound {
                promise = Promise(
                    leader: view.leader, term: view.term, until: now + (view.remaining - elapsedLowerBound), confirmed: view.confirmed)
            }
            if case .known(let span) = elapsed, let leading = saved.leading, leading > span, membership.isSite,
                policy.mode == .automatic
            {
                // Never longer than a lead can be (a journal written by hand or by an older
                // version must not make this site lead past what anyone promised).
                resume = min(leading - span, policy.leaderLease)
            }
        }
        if policy.mode == .manual {
            if manualHolders.contains(membership.selfID) {
                grantedLocally = true
                out.append(.grantLocally(term: term, leaseRemaining: nil))
            } else if membership.isSite {
                out.append(.revokeLocally(.notHeldAtStartup))
            }
            role = .follower
            beginStartupQuery(now: now, out: &out)
            return finish(out, now: now)
        }
        if resume == nil, let held = promise, held.leader == membership.selfID {
            // Our own lead is given up: the promise to ourselves still binds our votes, but we
            // must not tell others that we lead.
            promise?.confirmed = false
        }
        if let resume {
            // Restart with state while leading: keep the grant and renew at once; the lease
            // still ends where it would have, measured on a clock that kept running.
            let leadership = Leadership(
                term: term, leaseEnd: now + resume, round: 0, roundStartedAt: now, acknowledged: [membership.selfID],
                resendAt: nil, resends: 0, nextRenewalAt: now, heard: [membership.selfID], electedAt: now,
                silentCheckAt: nil, commitPendingUntil: nil, forced: true)
            role = .leader(leadership)
            grantedLocally = true
            out.append(.grantLocally(term: term, leaseRemaining: resume))
            out.append(.log(.becameLeader(term: term)))
            startRound(now: now, out: &out)
            return finish(out, now: now)
        }
        if membership.isSite {
            out.append(.revokeLocally(.notHeldAtStartup))
        }
        beginStartupQuery(now: now, out: &out)
        return finish(out, now: now)
    }

    /// Startup: ask every member for its state; ask again every timeout those that have not
    /// answered (the first query may leave before the connections are up); finish when all
    /// have answered or after three timeouts.
    static let startupQueryRounds = 3

    private mutating func beginStartupQuery(now: LocalInstant, out: inout [Directive]) {
        startup = Startup(
            resendAt: now + policy.timeout, deadline: now + policy.timeout * TicketInstance.startupQueryRounds, replied: [],
            newestTerm: term, newestGranted: intendedGranted)
        for other in membership.others { out.append(send(.stateQuery(nonce: queryNonce), to: other)) }
    }

    public mutating func onMessage(_ message: PeerMessage, now: LocalInstant) -> [Directive] {
        precondition(message.to == membership.selfID, "ticket \(policy.name): message for \(message.to) delivered to \(membership.selfID)")
        precondition(message.ticket == policy.name, "message for ticket \(message.ticket) delivered to \(policy.name)")
        guard membership.contains(message.from), message.from != membership.selfID else { return [] }
        var out: [Directive] = []
        noteHeardTerm(message)
        if let refused = termOutOfBounds(message) {
            out.append(.log(.messageRefused(from: message.from, term: refused, known: term)))
            // Ask the others where the ticket's term stands: if a second member is as far
            // ahead, its answer corroborates the jump and the next message is taken (a member
            // left behind by a hostile one's pushes catches up instead of refusing for good).
            if catchUpQueryAt.map({ now >= $0 }) ?? true {
                catchUpQueryAt = now + policy.timeout
                for other in membership.others where other != message.from {
                    out.append(send(.stateQuery(nonce: queryNonce), to: other))
                }
            }
            return finish(out, now: now)
        }
        switch message.body {
        case .voteRequest(let lease): onVoteRequest(message, lease: lease, now: now, out: &out)
        case .voteGranted: onVoteReply(message, granted: true, known: nil, now: now, out: &out)
        case .voteRefused(let reason, let known):
            if reason == .quietAfterRestart, known == nil, case .candidate = role {
                // The voter is in its quiet period after a start without state: a refusal for a
                // while, not an answer. It stays unanswered and is asked again at the next resend,
                // so a campaign that began a moment before the voter's quiet period ended still
                // gets its vote (members started together end their quiet periods a little apart).
                break
            }
            onVoteReply(message, granted: false, known: known, now: now, out: &out)
        case .heartbeat(let lease, let round): onHeartbeat(message, lease: lease, round: round, now: now, out: &out)
        case .heartbeatAcknowledged(let round): onHeartbeatReply(message, round: round, accepted: true, known: nil, now: now, out: &out)
        case .heartbeatRefused(let round, _, let known):
            onHeartbeatReply(message, round: round, accepted: false, known: known, now: now, out: &out)
        case .release(let revoked, let handoverTo): onRelease(message, revoked: revoked, handoverTo: handoverTo, now: now, out: &out)
        case .withdrawn: onWithdrawn(message, now: now, out: &out)
        case .revokeRequest:
            if case .leader = role { beginRelease(reason: .revokedByAdmin, revoked: true, handoverTo: nil, now: now, out: &out) }
        case .moveRequest(let target):
            if case .leader = role, isValidMoveTarget(target), target != membership.selfID {
                beginRelease(reason: .movedAway, revoked: false, handoverTo: target, now: now, out: &out)
            }
        case .stateQuery(let nonce):
            if let proof = quietProof, membership.member(message.from).role == .site, !proof.termZero.contains(message.from) {
                // The asker is up and hears us: ask it too, before answering, so that it answers
                // our question before our answer can complete its own startup and let it campaign
                // (it would then answer with term 1, and we would wait out the lease for nothing).
                out.append(send(.stateQuery(nonce: queryNonce), to: message.from))
            }
            let known = validPromise(now: now).map { $0.view(now: now) }
            out.append(send(.stateReply(known: known, granted: intendedGranted, manualHolders: manualHolders.sorted(), nonce: nonce), to: message.from))
        case .stateReply(let known, let granted, let holders, let nonce):
            // An answer to an earlier incarnation's query says nothing of what happened since.
            guard nonce == queryNonce else { break }
            noteQuietProof(message, known: known, granted: granted, now: now, out: &out)
            onStateReply(message, known: known, granted: granted, manualHolders: holders, now: now, out: &out)
        case .manualGranted:
            guard policy.mode == .manual else { break }
            adoptTerm(message.term)
            if manualHolders.insert(message.from).inserted {
                dirty = true
                out.append(.log(.manualGrantedElsewhere(message.from)))
                if manualHolders.count > 1 { out.append(.log(.multipleManualHolders(manualHolders.sorted()))) }
            }
        case .manualRevoked:
            guard policy.mode == .manual else { break }
            adoptTerm(message.term)
            if manualHolders.remove(message.from) != nil { dirty = true }
        }
        return finish(out, now: now)
    }

    public mutating func onTimer(now: LocalInstant) -> [Directive] {
        var out: [Directive] = []
        lastWakeUp = nil
        if var query = startup {
            if now >= query.deadline {
                finishStartup(now: now, out: &out)
            } else if now >= query.resendAt {
                query.resendAt = now + policy.timeout
                startup = query
                for other in membership.others where !query.replied.contains(other) {
                    out.append(send(.stateQuery(nonce: queryNonce), to: other))
                }
            }
        }
        if let quiet = quietUntil, now >= quiet {
            quietUntil = nil
            quietProof = nil
        }
        if var proof = quietProof, startup == nil, now >= proof.resendAt {
            // Members that came up after the startup query: ask until the proof or the end.
            proof.resendAt = now + policy.timeout
            quietProof = proof
            for other in otherSites where !proof.termZero.contains(other) {
                out.append(send(.stateQuery(nonce: queryNonce), to: other))
            }
        }
        expirePendingRequests(now: now, out: &out)
        switch role {
        case .starting, .releasing:
            break
        case .follower:
            if let held = promise, held.until <= now {
                promise = nil
                dirty = true
                if held.leader != membership.selfID && held.confirmed {
                    out.append(.log(.leaseExpiredAtFollower(leader: held.leader, term: held.term)))
                }
                if held.confirmed { previousLeader = held.leader }
                scheduleFailover(after: held.until, withAcquireAfter: true, now: now)
            }
            if let at = campaignAt, now >= at {
                campaignAt = nil
                tryFailoverCampaign(now: now, out: &out)
            }
        case .candidate(var campaign):
            guard now >= campaign.resendAt else { break }
            if campaign.resends < policy.retries {
                campaign.resends += 1
                campaign.resendAt = now + policy.timeout
                role = .candidate(campaign)
                for other in membership.others where !campaign.votes.contains(other) && !campaign.refusals.contains(other) {
                    out.append(send(.voteRequest(lease: policy.expire), to: other))
                }
            } else {
                abandonCampaign(campaign, now: now, out: &out)
            }
        case .leader(var leadership):
            if now >= leadership.leaseEnd && !policy.safetyRuleBreaks.contains(.leaderIgnoresLeaseEnd) {
                loseLease(leadership, now: now, out: &out)
                break
            }
            if policy.stopBefore > .zero, now >= leadership.leaseEnd - policy.stopBefore,
                !policy.safetyRuleBreaks.contains(.leaderIgnoresLeaseEnd)
            {
                // The renewal is failing: stop now, while the lease still covers the stop.
                beginRelease(reason: .renewalFailing, revoked: false, handoverTo: nil, now: now, out: &out)
                break
            }
            if let check = leadership.silentCheckAt, now >= check {
                leadership.silentCheckAt = nil
                role = .leader(leadership)
                decideCommit(now: now, out: &out)
                guard case .leader(let updated) = role else { break }
                leadership = updated
            }
            if let until = leadership.commitPendingUntil, now >= until {
                leadership.commitPendingUntil = nil
                role = .leader(leadership)
                commitLocally(now: now, out: &out)
                guard case .leader(let updated) = role else { break }
                leadership = updated
            }
            if now >= leadership.nextRenewalAt {
                startRound(now: now, out: &out)
            } else if let resendAt = leadership.resendAt, now >= resendAt {
                // Until a majority has acknowledged the round, the renewal is resent at the
                // renewal resend interval for as long as the lease lasts (the lease bounds the
                // resends); `retries` only bounds resends to the rest once it is renewed.
                let renewed = membership.isMajority(leadership.acknowledged.count)
                if leadership.resends < policy.retries || !renewed {
                    leadership.resends += 1
                    leadership.resendAt = now + (renewed ? policy.timeout : policy.renewalResendInterval)
                    role = .leader(leadership)
                    for other in membership.others where !leadership.acknowledged.contains(other) {
                        out.append(send(.heartbeat(lease: policy.expire, round: leadership.round), to: other))
                    }
                } else {
                    leadership.resendAt = nil
                    role = .leader(leadership)
                }
            }
        }
        return finish(out, now: now)
    }

    public mutating func onCommand(_ command: AdminCommand, request: RequestID, now: LocalInstant) -> [Directive] {
        var out: [Directive] = []
        guard pending.count < TicketInstance.pendingRequestsMax else {
            out.append(.reply(request, .refused(.busy)))
            return finish(out, now: now)
        }
        switch command {
        case .grant(let force, let wait, let waitForCommit):
            commandGrant(request: request, force: force, wait: wait, waitForCommit: waitForCommit, now: now, out: &out)
        case .revoke(let wait):
            commandRevoke(request: request, wait: wait, now: now, out: &out)
        case .standby, .activate:
            let want = command == .standby
            let holds = policy.mode == .manual ? manualHolders.contains(membership.selfID) : isLeader
            guard holds else {
                out.append(.reply(request, .refused(.notOwned)))
                break
            }
            if standby != want {
                standby = want
                dirty = true
                out.append(.setStandby(want))
            }
            out.append(.reply(request, .done))
        case .move(let target, let wait):
            commandMove(request: request, target: target, wait: wait, now: now, out: &out)
        case .setAttribute(let name, let value):
            if attributes[name] != value {
                attributes[name] = value
                dirty = true
            }
            out.append(.reply(request, .done))
        case .deleteAttribute(let name):
            if attributes.removeValue(forKey: name) != nil { dirty = true }
            out.append(.reply(request, .done))
        }
        return finish(out, now: now)
    }

    public mutating func onHandlerResult(_ purpose: HandlerPurpose, succeeded: Bool, now: LocalInstant) -> [Directive] {
        var out: [Directive] = []
        guard handlerInFlight == purpose else { return finish(out, now: now) }
        handlerInFlight = nil
        switch purpose {
        case .acquire:
            let grant = pendingGrantAfterHandler
            pendingGrantAfterHandler = nil
            if !succeeded {
                if let request = grant?.request { out.append(.reply(request, .refused(.handlerDenied))) }
                // A failover attempt denied by the handler is retried after a renewal period.
                if grant?.request == nil, intendedGranted, case .follower = role {
                    campaignAt = now + policy.renewalFrequency
                }
                break
            }
            guard case .follower = role, validPromise(now: now) == nil, siteQuorate else {
                if let request = grant?.request { out.append(.reply(request, .refused(refusalForGrant(now: now) ?? .busy))) }
                break
            }
            startCampaign(forced: grant?.forced ?? false, byAdmin: grant?.request != nil, now: now, out: &out)
            if let grant, let request = grant.request {
                registerGrantRequest(request, wait: grant.wait, waitForCommit: grant.waitForCommit, now: now, out: &out)
            }
        case .renewal(let round):
            guard !succeeded, case .leader(let leadership) = role, leadership.round >= round else { break }
            beginRelease(reason: .handlerFailed, revoked: false, handoverTo: nil, now: now, out: &out)
        }
        return finish(out, now: now)
    }

    /// The shell finished writing "not granted" and stopping what the ticket guards
    /// (`confirmed`), or could not have it confirmed (the site's resource manager unreachable,
    /// the write refused). Unconfirmed, no release goes out: a release tells the others they
    /// may acquire before the lease ends, which only a confirmed stop makes safe. This member
    /// steps down keeping its own promise, and the others wait out the lease as if it were cut
    /// off (the site's resource manager revokes at `expires` by itself).
    public mutating func onLocalRevokeCompleted(now: LocalInstant, confirmed: Bool = true) -> [Directive] {
        var out: [Directive] = []
        if case .releasing(let release) = role {
            if confirmed {
                finishRelease(release, now: now, out: &out)
            } else {
                role = .follower
                intendedGranted = !release.revoked
                previousLeader = membership.selfID
                dirty = true
                rebasePendingAfterTheStop(now: now)
                out.append(.log(.releaseWithheld(term: release.term, reason: release.reason)))
            }
        }
        return finish(out, now: now)
    }

    /// batond is stopping (SIGTERM): a leader stops what the ticket guards (revokeLocally) and
    /// then releases the ticket with a handover to `target` (a connected site, or nil: the
    /// others then campaign in slot order at once instead of waiting for the lease), as `move`
    /// does. Other roles are left to the shell (it reports site quorum lost, so that nothing
    /// campaigns while batond stops).
    public mutating func onStop(handoverTo target: MemberID?, now: LocalInstant) -> [Directive] {
        var out: [Directive] = []
        if policy.mode == .automatic, case .leader = role {
            let handover = target.flatMap { isValidMoveTarget($0) && $0 != membership.selfID ? $0 : nil }
            beginRelease(reason: .daemonStopping, revoked: false, handoverTo: handover, now: now, out: &out)
        }
        return finish(out, now: now)
    }

    public mutating func onSiteQuorum(_ quorate: Bool, now: LocalInstant) -> [Directive] {
        var out: [Directive] = []
        guard quorate != siteQuorate else { return finish(out, now: now) }
        siteQuorate = quorate
        if !quorate {
            campaignAt = nil
            switch role {
            case .leader:
                beginRelease(reason: .siteQuorumLost, revoked: false, handoverTo: nil, now: now, out: &out)
            case .candidate(let campaign):
                abandonCampaign(campaign, now: now, out: &out)
            default:
                break
            }
        } else if case .follower = role, validPromise(now: now) == nil {
            scheduleFailover(after: now, withAcquireAfter: false, now: now)
        }
        return finish(out, now: now)
    }

    // MARK: - Message handlers

    private mutating func onVoteRequest(_ message: PeerMessage, lease: Duration, now: LocalInstant, out: inout [Directive]) {
        guard lease > .zero, lease <= policy.expire * 2 else { return }
        if let refusal = refusalForPromise(to: message.from, term: message.term, forVote: true, now: now) {
            out.append(send(.voteRefused(refusal, known: knownView(now: now)), to: message.from))
            return
        }
        stepDownIfLeading(newerTerm: message.term, now: now, out: &out)
        if message.term > term {
            adoptTerm(message.term)
        }
        votedFor = message.from
        givePromise(to: message.from, term: message.term, lease: lease, confirmed: false, now: now)
        out.append(send(.voteGranted, to: message.from))
    }

    private mutating func onVoteReply(_ message: PeerMessage, granted: Bool, known: LeaseView?, now: LocalInstant, out: inout [Directive]) {
        guard case .candidate(var campaign) = role, message.term == campaign.term || !granted else {
            if case .leader(var leadership) = role, message.term == leadership.term {
                // A late answer to the election: the member is reachable.
                leadership.heard.insert(message.from)
                role = .leader(leadership)
                decideCommitIfAllHeard(now: now, out: &out)
            }
            return
        }
        if granted {
            campaign.votes.insert(message.from)
            role = .candidate(campaign)
            if membership.isMajority(campaign.votes.count) {
                becomeLeader(campaign, now: now, out: &out)
            }
            return
        }
        if let known, let released = observedRelease, known.leader == released.leader, known.term <= released.term {
            // Stale: we saw that leader release its lease; the voter has not yet. It stays
            // unanswered and is asked again at the next resend.
            return
        }
        campaign.refusals.insert(message.from)
        role = .candidate(campaign)
        if let known, known.leader != membership.selfID, known.confirmed {
            // An elected leader holds the ticket: follow it.
            abandonCampaign(campaign, now: now, out: &out)
            adoptKnowledge(known, now: now)
            return
        }
        if message.term > campaign.term {
            abandonCampaign(campaign, now: now, out: &out)
            adoptTerm(message.term)
            return
        }
        let reachable = membership.count - campaign.refusals.count
        if !membership.isMajority(reachable) {
            abandonCampaign(campaign, now: now, out: &out)
        }
    }

    private mutating func onHeartbeat(_ message: PeerMessage, lease: Duration, round: UInt64, now: LocalInstant, out: inout [Directive]) {
        guard policy.mode == .automatic, lease > .zero, lease <= policy.expire * 2 else { return }
        if let refusal = refusalForPromise(to: message.from, term: message.term, forVote: false, now: now) {
            if refusal == .leaseHeldElsewhere || refusal == .staleTerm {
                stepDownIfLeading(newerTerm: message.term, now: now, out: &out)
            }
            if refusal == .quietAfterRestart, validPromise(now: now) == nil {
                // We may not promise, but we may know: do not campaign against this leader.
                adoptKnowledge(LeaseView(leader: message.from, term: message.term, remaining: lease, confirmed: true), now: now)
            }
            out.append(send(.heartbeatRefused(round: round, refusal, known: knownView(now: now)), to: message.from))
            return
        }
        stepDownIfLeading(newerTerm: message.term, now: now, out: &out)
        if case .candidate(let campaign) = role { abandonCampaign(campaign, now: now, out: &out) }
        if message.term > term { adoptTerm(message.term) }
        if votedFor == nil { votedFor = message.from }
        let newLeader = promise?.leader != message.from || promise?.term != message.term
        givePromise(to: message.from, term: message.term, lease: lease, confirmed: true, now: now)
        if !intendedGranted {
            intendedGranted = true
            dirty = true
        }
        if newLeader { out.append(.log(.followerOf(message.from, term: message.term))) }
        handoverTarget = nil
        previousLeader = nil
        completePending(now: now, out: &out) { kind in
            if case .move(let target) = kind, target == message.from { return .moved(to: target) }
            return nil
        }
        out.append(send(.heartbeatAcknowledged(round: round), to: message.from))
    }

    private mutating func onHeartbeatReply(
        _ message: PeerMessage, round: UInt64, accepted: Bool, known: LeaseView?, now: LocalInstant, out: inout [Directive]
    ) {
        guard case .leader(var leadership) = role else { return }
        leadership.heard.insert(message.from)
        if accepted {
            guard round == leadership.round, message.term == leadership.term else {
                role = .leader(leadership)
                decideCommitIfAllHeard(now: now, out: &out)
                return
            }
            leadership.acknowledged.insert(message.from)
            if leadership.acknowledged.count == membership.count { leadership.resendAt = nil }
            if membership.isMajority(leadership.acknowledged.count) {
                let end =
                    policy.safetyRuleBreaks.contains(.leaseFromReply)
                    ? now + policy.leaderLease : leadership.roundStartedAt + policy.leaderLease
                if end > leadership.leaseEnd { leadership.leaseEnd = end }
            }
            role = .leader(leadership)
            decideCommitIfAllHeard(now: now, out: &out)
            return
        }
        role = .leader(leadership)
        if let known, known.leader != membership.selfID, known.confirmed, known.term > leadership.term {
            stepDownIfLeading(newerTerm: known.term, now: now, out: &out)
            adoptKnowledge(known, now: now)
            return
        }
        if message.term > leadership.term, message.term < ElectionLimits.termMax {
            // A member moved to a newer term (a failed campaign): lead on in a term above it
            // (at the ceiling: lead on in our own; terms do not make safety).
            term = message.term + 1
            votedFor = membership.selfID
            leadership.term = term
            dirty = true
            role = .leader(leadership)
            startRound(now: now, out: &out)
        }
        decideCommitIfAllHeard(now: now, out: &out)
    }

    private mutating func onRelease(_ message: PeerMessage, revoked: Bool, handoverTo: MemberID?, now: LocalInstant, out: inout [Directive]) {
        out.append(.log(.releaseObserved(from: message.from, revoked: revoked)))
        switch role {
        case .leader, .releasing:
            // Not about our lease: a member that knew no leader cancelled a failover.
            return
        default:
            break
        }
        if let held = promise, held.leader == message.from, held.term <= message.term {
            promise = nil
            dirty = true
        }
        observedRelease = (message.from, message.term)
        if message.term > term { adoptTerm(message.term) }
        if revoked {
            if message.term >= term || validPromise(now: now) == nil {
                if intendedGranted { intendedGranted = false; dirty = true }
                campaignAt = nil
            }
            completePending(now: now, out: &out) { kind in
                if case .revoke = kind { return .revoked }
                return nil
            }
            return
        }
        guard validPromise(now: now) == nil, case .follower = role else { return }
        if !intendedGranted { intendedGranted = true; dirty = true }
        previousLeader = message.from
        if let target = handoverTo, membership.contains(target), membership.member(target).role == .site {
            handoverTarget = target
        }
        if handoverTarget == membership.selfID {
            campaignAt = nil
            tryFailoverCampaign(now: now, out: &out)
        } else {
            scheduleFailover(after: now, withAcquireAfter: false, now: now)
        }
    }

    private mutating func onWithdrawn(_ message: PeerMessage, now: LocalInstant, out: inout [Directive]) {
        guard let held = promise, held.leader == message.from, held.term == message.term else { return }
        promise = nil
        dirty = true
        if case .follower = role, intendedGranted {
            scheduleFailover(after: now, withAcquireAfter: false, now: now)
        }
    }

    /// A start without state: count the sites that answered this incarnation's query with
    /// term 0; when all the other sites have, end the quiet period (the type's opening comment).
    private mutating func noteQuietProof(_ message: PeerMessage, known: LeaseView?, granted: Bool, now: LocalInstant, out: inout [Directive]) {
        guard var proof = quietProof, membership.member(message.from).role == .site else { return }
        guard message.term == 0, known == nil, !granted else {
            // A site knows an election: a promise of ours may be live. Terms never go down
            // while state is kept, so the proof cannot come; the quiet period runs its course.
            quietProof = nil
            return
        }
        proof.termZero.insert(message.from)
        quietProof = proof
        guard otherSites.allSatisfy({ proof.termZero.contains($0) }) else { return }
        quietProof = nil
        quietUntil = nil
        out.append(.log(.quietEnded))
    }

    private mutating func onStateReply(
        _ message: PeerMessage, known: LeaseView?, granted: Bool, manualHolders holders: [MemberID], now: LocalInstant,
        out: inout [Directive]
    ) {
        guard var startup else { return }
        startup.replied.insert(message.from)
        if message.term > startup.newestTerm {
            startup.newestTerm = message.term
            startup.newestGranted = granted
            startup.newestManualHolders = holders
        } else if message.term == startup.newestTerm {
            startup.newestGranted = startup.newestGranted || granted
            if startup.newestManualHolders == nil { startup.newestManualHolders = holders }
        }
        self.startup = startup
        if let known, known.leader != membership.selfID, known.confirmed, policy.mode == .automatic {
            adoptKnowledge(known, now: now)
        }
        if startup.replied.count == membership.count - 1 {
            finishStartup(now: now, out: &out)
        }
    }

    // MARK: - Commands

    private mutating func commandGrant(
        request: RequestID, force: Bool, wait: Bool, waitForCommit: Bool, now: LocalInstant, out: inout [Directive]
    ) {
        guard membership.isSite else {
            out.append(.reply(request, .refused(.arbitratorCannotHold)))
            return
        }
        if policy.mode == .manual {
            let others = manualHolders.subtracting([membership.selfID])
            if manualHolders.contains(membership.selfID) {
                out.append(.reply(request, .refused(.alreadyGrantedHere)))
                return
            }
            if let holder = others.min(), !force {
                out.append(.reply(request, .refused(.grantedElsewhere(holder))))
                return
            }
            guard term < ElectionLimits.termMax else {
                out.append(.log(.termExhausted(term: term)))
                out.append(.reply(request, .refused(.termExhausted)))
                return
            }
            term += 1
            manualHolders.insert(membership.selfID)
            intendedGranted = true
            dirty = true
            grantedLocally = true
            out.append(.grantLocally(term: term, leaseRemaining: nil))
            for other in membership.others { out.append(send(.manualGranted, to: other)) }
            if manualHolders.count > 1 { out.append(.log(.multipleManualHolders(manualHolders.sorted()))) }
            out.append(.reply(request, .granted(commitPendingFor: nil)))
            return
        }
        if startup != nil, grantsAfterStartup.count < TicketInstance.pendingRequestsMax {
            grantsAfterStartup.append(PendingGrant(request: request, forced: force, wait: wait, waitForCommit: waitForCommit))
            return
        }
        if let refusal = refusalForGrant(now: now) {
            out.append(.reply(request, .refused(refusal)))
            return
        }
        if let unmet = policy.unmetPrerequisite(.manual, attributes: attributes) {
            out.append(.reply(request, .refused(.prerequisiteNotMet(name: unmet.name))))
            return
        }
        if policy.hasBeforeAcquireHandler {
            guard handlerInFlight == nil else {
                out.append(.reply(request, .refused(.busy)))
                return
            }
            handlerInFlight = .acquire
            pendingGrantAfterHandler = PendingGrant(request: request, forced: force, wait: wait, waitForCommit: waitForCommit)
            out.append(.runHandler(.acquire))
            return
        }
        startCampaign(forced: force, byAdmin: true, now: now, out: &out)
        registerGrantRequest(request, wait: wait, waitForCommit: waitForCommit, now: now, out: &out)
    }

    private mutating func registerGrantRequest(_ request: RequestID, wait: Bool, waitForCommit: Bool, now: LocalInstant, out: inout [Directive]) {
        if !wait {
            out.append(.reply(request, .accepted))
            return
        }
        let deadline = now + policy.timeout * (policy.retries + 1) + (waitForCommit ? policy.expire * 2 + policy.acquireAfter : .zero)
        pending.append(PendingRequest(id: request, kind: .grant(waitForCommit: waitForCommit), deadline: deadline))
        if case .leader = role { answerGrantWaiters(now: now, out: &out) }
    }

    private func refusalForGrant(now: LocalInstant) -> CommandRefusal? {
        if startup != nil { return .starting }
        switch role {
        case .leader: return .alreadyGrantedHere
        case .candidate: return .campaignAwaitingMajority
        case .releasing: return .busy
        case .starting: return .starting
        case .follower: break
        }
        if let held = validPromise(now: now), held.leader != membership.selfID {
            return held.confirmed ? .grantedElsewhere(held.leader) : .electionInProgress
        }
        if validPromise(now: now) != nil { return .ownPromiseRunning }
        if let quiet = quietUntil, now < quiet { return .quietAfterRestart(remaining: quiet.since(now)) }
        if term >= ElectionLimits.termMax { return .termExhausted }
        if !siteQuorate { return .siteNotQuorate }
        if handlerInFlight != nil { return .busy }
        return nil
    }

    private mutating func commandRevoke(request: RequestID, wait: Bool, now: LocalInstant, out: inout [Directive]) {
        if policy.mode == .manual {
            guard manualHolders.contains(membership.selfID) else {
                out.append(.reply(request, .refused(.notOwned)))
                return
            }
            guard term < ElectionLimits.termMax else {
                out.append(.log(.termExhausted(term: term)))
                out.append(.reply(request, .refused(.termExhausted)))
                return
            }
            term += 1
            manualHolders.remove(membership.selfID)
            intendedGranted = !manualHolders.isEmpty
            dirty = true
            grantedLocally = false
            out.append(.revokeLocally(.revokedByAdmin))
            for other in membership.others { out.append(send(.manualRevoked, to: other)) }
            out.append(.reply(request, .revoked))
            return
        }
        switch role {
        case .leader:
            if wait {
                pending.append(PendingRequest(id: request, kind: .revoke(leader: nil), deadline: now + policy.expire))
            } else {
                out.append(.reply(request, .accepted))
            }
            beginRelease(reason: .revokedByAdmin, revoked: true, handoverTo: nil, now: now, out: &out)
            return
        case .candidate(let campaign):
            abandonCampaign(campaign, now: now, out: &out)
            intendedGranted = false
            campaignAt = nil
            dirty = true
            out.append(.reply(request, .revoked))
            return
        case .releasing:
            out.append(.reply(request, .refused(.busy)))
            return
        case .starting, .follower:
            break
        }
        if let held = validPromise(now: now), held.leader != membership.selfID, held.confirmed {
            out.append(send(.revokeRequest, to: held.leader))
            if wait {
                pending.append(
                    PendingRequest(id: request, kind: .revoke(leader: held.leader), deadline: now + policy.timeout * (policy.retries + 1)))
            } else {
                out.append(.reply(request, .forwarded(to: held.leader)))
            }
            return
        }
        guard intendedGranted else {
            out.append(.reply(request, .refused(.notOwned)))
            return
        }
        // Nobody holds it now, but a failover would acquire it: cancel that everywhere.
        intendedGranted = false
        campaignAt = nil
        dirty = true
        for other in membership.others { out.append(send(.release(revoked: true, handoverTo: nil), to: other)) }
        out.append(.reply(request, .revoked))
    }

    private mutating func commandMove(request: RequestID, target: MemberID, wait: Bool, now: LocalInstant, out: inout [Directive]) {
        guard policy.mode == .automatic, isValidMoveTarget(target) else {
            out.append(.reply(request, .refused(.invalidTarget(target))))
            return
        }
        if case .leader = role {
            guard target != membership.selfID else {
                out.append(.reply(request, .refused(.alreadyGrantedHere)))
                return
            }
            if wait {
                pending.append(PendingRequest(id: request, kind: .move(to: target), deadline: now + policy.timeout * (policy.retries + 1)))
            } else {
                out.append(.reply(request, .accepted))
            }
            beginRelease(reason: .movedAway, revoked: false, handoverTo: target, now: now, out: &out)
            return
        }
        guard let held = validPromise(now: now), held.leader != membership.selfID, held.confirmed else {
            out.append(.reply(request, .refused(.notOwned)))
            return
        }
        if held.leader == target {
            out.append(.reply(request, .moved(to: target)))
            return
        }
        out.append(send(.moveRequest(to: target), to: held.leader))
        if wait {
            pending.append(PendingRequest(id: request, kind: .move(to: target), deadline: now + policy.timeout * (policy.retries + 1)))
        } else {
            out.append(.reply(request, .forwarded(to: held.leader)))
        }
    }

    private func isValidMoveTarget(_ target: MemberID) -> Bool {
        membership.contains(target) && membership.member(target).role == .site
    }

    // MARK: - Election steps

    private mutating func startCampaign(forced: Bool, byAdmin: Bool, now: LocalInstant, out: inout [Directive]) {
        precondition(membership.isSite && policy.mode == .automatic, "ticket \(policy.name): only sites campaign for automatic tickets")
        precondition(validPromise(now: now).map { $0.leader == membership.selfID } ?? true, "campaign while promised elsewhere")
        precondition(term < ElectionLimits.termMax, "ticket \(policy.name): campaign at the term ceiling \(term)")
        campaignAt = nil
        term += 1
        votedFor = membership.selfID
        promise = Promise(leader: membership.selfID, term: term, until: now + policy.expire, confirmed: false)
        dirty = true
        let campaign = Campaign(
            term: term, startedAt: now, votes: [membership.selfID], refusals: [], resendAt: now + policy.timeout, resends: 0,
            forced: forced, byAdmin: byAdmin)
        role = .candidate(campaign)
        out.append(.log(.campaignStarted(term: term, rank: campaignRank())))
        for other in membership.others { out.append(send(.voteRequest(lease: policy.expire), to: other)) }
    }

    private mutating func tryFailoverCampaign(now: LocalInstant, out: inout [Directive]) {
        guard membership.isSite, policy.mode == .automatic, intendedGranted, siteQuorate, startup == nil,
            validPromise(now: now) == nil, quietUntil.map({ now >= $0 }) ?? true
        else { return }
        guard term < ElectionLimits.termMax else {
            out.append(.log(.termExhausted(term: term)))
            return
        }
        if policy.unmetPrerequisite(.automatic, attributes: attributes) != nil {
            return
        }
        if policy.hasBeforeAcquireHandler {
            guard handlerInFlight == nil else { return }
            handlerInFlight = .acquire
            pendingGrantAfterHandler = nil
            out.append(.runHandler(.acquire))
            return
        }
        startCampaign(forced: false, byAdmin: false, now: now, out: &out)
    }

    private mutating func abandonCampaign(_ campaign: Campaign, now: LocalInstant, out: inout [Directive]) {
        out.append(.log(.campaignFailed(term: campaign.term)))
        // The late votes of this term will be ignored, so the promise to ourselves can go,
        // and those who voted may drop theirs.
        if let held = promise, held.leader == membership.selfID { promise = nil }
        dirty = true
        role = .follower
        for voter in campaign.votes where voter != membership.selfID {
            out.append(send(.withdrawn, to: voter))
        }
        completePending(now: now, out: &out) { kind in
            if case .grant = kind { return .refused(.electionFailed) }
            return nil
        }
        if intendedGranted {
            // Retry in the order of weights alone, which every site computes alike: two
            // sites that duelled once cannot duel again.
            campaignAt = now + policy.campaignSlot * (weightRank() + 1)
        }
    }

    private mutating func becomeLeader(_ campaign: Campaign, now: LocalInstant, out: inout [Directive]) {
        let leaseStart = policy.safetyRuleBreaks.contains(.leaseFromReply) ? now : campaign.startedAt
        let leadership = Leadership(
            term: campaign.term, leaseEnd: leaseStart + policy.leaderLease, round: 0, roundStartedAt: now,
            acknowledged: [membership.selfID], resendAt: nil, resends: 0, nextRenewalAt: now,
            heard: campaign.votes.union(campaign.refusals), electedAt: campaign.startedAt,
            silentCheckAt: campaign.startedAt + policy.timeout, commitPendingUntil: nil,
            forced: campaign.forced || !campaign.byAdmin)
        role = .leader(leadership)
        intendedGranted = true
        previousLeader = nil
        handoverTarget = nil
        dirty = true
        out.append(.log(.becameLeader(term: campaign.term)))
        // Tell every member at once, so that all of them know the holder.
        startRound(now: now, out: &out)
        if leadership.forced {
            commitLocally(now: now, out: &out)
        } else {
            decideCommitIfAllHeard(now: now, out: &out)
        }
    }

    private mutating func startRound(now: LocalInstant, out: inout [Directive]) {
        guard case .leader(var leadership) = role else { preconditionFailure("startRound outside leadership") }
        leadership.round += 1
        leadership.roundStartedAt = now
        leadership.acknowledged = [membership.selfID]
        leadership.resends = 0
        leadership.resendAt = now + policy.timeout
        leadership.nextRenewalAt = now + policy.renewalFrequency
        role = .leader(leadership)
        promise = Promise(leader: membership.selfID, term: leadership.term, until: now + policy.expire, confirmed: true)
        dirty = true
        for other in membership.others {
            out.append(send(.heartbeat(lease: policy.expire, round: leadership.round), to: other))
        }
        if policy.hasBeforeAcquireHandler, leadership.round > 1, handlerInFlight == nil {
            handlerInFlight = .renewal(round: leadership.round)
            out.append(.runHandler(.renewal(round: leadership.round)))
        }
    }

    /// Grant in the CIB when every site has answered (a silent site might still hold the
    /// ticket from before); at the silent-check instant, fall back to "commit pending".
    private mutating func decideCommitIfAllHeard(now: LocalInstant, out: inout [Directive]) {
        guard case .leader(let leadership) = role, !grantedLocally else { return }
        let sitesHeard = membership.sites.allSatisfy { leadership.heard.contains($0) }
        if sitesHeard { commitLocally(now: now, out: &out) }
    }

    private mutating func decideCommit(now: LocalInstant, out: inout [Directive]) {
        guard case .leader(var leadership) = role, !grantedLocally else { return }
        let sitesHeard = membership.sites.allSatisfy { leadership.heard.contains($0) }
        if sitesHeard || leadership.forced {
            commitLocally(now: now, out: &out)
            return
        }
        guard leadership.commitPendingUntil == nil else { return }
        let until = leadership.electedAt + policy.expire + policy.acquireAfter
        leadership.commitPendingUntil = until
        role = .leader(leadership)
        out.append(.log(.commitPending(until: until)))
        completePending(now: now, out: &out) { kind in
            if case .grant(false) = kind { return .granted(commitPendingFor: until.since(now)) }
            return nil
        }
    }

    private mutating func commitLocally(now: LocalInstant, out: inout [Directive]) {
        guard case .leader(var leadership) = role, !grantedLocally else { return }
        leadership.commitPendingUntil = nil
        leadership.silentCheckAt = nil
        role = .leader(leadership)
        grantedLocally = true
        out.append(.grantLocally(term: leadership.term, leaseRemaining: leadership.leaseEnd.since(now)))
        answerGrantWaiters(now: now, out: &out)
    }

    private mutating func answerGrantWaiters(now: LocalInstant, out: inout [Directive]) {
        guard case .leader(let leadership) = role else { return }
        let committed = grantedLocally
        let pendingFor = leadership.commitPendingUntil.map { $0.since(now) }
        completePending(now: now, out: &out) { kind in
            guard case .grant(let waitForCommit) = kind else { return nil }
            if committed { return .granted(commitPendingFor: nil) }
            if !waitForCommit, let pendingFor { return .granted(commitPendingFor: pendingFor) }
            return nil
        }
    }

    private mutating func loseLease(_ leadership: Leadership, now: LocalInstant, out: inout [Directive]) {
        out.append(.log(.leaseLost(term: leadership.term)))
        role = .follower
        previousLeader = membership.selfID
        if grantedLocally {
            grantedLocally = false
            out.append(.revokeLocally(.leaseExpired))
        }
        completePending(now: now, out: &out) { kind in
            if case .grant = kind { return .refused(.electionFailed) }
            return nil
        }
        dirty = true
    }

    private mutating func stepDownIfLeading(newerTerm: UInt64, now: LocalInstant, out: inout [Directive]) {
        switch role {
        case .leader(let leadership):
            guard newerTerm > leadership.term || !believesHolding(now: now) else { return }
            out.append(.log(.steppedDown(term: leadership.term, newerTerm: newerTerm)))
            role = .follower
            if let held = promise, held.leader == membership.selfID { promise = nil }
            if grantedLocally {
                grantedLocally = false
                out.append(.revokeLocally(.supersededByNewerTerm))
            }
            dirty = true
        case .candidate(let campaign) where newerTerm > campaign.term:
            abandonCampaign(campaign, now: now, out: &out)
        default:
            break
        }
    }

    private mutating func beginRelease(reason: RevokeReason, revoked: Bool, handoverTo: MemberID?, now: LocalInstant, out: inout [Directive]) {
        guard case .leader(let leadership) = role else { return }
        let release = Release(term: leadership.term, reason: reason, revoked: revoked, handoverTo: handoverTo)
        role = .releasing(release)
        if grantedLocally {
            grantedLocally = false
            out.append(.revokeLocally(reason))
            // The release leaves once the shell reports that the site stopped what the
            // ticket guards (onLocalRevokeCompleted); until then the promises stand.
        } else {
            finishRelease(release, now: now, out: &out)
        }
    }

    private mutating func finishRelease(_ release: Release, now: LocalInstant, out: inout [Directive]) {
        role = .follower
        if let held = promise, held.leader == membership.selfID { promise = nil }
        intendedGranted = !release.revoked
        previousLeader = membership.selfID
        handoverTarget = release.handoverTo
        dirty = true
        out.append(.log(.released(term: release.term, reason: release.reason)))
        for other in membership.others {
            out.append(send(.release(revoked: release.revoked, handoverTo: release.handoverTo), to: other))
        }
        completePending(now: now, out: &out) { kind in
            if case .revoke(nil) = kind { return .revoked }
            return nil
        }
        rebasePendingAfterTheStop(now: now)
        if !release.revoked && release.handoverTo == nil {
            scheduleFailover(after: now, withAcquireAfter: false, now: now)
        }
    }

    private mutating func finishStartup(now: LocalInstant, out: inout [Directive]) {
        guard let done = startup else { return }
        startup = nil
        if done.newestTerm > term {
            term = done.newestTerm
            votedFor = nil
            intendedGranted = done.newestGranted
            if let holders = done.newestManualHolders, policy.mode == .manual {
                manualHolders = Set(holders.filter { membership.contains($0) && $0 != membership.selfID })
            }
            dirty = true
        } else if done.newestTerm == term, done.newestGranted, !intendedGranted {
            intendedGranted = true
            dirty = true
        }
        if policy.mode == .manual, let holders = done.newestManualHolders, done.newestTerm >= term {
            let others = Set(holders.filter { membership.contains($0) && $0 != membership.selfID })
            if !others.isSubset(of: manualHolders) {
                manualHolders.formUnion(others)
                dirty = true
            }
        }
        if role == .starting { role = .follower }
        out.append(.log(.startupComplete(newestTerm: term)))
        let deferred = grantsAfterStartup
        grantsAfterStartup = []
        for grant in deferred {
            guard let request = grant.request else { continue }
            commandGrant(request: request, force: grant.forced, wait: grant.wait, waitForCommit: grant.waitForCommit, now: now, out: &out)
        }
        if case .follower = role, validPromise(now: now) == nil {
            scheduleFailover(after: now, withAcquireAfter: true, now: now)
        }
    }

    // MARK: - Bounds on received values

    /// The term of `message`, or of the lease it cites, that runs past what this member may
    /// accept (`ElectionLimits`), if any: the message is then refused whole.
    private func termOutOfBounds(_ message: PeerMessage) -> UInt64? {
        let accepted = ElectionLimits.acceptedTermMax(known: max(term, corroboratedTerm()))
        if message.term > accepted { return message.term }
        if let cited = Self.citedLease(message), cited.term > accepted { return cited.term }
        return nil
    }

    private static func citedLease(_ message: PeerMessage) -> LeaseView? {
        switch message.body {
        case .voteRefused(_, let known), .heartbeatRefused(_, _, let known), .stateReply(let known, _, _, _): known
        default: nil
        }
    }

    /// Remembers the highest term each member has sent (refused or not, up to the ceiling).
    private mutating func noteHeardTerm(_ message: PeerMessage) {
        let sent = max(message.term, Self.citedLease(message)?.term ?? 0)
        let index = message.from.index
        heardTerms[index] = max(heardTerms[index], min(sent, ElectionLimits.termMax))
    }

    /// The highest term that two distinct other members have each sent at least: one member
    /// alone (a hostile one) cannot move it, while two honest members that a hostile one pushed
    /// ahead (each within `termJumpMax` a message) carry a member left behind with them.
    private func corroboratedTerm() -> UInt64 {
        var highest: UInt64 = 0
        var second: UInt64 = 0
        for (index, heard) in heardTerms.enumerated() where index != membership.selfID.index {
            if heard > highest {
                second = highest
                highest = heard
            } else if heard > second {
                second = heard
            }
        }
        return second
    }

    // MARK: - Promises

    private func validPromise(now: LocalInstant) -> Promise? {
        guard let promise, promise.until > now else { return nil }
        return promise
    }

    private func knownView(now: LocalInstant) -> LeaseView? {
        validPromise(now: now).map { $0.view(now: now) }
    }

    /// Why this member may not promise a lease to `candidate` now, if it may not.
    private func refusalForPromise(to candidate: MemberID, term requestTerm: UInt64, forVote: Bool, now: LocalInstant) -> RefusalReason? {
        if policy.mode == .manual { return .manualTicket }
        if let quiet = quietUntil, now < quiet { return .quietAfterRestart }
        if let held = validPromise(now: now), held.leader != candidate,
            !policy.safetyRuleBreaks.contains(.votersIgnoreLease)
        {
            return .leaseHeldElsewhere
        }
        if requestTerm < term { return .staleTerm }
        if forVote, requestTerm == term, let voted = votedFor, voted != candidate { return .alreadyVoted }
        return nil
    }

    private mutating func givePromise(
        to leader: MemberID, term promiseTerm: UInt64, lease: Duration, confirmed: Bool, now: LocalInstant
    ) {
        var until = now + lease
        var isConfirmed = confirmed
        if let held = promise, held.leader == leader, held.until > now {
            if held.until > until { until = held.until }
            if held.term == promiseTerm { isConfirmed = isConfirmed || held.confirmed }
        }
        promise = Promise(leader: leader, term: promiseTerm, until: until, confirmed: isConfirmed)
        campaignAt = nil
        if role == .starting || isCandidate { role = .follower }
        if let disk = promiseOnDisk, leader != membership.selfID, disk.leader == leader, disk.term == promiseTerm,
            disk.confirmed == isConfirmed, until <= disk.until
        {
            // The promise on disk already covers this one.
        } else {
            dirty = true
        }
    }

    private var otherSites: [MemberID] { membership.sites.filter { $0 != membership.selfID } }

    private var isCandidate: Bool {
        if case .candidate = role { return true }
        return false
    }

    /// Knowledge of another member's lease, learnt from a refusal or a state reply: treated
    /// like a promise (this member will not vote for others until it runs out).
    private mutating func adoptKnowledge(_ known: LeaseView, now: LocalInstant) {
        guard membership.contains(known.leader), known.remaining <= policy.expire * 2 else { return }
        if let held = validPromise(now: now), held.leader != known.leader, held.leader != membership.selfID { return }
        if case .leader = role { return }
        let until = now + known.remaining
        if let held = promise, held.leader == known.leader, held.until >= until { return }
        promise = Promise(leader: known.leader, term: known.term, until: until, confirmed: true)
        if known.term > term { adoptTerm(known.term) }
        intendedGranted = true
        campaignAt = nil
        if isCandidate { role = .follower }
        dirty = true
    }

    /// Callers abandon a campaign (telling the voters) before adopting a newer term; a
    /// candidate that learns a newer term any other way stops campaigning here.
    private mutating func adoptTerm(_ newer: UInt64) {
        guard newer > term else { return }
        precondition(newer <= ElectionLimits.termMax, "ticket \(policy.name): term \(newer) over the ceiling reached adoption (onMessage refuses it)")
        if isCandidate {
            role = .follower
            if let held = promise, held.leader == membership.selfID { promise = nil }
        }
        term = newer
        votedFor = nil
        dirty = true
    }

    // MARK: - Failover order

    /// Sites campaign in slots: the named handover target first, then by weight and member
    /// order, the site that just lost or released the ticket last.
    private func campaignRank() -> Int {
        let ordered = membership.sites.sorted { left, right in
            func key(_ id: MemberID) -> (Int, Int, Int) {
                let group = id == handoverTarget ? 0 : (id == previousLeader ? 2 : 1)
                return (group, policy.weight(of: id), id.index)
            }
            return key(left) < key(right)
        }
        guard let rank = ordered.firstIndex(of: membership.selfID) else {
            preconditionFailure("campaign rank asked of arbitrator \(membership.selfID)")
        }
        return rank
    }

    /// Rank by weight and member order alone.
    private func weightRank() -> Int {
        let ordered = membership.sites.sorted { (policy.weight(of: $0), $0.index) < (policy.weight(of: $1), $1.index) }
        guard let rank = ordered.firstIndex(of: membership.selfID) else {
            preconditionFailure("weight rank asked of arbitrator \(membership.selfID)")
        }
        return rank
    }

    private mutating func scheduleFailover(after base: LocalInstant, withAcquireAfter: Bool, now: LocalInstant) {
        guard membership.isSite, policy.mode == .automatic, intendedGranted, siteQuorate else {
            campaignAt = nil
            return
        }
        var at = base + policy.campaignSlot * campaignRank()
        if withAcquireAfter { at = at + policy.acquireAfter }
        if let quiet = quietUntil, quiet > at { at = quiet }
        campaignAt = max(at, now)
    }

    // MARK: - Requests waiting for an outcome

    private mutating func completePending(now: LocalInstant, out: inout [Directive], _ outcome: (PendingKind) -> CommandOutcome?) {
        var kept: [PendingRequest] = []
        for request in pending {
            if let result = outcome(request.kind) {
                out.append(.reply(request.id, result))
            } else {
                kept.append(request)
            }
        }
        pending = kept
    }

    /// Once the site's stop is over (confirmed or not), a waiting move or revoke has its own
    /// time again for what follows (the handover), however long the stop took.
    private mutating func rebasePendingAfterTheStop(now: LocalInstant) {
        let deadline = now + policy.timeout * (policy.retries + 1)
        for index in pending.indices where pending[index].kind.waitsForTheRelease {
            pending[index].deadline = max(pending[index].deadline, deadline)
        }
    }

    private mutating func expirePendingRequests(now: LocalInstant, out: inout [Directive]) {
        var kept: [PendingRequest] = []
        for var request in pending {
            if now >= request.deadline, case .releasing = role, request.kind.waitsForTheRelease {
                // The site is still stopping what the ticket guards (a large group takes longer
                // than timeout × (retries + 1)): the move or revoke waits on, checked again one
                // timeout later. The release follows the stop's confirmation, which the shell
                // bounds (confirmed or not, `onLocalRevokeCompleted` ends this role).
                request.deadline = now + policy.timeout
                kept.append(request)
            } else if now >= request.deadline {
                let refusal: CommandRefusal
                switch request.kind {
                case .grant: refusal = .electionFailed
                case .revoke, .move: refusal = .noLeaderKnown
                }
                out.append(.reply(request.id, .refused(refusal)))
            } else {
                kept.append(request)
            }
        }
        pending = kept
    }

    // MARK: - Output

    private func send(_ body: MessageBody, to member: MemberID) -> Directive {
        .send(PeerMessage(ticket: policy.name, from: membership.selfID, to: member, term: term, body: body))
    }

    private func nextDeadline() -> LocalInstant? {
        var candidates: [LocalInstant] = []
        if let startup { candidates.append(min(startup.resendAt, startup.deadline)) }
        if let quietUntil { candidates.append(quietUntil) }
        if let quietProof, startup == nil { candidates.append(quietProof.resendAt) }
        candidates.append(contentsOf: pending.map(\.deadline))
        switch role {
        case .starting, .releasing:
            break
        case .follower:
            if let promise { candidates.append(promise.until) }
            if let campaignAt { candidates.append(campaignAt) }
        case .candidate(let campaign):
            candidates.append(campaign.resendAt)
        case .leader(let leadership):
            if !policy.safetyRuleBreaks.contains(.leaderIgnoresLeaseEnd) {
                candidates.append(leadership.leaseEnd)
                if policy.stopBefore > .zero { candidates.append(leadership.leaseEnd - policy.stopBefore) }
            }
            candidates.append(leadership.nextRenewalAt)
            if let at = leadership.resendAt { candidates.append(at) }
            if let at = leadership.silentCheckAt { candidates.append(at) }
            if let at = leadership.commitPendingUntil { candidates.append(at) }
        }
        return candidates.min()
    }

    /// Every input ends here: the persist goes first (persist before send), the wake-up last.
    private mutating func finish(_ directives: [Directive], now: LocalInstant) -> [Directive] {
        checkInvariants(now: now)
        var out: [Directive] = []
        if dirty {
            dirty = false
            if var stretched = promise, stretched.leader != membership.selfID {
                stretched.until = stretched.until + policy.renewalFrequency
                promiseOnDisk = stretched
            } else {
                promiseOnDisk = nil
            }
            out.append(.persist(persistentState(now: now)))
        }
        out.append(contentsOf: directives)
        if let deadline = nextDeadline(), deadline != lastWakeUp {
            lastWakeUp = deadline
            out.append(.wakeUp(at: deadline))
        }
        return out
    }

    private func checkInvariants(now: LocalInstant) {
        if grantedLocally && policy.mode == .automatic {
            precondition(isLeader, "ticket \(policy.name): granted locally while \(role.name)")
        }
        if case .leader(let leadership) = role {
            precondition(membership.isSite, "ticket \(policy.name): arbitrator \(membership.selfID) became leader")
            precondition(leadership.term == term, "ticket \(policy.name): leader term \(leadership.term) != \(term)")
            precondition(leadership.acknowledged.contains(membership.selfID), "leader must acknowledge itself")
        }
        if case .candidate(let campaign) = role {
            precondition(campaign.term == term && votedFor == membership.selfID, "ticket \(policy.name): candidate without own vote")
        }
        precondition(pending.count <= TicketInstance.pendingRequestsMax, "pending requests over the limit")
    }
}

/// What `baton list` shows of one ticket at one member.
public struct TicketStatus: Sendable, Equatable {
    public let name: String
    public let mode: TicketMode
    public let role: String
    public let term: UInt64
    public let leader: MemberID?
    public let leaseRemaining: Duration?
    public let commitPendingRemaining: Duration?
    public let grantedLocally: Bool
    public let standby: Bool
    public let manualHolders: [MemberID]
    public let intendedGranted: Bool
    public let attributes: [String: String]
}
