import Testing
import TicketElection

/// A renewal that nobody acknowledges is resent until the lease ends, not given up after
/// `retries` resends (issue 10: at 25 % loss a leader stopped resending while most of its
/// lease was left, and lost the ticket to a network that would have carried a later try).
struct RenewalResendTests {
    /// site-a leads (elected with the arbitrator's vote; round 1, started at the returned
    /// instant, acknowledged by the arbitrator).
    /// Without a stop-before margin: these tests follow the resends to the lease's very end.
    static func leader() throws -> (TicketInstance, LocalInstant) {
        var site = try TicketInstanceTests.started(0, stopBefore: .zero)
        let t0 = TicketInstanceTests.t0
        _ = site.onCommand(.grant(force: false, wait: false, waitForCommit: false), request: RequestID(1), now: t0)
        _ = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(0), term: 1, body: .voteGranted), now: t0 + .milliseconds(10))
        _ = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(0), term: 1, body: .heartbeatAcknowledged(round: 1)),
                           now: t0 + .milliseconds(20))
        #expect(site.isLeader)
        return (site, t0 + .milliseconds(10))
    }

    static func heartbeats(_ directives: [Directive]) -> [UInt64] {
        TicketInstanceTests.sends(directives).compactMap { if case .heartbeat(_, let round) = $0.body { round } else { nil } }
    }

    @Test func anUnansweredRenewalIsResentUntilTheLeaseEnds() throws {
        let (leader, t0) = try Self.leader()
        var site = leader
        let policy = try TicketInstanceTests.policy(stopBefore: .zero)
        // The renewal round (2) starts at t0 + renewal-freq; nobody answers it.
        var now = t0 + policy.renewalFrequency
        var rounds: [UInt64] = Self.heartbeats(site.onTimer(now: now))
        #expect(rounds == [2, 2])
        var resendInstants: [LocalInstant] = []
        let leaseEnd = t0 + policy.leaderLease
        while now < leaseEnd - .milliseconds(1) {
            now = min(now + policy.renewalResendInterval, leaseEnd - .milliseconds(1))
            let sent = Self.heartbeats(site.onTimer(now: now))
            if !sent.isEmpty { resendInstants.append(now) }
            rounds += sent
        }
        // More resends than `retries` (3): every half timeout until the lease ends.
        #expect(resendInstants.count > policy.retries)
        #expect(resendInstants.count >= Int((leaseEnd.since(t0 + policy.renewalFrequency)).nanoseconds / policy.renewalResendInterval.nanoseconds) - 1)
        #expect(rounds.allSatisfy { $0 == 2 })
        // A late answer to the last resend still renews the lease, from the round's start.
        _ = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(0), term: 1, body: .heartbeatAcknowledged(round: 2)), now: now)
        _ = site.onTimer(now: leaseEnd + .milliseconds(1))
        #expect(site.believesHolding(now: leaseEnd + .milliseconds(1)))
        #expect(!site.believesHolding(now: t0 + policy.renewalFrequency + policy.leaderLease))
    }

    @Test func anAcknowledgedRenewalStopsResendingAfterRetries() throws {
        let (leader, t0) = try Self.leader()
        var site = leader
        let policy = try TicketInstanceTests.policy(stopBefore: .zero)
        var now = t0 + policy.renewalFrequency
        _ = site.onTimer(now: now)
        // The arbitrator answers: renewed; site-b stays silent and is asked `retries` times more.
        _ = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(2), to: MemberID(0), term: 1, body: .heartbeatAcknowledged(round: 2)),
                           now: now + .milliseconds(10))
        var resends = 0
        // Until just before the next renewal (renewal-freq 5 s, timeout 1 s).
        for _ in 0..<4 {
            now = now + policy.timeout
            resends += Self.heartbeats(site.onTimer(now: now)).count
        }
        #expect(resends == policy.retries)
    }
}
