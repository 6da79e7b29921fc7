import TicketWire

#if canImport(Glibc)
import Glibc
#endif

/// Why a unix-socket connection could not be made (strerror text where there is one).
public enum UnixSocketFailure: Error {
    case socket(String)
    case pathTooLong
    case connect(String)
}

/// A stream socket connected to `path`, or why not (the descriptor is closed on failure).
public func connectUnixSocket(_ path: String) -> Result<Int32, UnixSocketFailure> {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return .failure(.socket(String(cString: strerror(errno)))) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(path.utf8)
    guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(descriptor)
        return .failure(.pathTooLong)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        buffer[pathBytes.count] = 0
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else {
        let reason = String(cString: strerror(errno))
        close(descriptor)
        return .failure(.connect(reason))
    }
    return .success(descriptor)
}

/// One request, one reply, over batond's unix socket.
public enum SocketClient {
    public static func request(_ request: ClientRequest, socketPath: String, timeoutSeconds: Int) throws(CLIError) -> ClientReply {
        let descriptor: Int32
        switch connectUnixSocket(socketPath) {
        case .success(let connected): descriptor = connected
        case .failure(.socket(let reason)): throw CLIError(code: .failed, message: "socket: \(reason)")
        case .failure(.pathTooLong): throw CLIError(code: .usage, message: "socket path too long: \(socketPath)")
        case .failure(.connect(let reason)): throw CLIError(code: .notRunning, message: "batond is not running at \(socketPath) (\(reason))")
        }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Frame.request(request).encoded()
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw CLIError(code: .failed, message: "sending to batond: \(String(cString: strerror(errno)))") }
            sent += count
        }
        var splitter = FrameSplitter()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { throw CLIError(code: .failed, message: "batond closed the connection without answering") }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw CLIError(code: .failed, message: "no answer from batond within \(timeoutSeconds) s") }
                throw CLIError(code: .failed, message: "reading from batond: \(String(cString: strerror(errno)))")
            }
            do {
                for frame in try splitter.append(Array(buffer[0..<count])) {
                    if case .reply(let reply) = frame { return reply }
                }
            } catch {
                throw CLIError(code: .failed, message: "bad answer from batond: \(error)")
            }
        }
    }
}
