import Testing
import TicketCore
import TicketElection

/// `booth list`'s lines as booth's ticket.c prints them, read into what batond resumes from.
@Suite struct BoothTakeoverParseTests {
    static func epoch(_ text: String) -> Int64? { text == "2026-12-06 23:10:00" ? 1_796_598_600 : nil }

    static let membership = try! Membership(
        members: [Member(id: MemberID(0), name: "site-a", role: .site), Member(id: MemberID(1), name: "site-b", role: .site),
                  Member(id: MemberID(2), name: "arbitrator", role: .arbitrator)],
        selfID: MemberID(1))
    static let addresses = [MemberID(0): "192.168.201.101", MemberID(1): "192.168.202.101", MemberID(2): "192.168.203.100"]

    static func policy(_ name: String, _ mode: TicketMode) throws -> TicketPolicy {
        try TicketPolicy(name: name, mode: mode, expire: .seconds(600), timeout: .seconds(5), retries: 3, renewalFrequency: .seconds(300),
                         acquireAfter: .zero, clockDriftMaxPartsPerMillion: 1000, hasBeforeAcquireHandler: false,
                         attributePrerequisites: [], weights: [0, 0, 0], retryBudgetChecked: false)
    }

    @Test func everyShapeOfBoothsListIsRead() throws {
        let text = """
            ticket: db, leader: 192.168.201.101, expires: 2026-12-06 23:10:00
            ticket: web, leader: NONE
            ticket: manual, leader: 192.168.202.101, expires: INF [manual mode]
            """
        let listed = try BoothTakeover.parse(text, fileName: "list", epochSeconds: Self.epoch)
        #expect(listed == [
            .init(ticket: "db", leader: "192.168.201.101", expires: 1_796_598_600, manual: false, commitPending: false, line: 1),
            .init(ticket: "web", leader: nil, expires: nil, manual: false, commitPending: false, line: 2),
            .init(ticket: "manual", leader: "192.168.202.101", expires: nil, manual: true, commitPending: false, line: 3),
        ])
        let states = try BoothTakeover.states(
            listed, fileName: "list", policies: [Self.policy("db", .automatic), Self.policy("web", .automatic), Self.policy("manual", .manual)],
            membership: Self.membership, addresses: Self.addresses, now: 1_796_598_600 - 300)
        // site-b (this member) promised site-a for what booth's lease has left; it leads nothing.
        #expect(states["db"]?.promise == LeaseView(leader: MemberID(0), term: 1, remaining: .seconds(300), confirmed: true))
        #expect(states["db"]?.leading == nil && states["db"]?.votedFor == MemberID(0) && states["db"]?.intendedGranted == true)
        #expect(states["web"] == nil, "a ticket nobody holds starts as new")
        #expect(states["manual"]?.manualHolders == [MemberID(1)])
        // The holder leads one timeout less than it promised itself.
        let holder = try Membership(members: Self.membership.members, selfID: MemberID(0))
        let atHolder = try BoothTakeover.states(listed.prefix(1).map { $0 }, fileName: "list", policies: [Self.policy("db", .automatic)],
                                                membership: holder, addresses: Self.addresses, now: 1_796_598_600 - 300)
        #expect(atHolder["db"]?.leading == .seconds(295))
    }

    @Test func whatBoothWouldNotSayIsRefusedWithItsLine() {
        func refusal(_ text: String) -> String? {
            do {
                _ = try BoothTakeover.parse(text, fileName: "list", epochSeconds: Self.epoch)
                return nil
            } catch { return error.description }
        }
        #expect(refusal("ticket: db, leader: x\n\nnonsense") == "list:3: not a line of `booth list`: nonsense")
        #expect(refusal("ticket: db, leader: x, expires: tomorrow")?.hasPrefix("list:1: cannot read the time 'tomorrow'") == true)
        #expect(refusal("ticket: db, leader: x\nticket: db, leader: y") == "list:2: ticket db listed twice")
        #expect(refusal("ticket: db, leader: x\n\nWARNING: The ticket db is granted to multiple sites: x, y")?.hasPrefix("list:3: booth says a ticket is granted to several sites") == true)
        #expect(refusal("ticket: db") == "list:1: expected 'ticket: NAME, leader: ADDRESS[, expires: TIME]'")
    }
}
