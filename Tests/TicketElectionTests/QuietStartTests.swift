import Testing
import TicketElection

/// A member that starts without state (first start, deleted state directory, reinstall) gives
/// no promise for one lease, unless every other member answers this start's query with term 0.
struct QuietStartTests {
    typealias Base = TicketInstanceTests
    static let t0 = Base.t0

    static func message(_ from: Int, _ to: Int, term: UInt64, _ body: MessageBody) -> PeerMessage {
        PeerMessage(ticket: "ticketA", from: MemberID(from), to: MemberID(to), term: term, body: body)
    }

    static func logs(_ directives: [Directive]) -> [ElectionEvent] {
        directives.compactMap { if case .log(let event) = $0 { event } else { nil } }
    }

    static func voteAnswer(_ directives: [Directive]) -> MessageBody? {
        Base.sends(directives).first { if case .voteGranted = $0.body { true } else if case .voteRefused = $0.body { true } else { false } }?.body
    }

    /// The scenario at the arbitrator: site-a holds (term 1); the arbitrator restarts
    /// with its state directory deleted; site-a is cut off and site-b asks for a vote. Before
    /// issue 10 the arbitrator voted at once and both sites held the ticket.
    @Test func aMemberWithoutStateGivesNoVoteWhileAnotherMemberKnowsATerm() throws {
        var arbitrator = try Base.instance(2)
        let start = arbitrator.start(.fresh, now: Self.t0)
        #expect(Self.logs(start).contains { if case .quietAfterRestart(_, true) = $0 { true } else { false } })
        let nonce = Base.queryNonce(start)
        // site-b still follows site-a (its lease has 4 s left) and answers; site-a is cut off.
        let lease = LeaseView(leader: MemberID(0), term: 1, remaining: .seconds(4), confirmed: true)
        _ = arbitrator.onMessage(Self.message(1, 2, term: 1, .stateReply(known: lease, granted: true, manualHolders: [], nonce: nonce)),
                                 now: Self.t0 + .milliseconds(10))
        // The lease site-b knew ends; site-b campaigns in term 2 while site-a, cut off, still
        // holds by the promises the arbitrator forgot.
        let request = Self.t0 + .seconds(5)
        _ = arbitrator.onTimer(now: request)
        let answer = arbitrator.onMessage(Self.message(1, 2, term: 2, .voteRequest(lease: .seconds(10))), now: request)
        #expect(Self.voteAnswer(answer) == .voteRefused(.quietAfterRestart, known: nil))
        #expect(!answer.contains { if case .persist(let state) = $0 { state.promise?.leader == MemberID(1) } else { false } })
        // After the longest lease on the slowest clock since the start it may vote again.
        let policy = try Base.policy()
        let after = Self.t0 + policy.expireRealMax
        _ = arbitrator.onTimer(now: after)
        let later = arbitrator.onMessage(Self.message(1, 2, term: 3, .voteRequest(lease: .seconds(10))), now: after)
        #expect(Self.voteAnswer(later) == .voteGranted)
    }

    /// Only sites lead, so only they can rely on a forgotten promise: when every other site
    /// answers with term 0 the quiet period ends (an arbitrator's term-0 answer is not needed).
    @Test func everyOtherSiteAtTermZeroEndsTheQuietPeriodAtOnce() throws {
        var site = try Base.instance(1)
        let start = site.start(.fresh, now: Self.t0)
        let nonce = Base.queryNonce(start)
        // The arbitrator cannot hold: its answer proves nothing, whatever term it names (it may
        // follow a campaign that began after this start, which site-a's own answer shows).
        let first = site.onMessage(Self.message(2, 1, term: 3, .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
        #expect(!Self.logs(first).contains(.quietEnded))
        let second = site.onMessage(Self.message(0, 1, term: 0, .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
        #expect(Self.logs(second).contains(.quietEnded))
        let vote = site.onMessage(Self.message(0, 1, term: 4, .voteRequest(lease: .seconds(10))), now: Self.t0 + .milliseconds(1))
        #expect(Self.voteAnswer(vote) == .voteGranted)
    }

    /// A site answering with a term > 0 keeps the quiet period, even if it answers term 0 later
    /// (it lost its state meanwhile); and the quiet period binds the member's own campaign too
    /// (a vote for itself breaks a promise as surely as one for another site).
    @Test func aSiteThatKnowsATermKeepsTheQuietPeriodForOwnCampaignsToo() throws {
        var site = try Base.instance(0)
        let nonce = Base.queryNonce(site.start(.fresh, now: Self.t0))
        _ = site.onMessage(Self.message(1, 0, term: 4, .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
        let last = site.onMessage(Self.message(1, 0, term: 0, .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
        #expect(!Self.logs(last).contains(.quietEnded))
        _ = site.onMessage(Self.message(2, 0, term: 0, .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
        let grant = site.onCommand(.grant(force: true, wait: true, waitForCommit: false), request: RequestID(1), now: Self.t0 + .seconds(1))
        #expect(grant.contains { if case .reply(RequestID(1), .refused(.quietAfterRestart)) = $0 { true } else { false } })
        #expect(!Base.sends(grant).contains { if case .voteRequest = $0.body { true } else { false } })
        let policy = try Base.policy()
        let after = Self.t0 + policy.expireRealMax
        _ = site.onTimer(now: after)
        let later = site.onCommand(.grant(force: false, wait: false, waitForCommit: false), request: RequestID(2), now: after)
        #expect(Base.sends(later).contains { if case .voteRequest = $0.body { true } else { false } })
    }

    /// A quiet voter's refusal is for a while, not an answer: the candidate asks it again at the
    /// next resend and wins with its vote once its quiet period has ended (members started
    /// together end their quiet periods a little apart; a loaded machine spreads them further).
    @Test func aCandidateAsksAQuietVoterAgainAndWinsOnceItsQuietEnds() throws {
        var site = try Base.started(0)
        let grant = site.onCommand(.grant(force: false, wait: true, waitForCommit: false), request: RequestID(1), now: Self.t0 + .seconds(1))
        let request = try #require(Base.sends(grant).first { $0.to == MemberID(2) && { if case .voteRequest = $0.body { true } else { false } }($0) })
        // site-b is down; the arbitrator is still quiet.
        let refused = site.onMessage(Self.message(2, 0, term: request.term, .voteRefused(.quietAfterRestart, known: nil)),
                                     now: Self.t0 + .seconds(1) + .milliseconds(5))
        #expect(!refused.contains { if case .reply(RequestID(1), _) = $0 { true } else { false } })
        // The next resend asks the arbitrator again; now it votes.
        let resend = site.onTimer(now: Self.t0 + .seconds(2))
        #expect(Base.sends(resend).contains { $0.to == MemberID(2) && { if case .voteRequest = $0.body { true } else { false } }($0) },
                "the quiet voter is asked again: \(Base.sends(resend))")
        let vote = site.onMessage(Self.message(2, 0, term: request.term, .voteGranted), now: Self.t0 + .seconds(2) + .milliseconds(5))
        #expect(vote.contains { if case .log(.becameLeader) = $0 { true } else { false } }, "\(vote)")
    }

    /// A majority of term-0 answers is not a proof: the silent member may be the holder.
    @Test func aMajorityAtTermZeroIsNotEnough() throws {
        let members = Base.members + [
            Member(id: MemberID(3), name: "site-d", role: .site), Member(id: MemberID(4), name: "arbitrator-2", role: .arbitrator),
        ]
        let policy = try TicketPolicy(name: "ticketA", expire: .seconds(10), timeout: .seconds(1), retries: 3, weights: [0, 0, 0, 0, 0])
        var arbitrator = TicketInstance(policy: policy, membership: try Membership(members: members, selfID: MemberID(2)))
        let nonce = Base.queryNonce(arbitrator.start(.fresh, now: Self.t0))
        for other in [1, 3, 4] {
            let out = arbitrator.onMessage(
                PeerMessage(ticket: "ticketA", from: MemberID(other), to: MemberID(2), term: 0,
                            body: .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
            #expect(!Self.logs(out).contains(.quietEnded))
        }
        // Member 0 never answers; the startup query gives up, the quiet period goes on.
        _ = arbitrator.onTimer(now: Self.t0 + .seconds(3))
        let vote = arbitrator.onMessage(
            PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(2), term: 1, body: .voteRequest(lease: .seconds(10))),
            now: Self.t0 + .seconds(4))
        #expect(Self.voteAnswer(vote) == .voteRefused(.quietAfterRestart, known: nil))
    }

    /// An answer to an earlier incarnation's query, delivered after the restart, may predate
    /// the campaign it would have had to report: it does not count.
    @Test func anAnswerToAnEarlierIncarnationDoesNotCount() throws {
        var before = try Base.instance(2)
        let oldNonce = Base.queryNonce(before.start(.fresh, now: Self.t0))
        var arbitrator = try Base.instance(2)
        let restart = Self.t0 + .seconds(2)
        let nonce = Base.queryNonce(arbitrator.start(.fresh, now: restart))
        #expect(nonce != oldNonce)
        for other in [0, 1] {
            let out = arbitrator.onMessage(
                Self.message(other, 2, term: 0, .stateReply(known: nil, granted: false, manualHolders: [], nonce: oldNonce)), now: restart)
            #expect(!Self.logs(out).contains(.quietEnded))
        }
        let vote = arbitrator.onMessage(Self.message(1, 2, term: 2, .voteRequest(lease: .seconds(10))), now: restart + .milliseconds(5))
        #expect(Self.voteAnswer(vote) == .voteRefused(.quietAfterRestart, known: nil))
    }

    /// Members that come up after the startup query ends are asked again every timeout, and
    /// their term-0 answers still end the quiet period (a brand-new cluster started slowly).
    @Test func membersThatComeUpLaterAreAskedUntilTheProof() throws {
        var site = try Base.instance(0)
        let nonce = Base.queryNonce(site.start(.fresh, now: Self.t0))
        var now = Self.t0
        var asked = 0
        for _ in 0..<6 {
            now = now + .seconds(1)
            asked += Base.sends(site.onTimer(now: now)).count { if case .stateQuery = $0.body { true } else { false } }
        }
        #expect(asked >= 6, "the query goes on after the startup query's three rounds")
        var ended = false
        for other in [1, 2] {
            let out = site.onMessage(Self.message(other, 0, term: 0, .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: now)
            ended = ended || Self.logs(out).contains(.quietEnded)
        }
        #expect(ended)
        let quiet = site.onTimer(now: now + .seconds(1))
        #expect(!Base.sends(quiet).contains { if case .stateQuery = $0.body { true } else { false } })
    }

    /// A site that asks us is up and hears us: we ask it first, then answer, so that its answer
    /// to us leaves before our answer can complete its startup and let it campaign (it would
    /// then answer us with term 1 and we would wait out the lease). Members of a new cluster
    /// that come up one by one and grant at once depend on this order.
    @Test func aSiteThatAsksIsAskedBeforeItIsAnswered() throws {
        var site = try Base.instance(1)
        let nonce = Base.queryNonce(site.start(.fresh, now: Self.t0))
        let out = site.onMessage(Self.message(0, 1, term: 0, .stateQuery(nonce: 77)), now: Self.t0 + .seconds(2))
        let bodies = Base.sends(out).filter { $0.to == MemberID(0) }.map(\.body)
        #expect(bodies == [.stateQuery(nonce: nonce), .stateReply(known: nil, granted: false, manualHolders: [], nonce: 77)])
        // An arbitrator's question gets only the answer: arbitrators hold no lease to prove.
        let fromArbitrator = site.onMessage(Self.message(2, 1, term: 0, .stateQuery(nonce: 78)), now: Self.t0 + .seconds(2))
        #expect(Base.sends(fromArbitrator).map(\.body) == [.stateReply(known: nil, granted: false, manualHolders: [], nonce: 78)])
    }

    /// A damaged journal proves this member had state: it waits the lease whatever it hears.
    @Test func aDamagedStateWaitsEvenWhenAllReportTermZero() throws {
        var arbitrator = try Base.instance(2)
        let start = arbitrator.start(.stateLost, now: Self.t0)
        #expect(Self.logs(start).contains { if case .quietAfterRestart(_, false) = $0 { true } else { false } })
        let nonce = Base.queryNonce(start)
        for other in [0, 1] {
            let out = arbitrator.onMessage(Self.message(other, 2, term: 0, .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: Self.t0)
            #expect(!Self.logs(out).contains(.quietEnded))
        }
        let vote = arbitrator.onMessage(Self.message(1, 2, term: 1, .voteRequest(lease: .seconds(10))), now: Self.t0 + .seconds(1))
        #expect(Self.voteAnswer(vote) == .voteRefused(.quietAfterRestart, known: nil))
    }

    /// The broken rule of the simulator's self-test is the old behaviour: a vote at once.
    @Test func theBrokenRuleVotesAtOnce() throws {
        let policy = try Base.policy(breaks: .amnesiacVotesAtOnce)
        var arbitrator = TicketInstance(policy: policy, membership: try Membership(members: Base.members, selfID: MemberID(2)))
        let start = arbitrator.start(.fresh, now: Self.t0)
        #expect(!Self.logs(start).contains { if case .quietAfterRestart = $0 { true } else { false } })
        let vote = arbitrator.onMessage(Self.message(1, 2, term: 2, .voteRequest(lease: .seconds(10))), now: Self.t0 + .milliseconds(5))
        #expect(Self.voteAnswer(vote) == .voteGranted)
    }
}
