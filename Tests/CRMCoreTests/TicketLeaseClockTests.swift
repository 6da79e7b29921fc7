@testable import CRMCore
import CIB
import Testing

/// The site stops what a ticket guards at the lease deadline by the DC's clock (issue 15): the
/// DC's graphs take a granted ticket past its deadline as revoked, whether or not its revoke
/// (a CIB update through the group) has come back. Before, the stop waited for that delivery:
/// on a slow ring (the geo bench, impaired links) it started 4.7 s after `expires`, and the
/// other site started the resources while this one still ran them.
@Suite struct TicketLeaseClockTests {
    static let nodes: [String: NodeID] = ["node1": NodeID(1), "node2": NodeID(2), "node3": NodeID(3)]
    /// The lease: `stop-by` (ms) half a second before `expires` (s).
    static let expires: Int64 = 1_700_000_010
    static let stopBy: Int64 = 1_700_000_009_500

    /// d1 (guarded by ticketA, loss-policy stop) started on `runningOn` (nil: stopped
    /// everywhere, every node probed), the ticket granted with the lease above (or `ticket`).
    static func cib(runningOn: Int?, ticket: String? = nil) throws -> CIB {
        let states = (1...3).map { node in
            let (operation, rc) = node == runningOn ? ("start", 0) : ("monitor", 7)
            return """
                <node_state id="\(node)" uname="node\(node)" in_ccm="true" crmd="online" join="member" expected="member">\
                <lrm id="\(node)"><lrm_resources><lrm_resource id="d1" class="ocf" provider="pacemaker" type="Dummy">\
                <lrm_rsc_op id="d1_last_0" operation_key="d1_\(operation)_0" operation="\(operation)" transition-key="2:1:\(rc):9-900" \
                transition-magic="0:\(rc);2:1:\(rc):9-900" on_node="node\(node)" call-id="1" rc-code="\(rc)" op-status="0" interval="0" \
                last-rc-change="1700000000" last-run="1700000000" exec-time="0" queue-time="0"/></lrm_resource></lrm_resources></lrm>\
                </node_state>
                """
        }.joined()
        let tickets = ticket ?? "<ticket_state id=\"ticketA\" granted=\"true\" expires=\"\(expires)\" stop-by=\"\(stopBy)\" term=\"3\"/>"
        return try CIB(parsing: """
            <cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1"><configuration><crm_config>
            <cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/></nodes>
            <resources><primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/></resources>
            <constraints><rsc_ticket id="guard" rsc="d1" ticket="ticketA" loss-policy="stop"/></constraints></configuration>
            <status>\(states)<tickets>\(tickets)</tickets></status></cib>
            """)
    }

    static func requests(_ directives: [DCController.Directive]) -> [ExecuteRequest] {
        directives.compactMap { if case .send(let request) = $0 { request } else { nil } }
    }

    static func schedule(_ controller: inout DCController, _ cib: CIB, atMilliseconds wall: Int64) -> [ExecuteRequest] {
        requests(controller.schedule(cib, nodes: nodes, now: .milliseconds(wall - 1_700_000_000_000), wallClockSeconds: Int(wall / 1000),
                                     wallClockMilliseconds: wall))
    }

    static func result(of request: ExecuteRequest) -> ExecuteResult {
        ExecuteResult(node: request.node, transitionKey: request.transitionKey, action: request.action, targetRC: 0, rc: 0, opStatus: 0,
                      exitReason: "", callID: 2, execMilliseconds: 3, queueMilliseconds: 0, wallClockSeconds: 1_700_000_009)
    }

    /// The bug, reproduced: the revoke's CIB write has not come back (the CIB the DC schedules
    /// from still says granted), the deadline passes: the stop is scheduled at once anyway.
    @Test func theStopIsScheduledAtTheDeadlineWithTheRevokeStillOnItsWay() throws {
        let granted = try Self.cib(runningOn: 1)
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        // Before the deadline: d1 keeps running.
        #expect(Self.schedule(&controller, granted, atMilliseconds: Self.stopBy - 1).isEmpty)
        #expect(controller.run?.status == .complete && controller.leaseLapsed.isEmpty)
        // The lease timer at stop-by (before expires): a new graph is due at once.
        #expect(controller.leaseRanOut([], now: .seconds(9)).isEmpty)
        let noticed = controller.leaseRanOut(["ticketA"], now: .seconds(9))
        #expect(noticed.contains(.log("lease deadline of ticket(s) ticketA passed: a new graph takes them as revoked")))
        #expect(controller.due)
        // The same CIB (granted="true": the revoke not delivered), at the deadline: d1 stops.
        let stops = Self.schedule(&controller, granted, atMilliseconds: Self.stopBy)
        #expect(stops.map { "\($0.action.resource)_\($0.action.operation) on \($0.node)" } == ["d1_stop on 1"])
        #expect(controller.leaseLapsed == ["ticketA"])
        // The timer again, or the revoke coming back, changes nothing for the run under way.
        #expect(controller.leaseRanOut(["ticketA"], now: .seconds(10)).isEmpty)
        #expect(controller.running && !controller.scheduleWanted)
        // Without the clock (the old input: the second before), the same CIB keeps d1: the
        // check above can fail.
        var before = DCController(settings: .init(node: NodeID(1), process: 100))
        #expect(Self.schedule(&before, granted, atMilliseconds: Self.stopBy - 500).isEmpty)
    }

    /// `expires` alone (booth's, in seconds) is a deadline too; a renewal (a later lease)
    /// lifts it; a ticket without a lease, or not granted, is left as it is.
    @Test func expiresAloneCountsAndARenewalLiftsIt() throws {
        var cib = try Self.cib(runningOn: 1, ticket: "<ticket_state id=\"ticketA\" granted=\"true\" expires=\"\(Self.expires)\"/><ticket_state id=\"other\" granted=\"true\"/><ticket_state id=\"off\" granted=\"false\" expires=\"1\"/>")
        var copy = cib
        #expect(TicketRules.enforceLeases(&copy, nowMilliseconds: Self.expires * 1000 - 1).isEmpty)
        #expect(copy == cib)
        #expect(TicketRules.enforceLeases(&cib, nowMilliseconds: Self.expires * 1000) == ["ticketA"])
        #expect(cib.status.tickets?.states.map { "\($0.id)=\($0.granted ?? "-")" } == ["ticketA=false", "other=true", "off=false"])
        // A renewal delivered after the deadline: the next graph starts d1 again.
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        #expect(Self.schedule(&controller, try Self.cib(runningOn: nil), atMilliseconds: Self.stopBy + 100).isEmpty)
        #expect(controller.leaseLapsed == ["ticketA"])
        let renewed = try Self.cib(runningOn: nil, ticket: "<ticket_state id=\"ticketA\" granted=\"true\" expires=\"\(Self.expires + 10)\" stop-by=\"\(Self.stopBy + 10_000)\"/>")
        _ = controller.invalidate("tickets changed", now: .seconds(11))
        let starts = Self.schedule(&controller, renewed, atMilliseconds: Self.stopBy + 200)
        #expect(starts.map(\.action.operation) == ["start"])
        #expect(controller.leaseLapsed.isEmpty)
    }

    /// A start of a guarded resource in flight at the deadline: the run is aborted (nothing
    /// more starts), the start finishes, and the stop follows in the very next graph, as
    /// Pacemaker's controller does on a ticket revoke (abort, then a new transition).
    @Test func aStartInFlightAtTheDeadlineIsStoppedWhenItCompletes() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let starts = Self.schedule(&controller, try Self.cib(runningOn: nil), atMilliseconds: Self.stopBy - 300)
        let start = try #require(starts.first)
        #expect(starts.count == 1 && start.action.operation == "start")
        _ = controller.leaseRanOut(["ticketA"], now: .seconds(9))
        #expect(controller.scheduleWanted && !controller.due, "the start in flight finishes first")
        #expect(Self.requests(controller.result(Self.result(of: start), now: .seconds(10))).isEmpty, "nothing more starts after the abort")
        #expect(controller.due)
        let node = Int(start.node.rawValue)
        let stops = Self.schedule(&controller, try Self.cib(runningOn: node), atMilliseconds: Self.stopBy + 50)
        #expect(stops.map { "\($0.action.resource)_\($0.action.operation) on \($0.node)" } == ["d1_stop on \(node)"])
    }

    /// The node core's part: the DC's revoke held on a slow ring leaves the ticket granted in
    /// every member's CIB, yet the DC's scheduling input (its rendered CIB through
    /// `enforceLeases`) has it revoked; the lease timer is not re-armed for a deadline whose
    /// revoke is on its way (it fired every millisecond before), but is for the next ticket's.
    @Test func theDCsRevokeOnASlowRingDoesNotHoldTheStopNorSpinTheTimer() throws {
        var bed = Harness(nodes: 3)
        let (n1, n2, n3) = (Harness.member(1), Harness.member(2), Harness.member(3))
        bed.start([n1, n2, n3])
        bed.deliverAll()
        try bed.request(n2) { try $0.requestTickets(["t": ["granted": "true", "expires": "1000", "stop-by": "999000"],
                                                           "u": ["granted": "true", "expires": "3000"]]).directives }
        bed.deliverAll()
        #expect(bed.core(n1).leaseTimerMilliseconds(nowMilliseconds: 500_000) == 999_000)
        #expect(bed.core(n2).leaseTimerMilliseconds(nowMilliseconds: 500_000) == nil, "only the DC")
        #expect(bed.core(n1).lapsedTickets(nowMilliseconds: 998_999).isEmpty)
        #expect(bed.core(n1).lapsedTickets(nowMilliseconds: 999_000) == ["t"])
        // The timer fires at stop-by: the revoke is broadcast but not delivered (the ring is slow).
        bed.request(n1) { $0.expireLeases(nowMilliseconds: 999_001) }
        #expect(bed.queues[0].count == 1)
        #expect(bed.core(n1).tickets["t"]?["granted"] == "true")
        #expect(bed.core(n1).leaseTimerMilliseconds(nowMilliseconds: 999_002) == 3_000_000, "t's revoke is on its way: the next deadline")
        var cib = try CIB(xml: bed.core(n1).cibQuery())
        #expect(cib.status.tickets?.states.first { $0.id == "t" }?.isGranted == true)
        #expect(TicketRules.enforceLeases(&cib, nowMilliseconds: 999_002) == ["t"])
        #expect(cib.status.tickets?.states.first { $0.id == "t" }?.isGranted == false)
        #expect(cib.status.tickets?.states.first { $0.id == "u" }?.isGranted == true)
        // Once delivered: revoked everywhere; the timer follows u.
        bed.deliverAll()
        for member in [n1, n2, n3] { #expect(bed.core(member).tickets["t"]?["granted"] == "false") }
        #expect(bed.core(n1).leaseTimerMilliseconds(nowMilliseconds: 999_100) == 3_000_000)
        #expect(bed.core(n1).lapsedTickets(nowMilliseconds: 999_100).isEmpty)
        // A deadline passed with nothing in flight fires at once (a DC elected after it).
        #expect(bed.core(n1).leaseTimerMilliseconds(nowMilliseconds: 4_000_000) == 3_000_000)
        bed.stop(n1)
        bed.deliverAll()
        #expect(bed.agreedDC() == n2)
        #expect(bed.core(n2).leaseTimerMilliseconds(nowMilliseconds: 4_000_000) == 3_000_000)
        #expect(bed.core(n2).lapsedTickets(nowMilliseconds: 4_000_000) == ["u"])
    }
}
