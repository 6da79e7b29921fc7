import ArgumentParser
import Corosync
import Foundation

/// `baton cluster …`: what the Corosync bindings see on this node.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "The local node's Corosync view: membership, quorum, votes.",
        subcommands: [ClusterStatusCommand.self]
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json

    /// Prints `value` as pretty JSON with sorted keys, or the text `render` makes.
    func print(_ value: some Encodable, render: () -> String) throws {
        switch self {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
        case .text:
            Swift.print(render(), terminator: "")
        }
    }
}

/// The Corosync view an admin checks first (the shape of `corosync-quorumtool -s`).
struct ClusterStatus: Codable, Equatable {
    struct Member: Codable, Equatable {
        let nodeID: NodeID
        let name: String?
        let votes: UInt32?
        let addresses: [String]
        let local: Bool
    }
    let clusterName: String?
    let localNodeID: NodeID
    let ringID: String
    let quorate: Bool
    let nodeVotes: UInt32
    let expectedVotes: UInt32
    let highestExpected: UInt32
    let totalVotes: UInt32
    let quorum: UInt32
    let flags: [String]
    let qdeviceName: String?
    let qdeviceVotes: UInt32?
    let members: [Member]
}

struct ClusterStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Cluster name, ring id, quorum, votes and members as this node's corosync sees them."
    )

    @Option(help: "Output format: text or json.") var output: OutputFormat = .text
    @Option(help: "Seconds to wait for corosync's answers.") var timeout: Double = 5

    func validate() throws {
        guard timeout > 0, timeout <= 300 else { throw ValidationError("--timeout must be in (0, 300] seconds") }
    }

    func run() async throws {
        let status: ClusterStatus
        do {
            status = try await Self.collect(timeLimit: .milliseconds(Int(timeout * 1000)))
        } catch {
            let hint = error.isConnectionLost ? " — is corosync running on this node?" : ""
            FileHandle.standardError.write(Data("baton: cannot read the cluster status: \(error)\(hint)\n".utf8))
            throw ExitCode(3)
        }
        try output.print(status) { Self.render(status) }
    }

    static func collect(timeLimit: Duration) async throws(CorosyncError) -> ClusterStatus {
        let map = try await ClusterMap.connect()
        var quorum: QuorumTracker?
        var voteQuorum: VoteQuorum?
        let result: Result<ClusterStatus, CorosyncError>
        do throws(CorosyncError) {
            let tracker = try await QuorumTracker.start()
            quorum = tracker
            let votes = try await VoteQuorum.connect(track: false)
            voteQuorum = votes
            result = .success(try await collect(map: map, quorum: tracker, voteQuorum: votes, timeLimit: timeLimit))
        } catch {
            result = .failure(error)
        }
        await map.close()
        await quorum?.close()
        await voteQuorum?.close()
        return try result.get()
    }

    private static func collect(map: ClusterMap, quorum: QuorumTracker, voteQuorum: VoteQuorum,
                                timeLimit: Duration) async throws(CorosyncError) -> ClusterStatus {
        let clusterName = try await map.clusterName()
        let nodes = try await map.nodes()
        // CS_TRACK_CURRENT: the current quorum view is the first .quorum event.
        let view = try await firstQuorumView(quorum, timeLimit: timeLimit)
        let local: NodeID
        if let found = try await map.localNodeID() { local = found } else { local = view.members.first ?? NodeID(0) }
        let info = try await voteQuorum.info(node: local)
        var members: [ClusterStatus.Member] = []
        for nodeID in view.members {
            let node = nodes.first { $0.nodeID == nodeID }
            let votes = try? await voteQuorum.info(node: nodeID).nodeVotes
            members.append(.init(nodeID: nodeID, name: node?.name, votes: votes, addresses: node?.addresses ?? [], local: nodeID == local))
        }
        let device = info.flags.contains(.qdeviceRegistered) || info.qdeviceVotes > 0
        return ClusterStatus(
            clusterName: clusterName, localNodeID: local, ringID: view.ringID.description, quorate: view.quorate,
            nodeVotes: info.nodeVotes, expectedVotes: info.expectedVotes, highestExpected: info.highestExpected,
            totalVotes: info.totalVotes, quorum: info.quorum, flags: info.flags.names,
            qdeviceName: device ? info.qdeviceName : nil, qdeviceVotes: device ? info.qdeviceVotes : nil,
            members: members)
    }

    static func firstQuorumView(_ quorum: QuorumTracker, timeLimit: Duration) async throws(CorosyncError) -> QuorumView {
        let result: Result<QuorumView, CorosyncError> = await withTaskGroup(of: Result<QuorumView, CorosyncError>?.self) { tasks in
            tasks.addTask {
                do {
                    for try await event in quorum.events {
                        if case .quorum(let view) = event { return .success(view) }
                    }
                    return .failure(.closed)
                } catch let error as CorosyncError {
                    return .failure(error)
                } catch {
                    return .failure(.cancelled)
                }
            }
            tasks.addTask {
                try? await Task.sleep(for: timeLimit)
                return Task.isCancelled ? nil : .failure(.timedOut(operation: "waiting for the quorum view", after: timeLimit))
            }
            var outcome: Result<QuorumView, CorosyncError> = .failure(.closed)
            for await next in tasks {
                if let next {
                    outcome = next
                    break
                }
            }
            tasks.cancelAll()
            return outcome
        }
        return try result.get()
    }

    static func render(_ status: ClusterStatus) -> String {
        func row(_ label: String, _ value: String) -> String { label.padding(toLength: 18, withPad: " ", startingAt: 0) + value + "\n" }
        var text = "Cluster information\n-------------------\n"
        text += row("Cluster name:", status.clusterName ?? "(unset)")
        text += row("Node ID:", status.localNodeID.description)
        text += row("Ring ID:", status.ringID)
        text += row("Quorate:", status.quorate ? "Yes" : "No")
        text += "\nVotequorum information\n----------------------\n"
        text += row("Expected votes:", String(status.expectedVotes))
        text += row("Highest expected:", String(status.highestExpected))
        text += row("Total votes:", String(status.totalVotes))
        text += row("Quorum:", String(status.quorum) + (status.quorate ? "" : " Activity blocked"))
        text += row("Flags:", status.flags.joined(separator: " "))
        if let name = status.qdeviceName { text += row("Qdevice:", "\(name) (\(status.qdeviceVotes ?? 0) votes)") }
        text += "\nMembership information\n----------------------\n"
        text += "    Nodeid      Votes Name\n"
        for member in status.members {
            let votes = member.votes.map(String.init) ?? "?"
            let id = String(repeating: " ", count: max(0, 10 - member.nodeID.description.count)) + member.nodeID.description
            let votesColumn = String(repeating: " ", count: max(0, 11 - votes.count)) + votes
            text += "\(id)\(votesColumn) \(member.name ?? "(no name)")\(member.local ? " (local)" : "")\n"
        }
        return text
    }
}
