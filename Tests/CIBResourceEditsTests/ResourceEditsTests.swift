import CIB
import CIBResourceEdits
import Testing

/// The pure core on a small hand-written CIB: the edits, versions and messages of crm_resource
/// and crm_ticket (the differential suite checks them against the stock tools).
@Suite struct ResourceEditsTests {
    static let text = """
        <cib admin_epoch="0" epoch="1" num_updates="1" validate-with="pacemaker-3.7">
          <configuration>
            <crm_config/>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
            <resources>
              <primitive id="rsc1" class="ocf" provider="heartbeat" type="Dummy">
                <meta_attributes id="rsc1-meta"><nvpair id="rsc1-mt" name="migration-threshold" value="1"/></meta_attributes>
              </primitive>
              <group id="grp"><primitive id="m1" class="ocf" provider="heartbeat" type="Dummy">
                <meta_attributes id="m1-meta"><nvpair id="m1-tr" name="target-role" value="Started"/></meta_attributes></primitive>
                <primitive id="m2" class="ocf" provider="heartbeat" type="Dummy"/></group>
            </resources>
            <constraints/>
          </configuration>
          <status>
            <node_state id="1" uname="node1" crmd="online" join="member" expected="member" in_ccm="true">
              <lrm id="1"><lrm_resources>
                <lrm_resource id="rsc1" class="ocf" provider="heartbeat" type="Dummy">
                  <lrm_rsc_op id="rsc1_last_0" operation_key="rsc1_start_0" operation="start" call-id="2" rc-code="0" op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" on_node="node1"/>
                </lrm_resource>
              </lrm_resources></lrm>
            </node_state>
            <node_state id="2" uname="node2" crmd="online" join="member" expected="member" in_ccm="true"/>
          </status>
        </cib>
        """

    static func document() throws -> CIBDocument { CIBDocument(root: try XMLCodec.parse(text)) }

    static func constraints(_ document: CIBDocument) -> [XMLElement] { document.configurationChild("constraints")?.children ?? [] }

    static func version(_ document: CIBDocument) throws -> CIBVersion { try CIBVersion(of: document.root) }

    @Test func moveToANodePrefersItAndClearRemovesIt() throws {
        var document = try Self.document()
        let moved = ResourceEdits.run(.move(resource: "rsc1", node: "node2", lifetime: nil, promoted: false, force: false), on: &document, now: 0)
        #expect(moved.exitCode == 0 && moved.standardOutput.isEmpty && moved.standardError.isEmpty)
        #expect(Self.constraints(document) == [XMLElement(name: "rsc_location", attributes: [
            .init(name: "id", value: "cli-prefer-rsc1"), .init(name: "rsc", value: "rsc1"), .init(name: "role", value: "Started"),
            .init(name: "node", value: "node2"), .init(name: "score", value: "INFINITY")])])
        #expect(try Self.version(document) == CIBVersion(adminEpoch: 0, epoch: 2, numUpdates: 0))
        let again = ResourceEdits.run(.move(resource: "rsc1", node: "node1", lifetime: nil, promoted: false, force: false), on: &document, now: 0)
        #expect(again.exitCode == 108 && again.standardError == "crm_resource: Error performing operation: Requested item already exists\n",
                "rsc1 is active on node1: moving it there is refused")
        let cleared = ResourceEdits.run(.clear(resource: "rsc1", node: nil, force: false), on: &document, now: 0)
        #expect(cleared.standardOutput == "Removing constraint: cli-prefer-rsc1\n")
        #expect(Self.constraints(document).isEmpty)
        #expect(try Self.version(document) == CIBVersion(adminEpoch: 0, epoch: 3, numUpdates: 0))
    }

    @Test func banWithoutANodeBansWhereItRunsWithALifetimeRule() throws {
        var document = try Self.document()
        // 2026-01-31 12:00:00Z plus one month: the day is clamped to February's last.
        let outcome = ResourceEdits.run(.ban(resource: "rsc1", node: nil, lifetime: "P1MT1H", promoted: false, force: false), on: &document, now: 1_769_860_800)
        #expect(outcome.exitCode == 0)
        #expect(outcome.standardOutput.hasPrefix("Migration will take effect until: 2026-02-28 13:00:00Z\nWARNING: Creating rsc_location constraint 'cli-ban-rsc1-on-node1'"))
        let location = try #require(Self.constraints(document).first)
        #expect(location["id"] == "cli-ban-rsc1-on-node1" && location["node"] == nil)
        let rule = try #require(location.children.first)
        #expect(rule["score"] == "-INFINITY" && rule.children.map { $0["id"] } == ["cli-ban-rsc1-on-node1-expr", "cli-ban-rsc1-on-node1-lifetime"])
        #expect(rule.children.last?["end"] == "2026-02-28 13:00:00Z")
        let bad = ResourceEdits.run(.ban(resource: "rsc1", node: "node2", lifetime: "1H", promoted: false, force: false), on: &document, now: 0)
        #expect(bad.exitCode == 64 && bad.standardError.hasPrefix("Invalid duration specified: 1H\n"))
    }

    @Test func unknownResourceAndNodeAreNoSuchObject() throws {
        var document = try Self.document()
        let before = document
        let resource = ResourceEdits.run(.move(resource: "nosuch", node: "node2", lifetime: nil, promoted: false, force: false), on: &document, now: 0)
        #expect(resource.exitCode == 105 && resource.standardError == "crm_resource: Resource 'nosuch' not found\nError performing operation: No such object\n")
        let node = ResourceEdits.run(.ban(resource: "rsc1", node: "nosuch", lifetime: nil, promoted: false, force: false), on: &document, now: 0)
        #expect(node.exitCode == 105 && node.standardError == "crm_resource: Node 'nosuch' not found\nError performing operation: No such object\n")
        #expect(document == before)
    }

    @Test func metaAttributesGoWhereCrmResourcePutsThem() throws {
        var document = try Self.document()
        let disabled = ResourceEdits.run(.setMeta(resource: "rsc1", name: "target-role", value: "Stopped", force: false), on: &document, now: 0)
        #expect(disabled.standardOutput == "Set 'rsc1' option: id=rsc1-meta_attributes-target-role set=rsc1-meta_attributes name=target-role value=Stopped\n")
        let enabled = ResourceEdits.run(.setMeta(resource: "rsc1", name: "target-role", value: "Started", force: false), on: &document, now: 0)
        #expect(enabled.standardOutput == "Set 'rsc1' option: id=rsc1-meta_attributes-target-role name=target-role value=Started\n")
        // A group: the member that sets it too, then the group.
        let group = ResourceEdits.run(.setMeta(resource: "grp", name: "target-role", value: "Stopped", force: false), on: &document, now: 0)
        #expect(group.standardOutput == """
            Set 'm1' option: id=m1-tr name=target-role value=Stopped
            Set 'grp' option: id=grp-meta_attributes-target-role set=grp-meta_attributes name=target-role value=Stopped

            """)
        #expect(try Self.version(document) == CIBVersion(adminEpoch: 0, epoch: 5, numUpdates: 0))
    }

    @Test func ticketsAreGrantedOnlyWithForce() throws {
        var document = try Self.document()
        let refused = TicketEdits.run(.grant(ticket: "T1", force: false), on: &document, now: 100)
        #expect(refused.exitCode == 4 && refused.standardError == "crm_ticket: Ticket modification not allowed\n")
        #expect(document.status?.children.contains { $0.name == "tickets" } == false)
        _ = TicketEdits.run(.grant(ticket: "T1", force: true), on: &document, now: 100)
        _ = TicketEdits.run(.standby(ticket: "T1"), on: &document, now: 200)
        _ = TicketEdits.run(.grant(ticket: "T1", force: true), on: &document, now: 300)
        let listed = TicketEdits.run(.list(ticket: nil), on: &document, now: 0)
        #expect(listed.standardOutput == "T1\tgranted [standby] last-granted='Thu Jan  1 00:01:40 1970'\n", "a grant of a granted ticket keeps last-granted")
        #expect(try Self.version(document) == CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 3))
        let xml = TicketEdits.run(.queryXML(ticket: "T1"), on: &document, now: 0)
        #expect(xml.standardOutput == "State XML:\n\n<ticket_state id=\"T1\" granted=\"true\" last-granted=\"100\" standby=\"true\"/>\n")
    }

    /// What a live site's baton-crmd is sent for an edit: only the attributes it changed.
    @Test func ticketChangesAreTheAttributesAnEditChanged() throws {
        let before = try Self.document()
        var after = before
        _ = TicketEdits.run(.grant(ticket: "T1", force: true), on: &after, now: 100)
        let granted = TicketEdits.changes(from: before, to: after)
        #expect(granted == ["T1": ["granted": "true", "last-granted": "100"]])
        var again = after
        _ = TicketEdits.run(.grant(ticket: "T1", force: true), on: &again, now: 300)
        #expect(TicketEdits.changes(from: after, to: again).isEmpty, "a grant of a granted ticket changes nothing")
        var revoked = again
        _ = TicketEdits.run(.revoke(ticket: "T1", force: true), on: &revoked, now: 400)
        #expect(TicketEdits.changes(from: again, to: revoked) == ["T1": ["granted": "false"]])
        let removal: String? = nil
        #expect(TicketEdits.changes(from: revoked, to: before) == ["T1": ["granted": removal, "last-granted": removal]])
    }
}
