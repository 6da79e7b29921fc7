import CIB
@testable import CRMStatusView
import Foundation
import MonitoringText
import Testing
import TestSupport

/// baton-crmd's /metrics and /status rendered from a snapshot (issue 17, point 8): every
/// section, a failed and a stopped resource, no DC yet, HTML and label escaping, and the text
/// format checked by the reference linter (promtool) when it is installed.
@Suite struct CrmdMonitoringMetricsTests {
    static func facts(dc: String? = "node1", isDC: Bool = true) -> CrmdMonitoring.Facts {
        CrmdMonitoring.Facts(nodeName: "node1", nodeID: 1, isDC: isDC, dcName: dc, quorate: true, members: 2,
                             transitionActionsPending: 3, lastTransitionDuration: .milliseconds(1250), transitionsFinished: 4,
                             executorRunning: 1, executorQueued: 2, version: "1.2.3", uptime: .seconds(61))
    }

    static func sample(dc: String? = "node1", events: [RecentEvents.Event] = []) throws -> CrmdMonitoring {
        let cib = try CIB(bytes: Array(CrmMonViewTests.failedMonitorSample.utf8))
        return CrmdMonitoring(facts: facts(dc: dc, isDC: dc == "node1"), cib: cib, cibVersion: CIBVersion(adminEpoch: 0, epoch: 3, numUpdates: 5),
                              events: events, now: 1_765_000_100)
    }

    static func value(_ series: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.map { String($0.dropFirst(series.count + 1)) }
    }

    @Test func metricsCarryTheNodesFacts() throws {
        let text = try Self.sample().metricsText(processLines: [])
        #expect(Self.value("baton_crmd_node_info{node=\"node1\",node_id=\"1\"}", in: text) == "1")
        #expect(Self.value("baton_crmd_is_dc", in: text) == "1")
        #expect(Self.value("baton_crmd_dc_info{dc=\"node1\"}", in: text) == "1")
        #expect(Self.value("baton_crmd_partition_quorate", in: text) == "1")
        #expect(Self.value("baton_crmd_members", in: text) == "2")
        #expect(Self.value("baton_crmd_cib_epoch", in: text) == "3")
        #expect(Self.value("baton_crmd_cib_num_updates", in: text) == "5")
        #expect(Self.value("baton_crmd_cib_admin_epoch", in: text) == "0")
        // d1 runs on node2; d2 runs nowhere (Stopped).
        #expect(Self.value("baton_crmd_resource_active{resource=\"d1\",node=\"node2\",role=\"Started\"}", in: text) == "1")
        #expect(Self.value("baton_crmd_resources{node=\"node2\",role=\"Started\"}", in: text) == "1")
        #expect(Self.value("baton_crmd_resources{node=\"\",role=\"Stopped\"}", in: text) == "1")
        #expect(!text.contains("resource=\"d2\",node="))
        #expect(Self.value("baton_crmd_resource_failures{resource=\"d1\",node=\"node1\"}", in: text) == "1")
        #expect(Self.value("baton_crmd_transition_actions_pending", in: text) == "3")
        #expect(Self.value("baton_crmd_last_transition_duration_seconds", in: text) == "1.250")
        #expect(Self.value("baton_crmd_executor_operations_running", in: text) == "1")
        #expect(Self.value("baton_crmd_executor_operations_queued", in: text) == "2")
        #expect(Self.value("baton_crmd_build_info{version=\"1.2.3\"}", in: text) == "1")
        #expect(Self.value("baton_crmd_uptime_seconds", in: text) == "61.000")
        #expect(Self.value("baton_crmd_node_online{node=\"node2\"}", in: text) == "1")
    }

    @Test func noDCYetIsAnEmptyLabel() throws {
        let monitoring = try Self.sample(dc: nil)
        let text = monitoring.metricsText(processLines: [])
        // The sample CIB names dc-uuid 1; the live fact (none) is not overridden by it in
        // the metrics, which say what this daemon knows.
        #expect(Self.value("baton_crmd_is_dc", in: text) == "0")
        #expect(text.contains("baton_crmd_dc_info{dc=\"\"} 1"))
    }

    @Test func labelValuesAreEscaped() {
        #expect(MonitoringText.labelValue("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }

    static let promtoolMissing = skipReason("CRMStatusViewTests", skipping: "promtool on baton-crmd's metrics", [
        Requirement.executable("/usr/bin/promtool", "Debian package prometheus: the reference linter of the text format"),
    ])

    @Test(.enabled(if: promtoolMissing == nil, "needs promtool; the reason is printed on stderr"))
    func promtoolAcceptsTheText() async throws {
        let process = ["# HELP process_open_fds Number of open file descriptors.", "# TYPE process_open_fds gauge", "process_open_fds 12"]
        let text = try Self.sample().metricsText(processLines: process)
        let file = NSTemporaryDirectory() + "crmd-metrics-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let lint = try await TestChild.run(["/bin/sh", "-c", "/usr/bin/promtool check metrics < \"$1\"", "lint", file])
        #expect(lint.status == 0, "promtool check metrics: \(lint.output)\n\(text)")
    }
}

@Suite struct CrmdMonitoringStatusPageTests {
    @Test func everySectionIsThere() throws {
        let events = [RecentEvents.Event(seconds: 1_765_000_000, text: "node node2 joined (baton-crmd pid 7)"),
                      RecentEvents.Event(seconds: 1_765_000_050, text: "transition 3 complete: complete 2, skipped 0, incomplete 0")]
        let html = try CrmdMonitoringMetricsTests.sample(events: events).statusHTML
        for id in ["node", "nodes", "resources", "tickets", "failcounts", "failed", "events"] {
            #expect(html.contains("id=\"\(id)\""), "no section \(id)")
        }
        #expect(html.contains("<td>node1 <b>(DC)</b></td><td>online</td>"), "\(html)")
        #expect(html.contains("<tr class=\"here\"><td>d1</td><td>ocf:pacemaker:Dummy</td><td>Started</td><td>node2</td>"), "\(html)")
        // The stopped resource: nowhere.
        #expect(html.contains("<tr class=\"none\"><td>d2</td><td>ocf:pacemaker:Dummy</td><td>Stopped</td><td>–</td>"), "\(html)")
        #expect(html.contains("<tr class=\"down\"><td>d1</td><td>node1</td><td>1</td><td>1</td>"), "the fail count: \(html)")
        #expect(html.contains("<td>d1_monitor_2000</td><td>node1</td><td>7</td>"), "the failed action: \(html)")
        #expect(html.contains("DC: <b id=\"dc\">node1</b> (this node)"))
        #expect(html.contains("CIB 0.3.5"))
        // Newest first.
        let joined = try #require(html.range(of: "node node2 joined"))
        let transition = try #require(html.range(of: "transition 3 complete"))
        #expect(transition.lowerBound < joined.lowerBound)
        #expect(html.contains("<td class=\"time\">\(CrmMonView.utcTime(1_765_000_050))</td>"))
        #expect(!html.contains("<script"))
    }

    /// d1's monitor failing on node2 where it runs (rc 1): the resource is FAILED there.
    @Test func aFailedResourceIsMarked() throws {
        let failure = #"<lrm_rsc_op id="d1_last_failure_0" operation_key="d1_monitor_2000" operation="monitor" transition-key="2:1:0:x" transition-magic="0:1;2:1:0:x" call-id="6" rc-code="1" op-status="0" interval="2000" last-rc-change="1765000050" exec-time="10" queue-time="0" on_node="node2"/>"#
        let start = #"on_node="node2"/></lrm_resource>"#
        let sample = CrmMonViewTests.failedMonitorSample.replacingOccurrences(of: start, with: #"on_node="node2"/>"# + failure + "</lrm_resource>")
        #expect(sample != CrmMonViewTests.failedMonitorSample)
        let monitoring = CrmdMonitoring(facts: CrmdMonitoringMetricsTests.facts(), cib: try CIB(bytes: Array(sample.utf8)),
                                        cibVersion: CIBVersion(), events: [], now: 1_765_000_100)
        let html = monitoring.statusHTML
        #expect(html.contains("<tr class=\"down\"><td>d1</td><td>ocf:pacemaker:Dummy</td><td>Started</td><td>node2</td><td>FAILED</td></tr>"), "\(html)")
        let text = monitoring.metricsText(processLines: [])
        #expect(CrmdMonitoringMetricsTests.value("baton_crmd_resource_failed{resource=\"d1\"}", in: text) == "1", "\(text)")
        #expect(CrmdMonitoringMetricsTests.value("baton_crmd_resource_failed{resource=\"d2\"}", in: text) == "0")
    }

    @Test func noDCYetIsSaid() throws {
        // A CIB without dc-uuid and no live DC.
        let sample = CrmMonViewTests.failedMonitorSample.replacingOccurrences(of: " dc-uuid=\"1\"", with: "")
        let monitoring = CrmdMonitoring(facts: CrmdMonitoringMetricsTests.facts(dc: nil, isDC: false), cib: try CIB(bytes: Array(sample.utf8)),
                                        cibVersion: CIBVersion(), events: [], now: 1_765_000_100)
        #expect(monitoring.statusHTML.contains("no DC yet"))
        #expect(!monitoring.statusHTML.contains("(DC)"))
    }

    @Test func everythingFromTheCIBIsEscaped() throws {
        // A node name and a ticket id with markup in them; an event text too.
        let sample = CrmMonViewTests.failedMonitorSample
            .replacingOccurrences(of: "uname=\"node2\"", with: "uname=\"&lt;img src=x&gt;&amp;&quot;n2&apos;\"")
            .replacingOccurrences(of: "</node_state></status>", with: "</node_state><tickets><ticket_state id=\"t&lt;1&gt;\" granted=\"true\"/></tickets></status>")
        let monitoring = CrmdMonitoring(facts: CrmdMonitoringMetricsTests.facts(), cib: try CIB(bytes: Array(sample.utf8)),
                                        cibVersion: CIBVersion(), events: [.init(seconds: 0, text: "<script>alert(1)</script>")], now: 1_765_000_100)
        let html = monitoring.statusHTML
        #expect(html.contains("&lt;img src=x&gt;&amp;&quot;n2&#39;"), "\(html)")
        #expect(!html.contains("<img"))
        #expect(html.contains("<td>t&lt;1&gt;</td><td>granted</td>"), "\(html)")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<script"))
        let text = monitoring.metricsText(processLines: [])
        #expect(text.contains("baton_crmd_tickets_granted{ticket=\"t<1>\"} 1"), "\(text)")
    }

    @Test func theEventRingIsBounded() {
        var ring = RecentEvents(capacity: 3)
        for index in 1...5 { ring.record(seconds: index, "event \(index)") }
        #expect(ring.events.map(\.text) == ["event 3", "event 4", "event 5"])
        #expect(ring.recorded == 5)
        ring.record(seconds: 6, String(repeating: "x", count: 1000))
        #expect(ring.events.last!.text.utf8.count <= RecentEvents.textBytesMax + 3)
    }
}

@Suite struct MonitoringHTTPAnswerTests {
    @Test func getHeadAndTheRest() {
        let get = MonitoringText.response(to: "GET /metrics HTTP/1.0\r", metrics: { "m 1\n" }, status: { "<p>" })
        #expect(get.hasPrefix("HTTP/1.0 200 OK\r\n") && get.hasSuffix("\r\n\r\nm 1\n") && get.contains("Content-Length: 4\r\n"))
        let head = MonitoringText.response(to: "HEAD /status HTTP/1.0", metrics: { "" }, status: { "<p>" })
        #expect(head.contains("text/html") && head.contains("Content-Length: 3\r\n") && head.hasSuffix("\r\n\r\n"))
        let post = MonitoringText.response(to: "POST /metrics HTTP/1.0", metrics: { "" }, status: { "" })
        #expect(post.hasPrefix("HTTP/1.0 405") && post.contains("Allow: GET, HEAD\r\n"))
        #expect(MonitoringText.response(to: "GET /secret HTTP/1.0", metrics: { "" }, status: { "" }).hasPrefix("HTTP/1.0 404"))
        #expect(MonitoringText.requestLine(of: Array("GET / HTTP/1.0\r\nHost: x\r\n".utf8)) == nil)
        #expect(MonitoringText.requestLine(of: Array("GET / HTTP/1.0\r\nHost: x\r\n\r\n".utf8)) == "GET / HTTP/1.0")
        #expect(MonitoringText.requestLine(of: Array("GET /metrics\n\n".utf8)) == "GET /metrics")
        #expect(MonitoringText.response(to: "GET /metrics", metrics: { "m" }, status: { "" }).hasPrefix("HTTP/1.0 200"))
    }
}
