@testable import CRMCore
import CIB
import Foundation
import Testing

/// The DC's loop (issue 14, point 2) and the resource history every member records (point 1
/// and 3), pure: the scheduler's real graph on a 3-node CIB, results fed by hand.
@Suite struct DCControllerTests {
    static let nodes: [String: NodeID] = ["node1": NodeID(1), "node2": NodeID(2), "node3": NodeID(3)]

    /// Three nodes online, fencing off, `resources` Dummy primitives with a 10 s monitor.
    static func cib(resources: Int = 3, status: String = "", options: String = "") throws -> CIB {
        let primitives = (1...resources).map { index in
            """
            <primitive id="d\(index)" class="ocf" provider="pacemaker" type="Dummy"><operations>
            <op id="d\(index)-monitor" name="monitor" interval="10s" timeout="20s"/></operations></primitive>
            """
        }.joined()
        let states = (1...3).map { node in
            """
            <node_state id="\(node)" uname="node\(node)" in_ccm="true" crmd="online" join="member" expected="member">\(node == 1 ? status : "")</node_state>
            """
        }.joined()
        return try CIB(parsing: """
            <cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1"><configuration><crm_config>
            <cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/>\(options)</cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/></nodes>
            <resources>\(primitives)</resources><constraints/></configuration><status>\(states)</status></cib>
            """)
    }

    static func requests(_ directives: [DCController.Directive]) -> [ExecuteRequest] {
        directives.compactMap { if case .send(let request) = $0 { request } else { nil } }
    }

    /// The result the request asked for (rc = op_target_rc), or `rc`.
    static func result(of request: ExecuteRequest, rc: Int? = nil) -> ExecuteResult {
        let target = Int(request.meta["op_target_rc"] ?? "") ?? 0
        return ExecuteResult(node: request.node, transitionKey: request.transitionKey, action: request.action, targetRC: target,
                             rc: rc ?? target, opStatus: 0, exitReason: "", callID: 1, execMilliseconds: 3, queueMilliseconds: 0,
                             wallClockSeconds: 1_700_000_000)
    }

    @Test func aColdStartProbesEveryNodeThenStartsAndMonitors() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        controller.view = 9
        let probes = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        #expect(probes.count == 9, "a probe of each resource on each node: \(probes.map(\.transitionKey))")
        #expect(probes.allSatisfy { $0.operation == "monitor" && $0.intervalMilliseconds == 0 && $0.meta["op_target_rc"] == "7" && $0.view == 9 })
        #expect(Set(probes.map(\.node)) == Set(Self.nodes.values))
        #expect(probes.allSatisfy { $0.transitionKey.hasSuffix(":1:7:1-100") })
        var starts: [ExecuteRequest] = []
        for probe in probes { starts += Self.requests(controller.result(Self.result(of: probe), now: .seconds(1))) }
        #expect(starts.map(\.operation) == ["start", "start", "start"], "\(starts.map(\.transitionKey))")
        var monitors: [ExecuteRequest] = []
        for start in starts { monitors += Self.requests(controller.result(Self.result(of: start), now: .seconds(2))) }
        #expect(monitors.count == 3 && monitors.allSatisfy { $0.operation == "monitor" && $0.intervalMilliseconds == 10_000 })
        for monitor in monitors { _ = controller.result(Self.result(of: monitor), now: .seconds(3)) }
        #expect(controller.run?.status == .complete)
        #expect(!controller.due, "a complete run with no failure wants no new graph")
    }

    @Test func anAbortWaitsForTheActionsInFlightThenANewGraphIsDue() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let probes = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        _ = controller.invalidate("the configuration changed", now: .seconds(1))
        #expect(controller.scheduleWanted && !controller.due, "no new graph while probes are in flight")
        var sent: [ExecuteRequest] = []
        for probe in probes { sent += Self.requests(controller.result(Self.result(of: probe), now: .seconds(2))) }
        #expect(sent.isEmpty, "nothing starts after an abort")
        #expect(controller.run?.status == .stopped)
        #expect(controller.due)
        let next = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .seconds(3), wallClockSeconds: 1_700_000_003))
        #expect(controller.transitionID == 2)
        #expect(next.allSatisfy { $0.transitionKey.contains(":2:") })
    }

    /// A result of no action in flight confirms nothing, and (but for a cancellation) makes a
    /// new graph wanted: it changed the history the graph was made from. Pacemaker's
    /// controller aborts on such an "Old event" or "Foreign event" (process_graph_event); a new
    /// DC that ignored another DC's late start result never stopped that resource at a split.
    @Test func aStaleResultConfirmsNothingAndReschedules() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let first = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        _ = controller.invalidate("a node joined", now: .seconds(1))
        for probe in first { _ = controller.result(Self.result(of: probe), now: .seconds(1)) }
        let second = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .seconds(2), wallClockSeconds: 1_700_000_002))
        #expect(second.count == 9)
        #expect(!controller.scheduleWanted)
        // A result of transition 1 for the same action id and node: not this run's.
        let stale = Self.result(of: first[0])
        let aborted = controller.result(stale, now: .seconds(3))
        #expect(aborted.contains { if case .log(let line) = $0 { line.contains("aborted") && line.contains("of no action in flight") } else { false } })
        #expect(controller.staleResults == 1)
        #expect(controller.run?.inFlight.count == 9, "the stale result confirmed nothing")
        #expect(controller.scheduleWanted)
        // Another DC's key (same numbers, other identity): confirms nothing either.
        var foreign = Self.result(of: second[0])
        foreign.transitionKey = second[0].transitionKey.replacingOccurrences(of: "1-100", with: "2-200")
        _ = controller.result(foreign, now: .seconds(3))
        #expect(controller.run?.inFlight.count == 9 && controller.staleResults == 2)
    }

    /// A cancellation's confirmation changes no history: no new graph for it.
    @Test func aStaleCancellationChangesNothing() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let first = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        for probe in first { _ = controller.result(Self.result(of: probe), now: .seconds(1)) }
        var cancelled = Self.result(of: first[0])
        cancelled.transitionKey = first[0].transitionKey.replacingOccurrences(of: "1-100", with: "2-200")
        cancelled.opStatus = 1
        let wanted = controller.scheduleWanted
        #expect(controller.result(cancelled, now: .seconds(2)).isEmpty)
        #expect(controller.scheduleWanted == wanted)
    }

    @Test func actionsOnANodeThatLeftFailAndItsLateResultIsIgnored() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let probes = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        let onNode2 = probes.filter { $0.node == NodeID(2) }
        #expect(onNode2.count == 3)
        _ = controller.nodesLeft(["node2"], now: .seconds(1))
        #expect(controller.run?.inFlight.count == 6)
        for probe in onNode2 {
            _ = controller.result(Self.result(of: probe), now: .seconds(2))
        }
        #expect(controller.staleResults == 3 && controller.run?.inFlight.count == 6)
        for probe in probes where probe.node != NodeID(2) { _ = controller.result(Self.result(of: probe), now: .seconds(2)) }
        #expect(controller.run?.status == .stopped && controller.due)
    }

    /// A request every member dropped (NodeCore's `requestDropped`) fails its action at once:
    /// the run is aborted, what is still in flight is waited for, then a new graph is due, long
    /// before the action's deadline. A key of no action in flight changes nothing.
    @Test func aRequestNotDeliveredFailsItsActionAndANewGraphFollowsTheRestOfTheRun() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let probes = Self.requests(controller.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        for probe in probes { _ = controller.result(Self.result(of: probe), now: .seconds(1)) }
        let inFlight = try #require(controller.run?.inFlight)
        #expect(inFlight.count == 3 && inFlight.allSatisfy { $0.operation == .start }, "\(inFlight.map(\.operationKey))")
        let key = { (id: Int) in "\(id):1:0:1-100" }
        #expect(controller.notDelivered(key: "999:1:0:1-100", reason: "test", now: .seconds(2)).isEmpty, "no such action")
        #expect(controller.notDelivered(key: "\(inFlight[0].id):1:0:2-200", reason: "test", now: .seconds(2)).isEmpty, "another DC's")
        let dropped = controller.notDelivered(key: key(inFlight[0].id), reason: "sent in view 3, delivered in view 4", now: .seconds(2))
        #expect(dropped.contains { if case .log(let line) = $0 { line.contains("not delivered") && line.contains("aborted") } else { false } }, "\(dropped)")
        #expect(Self.requests(dropped).isEmpty, "nothing new starts after the abort")
        #expect(controller.run?.inFlight.count == 2 && controller.scheduleWanted && !controller.due, "the other starts are waited for")
        for action in inFlight.dropFirst() {
            let request = ExecuteRequest(view: 0, node: Self.nodes[action.node!.name]!, transitionKey: key(action.id),
                                         action: ResourceOperation(resource: action.primitive!.id, resourceClass: "ocf", provider: "pacemaker",
                                                                   type: "Dummy", operation: "start", intervalMilliseconds: 0,
                                                                   timeoutMilliseconds: 20_000, parameters: [:]), meta: [:])
            _ = controller.result(Self.result(of: request), now: .seconds(3))
        }
        #expect(controller.run?.status == .stopped && controller.due, "a new graph at 3 s, not at the start's deadline (81 s)")
    }

    /// A DC that stops being DC (a join round) and becomes DC again in the same process goes
    /// on numbering its transitions: a late result of its earlier stint's transition 1 never
    /// confirms the new stint's action of the same number (the identity is the same).
    @Test func transitionNumbersGoOnAcrossStintsAsDC() throws {
        var first = DCController(settings: .init(node: NodeID(1), process: 100))
        let earlier = Self.requests(first.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        var again = DCController(settings: .init(node: NodeID(1), process: 100), transitionsBefore: first.transitionID)
        let probes = Self.requests(again.schedule(try Self.cib(), nodes: Self.nodes, now: .seconds(1), wallClockSeconds: 1_700_000_001))
        #expect(again.transitionID == 2 && probes.allSatisfy { $0.transitionKey.hasSuffix(":2:7:1-100") })
        _ = again.result(Self.result(of: earlier[0]), now: .seconds(2))
        #expect(again.run?.inFlight.count == 9 && again.staleResults == 1, "the earlier stint's result confirmed nothing")
    }

    /// record-pending: a pending result (the node took the action) neither confirms the action
    /// nor aborts the run; and a graph made from a CIB where d1's start is pending on node1 (an
    /// old DC's action in flight) starts d1 nowhere else.
    @Test func aPendingResultWaitsAndAPendingStartIsNotPlannedAgainElsewhere() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let probes = Self.requests(controller.schedule(try Self.cib(resources: 1), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        var starts: [ExecuteRequest] = []
        for probe in probes { starts += Self.requests(controller.result(Self.result(of: probe), now: .seconds(1))) }
        let start = try #require(starts.first { $0.operation == "start" })
        let pending = try #require(NodeCore.pendingResult(of: start, node: start.node, wallClockSeconds: 1_700_000_001))
        #expect(pending.opStatus == -1 && pending.rc == 193)
        #expect(controller.result(pending, now: .seconds(2)).isEmpty)
        #expect(controller.run?.inFlight.map(\.id) == [try #require(controller.actionID(of: start.transitionKey))] && controller.staleResults == 0)
        #expect(!Self.requests(controller.result(Self.result(of: start), now: .seconds(3))).isEmpty, "the result confirms it: its monitor")
        #expect(NodeCore.pendingResult(of: probes[0], node: probes[0].node, wallClockSeconds: 0) == nil, "probes are not recorded pending")

        let history = """
            <lrm id="1"><lrm_resources><lrm_resource id="d1" class="ocf" provider="pacemaker" type="Dummy">\
            <lrm_rsc_op id="d1_last_0" operation_key="d1_start_0" operation="start" transition-key="2:1:0:9-900" \
            transition-magic="-1:193;2:1:0:9-900" on_node="node1" call-id="0" rc-code="193" op-status="-1" interval="0" \
            last-rc-change="1700000000" last-run="1700000000" exec-time="0" queue-time="0"/></lrm_resource></lrm_resources></lrm>
            """
        var next = DCController(settings: .init(node: NodeID(2), process: 200))
        _ = next.schedule(try Self.cib(resources: 1, status: history), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_001)
        let planned = try #require(next.run?.graph.synapses.map(\.action))
        #expect(!planned.contains { $0.operation == .start || $0.operation == .stop }, "\(planned.map(\.operationKey))")
        // Without the pending entry the same CIB starts d1 (the check above can fail).
        var fresh = DCController(settings: .init(node: NodeID(2), process: 200))
        _ = fresh.schedule(try Self.cib(resources: 1), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_001)
        #expect(fresh.run?.graph.synapses.contains { $0.action.operation == .start } == true)
    }

    /// A clean stop of the DC's node: its do_shutdown waits until the run has finished (as
    /// Pacemaker's controller makes a local shutdown the graph's completion action). Before,
    /// it was sent with the start of d1 on another node still in flight; the DC left, the next
    /// DC had no result for that start and started d1 again on the same node (live: a double
    /// start at every restart of the DC's node in the lab).
    @Test func theDCsOwnShutdownWaitsForTheActionsInFlight() throws {
        let history = """
            <transient_attributes id="1"><instance_attributes id="status-1">\
            <nvpair id="status-1-shutdown" name="shutdown" value="1700000000"/></instance_attributes></transient_attributes>\
            <lrm id="1"><lrm_resources><lrm_resource id="d1" class="ocf" provider="pacemaker" type="Dummy">\
            <lrm_rsc_op id="d1_last_0" operation_key="d1_start_0" operation="start" transition-key="2:1:0:9-900" \
            transition-magic="0:0;2:1:0:9-900" on_node="node1" call-id="1" rc-code="0" op-status="0" interval="0" \
            last-rc-change="1700000000" last-run="1700000000" exec-time="0" queue-time="0"/></lrm_resource></lrm_resources></lrm>
            """
        func run(node: UInt32, process: Int) throws -> (controller: DCController, start: ExecuteRequest, shutdownSent: Bool) {
            var controller = DCController(settings: .init(node: NodeID(node), process: process))
            var sent = Self.requests(controller.schedule(try Self.cib(resources: 1, status: history), nodes: Self.nodes, now: .zero,
                                                         wallClockSeconds: 1_700_000_001))
            // Probes of d1 on node2 and node3 (and the stop on node1) first: feed every result until the start goes out.
            var start: ExecuteRequest?
            var rounds = 0
            while start == nil, rounds < 10, !sent.isEmpty {
                rounds += 1
                var next: [ExecuteRequest] = []
                for request in sent where request.operation != "do_shutdown" {
                    let more = Self.requests(controller.result(Self.result(of: request), now: .seconds(rounds)))
                    next += more
                }
                start = (sent + next).first { $0.operation == "start" }
                sent = next
            }
            let found = try #require(start, "the graph starts d1 elsewhere")
            return (controller, found, sent.contains { $0.operation == "do_shutdown" })
        }
        // node1 is the DC: its do_shutdown is held while the start on another node runs.
        var (dc, start, early) = try run(node: 1, process: 100)
        #expect(start.node != NodeID(1))
        #expect(!early && dc.deferredShutdown != nil, "the DC's own do_shutdown waits for the start in flight")
        #expect(!dc.leaving)
        var after: [ExecuteRequest] = []
        var pending = [start]
        while let request = pending.popLast() {
            let more = Self.requests(dc.result(Self.result(of: request), now: .seconds(20)))
            after += more
            pending += more.filter { $0.operation != "do_shutdown" }
        }
        let shutdown = try #require(after.first { $0.operation == "do_shutdown" }, "sent once the run has finished: \(after.map(\.operation))")
        #expect(shutdown.node == NodeID(1) && dc.run?.status != .active && dc.leaving)
        _ = dc.invalidate("a late change", now: .seconds(21))
        #expect(!dc.due, "no new graph after the DC's own do_shutdown")
        // Dropped by every member (sent as another member left: the lab's Reattach, all
        // stopped at once): the DC stays and makes a new graph, which shuts it down again.
        _ = dc.notDelivered(key: shutdown.transitionKey, reason: "view changed", now: .seconds(22))
        #expect(!dc.leaving && dc.due, "a dropped do_shutdown of the DC: a new graph")
        _ = dc.schedule(try Self.cib(resources: 1, status: history), nodes: Self.nodes, now: .seconds(23), wallClockSeconds: 1_700_000_023)
        #expect(dc.transitionID == 2 && dc.run?.graph.synapses.contains { $0.action.operation == .doShutdown && $0.action.node?.name == "node1" } == true,
                "the new graph shuts the DC down again")

        // Another DC (node2) sends node1's do_shutdown as soon as it is ready (the check above can fail).
        let (other, _, sentAtOnce) = try run(node: 2, process: 200)
        #expect(sentAtOnce && other.deferredShutdown == nil)
    }

    /// The cluster options batch-limit (through the scheduler's graph) and node-action-limit
    /// bound the actions in flight: cluster-wide, and per node.
    @Test func batchLimitAndNodeActionLimitFromTheClusterOptionsBoundTheActionsInFlight() throws {
        var roomy = DCController(settings: .init(node: NodeID(1), process: 100))
        #expect(Self.requests(roomy.schedule(try Self.cib(), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000)).count == 9)
        var batch = DCController(settings: .init(node: NodeID(1), process: 100))
        let two = Self.requests(batch.schedule(try Self.cib(options: #"<nvpair id="o-b" name="batch-limit" value="2"/>"#),
                                               nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        #expect(two.count == 2 && batch.run?.inFlight.count == 2, "batch-limit 2: \(two.map(\.transitionKey))")
        let next = Self.requests(batch.result(Self.result(of: two[0]), now: .seconds(1)))
        #expect(next.count == 1 && batch.run?.inFlight.count == 2, "one done, one more goes out")
        var perNode = DCController(settings: .init(node: NodeID(1), process: 100))
        let one = Self.requests(perNode.schedule(try Self.cib(options: #"<nvpair id="o-n" name="node-action-limit" value="1"/>"#),
                                                 nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000))
        #expect(one.count == 3 && Set(one.map(\.node)).count == 3, "node-action-limit 1: one probe per node, \(one.map(\.transitionKey))")
        var bad = DCController(settings: .init(node: NodeID(1), process: 100))
        #expect(Self.requests(bad.schedule(try Self.cib(options: #"<nvpair id="o-n" name="node-action-limit" value="x"/>"#),
                                           nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000)).count == 9,
                "an unreadable node-action-limit keeps the DC's own")
    }

    @Test func anActionPastItsDeadlineIsLostAndTheRunAborted() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        _ = controller.schedule(try Self.cib(resources: 1), nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000)
        let deadline = try #require(controller.nextDeadline)
        #expect(controller.tick(now: deadline - .milliseconds(1)).isEmpty)
        let lost = controller.tick(now: deadline)
        #expect(lost.contains { if case .log(let line) = $0 { line.contains("lost") } else { false } })
        #expect(controller.due)
    }
}

/// Results and histories as every member records them (NodeCore, over the pure group).
@Suite struct ResourceHistoryTests {
    static func settledBed() -> Harness {
        var bed = Harness(nodes: 3)
        bed.runsResources = true
        bed.start([Harness.member(1), Harness.member(2), Harness.member(3)])
        bed.deliverAll()
        return bed
    }

    static func result(node: Int, operation: String, interval: UInt64 = 0, rc: Int, target: Int = 0, key: String = "3:1:0:1-100") -> ExecuteResult {
        ExecuteResult(node: NodeID(UInt32(node)), transitionKey: key,
                      action: Self.dummy(operation, interval: interval, parameters: ["fake": "x"]), targetRC: target, rc: rc, opStatus: 0, exitReason: "", callID: 4,
                      execMilliseconds: 12, queueMilliseconds: 1, wallClockSeconds: 1_700_000_123)
    }

    static func dummy(_ operation: String, interval: UInt64 = 0, parameters: [String: String] = [:]) -> ResourceOperation {
        ResourceOperation(resource: "d1", resourceClass: "ocf", provider: "pacemaker", type: "Dummy", operation: operation,
                          intervalMilliseconds: interval, timeoutMilliseconds: 20_000, parameters: parameters)
    }

    static func status(_ bed: Harness, _ member: Member) throws -> String {
        XMLCodec.serialize(try bed.core(member).cibQuery(scope: "status"))
    }

    @Test func aResultIsRecordedAlikeOnEveryMemberAndAFailureCounts() throws {
        var bed = Self.settledBed()
        let members = (1...3).map { Harness.member($0) }
        #expect(members.allSatisfy { bed.core($0).historyComplete }, "every member's (empty) history came in the round")
        bed.inject(MessageWire.encode(.executeResult(Self.result(node: 2, operation: "start", rc: 0))), from: members[1])
        bed.inject(MessageWire.encode(.executeResult(Self.result(node: 2, operation: "monitor", interval: 10_000, rc: 7))), from: members[1])
        bed.deliverAll()
        let texts = try members.map { try Self.status(bed, $0) }
        #expect(Set(texts).count == 1, "the same status everywhere")
        #expect(texts[0].contains("<lrm_rsc_op id=\"d1_last_0\" operation=\"start\""), "\(texts[0])")
        #expect(texts[0].contains("operation_key=\"d1_start_0\"") && texts[0].contains("on_node=\"node2\""))
        // The failed recurring monitor as pacemaker-controld records it: d1_last_failure_0 alone.
        #expect(texts[0].contains("<lrm_rsc_op id=\"d1_last_failure_0\" operation=\"monitor\" interval=\"10000\"") && texts[0].contains("rc-code=\"7\"")
                && texts[0].contains("operation_key=\"d1_monitor_10000\"") && !texts[0].contains("id=\"d1_monitor_10000\""), "\(texts[0])")
        for member in members {
            #expect(bed.core(member).attributes[NodeID(2)]?["fail-count-d1#monitor_10000"] == "1")
            #expect(bed.core(member).attributes[NodeID(2)]?["last-failure-d1#monitor_10000"] == "1700000123")
            #expect(bed.results[member]?.count == 2)
        }
        // A result claiming another node than its sender's is dropped.
        bed.inject(MessageWire.encode(.executeResult(Self.result(node: 3, operation: "start", rc: 0))), from: members[1])
        bed.deliverAll()
        #expect(try Self.status(bed, members[0]) == texts[0])
    }

    @Test func onlyTheNamedNodeExecutesAndOnlyAtTheDCsRequest() throws {
        var bed = Self.settledBed()
        let dc = try #require(bed.agreedDC())
        let other = (1...3).map { Harness.member($0) }.first { $0 != dc }!
        let view = try #require(bed.core(dc).view?.fingerprint)
        let request = ExecuteRequest(view: view, node: other.nodeID, transitionKey: "1:1:7:x", action: Self.dummy("monitor"),
                                     meta: ["op_target_rc": "7"])
        bed.inject(MessageWire.encode(.executeRequest(request)), from: other)
        bed.deliverAll()
        #expect(bed.executes.isEmpty, "a request from a non-DC is ignored")
        bed.inject(MessageWire.encode(.executeRequest(request)), from: dc)
        bed.deliverAll()
        #expect(bed.executes[other] == [request])
        #expect(bed.executes.count == 1)
    }

    /// The lab's SplitBrain fault under load: the DC broadcast a start while a view change was
    /// already ordered (its loop had not taken it yet), so the request came after the change,
    /// stamped with the old view. Every member drops it alike; the DC, which alone sent it,
    /// learns so (`requestDropped`), or its graph waits for a result nobody will send until the
    /// action's deadline (80 s for a 20 s start). A fence request the same.
    @Test func aRequestDeliveredInTheNextViewIsDroppedEverywhereAndItsSenderKnows() throws {
        var bed = Self.settledBed()
        let dc = try #require(bed.agreedDC())
        let others = (1...3).map { Harness.member($0) }.filter { $0 != dc }
        let (target, leaving) = (others[0], others[1])
        let old = try #require(bed.core(dc).view?.fingerprint)
        let start = ExecuteRequest(view: old, node: target.nodeID, transitionKey: "7:2:0:1-100", action: Self.dummy("start"), meta: [:])
        let fence = FenceRequest(view: old, executor: target.nodeID, target: leaving.description, action: "reboot", key: "8:2:0:1-100",
                                 timeoutMilliseconds: 60_000)
        bed.stop(leaving)
        #expect(bed.core(dc).settled && bed.core(dc).view?.fingerprint != old, "members only left: settled in a new view")
        bed.inject(MessageWire.encode(.executeRequest(start)), from: dc)
        bed.inject(MessageWire.encode(.fenceRequest(fence)), from: dc)
        bed.deliverAll()
        #expect(bed.executes.isEmpty && bed.fences.isEmpty, "nobody runs a request of another view")
        #expect(bed.dropped[dc] == ["7:2:0:1-100", "8:2:0:1-100"], "the DC knows both were dropped: \(bed.dropped)")
        #expect(bed.dropped[target] == nil, "only the sender is told")
        // Stamped with the view it is delivered in: run, and nothing dropped.
        var current = start
        current.view = try #require(bed.core(dc).view?.fingerprint)
        bed.inject(MessageWire.encode(.executeRequest(current)), from: dc)
        bed.deliverAll()
        #expect(bed.executes[target] == [current] && bed.dropped[dc]?.count == 2)
    }

    /// record-pending: a pending result is every member's d1_last_0 (op-status -1, rc 193), no
    /// failure and no fail count; the result replaces it.
    @Test func aPendingResultIsRecordedAsInFlightAndItsResultReplacesIt() throws {
        var bed = Self.settledBed()
        let members = (1...3).map { Harness.member($0) }
        var pending = Self.result(node: 2, operation: "start", rc: 193)
        pending.opStatus = -1
        bed.inject(MessageWire.encode(.executeResult(pending)), from: members[1])
        bed.deliverAll()
        let texts = try members.map { try Self.status(bed, $0) }
        #expect(Set(texts).count == 1)
        #expect(texts[0].contains("<lrm_rsc_op id=\"d1_last_0\" operation=\"start\"") && texts[0].contains("op-status=\"-1\"")
                && texts[0].contains("rc-code=\"193\"") && !texts[0].contains("d1_last_failure_0"), "\(texts[0])")
        #expect(members.allSatisfy { bed.core($0).attributes[NodeID(2)]?.keys.contains { $0.hasPrefix("fail-count-") } != true })
        bed.inject(MessageWire.encode(.executeResult(Self.result(node: 2, operation: "start", rc: 0))), from: members[1])
        bed.deliverAll()
        let after = try Self.status(bed, members[0])
        #expect(after.contains("rc-code=\"0\"") && !after.contains("op-status=\"-1\""), "\(after)")
    }

    /// node2's process stopped and a new one (pid 200) started and joined; returns the new one.
    static func restartNode2(_ bed: inout Harness, _ members: [Member]) -> Member {
        bed.stop(members[1])
        bed.deliverAll()
        let restarted = Harness.member(2, pid: 200)
        bed.start([restarted])
        bed.deliverAll()
        return restarted
    }

    /// At the join of a restarted process (no history), its node's history is replaced by its
    /// own report (empty: the DC probes it again); the others' histories stay.
    @Test func aRestartedNodesHistoryIsItsOwnReportAtTheJoin() throws {
        var bed = Self.settledBed()
        let members = (1...3).map { Harness.member($0) }
        bed.inject(MessageWire.encode(.executeResult(Self.result(node: 2, operation: "start", rc: 0))), from: members[1])
        bed.inject(MessageWire.encode(.executeResult(Self.result(node: 3, operation: "start", rc: 0))), from: members[2])
        bed.deliverAll()
        let restarted = Self.restartNode2(&bed, members)
        for member in [members[0], members[2], restarted] {
            let text = try Self.status(bed, member)
            #expect(bed.core(member).historyComplete)
            let node2 = text.components(separatedBy: "<node_state id=\"2\"")[1].components(separatedBy: "<node_state ")[0]
            #expect(!node2.contains("lrm_rsc_op"), "node2's history is its new process's (none): \(node2)")
            #expect(text.contains("on_node=\"node3\""), "node3's history stays and reaches the new process")
        }
    }

    @Test func theResourceMessagesRoundTripAndAreLengthChecked() throws {
        let messages: [Message] = [
            .executeRequest(ExecuteRequest(view: 3, node: NodeID(2), transitionKey: "4:2:0:1-9",
                                           action: Self.dummy("start", parameters: ["state": "/x"]), meta: ["on_node": "node2"])),
            .executeResult(Self.result(node: 2, operation: "monitor", interval: 10_000, rc: 7)),
            .resourceHistory(ResourceHistoryReport(view: 3, node: NodeID(1), part: SyncChunks.split(Array("<lrm id=\"1\"/>".utf8), transfer: 1)[0].encoded())),
        ]
        for message in messages {
            let bytes = MessageWire.encode(message)
            #expect(try MessageWire.decode(bytes) == message)
            #expect(throws: CRMWireError.self) { try MessageWire.decode(Array(bytes.dropLast())) }
        }
    }
}

/// A node's history over one message (a few thousand resources): its round's report goes in
/// chunks and every member, a restarted one too, holds all of it (cut short, the new process
/// and a new DC would have had none of it, and probed every resource there again).
extension ResourceHistoryTests {
    @Test func aHistoryOverOneMessageReachesEveryMemberInChunks() throws {
        var bed = Self.settledBed()
        let members = (1...3).map { Harness.member($0) }
        let count = 4000
        for index in 0..<count {
            var result = Self.result(node: 3, operation: "start", rc: 0)
            result.action = ResourceOperation(resource: "big-resource-\(index)", resourceClass: "ocf", provider: "pacemaker", type: "Dummy",
                                              operation: "start", intervalMilliseconds: 0, timeoutMilliseconds: 20_000,
                                              parameters: ["state": "/run/Dummy-big-resource-\(index).state"])
            bed.inject(MessageWire.encode(.executeResult(result)), from: members[2])
        }
        bed.deliverAll()
        let own = try #require(bed.core(members[2]).resourceStatus.nodeStates.first { $0.uname == "node3" }?.lrm?.xml)
        let bytes = XMLCodec.serialize(own).utf8.count
        #expect(bytes > MessageWire.messageBytesMax, "node3's history is \(bytes) bytes, over one message")
        let chunks = SyncChunks.split(Array(XMLCodec.serialize(own).utf8), transfer: 1, messageBytesMax: MessageWire.cibPayloadBytesMax).count
        #expect(chunks > 1)
        print("node3's history: \(bytes) bytes, \(chunks) chunks")
        let restarted = Self.restartNode2(&bed, members)
        for member in [members[0], members[2], restarted] {
            #expect(bed.core(member).historyComplete)
            let text = try Self.status(bed, member)
            #expect(text.components(separatedBy: "operation=\"start\"").count - 1 == count, "node\(member.nodeID) holds node3's \(count) starts")
        }
        #expect(bed.core(restarted).ignoredCount == 0)
    }
}
