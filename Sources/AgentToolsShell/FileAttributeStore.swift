import AgentTools
import Glibc

/// The node's attribute store as one file (`DIRECTORY/attributes`), each transaction under an
/// exclusive `flock` on `DIRECTORY/lock` and written whole to a temporary file renamed over the
/// old one: concurrent agents' tools never lose each other's updates, and a reader never sees a
/// half-written table.
public struct FileAttributeStore: AttributeStore {
    public let directory: String
    public var path: String { directory + "/attributes" }
    /// The store's file is at most this big (a bigger one is refused as corrupt).
    public static let sizeMax = 64 << 20

    public init(directory: String) {
        self.directory = directory
    }

    /// Creates the directory (mode 0755) and, when absent, an empty table.
    public func create() throws(AttributeStoreError) {
        var prefix = ""
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw failure("mkdir \(prefix)") }
        }
    }

    public func transaction<T>(_ body: (inout AttributeTable) throws -> T) throws -> T {
        let lock = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw failure("open \(directory)/lock") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw failure("flock \(directory)/lock") }
        }
        let before = try readText()
        var table = try AttributeTable(text: before)
        let result = try body(&table)
        let after = table.text
        if after != before { try write(after) }
        return result
    }

    /// The table as it is now (under the lock).
    public func read() throws -> AttributeTable {
        try transaction { $0 }
    }

    private func readText() throws(AttributeStoreError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return "" }
            throw failure("open \(path)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read \(path)")
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
            guard bytes.count <= Self.sizeMax else { throw AttributeStoreError("\(path): larger than \(Self.sizeMax) bytes") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func write(_ text: String) throws(AttributeStoreError) {
        let temporary = path + ".\(getpid()).new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open \(temporary)") }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                let error = failure("write \(temporary)")
                close(fd)
                unlink(temporary)
                throw error
            }
            offset += count
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure("rename \(temporary)")
            unlink(temporary)
            throw error
        }
    }

    private func failure(_ call: String) -> AttributeStoreError {
        AttributeStoreError("\(call): \(String(cString: strerror(errno)))")
    }
}

/// Where the agent tools live for the agents the executor runs, and the environment that
/// points them there.
public enum AgentToolsInstallation {
    /// The tools' store directory, from the environment (`BATON_ATTRIBUTE_STORE`).
    public static let storeVariable = "BATON_ATTRIBUTE_STORE"
    public static let defaultStore = "/run/baton/attributes"
    /// baton-crmd's admin socket: when it is there, the tools act on the cluster through it.
    public static let crmdSocketVariable = "BATON_CRMD_SOCKET"

    /// Makes `directory` hold one symbolic link per tool (crm_attribute, crm_master,
    /// attrd_updater, crm_node) to `executable` (the `baton-agent-tools` binary), replacing
    /// what is there under those names. Each link is made under a name of this process's own and
    /// renamed into place, so that executors installing into the same directory at once (two
    /// `baton agent` runs, or two executors of one process) never see a name missing or fail on
    /// one another's link. The name is this call's own (pid and a random number): with the pid
    /// alone, two threads of one process removed and renamed each other's link (ENOENT).
    public static func install(executable: String, in directory: String) throws(AttributeStoreError) {
        try FileAttributeStore(directory: directory).create()
        for tool in AgentTool.allCases {
            let link = directory + "/" + tool.rawValue
            let temporary = link + ".new-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            unlink(temporary)
            guard symlink(executable, temporary) == 0 else {
                throw AttributeStoreError("symlink \(temporary): \(String(cString: strerror(errno)))")
            }
            guard rename(temporary, link) == 0 else {
                let code = errno
                unlink(temporary)
                throw AttributeStoreError("rename \(temporary) to \(link): \(String(cString: strerror(code)))")
            }
        }
    }

    /// `environment` with the tools first on PATH and as HA_SBIN_DIR (where agents such as
    /// Stateful look for crm_attribute), and the store named.
    public static func environment(_ environment: [String: String], tools directory: String, store: String) -> [String: String] {
        var result = environment
        let path = environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        result["PATH"] = directory + ":" + path
        result["HA_SBIN_DIR"] = directory
        result[storeVariable] = store
        return result
    }
}
