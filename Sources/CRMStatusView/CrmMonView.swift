import CIB
import Scheduler

/// What admins look at first: the text of Pacemaker 2.1.5's `crm_mon -1` (and `-1 -r`) made
/// from a CIB (configuration + status), optionally corrected by what the live daemon knows
/// better than the CIB (DC, quorum). Pure: the caller gives the time ("Last updated" is the
/// only line that depends on when it runs) and how to print a time (crm_mon uses local time).
///
/// The shapes follow Pacemaker's lib/pengine/pe_output.c (cluster summary, node list, failed
/// actions), native.c (a primitive's line), group.c and clone.c (their headers and lists).
public struct CrmMonView: Sendable {
    /// What the daemon knows live; each field overrides the CIB's when set.
    public struct LiveFacts: Sendable, Equatable {
        public var dcName: String?
        /// The DC's version string (crm_mon prints the DC's `dc-version`).
        public var dcVersion: String?
        public var quorate: Bool?
        public init(dcName: String? = nil, dcVersion: String? = nil, quorate: Bool? = nil) {
            self.dcName = dcName
            self.dcVersion = dcVersion
            self.quorate = quorate
        }
    }

    public struct Options: Sendable, Equatable {
        /// `-r`: inactive resources too ("Full List of Resources").
        public var inactive: Bool
        /// `-c`: the tickets section.
        public var tickets: Bool
        /// `-f`: the fail counts ("Migration Summary").
        public var failcounts: Bool
        /// This node's quorum device (baton-qdevice), when it has one: a line after the DC's
        /// (crm_mon has none; `corosync-quorumtool -s` and `pcs quorum device status` show it).
        public var quorumDevice: QuorumDeviceView?
        public init(inactive: Bool = false, tickets: Bool = false, failcounts: Bool = false, quorumDevice: QuorumDeviceView? = nil) {
            self.inactive = inactive
            self.tickets = tickets
            self.failcounts = failcounts
            self.quorumDevice = quorumDevice
        }
    }

    /// What `baton crm status` shows of this node's quorum device.
    public struct QuorumDeviceView: Sendable, Equatable, Codable {
        public var model: String
        public var arbitrator: String
        /// disconnected, opening, registering or connected.
        public var connection: String
        /// The arbitrator's vote for the current ring: ack, nack, waiting or none.
        public var vote: String
        public var ring: String?
        /// The device's vote counts at votequorum (its last poll cast it).
        public var castsVote: Bool
        public var votequorumStalled: Bool
        /// Set when the device's status socket did not answer (the other fields are empty).
        public var unreachable: String?

        public init(model: String, arbitrator: String, connection: String, vote: String, ring: String?, castsVote: Bool,
                    votequorumStalled: Bool, unreachable: String? = nil) {
            self.model = model
            self.arbitrator = arbitrator
            self.connection = connection
            self.vote = vote
            self.ring = ring
            self.castsVote = castsVote
            self.votequorumStalled = votequorumStalled
            self.unreachable = unreachable
        }

        public static func unreachable(_ reason: String) -> QuorumDeviceView {
            QuorumDeviceView(model: "baton", arbitrator: "", connection: "", vote: "", ring: nil, castsVote: false, votequorumStalled: false,
                             unreachable: reason)
        }

        /// `  * Quorum device: baton, arbitrator 10.231.0.254:9930 connected, vote ACK for ring 1.4, counted`
        public var line: String {
            if let unreachable { return "  * Quorum device: NOT ANSWERING (\(unreachable))" }
            var text = "  * Quorum device: \(model), arbitrator \(arbitrator) \(connection), vote \(vote.uppercased())"
            if let ring { text += " for ring \(ring)" }
            text += castsVote ? ", counted" : ", NOT counted"
            if votequorumStalled { text += ", votequorum NOT ANSWERING" }
            return text
        }
    }

    public let cib: CIB
    public let status: StatusSnapshot
    public let facts: LiveFacts
    public let failures: [FailedOperation]

    /// `now` (seconds since the epoch) decides which failures have expired (failure-timeout),
    /// as crm_mon reads them at the time it runs.
    public init(cib: CIB, facts: LiveFacts = LiveFacts(), now: Int? = nil) {
        self.cib = cib
        self.status = Scheduler.currentStatus(cib, now: now)
        self.facts = facts
        let online = Set(status.nodes.filter(\.online).map(\.name))
        self.failures = FailedOperation.all(in: cib, onlineNodes: online)
    }

    // MARK: summary

    /// The DC's name: the live one, else the node whose id is the CIB's dc-uuid.
    public var dcName: String? {
        if let name = facts.dcName { return name }
        guard let uuid = cib.dcUUID else { return nil }
        return status.nodes.first { $0.id == uuid }?.name
    }

    public var quorate: Bool { facts.quorate ?? cib.haveQuorum }

    /// The cluster-infrastructure option (crm_mon's get_cluster_stack), "unknown" without it.
    public var stack: String { cib.configuration.clusterProperty("cluster-infrastructure") ?? "unknown" }

    public var dcVersion: String? { facts.dcVersion ?? cib.configuration.clusterProperty("dc-version") }

    /// "Last change": cib-last-written as the CIB has it, with who, how and where.
    public var lastChange: String {
        func attribute(_ name: String) -> String? { cib.attributes.first { $0.name == name }?.value }
        var text = attribute("cib-last-written") ?? ""
        if let user = attribute("update-user") { text += " by \(user)" }
        if let client = attribute("update-client") { text += " via \(client)" }
        if let origin = attribute("update-origin") { text += " on \(origin)" }
        return text
    }

    /// crm_mon's counts: primitives (orphans only when active), disabled and blocked ones.
    public var counts: (instances: Int, disabled: Int, blocked: Int) {
        var result = (instances: 0, disabled: 0, blocked: 0)
        func walk(_ resource: StatusSnapshot.Resource, promotable: Bool) {
            if resource.children.isEmpty && resource.kind == .primitive {
                guard !resource.orphan || resource.role != "Stopped" else { return }
                result.instances += 1
                if Self.isDisabled(resource, promotable: promotable) { result.disabled += 1 }
                if resource.blocked { result.blocked += 1 }
                return
            }
            for child in resource.children { walk(child, promotable: promotable) }
        }
        for resource in status.resources { walk(resource, promotable: resource.promotable) }
        return result
    }

    static func isDisabled(_ resource: StatusSnapshot.Resource, promotable: Bool) -> Bool {
        switch resource.targetRole?.lowercased() {
        case "stopped": return true
        case "unpromoted", "slave": return promotable
        default: return false
        }
    }

    // MARK: text

    /// The whole text; `lastUpdated` is the "Last updated" line's value, `timeText` prints a
    /// time (seconds since the epoch) as crm_mon does (`ctime`'s shape, local time).
    public func text(options: Options = Options(), lastUpdated: String, timeText: (Int) -> String) -> String {
        var lines: [String] = ["Cluster Summary:", "  * Stack: \(stack)"]
        if let dcName {
            lines.append("  * Current DC: \(dcName) (version \(dcVersion ?? "unknown")) - partition \(quorate ? "with" : "WITHOUT") quorum")
        } else {
            lines.append("  * Current DC: NONE")
        }
        if let device = options.quorumDevice { lines.append(device.line) }
        lines.append("  * Last updated: \(lastUpdated)")
        lines.append("  * Last change:  \(lastChange)")
        lines.append("  * \(status.nodes.count) node\(status.nodes.count == 1 ? "" : "s") configured")
        let counts = self.counts
        let instances = "\(counts.instances) resource instance\(counts.instances == 1 ? "" : "s") configured"
        switch (counts.disabled, counts.blocked) {
        case (0, 0): lines.append("  * \(instances)")
        case (let disabled, 0): lines.append("  * \(instances) (\(disabled) DISABLED)")
        case (0, let blocked): lines.append("  * \(instances) (\(blocked) BLOCKED from further action due to failure)")
        case (let disabled, let blocked):
            lines.append("  * \(instances) (\(disabled) DISABLED, \(blocked) BLOCKED from further action due to failure)")
        }
        if status.maintenanceMode {
            lines.append("")
            lines.append("              *** Resource management is DISABLED ***")
            lines.append("  The cluster will not attempt to start, stop or recover services")
        } else if status.stopAllResources {
            lines.append("")
            lines.append("    *** Resource management is DISABLED ***")
            lines.append("  The cluster will keep all resources stopped")
        }
        lines.append("")
        lines += nodeList()
        lines.append("")
        lines += ResourceList(status: status, failures: failures, inactive: options.inactive).lines()
        if options.failcounts && status.migrationSummaryShown {
            lines.append("")
            lines += migrationSummary(timeText: timeText)
        }
        let failed = failures.filter { !$0.isMaskedProbe }
        if !failed.isEmpty {
            lines.append("")
            lines.append("Failed Resource Actions:")
            lines += failed.map { "  * " + $0.friendlyText(timeText: timeText) }
        }
        if options.tickets {
            lines.append("")
            lines += ticketList(timeText: timeText)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "Migration Summary:" as pe_output.c's node-summary with resource-history lines: each
    /// online node with a fail count, each of its resources with one.
    func migrationSummary(timeText: (Int) -> String) -> [String] {
        var lines = ["Migration Summary:"]
        for node in status.failCounts {
            lines.append("  * Node: \(node.node):")
            for entry in node.resources {
                var line = "    * \(entry.resource): migration-threshold=\(entry.migrationThreshold)"
                if entry.failCount > 0 { line += " fail-count=\(entry.failCount)" }
                if entry.lastFailure > 0 { line += " last-failure='\(timeText(entry.lastFailure))'" }
                lines.append(line)
            }
        }
        return lines
    }

    /// "Node List:" as pe_output.c's node_list_text: nodes in a special state one per line,
    /// the others summarized by state.
    func nodeList() -> [String] {
        var lines = ["Node List:"]
        var online: [String] = [], offline: [String] = [], remoteOnline: [String] = []
        var remoteOffline: [String] = [], guestOnline: [String] = []
        for node in status.nodes {
            if node.unclean || node.pending || (node.standbyOnFail && node.online) || node.standby || node.maintenance {
                let kind = node.kind == .guest ? "GuestNode" : node.kind == .remote ? "RemoteNode" : "Node"
                lines.append("  * \(kind) \(node.name): \(Self.nodeState(node))")
            } else if node.online {
                switch node.kind {
                case .guest: guestOnline.append(node.name)
                case .remote: remoteOnline.append(node.name)
                case .member: online.append(node.name)
                }
            } else {
                switch node.kind {
                case .remote: remoteOffline.append(node.name)
                case .guest: break   // offline guests are not shown
                case .member: offline.append(node.name)
                }
            }
        }
        for (title, names) in [("Online", online), ("OFFLINE", offline), ("RemoteOnline", remoteOnline),
                               ("RemoteOFFLINE", remoteOffline), ("GuestOnline", guestOnline)] where !names.isEmpty {
            lines.append("  * \(title): [ \(names.joined(separator: " ")) ]")
        }
        return lines
    }

    /// pe_output.c's node_text_status.
    static func nodeState(_ node: StatusSnapshot.Node) -> String {
        if node.unclean { return node.online ? "UNCLEAN (online)" : node.pending ? "UNCLEAN (pending)" : "UNCLEAN (offline)" }
        if node.pending { return "pending" }
        if node.standbyOnFail && node.online { return "standby (on-fail)" }
        if node.standby {
            guard node.online else { return "OFFLINE (standby)" }
            return node.hasActiveResources ? "standby (with active resources)" : "standby"
        }
        if node.maintenance { return node.online ? "maintenance" : "OFFLINE (maintenance)" }
        return node.online ? "online" : "OFFLINE"
    }

    /// `crm_mon -c`'s "Tickets:" section (pe_output.c's ticket_text): the tickets the status
    /// records and those constraints name (revoked until granted), by name.
    func ticketList(timeText: (Int) -> String) -> [String] {
        let tickets = self.tickets
        guard !tickets.isEmpty else { return [] }
        var lines = ["Tickets:"]
        for ticket in tickets {
            var line = "  * \(ticket.id): \(ticket.granted ? "granted" : "revoked")"
            if ticket.standby { line += " [standby]" }
            if let change = ticket.lastGranted { line += " last-granted=\"\(timeText(change))\"" }
            lines.append(line)
        }
        return lines
    }
}

extension CrmMonView {
    /// The same view as data (`baton crm status --output json`): what the text shows, typed.
    public struct Report: Sendable, Equatable, Codable {
        public struct Summary: Sendable, Equatable, Codable {
            public var stack: String
            public var dcName: String?
            public var dcVersion: String?
            public var quorate: Bool
            public var lastChange: String
            public var nodesConfigured: Int
            public var resourceInstancesConfigured: Int
            public var disabled: Int
            public var blocked: Int
            public var maintenanceMode: Bool
            public var stopAllResources: Bool
        }
        public struct NodeReport: Sendable, Equatable, Codable {
            public var node: StatusSnapshot.Node
            /// The word crm_mon shows for it (`online`, `standby`, `UNCLEAN (offline)`…).
            public var state: String
        }
        public struct Ticket: Sendable, Equatable, Codable {
            public var id: String
            public var granted: Bool
            public var standby: Bool
            public var lastGranted: Int?
        }
        public var summary: Summary
        public var nodes: [NodeReport]
        public var resources: [StatusSnapshot.Resource]
        public var failedActions: [FailedOperation]
        public var tickets: [Ticket]
        /// This node's quorum device, when it has one.
        public var quorumDevice: QuorumDeviceView?
    }

    public func report(quorumDevice: QuorumDeviceView? = nil) -> Report {
        let counts = self.counts
        let summary = Report.Summary(
            stack: stack, dcName: dcName, dcVersion: dcName == nil ? nil : dcVersion, quorate: quorate,
            lastChange: lastChange, nodesConfigured: status.nodes.count, resourceInstancesConfigured: counts.instances,
            disabled: counts.disabled, blocked: counts.blocked, maintenanceMode: status.maintenanceMode,
            stopAllResources: status.stopAllResources)
        return Report(summary: summary, nodes: status.nodes.map { Report.NodeReport(node: $0, state: Self.nodeState($0)) },
                      resources: status.resources, failedActions: failures.filter { !$0.isMaskedProbe }, tickets: tickets,
                      quorumDevice: quorumDevice)
    }

    /// Tickets from the status section, and those only rsc_ticket constraints name, in the
    /// order crm_mon's hash table gives them.
    public var tickets: [Report.Ticket] {
        var byID: [String: Report.Ticket] = [:]
        var inserted: [String] = []
        for state in cib.status.tickets?.states ?? [] where byID[state.id] == nil {
            inserted.append(state.id)
            byID[state.id] = Report.Ticket(id: state.id, granted: isTrue(state.granted ?? ""), standby: isTrue(state.standby ?? ""),
                                           lastGranted: state.lastGranted)
        }
        for case .ticket(let constraint) in cib.configuration.constraints where byID[constraint.ticket] == nil {
            inserted.append(constraint.ticket)
            byID[constraint.ticket] = Report.Ticket(id: constraint.ticket, granted: false, standby: false, lastGranted: nil)
        }
        return GLibHashOrder.order(inserted).compactMap { byID[$0] }
    }
}

extension CrmMonView {
    /// A time as crm_mon prints it (`ctime`'s shape, "Sun Dec  6 13:40:00 2026") in UTC: the
    /// differential runs crm_mon with TZ=UTC and prints ours with this.
    public static func utcTime(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7   // 1970-01-01 was a Thursday (4)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let dayText = day < 10 ? " \(day)" : "\(day)"
        precondition((1...12).contains(month) && (0...6).contains(weekday), "utcTime: civil date of \(seconds)")
        return "\(weekdays[weekday]) \(months[month - 1]) \(dayText) \(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60)) \(year)"
    }
}
