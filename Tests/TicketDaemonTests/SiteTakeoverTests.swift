import Testing
import TicketCore
import TicketElection
import TicketWire

/// Issue 15 point 3: a site's batond started on another node of the site (ocf:baton:batond moved
/// by the site's cluster) carries on from the site's CIB when its journal knows less.
@Suite struct SiteTakeoverTests {
    static let members = DaemonCoreTests.members
    static let siteA = try! Membership(members: members, selfID: MemberID(0))
    static let arbitrator = try! Membership(members: members, selfID: MemberID(2))
    static let wall: Int64 = 1_800_000_000
    static func policy(_ mode: TicketMode = .automatic) -> TicketPolicy {
        try! TicketPolicy(name: "ticketA", mode: mode, expire: .seconds(30), timeout: .seconds(1), retries: 3, weights: [0, 0, 0])
    }
    static let noJournal = LoadedState(modes: [:], allLost: false, note: "")

    static func cib(granted: String = "true", owner: String = "site-a", expires: Int64? = wall + 20, term: String? = "3") -> [String: SiteTakeover.CIBTicket] {
        var state = ["granted": granted, "owner": owner]
        if let expires { state["expires"] = String(expires) }
        if let term { state["term"] = term }
        return ["ticketA": state]
    }

    static func decide(
        _ loaded: LoadedState = noJournal, cib: [String: SiteTakeover.CIBTicket] = cib(), membership: Membership = siteA, policy: TicketPolicy = policy()
    ) -> SiteTakeover.Decision {
        SiteTakeover.modes(loaded: loaded, cib: cib, policies: [policy], membership: membership, selfName: membership.selfMember.name, wallNow: wall)
    }

    @Test func aGrantInTheCIBWithItsLeaseRunningIsLedOn() {
        let decision = Self.decide()
        let expected = PersistentTicketState(
            term: 3, votedFor: MemberID(0), promise: LeaseView(leader: MemberID(0), term: 3, remaining: .seconds(20), confirmed: true),
            leading: .seconds(19), intendedGranted: true)
        #expect(decision.modes["ticketA"] == .restored(expected, elapsed: .known(.zero)))
        #expect(decision.notes == ["ticket ticketA: granted here in the CIB, term 3, lease end in 20 s: leading on, renewing now"])
    }

    @Test func whatTheCIBCannotVouchForStartsAsBefore() {
        // Each of these keeps the journal's mode (.fresh here: quiet, and the grant revoked).
        let cases: [(String, [String: SiteTakeover.CIBTicket])] = [
            ("not granted", Self.cib(granted: "false")),
            ("granted to another member's name", Self.cib(owner: "site-b")),
            ("lease ended", Self.cib(expires: Self.wall - 1)),
            ("lease ends within a timeout", Self.cib(expires: Self.wall + 1)),
            ("no lease end", Self.cib(expires: nil)),
            ("no term", Self.cib(term: nil)),
            ("term 0", Self.cib(term: "0")),
            ("a term that is no number", Self.cib(term: "x")),
            ("no ticket_state", [:]),
        ]
        for (what, cib) in cases {
            #expect(Self.decide(cib: cib).modes["ticketA"] == .fresh, "\(what)")
        }
        #expect(Self.decide(cib: Self.cib(expires: Self.wall + 1)).notes.first?.contains("ends within a timeout") == true)
        #expect(Self.decide(cib: Self.cib(term: nil)).notes.first?.contains("no term") == true)
        // A minority partition's CIB may miss the majority's revoke.
        let minority = SiteTakeover.modes(
            loaded: Self.noJournal, cib: Self.cib(), quorate: false, policies: [Self.policy()], membership: Self.siteA, selfName: "site-a", wallNow: Self.wall)
        #expect(minority.modes["ticketA"] == .fresh && minority.notes.first?.contains("without quorum") == true)
        // An arbitrator has no CIB to speak of.
        #expect(Self.decide(membership: Self.arbitrator).modes["ticketA"] == .fresh)
    }

    @Test func aDamagedJournalStaysQuietWhateverTheCIBSays() {
        let decision = Self.decide(LoadedState(modes: [:], allLost: true, note: ""))
        #expect(decision.modes["ticketA"] == .stateLost)
        #expect(decision.notes.first?.contains("damaged") == true)
    }

    @Test func theJournalWinsWhenItKnowsMore() {
        // A newer term in the journal: the CIB is older than what this member did last.
        let newer = PersistentTicketState(term: 4, votedFor: MemberID(1), intendedGranted: true)
        let loadedNewer = LoadedState(modes: ["ticketA": .restored(newer, elapsed: .known(.seconds(1)))], allLost: false, note: "")
        #expect(Self.decide(loadedNewer).modes["ticketA"] == .restored(newer, elapsed: .known(.seconds(1))))
        // A restart in place that resumes its lead by itself keeps the journal's (exact) lease.
        let leading = PersistentTicketState(term: 3, votedFor: MemberID(0), leading: .seconds(10), intendedGranted: true)
        let inPlace = LoadedState(modes: ["ticketA": .restored(leading, elapsed: .known(.seconds(2)))], allLost: false, note: "")
        #expect(Self.decide(inPlace).modes["ticketA"] == .restored(leading, elapsed: .known(.seconds(2))))
        // An old journal of this node (an older term, or the same term but its lead long over,
        // or written before a reboot): the CIB's grant wins.
        for old in [
            LoadedState(modes: ["ticketA": .restored(PersistentTicketState(term: 2, votedFor: MemberID(0)), elapsed: .known(.seconds(1)))], allLost: false, note: ""),
            LoadedState(modes: ["ticketA": .restored(leading, elapsed: .known(.seconds(60)))], allLost: false, note: ""),
            LoadedState(modes: ["ticketA": .restored(leading, elapsed: .unknown)], allLost: false, note: ""),
        ] {
            guard case .restored(let state, .known(.zero)) = Self.decide(old).modes["ticketA"] else {
                Issue.record("an old journal's state was kept over the CIB's grant: \(String(describing: Self.decide(old).modes["ticketA"]))")
                continue
            }
            #expect(state.leading == .seconds(19) && state.term == 3)
        }
    }

    @Test func aManualTicketGrantedHereStaysGranted() {
        let decision = Self.decide(cib: Self.cib(expires: nil), policy: Self.policy(.manual))
        #expect(decision.modes["ticketA"] == .restored(PersistentTicketState(term: 3, intendedGranted: true, manualHolders: [MemberID(0)]), elapsed: .known(.zero)))
    }

    /// The whole failover through three daemon cores: site-a leads; its batond dies (its journal
    /// with it); a new site-a core starts from the CIB that the old one wrote. It keeps the
    /// grant (no revoke), renews in the same term, the others accept, the lease goes on past
    /// the old one's end, and site-b never leads. Without the CIB, the same start revokes.
    @Test func aMemberStartedOnAnotherNodeCarriesOnWithoutADropOrADoubleGrant() throws {
        var cores = try DaemonCoreTests.cores(tickets: 1)
        let policy = cores[0].instance(named: "ticket0")!.policy
        let t0 = LocalInstant(nanoseconds: 1_000_000_000)
        func wall(_ at: LocalInstant) -> Int64 { Self.wall + at.nanoseconds / 1_000_000_000 }
        _ = DaemonCoreTests.settle(&cores, (0..<3).map { cores[$0].start([:], now: t0) }, now: t0)
        let grant = cores[0].command(
            ClientRequest(id: 1, command: .ticket(name: "ticket0", .grant(force: false, wait: false, waitForCommit: false))), from: DaemonCore.ClientToken(1), now: t0)
        let granted = DaemonCoreTests.settle(&cores, [grant], now: t0)
        // What the crmd back end wrote: booth's attributes of the last grant (expires floored).
        var cib: [String: String] = [:]
        for case (let ticket, .grant(let term, let remaining?)) in granted.flatMap(\.cib) where ticket == "ticket0" {
            cib = ["granted": "true", "owner": "site-a", "term": String(term), "expires": String(wall(t0) + remaining.nanoseconds / 1_000_000_000)]
        }
        try #require(!cib.isEmpty, "site-a granted in its CIB")
        let oldLeaseEnd = Int64(cib["expires"]!)!

        // site-a's node dies 3 s later; the site's cluster starts batond on another node.
        let t1 = t0 + .seconds(3)
        var successor = DaemonCore(membership: Self.siteA, policies: [policy])
        let decision = SiteTakeover.modes(
            loaded: Self.noJournal, cib: ["ticket0": cib], policies: [policy], membership: Self.siteA, selfName: "site-a", wallNow: wall(t1))
        let started = successor.start(decision.modes, now: t1)
        #expect(!started.cib.contains { if case .revoke = $0.action { true } else { false } }, "the successor revoked the site's grant: \(started.cib)")
        #expect(started.cib.contains { if case .grant = $0.action { true } else { false } })
        cores[0] = successor
        var batches = DaemonCoreTests.settle(&cores, [started], now: t1)

        // Run on past the old lease end; site-b never leads, site-a holds throughout.
        var now = t1
        var lastExpires = oldLeaseEnd
        while wall(now) < oldLeaseEnd + 40 {
            now = now + .milliseconds(250)
            batches = DaemonCoreTests.settle(&cores, (0..<3).map { cores[$0].timer(now: now) }, now: now)
            #expect(!batches.flatMap(\.cib).contains { if case .revoke = $0.action { true } else { false } }, "a revoke at \(now)")
            #expect(cores[1].instance(named: "ticket0")?.isLeader == false, "site-b leads at \(now)")
            #expect(cores[0].instance(named: "ticket0")?.believesHolding(now: now) == true, "site-a's lease lapsed at \(now)")
            if let lease = cores[0].summary(of: "ticket0", now: now).leaseRemaining { lastExpires = max(lastExpires, wall(now) + lease.nanoseconds / 1_000_000_000) }
        }
        #expect(lastExpires > oldLeaseEnd + 30, "renewals went on past the old lease end (\(lastExpires) vs \(oldLeaseEnd))")

        // The same start without the CIB: quiet, and the site's grant revoked.
        var amnesiac = DaemonCore(membership: Self.siteA, policies: [policy])
        let blind = amnesiac.start([:], now: t1)
        #expect(blind.cib.contains { if case .revoke(.notHeldAtStartup) = $0.action { true } else { false } })
    }
}
