import Glibc

/// One request to a daemon's local (unix) socket and its whole answer: a line, an optional
/// body, the write side shut, then everything the daemon writes until it closes. What the
/// command lines use to ask baton-crmd, baton-qdevice and the agent tools' daemon; each caller
/// reads its own daemon's "error: …" convention.
public enum LocalSocketClient {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        /// Nothing listens there (no socket, refused, no permission): the daemon is not
        /// running here, or this user may not ask it.
        public let unreachable: Bool
    }

    /// True when `path` is a unix socket.
    public static func present(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Sends `line` (a newline added) and `body`; returns the answer, at most `answerBytesMax`
    /// bytes (the rest is not read). Each read and write waits at most `timeoutSeconds`.
    public static func request(_ line: String, body: [UInt8] = [], socket path: String, timeoutSeconds: Double,
                               answerBytesMax: Int = 512 << 20) throws(Failure) -> String {
        precondition(timeoutSeconds > 0, "LocalSocketClient: a positive time limit")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))", unreachable: false) }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "\(path): over the unix socket path limit", unreachable: false)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))", unreachable: true) }
        let request = Array((line + "\n").utf8) + body
        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes { write(fd, $0.baseAddress! + sent, $0.count - sent) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "\(path): write failed: \(String(cString: strerror(errno)))", unreachable: false) }
            sent += count
        }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while answer.count < answerBytesMax {
            let count = read(fd, &buffer, min(buffer.count, answerBytesMax - answer.count))
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                throw Failure(description: "\(path): no answer within \(timeoutSeconds) s (\(String(cString: strerror(errno))))", unreachable: false)
            }
            if count == 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
