import CIB
import CIBResourceEdits
import Foundation
import Testing

/// What batond's crmd back end waits for before a holder may release a ticket: nothing the
/// ticket guards (rsc_ticket's `rsc` or its sets) still active, by the CIB's status.
@Suite struct ActiveGuardedTests {
    static func cib(constraints: String, m2Stopped: Bool = false) -> String {
        ResourceEditsTests.text
            .replacingOccurrences(of: "<constraints/>", with: "<constraints>\(constraints)</constraints>")
            .replacingOccurrences(of: """
                <node_state id="2" uname="node2" crmd="online" join="member" expected="member" in_ccm="true"/>
                """, with: """
                <node_state id="2" uname="node2" crmd="online" join="member" expected="member" in_ccm="true"><lrm id="2"><lrm_resources>
                <lrm_resource id="m2" class="ocf" provider="heartbeat" type="Dummy">
                <lrm_rsc_op id="m2_last_0" operation_key="m2_\(m2Stopped ? "stop" : "start")_0" operation="\(m2Stopped ? "stop" : "start")" call-id="3" rc-code="0" op-status="0" interval="0" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" on_node="node2"/>
                </lrm_resource></lrm_resources></lrm></node_state>
                """)
    }

    static func active(_ ticket: String, _ text: String) throws -> [String: [String]] {
        try TicketEdits.activeGuarded(ticket: ticket, in: try XMLCodec.parse(text))
    }

    @Test func theResourcesATicketGuardsAndWhereTheyStillRun() throws {
        let text = Self.cib(constraints: """
            <rsc_ticket id="t1" rsc="rsc1" ticket="ticketA" loss-policy="stop"/>
            <rsc_ticket id="t2" ticket="ticketA"><resource_set id="s"><resource_ref id="m2"/><resource_ref id="absent"/></resource_set></rsc_ticket>
            <rsc_ticket id="t3" rsc="grp" ticket="ticketB" loss-policy="stop"/>
            """)
        #expect(try Self.active("ticketA", text) == ["rsc1": ["node1"], "m2": ["node2"]])
        #expect(try Self.active("ticketB", text) == ["grp": ["node2"]])
        #expect(try Self.active("ticketC", text) == [:], "a ticket that guards nothing has nothing to stop")
        // m2 stopped: ticketA still has rsc1; ticketB nothing left.
        let stopped = Self.cib(constraints: """
            <rsc_ticket id="t3" rsc="grp" ticket="ticketB" loss-policy="stop"/>
            """, m2Stopped: true)
        #expect(try Self.active("ticketB", stopped) == [:])
    }

    /// record-pending: the pending stop replaces m2's start record, so nothing in the history
    /// says it runs (the status shows it Stopped, stop pending on node2), yet its agent is still
    /// stopping it. Released then, the other site would start it while it still runs (the geo
    /// bench's witness tripped so on planned moves of a group of 10).
    @Test func aStopStillInFlightIsStillActive() throws {
        let pending = Self.cib(constraints: """
            <rsc_ticket id="t3" rsc="grp" ticket="ticketB" loss-policy="stop"/>
            <rsc_ticket id="t4" rsc="m2" ticket="ticketC" loss-policy="stop"/>
            """, m2Stopped: true)
            .replacingOccurrences(of: #"call-id="3" rc-code="0" op-status="0""#, with: #"call-id="-1" rc-code="193" op-status="-1""#)
        #expect(pending.contains(#"operation="stop" call-id="-1""#))
        #expect(try Self.active("ticketB", pending) == ["grp": ["node2"]])
        #expect(try Self.active("ticketC", pending) == ["m2": ["node2"]])
    }

    @Test func aConstraintOnThePromotedRoleOnlyWaitsForTheDemotion() throws {
        let text = Self.cib(constraints: """
            <rsc_ticket id="t1" rsc="rsc1" rsc-role="Promoted" ticket="ticketA" loss-policy="demote"/>
            """)
        #expect(try Self.active("ticketA", text) == [:], "rsc1 runs unpromoted: nothing to wait for")
    }

    @Test func aCIBThatIsNotOneIsAnError() throws {
        #expect(throws: CIBError.self) { try Self.active("ticketA", Self.cib(constraints: #"<rsc_ticket rsc="rsc1" ticket="ticketA"/>"#)) }
    }
}
