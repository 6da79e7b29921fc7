#if canImport(Glibc)
import Glibc
#endif
import TicketCore
import TicketElection
import TicketWire

/// The state file on disk: written whole, to a temporary file, fsynced, renamed over the old
/// one, and the directory fsynced, so that a crash leaves either the old or the new state.
public struct StateStore: Sendable {
    public let directory: String
    public var path: String { directory + "/tickets.state" }

    public struct StoreError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public init(directory: String) {
        self.directory = directory
    }

    /// What to start each ticket with (TicketCore's `LoadedState`).
    public typealias Loaded = LoadedState

    public func load(bootID: String, now: LocalInstant) -> Loaded {
        guard let bytes = readAll(path) else {
            if errno == ENOENT || errno == ENOTDIR {
                return Loaded(modes: [:], allLost: false, note: "no state at \(directory) (a first start, or the state was deleted): each ticket gives no vote or acknowledgement for one lease, unless every other site reports term 0")
            }
            return Loaded(modes: [:], allLost: true, note: "cannot read \(path) (\(String(cString: strerror(errno)))): starting as state lost")
        }
        let file: StateFile
        do {
            file = try StateFile.decode(bytes)
        } catch {
            return Loaded(modes: [:], allLost: true, note: "state file \(path) is damaged (\(error)): starting as state lost")
        }
        let elapsed: TicketInstance.Elapsed =
            file.bootID == bootID && bootID != "unknown" ? .known(max(.zero, now.since(LocalInstant(nanoseconds: file.bootClock.nanoseconds)))) : .unknown
        var modes: [String: TicketInstance.StartMode] = [:]
        for (name, state) in file.tickets { modes[name] = .restored(state, elapsed: elapsed) }
        let how = if case .known(let span) = elapsed { "written \(span.shortDescription) ago" } else { "written before a reboot" }
        return Loaded(modes: modes, allLost: false, note: "restored \(file.tickets.count) tickets from \(path), \(how)")
    }

    public func save(_ file: StateFile) throws(StoreError) {
        let temporary = path + ".tmp"
        let bytes = file.encoded()
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError(path: temporary, reason: "open: \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw StoreError(path: temporary, reason: "write: \(reason)")
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw StoreError(path: temporary, reason: "fsync: \(reason)")
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw StoreError(path: path, reason: "rename: \(String(cString: strerror(errno)))") }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}

func readAll(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { return bytes }
        bytes.append(contentsOf: buffer[0..<count])
        if bytes.count > 64 * 1024 * 1024 { return nil }
    }
}
