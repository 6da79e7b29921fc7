@testable import CRMCore
import CIB
import Foundation
import Testing

/// Fencing and the other controller events on the DC's side (issue 14, points 1 and 3), pure:
/// the scheduler's real graph with fencing on, results fed by hand.
@Suite struct FencingControllerTests {
    static let nodes: [String: NodeID] = ["node1": NodeID(1), "node2": NodeID(2), "node3": NodeID(3)]

    static let device = """
        <primitive id="fence1" class="stonith" type="fence_baton_netns"><instance_attributes id="fence1-i">\
        <nvpair id="fence1-h" name="pcmk_host_list" value="node1 node2 node3"/></instance_attributes></primitive>
        """

    /// node2 lost (gone without asking, not fenced: expected="member") while running d1, or
    /// down cleanly (`fenced`); node1 and node3 online; fencing on.
    static func cib(node2Fenced: Bool = false, devices: String = device, node2State: String? = nil, attributes: String = "") throws -> CIB {
        let lrm = """
            <lrm id="2"><lrm_resources><lrm_resource id="d1" class="ocf" provider="pacemaker" type="Dummy">\
            <lrm_rsc_op id="d1_last_0" operation_key="d1_start_0" operation="start" crm-debug-origin="t" crm_feature_set="3.16.1" \
            transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" \
            last-rc-change="1700000000" exec-time="10" queue-time="0" on_node="node2"/></lrm_resource></lrm_resources></lrm>
            """
        let node2 = node2State ?? (node2Fenced
            ? "<node_state id=\"2\" uname=\"node2\" in_ccm=\"false\" crmd=\"offline\" join=\"down\" expected=\"down\"/>"
            : "<node_state id=\"2\" uname=\"node2\" in_ccm=\"false\" crmd=\"offline\" join=\"down\" expected=\"member\">\(lrm)</node_state>")
        return try CIB(parsing: """
            <cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1"><configuration><crm_config>
            <cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/></nodes>
            <resources>\(devices)<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/></configuration>
            <status><node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">\(attributes)</node_state>\(node2)\
            <node_state id="3" uname="node3" in_ccm="true" crmd="online" join="member" expected="member"/></status></cib>
            """)
    }

    /// Answers every request with the result it asked for, and the ones that follow, until
    /// only fences (not answered) are left: every request sent, every fence asked for.
    static func answer(_ controller: inout DCController, first: (inout DCController) -> [DCController.Directive], now: Duration = .seconds(1))
        -> (requests: [ExecuteRequest], fences: [FenceRequest], logs: [String]) {
        var pending = first(&controller)
        var requests: [ExecuteRequest] = []
        var fences: [FenceRequest] = []
        var logs: [String] = []
        while !pending.isEmpty {
            switch pending.removeFirst() {
            case .send(let request):
                requests.append(request)
                guard request.resourceClass != "crmd" else { continue }
                pending += controller.result(DCControllerTests.result(of: request), now: now)
            case .fence(let request): fences.append(request)
            case .log(let line): logs.append(line)
            case .clearFailures: break
            }
        }
        return (requests, fences, logs)
    }

    static func record(_ request: FenceRequest, succeeded: Bool) -> FenceRecord {
        FenceRecord(executor: request.executor, target: request.target, action: request.action, device: "fence1", succeeded: succeeded,
                    reason: succeeded ? "" : "exit 1", key: request.key, wallClockSeconds: 1_700_000_100)
    }

    static func starts(_ requests: [ExecuteRequest], _ id: String) -> [ExecuteRequest] {
        requests.filter { $0.resource == id && $0.operation == "start" }
    }

    /// Before: the DC confirmed the fence action at once and started d1 elsewhere while node2
    /// (maybe still running it) had not been fenced.
    @Test func aLostNodeIsFencedByAnotherNodeBeforeItsResourceStartsElsewhere() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        controller.fenceExecutors = [NodeID(1), NodeID(3)]
        let cib = try Self.cib()
        var (requests, fences, _) = Self.answer(&controller, first: { $0.schedule(cib, nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000) })
        #expect(fences.count == 1, "one fence of node2: \(fences)")
        let fence = try #require(fences.first)
        #expect(fence.target == "node2" && fence.action == "reboot" && fence.executor == NodeID(1), "run by the DC, not the target: \(fence)")
        #expect(fence.key.hasSuffix(":1:0:1-100") && fence.timeoutMilliseconds == 60_000)
        #expect(Self.starts(requests, "d1").isEmpty, "nothing node2 ran starts before its fence succeeded: \(requests.map(\.transitionKey))")
        #expect(controller.running)

        (requests, fences, _) = Self.answer(&controller, first: { $0.fenced(Self.record(fence, succeeded: true), now: .seconds(2)) })
        let started = Self.starts(requests, "d1")
        #expect(started.count == 1 && started.first?.node != NodeID(2), "d1 starts on a survivor once node2 is fenced: \(requests.map(\.transitionKey))")
        #expect(fences.isEmpty)
        #expect(controller.fenceFailures.isEmpty)
    }

    /// The executor is never the target: the DC fenced itself before (no executor at all).
    @Test func theTargetNeverRunsItsOwnFence() throws {
        let plan = FencePlan(cib: try Self.cib().xml)
        #expect(plan.devices.map(\.id) == ["fence1"] && plan.devices.first?.parameters["pcmk_host_list"] == "node1 node2 node3")
        #expect(plan.executor(for: NodeID(1), candidates: [NodeID(1), NodeID(2)]) == NodeID(2))
        #expect(plan.executor(for: NodeID(2), candidates: [NodeID(2)]) == nil)
        #expect(FencePlan().executor(for: NodeID(2), candidates: [NodeID(1)]) == nil, "no device: nobody can fence")
    }

    /// A failing device: nothing starts, the run fails and a new graph fences again, up to
    /// stonith-max-attempts; then the DC gives up (no new graph) until an admin's confirm-down,
    /// after which d1 starts on a survivor.
    @Test func aFailingFenceBlocksTheMoveUntilConfirmDown() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100, fenceAttemptsMax: 3))
        controller.fenceExecutors = [NodeID(1), NodeID(3)]
        var attempts = 0
        var now = Duration.zero
        while controller.due {
            now += .seconds(1)
            let cib = try Self.cib()
            let (requests, fences, logs) = Self.answer(&controller, first: { $0.schedule(cib, nodes: Self.nodes, now: now, wallClockSeconds: 1_700_000_000) })
            #expect(Self.starts(requests, "d1").isEmpty, "nothing starts while node2 is not fenced")
            guard let fence = fences.first else {
                #expect(logs.contains { $0.contains("given up") }, "\(logs)")
                break
            }
            attempts += 1
            let (after, _, _) = Self.answer(&controller, first: { $0.fenced(Self.record(fence, succeeded: false), now: now) })
            #expect(Self.starts(after, "d1").isEmpty, "a failed fence starts nothing")
            #expect(attempts <= 3)
        }
        #expect(attempts == 3, "stonith-max-attempts fences, then none")
        #expect(!controller.due, "given up: no new graph loops on it")

        let confirmed = FenceRecord(executor: NodeID(3), target: "node2", action: "off", device: "confirm-down", succeeded: true,
                                    reason: "", key: "confirm:3:1", wallClockSeconds: 1_700_000_200)
        _ = controller.fenced(confirmed, now: now + .seconds(1))
        #expect(controller.due && controller.fenceFailures.isEmpty, "a confirm-down makes a new graph due and resets the failures")
        // The status as every member now renders it: node2 down cleanly, its history dropped.
        let fenced = try Self.cib(node2Fenced: true)
        let (requests, fences, _) = Self.answer(&controller, first: {
            $0.schedule(fenced, nodes: Self.nodes, now: now + .seconds(2), wallClockSeconds: 1_700_000_300)
        })
        #expect(fences.isEmpty)
        #expect(Self.starts(requests, "d1").count == 1)
    }

    /// No device configured: no fence is sent, nothing starts.
    @Test func withoutADeviceTheFenceFailsAndNothingStarts() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100, fenceAttemptsMax: 2))
        controller.fenceExecutors = [NodeID(1), NodeID(3)]
        let cib = try Self.cib(devices: "")
        let (requests, fences, logs) = Self.answer(&controller, first: { $0.schedule(cib, nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000) })
        // The scheduler fences nobody it cannot fence; what node2 ran stays blocked.
        #expect(fences.isEmpty && Self.starts(requests, "d1").isEmpty, "\(logs)")
    }

    /// do_shutdown: the node that asked to leave gets the DC's request once its resources are
    /// stopped. Before: confirmed without telling the node.
    @Test func aNodeThatAskedToLeaveGetsDoShutdownAfterItsResourcesStop() throws {
        let node2Up = """
            <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">\
            <transient_attributes id="2"><instance_attributes id="status-2"><nvpair id="status-2-shutdown" name="shutdown" value="1700000000"/>\
            </instance_attributes></transient_attributes>\
            <lrm id="2"><lrm_resources><lrm_resource id="d1" class="ocf" provider="pacemaker" type="Dummy">\
            <lrm_rsc_op id="d1_last_0" operation_key="d1_start_0" operation="start" crm-debug-origin="t" crm_feature_set="3.16.1" \
            transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" \
            last-rc-change="1700000000" exec-time="10" queue-time="0" on_node="node2"/></lrm_resource></lrm_resources></lrm></node_state>
            """
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        controller.fenceExecutors = [NodeID(1), NodeID(2), NodeID(3)]
        let cib = try Self.cib(node2State: node2Up)
        let (requests, fences, _) = Self.answer(&controller, first: { $0.schedule(cib, nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000) })
        #expect(fences.isEmpty)
        let keys = requests.map { "\($0.resource)_\($0.operation)@\($0.node.rawValue)" }
        let shutdown = try #require(keys.firstIndex(of: "crmd_do_shutdown@2"), "do_shutdown sent to node2: \(keys)")
        let stop = try #require(keys.firstIndex(of: "d1_stop@2"), "\(keys)")
        #expect(stop < shutdown, "d1 stops on node2 before its do_shutdown: \(keys)")
        #expect(keys.contains { $0.hasPrefix("d1_start@") && !$0.hasSuffix("@2") }, "d1 moves: \(keys)")
    }

    /// Startup fencing (point 2): a node of the nodelist never seen (no node_state once the
    /// round settled, after dc-deadtime) is fenced once; with startup-fencing=false it is not.
    @Test func aNodeNeverSeenIsFencedAtStartupUnlessStartupFencingIsOff() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        controller.fenceExecutors = [NodeID(1), NodeID(3)]
        let unseen = try Self.cib(node2State: "")
        var (_, fences, _) = Self.answer(&controller, first: { $0.schedule(unseen, nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000) })
        #expect(fences.map(\.target) == ["node2"], "\(fences)")
        var off = DCController(settings: .init(node: NodeID(1), process: 100))
        off.fenceExecutors = [NodeID(1), NodeID(3)]
        let text = XMLCodec.serialize(try Self.cib(node2State: "").xml).replacingOccurrences(
            of: "<nvpair id=\"o-s\" name=\"stonith-enabled\" value=\"true\"/>",
            with: "<nvpair id=\"o-s\" name=\"stonith-enabled\" value=\"true\"/><nvpair id=\"o-sf\" name=\"startup-fencing\" value=\"false\"/>")
        let startupOff = try CIB(parsing: text)
        (_, fences, _) = Self.answer(&off, first: { $0.schedule(startupOff, nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000) })
        #expect(fences.isEmpty)
    }

    @Test func theFenceMessagesRoundTrip() throws {
        let messages: [Message] = [
            .fenceRequest(FenceRequest(view: 7, executor: NodeID(3), target: "node2", action: "reboot", key: "4:2:0:1-9", timeoutMilliseconds: 60_000)),
            .fenceResult(FenceRecord(executor: NodeID(3), target: "node2", action: "off", device: "fence1", succeeded: false,
                                     reason: "exit 1: no namespace", key: "admin:1:1", wallClockSeconds: 1_700_000_000)),
        ]
        for message in messages {
            let bytes = MessageWire.encode(message)
            #expect(try MessageWire.decode(bytes) == message)
            #expect(throws: CRMWireError.self) { try MessageWire.decode(Array(bytes.dropLast())) }
        }
    }

    @Test func stonithTimeoutsAreReadInPacemakersUnits() {
        #expect(DCController.milliseconds("60s") == 60_000 && DCController.milliseconds("90") == 90_000)
        #expect(DCController.milliseconds("500ms") == 500 && DCController.milliseconds("2min") == 120_000)
        #expect(DCController.milliseconds("soon") == nil)
    }
}

/// What every member records: lost nodes, fence results, the status they render.
@Suite struct FencingNodeCoreTests {
    static func node2State(_ bed: Harness, _ member: Member) throws -> String {
        let text = XMLCodec.serialize(try bed.core(member).cibQuery(scope: "status"))
        return text.components(separatedBy: "<node_state id=\"2\"")[1].components(separatedBy: "<node_state ")[0]
    }

    /// Before: a node that vanished rendered expected="down" (cleanly down: the scheduler
    /// moved its resources without fencing it).
    @Test func aVanishedNodeIsUncleanUntilAFenceSucceedsOnEveryMember() throws {
        var bed = ResourceHistoryTests.settledBed()
        let members = (1...3).map { Harness.member($0) }
        bed.inject(MessageWire.encode(.executeResult(ResourceHistoryTests.result(node: 2, operation: "start", rc: 0))), from: members[1])
        bed.deliverAll()
        bed.stop(members[1])
        bed.deliverAll()
        for member in [members[0], members[2]] {
            let state = try Self.node2State(bed, member)
            #expect(state.contains("in_ccm=\"false\"") && state.contains("expected=\"member\""), "lost: unclean: \(state)")
            #expect(state.contains("lrm_rsc_op"), "its history stays until it is fenced")
            #expect(bed.core(member).lostNodes == [NodeID(2)])
        }
        // A failed fence changes nothing but the history.
        let failed = FenceRecord(executor: NodeID(3), target: "node2", action: "reboot", device: "fence1", succeeded: false, reason: "exit 1",
                                 key: "k", wallClockSeconds: 1)
        bed.inject(MessageWire.encode(.fenceResult(failed)), from: members[2])
        bed.deliverAll()
        #expect(try Self.node2State(bed, members[0]).contains("expected=\"member\""))
        // A result claiming another executor than its sender is dropped.
        var forged = failed
        forged.succeeded = true
        bed.inject(MessageWire.encode(.fenceResult(forged)), from: members[0])
        bed.deliverAll()
        #expect(bed.core(members[0]).lostNodes == [NodeID(2)])

        var succeeded = failed
        succeeded.succeeded = true
        bed.inject(MessageWire.encode(.fenceResult(succeeded)), from: members[2])
        bed.deliverAll()
        for member in [members[0], members[2]] {
            let state = try Self.node2State(bed, member)
            #expect(state.contains("expected=\"down\"") && !state.contains("lrm_rsc_op"), "fenced: down, its history dropped: \(state)")
            #expect(bed.core(member).fenceHistory == [failed, succeeded])
            #expect(bed.fenced[member]?.count == 2)
        }
    }

    /// A node never seen (startup fencing) and then fenced is down cleanly on every member:
    /// its node_state says expected="down" (without one the scheduler finds it unclean and
    /// fences it again; found by the lab's StartOnebyOne).
    @Test func aNeverSeenNodeFencedIsDownCleanly() throws {
        var bed = Harness(nodes: 3)
        bed.runsResources = true
        let members = [Harness.member(1), Harness.member(3)]
        bed.start(members)
        bed.deliverAll()
        for member in members { bed.fire(.dcDeadtime, on: member) }
        bed.deliverAll()
        #expect(bed.core(members[0]).dc != nil, "settled without node2")
        for member in members {
            let status = XMLCodec.serialize(try bed.core(member).cibQuery(scope: "status"))
            #expect(!status.contains("<node_state id=\"2\""), "never seen: no node_state yet: \(status)")
        }
        let fenced = FenceRecord(executor: NodeID(3), target: "node2", action: "reboot", device: "fence1", succeeded: true, reason: "",
                                 key: "k", wallClockSeconds: 1)
        bed.inject(MessageWire.encode(.fenceResult(fenced)), from: members[1])
        bed.deliverAll()
        for member in members {
            let status = XMLCodec.serialize(try bed.core(member).cibQuery(scope: "status"))
            let state = status.components(separatedBy: "<node_state id=\"2\"").dropFirst().first?.components(separatedBy: "<node_state ")[0]
            #expect(state?.contains("in_ccm=\"false\"") == true && state?.contains("expected=\"down\"") == true, "fenced: down cleanly: \(status)")
        }
    }

    /// A node that asked to leave (`shutdown`) and left is down cleanly: no fence.
    @Test func aNodeThatAskedToLeaveIsNotLost() throws {
        var bed = ResourceHistoryTests.settledBed()
        let members = (1...3).map { Harness.member($0) }
        var core = bed.core(members[1])
        let directives = try core.requestAttribute(.node(NodeID(2)), name: "shutdown", value: "1700000000")
        bed.cores[members[1]] = core
        bed.perform(directives, by: members[1])
        bed.deliverAll()
        #expect(bed.core(members[0]).attributes[NodeID(2)]?["shutdown"] == "1700000000")
        bed.stop(members[1])
        bed.deliverAll()
        #expect(bed.core(members[0]).lostNodes.isEmpty)
        #expect(try Self.node2State(bed, members[0]).contains("expected=\"down\""))
    }

    /// Only the executor named runs a fence request; an admin's confirm-down is a success from
    /// its node.
    @Test func onlyTheNamedExecutorRunsAFenceAndConfirmDownCounts() throws {
        var bed = ResourceHistoryTests.settledBed()
        let members = (1...3).map { Harness.member($0) }
        let view = try #require(bed.core(members[0]).view?.fingerprint)
        let request = FenceRequest(view: view, executor: NodeID(3), target: "node2", action: "off", key: "admin:1:1", timeoutMilliseconds: 1000)
        bed.inject(MessageWire.encode(.fenceRequest(request)), from: members[0])
        bed.deliverAll()
        #expect(bed.fences[members[2]] == [request] && bed.fences.count == 1)
        bed.stop(members[1])
        bed.deliverAll()
        #expect(throws: NodeCore.RequestError.self) { try bed.core(members[0]).confirmDown("node9", key: "c", wallClockSeconds: 1) }
        bed.perform(try bed.core(members[0]).confirmDown("node2", key: "confirm:1:1", wallClockSeconds: 5), by: members[0])
        bed.deliverAll()
        #expect(bed.core(members[2]).lostNodes.isEmpty)
        #expect(bed.core(members[2]).fenceHistory.last?.device == "confirm-down")
    }

    /// An admin's fence of node2 is in flight when the DC's graph asks to fence it too (the
    /// node was lost meanwhile): the second request is merged with the first, as Pacemaker's
    /// fencer merges identical requests. The devices run once; the first result answers both,
    /// and node2 is fenced (not lost) everywhere. Seen live: a node fenced twice (Stonithd lab).
    @Test func aSecondFenceOfATargetBeingFencedIsMergedWithTheFirst() throws {
        var bed = ResourceHistoryTests.settledBed()
        let members = (1...3).map { Harness.member($0) }
        let view = try #require(bed.core(members[0]).view?.fingerprint)
        let admin = FenceRequest(view: view, executor: NodeID(3), target: "node2", action: "reboot", key: "admin:3:1", timeoutMilliseconds: 1000)
        let graph = FenceRequest(view: view, executor: NodeID(1), target: "node2", action: "reboot", key: "5:2:0:1-9", timeoutMilliseconds: 1000)
        bed.inject(MessageWire.encode(.fenceRequest(admin)), from: members[2])
        bed.inject(MessageWire.encode(.fenceRequest(graph)), from: members[0])
        bed.deliverAll()
        #expect(bed.fences[members[2]] == [admin])
        #expect(bed.fences[members[0]] == nil, "the graph's request waits for the admin's")
        #expect(bed.core(members[1]).fencesInFlight.keys.sorted() == ["5:2:0:1-9", "admin:3:1"])
        bed.inject(MessageWire.encode(.fenceResult(FencingControllerTests.record(admin, succeeded: true))), from: members[2])
        bed.deliverAll()
        for member in [members[0], members[2]] {
            let history = bed.core(member).fenceHistory
            #expect(history.map(\.key) == ["admin:3:1", "5:2:0:1-9"], "\(member): \(history)")
            #expect(history.allSatisfy { $0.succeeded })
            #expect(history.last?.executor == NodeID(1) && history.last?.reason.hasPrefix("merged with admin:3:1") == true)
            #expect(bed.core(member).fencesInFlight.isEmpty)
        }
        // A later fence, with nothing in flight, runs the devices again.
        let later = FenceRequest(view: view, executor: NodeID(1), target: "node2", action: "reboot", key: "6:2:0:1-9", timeoutMilliseconds: 1000)
        bed.inject(MessageWire.encode(.fenceRequest(later)), from: members[0])
        bed.deliverAll()
        #expect(bed.fences[members[0]] == [later])
    }

    /// The executor of the request in flight leaves: the request merged with it runs, on its
    /// own executor.
    @Test func aMergedFenceRunsWhenTheFirstOnesExecutorLeaves() throws {
        var bed = ResourceHistoryTests.settledBed()
        let members = (1...3).map { Harness.member($0) }
        let view = try #require(bed.core(members[0]).view?.fingerprint)
        let first = FenceRequest(view: view, executor: NodeID(3), target: "node2", action: "off", key: "admin:3:1", timeoutMilliseconds: 1000)
        let second = FenceRequest(view: view, executor: NodeID(1), target: "node2", action: "reboot", key: "5:2:0:1-9", timeoutMilliseconds: 1000)
        bed.inject(MessageWire.encode(.fenceRequest(first)), from: members[2])
        bed.inject(MessageWire.encode(.fenceRequest(second)), from: members[0])
        bed.deliverAll()
        #expect(bed.fences[members[0]] == nil)
        bed.stop(members[2])
        bed.deliverAll()
        #expect(bed.fences[members[0]] == [second])
        #expect(bed.core(members[1]).fencesInFlight.keys.sorted() == ["5:2:0:1-9"])
    }
}

/// The target of a fence in flight leaving the group (what the fence does) is no news: the
/// fence stays in flight until its executor's result, and no new graph (which would fence it
/// again) is made before. The executor leaving fails it at once.
extension FencingControllerTests {
    @Test func theTargetLeavingKeepsItsFenceInFlightUntilTheExecutorsResult() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        controller.fenceExecutors = [NodeID(1), NodeID(3)]
        let cib = try Self.cib()
        var (_, fences, _) = Self.answer(&controller, first: { $0.schedule(cib, nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000) })
        let fence = try #require(fences.first)
        #expect(fence.target == "node2" && fence.executor == NodeID(1))
        _ = controller.nodesLeft(["node2"], now: .seconds(1))
        #expect(controller.running && !controller.due, "the fence of node2 is still in flight: no new graph")
        #expect(controller.run?.inFlight.map(\.operation) == [.stonith])
        var requests: [ExecuteRequest]
        (requests, fences, _) = Self.answer(&controller, first: { $0.fenced(Self.record(fence, succeeded: true), now: .seconds(2)) })
        #expect(fences.isEmpty, "fenced once")
        #expect(!controller.running, "the aborted run ends with the fence's result")
        #expect(controller.due, "then a new graph (the node left)")
        #expect(Self.starts(requests, "d1").isEmpty, "the aborted run starts nothing more")
    }

    @Test func theExecutorLeavingFailsTheFenceAtOnce() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        controller.fenceExecutors = [NodeID(3)]
        let cib = try Self.cib()
        let (_, fences, _) = Self.answer(&controller, first: { $0.schedule(cib, nodes: Self.nodes, now: .zero, wallClockSeconds: 1_700_000_000) })
        let fence = try #require(fences.first)
        #expect(fence.executor == NodeID(3))
        _ = controller.nodesLeft(["node3"], now: .seconds(1))
        #expect(!controller.running && controller.due, "no result will come from node3: failed, a new graph")
    }
}
