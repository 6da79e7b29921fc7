/// Peer messages of the ticket election. Every message names its ticket and is complete in
/// itself (no per-connection state), so the transport may put the messages of many tickets
/// in one frame. Times travel as durations relative to the moment of sending, never as
/// instants: members' clocks are never compared.

/// What a member knows of a ticket's current lease, relative to the moment it is sent.
public struct LeaseView: Sendable, Equatable, CustomStringConvertible {
    public let leader: MemberID
    public let term: UInt64
    /// Time left on the sender's clock when the message left.
    public let remaining: Duration
    /// The leader was elected (the promise came with its heartbeat), not only a candidate
    /// (the promise is a vote). Only confirmed leases make others wait.
    public let confirmed: Bool

    public init(leader: MemberID, term: UInt64, remaining: Duration, confirmed: Bool) {
        precondition(remaining > .zero, "a lease view must have time left, got \(remaining)")
        self.leader = leader
        self.term = term
        self.remaining = remaining
        self.confirmed = confirmed
    }

    public var description: String {
        "\(confirmed ? "leader" : "candidate") \(leader) term \(term) remaining \(remaining.shortDescription)"
    }
}

public enum RefusalReason: String, Sendable, Equatable {
    /// The voter promised the lease to another leader and that promise has not run out.
    case leaseHeldElsewhere = "lease-held-elsewhere"
    /// The message's term is older than the voter's.
    case staleTerm = "stale-term"
    /// The voter already voted in this term (for someone else, or for itself).
    case alreadyVoted = "already-voted"
    /// The voter restarted without its state and gives no promise until any lease it may
    /// have given has surely run out.
    case quietAfterRestart = "quiet-after-restart"
    /// Manual tickets have no election.
    case manualTicket = "manual-ticket"
}

public enum MessageBody: Sendable, Equatable {
    /// A candidate asks for a vote, which is also a promise of a lease of `lease`.
    case voteRequest(lease: Duration)
    case voteGranted
    case voteRefused(RefusalReason, known: LeaseView?)
    /// The leader renews: a promise of `lease` from receipt. `round` numbers renewals.
    case heartbeat(lease: Duration, round: UInt64)
    case heartbeatAcknowledged(round: UInt64)
    case heartbeatRefused(round: UInt64, RefusalReason, known: LeaseView?)
    /// The sender was the leader and has stopped holding the ticket: promises to it may be
    /// dropped. `revoked`: an admin revoked it (nobody acquires it automatically).
    /// `handoverTo`: a planned move; that site campaigns at once.
    case release(revoked: Bool, handoverTo: MemberID?)
    /// A candidate gave up its campaign in this term: promises given to it may be dropped.
    case withdrawn
    /// A non-leader forwards an admin's revoke or move to the leader.
    case revokeRequest
    case moveRequest(to: MemberID)
    /// Startup: what do you know of this ticket? `nonce` names the asking incarnation (the
    /// instant it started): the answer echoes it, so that an answer to an earlier incarnation's
    /// query, delivered late, is not taken for an answer to this one.
    case stateQuery(nonce: UInt64)
    case stateReply(known: LeaseView?, granted: Bool, manualHolders: [MemberID], nonce: UInt64)
    /// Manual tickets: the sender granted or revoked the ticket at its own site.
    case manualGranted
    case manualRevoked
}

public struct PeerMessage: Sendable, Equatable, CustomStringConvertible {
    public let ticket: String
    public let from: MemberID
    public let to: MemberID
    public let term: UInt64
    public let body: MessageBody

    public init(ticket: String, from: MemberID, to: MemberID, term: UInt64, body: MessageBody) {
        precondition(from != to, "message to self for ticket \(ticket)")
        self.ticket = ticket
        self.from = from
        self.to = to
        self.term = term
        self.body = body
    }

    public var description: String { "\(ticket) \(from)->\(to) term \(term) \(body.summary)" }
}

extension MessageBody {
    /// A short, stable rendering for logs and transcripts.
    public var summary: String {
        switch self {
        case .voteRequest(let lease): "vote-request lease \(lease.shortDescription)"
        case .voteGranted: "vote-granted"
        case .voteRefused(let reason, let known): "vote-refused \(reason.rawValue)" + (known.map { " (\($0))" } ?? "")
        case .heartbeat(let lease, let round): "heartbeat round \(round) lease \(lease.shortDescription)"
        case .heartbeatAcknowledged(let round): "heartbeat-ack round \(round)"
        case .heartbeatRefused(let round, let reason, let known):
            "heartbeat-refused round \(round) \(reason.rawValue)" + (known.map { " (\($0))" } ?? "")
        case .release(let revoked, let handoverTo):
            "release" + (revoked ? " revoked" : "") + (handoverTo.map { " handover-to \($0)" } ?? "")
        case .withdrawn: "withdrawn"
        case .revokeRequest: "revoke-request"
        case .moveRequest(let to): "move-request to \(to)"
        case .stateQuery: "state-query"
        case .stateReply(let known, let granted, let manualHolders, _):
            "state-reply" + (known.map { " (\($0))" } ?? " (no lease)") + (granted ? " granted" : "")
                + (manualHolders.isEmpty ? "" : " manual-holders \(manualHolders)")
        case .manualGranted: "manual-granted"
        case .manualRevoked: "manual-revoked"
        }
    }

    /// Heartbeats and their answers: the steady-state chatter transcripts leave out.
    public var isRenewal: Bool {
        switch self {
        case .heartbeat, .heartbeatAcknowledged: true
        default: false
        }
    }
}
