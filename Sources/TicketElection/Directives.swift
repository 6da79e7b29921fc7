/// What an instance asks its shell to do. A batch is carried out in order, with one rule
/// that matters for safety: every `.persist` of a batch is durable (written and fsynced)
/// before any `.send` of the same batch leaves (persist before send).

public enum RevokeReason: String, Sendable, Equatable {
    /// The lease ran out on this site's clock without a majority renewing it.
    case leaseExpired = "lease-expired"
    /// The lease was not renewed by `stop-before` ahead of its end: the holder stops what the
    /// ticket guards while its lease still runs, and releases once the site confirms it.
    case renewalFailing = "renewal-failing"
    /// An admin revoked the ticket.
    case revokedByAdmin = "revoked-by-admin"
    /// A planned move to another site.
    case movedAway = "moved-away"
    /// The site lost quorum: stop what the ticket guards, then release.
    case siteQuorumLost = "site-quorum-lost"
    /// The before-acquire-handler failed at a renewal.
    case handlerFailed = "handler-failed"
    /// Another leader with a newer term exists.
    case supersededByNewerTerm = "superseded-by-newer-term"
    /// Startup: this site does not hold the ticket (whatever the CIB said before).
    case notHeldAtStartup = "not-held-at-startup"
    /// The ticket left this member's configuration (batond reloaded it).
    case removedFromConfiguration = "removed-from-configuration"
    /// batond is stopping (SIGTERM): the ticket is handed over and not left granted here.
    case daemonStopping = "daemon-stopping"
}

public enum HandlerPurpose: Sendable, Equatable {
    case acquire
    case renewal(round: UInt64)
}

/// Facts worth a log line, each with the words an admin searches for.
public enum ElectionEvent: Sendable, Equatable, CustomStringConvertible {
    case campaignStarted(term: UInt64, rank: Int)
    case becameLeader(term: UInt64)
    case campaignFailed(term: UInt64)
    case leaseLost(term: UInt64)
    case steppedDown(term: UInt64, newerTerm: UInt64)
    case followerOf(MemberID, term: UInt64)
    case leaseExpiredAtFollower(leader: MemberID, term: UInt64)
    case released(term: UInt64, reason: RevokeReason)
    case releaseObserved(from: MemberID, revoked: Bool)
    /// The site did not confirm the local revoke (its resource manager unreachable, the write
    /// refused): no release goes out, the others wait out the lease (which the site's own
    /// resource manager enforces).
    case releaseWithheld(term: UInt64, reason: RevokeReason)
    case commitPending(until: LocalInstant)
    /// Started without state (or with its state refused): no promise until `until`. When
    /// `endsIfAllReportTermZero`, the quiet period ends as soon as every other site answers
    /// this start's state query with term 0 (`quietEnded`).
    case quietAfterRestart(until: LocalInstant, endsIfAllReportTermZero: Bool)
    /// Every other site answered this start's query with term 0: no promise this member may
    /// have forgotten can be live, the quiet period is over.
    case quietEnded
    /// A message was refused whole: its term (or the term of the lease it cites) runs more than
    /// `ElectionLimits.termJumpMax` past this member's term `known`, or past `ElectionLimits.termMax`.
    case messageRefused(from: MemberID, term: UInt64, known: UInt64)
    /// The term reached `ElectionLimits.termMax`: this member starts no campaign (and takes no
    /// manual grant or revoke) in this ticket any more.
    case termExhausted(term: UInt64)
    case startupComplete(newestTerm: UInt64)
    case manualGrantedElsewhere(MemberID)
    case multipleManualHolders([MemberID])

    public var description: String {
        switch self {
        case .campaignStarted(let term, let rank): "campaign started, term \(term), rank \(rank)"
        case .becameLeader(let term): "became leader, term \(term)"
        case .campaignFailed(let term): "campaign failed, term \(term)"
        case .leaseLost(let term): "lease lost without renewal, term \(term)"
        case .steppedDown(let term, let newerTerm): "stepped down from term \(term): newer term \(newerTerm)"
        case .followerOf(let leader, let term): "following \(leader), term \(term)"
        case .leaseExpiredAtFollower(let leader, let term): "lease of \(leader) expired, term \(term)"
        case .released(let term, let reason): "released, term \(term), reason \(reason.rawValue)"
        case .releaseObserved(let from, let revoked): "release from \(from)" + (revoked ? " (revoked)" : "")
        case .releaseWithheld(let term, let reason):
            "local revoke not confirmed by the site: no release, the others wait out the lease, term \(term), reason \(reason.rawValue)"
        case .commitPending(let until): "commit pending until \(until)"
        case .quietAfterRestart(let until, let early):
            "started without state: no votes until \(until)" + (early ? ", or until every other site reports term 0" : "")
        case .quietEnded: "quiet period ended: every other site reports term 0, no forgotten promise can be live"
        case .messageRefused(let from, let term, let known):
            "refused a message from \(from): term \(term) runs more than \(ElectionLimits.termJumpMax) past term \(known) or over \(ElectionLimits.termMax)"
        case .termExhausted(let term): "term \(term) is at the ceiling \(ElectionLimits.termMax): no new campaign"
        case .startupComplete(let term): "startup query complete, newest term \(term)"
        case .manualGrantedElsewhere(let holder): "manual ticket granted at \(holder)"
        case .multipleManualHolders(let holders): "manual ticket granted to multiple sites: \(holders)"
        }
    }

    /// The description for a log line, with the instants said as spans from `now` ("for
    /// 19.6s"): an instant of the member's monotonic clock means nothing to an admin.
    public func description(relativeTo now: LocalInstant) -> String {
        switch self {
        case .commitPending(let until): "commit pending for \(until.since(now).shortDescription)"
        case .quietAfterRestart(let until, let early):
            "started without state: no votes for \(until.since(now).shortDescription)" + (early ? ", or until every other site reports term 0" : "")
        default: description
        }
    }
}

public enum Directive: Sendable, Equatable {
    case persist(PersistentTicketState)
    case send(PeerMessage)
    /// The instance wants `onTimer` no later than this instant; replaces any earlier request.
    case wakeUp(at: LocalInstant)
    /// Write "granted to this site" to the site's CIB (ticket_state granted=true, term, expires).
    case grantLocally(term: UInt64, leaseRemaining: Duration?)
    /// Write "not granted"; the site stops what the ticket guards (loss-policy applies unless
    /// the reason is a planned one). The shell answers with `onLocalRevokeCompleted`, saying
    /// whether the site confirmed it.
    case revokeLocally(RevokeReason)
    case setStandby(Bool)
    case runHandler(HandlerPurpose)
    case reply(RequestID, CommandOutcome)
    case log(ElectionEvent)
}
