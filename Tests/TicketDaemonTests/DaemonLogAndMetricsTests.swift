import Logging
import Testing
import DaemonLogging
import ProcessStats
@testable import TicketDaemon
import TicketWire

@Suite struct DaemonLogAndMetricsTests {
    @Test func journalLinesCarryThePriorityAndNoTime() {
        let line = DaemonLogHandler.line(level: .warning, message: "cannot reach peer", metadata: ["peer.name": "site-b", "a": "1"], label: "batond", time: nil)
        #expect(line == "<4>cannot reach peer a=1 peer.name=site-b\n")
        #expect(DaemonLogHandler.line(level: .info, message: "two\nlines", metadata: [:], label: "batond", time: nil) == "<6>two | lines\n")
        let spaced = DaemonLogHandler.line(level: .notice, message: "m", metadata: ["who": "uid 0 pid 7 (baton)", "q": "a\"b", "e": ""], label: "batond", time: nil)
        #expect(spaced == "<5>m e=\"\" q=\"a\\\"b\" who=\"uid 0 pid 7 (baton)\"\n")
        let plain = DaemonLogHandler.line(level: .error, message: "x", metadata: [:], label: "batond", time: "2026-12-06T20:00:00.000Z")
        #expect(plain == "2026-12-06T20:00:00.000Z error batond: x\n")
        #expect(Logger.Level.allCases.map(DaemonLogHandler.priority) == [7, 7, 6, 5, 4, 3, 2])
    }

    @Test func journalStreamMustNameStderrItself() {
        #expect(DaemonLogHandler.matchesJournalStream("64769:123", device: 64769, inode: 123))
        #expect(!DaemonLogHandler.matchesJournalStream("64769:124", device: 64769, inode: 123))
        #expect(!DaemonLogHandler.matchesJournalStream("garbage", device: 64769, inode: 123))
        #expect(!DaemonLogHandler.matchesJournalStream("1:2:3", device: 1, inode: 2))
    }

    @Test func procStatFieldsAreCountedAfterTheCommandName() throws {
        // A command name with spaces and a ')' of its own, as /proc allows.
        let text = "4242 (bat ond) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 123456 987654321 2048 18446744073709551615"
        let stat = try #require(ProcessMetrics.Stat(text))
        #expect(stat == ProcessMetrics.Stat("1 (a) S 1 1 1 0 -1 0 0 0 0 0 250 75 0 0 20 0 9 0 123456 987654321 2048 0"))
        #expect(stat.userTicks == 250 && stat.systemTicks == 75 && stat.startTicks == 123456)
        #expect(stat.virtualBytes == 987654321 && stat.residentPages == 2048)
        #expect(ProcessMetrics.Stat("1 (short) S 1 2") == nil)
        #expect(ProcessMetrics.bootTime("cpu 1 2 3\nbtime 1765000000\nprocesses 9\n") == 1765000000)
        let now = try #require(ProcessMetrics.current())
        #expect(now.openDescriptors > 2 && now.residentBytes > 0 && now.startTimeSeconds > 1_600_000_000)
    }

    @Test func metricsAnswersGetHeadAndNothingElse() {
        let get = MetricsHTTPHandler.response(to: "GET /metrics HTTP/1.1\r") { "a 1\n" }
        #expect(get.hasPrefix("HTTP/1.0 200 OK\r\n") && get.hasSuffix("\r\n\r\na 1\n") && get.contains("Content-Length: 4\r\n"))
        let head = MetricsHTTPHandler.response(to: "HEAD /metrics HTTP/1.1") { "a 1\n" }
        #expect(head.hasPrefix("HTTP/1.0 200 OK\r\n") && head.hasSuffix("\r\n\r\n") && head.contains("Content-Length: 4\r\n"))
        #expect(MetricsHTTPHandler.response(to: "POST /metrics HTTP/1.1") { "" }.contains("405 Method Not Allowed"))
        #expect(MetricsHTTPHandler.response(to: "GET /other HTTP/1.1") { "" }.hasPrefix("HTTP/1.0 404"))
        #expect(MetricsHTTPHandler.response(to: "GET /metrics?x=1 HTTP/1.1") { "b 2\n" }.hasSuffix("b 2\n"))
        #expect(labelValue("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }

    @Test func adminAuditNamesTheAskerAndTheOutcome() {
        var audit = AdminAudit()
        audit.connected(7, asker: "local socket, uid 0 pid 42 (baton)")
        let query = audit.request(ClientRequest(id: 1, command: .list), client: 7, queriesLogged: true)
        #expect(query?.0 == .debug)
        #expect(audit.request(ClientRequest(id: 3, command: .list), client: 7, queriesLogged: false) == nil, "no query line built above debug")
        let change = audit.request(ClientRequest(id: 2, command: .ticket(name: "db", .move(to: "site-b", wait: true))), client: 7, queriesLogged: false)
        #expect(change?.0 == .notice && change?.2["admin.command"] == "move db --to site-b -w" && change?.2["admin.asker"] == "local socket, uid 0 pid 42 (baton)")
        #expect(audit.answer(ClientReply(id: 1, body: .tickets([])), client: 7) == nil, "queries are not followed up")
        let done = audit.answer(ClientReply(id: 2, body: .error("ticket is not owned")), client: 7)
        #expect(done?.0 == .warning && done?.1 == "admin command failed" && done?.2["admin.outcome"] == "ticket is not owned")
        #expect(audit.answer(ClientReply(id: 2, body: .error("again")), client: 7) == nil, "answered once")
        #expect(MemoryLayout<PeerCredentials>.size == 12, "struct ucred is three 32-bit fields")
    }

    @Test func theStatusPageEscapesWhatItShows() {
        let page = StatusPage(
            member: "site-<a>", site: true, version: "1", uptime: .seconds(3), siteQuorate: false,
            tickets: [TicketSummary(name: "t&1", manual: false, term: 4, leader: "site-\"b\"", leaseRemaining: .milliseconds(2500),
                                    commitPending: nil, grantedHere: false, standby: false, manualHolders: [])],
            peers: [], events: [StatusPage.Event(time: "T", text: "<script>alert(1)</script>")])
        let html = page.html
        #expect(html.contains("<td>t&amp;1</td><td>site-&quot;b&quot;</td><td>held elsewhere</td><td>2.5 s</td><td>4</td>"))
        #expect(html.contains("site-&lt;a&gt;") && !html.contains("<script>") && html.contains("WITHOUT quorum"))
        #expect(MetricsHTTPHandler.response(to: "GET /status HTTP/1.1", render: { "" }, status: { "<p>" }).contains("Content-Type: text/html"))
        #expect(MetricsHTTPHandler.response(to: "GET / HTTP/1.1", render: { "" }, status: { "<p>" }).hasSuffix("<p>"))
    }
}
