import BatonVersion
import MonitoringText
import ProcessStats
import TicketElection

/// batond's counters; rendered in the Prometheus text format at /metrics.
struct DaemonMetrics {
    var framesSent = 0
    var framesReceived = 0
    var framesRefused = 0
    var framesDroppedDisconnected = 0
    var framesDroppedUnpersisted = 0
    var messagesSent = 0
    var messagesReceived = 0
    var stateWrites = 0
    var stateCompactions = 0
    var grantsApplied = 0
    var expiresRefreshes = 0
    var revokesApplied = 0
    var backEndFailures = 0
    var handlerRuns = 0
    var handlerFailures = 0
    var clientRequests = 0
    var connectionsMade = 0
    var elections = 0
    var leaderships = 0
    var leasesLost = 0
    var memberConnectionsClosedByLimit = 0
    var remoteAdminIdleClosed = 0
    var adminSocketConnectionsRefused = 0
    var metricsConnectionsRefused = 0
    var datagramsSent = 0
    var datagramsReceived = 0
    /// Datagrams that did not open (garbage, unknown key, forged) or held a wrong frame.
    var datagramsRefused = 0
    var datagramsReplayed = 0
    /// Frames sent as a datagram and over TCP too: no datagram from that peer lately.
    var datagramsAlsoOverTCP = 0

    mutating func count(_ event: ElectionEvent) {
        switch event {
        case .campaignStarted: elections += 1
        case .becameLeader: leaderships += 1
        case .leaseLost: leasesLost += 1
        default: break
        }
    }
}

extension TicketDaemon {
    func metricsText() -> String {
        confined()
        let now = SystemClock.now()
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP baton_\(name) \(help)")
            lines.append("# TYPE baton_\(name) \(type)")
            for sample in samples { lines.append("baton_\(name)\(sample.labels) \(sample.value)") }
        }
        let me = plan.selfEndpoint.name
        let summaries = core.ticketNames.map { core.summary(of: $0, now: now) }
        metric("tickets_held", "gauge", "Tickets granted at this site now.", [("{member=\"\(me)\"}", "\(summaries.filter(\.grantedHere).count)")])
        metric("ticket_granted", "gauge", "1 when the ticket is granted at this site.",
               summaries.map { ("{ticket=\"\($0.name)\"}", $0.grantedHere ? "1" : "0") })
        metric("ticket_term", "gauge", "The ticket's election term as this member knows it.", summaries.map { ("{ticket=\"\($0.name)\"}", "\($0.term)") })
        metric("ticket_lease_remaining_seconds", "gauge", "Lease time left as this member sees it (0: none).",
               summaries.map { ("{ticket=\"\($0.name)\"}", "\(Double($0.leaseRemaining?.nanoseconds ?? 0) / 1e9)") })
        metric("ticket_leader_info", "gauge", "1 for the member this member sees holding the ticket (leader=\"\": none known).",
               summaries.map { ("{ticket=\"\(labelValue($0.name))\",leader=\"\(labelValue($0.leader ?? ""))\"}", "1") })
        let peers = peerSummaries(now: now)
        metric("peer_connected", "gauge", "1 when this member's connection to the peer is up.",
               peers.map { ("{peer=\"\($0.name)\"}", $0.connected ? "1" : "0") })
        metric("peer_last_heard_seconds", "gauge", "Seconds since a frame or datagram of the peer last arrived (absent: never since start).",
               peers.compactMap { peer in peer.lastHeard.map { ("{peer=\"\(peer.name)\"}", "\(Double($0.nanoseconds) / 1e9)") } })
        if let siteQuorate {
            metric("site_quorate", "gauge", "1 while the site's cluster (Corosync) has quorum.", [("", siteQuorate ? "1" : "0")])
        }
        metric("certificate_expiry_timestamp_seconds", "gauge",
               "When a certificate stops being valid (notAfter, seconds since 1970): this member's own and each of the CA bundle.",
               tls.context.certificateExpiries.map {
                   ("{certificate=\"\($0.role.rawValue)\",name=\"\(labelValue($0.names.joined(separator: ",")))\"}", "\($0.notAfter)")
               })
        metric("build_info", "gauge", "1, labelled with the version of this batond.", [("{version=\"\(BatonVersion.version)\"}", "1")])
        let counters: [(String, String, Int)] = [
            ("elections_total", "Campaigns started here.", metrics.elections),
            ("leaderships_total", "Times this site became leader.", metrics.leaderships),
            ("leases_lost_total", "Leases this site lost without renewal.", metrics.leasesLost),
            ("frames_sent_total", "Frames sent to peers.", metrics.framesSent),
            ("frames_received_total", "Frames received from peers.", metrics.framesReceived),
            ("frames_refused_total", "Frames or connections refused (garbage, wrong identity).", metrics.framesRefused),
            ("frames_dropped_total", "Frames not sent: peer disconnected or state not written.",
             metrics.framesDroppedDisconnected + metrics.framesDroppedUnpersisted),
            ("messages_sent_total", "Election messages sent (many per frame).", metrics.messagesSent),
            ("messages_received_total", "Election messages received.", metrics.messagesReceived),
            ("state_writes_total", "State journal writes (each fsynced).", metrics.stateWrites),
            ("state_compactions_total", "State journal compactions (all tickets rewritten).", metrics.stateCompactions),
            ("site_grants_total", "Grants written to the site back end.", metrics.grantsApplied),
            ("site_expires_refreshes_total", "Lease ends (booth's expires) rewritten to the site back end at renewals.", metrics.expiresRefreshes),
            ("site_revokes_total", "Revokes written to the site back end.", metrics.revokesApplied),
            ("site_back_end_failures_total", "Failed site back end writes.", metrics.backEndFailures),
            ("handler_runs_total", "before-acquire-handler runs.", metrics.handlerRuns),
            ("handler_failures_total", "before-acquire-handler failures.", metrics.handlerFailures),
            ("client_requests_total", "Admin requests on the local socket.", metrics.clientRequests),
            ("connections_total", "Outgoing peer connections established.", metrics.connectionsMade),
            ("datagrams_sent_total", "Frames sent to peers as sealed datagrams.", metrics.datagramsSent),
            ("datagrams_received_total", "Sealed datagrams received and handled.", metrics.datagramsReceived),
            ("datagrams_refused_total", "Datagrams refused: not sealed under a member's key, or a wrong frame.", metrics.datagramsRefused),
            ("datagrams_replayed_total", "Datagrams dropped as replays (or older than the replay window).", metrics.datagramsReplayed),
            ("datagrams_also_over_tcp_total", "Frames sent over TCP as well: no datagram from that peer within a renewal period.", metrics.datagramsAlsoOverTCP),
        ]
        for (name, help, value) in counters { metric(name, "counter", help, [("", "\(value)")]) }
        let gate = handshakeGate.counts
        metric("handshakes_in_progress", "gauge", "Accepted member-port connections in their TLS handshake (limit \(ConnectionLimits.handshakesInProgressMax)).",
               [("", "\(gate.inProgress)")])
        metric("member_connections", "gauge", "Verified connections members hold to this member.",
               [("", "\(memberConnections.values.reduce(0) { $0 + $1.count })")])
        metric("connections_refused_total", "counter", "Connections closed by a limit, by limit.", [
            ("{reason=\"handshakes_per_source\"}", "\(gate.refusedPerSource)"),
            ("{reason=\"handshakes_in_progress\"}", "\(gate.evicted)"),
            ("{reason=\"member_connections\"}", "\(metrics.memberConnectionsClosedByLimit)"),
            ("{reason=\"admin_socket\"}", "\(metrics.adminSocketConnectionsRefused)"),
            ("{reason=\"metrics\"}", "\(metrics.metricsConnectionsRefused)"),
        ])
        metric("remote_admin_idle_closed_total", "counter", "Remote admin connections closed when idle.", [("", "\(metrics.remoteAdminIdleClosed)")])
        metric("uptime_seconds", "gauge", "Seconds since batond started.", [("", "\(now.since(startedAt).nanoseconds / 1_000_000_000)")])
        if let process = ProcessMetrics.current() { lines += process.exposition }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A label value in the text format: backslash, double quote and line feed escaped.
func labelValue(_ text: String) -> String { MonitoringText.labelValue(text) }
