import CIB
@testable import CRMStatusView
import Foundation
import Scheduler
import Testing

/// The view's pieces against Pacemaker's own formatting rules, and a CIB whose crm_mon text
/// (Pacemaker 2.1.5, `CIB_file=F crm_mon -1 -r` with TZ=UTC) is written down here.
@Suite struct CrmMonViewTests {
    @Test func readableIntervalMatchesPacemaker() {
        #expect(FailedOperation.readableInterval(10_000) == "10s")
        #expect(FailedOperation.readableInterval(1000) == "1000ms")   // pcmk__readable_interval compares strictly
        #expect(FailedOperation.readableInterval(140) == "140ms")
        #expect(FailedOperation.readableInterval(90_500) == "1m30.500s")
        #expect(FailedOperation.readableInterval(0) == "0s")
    }

    @Test func operationKeysParseAsPacemakerDoes() {
        #expect(FailedOperation.parse(key: "clnUMdummy01:1_monitor_10000")! == ("clnUMdummy01:1", "monitor", 10_000))
        #expect(FailedOperation.parse(key: "my_rsc_migrate_to_0")! == ("my_rsc", "migrate_to", 0))
        #expect(FailedOperation.parse(key: "db_post_notify_start_0")! == ("db", "post_notify_start", 0))
        #expect(FailedOperation.parse(key: "nonsense") == nil)
    }

    @Test func utcTimeHasCtimeShape() {
        #expect(CrmMonView.utcTime(0) == "Thu Jan  1 00:00:00 1970")
        #expect(CrmMonView.utcTime(1_269_837_815) == "Mon Mar 29 04:43:35 2010")
        #expect(CrmMonView.utcTime(1_796_554_800) == "Sun Dec  6 11:00:00 2026")
    }

    @Test func comparisonMasksOnlyLastUpdated() {
        let crm = "Cluster Summary:\n  * Last updated: Sun Dec  6 16:35:11 2026\n  * 2 nodes configured\n"
        let ours = "Cluster Summary:\n  * Last updated: \n  * 2 nodes configured\n"
        #expect(CrmMonComparison.differences(expected: crm, actual: ours).isEmpty)
        let wrong = "Cluster Summary:\n  * Last updated: \n  * 3 nodes configured\n"
        #expect(CrmMonComparison.differences(expected: crm, actual: wrong) == ["-  * 2 nodes configured", "+  * 3 nodes configured"])
        #expect(CrmMonComparison.classify(expected: crm, actual: wrong) == "summary")
    }

    /// d1 (migration-threshold=1) failed its monitor on node1 and runs on node2.
    static let failedMonitorSample = #"""
        <cib epoch="3" num_updates="5" admin_epoch="0" validate-with="pacemaker-3.7" have-quorum="1" dc-uuid="1" crm_feature_set="3.16.1"><configuration><crm_config><cluster_property_set id="o"><nvpair id="o-se" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
        <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
        <resources><primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="d1-m"><nvpair id="d1-mt" name="migration-threshold" value="1"/></meta_attributes><operations><op id="d1-mon" name="monitor" interval="2s"/></operations></primitive>
        <primitive id="d2" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/></configuration>
        <status><node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"><transient_attributes id="1"><instance_attributes id="status-1"><nvpair id="status-1-fc" name="fail-count-d1#monitor_2000" value="1"/><nvpair id="status-1-lf" name="last-failure-d1#monitor_2000" value="1765000000"/></instance_attributes></transient_attributes>
        <lrm id="1"><lrm_resources><lrm_resource id="d1" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="d1_last_0" operation_key="d1_stop_0" operation="stop" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="5" rc-code="0" op-status="0" interval="0" on_node="node1"/><lrm_rsc_op id="d1_last_failure_0" operation_key="d1_monitor_2000" operation="monitor" transition-key="1:1:0:x" transition-magic="0:7;1:1:0:x" call-id="4" rc-code="7" op-status="0" interval="2000" last-rc-change="1765000000" exec-time="10" queue-time="0" on_node="node1"/></lrm_resource></lrm_resources></lrm></node_state>
        <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="2"><lrm_resources><lrm_resource id="d1" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="d1_last_0" operation_key="d1_start_0" operation="start" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="5" rc-code="0" op-status="0" interval="0" on_node="node2"/></lrm_resource></lrm_resources></lrm></node_state></status></cib>
        """#

    /// -f: "Migration Summary" with node1's fail count of d1 (its threshold, the last failure
    /// in crm_mon's time format); without -f, no such section; with no failure, the header.
    @Test func failCountsAreTheMigrationSummary() throws {
        let view = CrmMonView(cib: try CIB(bytes: Array(Self.failedMonitorSample.utf8)), now: 1_765_000_100)
        let text = view.text(options: .init(failcounts: true), lastUpdated: "", timeText: CrmMonView.utcTime)
        #expect(text.contains("""

            Migration Summary:
              * Node: node1:
                * d1: migration-threshold=1 fail-count=1 last-failure='Sat Dec  6 05:46:40 2025'

            Failed Resource Actions:
            """), "\(text)")
        #expect(!view.text(lastUpdated: "", timeText: CrmMonView.utcTime).contains("Migration Summary"))
        let clean = Self.failedMonitorSample.replacing(#/<transient_attributes.*</transient_attributes>/#, with: "")
        let none = CrmMonView(cib: try CIB(bytes: Array(clean.utf8))).text(options: .init(failcounts: true), lastUpdated: "", timeText: CrmMonView.utcTime)
        #expect(none.hasSuffix("Migration Summary:\n\nFailed Resource Actions:\n  * d1 2s-interval monitor on node1 returned 'not running' at Sat Dec  6 05:46:40 2025 after 10ms\n"), "\(none)")
    }

    /// Standby, offline and unclean nodes; a promotable clone; a failed and a disabled
    /// primitive; a group with a member stopped; a failed monitor listed with its exit reason.
    static let sample = """
        <cib epoch="7" num_updates="3" admin_epoch="0" validate-with="pacemaker-3.7" crm_feature_set="3.16.1" have-quorum="1" dc-uuid="1" cib-last-written="Sun Dec  6 10:00:00 2026" update-origin="node1" update-client="cibadmin" update-user="root">
          <configuration>
            <crm_config><cluster_property_set id="cib-bootstrap-options">
              <nvpair id="o1" name="stonith-enabled" value="false"/>
              <nvpair id="o2" name="dc-version" value="2.1.5-a3f44794f94"/>
            </cluster_property_set></crm_config>
            <nodes>
              <node id="1" uname="node1"/>
              <node id="2" uname="node2"><instance_attributes id="nodes-2"><nvpair id="nodes-2-standby" name="standby" value="on"/></instance_attributes></node>
              <node id="3" uname="node3"/>
            </nodes>
            <resources>
              <primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"/>
              <primitive id="web" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="web-meta"><nvpair id="web-tr" name="target-role" value="Stopped"/></meta_attributes></primitive>
              <group id="grp">
                <primitive id="g1" class="ocf" provider="pacemaker" type="Dummy"/>
                <primitive id="g2" class="ocf" provider="pacemaker" type="Dummy"/>
              </group>
              <clone id="db-clone"><meta_attributes id="db-meta"><nvpair id="db-p" name="promotable" value="true"/></meta_attributes>
                <primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/>
              </clone>
            </resources>
            <constraints/>
          </configuration>
          <status>
            <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
              <lrm id="1"><lrm_resources>
                <lrm_resource id="ip" class="ocf" provider="heartbeat" type="IPaddr2">
                  <lrm_rsc_op id="ip_last_0" operation_key="ip_start_0" operation="start" transition-key="1:1:0:x" call-id="5" rc-code="0" op-status="0" interval="0" last-rc-change="1796554800" exec-time="20" queue-time="0"/>
                  <lrm_rsc_op id="ip_last_failure_0" operation_key="ip_monitor_10000" operation="monitor" transition-key="2:1:0:x" call-id="6" rc-code="7" op-status="0" interval="10000" last-rc-change="1796554810" exec-time="15" queue-time="0" exit-reason="address gone"/>
                </lrm_resource>
                <lrm_resource id="g1" class="ocf" provider="pacemaker" type="Dummy">
                  <lrm_rsc_op id="g1_last_0" operation_key="g1_start_0" operation="start" transition-key="3:1:0:x" call-id="7" rc-code="0" op-status="0" interval="0" last-rc-change="1796554800" exec-time="10" queue-time="0"/>
                </lrm_resource>
                <lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">
                  <lrm_rsc_op id="db_last_0" operation_key="db_promote_0" operation="promote" transition-key="4:1:0:x" call-id="8" rc-code="0" op-status="0" interval="0" last-rc-change="1796554800" exec-time="10" queue-time="0"/>
                </lrm_resource>
              </lrm_resources></lrm>
            </node_state>
            <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
              <lrm id="2"><lrm_resources>
                <lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">
                  <lrm_rsc_op id="db:1_last_0" operation_key="db_start_0" operation="start" transition-key="5:1:0:x" call-id="4" rc-code="0" op-status="0" interval="0" last-rc-change="1796554800" exec-time="10" queue-time="0"/>
                </lrm_resource>
              </lrm_resources></lrm>
            </node_state>
            <node_state id="3" uname="node3" in_ccm="false" crmd="offline" join="down" expected="down"/>
          </status>
        </cib>
        """

    /// What `CIB_file=sample.xml TZ=UTC crm_mon -1 -r` (Pacemaker 2.1.5) prints, "Last updated" aside
    /// (no cluster-infrastructure option: the stack is "unknown").
    static let sampleCrmMon = """
        Cluster Summary:
          * Stack: unknown
          * Current DC: node1 (version 2.1.5-a3f44794f94) - partition with quorum
          * Last updated: (masked)
          * Last change:  Sun Dec  6 10:00:00 2026 by root via cibadmin on node1
          * 3 nodes configured
          * 7 resource instances configured (1 DISABLED)

        Node List:
          * Node node2: standby (with active resources)
          * Online: [ node1 ]
          * OFFLINE: [ node3 ]

        Full List of Resources:
          * ip\t(ocf:heartbeat:IPaddr2):\t FAILED node1
          * web\t(ocf:pacemaker:Dummy):\t Stopped (disabled)
          * Resource Group: grp:
            * g1\t(ocf:pacemaker:Dummy):\t Started node1
            * g2\t(ocf:pacemaker:Dummy):\t Stopped
          * Clone Set: db-clone [db] (promotable):
            * Promoted: [ node1 ]
            * Unpromoted: [ node2 ]
            * Stopped: [ node3 ]

        Failed Resource Actions:
          * ip 10s-interval monitor on node1 returned 'not running' (address gone) at Sun Dec  6 11:00:10 2026 after 15ms
        """

    @Test func sampleMatchesCrmMon() throws {
        let view = CrmMonView(cib: try CIB(parsing: Self.sample), now: 1_796_554_900)
        let text = view.text(options: .init(inactive: true), lastUpdated: "x", timeText: CrmMonView.utcTime)
        let differences = CrmMonComparison.differences(expected: Self.sampleCrmMon, actual: text, limit: 40)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// The quorum device's line comes right after the DC's, only when there is a device.
    @Test func theQuorumDeviceLineFollowsTheDCs() throws {
        let view = CrmMonView(cib: try CIB(parsing: Self.sample), now: 1_796_554_900)
        let counted = CrmMonView.QuorumDeviceView(model: "baton", arbitrator: "10.231.0.254:9930", connection: "connected", vote: "ack",
                                                  ring: "1.4", castsVote: true, votequorumStalled: false)
        let text = view.text(options: .init(quorumDevice: counted), lastUpdated: "now", timeText: CrmMonView.utcTime)
        let lines = text.components(separatedBy: "\n")
        let dc = try #require(lines.firstIndex { $0.hasPrefix("  * Current DC: ") })
        #expect(lines[dc + 1] == "  * Quorum device: baton, arbitrator 10.231.0.254:9930 connected, vote ACK for ring 1.4, counted")
        #expect(!view.text(lastUpdated: "now", timeText: CrmMonView.utcTime).contains("Quorum device"))
        let refused = CrmMonView.QuorumDeviceView(model: "baton", arbitrator: "10.231.0.254:9930", connection: "disconnected", vote: "nack",
                                                  ring: nil, castsVote: false, votequorumStalled: true)
        #expect(refused.line == "  * Quorum device: baton, arbitrator 10.231.0.254:9930 disconnected, vote NACK, NOT counted, votequorum NOT ANSWERING")
        #expect(CrmMonView.QuorumDeviceView.unreachable("/run/baton/qdevice.sock: timed out").line
                == "  * Quorum device: NOT ANSWERING (/run/baton/qdevice.sock: timed out)")
        #expect(view.report(quorumDevice: counted).quorumDevice == counted && view.report().quorumDevice == nil)
    }

    @Test func liveFactsOverrideTheCIB() throws {
        let view = CrmMonView(cib: try CIB(parsing: Self.sample), facts: .init(dcName: "node2", dcVersion: "baton-crmd", quorate: false))
        let text = view.text(lastUpdated: "now", timeText: CrmMonView.utcTime)
        #expect(text.contains("  * Current DC: node2 (version baton-crmd) - partition WITHOUT quorum\n"))
        // Without -r: inactive resources are not listed.
        #expect(text.contains("Active Resources:\n"))
        #expect(!text.contains("web\t"))
        let report = view.report()
        #expect(report.summary.dcName == "node2" && !report.summary.quorate)
        #expect(report.failedActions.map(\.key) == ["ip_monitor_10000"])
        #expect(report.nodes.map(\.state) == ["online", "standby (with active resources)", "OFFLINE"])
    }
    /// `crm_mon -1 -c` on the sample with a ticket constraint and two ticket states lists the
    /// tickets in its hash table's order (A, C, B), as printed by the stock tool.
    @Test func ticketsFollowCrmMonsOrder() throws {
        let xml = Self.sample
            .replacingOccurrences(of: "<constraints/>", with: "<constraints><rsc_ticket id=\"t1\" rsc=\"web\" ticket=\"ticketA\" loss-policy=\"stop\"/></constraints>")
            .replacingOccurrences(of: "  </status>", with: "<tickets><ticket_state id=\"ticketB\" granted=\"true\" last-granted=\"1796554800\"/><ticket_state id=\"ticketC\" granted=\"false\" standby=\"true\"/></tickets></status>")
        let view = CrmMonView(cib: try CIB(parsing: xml))
        let text = view.text(options: .init(tickets: true), lastUpdated: "now", timeText: CrmMonView.utcTime)
        #expect(text.hasSuffix("""
            Tickets:
              * ticketA: revoked
              * ticketC: revoked [standby]
              * ticketB: granted last-granted="Sun Dec  6 11:00:00 2026"

            """))
        #expect(view.report().tickets.map(\.id) == ["ticketA", "ticketC", "ticketB"])
    }
}
