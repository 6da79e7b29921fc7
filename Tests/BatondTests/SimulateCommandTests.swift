import Foundation
import Testing

/// `baton simulate` as an admin runs it: a CIB file in, crm_simulate's Transition Summary out,
/// with the ticket and operation injections of crm_simulate's -g/-r and -i. The expected
/// lines are what crm_simulate (Pacemaker 2.1.5) prints for the same file and options.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: Paths.baton), "needs the built baton (make test builds it first)"))
struct SimulateCommandTests {
    /// Two nodes; `db` runs on node2 with a 10 s monitor and needs ticket siteA (granted),
    /// loss-policy stop.
    static let cib = """
<cib epoch="1" num_updates="1" admin_epoch="0" validate-with="pacemaker-3.0" have-quorum="1">
  <configuration>
    <crm_config>
      <cluster_property_set id="options">
        <nvpair id="options-stonith-enabled" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="node1"/>
      <node id="2" uname="node2"/>
    </nodes>
    <resources>
      <primitive class="ocf" id="db" provider="pacemaker" type="Dummy">
        <operations>
          <op id="db-monitor-10" interval="10s" name="monitor"/>
        </operations>
      </primitive>
    </resources>
    <constraints>
      <rsc_ticket id="db-needs-siteA" rsc="db" ticket="siteA" loss-policy="stop"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1">
        <lrm_resources>
          <lrm_resource id="db" class="ocf" provider="pacemaker" type="Dummy">
            <lrm_rsc_op id="db_last_0" operation_key="db_monitor_0" operation="monitor" transition-key="1:0:7:00000000-0000-0000-0000-000000000000" transition-magic="0:7;1:0:7:00000000-0000-0000-0000-000000000000" call-id="1" rc-code="7" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
          </lrm_resource>
        </lrm_resources>
      </lrm>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="2">
        <lrm_resources>
          <lrm_resource id="db" class="ocf" provider="pacemaker" type="Dummy">
            <lrm_rsc_op id="db_last_0" operation_key="db_start_0" operation="start" transition-key="2:0:0:00000000-0000-0000-0000-000000000000" transition-magic="0:0;2:0:0:00000000-0000-0000-0000-000000000000" call-id="2" rc-code="0" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
            <lrm_rsc_op id="db_monitor_10000" operation_key="db_monitor_10000" operation="monitor" transition-key="3:0:0:00000000-0000-0000-0000-000000000000" transition-magic="0:0;3:0:0:00000000-0000-0000-0000-000000000000" call-id="3" rc-code="0" op-status="0" interval="10000" op-digest="4811cef7f7f94e3a35a70be7916cb2fd"/>
          </lrm_resource>
        </lrm_resources>
      </lrm>
    </node_state>
    <tickets>
      <ticket_state id="siteA" granted="true" last-granted="1700000000"/>
    </tickets>
  </status>
</cib>
"""

    func simulate(_ arguments: [String], cib: String = Self.cib) async throws -> CommandResult {
        let path = NSTemporaryDirectory() + "baton-simulate-\(UUID().uuidString).xml"
        try cib.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await run([Paths.baton, "simulate", "-x", path] + arguments)
    }

    func summary(_ result: CommandResult) -> [String] {
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "Transition Summary:") else { return ["(no Transition Summary)"] }
        return Array(lines[(start + 1)...].prefix { !$0.isEmpty })
    }

    @Test func steadyClusterHasNothingToDo() async throws {
        let result = try await simulate(["-S"])
        #expect(result.status == 0, "\(result)")
        #expect(summary(result) == [])
    }

    @Test func revokingTheTicketStopsWhatItGuards() async throws {
        let result = try await simulate(["-S", "-r", "siteA"])
        #expect(result.status == 0, "\(result)")
        #expect(summary(result) == ["  * Stop       db      ( node2 )  due to node availability"])
    }

    @Test func ticketStandbyAlsoStops() async throws {
        let result = try await simulate(["--ticket-standby", "siteA"])
        #expect(summary(result) == ["  * Stop       db      ( node2 )  due to node availability"])
    }

    @Test func revokedThenGrantedAgainStaysPut() async throws {
        let revoked = Self.cib.replacingOccurrences(of: "granted=\"true\"", with: "granted=\"false\"")
        let stopped = try await simulate(["-S"], cib: revoked)
        #expect(summary(stopped) == ["  * Stop       db      ( node2 )  due to node availability"])
        let granted = try await simulate(["-S", "-g", "siteA"], cib: revoked)
        #expect(summary(granted) == [], "\(granted)")
    }

    @Test func aFailedMonitorIsRecoveredInPlace() async throws {
        let result = try await simulate(["-S", "-i", "db_monitor_10000@node2=7"])
        #expect(result.status == 0, "\(result)")
        #expect(summary(result) == ["  * Recover    db      ( node2 )"])
        #expect(result.stdout.contains("  * Resource action: db              stop on node2"))
        #expect(result.stdout.contains("  * Resource action: db              start on node2"))
    }

    @Test func badInjectionIsAUsageError() async throws {
        let result = try await simulate(["-i", "db-monitor"])
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("cannot read the injection \"db-monitor\""), "\(result)")
    }

    @Test func missingFileIsNamed() async throws {
        let result = try await run([Paths.baton, "simulate", "-x", "/nonexistent/cib.xml"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr == "baton simulate: /nonexistent/cib.xml: cannot read the file: No such file or directory\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func malformedCIBNamesElementAndLine() async throws {
        let broken = Self.cib.replacingOccurrences(of: "<primitive class=\"ocf\" id=\"db\"", with: "<primitive class=\"ocf\"")
        let result = try await simulate(["-S"], cib: broken)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("<primitive> at line 13 lacks the required attribute id"), "\(result)")
        #expect(result.stdout.isEmpty)
        let truncated = try await simulate(["-S"], cib: String(Self.cib.prefix(200)))
        #expect(truncated.status == 1, "\(truncated)")
        #expect(truncated.stderr.contains("malformed XML"), "\(truncated)")
    }

    /// -G and -D write the graph as crm_simulate does: the dot file is what crm_simulate 2.1.5
    /// writes for the same file and options, the XML the same graph (its ids aside).
    @Test func graphAndDotFilesAreWritten() async throws {
        let directory = NSTemporaryDirectory() + "baton-simulate-graph-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await simulate(["-r", "siteA", "-G", directory + "/graph.xml", "-D", directory + "/graph.dot", "-t", "2005-020T12:30"])
        #expect(result.status == 0, "\(result)")
        let dot = try String(contentsOfFile: directory + "/graph.dot", encoding: .utf8)
        #expect(dot == " digraph \"g\" {\n\"db_stop_0 node2\" [ style=bold color=\"green\" fontcolor=\"black\"]\n}\n")
        let xml = try String(contentsOfFile: directory + "/graph.xml", encoding: .utf8)
        #expect(xml.contains("operation=\"stop\" operation_key=\"db_stop_0\" on_node=\"node2\" on_node_uuid=\"2\">"), "\(xml)")
        #expect(xml.contains("<attributes CRM_meta_on_node=\"node2\" CRM_meta_on_node_uuid=\"2\" CRM_meta_timeout=\"20000\" crm_feature_set=\"3.16.1\"/>"), "\(xml)")
        let unreadable = try await simulate(["-t", "not a date"])
        #expect(unreadable.status == 64, "\(unreadable)")
        #expect(unreadable.stderr.contains("-t not a date: not an ISO 8601 date and time"), "\(unreadable)")
    }
}
