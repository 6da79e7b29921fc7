import Testing
import TicketElection

/// Extreme values (0, 1, 2^32, 2^63, 2^64 − 1, random) in every field of every message body,
/// sent to instances in every role: no trap, no term adopted past `ElectionLimits`, and a
/// message with a term past the bound is refused whole with a logged reason. Before issue 10 a
/// `heartbeat-refused` of term 2^64 − 1 made the holder trap (`term = message.term + 1`), and
/// a `release` of that term was adopted and persisted by the arbitrator.
struct HostileValueTests {
    typealias Base = TicketInstanceTests
    static let t0 = Base.t0

    static let terms: [UInt64] = [0, 1, 2, 1 << 32, (1 << 32) + 2, 1 << 62, (1 << 62) + 1, 1 << 63, UInt64.max - 1, UInt64.max, 0x5DEE_CE66_D1CE_F00D]
    /// The message's own term (the bodies carry the whole list in their cited leases).
    static let messageTerms: [UInt64] = [0, 1, (1 << 32) + 2, 1 << 62, 1 << 63, UInt64.max, 0x5DEE_CE66_D1CE_F00D]
    static let rounds: [UInt64] = [0, 1, 2, 1 << 63, UInt64.max, 0x1234_5678_9ABC_DEF0]
    static let leases: [Duration] = [
        .zero, .nanoseconds(-1), .nanoseconds(1), .seconds(10), .seconds(20), .seconds(21), .nanoseconds(Int64.max), .seconds(Int64.max),
        .seconds(-Int64.max),
    ]
    static let remainings: [Duration] = [.nanoseconds(1), .seconds(10), .seconds(20), .seconds(21), .nanoseconds(Int64.max), .seconds(Int64.max)]
    static let members = (0..<Membership.membersMax).map { MemberID($0) }

    static func views() -> [LeaseView?] {
        var views: [LeaseView?] = [nil]
        let leaders = [MemberID(0), MemberID(1), MemberID(2), MemberID(15)]
        for (index, term) in terms.enumerated() {
            for (offset, remaining) in remainings.enumerated() {
                views.append(LeaseView(leader: leaders[(index + offset) % leaders.count], term: term, remaining: remaining, confirmed: true))
            }
            views.append(LeaseView(leader: MemberID(1), term: term, remaining: .seconds(5), confirmed: false))
        }
        return views
    }

    /// Every body with extreme values in each of its fields (the others ordinary).
    static func bodies(nonce: UInt64) -> [MessageBody] {
        var bodies: [MessageBody] = [.voteGranted, .withdrawn, .revokeRequest, .manualGranted, .manualRevoked]
        for lease in leases {
            bodies.append(.voteRequest(lease: lease))
            bodies.append(.heartbeat(lease: lease, round: 1))
        }
        for round in rounds {
            bodies.append(.heartbeat(lease: .seconds(10), round: round))
            bodies.append(.heartbeatAcknowledged(round: round))
        }
        let reasons: [RefusalReason] = [.leaseHeldElsewhere, .staleTerm, .alreadyVoted, .quietAfterRestart, .manualTicket]
        for view in views() {
            for reason in reasons { bodies.append(.voteRefused(reason, known: view)) }
            bodies.append(.heartbeatRefused(round: 1, .staleTerm, known: view))
            bodies.append(.stateReply(known: view, granted: true, manualHolders: [], nonce: nonce))
        }
        for round in rounds { bodies.append(.heartbeatRefused(round: round, .leaseHeldElsewhere, known: nil)) }
        for member in members {
            bodies.append(.moveRequest(to: member))
            bodies.append(.release(revoked: false, handoverTo: member))
            bodies.append(.release(revoked: true, handoverTo: member))
            bodies.append(.stateReply(known: nil, granted: false, manualHolders: [member, member], nonce: nonce))
        }
        bodies.append(.release(revoked: false, handoverTo: nil))
        bodies.append(.stateReply(known: nil, granted: false, manualHolders: members, nonce: nonce))
        for extreme in [UInt64(0), 1, UInt64.max] {
            bodies.append(.stateQuery(nonce: extreme))
            bodies.append(.stateReply(known: nil, granted: false, manualHolders: [], nonce: extreme))
        }
        return bodies
    }

    /// Instances in every role, each with the nonce of its state queries.
    static func roles() throws -> [(name: String, instance: TicketInstance, nonce: UInt64)] {
        var roles: [(String, TicketInstance, UInt64)] = []
        func nonce(of directives: [Directive]) -> UInt64 { Base.queryNonce(directives) }
        var starting = try Base.instance(0)
        roles.append(("starting site", starting, nonce(of: starting.start(.fresh, now: t0))))
        var quiet = try Base.instance(2)
        let quietNonce = nonce(of: quiet.start(.stateLost, now: t0))
        roles.append(("quiet arbitrator", quiet, quietNonce))
        let follower = try Base.started(1)
        roles.append(("follower", follower, 0))
        var following = try Base.started(2)
        _ = following.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(2), term: 1, body: .heartbeat(lease: .seconds(10), round: 1)), now: t0)
        roles.append(("arbitrator following site-a", following, 0))
        var candidate = try Base.started(0)
        _ = candidate.onCommand(.grant(force: false, wait: true, waitForCommit: false), request: RequestID(1), now: t0)
        roles.append(("candidate", candidate, 0))
        var leader = candidate
        _ = leader.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(0), term: 1, body: .voteGranted), now: t0)
        precondition(leader.isLeader, "test setup: site-a did not become leader")
        roles.append(("leader", leader, 0))
        var releasing = leader
        _ = releasing.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(0), term: 1, body: .voteGranted), now: t0)
        _ = releasing.onCommand(.revoke(wait: false), request: RequestID(2), now: t0)
        roles.append(("releasing", releasing, 0))
        var manual = try Base.instance(1, mode: .manual)
        roles.append(("manual site", manual, nonce(of: manual.start(.fresh, now: t0))))
        // A journal written before issue 10 may hold an absurd term: it must not trap either.
        for poisoned in [ElectionLimits.termMax, UInt64.max] {
            var restored = try Base.instance(0)
            let saved = PersistentTicketState(term: poisoned, intendedGranted: true)
            roles.append(("site restored at term \(poisoned)", restored, nonce(of: restored.start(.restored(saved, elapsed: .unknown), now: t0))))
        }
        return roles
    }

    @Test func extremeValuesInEveryFieldNeitherTrapNorCarryTheTermAway() throws {
        var refusals = 0
        var messages = 0
        for (name, original, nonce) in try Self.roles() {
            let bodies = Self.bodies(nonce: nonce)
            for from in [0, 1, 2, 15] where from != original.membership.selfID.index {
                for term in Self.messageTerms {
                    for body in bodies {
                        var instance = original
                        let known = instance.term
                        let accepted = ElectionLimits.acceptedTermMax(known: known)
                        let message = PeerMessage(ticket: "ticketA", from: MemberID(from), to: instance.membership.selfID, term: term, body: body)
                        let out = instance.onMessage(message, now: Self.t0 + .milliseconds(5))
                        // Then time passes over every deadline the message may have set.
                        var later = instance.onTimer(now: Self.t0 + .seconds(3))
                        later += instance.onTimer(now: Self.t0 + .seconds(30))
                        messages += 1
                        let bound = max(known, accepted + 1)
                        #expect(instance.term <= bound, "\(name): \(message) moved term \(known) to \(instance.term)")
                        for case .persist(let state) in out + later {
                            #expect(state.term <= bound, "\(name): \(message) persisted term \(state.term)")
                        }
                        let cited: UInt64? = {
                            switch body {
                            case .voteRefused(_, let view), .heartbeatRefused(_, _, let view), .stateReply(let view, _, _, _): view?.term
                            default: nil
                            }
                        }()
                        let outOfBounds = term > accepted || (cited.map { $0 > accepted } ?? false)
                        guard outOfBounds, original.membership.contains(MemberID(from)) else { continue }
                        refusals += 1
                        #expect(out.contains { if case .log(.messageRefused(MemberID(from), _, known)) = $0 { true } else { false } },
                                "\(name): \(message) not refused")
                        #expect(instance.term == known)
                        // Nothing goes back to the sender; the others may be asked for their
                        // state (a second member as far ahead would corroborate the term).
                        for case .send(let sent) in out {
                            #expect(sent.to != MemberID(from), "\(name): answered a refused \(message) with \(sent)")
                            #expect({ if case .stateQuery = sent.body { true } else { false } }(), "\(name): \(message) refused, then sent \(sent)")
                        }
                    }
                }
            }
        }
        #expect(messages > 50_000)
        #expect(refusals > 10_000)
    }

    /// A hostile member can push the members it reaches ahead by `termJumpMax` a message; a
    /// member it did not reach must still follow them (found by the end-to-end hostile member:
    /// site-b refused site-a's and the arbitrator's messages for good, and a move to it failed).
    /// One member alone cannot carry a term that far; a second member as far ahead can.
    @Test func aMemberLeftFarBehindFollowsTwoMembersAheadButNotOne() throws {
        var siteB = try Base.started(1)
        #expect(siteB.term == 0)
        let far = ElectionLimits.termJumpMax * 3 + 5
        func heartbeat(term: UInt64) -> PeerMessage {
            PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(1), term: term, body: .heartbeat(lease: .seconds(10), round: 1))
        }
        // site-a alone, however often: refused, and the arbitrator (only) is asked for its state.
        let first = siteB.onMessage(heartbeat(term: far), now: Self.t0)
        #expect(first.contains(.log(.messageRefused(from: MemberID(0), term: far, known: 0))))
        let asked = Base.sends(first)
        #expect(asked.count == 1 && asked[0].to == MemberID(2), "\(asked)")
        let nonce = Base.queryNonce(first)
        for step in 1...5 {
            let again = siteB.onMessage(heartbeat(term: far), now: Self.t0 + .milliseconds(step))
            #expect(again.contains { if case .log(.messageRefused) = $0 { true } else { false } })
            #expect(Base.sends(again).isEmpty, "asked again within a timeout")
        }
        #expect(siteB.term == 0)
        // The arbitrator's answer: as far ahead. Now site-a's heartbeat is taken.
        _ = siteB.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(1), term: far - 1,
                        body: .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0 + .milliseconds(10))
        let taken = siteB.onMessage(heartbeat(term: far), now: Self.t0 + .milliseconds(20))
        #expect(!taken.contains { if case .log(.messageRefused) = $0 { true } else { false } })
        #expect(siteB.term == far)
        #expect(Base.sends(taken).contains { $0.to == MemberID(0) && $0.body == .heartbeatAcknowledged(round: 1) }, "\(taken)")
        // And site-a alone still cannot carry it further than the bound past that.
        let further = siteB.onMessage(heartbeat(term: far + ElectionLimits.termJumpMax * 2), now: Self.t0 + .milliseconds(30))
        #expect(further.contains { if case .log(.messageRefused) = $0 { true } else { false } })
        #expect(siteB.term == far)
    }

    /// The three traps of the issue, one by one.
    @Test func theIssuesFramesAreRefused() throws {
        var leader = try Self.roles().first { $0.name == "leader" }!.instance
        let refused = leader.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(0), term: UInt64.max,
                        body: .heartbeatRefused(round: 1, .staleTerm, known: nil)), now: Self.t0)
        #expect(refused.contains(.log(.messageRefused(from: MemberID(2), term: UInt64.max, known: 1))))
        #expect(leader.isLeader && leader.term == 1)
        // Within the bound a newer term still moves the leader on (as before).
        _ = leader.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(0), term: 7, body: .heartbeatRefused(round: 1, .staleTerm, known: nil)),
            now: Self.t0)
        #expect(leader.isLeader && leader.term == 8)

        var arbitrator = try Base.started(2)
        let release = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(2), term: UInt64.max, body: .release(revoked: true, handoverTo: nil)),
            now: Self.t0)
        #expect(arbitrator.term == 0)
        #expect(!release.contains { if case .persist = $0 { true } else { false } })

        // At the ceiling a site takes no grant instead of trapping at `term += 1`.
        var site = try Base.instance(0)
        let nonce = Base.queryNonce(site.start(.restored(PersistentTicketState(term: UInt64.max), elapsed: .unknown), now: Self.t0))
        for other in [1, 2] {
            _ = site.onMessage(
                PeerMessage(ticket: "ticketA", from: MemberID(other), to: MemberID(0), term: 0,
                            body: .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
        }
        let grant = site.onCommand(.grant(force: false, wait: true, waitForCommit: false), request: RequestID(9), now: Self.t0)
        #expect(grant.contains(.reply(RequestID(9), .refused(.termExhausted))))
        var manual = try Base.instance(0, mode: .manual)
        _ = manual.start(.restored(PersistentTicketState(term: UInt64.max), elapsed: .unknown), now: Self.t0)
        #expect(manual.onCommand(.grant(force: false, wait: false, waitForCommit: false), request: RequestID(3), now: Self.t0)
            .contains(.reply(RequestID(3), .refused(.termExhausted))))
    }
}
