import CIB
import MonitoringText
import Scheduler

/// What baton-crmd serves at /metrics and /status (`--metrics HOST:PORT`), made from one
/// snapshot the event loop hands out: the live facts of this node and the CIB, read through the
/// same view as `baton crm status` (CrmMonView), so the page and crm_mon's text agree. Pure:
/// the caller gives the time and the process metrics' lines.
public struct CrmdMonitoring: Sendable {
    /// The live facts of this node's daemon (what the CIB does not say, or says later).
    public struct Facts: Sendable, Equatable {
        public var nodeName: String
        public var nodeID: UInt32
        public var isDC: Bool
        public var dcName: String?
        public var quorate: Bool
        /// Members of the CPG group (baton-crmd processes) in this node's view.
        public var members: Int
        /// Actions of the DC's transition run in flight or still to start (0 off the DC or
        /// between runs; the ones an abort skips are not counted).
        public var transitionActionsPending: Int
        /// The last finished transition run on this node as DC, nil before one.
        public var lastTransitionDuration: Duration?
        public var transitionsFinished: Int
        /// This node's executor: operations running and waiting.
        public var executorRunning: Int
        public var executorQueued: Int
        public var version: String
        public var uptime: Duration
        public init(nodeName: String, nodeID: UInt32, isDC: Bool, dcName: String?, quorate: Bool, members: Int,
                    transitionActionsPending: Int = 0, lastTransitionDuration: Duration? = nil, transitionsFinished: Int = 0,
                    executorRunning: Int = 0, executorQueued: Int = 0, version: String, uptime: Duration) {
            self.nodeName = nodeName
            self.nodeID = nodeID
            self.isDC = isDC
            self.dcName = dcName
            self.quorate = quorate
            self.members = members
            self.transitionActionsPending = transitionActionsPending
            self.lastTransitionDuration = lastTransitionDuration
            self.transitionsFinished = transitionsFinished
            self.executorRunning = executorRunning
            self.executorQueued = executorQueued
            self.version = version
            self.uptime = uptime
        }
    }

    public let facts: Facts
    public let view: CrmMonView
    /// Newest last.
    public let events: [RecentEvents.Event]
    /// This node's CIB version (admin_epoch, epoch, num_updates).
    public let cibVersion: CIBVersion

    /// `now`: seconds since the epoch (which failures have expired, as crm_mon decides).
    public init(facts: Facts, cib: CIB, cibVersion: CIBVersion, events: [RecentEvents.Event], now: Int) {
        self.facts = facts
        self.cibVersion = cibVersion
        self.view = CrmMonView(cib: cib, facts: .init(dcName: facts.dcName, quorate: facts.quorate), now: now)
        self.events = events
    }

    /// One primitive instance where it is (or is not) active: the rows of the page and the
    /// samples of `baton_crmd_resource_active`.
    public struct Placement: Sendable, Equatable {
        /// `group/primitive`, `clone/primitive` …; the id itself at the top level.
        public var resource: String
        public var agent: String
        public var role: String
        /// Empty when it runs nowhere.
        public var nodes: [String]
        public var failed: Bool
        public var managed: Bool
        public var blocked: Bool
    }

    /// Every primitive instance, in crm_mon's order, with its parents' ids before its own.
    public var placements: [Placement] {
        var rows: [Placement] = []
        func walk(_ resource: StatusSnapshot.Resource, path: String) {
            let name = path.isEmpty ? resource.id : path + "/" + resource.id
            if resource.children.isEmpty || resource.kind == .primitive {
                rows.append(Placement(resource: name, agent: resource.agent ?? resource.kind.rawValue, role: resource.role,
                                      nodes: resource.nodes, failed: resource.failed, managed: resource.managed, blocked: resource.blocked))
                return
            }
            for child in resource.children { walk(child, path: name) }
        }
        for resource in view.status.resources where !resource.isInternal { walk(resource, path: "") }
        return rows
    }

    // MARK: /metrics

    /// The Prometheus text format (`promtool check metrics` clean); `processLines` are
    /// ProcessMetrics' exposition, appended as they are.
    public func metricsText(processLines: [String]) -> String {
        var lines: [String] = []
        let label = MonitoringText.labelValue
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP baton_crmd_\(name) \(help)")
            lines.append("# TYPE baton_crmd_\(name) \(type)")
            for sample in samples { lines.append("baton_crmd_\(name)\(sample.labels) \(sample.value)") }
        }
        func flag(_ value: Bool) -> String { value ? "1" : "0" }
        metric("node_info", "gauge", "1, labelled with this node's name and Corosync node id.",
               [("{node=\"\(label(facts.nodeName))\",node_id=\"\(facts.nodeID)\"}", "1")])
        metric("is_dc", "gauge", "1 while this node is the DC.", [("", flag(facts.isDC))])
        metric("dc_info", "gauge", "1, labelled with the DC's name as this node sees it (dc=\"\": none yet).",
               [("{dc=\"\(label(facts.dcName ?? ""))\"}", "1")])
        metric("partition_quorate", "gauge", "1 while this node's partition has quorum.", [("", flag(facts.quorate))])
        metric("members", "gauge", "baton-crmd processes in this node's group view.", [("", "\(facts.members)")])
        let version = cibVersion
        metric("cib_admin_epoch", "gauge", "The CIB's admin_epoch on this node.", [("", "\(version.adminEpoch)")])
        metric("cib_epoch", "gauge", "The CIB's epoch on this node.", [("", "\(version.epoch)")])
        metric("cib_num_updates", "gauge", "The CIB's num_updates on this node.", [("", "\(version.numUpdates)")])
        let nodes = view.status.nodes
        metric("node_online", "gauge", "1 while the node is online (as the CIB's status says).",
               nodes.map { ("{node=\"\(label($0.name))\"}", flag($0.online)) })
        metric("node_standby", "gauge", "1 while the node is in standby.", nodes.map { ("{node=\"\(label($0.name))\"}", flag($0.standby)) })
        metric("node_maintenance", "gauge", "1 while the node is in maintenance.",
               nodes.map { ("{node=\"\(label($0.name))\"}", flag($0.maintenance)) })
        // Instances by role on each node (node="": not active anywhere).
        var byRole: [String: Int] = [:]
        var order: [String] = []
        let rows = placements
        for row in rows {
            for node in row.nodes.isEmpty ? [""] : row.nodes {
                let key = "{node=\"\(label(node))\",role=\"\(label(row.role))\"}"
                if byRole[key] == nil { order.append(key) }
                byRole[key, default: 0] += 1
            }
        }
        metric("resources", "gauge", "Primitive resource instances by role on each node (node=\"\": active nowhere).",
               order.map { ($0, "\(byRole[$0] ?? 0)") })
        metric("resource_active", "gauge", "1 for each node a primitive instance is active on, labelled with its role.",
               rows.flatMap { row in
                   row.nodes.map { ("{resource=\"\(label(row.resource))\",node=\"\(label($0))\",role=\"\(label(row.role))\"}", "1") }
               })
        metric("resource_failed", "gauge", "1 while a primitive instance is failed.",
               rows.map { ("{resource=\"\(label($0.resource))\"}", flag($0.failed)) })
        metric("resource_failures", "gauge", "Fail count of a resource on a node (crm_mon -f's Migration Summary; not named *_count, which the text format keeps for summaries).",
               view.status.failCounts.flatMap { node in
                   node.resources.map { ("{resource=\"\(label($0.resource))\",node=\"\(label(node.node))\"}", "\($0.failCount)") }
               })
        metric("transition_actions_pending", "gauge", "Actions of the DC's transition run in flight or still to start (0 off the DC).",
               [("", "\(facts.transitionActionsPending)")])
        metric("transitions_finished_total", "counter", "Transition runs this node finished as DC.", [("", "\(facts.transitionsFinished)")])
        if let duration = facts.lastTransitionDuration {
            metric("last_transition_duration_seconds", "gauge", "How long this node's last finished transition run took, as DC.",
                   [("", Self.seconds(duration))])
        }
        metric("executor_operations_running", "gauge", "Resource agent operations running on this node.", [("", "\(facts.executorRunning)")])
        metric("executor_operations_queued", "gauge", "Resource agent operations waiting on this node (one at a time per resource).",
               [("", "\(facts.executorQueued)")])
        metric("tickets_granted", "gauge", "1 while the ticket is granted to this site (the CIB's ticket state).",
               view.tickets.map { ("{ticket=\"\(label($0.id))\"}", flag($0.granted)) })
        metric("build_info", "gauge", "1, labelled with the version of this baton-crmd.", [("{version=\"\(label(facts.version))\"}", "1")])
        metric("uptime_seconds", "gauge", "Seconds since baton-crmd started.", [("", Self.seconds(facts.uptime))])
        return (lines + processLines).joined(separator: "\n") + "\n"
    }

    /// A span in seconds with millisecond precision (`12.345`).
    static func seconds(_ span: Duration) -> String {
        let milliseconds = span.components.seconds * 1000 + span.components.attoseconds / 1_000_000_000_000_000
        let fraction = milliseconds % 1000
        return "\(milliseconds / 1000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)"
    }

    // MARK: /status

    /// The read-only page (batond's look): nodes, resources and where they run, tickets, fail
    /// counts, failed actions and the recent events. Everything from the CIB or the daemon is
    /// HTML-escaped; no script; a refresh every 5 s.
    public var statusHTML: String {
        let e = MonitoringText.escapeHTML
        let dc = view.dcName
        var nodeRows: [String] = []
        for node in view.status.nodes {
            let state = CrmMonView.nodeState(node)
            let css = node.online ? (node.standby || node.maintenance ? "elsewhere" : "here") : "down"
            nodeRows.append("<tr class=\"\(css)\"><td>\(e(node.name))\(node.name == dc ? " <b>(DC)</b>" : "")</td><td>\(e(state))</td>"
                            + "<td>\(node.standby ? "yes" : "no")</td><td>\(node.maintenance ? "yes" : "no")</td></tr>")
        }
        var resourceRows: [String] = []
        for row in placements {
            let css = row.failed ? "down" : (row.nodes.isEmpty ? "none" : "here")
            var notes: [String] = []
            if row.failed { notes.append("FAILED") }
            if !row.managed { notes.append("unmanaged") }
            if row.blocked { notes.append("blocked") }
            resourceRows.append("<tr class=\"\(css)\"><td>\(e(row.resource))</td><td>\(e(row.agent))</td><td>\(e(row.role))</td>"
                                + "<td>\(row.nodes.isEmpty ? "–" : e(row.nodes.joined(separator: ", ")))</td><td>\(e(notes.joined(separator: ", ")))</td></tr>")
        }
        let ticketRows = view.tickets.map { ticket in
            "<tr class=\"\(ticket.granted ? "here" : "none")\"><td>\(e(ticket.id))</td><td>\(ticket.granted ? "granted" : "revoked")</td>"
                + "<td>\(ticket.standby ? "standby" : "–")</td></tr>"
        }
        let failRows = view.status.failCounts.flatMap { node in
            node.resources.map { count in
                "<tr class=\"down\"><td>\(e(count.resource))</td><td>\(e(node.node))</td><td>\(count.failCount)</td>"
                    + "<td>\(count.migrationThreshold)</td><td class=\"time\">\(count.lastFailure > 0 ? e(CrmMonView.utcTime(count.lastFailure)) : "–")</td></tr>"
            }
        }
        let failedActionRows = view.failures.map { failure in
            "<tr class=\"down\"><td>\(e(failure.key))</td><td>\(e(failure.node))</td><td>\(failure.rc)</td><td>\(e(failure.exitReason ?? ""))</td></tr>"
        }
        let eventRows = events.reversed().map { "<tr><td class=\"time\">\(e(CrmMonView.utcTime($0.seconds)))</td><td>\(e($0.text))</td></tr>" }
        let quorum = facts.quorate ? "<span class=\"ok\">quorate</span>" : "<span class=\"bad\">WITHOUT quorum</span>"
        let dcText = dc.map { "DC: <b id=\"dc\">\(e($0))</b>" + (facts.isDC ? " (this node)" : "") } ?? "<span class=\"bad\">no DC yet</span>"
        let version = cibVersion
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <title>Baton crmd: \(e(facts.nodeName))</title>
            <style>
            \(MonitoringText.pageStyle)
            </style></head><body>
            <h1 id="node">\(e(facts.nodeName)) <small>(baton-crmd)</small></h1>
            <p class="summary">baton-crmd \(e(facts.version)), up \(Self.seconds(facts.uptime)) s; \(dcText); partition \(quorum); \
            \(facts.members) members; CIB \(version.adminEpoch).\(version.epoch).\(version.numUpdates). This page refreshes every 5 s.</p>
            <h2>Nodes</h2>
            <table id="nodes"><tr><th>node</th><th>state</th><th>standby</th><th>maintenance</th></tr>
            \(nodeRows.joined(separator: "\n"))
            </table>
            <h2>Resources</h2>
            <table id="resources"><tr><th>resource</th><th>agent</th><th>role</th><th>where</th><th>notes</th></tr>
            \(resourceRows.joined(separator: "\n"))
            </table>
            <h2>Tickets</h2>
            <table id="tickets"><tr><th>ticket</th><th>state</th><th>standby</th></tr>
            \(ticketRows.joined(separator: "\n"))
            </table>
            <h2>Fail counts</h2>
            <table id="failcounts"><tr><th>resource</th><th>node</th><th>fail count</th><th>migration-threshold</th><th>last failure (UTC)</th></tr>
            \(failRows.joined(separator: "\n"))
            </table>
            <h2>Failed resource actions</h2>
            <table id="failed"><tr><th>operation</th><th>node</th><th>rc</th><th>exit reason</th></tr>
            \(failedActionRows.joined(separator: "\n"))
            </table>
            <h2>Recent events</h2>
            <table id="events"><tr><th>time (UTC)</th><th>event</th></tr>
            \(eventRows.joined(separator: "\n"))
            </table>
            </body></html>

            """
    }
}

/// The last events an operator wants to see on the page (transitions, fencing, nodes joining
/// and leaving, DC and quorum changes), newest last, at most `capacity`: the oldest goes first.
public struct RecentEvents: Sendable, Equatable {
    public struct Event: Sendable, Equatable {
        /// Seconds since the epoch.
        public var seconds: Int
        public var text: String
        public init(seconds: Int, text: String) {
            self.seconds = seconds
            self.text = text
        }
    }

    public let capacity: Int
    public private(set) var events: [Event] = []
    /// Events recorded, dropped ones included.
    public private(set) var recorded = 0
    /// Bytes of one event's text kept (a long reason is cut).
    public static let textBytesMax = 400

    public init(capacity: Int = 50) {
        precondition(capacity > 0, "RecentEvents: capacity \(capacity) must be positive")
        self.capacity = capacity
    }

    public mutating func record(seconds: Int, _ text: String) {
        var kept = text
        if kept.utf8.count > Self.textBytesMax {
            kept = String(decoding: Array(kept.utf8.prefix(Self.textBytesMax)), as: UTF8.self) + "…"
        }
        if events.count == capacity { events.removeFirst() }
        events.append(Event(seconds: seconds, text: kept))
        recorded += 1
        precondition(events.count <= capacity, "RecentEvents: \(events.count) events over the capacity \(capacity)")
    }
}
