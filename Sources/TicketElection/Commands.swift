/// Admin commands (from `baton` through the local socket, or forwarded) and their outcomes.

/// Chosen by the shell; the instance hands it back in `.reply`.
public struct RequestID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "req\(value)" }
}

public enum AdminCommand: Sendable, Equatable {
    /// `baton grant [-F] [-w] [-C]`.
    case grant(force: Bool, wait: Bool, waitForCommit: Bool)
    /// `baton revoke [-w]`.
    case revoke(wait: Bool)
    /// Stop the resources the ticket guards without giving the ticket up (no loss-policy).
    case standby
    case activate
    /// Planned handover to another site.
    case move(to: MemberID, wait: Bool)
    case setAttribute(name: String, value: String)
    case deleteAttribute(name: String)
}

public enum CommandOutcome: Sendable, Equatable, CustomStringConvertible {
    /// The request was accepted and is under way (no `-w`).
    case accepted
    /// The ticket is held here; `commitPendingFor` when the local grant waits for a silent site.
    case granted(commitPendingFor: Duration?)
    case revoked
    /// A non-leader sent the request on to the leader.
    case forwarded(to: MemberID)
    case moved(to: MemberID)
    case done
    case refused(CommandRefusal)

    public var isSuccess: Bool {
        if case .refused = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .accepted: "accepted"
        case .granted(nil): "granted"
        case .granted(let pending?): "granted (commit pending for \(pending.shortDescription))"
        case .revoked: "revoked"
        case .forwarded(let to): "forwarded to \(to)"
        case .moved(let to): "moved to \(to)"
        case .done: "done"
        case .refused(let refusal): "refused: \(refusal)"
        }
    }
}

public enum CommandRefusal: Sendable, Equatable, CustomStringConvertible {
    case arbitratorCannotHold
    case grantedElsewhere(MemberID)
    case alreadyGrantedHere
    case notOwned
    case siteNotQuorate
    case prerequisiteNotMet(name: String)
    case handlerDenied
    case electionFailed
    case noLeaderKnown
    case invalidTarget(MemberID)
    case busy
    case starting
    case electionInProgress
    /// This site campaigns for the ticket and has no majority of votes yet.
    case campaignAwaitingMajority
    /// No majority renewed this site's last lease (or answered its last campaign), and the
    /// promise it gave itself has not run out yet.
    case ownPromiseRunning
    /// The term is at `ElectionLimits.termMax`: no new campaign (a hostile member pushed it).
    case termExhausted
    /// This member started without its state: no vote, its own included, for this long yet.
    case quietAfterRestart(remaining: Duration)

    public var description: String {
        switch self {
        case .arbitratorCannotHold: "an arbitrator cannot hold a ticket"
        case .grantedElsewhere(let holder): "ticket is granted to \(holder)"
        case .alreadyGrantedHere: "ticket is already granted to this site"
        case .notOwned: "ticket is not owned"
        case .siteNotQuorate: "this site has no quorum"
        case .prerequisiteNotMet(let name): "attribute prerequisite \(name) is not met"
        case .handlerDenied: "before-acquire-handler failed"
        case .electionFailed: "no majority answered"
        case .noLeaderKnown: "no site holds the ticket"
        case .invalidTarget(let target): "\(target) is not a site that can take the ticket"
        case .busy: "another request for this ticket is under way"
        case .starting: "batond is still asking the other members for this ticket's state"
        case .electionInProgress: "an election for this ticket is under way"
        case .campaignAwaitingMajority: "this site is already campaigning for the ticket and no majority has answered yet"
        case .ownPromiseRunning: "no majority answered this site's last renewal or election; try again once its own lease has run out"
        case .termExhausted: "the ticket's term is at its ceiling (\(ElectionLimits.termMax)): no new election"
        case .quietAfterRestart(let remaining):
            // Tenths of a second, rounded up: an admin reads this (shortDescription would say
            // "882992us" in the last second).
            "this member started without its state and votes for nobody, itself included, for another \(Self.tenthsRoundedUp(remaining)) s (a promise it may have forgotten could still run)"
        }
    }

    static func tenthsRoundedUp(_ span: Duration) -> String {
        let nanoseconds = max(0, span.nanoseconds)
        let tenths = nanoseconds / 100_000_000 + (nanoseconds % 100_000_000 == 0 ? 0 : 1)
        return "\(tenths / 10).\(tenths % 10)"
    }
}
