import CIB
import Foundation
import Scheduler
import Testing

/// Every number the scheduler takes from the CIB at the edge of Int64 (issue 10, point 12: an
/// interval of 2^63-1 trapped where crm_simulate accepts the file). Before the fix each case
/// trapped on an arithmetic overflow (the test process died), or, for clone-max, made 2^63
/// instances. Now the arithmetic saturates (a failure expiring 2^63 s from now has not
/// expired) and instance counts are bounded.
@Suite struct ExtremeNumbersTests {
    static let huge = "9223372036854775807"

    static func primitive(meta: String = "", operations: String = "") -> String {
        """
        <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">\
        <meta_attributes id="a-meta">\(meta)</meta_attributes><operations>\(operations)</operations></primitive>
        """
    }

    static func failedMonitor(lastRCChange: String) -> String {
        """
        <lrm_resource id="a" class="ocf" provider="pacemaker" type="Dummy">\
        <lrm_rsc_op id="a_start_0" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" transition-key="0:0:0:x"/>\
        <lrm_rsc_op id="a_monitor_10000" operation="monitor" interval="10000" call-id="2" rc-code="7" op-status="0" \
        transition-key="0:0:0:x" last-rc-change="\(lastRCChange)"/></lrm_resource>
        """
    }

    @Test func failureTimeoutAndLastFailureAtTheEdge() throws {
        func text(failureTimeout: String?) -> String {
            Fixture.cib(
                resources: Self.primitive(meta: (failureTimeout.map { "<nvpair id=\"m1\" name=\"failure-timeout\" value=\"\($0)\"/>" } ?? "")
                    + "<nvpair id=\"m2\" name=\"migration-threshold\" value=\"1\"/>"),
                node1History: Self.failedMonitor(lastRCChange: Self.huge),
                node1Attributes: "<nvpair id=\"f1\" name=\"fail-count-a#monitor_10000\" value=\"1\"/>"
                    + "<nvpair id=\"f2\" name=\"last-failure-a#monitor_10000\" value=\"\(Self.huge)\"/>")
        }
        // A failure that expires 2^63 s from now has not expired: the same as no failure-timeout.
        let summary = try Fixture.summary(text(failureTimeout: Self.huge))
        #expect(summary == (try Fixture.summary(text(failureTimeout: nil))))
        #expect(summary == ["* Recover a ( node1 -> node2 )"])
    }

    @Test func hugeIntervalsAndTimeouts() throws {
        let text = Fixture.cib(resources: Self.primitive(
            operations: "<op id=\"a-mon\" name=\"monitor\" interval=\"\(Self.huge)\" timeout=\"\(Self.huge)\"/>"
                + "<op id=\"a-start\" name=\"start\" interval=\"0\" timeout=\"99999999999999999999\"/>"))
        #expect(try Fixture.summary(text) == ["* Start a ( node1 )"])
    }

    @Test func shutdownLockAtTheEdge() throws {
        let history = Fixture.history("a", [("start", 0, 0)]).replacingOccurrences(
            of: "type=\"Dummy\">", with: "type=\"Dummy\" shutdown-lock=\"\(Self.huge)\">")
        let text = Fixture.cib(
            properties: "<nvpair id=\"o3\" name=\"shutdown-lock\" value=\"true\"/><nvpair id=\"o4\" name=\"shutdown-lock-limit\" value=\"10m\"/>",
            resources: Self.primitive(), node1History: history)
        _ = try Fixture.summary(text)
    }

    @Test func dateRulesAtTheEdge() throws {
        let rules = [
            "<date_expression id=\"d\" operation=\"in_range\" start=\"2020-01-01\"><duration id=\"du\" years=\"\(Self.huge)\" seconds=\"\(Self.huge)\"/></date_expression>",
            "<date_expression id=\"d\" operation=\"gt\" start=\"\(Self.huge)-01-01\"/>",
            "<date_expression id=\"d\" operation=\"lt\" end=\"2020-01-\(Self.huge)\"/>",
            "<expression id=\"e\" attribute=\"#uname\" operation=\"gt\" value=\"1e300\" type=\"integer\"/>",
            "<expression id=\"e\" attribute=\"#uname\" operation=\"lt\" value=\"inf\" type=\"integer\"/>",
        ]
        for rule in rules {
            let text = Fixture.cib(resources: Self.primitive(), constraints: """
                <rsc_location id="l" rsc="a"><rule id="r" score="-INFINITY">\(rule)</rule></rsc_location>
                """)
            _ = try Fixture.summary(text)
        }
    }

    @Test func utilizationAtTheEdge() throws {
        func member(_ id: String, _ cpu: String) -> String {
            "<primitive id=\"\(id)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><utilization id=\"u-\(id)\">"
                + "<nvpair id=\"u-\(id)-cpu\" name=\"cpu\" value=\"\(cpu)\"/></utilization></primitive>"
        }
        // A group's members are placed together: their utilization is summed.
        let text = Fixture.cib(
            properties: "<nvpair id=\"o3\" name=\"placement-strategy\" value=\"utilization\"/>",
            resources: "<group id=\"g\">" + member("a", Self.huge) + member("b", Self.huge) + member("c", "-\(Self.huge)") + "</group>")
            .replacingOccurrences(of: "<node id=\"1\" uname=\"node1\"/>", with: """
                <node id="1" uname="node1"><utilization id="n1"><nvpair id="c1" name="cpu" value="\(Self.huge)"/></utilization></node>
                """)
        _ = try Fixture.summary(text)
    }

    @Test func injectedResultAfterTheLastCallID() throws {
        var cib = try CIB(parsing: Fixture.cib(resources: Self.primitive(), node1History: Self.failedMonitor(lastRCChange: "1")
            .replacingOccurrences(of: "call-id=\"2\"", with: "call-id=\"\(Self.huge)\"")))
        let injection = try #require(OperationInjection(parsing: "a_monitor_10000@node1=7"))
        cib.inject(injection, now: 2_000_000_000)
        cib.inject(injection, now: 2_000_000_000)
        _ = Scheduler.schedule(cib, now: 2_000_000_000)
    }

    @Test func cloneMaxIsBounded() throws {
        let text = Fixture.cib(resources: """
            <clone id="c"><meta_attributes id="cm"><nvpair id="cm1" name="clone-max" value="\(Self.huge)"/></meta_attributes>\
            \(Fixture.dummy("a"))</clone>
            """)
        #expect(try Fixture.summary(text) == ["* Start a:0 ( node1 )", "* Start a:1 ( node2 )"])
    }
}
