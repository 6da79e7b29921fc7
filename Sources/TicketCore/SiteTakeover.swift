import TicketElection

/// A site's batond taking over on another node of the same site (`ocf:baton:batond` moved by
/// the site's cluster after its node died): what each ticket starts from when this node's
/// journal does not know what the site's member did last, but the site's live CIB does.
///
/// batond's journal is local to a node. A site member is one member of the geo cluster whatever
/// node it runs on; a start on another node finds no journal (or an old one) and would start
/// quiet and revoke what the CIB holds (`notHeldAtStartup`): the site's guarded resources stop
/// and the ticket is lost to the site until its lease ends elsewhere. But the CIB carries what
/// the site's member wrote at its last grant or renewal, as booth's attributes: `granted`,
/// `owner`, `expires` (wall-clock seconds, the leader's own view of its lease end), `term`
/// (booth, too, loads its tickets from the CIB at start). A member that granted in the CIB
/// led in that term, promised itself until that lease end, and so voted for no one else until
/// then; a revoke or handover is written to the CIB before the ticket is released to the other
/// members; `expires` is refreshed after a renewal a majority acknowledged, never before. So a
/// CIB granted to this member with a lease still running says the member leads until `expires`,
/// and the member carries on from there: it leads until `expires` less one timeout (for clocks
/// apart between the site's nodes, as `BoothTakeover` allows for booth's) and renews at once.
/// The other members decide as before: a renewal in a stale term is refused and the leader
/// steps down at its lease end; nothing here extends a lease anyone promised.
///
/// The journal wins when it knows more: it has a newer term than the CIB, or it resumes a lead
/// by itself (a restart in place on the same node). A journal that is damaged (`.stateLost`)
/// says the member may have promised what it cannot recall: it stays quiet, CIB or not.
public enum SiteTakeover {
    /// One `ticket_state` of the site's CIB: its attributes by name.
    public typealias CIBTicket = [String: String]

    public struct Decision: Sendable {
        public var modes: [String: TicketInstance.StartMode]
        /// One line per ticket taken from the CIB or refused, for the log.
        public var notes: [String]
    }

    /// The start mode of every ticket of `policies`: the journal's (`loaded`), or what the
    /// CIB's ticket_state says this member (`selfName`, the `owner` batond writes) held.
    /// `wallNow`: seconds since the epoch on this node's clock. Only for a site. `quorate`:
    /// whether the CIB was read in a partition with quorum; a minority's CIB may miss the
    /// revoke the site's majority wrote since, so it vouches for nothing.
    public static func modes(
        loaded: LoadedState, cib: [String: CIBTicket], quorate: Bool = true, policies: [TicketPolicy], membership: Membership, selfName: String,
        wallNow: Int64
    ) -> Decision {
        // Tickets of the journal the configuration no longer has go to the core as before.
        var modes = loaded.allLost ? [:] : loaded.modes
        var notes: [String] = []
        for policy in policies {
            let journal = loaded.mode(for: policy.name)
            modes[policy.name] = journal
            guard membership.isSite, let state = cib[policy.name] else { continue }
            guard (state["granted"].map(isTrue) ?? false), state["owner"] == selfName else { continue }
            guard let termText = state["term"], let term = UInt64(termText), term > 0 else {
                notes.append("ticket \(policy.name): the CIB has it granted here with no term (term=\(state["term"] ?? "none")): not taken from the CIB")
                continue
            }
            guard quorate else {
                notes.append("ticket \(policy.name): granted here in the CIB (term \(term)), but read in a partition without quorum: not taken from the CIB")
                continue
            }
            let saved: PersistentTicketState
            switch journal {
            case .stateLost:
                notes.append("ticket \(policy.name): granted here in the CIB (term \(term)), but the state journal is damaged: quiet, not taken from the CIB")
                continue
            case .restored(let known, let elapsed):
                if known.term > term || resumes(known, elapsed: elapsed, policy: policy, membership: membership) { continue }
                if policy.mode == .manual && known.manualHolders.contains(membership.selfID) { continue }
            case .fresh:
                break
            }
            if policy.mode == .manual {
                saved = PersistentTicketState(term: term, intendedGranted: true, manualHolders: [membership.selfID])
                modes[policy.name] = .restored(saved, elapsed: .known(.zero))
                notes.append("ticket \(policy.name): granted here (manual) in the CIB, term \(term): kept granted")
                continue
            }
            guard let expiresText = state["expires"], let expires = Int64(expiresText) else {
                notes.append("ticket \(policy.name): the CIB has it granted here with no lease end (expires=\(state["expires"] ?? "none")): not taken from the CIB")
                continue
            }
            let left = Duration.seconds(expires - wallNow)
            let leading = left - policy.timeout
            guard leading > .zero else {
                notes.append("ticket \(policy.name): the CIB's lease ended or ends within a timeout (expires \(expires), now \(wallNow)): not taken from the CIB")
                continue
            }
            saved = PersistentTicketState(
                term: term, votedFor: membership.selfID,
                promise: LeaseView(leader: membership.selfID, term: term, remaining: left, confirmed: true),
                leading: leading, intendedGranted: true)
            modes[policy.name] = .restored(saved, elapsed: .known(.zero))
            notes.append("ticket \(policy.name): granted here in the CIB, term \(term), lease end in \(expires - wallNow) s: leading on, renewing now")
        }
        return Decision(modes: modes, notes: notes)
    }

    /// Whether a journal's state resumes a lead by itself (TicketInstance.start's rule).
    static func resumes(_ saved: PersistentTicketState, elapsed: TicketInstance.Elapsed, policy: TicketPolicy, membership: Membership) -> Bool {
        guard membership.isSite, policy.mode == .automatic, let leading = saved.leading, case .known(let span) = elapsed else { return false }
        return leading > span
    }

    /// Pacemaker's booleans (crm_is_true).
    static func isTrue(_ text: String) -> Bool {
        ["true", "on", "yes", "y", "1"].contains(text.lowercased())
    }
}
