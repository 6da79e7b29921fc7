import ClusterIdentity

/// The quorum device's admin view (`baton-qdevice status`, `baton-qdevice metrics`), made
/// from the cores' state: what a node's device holds and casts, and what the arbitrator
/// decided per site and ring. Rendered here as text and as Prometheus text; Codable, so the
/// shell prints it as JSON (`--output json`) with the same fields.

/// One node's device.
public struct NodeDeviceStatus: Sendable, Codable, Equatable {
    public var clusterName: String
    public var nodeID: UInt32
    /// Registered with votequorum as the device (model baton).
    public var registered: Bool
    /// host:port of the arbitrator.
    public var arbitrator: String
    /// disconnected, opening, registering or connected.
    public var connection: String
    /// votequorum's current ring (nil: none yet) and its members.
    public var ring: String?
    public var members: [UInt32]
    public var ringAgeSeconds: Double?
    /// The arbitrator's vote for the current ring: ack, nack, or waiting (asked, not yet
    /// answered); none before the first ring.
    public var vote: String
    /// What the device polled last (true: the device's vote counts at votequorum) and for
    /// which ring; how long it has cast that value.
    public var castsVote: Bool
    public var lastPollRing: String?
    public var castUnchangedSeconds: Double?
    /// From the last ring to the arbitrator's vote for it.
    public var lastDecisionSeconds: Double?
    public var pollsYes: Int
    public var pollsNo: Int
    public var ringChanges: Int
    public var disconnects: Int
    /// votequorum has not answered a call within the stall limit (corosync paused or stuck).
    public var votequorumStalled: Bool
    /// `quorum.device.heuristics.mode` (off, on, sync) and the result the arbitrator has
    /// (undefined with mode off or before the first run).
    public var heuristicsMode: String
    public var heuristics: String
    /// The exec_ names; the last run: why, how long ago, how long it took, what failed.
    public var heuristicsCommands: [String]
    public var heuristicsLastRun: String?
    public var heuristicsLastRunAgeSeconds: Double?
    public var heuristicsLastRunSeconds: Double?
    public var heuristicsFailed: [String]
    public var heuristicsRunning: Bool
    public var heuristicsRuns: Int

    public init(device: QuorumDevice, clusterName: String, arbitrator: String, registered: Bool,
                heuristics settings: DeviceHeuristics = DeviceHeuristics(settings: HeuristicsSettings()), now: QuorumInstant) {
        self.clusterName = clusterName
        nodeID = device.registration.nodeID.rawValue
        self.registered = registered
        self.arbitrator = arbitrator
        switch device.link {
        case .disconnected: connection = "disconnected"
        case .opening: connection = "opening"
        case .registering: connection = "registering"
        case .connected: connection = "connected"
        }
        ring = device.ring?.description
        members = device.members.map(\.rawValue)
        ringAgeSeconds = device.ringSince.map { seconds(now - $0) }
        vote = device.ring == nil ? "none" : device.vote?.rawValue ?? "waiting"
        castsVote = device.lastPoll?.castVote ?? false
        lastPollRing = device.lastPoll?.ring.description
        castUnchangedSeconds = device.castSince.map { seconds(now - $0) }
        lastDecisionSeconds = device.lastDecision.map(seconds)
        pollsYes = device.counters.pollsYes
        pollsNo = device.counters.pollsNo
        ringChanges = device.counters.ringChanges
        disconnects = device.counters.disconnects
        votequorumStalled = device.votequorumStalled
        heuristicsMode = settings.settings.mode.rawValue
        heuristics = device.heuristics.rawValue
        heuristicsCommands = settings.settings.commands.map(\.name)
        heuristicsLastRun = settings.lastRun?.reason.rawValue
        heuristicsLastRunAgeSeconds = settings.lastRun.map { seconds(now - $0.at) }
        heuristicsLastRunSeconds = settings.lastRun.map { seconds($0.duration) }
        heuristicsFailed = settings.lastRun?.failed ?? []
        heuristicsRunning = settings.running != nil
        heuristicsRuns = settings.runs
    }

    /// The text `baton-qdevice status` prints on a node.
    public var text: String {
        var lines = [
            "Quorum device (node \(nodeID) of cluster \(clusterName), model baton)",
            "  votequorum:  \(registered ? "registered" : "not registered")" + (votequorumStalled ? ", NOT ANSWERING (corosync paused?): off the arbitrator" : ""),
            "  arbitrator:  \(arbitrator) \(connection)",
            "  ring:        \(ring.map { "\($0) members \(members.map(String.init).joined(separator: ","))" } ?? "none yet")"
                + (ringAgeSeconds.map { " (\(format($0)) ago)" } ?? ""),
            "  vote:        \(vote.uppercased())" + (lastDecisionSeconds.map { " (the arbitrator answered \(format($0)) after the ring)" } ?? ""),
            "  casts:       \(castsVote ? "yes" : "no")" + (lastPollRing.map { " for ring \($0)" } ?? " (no poll yet)")
                + (castUnchangedSeconds.map { " since \(format($0)) ago" } ?? ""),
            "  polls:       \(pollsYes) yes, \(pollsNo) no; \(ringChanges) rings, \(disconnects) arbitrator connections lost",
            "  heuristics:  " + (heuristicsMode == "off" ? "off" : heuristicsText),
        ]
        lines.append("")
        return lines.joined(separator: "\n")
    }

    var heuristicsText: String {
        var text = "\(heuristics.uppercased()) (mode \(heuristicsMode), \(heuristicsCommands.map { "exec_\($0)" }.joined(separator: ", ")))"
        if let heuristicsLastRun, let age = heuristicsLastRunAgeSeconds, let took = heuristicsLastRunSeconds {
            text += "; last run on \(heuristicsLastRun) \(format(age)) ago, took \(format(took))"
        }
        if !heuristicsFailed.isEmpty { text += "; failed: \(heuristicsFailed.joined(separator: ", "))" }
        if heuristicsRunning { text += "; running" }
        return text
    }

    /// The Prometheus text of a node's device.
    public var metrics: String {
        var text = PrometheusText()
        text.metric("info", "gauge", "The device's identity (always 1).",
                    [("{role=\"node\",cluster=\"\(escape(clusterName))\",node=\"\(nodeID)\",arbitrator=\"\(escape(arbitrator))\"}", 1)])
        text.metric("registered", "gauge", "1 while registered with votequorum as the quorum device.", [("", registered ? 1 : 0)])
        text.metric("votequorum_stalled", "gauge", "1 while a votequorum call has gone unanswered past the stall limit.", [("", votequorumStalled ? 1 : 0)])
        text.metric("arbitrator_connected", "gauge", "1 while the connection to the arbitrator is up and registered.",
                    [("", connection == "connected" ? 1 : 0)])
        text.metric("ring_members", "gauge", "Members of votequorum's current ring.", [("", Double(members.count))])
        text.metric("vote_awaited", "gauge", "1 while the arbitrator's vote for the current ring has not come.", [("", vote == "waiting" ? 1 : 0)])
        text.metric("vote_cast", "gauge", "1 when the last poll cast the device's vote (votequorum counts it), 0 when it did not.",
                    [("", castsVote ? 1 : 0)])
        if let castUnchangedSeconds {
            text.metric("vote_cast_unchanged_seconds", "gauge", "How long the device has cast what it casts now.", [("", castUnchangedSeconds)])
        }
        text.metric("heuristics_result", "gauge", "The heuristics result the arbitrator has: 1 pass, 0 fail, -1 undefined (mode off or not run yet).",
                    [("", heuristics == "pass" ? 1 : heuristics == "fail" ? 0 : -1)])
        text.metric("heuristics_runs_total", "counter", "Heuristics runs started.", [("", Double(heuristicsRuns))])
        if let lastDecisionSeconds {
            text.metric("last_decision_seconds", "gauge", "From the last ring change to the arbitrator's vote for that ring.", [("", lastDecisionSeconds)])
        }
        text.metric("polls_total", "counter", "votequorum_qdevice_poll calls, by the vote cast.",
                    [("{cast=\"yes\"}", Double(pollsYes)), ("{cast=\"no\"}", Double(pollsNo))])
        text.metric("ring_changes_total", "counter", "Rings votequorum notified.", [("", Double(ringChanges))])
        text.metric("arbitrator_disconnects_total", "counter", "Arbitrator connections lost after registering.", [("", Double(disconnects))])
        return text.text
    }
}

/// The arbitrator: every cluster (a site: its cluster name and certificate identity), its
/// connected nodes, the partitions of their rings and the votes sent.
public struct ArbitratorStatus: Sendable, Codable, Equatable {
    public struct Node: Sendable, Codable, Equatable {
        public var nodeID: UInt32
        /// The ring it reported (nil: none yet) and its members.
        public var ring: String?
        public var members: [UInt32]
        public var heuristics: String?
        /// The last vote sent to it (ack or nack) and the ring it was for.
        public var vote: String?
        public var voteRing: String?
    }

    /// Nodes that reported the same ring: one side of the cluster.
    public struct Partition: Sendable, Codable, Equatable {
        public var ring: String
        public var members: [UInt32]
        /// The connected nodes that reported this ring.
        public var reporting: [UInt32]
        /// ack when the partition holds the vote for this ring, nack when it was told no,
        /// pending when nothing was sent for it yet.
        public var vote: String

        public init(ring: String, members: [UInt32], reporting: [UInt32], vote: String) {
            self.ring = ring
            self.members = members
            self.reporting = reporting
            self.vote = vote
        }
    }

    public struct Cluster: Sendable, Codable, Equatable {
        public var name: String
        public var identity: String
        /// What the arbitrator is doing for it (FFSplitCluster.Phase).
        public var phase: String
        public var holding: Bool
        public var quoratePartition: [UInt32]
        public var partitions: [Partition]
        public var nodes: [Node]
        /// "lms" for a last-man-standing site (nil: ffsplit), and the rule of its last decision.
        public var algorithm: String?
        public var lmsRule: String?
    }

    public var uptimeSeconds: Double
    public var connections: Int
    public var clusters: [Cluster]
    public var votesSentAck: Int
    public var votesSentNack: Int

    public init(arbiter: QuorumArbiter, now: QuorumInstant, votesSent: (ack: Int, nack: Int)) {
        uptimeSeconds = seconds(now - arbiter.startedAt)
        connections = arbiter.connectionCount
        votesSentAck = votesSent.ack
        votesSentNack = votesSent.nack
        clusters = arbiter.clusters.sorted { $0.key < $1.key }.map { key, cluster in
            let nodes = cluster.clients.sorted { $0.key < $1.key }.map { id, client in
                Node(nodeID: id.rawValue, ring: client.report?.ring.description, members: client.report?.members.map(\.rawValue) ?? [],
                     heuristics: client.report?.heuristics.rawValue, vote: client.lastVote?.vote.rawValue, voteRing: client.lastVote?.ring.description)
            }
            var partitions: [Partition] = []
            let reports = cluster.clients.compactMap { id, client in client.report.map { (id, client, $0) } }
            for (ring, group) in Dictionary(grouping: reports, by: { $0.2.ring }).sorted(by: { $0.key < $1.key }) {
                let reporting = group.map(\.0).sorted()
                let votes = group.map { $0.1.lastVote }.map { $0?.ring == ring ? $0?.vote : nil }
                let vote = votes.allSatisfy { $0 == .ack } ? "ack" : votes.contains(.nack) ? "nack" : "pending"
                partitions.append(Partition(ring: ring.description, members: group[0].2.members.map(\.rawValue),
                                            reporting: reporting.map(\.rawValue), vote: vote))
            }
            return Cluster(name: key.clusterName, identity: key.certificateIdentity, phase: cluster.phase.rawValue, holding: cluster.holding,
                           quoratePartition: cluster.quoratePartition.map(\.rawValue), partitions: partitions, nodes: nodes,
                           algorithm: cluster.clients.values.first?.registration.algorithm == .lms ? "lms" : nil, lmsRule: cluster.lastRule)
        }
    }

    /// The text `baton-qdevice status` prints on the arbitrator.
    public var text: String {
        var lines = ["Quorum device arbitrator: \(clusters.count) site\(clusters.count == 1 ? "" : "s"), \(connections) connection\(connections == 1 ? "" : "s"), up \(format(uptimeSeconds))"]
        for cluster in clusters {
            let holder = cluster.quoratePartition.isEmpty ? "none" : cluster.quoratePartition.map(String.init).joined(separator: ",")
            lines.append("Site \(cluster.name) (certificate \(cluster.identity)): vote held by {\(holder)}, \(cluster.holding ? "holding after start" : cluster.phase)"
                         + (cluster.algorithm.map { ", \($0)\(cluster.lmsRule.map { " (last rule: \($0))" } ?? "")" } ?? ""))
            for partition in cluster.partitions {
                let missing = Set(partition.members).subtracting(partition.reporting).sorted()
                lines.append("  ring \(partition.ring) members \(partition.members.map(String.init).joined(separator: ",")): \(partition.vote.uppercased())"
                             + (missing.isEmpty ? "" : " (not reported: \(missing.map(String.init).joined(separator: ",")))"))
            }
            for node in cluster.nodes {
                lines.append("  node \(node.nodeID): " + (node.ring.map { "ring \($0)" } ?? "connected, no ring reported")
                             + (node.heuristics.map { $0 == "undefined" ? "" : ", heuristics \($0)" } ?? "")
                             + (node.vote.map { ", last vote \($0.uppercased()) for ring \(node.voteRing ?? "-")" } ?? ""))
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// The Prometheus text of the arbitrator.
    public var metrics: String {
        var text = PrometheusText()
        text.metric("info", "gauge", "The device's identity (always 1).", [("{role=\"arbitrator\"}", 1)])
        text.metric("arbitrator_connections", "gauge", "Connections from nodes' devices.", [("", Double(connections))])
        text.metric("clusters", "gauge", "Sites (cluster name and certificate identity) with a connected node.", [("", Double(clusters.count))])
        func labels(_ cluster: Cluster) -> String { "cluster=\"\(escape(cluster.name))\",identity=\"\(escape(cluster.identity))\"" }
        text.metric("cluster_nodes_connected", "gauge", "A site's nodes with a registered connection.",
                    clusters.map { ("{\(labels($0))}", Double($0.nodes.count)) })
        text.metric("cluster_partitions", "gauge", "Distinct rings a site's connected nodes report.",
                    clusters.map { ("{\(labels($0))}", Double($0.partitions.count)) })
        text.metric("cluster_quorate_partition_nodes", "gauge", "Nodes of the partition that holds the vote (0: none).",
                    clusters.map { ("{\(labels($0))}", Double($0.quoratePartition.count)) })
        text.metric("node_vote", "gauge", "1 when the last vote sent to the node was ACK, 0 for NACK (absent: none sent).",
                    clusters.flatMap { cluster in
                        cluster.nodes.compactMap { node in node.vote.map { ("{\(labels(cluster)),node=\"\(node.nodeID)\"}", $0 == "ack" ? 1 : 0) } }
                    })
        text.metric("node_heuristics", "gauge", "A node's reported heuristics: 1 pass, 0 fail, -1 undefined (absent: no report).",
                    clusters.flatMap { cluster in
                        cluster.nodes.compactMap { node in
                            node.heuristics.map { ("{\(labels(cluster)),node=\"\(node.nodeID)\"}", $0 == "pass" ? 1 : $0 == "fail" ? 0 : -1) }
                        }
                    })
        text.metric("votes_sent_total", "counter", "Votes sent to nodes, by vote.",
                    [("{vote=\"ack\"}", Double(votesSentAck)), ("{vote=\"nack\"}", Double(votesSentNack))])
        text.metric("uptime_seconds", "gauge", "Seconds since the arbitrator started.", [("", uptimeSeconds)])
        return text.text
    }
}

/// The Prometheus text exposition format, `baton_qdevice_` names.
struct PrometheusText {
    var lines: [String] = []
    mutating func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
        lines.append("# HELP baton_qdevice_\(name) \(help)")
        lines.append("# TYPE baton_qdevice_\(name) \(type)")
        for sample in samples { lines.append("baton_qdevice_\(name)\(sample.labels) \(formatValue(sample.value))") }
    }
    var text: String { lines.joined(separator: "\n") + "\n" }
}

func formatValue(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}

/// A label value: backslash, double quote and newline escaped.
func escape(_ value: String) -> String {
    var out = ""
    for character in value {
        switch character {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        default: out.append(character)
        }
    }
    return out
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Seconds for the text view: "0.18 s", "12.3 s", "3 min", "2 h".
func format(_ value: Double) -> String {
    if value < 10 { return "\((value * 100).rounded() / 100) s" }
    if value < 120 { return "\((value * 10).rounded() / 10) s" }
    if value < 7200 { return "\(Int(value / 60)) min" }
    return "\(Int(value / 3600)) h"
}
