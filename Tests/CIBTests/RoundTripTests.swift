import Foundation
import Testing
@testable import CIB

/// The conformance data lives outside the repository (../shared/conformance relative to the
/// package root); tests that need it are skipped when it is absent.
enum ConformanceData {
    static var directory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/conformance/pacemaker-2.1.5").standardizedFileURL
    }
    static var isPresent: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("xml").path) }
    static func inputs() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory.appendingPathComponent("xml"),
                                                    includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "xml" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}

@Suite struct RoundTripTests {
    @Test(.enabled(if: ConformanceData.isPresent, "conformance data not found next to the repository"))
    func everyConformanceInputRoundTrips() throws {
        let inputs = try ConformanceData.inputs()
        #expect(inputs.count >= 797)
        var failures: [String] = []
        for input in inputs {
            let text = try String(contentsOf: input, encoding: .utf8)
            do {
                let first = try CIB(parsing: text)
                let written = first.serialized()
                let second = try CIB(parsing: written)
                if first != second { failures.append("\(input.lastPathComponent): model changed on round trip") }
                if first.xml != second.xml { failures.append("\(input.lastPathComponent): XML changed on round trip") }
            } catch {
                failures.append("\(input.lastPathComponent): \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) inputs failed: \(failures.prefix(20).joined(separator: "\n"))")
    }

    @Test func unknownElementsAndAttributesArePreserved() throws {
        let text = """
        <cib epoch="3" admin_epoch="0" num_updates="1" future-attribute="x">
          <configuration>
            <crm_config/>
            <nodes><node id="1" uname="n1" colour="blue"/></nodes>
            <resources>
              <primitive id="r1" class="ocf" provider="heartbeat" type="Dummy" shiny="yes">
                <sparkle id="s1" level="9"><inner/></sparkle>
              </primitive>
              <bundle id="b1"><docker image="x"/></bundle>
            </resources>
            <constraints><rsc_future id="f1"/></constraints>
            <fencing-topology/>
          </configuration>
          <status/>
        </cib>
        """
        let cib = try CIB(parsing: text)
        let written = cib.serialized()
        for fragment in ["future-attribute=\"x\"", "colour=\"blue\"", "shiny=\"yes\"", "<sparkle id=\"s1\" level=\"9\">",
                         "<inner/>", "<bundle id=\"b1\">", "<docker image=\"x\"/>", "<rsc_future id=\"f1\"/>",
                         "<fencing-topology/>"] {
            #expect(written.contains(fragment), "\(fragment) lost in:\n\(written)")
        }
        #expect(try CIB(parsing: written) == cib)
        guard case .primitive(let primitive) = cib.configuration.resources.first else {
            Issue.record("first resource should be a primitive"); return
        }
        #expect(primitive.agentName == "ocf:heartbeat:Dummy")
        #expect(primitive.extras.children.first?.name == "sparkle")
    }

    @Test func typedModelReadsTheParts() throws {
        let text = """
        <cib epoch="1" admin_epoch="0" num_updates="0" have-quorum="1" execution-date="1700000000">
          <configuration>
            <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
            <nodes><node id="1" uname="n1"/></nodes>
            <resources>
              <clone id="c"><meta_attributes id="cm"><nvpair id="cm1" name="promotable" value="true"/></meta_attributes>
                <primitive id="p" class="ocf" provider="pacemaker" type="Stateful">
                  <operations><op id="p-mon" name="monitor" interval="10s" role="Promoted"/></operations>
                </primitive>
              </clone>
            </resources>
            <constraints>
              <rsc_ticket id="t" ticket="ticketA" loss-policy="fence">
                <resource_set id="s" role="Promoted"><resource_ref id="c"/></resource_set>
              </rsc_ticket>
              <rsc_location id="l" rsc="c"><rule id="r" score="-INFINITY"><expression id="e" attribute="#uname" operation="eq" value="n1"/></rule></rsc_location>
            </constraints>
          </configuration>
          <status>
            <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
              <lrm id="1"><lrm_resources><lrm_resource id="p" class="ocf" provider="pacemaker" type="Stateful">
                <lrm_rsc_op id="p_last_0" operation="start" interval="0" call-id="4" rc-code="0" op-status="0" queue-time="0"/>
              </lrm_resource></lrm_resources></lrm>
            </node_state>
            <tickets><ticket_state id="ticketA" granted="true" owner="site-a"/></tickets>
          </status>
        </cib>
        """
        let cib = try CIB(parsing: text)
        #expect(cib.haveQuorum)
        #expect(cib.executionDate == 1_700_000_000)
        #expect(cib.configuration.clusterProperty("stonith-enabled") == "false")
        guard case .clone(let clone) = cib.configuration.resources.first else { Issue.record("clone expected"); return }
        #expect(clone.isPromotable)
        guard case .primitive(let primitive) = clone.child else { Issue.record("primitive expected"); return }
        #expect(primitive.operations?.operations.first?.intervalMilliseconds == 10_000)
        guard case .ticket(let ticket) = cib.configuration.constraints.first else { Issue.record("ticket expected"); return }
        #expect(ticket.lossPolicy == "fence" && ticket.sets.first?.resources == ["c"])
        guard case .location(let location) = cib.configuration.constraints.last else { Issue.record("location expected"); return }
        #expect(location.rules.first?.score == .minusInfinity)
        let operation = cib.status.nodeStates.first?.lrm?.resources.first?.operations.first
        #expect(operation?.callID == 4 && operation?.rcCode == 0 && operation?.extraAttribute("queue-time") == "0")
        let ticketState = cib.status.tickets?.states.first
        #expect(ticketState?.isGranted == true && ticketState?.extras.attributes.first?.value == "site-a")
    }
}

@Suite struct ErrorTests {
    @Test func malformedXMLNamesTheLine() {
        let text = "<cib epoch=\"1\">\n  <configuration>\n    <nodes>\n  </configuration>\n</cib>\n"
        #expect {
            try CIB(parsing: text)
        } throws: { error in
            guard let error = error as? CIBError, case .malformedXML = error.kind else { return false }
            return error.line == 4
        }
    }

    @Test func emptyDocumentIsMalformed() {
        #expect(throws: CIBError.self) { try CIB(parsing: "") }
    }

    @Test func wrongRootIsRefused() {
        #expect(throws: CIBError(.unexpectedRoot, element: "config", id: nil, line: 1)) {
            try CIB(parsing: "<config/>")
        }
    }

    @Test func missingAttributeNamesElementIdAndLine() {
        let text = """
        <cib>
          <configuration>
            <resources>
              <primitive id="web" class="ocf" provider="heartbeat"/>
            </resources>
          </configuration>
        </cib>
        """
        #expect(throws: CIBError(.missingAttribute(name: "type"), element: "primitive", id: "web", line: 4)) {
            try CIB(parsing: text)
        }
    }

    @Test func invalidScoreNamesTheConstraint() {
        let text = """
        <cib>
          <configuration>
            <constraints>
              <rsc_location id="loc-1" rsc="web" node="n1" score="lots"/>
            </constraints>
          </configuration>
        </cib>
        """
        #expect(throws: CIBError(.invalidValue(attribute: "score", value: "lots"), element: "rsc_location",
                                 id: "loc-1", line: 4)) {
            try CIB(parsing: text)
        }
    }

    @Test func invalidOperationNumbersAreRefused() {
        let text = """
        <cib><configuration/><status>
          <node_state id="1" uname="n1"><lrm><lrm_resources><lrm_resource id="r" class="ocf" type="Dummy">
            <lrm_rsc_op id="r_last_0" operation="start" interval="0" rc-code="zero"/>
          </lrm_resource></lrm_resources></lrm></node_state>
        </status></cib>
        """
        #expect(throws: CIBError(.invalidValue(attribute: "rc-code", value: "zero"), element: "lrm_rsc_op",
                                 id: "r_last_0", line: 3)) {
            try CIB(parsing: text)
        }
    }

    /// Two resources of one id would both be scheduled (the same resource started on two
    /// nodes): refused, as Pacemaker's schema refuses it ("ID x redefined"). References
    /// (resource_ref, obj_ref, an ACL's role), node ids and the status section may repeat ids.
    @Test func aConfigurationIDDefinedTwiceIsRefused() throws {
        let twice = """
        <cib>
          <configuration>
            <resources>
              <primitive id="web" class="ocf" provider="heartbeat" type="IPaddr2"/>
              <primitive id="web" class="ocf" provider="pacemaker" type="Dummy"/>
            </resources>
          </configuration>
        </cib>
        """
        let error = CIBError(.duplicateID(firstElement: "primitive", firstLine: 4), element: "primitive", id: "web", line: 5)
        #expect(throws: error) { try CIB(parsing: twice) }
        #expect(error.description == "<primitive id=\"web\"> at line 5 reuses the id of <primitive> at line 4: every id in the configuration must be unique")
        let acrossSections = twice.replacingOccurrences(of: "<primitive id=\"web\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>", with: "")
            .replacingOccurrences(of: "</resources>", with: "</resources><constraints><rsc_location id=\"web\" rsc=\"web\" node=\"n1\" score=\"1\"/></constraints>")
        #expect(throws: CIBError(.duplicateID(firstElement: "primitive", firstLine: 4), element: "rsc_location", id: "web", line: 6)) {
            try CIB(parsing: acrossSections)
        }
        let references = """
        <cib>
          <configuration>
            <nodes><node id="1" uname="n1"/></nodes>
            <resources><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>
              <primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/></resources>
            <constraints>
              <rsc_order id="o1"><resource_set id="s1"><resource_ref id="a"/><resource_ref id="b"/></resource_set></rsc_order>
              <rsc_colocation id="c1" score="INFINITY"><resource_set id="s2"><resource_ref id="a"/><resource_ref id="b"/></resource_set></rsc_colocation>
            </constraints>
            <tags><tag id="t"><obj_ref id="a"/></tag></tags>
          </configuration>
          <status><node_state id="1" uname="n1"><lrm id="1"/></node_state></status>
        </cib>
        """
        _ = try CIB(parsing: references)
    }

    @Test func errorDescriptionSaysWhatAndWhere() {
        let error = CIBError(.missingAttribute(name: "type"), element: "primitive", id: "web", line: 4)
        #expect(error.description == "<primitive id=\"web\"> at line 4 lacks the required attribute type")
    }
}

@Suite struct ScoreTests {
    @Test func parsesAndSaturates() {
        #expect(Score(parsing: "INFINITY") == .infinity)
        #expect(Score(parsing: "+INFINITY") == .infinity)
        #expect(Score(parsing: "-INFINITY") == .minusInfinity)
        #expect(Score(parsing: "42")?.value == 42)
        #expect(Score(parsing: "x") == nil)
        #expect(Score.infinity + .minusInfinity == .minusInfinity)
        #expect(Score(999_999) + Score(5) == .infinity)
    }

    @Test func intervals() {
        #expect(Duration.milliseconds(parsing: "10s") == 10_000)
        #expect(Duration.milliseconds(parsing: "10") == 10_000)
        #expect(Duration.milliseconds(parsing: "1min") == 60_000)
        #expect(Duration.milliseconds(parsing: "500ms") == 500)
        #expect(Duration.milliseconds(parsing: "PT1M30S") == 90_000)
        #expect(Duration.milliseconds(parsing: "soon") == nil)
    }
}
