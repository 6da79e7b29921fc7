import Testing
import TicketElection

/// The holder's margin (issue 15 point 2, `stop-before`): a leader whose renewal fails revokes
/// locally that long before its own lease ends, releases only once the site confirmed the stop,
/// and withholds the release when the site could not confirm it (the lease then runs out).
struct StopBeforeTests {
    /// site-a leads after a grant at t0 (elected with site-b's vote, first round
    /// acknowledged, granted in the CIB); the policy's stop-before is `stopBefore` (nil: default).
    static func leader(stopBefore: Duration? = nil) throws -> (TicketInstance, TicketPolicy) {
        var site = try TicketInstanceTests.started(0, stopBefore: stopBefore)
        let t0 = TicketInstanceTests.t0
        _ = site.onCommand(.grant(force: false, wait: false, waitForCommit: false), request: RequestID(1), now: t0)
        // site-b's vote: every site heard, so the grant is written in the CIB at once.
        _ = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(0), term: 1, body: .voteGranted), now: t0 + .milliseconds(10))
        _ = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(0), term: 1, body: .heartbeatAcknowledged(round: 1)),
                           now: t0 + .milliseconds(20))
        #expect(site.isLeader && site.grantedLocally)
        return (site, site.policy)
    }

    static func revokes(_ directives: [Directive]) -> [RevokeReason] {
        directives.compactMap { if case .revokeLocally(let reason) = $0 { reason } else { nil } }
    }

    static func releases(_ directives: [Directive]) -> [PeerMessage] {
        TicketInstanceTests.sends(directives).filter { if case .release = $0.body { true } else { false } }
    }

    /// Every timer the instance asks for, until `end`; the directives of each wake-up.
    static func runTimers(_ site: inout TicketInstance, from start: LocalInstant, until end: LocalInstant, wakeUp: inout LocalInstant?) -> [(LocalInstant, [Directive])] {
        var seen: [(LocalInstant, [Directive])] = []
        var now = start
        for _ in 0..<1000 {
            guard let next = wakeUp, next <= end else { break }
            now = max(now, next)
            let out = site.onTimer(now: now)
            seen.append((now, out))
            wakeUp = out.compactMap { if case .wakeUp(let at) = $0 { at } else { nil } }.last ?? (wakeUp == next ? nil : wakeUp)
        }
        return seen
    }

    @Test func theDefaultIsTheLargerOfTwoSecondsAndAFifthOfTheLeaseWithinTheRoomARenewalLeaves() throws {
        #expect(try TicketPolicy(name: "t", expire: .seconds(10), timeout: .seconds(1), retries: 3, weights: []).stopBefore == .seconds(2))
        #expect(try TicketPolicy(name: "t", weights: []).stopBefore == .seconds(120))
        #expect(try TicketPolicy(name: "t", expire: .seconds(60), timeout: .seconds(1), retries: 3, weights: []).stopBefore == .seconds(12))
        // expire 6 s, renewal 3 s, timeout 0.5 s: 2 s fits (5.88 - 3 - 0.5 = 2.38 s of room).
        #expect(try TicketPolicy(name: "t", expire: .seconds(6), timeout: .milliseconds(500), retries: 3, weights: []).stopBefore == .seconds(2))
        // expire 4 s: the renewal leaves 3.92 - 2 = 1.92 s, less a timeout: 1.52 s.
        let short = try TicketPolicy(name: "t", expire: .seconds(4), timeout: .milliseconds(400), retries: 3, weights: [])
        #expect(short.stopBefore == short.leaderLease - short.renewalFrequency - .milliseconds(400))
        #expect(short.stopBefore > .milliseconds(1500) && short.stopBefore < .seconds(2))
        // A lease with no room: zero, the holder revokes at the lease end as booth does.
        let tight = try TicketPolicy(name: "t", expire: .seconds(10), timeout: .seconds(1), retries: 3, renewalFrequency: .seconds(9), weights: [])
        #expect(tight.stopBefore == .zero)
    }

    @Test func anExplicitMarginMustLeaveTheRenewalItsRoom() throws {
        #expect(try TicketPolicy(name: "t", expire: .seconds(10), timeout: .seconds(1), retries: 3, stopBefore: .seconds(4), weights: []).stopBefore == .seconds(4))
        #expect(try TicketPolicy(name: "t", expire: .seconds(10), timeout: .seconds(1), retries: 3, stopBefore: .zero, weights: []).stopBefore == .zero)
        do {
            _ = try TicketPolicy(name: "t", expire: .seconds(10), timeout: .seconds(1), retries: 3, stopBefore: .seconds(5), weights: [])
            Issue.record("stop-before 5 s of a 10 s lease renewed every 5 s was accepted")
        } catch {
            #expect(error.description.hasPrefix("stop-before = 5s must be shorter than the lease left at a renewal"), "\(error)")
        }
    }

    @Test func anUnrenewedHolderRevokesAtTheMarginAndReleasesOnceTheStopIsConfirmed() throws {
        var (site, policy) = try Self.leader()
        let t0 = TicketInstanceTests.t0
        let leaseEnd = t0 + .milliseconds(10) + policy.leaderLease
        let margin = leaseEnd - policy.stopBefore
        // Nobody answers the renewals from here on.
        var wakeUp: LocalInstant? = t0 + .milliseconds(20)
        let timeline = Self.runTimers(&site, from: t0 + .milliseconds(20), until: leaseEnd, wakeUp: &wakeUp)
        let revoked = timeline.filter { !Self.revokes($0.1).isEmpty }
        #expect(revoked.count == 1)
        #expect(revoked.first?.0 == margin, "revoked at \(String(describing: revoked.first?.0)), margin \(margin)")
        #expect(revoked.first.map { Self.revokes($0.1) } == [.renewalFailing])
        #expect(timeline.allSatisfy { Self.releases($0.1).isEmpty }, "no release before the site confirms the stop")
        #expect(site.role.name == "releasing" && !site.grantedLocally)
        // The site confirms: the release goes to both others, the ticket stays wanted (failover).
        let out = site.onLocalRevokeCompleted(now: margin + .milliseconds(300), confirmed: true)
        #expect(Self.releases(out).map(\.to) == [MemberID(1), MemberID(2)])
        #expect(Self.releases(out).allSatisfy { $0.body == .release(revoked: false, handoverTo: nil) })
        #expect(out.contains(.log(.released(term: 1, reason: .renewalFailing))))
        #expect(site.role.name == "follower" && site.intendedGranted)
    }

    /// `baton move -w` of a ticket guarding a large group (geo bench, N = 100): the stop took
    /// longer than timeout × (retries + 1) and the admin was told "no site holds the ticket"
    /// while the handover went on. The move now waits for the site's stop, then has its own
    /// time for the handover.
    @Test func aMoveWaitsForTheSitesStopHoweverLongItTakes() throws {
        var (site, policy) = try Self.leader()
        let t1 = TicketInstanceTests.t0 + .milliseconds(100)
        let moved = site.onCommand(.move(to: MemberID(1), wait: true), request: RequestID(7), now: t1)
        #expect(Self.revokes(moved) == [.movedAway] && site.role.name == "releasing")
        let replies = { (directives: [Directive]) in directives.compactMap { if case .reply(let id, let outcome) = $0, id == RequestID(7) { outcome } else { nil } } }
        // Past the request's own deadline, the site still stopping: no answer yet.
        let usual = policy.timeout * (policy.retries + 1)
        var now = t1
        for _ in 0..<4 {
            now = now + usual / 2
            #expect(replies(site.onTimer(now: now)).isEmpty, "answered at \(now) while the site still stops")
        }
        // The stop confirmed at twice that (8 s, within the 10 s lease): the release hands over
        // to site-b...
        let released = site.onLocalRevokeCompleted(now: now, confirmed: true)
        #expect(Self.releases(released).allSatisfy { $0.body == .release(revoked: false, handoverTo: MemberID(1)) })
        #expect(replies(released).isEmpty)
        // ... whose first heartbeat as leader answers the move, within the usual time after.
        let heartbeat = PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(0), term: 2, body: .heartbeat(lease: policy.expire, round: 1))
        #expect(replies(site.onTimer(now: now + usual - .milliseconds(1))).isEmpty)
        #expect(replies(site.onMessage(heartbeat, now: now + usual - .milliseconds(1))) == [.moved(to: MemberID(1))])
        // Without the handover the move is refused once its own time after the stop has passed.
        var (other, _) = try Self.leader()
        _ = other.onCommand(.move(to: MemberID(1), wait: true), request: RequestID(7), now: t1)
        _ = other.onLocalRevokeCompleted(now: t1 + usual * 2, confirmed: true)
        #expect(replies(other.onTimer(now: t1 + usual * 3 - .milliseconds(1))).isEmpty)
        #expect(replies(other.onTimer(now: t1 + usual * 3)) == [.refused(.noLeaderKnown)])
    }

    @Test func anUnconfirmedStopWithholdsTheReleaseAndTheLeaseRunsOut() throws {
        var (site, policy) = try Self.leader()
        let t0 = TicketInstanceTests.t0
        let margin = t0 + .milliseconds(10) + policy.leaderLease - policy.stopBefore
        var wakeUp: LocalInstant? = t0 + .milliseconds(20)
        _ = Self.runTimers(&site, from: t0 + .milliseconds(20), until: margin, wakeUp: &wakeUp)
        #expect(site.role.name == "releasing")
        let out = site.onLocalRevokeCompleted(now: margin + .seconds(1), confirmed: false)
        #expect(Self.releases(out).isEmpty)
        #expect(out.contains(.log(.releaseWithheld(term: 1, reason: .renewalFailing))))
        #expect(site.role.name == "follower")
        // Its own promise still stands: site-b's campaign gets no vote from it before the lease's end.
        let refused = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(0), term: 2, body: .voteRequest(lease: policy.expire)),
                                     now: margin + .seconds(1) + .milliseconds(10))
        #expect(TicketInstanceTests.sends(refused).allSatisfy { if case .voteGranted = $0.body { false } else { true } }, "\(refused)")
    }

    @Test func aRenewalAcknowledgedInTimeKeepsTheTicket() throws {
        var (site, policy) = try Self.leader()
        let t0 = TicketInstanceTests.t0
        let renewal = t0 + .milliseconds(10) + policy.renewalFrequency
        _ = site.onTimer(now: renewal)
        _ = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(0), term: 1, body: .heartbeatAcknowledged(round: 2)),
                           now: renewal + .milliseconds(900))
        let firstMargin = t0 + .milliseconds(10) + policy.leaderLease - policy.stopBefore
        let out = site.onTimer(now: firstMargin + .milliseconds(1))
        #expect(Self.revokes(out).isEmpty)
        #expect(site.isLeader && site.grantedLocally)
    }

    @Test func withoutAMarginTheHolderRevokesAtItsLeaseEndAsBoothDoes() throws {
        var (site, policy) = try Self.leader(stopBefore: .zero)
        let t0 = TicketInstanceTests.t0
        let leaseEnd = t0 + .milliseconds(10) + policy.leaderLease
        var wakeUp: LocalInstant? = t0 + .milliseconds(20)
        let timeline = Self.runTimers(&site, from: t0 + .milliseconds(20), until: leaseEnd, wakeUp: &wakeUp)
        let revoked = timeline.filter { !Self.revokes($0.1).isEmpty }
        #expect(revoked.map(\.0) == [leaseEnd])
        #expect(revoked.first.map { Self.revokes($0.1) } == [.leaseExpired])
    }
}
