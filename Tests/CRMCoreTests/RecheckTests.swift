@testable import CRMCore
import CIB
import Scheduler
import Testing

/// When the DC re-runs the scheduler with no event (Recheck.swift): a fail count's
/// failure-timeout expiry (last failure + timeout + 1 s), at most cluster-recheck-interval.
@Suite struct RecheckTests {
    /// node1 has `attributes` (name, value) as transient attributes; d1 has `meta`.
    static func cib(meta: String = "", defaults: String = "", options: String = "", attributes: [(String, String)] = []) throws -> CIB {
        let pairs = attributes.enumerated().map { "<nvpair id=\"a\($0.offset)\" name=\"\($0.element.0)\" value=\"\($0.element.1)\"/>" }.joined()
        return try CIB(parsing: """
            <cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
            <cluster_property_set id="o">\(options)</cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/></nodes>
            <resources><primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">\(meta)</primitive>
            <clone id="c1"><meta_attributes id="c1-m"><nvpair id="c1-ft" name="failure-timeout" value="2min"/></meta_attributes>
            <primitive id="p1" class="ocf" provider="pacemaker" type="Dummy"/></clone></resources>
            <constraints/>\(defaults)</configuration>
            <status><node_state id="1" uname="node1"><transient_attributes id="1"><instance_attributes id="s1">\(pairs)
            </instance_attributes></transient_attributes></node_state></status></cib>
            """)
    }

    static let meta20s = "<meta_attributes id=\"d1-m\"><nvpair id=\"d1-ft\" name=\"failure-timeout\" value=\"20s\"/></meta_attributes>"

    @Test func aFailCountWithFailureTimeoutIsRecheckedOneSecondAfterItExpires() throws {
        let cib = try Self.cib(meta: Self.meta20s, attributes: [("fail-count-d1#monitor_10000", "1"), ("last-failure-d1#monitor_10000", "1000")])
        #expect(Recheck.failureExpiry(cib, now: 1005) == 1021)
        #expect(Recheck.delay(cib, now: 1005) == .seconds(16), "before the 15 min interval")
        // At the expiry instant the scheduler forgets it: nothing left to wait for.
        #expect(Recheck.failureExpiry(cib, now: 1020) == nil)
        #expect(Recheck.delay(cib, now: 1020) == Recheck.intervalDefault)
    }

    @Test func theEarliestOfSeveralAndOnlyCountedFailuresWithATimeout() throws {
        let cib = try Self.cib(meta: Self.meta20s, attributes: [
            ("fail-count-d1#monitor_10000", "1"), ("last-failure-d1#monitor_10000", "1000"),
            ("last-failure-d1#start_0", "1010"),                      // the latest failure of d1 counts
            ("fail-count-p1:0#monitor_10000", "INFINITY"), ("last-failure-p1:0#monitor_10000", "990"),   // the clone's 2 min
            ("fail-count-x9#monitor_10000", "3"), ("last-failure-x9#monitor_10000", "900"),              // no such resource
        ])
        #expect(Recheck.failureExpiry(cib, now: 1015) == 1031, "d1: its last failure 1010 + 20 + 1")
        #expect(Recheck.failureExpiry(cib, now: 1030) == 1111, "then p1: 990 + 120 + 1")
        let noCount = try Self.cib(meta: Self.meta20s, attributes: [("last-failure-d1#monitor_10000", "1000")])
        #expect(Recheck.failureExpiry(noCount, now: 1005) == nil, "a last failure without a fail count")
        let noTimeout = try Self.cib(attributes: [("fail-count-d1#monitor_10000", "1"), ("last-failure-d1#monitor_10000", "1000")])
        #expect(Recheck.failureExpiry(noTimeout, now: 1005) == nil, "no failure-timeout: never expires")
    }

    @Test func rscDefaultsGiveTheTimeoutAndTheIntervalBoundsTheWait() throws {
        let defaults = "<rsc_defaults><meta_attributes id=\"rd\"><nvpair id=\"rd-ft\" name=\"failure-timeout\" value=\"PT1H\"/></meta_attributes></rsc_defaults>"
        let attributes = [("fail-count-d1#monitor_10000", "1"), ("last-failure-d1#monitor_10000", "1000")]
        let cib = try Self.cib(defaults: defaults, attributes: attributes)
        #expect(Recheck.failureExpiry(cib, now: 1000) == 4601)
        #expect(Recheck.delay(cib, now: 1000) == .seconds(15 * 60), "cluster-recheck-interval's default comes first")
        let short = try Self.cib(defaults: defaults, options: "<nvpair id=\"o-r\" name=\"cluster-recheck-interval\" value=\"2min\"/>", attributes: attributes)
        #expect(Recheck.delay(short, now: 1000) == .seconds(120))
        let never = try Self.cib(options: "<nvpair id=\"o-r\" name=\"cluster-recheck-interval\" value=\"0\"/>")
        #expect(Recheck.delay(never, now: 1000) == nil)
        #expect(Recheck.resource(in: "fail-count-p1:12#monitor_0", prefix: "fail-count-") == "p1")
        #expect(Recheck.resource(in: "fail-count-old", prefix: "fail-count-") == "old")
    }

    /// A location rule of d1 with `expression` (a date_expression) in a CIB with no failures.
    static func dated(_ expression: String, options: String = #"<nvpair id="o-r" name="cluster-recheck-interval" value="0"/>"#) throws -> CIB {
        let cib = try Self.cib(options: options)
        return try CIB(parsing: PacemakerXMLText.text(cib.xml, formatted: false).replacingOccurrences(of: "<constraints/>", with: """
            <constraints><rsc_location id="l1" rsc="d1"><rule id="l1-r" score="INFINITY" boolean-op="and">\(expression)</rule></rsc_location></constraints>
            """))
    }

    /// Date rules' next change (Pacemaker's next_change): in_range before its start → the start,
    /// inside → the second after its end (a duration gives the end); gt → the second after its
    /// start; lt → its end; past every boundary, or a date_spec: none (the interval bounds it).
    @Test func aDateRuleIsRecheckedWhenItsAnswerChanges() throws {
        let start = try #require(DateRules.parseISODate("2026-12-07 12:00:00Z")), end = try #require(DateRules.parseISODate("2026-12-07T13:00:00Z"))
        #expect(end - start == 3600)
        let range = try Self.dated(#"<date_expression id="e" operation="in_range" start="2026-12-07 12:00:00Z" end="2026-12-07T13:00:00Z"/>"#)
        #expect(Recheck.delay(range, now: start - 60) == .seconds(60), "before the range: at its start")
        #expect(Recheck.delay(range, now: start) == .seconds(3601), "inside: the second after its end")
        #expect(Recheck.delay(range, now: end) == .seconds(1))
        #expect(Recheck.delay(range, now: end + 1) == nil, "past it: nothing to wait for")
        let duration = try Self.dated(#"<date_expression id="e" operation="in_range" start="2026-12-07 12:00:00Z"><duration id="e-d" minutes="5"/></date_expression>"#)
        #expect(Recheck.delay(duration, now: start + 10) == .seconds(291))
        let gt = try Self.dated(#"<date_expression id="e" operation="gt" start="2026-12-07 12:00:00Z"/>"#)
        #expect(Recheck.delay(gt, now: start - 5) == .seconds(6) && Recheck.delay(gt, now: start + 1) == nil)
        let lt = try Self.dated(#"<date_expression id="e" operation="lt" end="2026-12-07T13:00:00Z"/>"#)
        #expect(Recheck.delay(lt, now: end - 5) == .seconds(5) && Recheck.delay(lt, now: end) == nil)
        let spec = try Self.dated(#"<date_expression id="e" operation="date_spec"><date_spec id="e-s" hours="9-17"/></date_expression>"#)
        #expect(Recheck.delay(spec, now: start) == nil)
        // The interval still bounds the wait; the earliest of several counts.
        let short = try Self.dated(#"<date_expression id="e" operation="gt" start="2026-12-07 12:00:00Z"/>"#, options: #"<nvpair id="o-r" name="cluster-recheck-interval" value="30s"/>"#)
        #expect(Recheck.delay(short, now: start - 600) == .seconds(30))
        let two = try Self.dated(#"<date_expression id="e" operation="lt" end="2026-12-07T13:00:00Z"/><date_expression id="f" operation="gt" start="2026-12-07 12:00:00Z"/>"#)
        #expect(Recheck.delay(two, now: start - 100) == .seconds(101))
    }

    /// The DC's side: each graph sets the recheck instant; the timer makes a new graph due.
    @Test func theDCRecheckesAtTheExpiryAndANewGraphIsDue() throws {
        var controller = DCController(settings: .init(node: NodeID(1), process: 100))
        let cib = try Self.cib(meta: Self.meta20s, options: "<nvpair id=\"o-s\" name=\"stonith-enabled\" value=\"false\"/>",
                               attributes: [("fail-count-d1#monitor_10000", "1"), ("last-failure-d1#monitor_10000", "1000")])
        _ = controller.schedule(cib, nodes: ["node1": NodeID(1)], now: .seconds(50), wallClockSeconds: 1005)
        #expect(controller.recheckAt == .seconds(66))
        #expect(controller.recheck(now: .seconds(65)).isEmpty && !controller.scheduleWanted)
        let fired = controller.recheck(now: .seconds(66))
        #expect(fired.contains { if case .log(let line) = $0 { line.hasPrefix("recheck") } else { false } })
        #expect(controller.scheduleWanted && controller.recheckAt == nil)
    }
}
