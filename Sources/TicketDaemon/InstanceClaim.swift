#if canImport(Glibc)
import Glibc
#endif

/// What one batond owns alone on this machine: its admin socket and its state directory.
///
/// Why: two batond with different configuration files used to share the admin socket (named
/// from `name=`, booth by default): the second removed the first's socket, and `baton list -c
/// geo1` answered with geo2's tickets. A second batond with the same configuration also revoked
/// the first's granted tickets in the CIB and rewrote its journal before failing to listen.
/// Now, before anything else runs: a lock (flock, released by the kernel when the process
/// ends, so a crash leaves nothing stale) on `SOCKET.lock` and on `STATE-DIRECTORY/batond.lock`;
/// a socket that answers a connect is a live daemon (one that predates the lock) and is never
/// removed; only a socket nobody answers on is removed as stale.
public final class InstanceClaim: Sendable {
    let descriptors: [Int32]

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// Claims `socketPath` and `stateDirectory`, or says who holds them.
    public init(socketPath: String, stateDirectory: String) throws(Refusal) {
        var held: [Int32] = []
        func lock(_ path: String, what: String) throws(Refusal) {
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw Refusal(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let reason = errno == EWOULDBLOCK ? "another batond holds it (\(what))" : String(cString: strerror(errno))
                close(descriptor)
                throw Refusal(description: "cannot lock \(path): \(reason)")
            }
            held.append(descriptor)
        }
        do throws(Refusal) {
            try lock(socketPath + ".lock", what: "its admin socket is \(socketPath): give each configuration its own, see batond@.service")
            try lock(stateDirectory + "/batond.lock", what: "each configuration needs its own --state-directory")
            if InstanceClaim.answers(socketPath) {
                throw Refusal(description: "a batond is serving \(socketPath): refusing to start a second one on the same admin socket")
            }
        } catch {
            for descriptor in held { close(descriptor) }
            throw error
        }
        // Nobody answers there: whatever is left is stale (the bind removes it).
        descriptors = held
    }

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// Whether something accepts connections on the unix socket at `path`.
    static func answers(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}
