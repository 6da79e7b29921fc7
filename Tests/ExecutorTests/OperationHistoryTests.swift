import CIB
import Executor
import Scheduler
import Testing

/// Results recorded as lrm_rsc_op entries through the CIB model, read back by Baton's own
/// scheduler as it reads Pacemaker's history: a resource whose probe, start and monitor are
/// recorded needs nothing more; a changed parameter (op-digest) restarts it; a failed monitor
/// recovers it.
struct OperationHistoryTests {
    static func cib(state: String = "/run/d1.state") throws -> CIB {
        try CIB(parsing: """
            <cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
              <configuration>
                <crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
                <nodes><node id="1" uname="node1"/></nodes>
                <resources>
                  <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">
                    <instance_attributes id="d1-ia"><nvpair id="d1-state" name="state" value="\(state)"/></instance_attributes>
                    <operations><op id="d1-monitor" name="monitor" interval="10s" timeout="25s"/></operations>
                  </primitive>
                </resources>
                <constraints/>
              </configuration>
              <status>
                <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member" crm-debug-origin="test"/>
              </status>
            </cib>
            """)
    }

    static let resource = AgentResource(id: "d1", standard: .ocf, provider: "pacemaker", type: "Dummy", parameters: ["state": "/run/d1.state"])

    static func result(_ action: String, interval: Duration = .zero, rc: OCFReturnCode, call: Int, targetRC: Int = 0, key: Int) -> OperationResult {
        let request = OperationRequest(
            resource: resource, action: action, interval: interval, timeout: interval > .zero ? .seconds(25) : .seconds(20),
            meta: ["op_target_rc": String(targetRC)], featureSet: "3.16.1",
            transitionKey: "\(key):1:\(targetRC):6b4a5e0c-0000-4000-8000-000000000001")
        return OperationResult(
            callID: CallID(value: call), operation: request, verdict: AgentVerdict(rc: rc, status: .done, exitReason: nil),
            standardOutput: [], standardError: [], queueTime: .milliseconds(1), execTime: .milliseconds(23), finishedAt: .zero, rcChanged: true)
    }

    static func actions(_ cib: CIB) -> [String] {
        Scheduler.schedule(cib, now: 1_800_000_000).actions.filter { $0.resource == "d1" && !$0.isPseudo }.map(\.task).sorted()
    }

    static func recorded() throws -> CIB {
        var cib = try Self.cib()
        try OperationHistory.record(Self.result("monitor", rc: .notRunning, call: 1, targetRC: 7, key: 1), into: &cib.status, node: "node1", wallClockSeconds: 1_799_999_000)
        try OperationHistory.record(Self.result("start", rc: .ok, call: 2, key: 2), into: &cib.status, node: "node1", wallClockSeconds: 1_799_999_001)
        try OperationHistory.record(Self.result("monitor", interval: .seconds(10), rc: .ok, call: 3, key: 3), into: &cib.status, node: "node1", wallClockSeconds: 1_799_999_002)
        return cib
    }

    @Test func aResourceWithItsHistoryRecordedNeedsNothingMore() throws {
        let fresh = Self.actions(try Self.cib())
        // (The scheduler's actions are its Transition Summary's; probes and monitors come with
        // the transition graph.)
        #expect(fresh == ["start"], "without history the resource is started; got \(fresh)")
        let cib = try Self.recorded()
        #expect(Self.actions(cib) == [])
        // Written and read back through the XML codec, the same.
        let reread = try CIB(parsing: cib.serialized())
        #expect(Self.actions(reread) == [])
        let history = try #require(reread.status.nodeStates.first?.lrm?.resources.first)
        #expect(history.operations.map(\.id) == ["d1_last_0", "d1_monitor_10000"])
        let start = history.operations[0]
        #expect(start.operation == "start" && start.callID == 2 && start.rcCode == 0 && start.opStatus == 0)
        #expect(start.transitionMagic == "0:0;2:1:0:6b4a5e0c-0000-4000-8000-000000000001")
        #expect(start.extraAttribute("exec-time") == "23" && start.extraAttribute("queue-time") == "1")
        #expect(start.lastRCChange == 1_799_999_001)
        #expect(start.opDigest == parameterDigest(["state": "/run/d1.state"]))
        #expect(history.operations[1].opDigest == parameterDigest(["state": "/run/d1.state", "CRM_meta_timeout": "25000"]))
    }

    @Test func aChangedParameterRestartsTheResource() throws {
        var cib = try Self.cib(state: "/run/other.state")
        cib.status = try Self.recorded().status
        #expect(Self.actions(cib) == ["start", "stop"], "\(Self.actions(cib))")
    }

    @Test func aFailedMonitorIsRecordedAndRecovered() throws {
        var cib = try Self.recorded()
        try OperationHistory.record(Self.result("monitor", interval: .seconds(10), rc: .notRunning, call: 4, key: 3), into: &cib.status, node: "node1", wallClockSeconds: 1_799_999_100)
        // As pacemaker-controld records it: the failure as d1_last_failure_0 alone, the
        // recurring entry keeping its last good result.
        let history = try #require(cib.status.nodeStates.first?.lrm?.resources.first)
        #expect(history.operations.map(\.id) == ["d1_last_0", "d1_monitor_10000", "d1_last_failure_0"])
        let recurring = try #require(history.operations.first { $0.id == "d1_monitor_10000" })
        #expect(recurring.rcCode == 0 && recurring.callID == 3)
        let failure = try #require(history.operations.first { $0.id == "d1_last_failure_0" })
        #expect(failure.rcCode == 7 && failure.callID == 4 && failure.operation == "monitor" && failure.interval == 10000 && failure.extraAttribute("operation_key") == "d1_monitor_10000")
        #expect(Self.actions(cib) == ["start", "stop"], "\(Self.actions(cib))")
        // A cancelled recurring op leaves no entry.
        let cancelled = OperationResult(
            callID: CallID(value: 3), operation: Self.result("monitor", interval: .seconds(10), rc: .ok, call: 3, key: 3).operation,
            verdict: AgentVerdict(rc: .ok, status: .cancelled, exitReason: nil), standardOutput: [], standardError: [],
            queueTime: .zero, execTime: .zero, finishedAt: .zero, rcChanged: true)
        try OperationHistory.record(cancelled, into: &cib.status, node: "node1", wallClockSeconds: 1_799_999_200)
        #expect(cib.status.nodeStates.first?.lrm?.resources.first?.operations.map(\.id) == ["d1_last_0", "d1_last_failure_0"])
    }

    @Test func aFailedStartAlsoWritesLastFailure() throws {
        var cib = try Self.cib()
        try OperationHistory.record(Self.result("start", rc: .unknownError, call: 1, key: 1), into: &cib.status, node: "node1", wallClockSeconds: 1_799_999_000)
        let ids = cib.status.nodeStates.first?.lrm?.resources.first?.operations.map(\.id)
        #expect(ids == ["d1_last_0", "d1_last_failure_0"])
    }
}
