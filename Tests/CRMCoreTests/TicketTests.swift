@testable import CRMCore
import CIB
import Testing

/// The site's tickets in the node core (Tickets.swift): through the DC, everywhere in its
/// order, in the rendered status, across DC changes, rejoins and heals, and the DC's lease.
@Suite struct TicketTests {
    let n1 = Harness.member(1), n2 = Harness.member(2), n3 = Harness.member(3)

    func settledBed() -> Harness {
        var bed = Harness(nodes: 3)
        bed.start([n1, n2, n3])
        bed.deliverAll()
        return bed
    }

    @Test func aChangeGoesThroughTheDCAndIsAppliedEverywhere() throws {
        var bed = settledBed()
        #expect(bed.agreedDC() == n1)
        var requestID: UInt64 = 0
        try bed.request(n3) { core in
            let (id, directives) = try core.requestTickets(["ticketA": ["granted": "true", "owner": "3", "expires": "2000", "term": "1"]])
            requestID = id
            return directives
        }
        #expect(bed.core(n3).pendingWrites == 1)
        bed.deliverAll()
        for member in [n1, n2, n3] {
            #expect(bed.core(member).tickets == ["ticketA": ["granted": "true", "owner": "3", "expires": "2000", "term": "1"]])
            #expect(bed.ticketsApplied[member]?.map(\.requestID) == [requestID])
        }
        #expect(bed.core(n3).pendingWrites == 0)
        // A removal of one attribute, and of a whole ticket's last one.
        try bed.request(n2) { try $0.requestTickets(["ticketA": ["owner": nil], "other": ["standby": "true"]]).directives }
        bed.deliverAll()
        try bed.request(n2) { try $0.requestTickets(["other": ["standby": nil]]).directives }
        bed.deliverAll()
        for member in [n1, n2, n3] {
            #expect(bed.core(member).tickets == ["ticketA": ["granted": "true", "expires": "2000", "term": "1"]])
        }
        // Only the DC's update counts.
        let forged = SiteTicketChange(view: bed.core(n2).view!.fingerprint, origin: n2, requestID: 9, tickets: ["ticketA": ["granted": "false"]])
        for member in [n1, n2, n3] { bed.deliver(MessageWire.encode(.ticketUpdate(forged)), from: n2, to: member) }
        #expect(bed.core(n1).tickets["ticketA"]?["granted"] == "true")
    }

    @Test func theStatusSectionHoldsThemAsPacemakersCIBDoes() throws {
        var bed = settledBed()
        try bed.request(n2) { try $0.requestTickets(["ticketB": ["granted": "false"], "ticketA": ["granted": "true", "last-granted": "1700000000", "owner": "1"]]).directives }
        bed.deliverAll()
        let status = try bed.core(n3).cibQuery(scope: "status")
        let tickets = try #require(status.children.last)
        #expect(tickets.name == "tickets")
        #expect(tickets.children.map { $0["id"] } == ["ticketA", "ticketB"])
        #expect(tickets.children[0].attributes.map(\.name) == ["id", "granted", "last-granted", "owner"])
        // What the scheduler and crm_mon's view read.
        let cib = try CIB(xml: bed.core(n3).cibQuery())
        let states = try #require(cib.status.tickets?.states)
        #expect(states.map(\.id) == ["ticketA", "ticketB"])
        #expect(states[0].isGranted && !states[1].isGranted)
        #expect(states[0].lastGranted == 1_700_000_000)
    }

    @Test func theyOutliveADCChangeAndARestartedNodeGetsThemAtJoin() throws {
        var bed = settledBed()
        try bed.request(n2) { try $0.requestTickets(["ticketA": ["granted": "true", "term": "3"]]).directives }
        bed.deliverAll()
        bed.stop(n1)
        bed.deliverAll()
        #expect(bed.agreedDC() == n2)
        #expect(bed.core(n3).tickets["ticketA"]?["granted"] == "true")
        let restarted = Harness.member(1, pid: 500)
        bed.start([restarted])
        bed.deliverAll()
        #expect(bed.core(restarted).tickets == ["ticketA": ["granted": "true", "term": "3"]])
        // A request pending at a DC change is sent again and applied once.
        try bed.request(n3) { try $0.requestTickets(["ticketA": ["standby": "true"]]).directives }
        bed.stop(n2)
        bed.deliverAll()
        for member in [restarted, n3] { #expect(bed.core(member).tickets["ticketA"]?["standby"] == "true") }
        #expect(bed.core(n3).pendingWrites == 0)
    }

    @Test func aHealKeepsTheNewerByTermThenExpiresThenTheDCs() throws {
        var bed = settledBed()
        try bed.request(n1) { try $0.requestTickets(["t": ["granted": "true", "term": "1", "expires": "100"], "u": ["granted": "true", "term": "1", "expires": "100"]]).directives }
        bed.deliverAll()
        bed.partition([[n1], [n2, n3]])
        bed.deliverAll()
        // The minority renews t (a later expires); the majority revokes u and grants t again at a new term.
        try bed.request(n1) { try $0.requestTickets(["t": ["expires": "200"], "u": ["expires": "300"]]).directives }
        try bed.request(n2) { try $0.requestTickets(["t": ["term": "2", "expires": "150"], "u": ["granted": "false"]]).directives }
        bed.deliverAll()
        bed.heal()
        bed.deliverAll()
        for member in [n1, n2, n3] {
            // t: term 2 beats term 1; u: same term, the later expires wins.
            #expect(bed.core(member).tickets["t"] == ["granted": "true", "term": "2", "expires": "150"])
            #expect(bed.core(member).tickets["u"] == ["granted": "true", "term": "1", "expires": "300"])
        }
        #expect(TicketRules.merge([["x": ["granted": "false"]], ["x": ["granted": "true"]]]) == ["x": ["granted": "false"]])
    }

    @Test func theDCRevokesALeaseThatRanOut() throws {
        var bed = settledBed()
        try bed.request(n2) { try $0.requestTickets(["t": ["granted": "true", "expires": "1000"], "s": ["granted": "true", "expires": "5000"],
                                                           "r": ["granted": "false", "expires": "10"]]).directives }
        bed.deliverAll()
        #expect(bed.core(n1).leaseDeadlineMilliseconds == 1_000_000)
        #expect(bed.core(n2).leaseDeadlineMilliseconds == nil)  // only the DC arms the timer
        // Before expires: nothing.
        bed.request(n1) { $0.expireLeases(nowMilliseconds: 999_999) }
        #expect(bed.queues[0].isEmpty)
        // While an update is on its way back (a renewal): nothing yet.
        try bed.request(n2) { try $0.requestTickets(["t": ["expires": "2000"]]).directives }
        bed.deliver(bed.queues[0].removeFirst().bytes, from: n2, to: n1)  // the request reaches the DC, which broadcasts
        bed.request(n1) { $0.expireLeases(nowMilliseconds: 1_500_000) }
        bed.deliverAll()
        for member in [n1, n2, n3] { #expect(bed.core(member).tickets["t"]?["granted"] == "true") }
        #expect(bed.core(n1).leaseDeadlineMilliseconds == 2_000_000)
        // At expires, without renewal: revoked everywhere by the DC's own update.
        bed.request(n1) { $0.expireLeases(nowMilliseconds: 2_000_000) }
        bed.deliverAll()
        for member in [n1, n2, n3] {
            #expect(bed.core(member).tickets["t"] == ["granted": "false", "expires": "2000"])
            #expect(bed.core(member).tickets["s"]?["granted"] == "true")
            #expect(bed.ticketsApplied[member]?.last?.requestID == 0)
        }
        #expect(bed.core(n1).leaseDeadlineMilliseconds == 5_000_000)
        // A non-DC never revokes.
        bed.request(n2) { $0.expireLeases(nowMilliseconds: 9_999_000) }
        #expect(bed.queues[0].isEmpty)
    }

    /// batond's crmd back end writes `stop-by` (the lease end less stop-before, in ms): the DC
    /// revokes at the earlier of it and `expires`, so the site stops before the lease ends.
    @Test func theDCRevokesAtStopByWhenThatComesFirst() throws {
        #expect(TicketRules.deadlineMilliseconds(["expires": "100", "stop-by": "98500"]) == 98_500)
        #expect(TicketRules.deadlineMilliseconds(["expires": "100", "stop-by": "120000"]) == 100_000)
        #expect(TicketRules.deadlineMilliseconds(["stop-by": "7"]) == 7)
        #expect(TicketRules.deadlineMilliseconds(["expires": "INF"]) == nil)
        #expect(TicketRules.deadlineMilliseconds(["expires": "INF", "stop-by": "soon"]) == nil)
        #expect(TicketRules.deadlineMilliseconds(["expires": String(Int64.max)]) == nil)
        var bed = settledBed()
        try bed.request(n2) { try $0.requestTickets(["t": ["granted": "true", "expires": "1000", "stop-by": "998000"]]).directives }
        bed.deliverAll()
        #expect(bed.core(n1).leaseDeadlineMilliseconds == 998_000)
        bed.request(n1) { $0.expireLeases(nowMilliseconds: 997_999) }
        #expect(bed.queues[0].isEmpty)
        bed.request(n1) { $0.expireLeases(nowMilliseconds: 998_000) }
        bed.deliverAll()
        for member in [n1, n2, n3] { #expect(bed.core(member).tickets["t"]?["granted"] == "false") }
    }

    @Test func badRequestsAreRefusedWithTheReason() throws {
        var core = NodeCore(settings: .init(local: n1, nodelist: []))
        #expect(throws: NodeCore.RequestError.invalid("'a b' is not a ticket id")) { try core.requestTickets(["a b": ["granted": "true"]]) }
        #expect(throws: NodeCore.RequestError.self) { try core.requestTickets(["t": ["id": "x"]]) }
        #expect(throws: NodeCore.RequestError.self) { try core.requestTickets([:]) }
        #expect(throws: NodeCore.RequestError.invalid("line 2: expected 'TICKET NAME [VALUE]', got 'lonely'")) {
            try TicketRules.parseChanges("t granted true\nlonely\n")
        }
        #expect(throws: NodeCore.RequestError.self) { try TicketRules.parseChanges("t gr<anted true") }
        #expect(throws: NodeCore.RequestError.self) { try TicketRules.parseChanges("\n") }
        let removal: String? = nil
        let expected: [String: [String: String?]] = ["t": ["granted": "true", "owner": removal], "u": ["expires": "12 34"]]
        #expect(try TicketRules.parseChanges("t granted true\nt owner\nu expires 12 34\n") == expected)
    }
}
