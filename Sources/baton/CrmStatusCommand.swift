import AgentToolsShell
import ArgumentParser
import CIB
import CIBFiles
import CRMCore
import CRMStatusView
import Foundation
import QuorumArbiter
import QuorumDeviceShell

/// `baton crm status`: the text of `crm_mon -1` (`-r`: inactive resources too) made from a
/// CIB. With `--cib FILE` (or `CIB_file=FILE` in the environment, as the stock tools read it)
/// the CIB comes from that file, offline; otherwise from this node's baton-crmd (`cib query`
/// on its admin socket: its CIB with the status section, dc-uuid and have-quorum as it knows
/// them), through the same view, so the live text is crm_mon's on the CIB the daemon holds.
/// `--node`: the daemon's own view of itself instead (members, DC, CIB version, counters).
struct CrmStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Cluster summary, nodes, resources and failed actions (the text of crm_mon -1).",
        discussion: """
            Offline: baton crm status --cib FILE (or CIB_file=FILE baton crm status) reads a CIB file.
            --node: baton-crmd's own state (members, DC, CIB version and digest, counters), text or JSON.
            Exit status: 0 done, 1 the CIB file cannot be read, 3 baton-crmd does not answer on its admin socket.
            """
    )

    @Option(help: "Output format: text or json.") var output: OutputFormat = .text
    @Option(help: "baton-crmd's admin socket.") var socket = "/run/baton/crmd.sock"
    @Option(help: "Seconds to wait for the answer.") var timeout: Double = 10
    @Option(help: "Read the CIB from this file instead of asking baton-crmd (default: $CIB_file).") var cib: String?
    @Flag(name: [.customShort("r"), .customLong("inactive")], help: "Show inactive resources too (crm_mon -r).") var inactive = false
    @Flag(name: [.customShort("c"), .customLong("tickets")], help: "Show the tickets section (crm_mon -c).") var tickets = false
    @Flag(name: [.customShort("f"), .customLong("failcounts")], help: "Show the fail counts, \"Migration Summary\" (crm_mon -f).")
    var failcounts = false
    @Flag(help: "baton-crmd's own state instead of the cluster's (members, DC, CIB version, counters).") var node = false
    @Option(help: "baton-qdevice's status socket on this node: when it exists, the quorum device's line is shown.")
    var qdeviceSocket = "/run/baton/qdevice.sock"

    func validate() throws {
        guard timeout > 0, timeout <= 300 else { throw ValidationError("--timeout must be in (0, 300] seconds") }
    }

    /// Where the view's CIB and live facts come from.
    enum StatusSource {
        case file(String)
        case live(socket: String, timeoutSeconds: Double)
    }

    var source: StatusSource {
        if !node, let path = cib ?? ProcessInfo.processInfo.environment["CIB_file"], !path.isEmpty { return .file(path) }
        return .live(socket: socket, timeoutSeconds: timeout)
    }

    func run() async throws {
        switch source {
        case .file(let path):
            let document: CIB
            do {
                document = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            } catch {
                FileHandle.standardError.write(Data("baton: cannot read the CIB in \(path): \(error)\n".utf8))
                throw ExitCode(1)
            }
            try printView(CrmMonView(cib: document, now: Int(Date().timeIntervalSince1970)))
        case .live(let socket, let timeoutSeconds) where !node:
            let document: CIB
            do {
                let answer = try CrmdClient.request("cib query", socket: socket, timeoutSeconds: timeoutSeconds)
                document = try CIB(bytes: Array(answer.utf8))
            } catch {
                FileHandle.standardError.write(Data("baton: cannot read baton-crmd's CIB: \(error) — is baton-crmd running on this node?\n".utf8))
                throw ExitCode(3)
            }
            try printView(CrmMonView(cib: document, now: Int(Date().timeIntervalSince1970)),
                          quorumDevice: Self.quorumDevice(socket: qdeviceSocket, timeoutSeconds: timeoutSeconds))
        case .live(let socket, let timeoutSeconds):
            let answer: String
            let status: NodeStatus
            do {
                answer = try CrmdClient.request("status", socket: socket, timeoutSeconds: timeoutSeconds)
                status = try JSONDecoder().decode(NodeStatus.self, from: Data(answer.utf8))
            } catch {
                FileHandle.standardError.write(Data("baton: cannot read baton-crmd's status: \(error) — is baton-crmd running on this node?\n".utf8))
                throw ExitCode(3)
            }
            let device = Self.quorumDevice(socket: qdeviceSocket, timeoutSeconds: timeoutSeconds)
            try output.print(NodeStatusReport(node: status, quorumDevice: device)) { Self.render(status, quorumDevice: device) }
        }
    }

    /// `--node --output json`: the daemon's status, and the quorum device's when there is one.
    struct NodeStatusReport: Encodable {
        let node: NodeStatus
        let quorumDevice: CrmMonView.QuorumDeviceView?
        func encode(to encoder: any Encoder) throws {
            try node.encode(to: encoder)
            enum Key: String, CodingKey { case quorumDevice }
            var container = encoder.container(keyedBy: Key.self)
            try container.encodeIfPresent(quorumDevice, forKey: .quorumDevice)
        }
    }

    func printView(_ view: CrmMonView, quorumDevice: CrmMonView.QuorumDeviceView? = nil) throws {
        let options = CrmMonView.Options(inactive: inactive, tickets: tickets, failcounts: failcounts, quorumDevice: quorumDevice)
        try output.print(view.report(quorumDevice: quorumDevice)) {
            view.text(options: options, lastUpdated: Self.ctime(Date().timeIntervalSince1970)) { Self.ctime(Double($0)) }
        }
    }

    /// This node's quorum device as its status socket tells (nil: no baton-qdevice here).
    static func quorumDevice(socket: String, timeoutSeconds: Double) -> CrmMonView.QuorumDeviceView? {
        guard CrmdSocketClient.present(socket) else { return nil }
        do {
            let answer = try CrmdSocketClient.request(QuorumStatusSocket.Request.statusJSON.rawValue, socket: socket,
                                                      timeoutSeconds: min(timeoutSeconds, 5))
            let device = try JSONDecoder().decode(NodeDeviceStatus.self, from: Data(answer.utf8))
            return CrmMonView.QuorumDeviceView(
                model: "baton", arbitrator: device.arbitrator, connection: device.connection, vote: device.vote, ring: device.ring,
                castsVote: device.castsVote, votequorumStalled: device.votequorumStalled)
        } catch {
            return .unreachable("\(socket): \(error)")
        }
    }

    /// `--node`: the daemon's own state, in crm_mon's shapes for the summary and the node list.
    static func render(_ status: NodeStatus, quorumDevice: CrmMonView.QuorumDeviceView? = nil) -> String {
        var text = "Cluster Summary:\n"
        text += "  * Stack: corosync\n"
        let partition = status.quorate ? "partition with quorum" : "partition WITHOUT quorum"
        if let dcName = status.dcName {
            text += "  * Current DC: \(dcName) (baton-crmd) - \(partition)\n"
        } else {
            text += "  * Current DC: NONE\n"
        }
        if let quorumDevice { text += quorumDevice.line + "\n" }
        let updated = status.timing.map { Double($0.statusMilliseconds) / 1000 } ?? Date().timeIntervalSince1970
        text += "  * Last updated: \(ctime(updated))\n"
        text += "  * \(status.nodes.count) node\(status.nodes.count == 1 ? "" : "s") configured\n"
        text += "\nNode List:\n"
        let online = status.nodes.filter(\.online).map(\.name)
        let offline = status.nodes.filter { !$0.online }.map(\.name)
        if !online.isEmpty { text += "  * Online: [ \(online.joined(separator: " ")) ]\n" }
        if !offline.isEmpty { text += "  * OFFLINE: [ \(offline.joined(separator: " ")) ]\n" }
        let withAttributes = status.nodes.filter { !$0.attributes.isEmpty }
        if !withAttributes.isEmpty {
            text += "\nNode Attributes:\n"
            for node in withAttributes {
                text += "  * Node: \(node.name):\n"
                for name in node.attributes.keys.sorted() {
                    text += "    * \(name.padding(toLength: max(32, name.count), withPad: " ", startingAt: 0))\t: \(node.attributes[name] ?? "")\n"
                }
            }
        }
        return text
    }

    /// `Sun Dec  6 13:40:00 2026`, as crm_mon prints times (local time).
    static func ctime(_ seconds: Double) -> String {
        CtimeText.text(secondsSinceEpoch: seconds)
    }
}

/// One request line (and, for CIB writes, a body) to baton-crmd's admin socket, the whole
/// answer back (AgentToolsShell's client, shared with the agent tools).
enum CrmdClient {
    typealias Failure = CrmdSocketClient.Failure
    static func request(_ line: String, body: [UInt8] = [], socket path: String, timeoutSeconds: Double) throws -> String {
        try CrmdSocketClient.request(line, body: body, socket: path, timeoutSeconds: timeoutSeconds)
    }
}
