import MonitoringText
import TicketElection
import TicketWire

/// batond's read-only status page, served beside /metrics (`GET /` or `/status`), for the
/// operator who would rather look than read: each ticket and its holder as this member sees
/// it, the peers, the site's quorum and the recent events. Plain HTML and CSS, no script, a
/// refresh every 5 s; every value from the daemon is HTML-escaped.
struct StatusPage {
    struct Event: Equatable {
        /// UTC, as the log writes it.
        let time: String
        let text: String
    }

    var member: String
    var site: Bool
    var version: String
    var uptime: Duration
    var siteQuorate: Bool?
    var tickets: [TicketSummary]
    var peers: [PeerSummary]
    /// Newest last.
    var events: [Event]

    /// Events kept for the page.
    static let eventsKept = 50

    static func escape(_ text: String) -> String { MonitoringText.escapeHTML(text) }

    static func seconds(_ span: Duration?) -> String {
        guard let span else { return "–" }
        let tenths = span.nanoseconds / 100_000_000
        return "\(tenths / 10).\(tenths % 10) s"
    }

    var html: String {
        let e = StatusPage.escape
        var rows: [String] = []
        for ticket in tickets {
            let holder = ticket.leader ?? "none"
            let state = ticket.grantedHere ? (ticket.standby ? "granted here (standby)" : "granted here") : (ticket.leader == nil ? "not granted" : "held elsewhere")
            let css = ticket.grantedHere ? "here" : (ticket.leader == nil ? "none" : "elsewhere")
            rows.append("<tr class=\"\(css)\"><td>\(e(ticket.name))</td><td>\(e(holder))</td><td>\(e(state))</td>"
                        + "<td>\(StatusPage.seconds(ticket.leaseRemaining))</td><td>\(ticket.term)</td><td>\(ticket.manual ? "manual" : "auto")</td></tr>")
        }
        var peerRows: [String] = []
        for peer in peers {
            peerRows.append("<tr class=\"\(peer.connected ? "up" : "down")\"><td>\(e(peer.name))</td><td>\(peer.site ? "site" : "arbitrator")</td>"
                            + "<td>\(e(peer.address))</td><td>\(peer.connected ? "connected" : "NOT connected")</td>"
                            + "<td>\(peer.lastHeard.map { StatusPage.seconds($0) + " ago" } ?? "never")</td></tr>")
        }
        let quorum = siteQuorate.map { $0 ? "<span class=\"ok\">quorate</span>" : "<span class=\"bad\">WITHOUT quorum</span>" } ?? "not followed"
        let eventRows = events.reversed().map { "<tr><td class=\"time\">\(e($0.time))</td><td>\(e($0.text))</td></tr>" }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <title>Baton: \(e(member))</title>
            <style>
            \(MonitoringText.pageStyle)
            </style></head><body>
            <h1 id="member">\(e(member)) <small>(\(site ? "site" : "arbitrator"))</small></h1>
            <p class="summary">batond \(e(version)), up \(StatusPage.seconds(uptime)); site quorum: \(quorum). This page refreshes every 5 s.</p>
            <h2>Tickets, as \(e(member)) sees them</h2>
            <table id="tickets"><tr><th>ticket</th><th>holder</th><th>here</th><th>lease left</th><th>term</th><th>mode</th></tr>
            \(rows.joined(separator: "\n"))
            </table>
            <h2>Peers</h2>
            <table id="peers"><tr><th>member</th><th>role</th><th>address</th><th>connection</th><th>last heard</th></tr>
            \(peerRows.joined(separator: "\n"))
            </table>
            <h2>Recent events</h2>
            <table id="events"><tr><th>time (UTC)</th><th>event</th></tr>
            \(eventRows.joined(separator: "\n"))
            </table>
            </body></html>

            """
    }
}
