import Testing
import TicketElection

/// Unit tests that drive one instance directly, message by message.
struct TicketInstanceTests {
    static let members = [
        Member(id: MemberID(0), name: "site-a", role: .site),
        Member(id: MemberID(1), name: "site-b", role: .site),
        Member(id: MemberID(2), name: "arbitrator", role: .arbitrator),
    ]

    static func policy(mode: TicketMode = .automatic, breaks: SafetyRuleBreaks = [], stopBefore: Duration? = nil) throws -> TicketPolicy {
        try TicketPolicy(name: "ticketA", mode: mode, expire: .seconds(10), timeout: .seconds(1), retries: 3, stopBefore: stopBefore,
                         weights: [0, 0, 0], safetyRuleBreaks: breaks)
    }

    static func instance(_ index: Int, mode: TicketMode = .automatic, stopBefore: Duration? = nil) throws -> TicketInstance {
        TicketInstance(policy: try policy(mode: mode, stopBefore: stopBefore), membership: try Membership(members: members, selfID: MemberID(index)))
    }

    static let t0 = LocalInstant(nanoseconds: 1_000_000_000_000)

    static func sends(_ directives: [Directive]) -> [PeerMessage] {
        directives.compactMap { if case .send(let message) = $0 { message } else { nil } }
    }

    /// Starts an instance and answers its state queries with "nothing known".
    static func started(_ index: Int, stopBefore: Duration? = nil) throws -> TicketInstance {
        var instance = try instance(index, stopBefore: stopBefore)
        let nonce = queryNonce(instance.start(.fresh, now: t0))
        for other in [0, 1, 2] where other != index {
            _ = instance.onMessage(
                PeerMessage(ticket: "ticketA", from: MemberID(other), to: MemberID(index), term: 0,
                            body: .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: t0)
        }
        return instance
    }

    /// The nonce of the state queries a start sent (replies must echo it).
    static func queryNonce(_ directives: [Directive]) -> UInt64 {
        for message in sends(directives) { if case .stateQuery(let nonce) = message.body { return nonce } }
        preconditionFailure("no state query sent")
    }

    @Test func majorityIsStrictAndCountsArbitrators() throws {
        let membership = try Membership(members: Self.members, selfID: MemberID(0))
        #expect(!membership.isMajority(1))
        #expect(membership.isMajority(2))
        let four = try Membership(members: Self.members + [Member(id: MemberID(3), name: "site-d", role: .site)], selfID: MemberID(0))
        #expect(!four.isMajority(2))
        #expect(four.isMajority(3))
    }

    @Test func membershipRejectsBadLists() {
        #expect(throws: MembershipError.noSite) {
            try Membership(members: [Member(id: MemberID(0), name: "a", role: .arbitrator),
                                     Member(id: MemberID(1), name: "b", role: .arbitrator)], selfID: MemberID(0))
        }
        #expect(throws: MembershipError.duplicateName("a")) {
            try Membership(members: [Member(id: MemberID(0), name: "a", role: .site),
                                     Member(id: MemberID(1), name: "a", role: .site)], selfID: MemberID(0))
        }
        let many = (0..<17).map { Member(id: MemberID($0 % 16), name: "m\($0)", role: .site) }
        #expect(throws: MembershipError.tooManyMembers(count: 17)) { try Membership(members: many, selfID: MemberID(0)) }
    }

    @Test func policyRulesNameTheProblem() throws {
        #expect(throws: TicketPolicyError.invalidName("bad name")) { try TicketPolicy(name: "bad name", weights: []) }
        #expect(throws: TicketPolicyError.invalidName(String(repeating: "x", count: 64))) {
            try TicketPolicy(name: String(repeating: "x", count: 64), weights: [])
        }
        #expect(throws: TicketPolicyError.retriesOutOfRange(2)) { try TicketPolicy(name: "t", retries: 2, weights: []) }
        #expect(throws: TicketPolicyError.renewalTooShort(timeout: .seconds(5), retries: 10, renewal: .seconds(30))) {
            try TicketPolicy(name: "t", expire: .seconds(60), weights: [])
        }
        let defaults = try TicketPolicy(name: "ticket/a-1", weights: [])
        #expect(defaults.expire == .seconds(600))
        #expect(defaults.renewalFrequency == .seconds(300))
        let error = TicketPolicyError.renewalTooShort(timeout: .seconds(5), retries: 10, renewal: .seconds(30))
        #expect(error.description == "timeout * (retries + 1) = 55s must be shorter than renewal-freq = 30s")
    }

    @Test func leaderLeaseIsShortenedByTheDriftBound() throws {
        let policy = try TicketPolicy(name: "t", expire: .seconds(10), timeout: .seconds(1), retries: 3,
                                      clockDriftMaxPartsPerMillion: 10_000, weights: [])
        // 10 s * 0.99 / 1.01
        #expect(policy.leaderLease == .nanoseconds(9_801_980_198))
        #expect(policy.expireRealMax > .milliseconds(10_202))
    }

    @Test func grantPersistsBeforeSendingVoteRequests() throws {
        var site = try Self.started(0)
        let out = site.onCommand(.grant(force: false, wait: true, waitForCommit: false), request: RequestID(1), now: Self.t0)
        guard case .persist(let state) = out.first else {
            Issue.record("first directive is not persist: \(out)")
            return
        }
        #expect(state.term == 1)
        #expect(state.votedFor == MemberID(0))
        #expect(Self.sends(out).map(\.body) == [.voteRequest(lease: .seconds(10)), .voteRequest(lease: .seconds(10))])
        let firstSend = out.firstIndex { if case .send = $0 { true } else { false } }!
        #expect(firstSend > 0)
    }

    @Test func oneVoteMakesALeaderAndTheCIBIsWrittenWhenAllSitesAnswered() throws {
        var site = try Self.started(0)
        _ = site.onCommand(.grant(force: false, wait: true, waitForCommit: false), request: RequestID(1), now: Self.t0)
        let later = Self.t0 + .milliseconds(20)
        let out = site.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(0), term: 1, body: .voteGranted), now: later)
        #expect(site.isLeader)
        #expect(site.believesHolding(now: later))
        let leaseEnd = Self.t0 + (try Self.policy()).leaderLease
        #expect(out.contains(.grantLocally(term: 1, leaseRemaining: leaseEnd.since(later))))
        #expect(out.contains(.reply(RequestID(1), .granted(commitPendingFor: nil))))
        // The lease counts from the vote request, not from the answer.
        #expect(!site.believesHolding(now: Self.t0 + (try Self.policy()).leaderLease))
    }

    @Test func voterRefusesWhilePromisedToAnotherLeader() throws {
        var arbitrator = try Self.started(2)
        let grant = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(2), term: 1, body: .voteRequest(lease: .seconds(10))), now: Self.t0)
        #expect(Self.sends(grant).map(\.body) == [.voteGranted])
        #expect(grant.first.map { if case .persist = $0 { true } else { false } } == true)
        let refusal = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(2), term: 2, body: .voteRequest(lease: .seconds(10))),
            now: Self.t0 + .seconds(9))
        guard case .voteRefused(.leaseHeldElsewhere, let known?) = Self.sends(refusal).first?.body else {
            Issue.record("expected a refusal naming the lease, got \(refusal)")
            return
        }
        #expect(known.leader == MemberID(0))
        #expect(known.remaining == .seconds(1))
        #expect(arbitrator.term == 1, "a refused request does not move the voter's term")
        // Once the promise has run out the same request is granted.
        let granted = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(2), term: 2, body: .voteRequest(lease: .seconds(10))),
            now: Self.t0 + .seconds(10))
        #expect(Self.sends(granted).map(\.body) == [.voteGranted])
    }

    @Test func staleTermsAndSecondVotesAreRefused() throws {
        var arbitrator = try Self.started(2)
        _ = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(2), term: 5, body: .voteRequest(lease: .seconds(10))), now: Self.t0)
        _ = arbitrator.onMessage(PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(2), term: 5, body: .withdrawn), now: Self.t0)
        let second = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(2), term: 5, body: .voteRequest(lease: .seconds(10))), now: Self.t0)
        #expect(Self.sends(second).first?.body == .voteRefused(.alreadyVoted, known: nil))
        let stale = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(2), term: 4, body: .voteRequest(lease: .seconds(10))), now: Self.t0)
        #expect(Self.sends(stale).first?.body == .voteRefused(.staleTerm, known: nil))
    }

    @Test func restoredPromiseIsNeverShorterThanTheRealOne() throws {
        var arbitrator = try Self.instance(2)
        let saved = PersistentTicketState(
            term: 3, votedFor: MemberID(0), promise: LeaseView(leader: MemberID(0), term: 3, remaining: .seconds(8), confirmed: true),
            intendedGranted: true)
        _ = arbitrator.start(.restored(saved, elapsed: .known(.seconds(2))), now: Self.t0)
        let status = arbitrator.status(now: Self.t0)
        #expect(status.leader == MemberID(0))
        #expect(status.leaseRemaining == .seconds(6))
        var rebooted = try Self.instance(2)
        _ = rebooted.start(.restored(saved, elapsed: .unknown), now: Self.t0)
        #expect(rebooted.status(now: Self.t0).leaseRemaining == .seconds(8))
    }

    @Test func lostStateMeansNoPromisesForOneLease() throws {
        var site = try Self.instance(1)
        let out = site.start(.stateLost, now: Self.t0)
        #expect(out.contains { if case .log(.quietAfterRestart) = $0 { true } else { false } })
        let refusal = site.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(1), term: 1, body: .voteRequest(lease: .seconds(10))), now: Self.t0)
        #expect(Self.sends(refusal).first?.body == .voteRefused(.quietAfterRestart, known: nil))
    }

    @Test func arbitratorRefusesToHold() throws {
        var arbitrator = try Self.started(2)
        let out = arbitrator.onCommand(.grant(force: true, wait: false, waitForCommit: false), request: RequestID(9), now: Self.t0)
        #expect(out.contains(.reply(RequestID(9), .refused(.arbitratorCannotHold))))
    }

    @Test func garbageFromPeersChangesNothing() throws {
        var arbitrator = try Self.started(2)
        // An absurd lease, and a heartbeat for a manual-mode-only message kind: ignored.
        let absurd = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(2), term: 1, body: .voteRequest(lease: .seconds(100_000))), now: Self.t0)
        #expect(Self.sends(absurd).isEmpty)
        #expect(arbitrator.term == 0)
        let stray = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(2), term: 1, body: .heartbeatAcknowledged(round: 7)), now: Self.t0)
        #expect(stray.isEmpty)
    }
}
