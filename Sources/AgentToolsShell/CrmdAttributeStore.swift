import AgentTools
import Glibc

/// One request line (and a body) to baton-crmd's admin socket, the whole answer back: what
/// `baton crm …` and the agent tools speak to the node's daemon. An answer that starts with
/// "error: " is thrown.
public enum CrmdSocketClient {
    public static let defaultPath = "/run/baton/crmd.sock"
    /// Answers longer than this are cut off (a CIB of ~60 MB fits).
    public static let answerBytesMax = 512 << 20

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// True when `path` is a unix socket (baton-crmd runs on this node).
    public static func present(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    public static func request(_ line: String, body: [UInt8] = [], socket path: String, timeoutSeconds: Double) throws(Failure) -> String {
        precondition(timeoutSeconds > 0, "CrmdSocketClient: a positive time limit")
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
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "\(path): write failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while answer.count < answerBytesMax {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw Failure(description: "\(path): no answer within \(timeoutSeconds) s (\(String(cString: strerror(errno))))") }
            if count == 0 { break }
            answer += buffer[0..<count]
        }
        let text = String(decoding: answer, as: UTF8.self)
        if text.hasPrefix("error: ") {
            throw Failure(description: String(text.dropFirst(7)).trimmingCharacters(in: "\n"))
        }
        return text
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.last == character { text = text.dropLast() }
        return String(text)
    }
}

/// The agent tools' store when baton-crmd runs on the node: the cluster's attributes as this
/// node's daemon knows them (`attributes`: the table of its CIB, status section included, and
/// this node's name), and a run's changes sent back (`attributes apply`): transient ones go to
/// the DC, which sets them on every node; permanent ones and cluster options become a CIB write.
public struct CrmdAttributeStore: AttributeStore {
    public let socket: String
    public let timeoutSeconds: Double

    public init(socket: String, timeoutSeconds: Double = 30) {
        self.socket = socket
        self.timeoutSeconds = timeoutSeconds
    }

    public func transaction<T>(_ body: (inout AttributeTable) throws -> T) throws -> T {
        let answer: String
        do {
            answer = try CrmdSocketClient.request("attributes", socket: socket, timeoutSeconds: timeoutSeconds)
        } catch {
            throw AttributeStoreError("baton-crmd at \(socket): \(error)")
        }
        let before = try AttributeTable(text: answer)
        var table = before
        let result = try body(&table)
        let changes = AttributeChangeLine.changes(from: before, to: table)
        guard !changes.isEmpty else { return result }
        do {
            _ = try CrmdSocketClient.request("attributes apply", body: Array(AttributeChangeLine.text(changes).utf8), socket: socket,
                                             timeoutSeconds: timeoutSeconds)
        } catch {
            throw AttributeStoreError("baton-crmd at \(socket): \(error)")
        }
        return result
    }
}
