import ArgumentParser
import CIB
import CIBFiles
import CRMCore
import CRMStatusView
import Foundation

/// `baton crm status`: the text of `crm_mon -1` (`-r`: inactive resources too) made from a
/// CIB. With `--cib FILE` (or `CIB_file=FILE` in the environment, as the stock tools read it)
/// the CIB comes from that file, offline; otherwise this node's baton-crmd answers over its
/// admin socket (today: nodes, DC and quorum, no CIB yet — once the daemon serves `cib query`,
/// `StatusSource.live` returns its CIB and the same view prints everything).
struct CrmStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Cluster summary, nodes, resources and failed actions (the text of crm_mon -1).",
        discussion: """
            Offline: baton crm status --cib FILE (or CIB_file=FILE baton crm status) reads a CIB file.
            Exit status: 0 done, 1 the CIB file cannot be read, 3 baton-crmd does not answer on its admin socket.
            """
    )

    @Option(help: "Output format: text or json.") var output: OutputFormat = .text
    @Option(help: "baton-crmd's admin socket.") var socket = "/run/baton/crmd.sock"
    @Option(help: "Seconds to wait for the answer.") var timeout: Double = 10
    @Option(help: "Read the CIB from this file instead of asking baton-crmd (default: $CIB_file).") var cib: String?
    @Flag(name: [.customShort("r"), .customLong("inactive")], help: "Show inactive resources too (crm_mon -r).") var inactive = false
    @Flag(name: [.customShort("c"), .customLong("tickets")], help: "Show the tickets section (crm_mon -c).") var tickets = false

    func validate() throws {
        guard timeout > 0, timeout <= 300 else { throw ValidationError("--timeout must be in (0, 300] seconds") }
    }

    /// Where the view's CIB and live facts come from.
    enum StatusSource {
        case file(String)
        case live(socket: String, timeoutSeconds: Double)
    }

    var source: StatusSource {
        if let path = cib ?? ProcessInfo.processInfo.environment["CIB_file"], !path.isEmpty { return .file(path) }
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
            // (No CIB from the daemon yet: the summary and node list it knows.)
            try output.print(status) { Self.render(status) }
        }
    }

    func printView(_ view: CrmMonView) throws {
        let options = CrmMonView.Options(inactive: inactive, tickets: tickets)
        try output.print(view.report()) {
            view.text(options: options, lastUpdated: Self.ctime(Date().timeIntervalSince1970)) { Self.ctime(Double($0)) }
        }
    }

    /// crm_mon -1's text (Pacemaker 2.1.5, regression.crm_mon.exp) for the summary and the node list.
    static func render(_ status: NodeStatus) -> String {
        var text = "Cluster Summary:\n"
        text += "  * Stack: corosync\n"
        let partition = status.quorate ? "partition with quorum" : "partition WITHOUT quorum"
        if let dcName = status.dcName {
            text += "  * Current DC: \(dcName) (baton-crmd) - \(partition)\n"
        } else {
            text += "  * Current DC: NONE\n"
        }
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

/// One request line (and, for CIB writes, a body) to baton-crmd's admin socket, the whole answer back.
enum CrmdClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func request(_ line: String, body: [UInt8] = [], socket path: String, timeoutSeconds: Double) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "\(path): path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        let request = Array((line + "\n").utf8) + body
        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes { write(fd, $0.baseAddress! + sent, $0.count - sent) }
            guard count > 0 else { throw Failure(description: "\(path): write failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while answer.count < 512 << 20 {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 { throw Failure(description: "\(path): no answer within \(timeoutSeconds) s (\(String(cString: strerror(errno))))") }
            if count == 0 { break }
            answer += buffer[0..<count]
        }
        let text = String(decoding: answer, as: UTF8.self)
        if text.hasPrefix("error: ") { throw Failure(description: String(text.dropFirst(7)).trimmingCharacters(in: .newlines)) }
        return text
    }
}
