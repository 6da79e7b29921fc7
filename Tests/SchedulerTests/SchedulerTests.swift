import CIB
import Foundation
import Testing
@testable import Scheduler

/// Small CIBs that pin down the decisions the design document names (tickets, quorum,
/// failures), independent of the conformance data.
enum Fixture {
    /// Two online nodes; `properties` are more nvpairs for the cluster options.
    static func cib(stonith: Bool = false, quorum: Bool = true, noQuorumPolicy: String = "stop", properties: String = "",
                    resources: String, constraints: String = "", tickets: String = "",
                    node1History: String = "", node2History: String = "", node1Attributes: String = "",
                    node2Attributes: String = "") -> String {
        """
        <cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="\(quorum ? "1" : "0")">
          <configuration>
            <crm_config><cluster_property_set id="o">
              <nvpair id="o1" name="stonith-enabled" value="\(stonith)"/>
              <nvpair id="o2" name="no-quorum-policy" value="\(noQuorumPolicy)"/>\(properties)
            </cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
            <resources>\(resources)</resources>
            <constraints>\(constraints)</constraints>
          </configuration>
          <status>
            <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
              <transient_attributes id="1"><instance_attributes id="s1">\(node1Attributes)</instance_attributes></transient_attributes>
              <lrm id="1"><lrm_resources>\(node1History)</lrm_resources></lrm>
            </node_state>
            <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
              <transient_attributes id="2"><instance_attributes id="s2">\(node2Attributes)</instance_attributes></transient_attributes>
              <lrm id="2"><lrm_resources>\(node2History)</lrm_resources></lrm>
            </node_state>
            <tickets>\(tickets)</tickets>
          </status>
        </cib>
        """
    }

    static func dummy(_ id: String) -> String {
        "<primitive id=\"\(id)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
    }

    static func history(_ id: String, _ operations: [(task: String, rc: Int, interval: Int)]) -> String {
        let entries = operations.enumerated().map { index, operation in
            "<lrm_rsc_op id=\"\(id)_\(operation.task)_\(operation.interval)\" operation=\"\(operation.task)\" interval=\"\(operation.interval)\" call-id=\"\(index + 1)\" rc-code=\"\(operation.rc)\" op-status=\"0\" transition-key=\"0:0:0:x\"/>"
        }.joined()
        return "<lrm_resource id=\"\(id)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">\(entries)</lrm_resource>"
    }

    static func summary(_ text: String, now: Int = 2_000_000_000) throws -> [String] {
        SummaryComparison.normalize(lines: Scheduler.schedule(try CIB(parsing: text), now: now).summary)
    }
}

@Suite struct SchedulerTests {
    @Test func startsStoppedResources() throws {
        let summary = try Fixture.summary(Fixture.cib(resources: Fixture.dummy("a") + Fixture.dummy("b")))
        #expect(summary == ["* Start a ( node1 )", "* Start b ( node2 )"])
    }

    @Test func leavesRunningResourcesAlone() throws {
        let text = Fixture.cib(resources: Fixture.dummy("a"), node2History: Fixture.history("a", [("start", 0, 0)]))
        #expect(try Fixture.summary(text).isEmpty)
    }

    @Test func recoversAFailedMonitorInPlace() throws {
        let text = Fixture.cib(resources: Fixture.dummy("a"),
                               node1History: Fixture.history("a", [("start", 0, 0), ("monitor", 7, 10_000)]))
        #expect(try Fixture.summary(text) == ["* Recover a ( node1 )"])
    }

    @Test func migrationThresholdMovesTheResource() throws {
        let primitive = """
        <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
          <meta_attributes id="a-m"><nvpair id="a-m1" name="migration-threshold" value="1"/></meta_attributes>
        </primitive>
        """
        let text = Fixture.cib(resources: primitive,
                               node1History: Fixture.history("a", [("start", 0, 0), ("monitor", 7, 10_000)]),
                               node1Attributes: "<nvpair id=\"f\" name=\"fail-count-a#monitor_10000\" value=\"1\"/>")
        #expect(try Fixture.summary(text) == ["* Recover a ( node1 -> node2 )"])
    }

    @Test func noQuorumStopsAndBlocksStarts() throws {
        let text = Fixture.cib(quorum: false, resources: Fixture.dummy("a") + Fixture.dummy("b"),
                               node1History: Fixture.history("a", [("start", 0, 0)]))
        #expect(try Fixture.summary(text) == [
            "* Stop a ( node1 ) due to no quorum",
            "* Start b ( node2 ) due to no quorum (blocked)",
        ])
    }

    @Test func groupMembersFollowTheirPredecessor() throws {
        let group = "<group id=\"g\">\(Fixture.dummy("a"))\(Fixture.dummy("b"))</group>"
        let text = Fixture.cib(resources: group,
                               constraints: "<rsc_location id=\"l\" rsc=\"g\" node=\"node2\" score=\"100\"/>")
        #expect(try Fixture.summary(text) == ["* Start a ( node2 )", "* Start b ( node2 )"])
    }

    @Test func mandatoryOrderBlocksTheDependent() throws {
        let resources = Fixture.dummy("a") + Fixture.dummy("b")
        let constraints = """
        <rsc_location id="ban" rsc="a" score="-INFINITY" node="node1"/>
        <rsc_location id="ban2" rsc="a" score="-INFINITY" node="node2"/>
        <rsc_order id="ord" first="a" then="b"/>
        """
        let text = Fixture.cib(resources: resources, constraints: constraints)
        #expect(try Fixture.summary(text) == ["* Start b ( node1 ) due to unrunnable a start (blocked)"])
    }
}

@Suite struct PatternTests {
    @Test func resourcePatternsMatchAnywhereAndInvert() throws {
        let resources = Fixture.dummy("web-a") + Fixture.dummy("web-b") + Fixture.dummy("db")
        let constraints = """
        <rsc_location id="l1" rsc-pattern="web" score="-INFINITY" node="node1"/>
        <rsc_location id="l2" rsc-pattern="!web" score="-INFINITY" node="node2"/>
        """
        #expect(try Fixture.summary(Fixture.cib(resources: resources, constraints: constraints)) == [
            "* Start web-a ( node2 )", "* Start web-b ( node2 )", "* Start db ( node1 )",
        ])
    }
}

@Suite struct TicketTests {
    static let constraint = "<rsc_ticket id=\"t\" rsc=\"a\" ticket=\"ticketA\" loss-policy=\"%@\"/>"

    static func cib(policy: String, ticket: String, stonith: Bool = false) -> String {
        var resources = Fixture.dummy("a")
        if stonith { resources += "<primitive id=\"fence\" class=\"stonith\" type=\"fence_dummy\"/>" }
        let fenceHistory = stonith ? "<lrm_resource id=\"fence\" class=\"stonith\" type=\"fence_dummy\"><lrm_rsc_op id=\"fence_start_0\" operation=\"start\" interval=\"0\" call-id=\"9\" rc-code=\"0\" op-status=\"0\" transition-key=\"0:0:0:x\"/></lrm_resource>" : ""
        return Fixture.cib(stonith: stonith, resources: resources,
                           constraints: "<rsc_ticket id=\"t\" rsc=\"a\" ticket=\"ticketA\" loss-policy=\"\(policy)\"/>",
                           tickets: ticket, node1History: Fixture.history("a", [("start", 0, 0)]),
                           node2History: fenceHistory)
    }

    @Test func aTicketWithoutStateIsNotGranted() throws {
        let text = Fixture.cib(resources: Fixture.dummy("a"),
                               constraints: "<rsc_ticket id=\"t\" rsc=\"a\" ticket=\"ticketA\"/>")
        #expect(try Fixture.summary(text).isEmpty)
    }

    @Test func grantedTicketLetsItRun() throws {
        let text = Self.cib(policy: "stop", ticket: "<ticket_state id=\"ticketA\" granted=\"true\"/>")
        #expect(try Fixture.summary(text).isEmpty)
    }

    @Test func revokedTicketWithStopPolicyStops() throws {
        let text = Self.cib(policy: "stop", ticket: "<ticket_state id=\"ticketA\" granted=\"false\"/>")
        #expect(try Fixture.summary(text) == ["* Stop a ( node1 ) due to node availability"])
    }

    @Test func revokedTicketWithFreezePolicyLeavesItRunning() throws {
        let text = Self.cib(policy: "freeze", ticket: "<ticket_state id=\"ticketA\" granted=\"false\"/>")
        #expect(try Fixture.summary(text).isEmpty)
    }

    @Test func revokedTicketWithFencePolicyFencesTheNode() throws {
        let text = Self.cib(policy: "fence", ticket: "<ticket_state id=\"ticketA\" granted=\"false\"/>", stonith: true)
        let summary = try Fixture.summary(text)
        #expect(summary.first == "* Fence (reboot) node1 'deadman ticket was lost'")
        #expect(summary.contains("* Stop a ( node1 ) due to node availability"))
    }

    @Test func standbyTicketStopsWithoutLossPolicy() throws {
        let text = Self.cib(policy: "fence", ticket: "<ticket_state id=\"ticketA\" granted=\"true\" standby=\"true\"/>", stonith: true)
        #expect(try Fixture.summary(text) == ["* Stop a ( node1 ) due to node availability"])
    }

    @Test func grantingThroughTheCIBHelper() throws {
        var cib = try CIB(parsing: Self.cib(policy: "stop", ticket: ""))
        cib.setTicket("ticketA", granted: false)
        #expect(SummaryComparison.normalize(lines: Scheduler.schedule(cib, now: 0).summary) == ["* Stop a ( node1 ) due to node availability"])
        cib.setTicket("ticketA", granted: true)
        #expect(Scheduler.schedule(cib, now: 0).summary.isEmpty)
    }

    @Test func injectedFailureIsRecovered() throws {
        var cib = try CIB(parsing: Fixture.cib(resources: Fixture.dummy("a"), node1History: Fixture.history("a", [("start", 0, 0)])))
        cib.inject(try #require(OperationInjection(parsing: "a_monitor_10000@node1=7")), now: 100)
        #expect(SummaryComparison.normalize(lines: Scheduler.schedule(cib, now: 100).summary) == ["* Recover a ( node1 )"])
    }
}

/// The tests of the conformance suite on the expected-pass list, run in process.
@Suite struct ConformanceListTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    static var suite: URL { root.appendingPathComponent("../shared/conformance/pacemaker-2.1.5").standardizedFileURL }
    static var isPresent: Bool { FileManager.default.fileExists(atPath: suite.appendingPathComponent("xml").path) }

    @Test(.enabled(if: isPresent, "conformance data not found next to the repository"))
    func expectedPassesStillPass() throws {
        let list = try String(contentsOf: Self.root.appendingPathComponent("Tests/Conformance/expected-pass.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        #expect(list.count > 0)
        let now = Int(Date().timeIntervalSince1970)
        var failures: [String] = []
        for name in list {
            let input = try String(contentsOf: Self.suite.appendingPathComponent("xml/\(name).xml"), encoding: .utf8)
            let expected = try String(contentsOf: Self.suite.appendingPathComponent("summary/\(name).summary"), encoding: .utf8)
            let actual = SummaryComparison.normalize(lines: Scheduler.schedule(try CIB(parsing: input), now: now).summary)
            if actual != SummaryComparison.transitionSummary(ofSimulateOutput: expected) { failures.append(name) }
        }
        #expect(failures.isEmpty, "regressions: \(failures.joined(separator: " "))")
    }
}
