import AgentTools
import CRMCore
import Foundation
import Synchronization

/// The local admin socket: a unix stream socket, mode 0600 in a 0700 directory, and every
/// peer's uid checked (SO_PEERCRED) to be root. One request line per connection:
///
///   status                          -> the node's status as one JSON line (NodeStatus)
///   attribute NODEID|cluster NAME [VALUE]
///                                   -> "accepted" once forwarded to the DC, or "error: …"
///   cib query [SCOPE]               -> the CIB (or one section) as XML, status rendered
///   cib replace [SCOPE] / cib patch -> the XML (a `<cib>`, the scope's section, a v2 patchset)
///                                      follows the line up to the client's end of writing;
///                                      "ok VERSION" once the DC's ordered broadcast of the
///                                      write is delivered here, or "error: …"
///   cib upgrade                     -> as replace, for validate-with
///   attributes                      -> the agent tools' attribute table (AgentTools' text form)
///                                      of this node's CIB, status section included
///   tickets apply                   -> ticket changes follow the line, one per line: `TICKET
///                                      NAME VALUE` (set) or `TICKET NAME` (remove); "ok" once
///                                      the DC's update is delivered here, or "error: …"
///   attributes apply                -> changes (AttributeChangeLine's text) follow the line:
///                                      transient ones to the DC ("accepted" once sent), the
///                                      others one CIB write ("ok VERSION" once acknowledged)
///
///   resource cleanup|refresh RESOURCES NODE|- OPERATION|- INTERVALMS|-
///                                   -> "Cleaned up R on NODE" lines once the fail counts'
///                                      deletion and the history forget are sent (AdminCleanup)
///   resource fail RESOURCE NODE CLASS PROVIDER|- TYPE -> "" once NODE is asked to report the failure
///
/// Served by plain threads (blocking accept; each connection on a thread of its own, at most
/// `connectionsMax` at once, each with a 5 s receive limit): an admin's query must not wait
/// for, nor delay, the event loop, nor wait behind another admin's CIB write.
final class AdminSocket: Sendable {
    static let requestBytesMax = 8192
    let path: String
    private let descriptor: Int32
    private let closed = Mutex(false)
    static let connectionsMax = 32
    private let connections = Mutex(0)

    init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AdminSocketError("socket: \(String(cString: strerror(errno)))") }
        unlink(path)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw AdminSocketError("\(path): over the unix socket path limit")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let previousMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previousMask)
        guard bound == 0, chmod(path, 0o600) == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw AdminSocketError("\(path): \(reason)")
        }
        self.path = path
        descriptor = fd
    }

    func serve(_ daemon: Daemon) {
        let fd = descriptor
        Thread { [self] in
            while !closed.withLock({ $0 }) {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                guard connections.withLock({ count in
                    guard count < Self.connectionsMax else { return false }
                    count += 1
                    return true
                }) else {
                    write(client, "error: \(Self.connectionsMax) admin requests already in progress\n")
                    Glibc.close(client)
                    continue
                }
                Thread { [self] in
                    answer(client, daemon)
                    Glibc.close(client)
                    connections.withLock { $0 -= 1 }
                }.start()
            }
        }.start()
    }

    private func answer(_ client: Int32, _ daemon: Daemon) {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(client, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, credentials.uid == 0 else {
            write(client, "error: root only\n")
            return
        }
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !request.contains(10) && request.count < Self.requestBytesMax {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { break }
            request += buffer[0..<count]
        }
        let line = String(decoding: request.prefix { $0 != 10 }, as: UTF8.self)
        let words = line.split(separator: " ", maxSplits: 3).map(String.init)
        if words.first == "cib" {
            return answerCIB(client, daemon, words: Array(words.dropFirst()), received: request)
        }
        if words.first == "attributes" {
            let reply = AdminReply()
            if words.count == 1 {
                daemon.feed(.attributeTable(reply: reply))
                return write(client, reply.wait(timeLimit: .seconds(10)))
            }
            guard words == ["attributes", "apply"] else { return write(client, "error: unknown request (attributes | attributes apply)\n") }
            guard let body = readBody(client, after: request) else { return write(client, "error: the changes are over \(MessageWire.cibPayloadBytesMax) bytes\n") }
            let changes: [AttributeChangeLine]
            do {
                changes = try AttributeChangeLine.parse(String(decoding: body, as: UTF8.self))
            } catch {
                return write(client, "error: \(error)\n")
            }
            daemon.feed(.attributeApply(changes, reply: reply))
            return write(client, reply.wait(timeLimit: Self.writeTimeLimit))
        }
        if words.first == "tickets" {
            guard words == ["tickets", "apply"] else { return write(client, "error: unknown request (tickets apply)\n") }
            guard let body = readBody(client, after: request) else { return write(client, "error: the changes are over \(MessageWire.cibPayloadBytesMax) bytes\n") }
            let reply = AdminReply()
            do {
                daemon.feed(.tickets(try TicketRules.parseChanges(String(decoding: body, as: UTF8.self)), reply: reply))
            } catch {
                return write(client, "error: \(error)\n")
            }
            return write(client, reply.wait(timeLimit: Self.writeTimeLimit))
        }
        if words.first == "resource" {
            let all = line.split(separator: " ").map(String.init)
            do {
                let reply = AdminReply()
                if all.count > 1 && all[1] == "fail" {
                    daemon.feed(.resourceFail(try AdminFail(words: Array(all.dropFirst())), reply: reply))
                } else {
                    daemon.feed(.resourceCleanup(try AdminCleanup(words: Array(all.dropFirst())), reply: reply))
                }
                return write(client, reply.wait(timeLimit: .seconds(10)))
            } catch {
                return write(client, "error: \(error)\n")
            }
        }
        if words.first == "fence" || words.first == "confirm-down" {
            return answerFence(client, daemon, words: words)
        }
        switch words.first {
        case "status":
            write(client, daemon.statusJSON())
        case "attribute" where words.count >= 3:
            let target: AttributeTarget
            if words[1] == "cluster" {
                target = .cluster
            } else if let node = UInt32(words[1]) {
                target = .node(NodeID(node))
            } else {
                write(client, "error: '\(words[1])' is neither a node id nor 'cluster'\n")
                return
            }
            let reply = AdminReply()
            daemon.feed(.attribute(target, name: words[2], value: words.count > 3 ? words[3] : nil, reply: reply))
            write(client, reply.wait(timeLimit: .seconds(10)))
        default:
            write(client, "error: unknown request '\(line.prefix(80))' (status | attribute NODEID|cluster NAME [VALUE])\n")
        }
    }

    /// `cib …`: a query answers at once from the event loop; a write waits for its
    /// acknowledgement (the DC's ordered broadcast delivered here) up to `writeTimeLimit`.
    static let writeTimeLimit = Duration.seconds(60)

    private func answerCIB(_ client: Int32, _ daemon: Daemon, words: [String], received: [UInt8]) {
        let scope = words.count > 1 ? words[1] : nil
        if let scope, !CIBOperation.isScope(scope) {
            return write(client, "error: unknown scope '\(scope.prefix(80))'\n")
        }
        let reply = AdminReply()
        switch words.first {
        case "query":
            daemon.feed(.cibQuery(scope: scope, reply: reply))
            return write(client, reply.wait(timeLimit: .seconds(10)))
        case "upgrade":
            daemon.feed(.cibWrite(.upgrade, reply: reply))
        case "replace", "patch":
            guard let body = readBody(client, after: received) else {
                return write(client, "error: the XML is over \(MessageWire.cibPayloadBytesMax) bytes (one CPG message): send a patch\n")
            }
            let text = String(decoding: body, as: UTF8.self)
            daemon.feed(.cibWrite(words[0] == "patch" ? .patch(text) : .replace(scope: scope, xml: text), reply: reply))
        default:
            return write(client, "error: unknown cib request (cib query|replace [SCOPE], cib patch, cib upgrade)\n")
        }
        write(client, reply.wait(timeLimit: Self.writeTimeLimit))
    }

    /// `fence history`, `fence NODE reboot|off|on` (answers once the fence is done, up to
    /// `fenceTimeLimit`), `confirm-down NODE`.
    static let fenceTimeLimit = Duration.seconds(600)

    private func answerFence(_ client: Int32, _ daemon: Daemon, words: [String]) {
        let reply = AdminReply()
        switch (words.first ?? "", words.count) {
        case ("fence", 2) where words[1] == "history":
            daemon.feed(.fenceHistory(reply: reply))
            write(client, reply.wait(timeLimit: .seconds(10)))
        case ("fence", 3) where ["reboot", "off", "on"].contains(words[2]):
            daemon.feed(.fenceNode(target: words[1], action: words[2], reply: reply))
            write(client, reply.wait(timeLimit: Self.fenceTimeLimit))
        case ("confirm-down", 2):
            daemon.feed(.confirmDown(target: words[1], reply: reply))
            write(client, reply.wait(timeLimit: Self.writeTimeLimit))
        default:
            write(client, "error: unknown fence request (fence history | fence NODE reboot|off|on | confirm-down NODE)\n")
        }
    }

    /// The bytes after the request line, up to the client's end of writing; nil when too many.
    private func readBody(_ client: Int32, after received: [UInt8]) -> [UInt8]? {
        var body = Array(received.drop { $0 != 10 }.dropFirst())
        var buffer = [UInt8](repeating: 0, count: 65536)
        while body.count <= MessageWire.cibPayloadBytesMax {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { return body }
            body += buffer[0..<count]
        }
        return nil
    }

    private func write(_ client: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { Glibc.write(client, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            bytes = bytes.dropFirst(count)
        }
    }

    func close() {
        closed.withLock { $0 = true }
        shutdown(descriptor, Int32(SHUT_RDWR))
        Glibc.close(descriptor)
        unlink(path)
    }
}

struct AdminSocketError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "admin socket " + description }
}

/// `struct ucred` (SO_PEERCRED), which Glibc's module shows only under _GNU_SOURCE.
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
