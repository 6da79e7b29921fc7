import ArgumentParser
import CIBFiles
import CRMCore
import Foundation

/// `baton crm status`: what this node's baton-crmd knows, in `crm_mon -1`'s shape for the
/// parts that exist (cluster summary, node list); `--output json` prints the daemon's answer.
struct CrmStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Cluster summary and node list as this node's baton-crmd knows them (the text of crm_mon -1).",
        discussion: "Exit status: 0 done, 3 baton-crmd does not answer on its admin socket."
    )

    @Option(help: "Output format: text or json.") var output: OutputFormat = .text
    @Option(help: "baton-crmd's admin socket.") var socket = "/run/baton/crmd.sock"
    @Option(help: "Seconds to wait for the answer.") var timeout: Double = 10

    func validate() throws {
        guard timeout > 0, timeout <= 300 else { throw ValidationError("--timeout must be in (0, 300] seconds") }
    }

    func run() async throws {
        let answer: String
        let status: NodeStatus
        do {
            answer = try CrmdClient.request("status", socket: socket, timeoutSeconds: timeout)
            status = try JSONDecoder().decode(NodeStatus.self, from: Data(answer.utf8))
        } catch {
            FileHandle.standardError.write(Data("baton: cannot read baton-crmd's status: \(error) — is baton-crmd running on this node?\n".utf8))
            throw ExitCode(3)
        }
        try output.print(status) { Self.render(status) }
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
