import Foundation
import Synchronization
@_exported import TestSupport
import Testing

/// What the real-Corosync suites need from the machine. When something is missing the suites
/// are disabled, and the reason is printed (never a silent skip).
enum Capability {
    static let missing: String? = {
        var reasons: [String] = []
        if getuid() != 0 { reasons.append("not root (network namespaces need CAP_SYS_ADMIN)") }
        if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/corosync") { reasons.append("no /usr/sbin/corosync (apt-get install corosync)") }
        if !["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"].contains(where: FileManager.default.isExecutableFile(atPath:)) {
            reasons.append("no ip(8) (apt-get install iproute2)")
        } else if getuid() == 0 {
            // Really make (and delete) a namespace: listing works even where adding is denied.
            let name = "btcap\(getpid())"
            if (try? runSync(["ip", "netns", "add", name]))?.status != 0 {
                reasons.append("`ip netns add` fails (no network namespace support or no CAP_SYS_ADMIN)")
            } else {
                _ = try? runSync(["ip", "netns", "del", name])
            }
        }
        return skipReason("CorosyncTests", skipping: "the real-Corosync suites", reasons)
    }()
    static var available: Bool { missing == nil }
}

/// Every suite that runs real corosync nests in here: `.serialized` applies to nested suites
/// too, so no two test beds run at once (their timings stay meaningful on 2 shared cores).
/// Disabled, with the reason printed, when root, `ip netns` or corosync is missing.
@Suite(.serialized, .enabled(if: Capability.available, "needs root, ip netns and corosync; the reason is printed on stderr"))
enum RealCorosync {}

/// Paths of the package and of the binaries built next to the test bundle.
enum Paths {
    static let packageRoot = BuildPaths.packageRoot
    static let testbed = packageRoot.appendingPathComponent("scripts/testbed").path
    static var probe: String { BuildPaths.product("baton-corosync-probe") }
    static var baton: String { BuildPaths.product("baton") }
    static var qdevice: String { BuildPaths.product("baton-qdevice") }
}

struct CommandResult: Sendable {
    let status: Int32
    let output: String
}

typealias Child = TestChild

/// Runs a command to completion (stdout+stderr into a temporary file), killing it at the limit.
func runSync(_ arguments: [String], timeLimit: Duration = Patience.deadline) throws -> CommandResult {
    let result = try TestChild.runToEnd(arguments, timeLimit: timeLimit)
    return CommandResult(status: result.status, output: result.output)
}

/// The same, off the cooperative pool (it polls with usleep).
func run(_ arguments: [String], timeLimit: Duration = Patience.deadline) async throws -> CommandResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try runSync(arguments, timeLimit: timeLimit) })
        }.start()
    }
}

/// One instance of scripts/testbed, with its own state directory (and so its own prefix).
final class Testbed: Sendable {
    let directory: String
    let nodes: Int

    private init(directory: String, nodes: Int) {
        self.directory = directory
        self.nodes = nodes
    }

    /// Creates and starts an N-node cluster, runs `body`, and tears the bed down on every path.
    /// `options`: more of `testbed up`'s (the quorum device's timeouts, model, section).
    static func with<T: Sendable>(nodes: Int, qdeviceVotes: Int = 0, options: [String] = [], _ body: (Testbed) async throws -> T) async throws -> T {
        let directory = "/tmp/baton-testbed-\(UUID().uuidString.prefix(8))"
        let bed = Testbed(directory: directory, nodes: nodes)
        let result: T
        do {
            let started = ContinuousClock.now
            try await bed.script(["up", "--nodes", String(nodes), "--qdevice-votes", String(qdeviceVotes)] + options)
            log("testbed: \(nodes) nodes up (all members everywhere) in \(ContinuousClock.now - started)")
            result = try await body(bed)
        } catch {
            await bed.teardown()
            throw error
        }
        await bed.teardown()
        return result
    }

    @discardableResult
    func script(_ arguments: [String], timeLimit: Duration = Patience.deadline * 3) async throws -> CommandResult {
        let result = try await run([Paths.testbed, "-d", directory] + arguments, timeLimit: timeLimit)
        guard result.status == 0 else {
            throw TestFailure("testbed \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
        }
        return result
    }

    /// Runs a command inside node `node`'s namespace; returns its status and output.
    func exec(_ node: Int, _ arguments: [String], timeLimit: Duration = Patience.deadline) async throws -> CommandResult {
        try await run([Paths.testbed, "-d", directory, "exec", String(node)] + arguments, timeLimit: timeLimit)
    }

    func teardown() async {
        keepLogs()
        do {
            try await script(["teardown"])
        } catch {
            log("testbed teardown failed: \(error)")
        }
    }

    /// With BATON_TEST_KEEP_LOGS=DIR: the bed's logs and journals (files named *.log or
    /// *journal*) copied to DIR/<bed>/ before the teardown removes them, for a post-mortem.
    func keepLogs() {
        guard let keep = ProcessInfo.processInfo.environment["BATON_TEST_KEEP_LOGS"], !keep.isEmpty else { return }
        let target = "\(keep)/\((directory as NSString).lastPathComponent)"
        guard let files = FileManager.default.enumerator(atPath: directory) else { return }
        for case let file as String in files {
            let name = (file as NSString).lastPathComponent
            guard name.hasSuffix(".log") || name.contains("journal") else { continue }
            let destination = "\(target)/\(file)"
            try? FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: "\(directory)/\(file)", toPath: destination)
        }
        log("testbed: logs kept in \(target)")
    }

    /// `baton cluster status --output json` on a node, decoded.
    func status(_ node: Int) async throws -> [String: Any] {
        let result = try await exec(node, [Paths.baton, "cluster", "status", "--output", "json", "--timeout", String(Patience.deadlineSeconds)])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] else {
            throw TestFailure("baton cluster status on node\(node) exited \(result.status): \(result.output)")
        }
        return object
    }
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("[CorosyncTests] \(message)\n".utf8))
}

/// A long-running baton-corosync-probe inside a node's namespace: JSON lines out, commands in.
final class ProbeProcess: Sendable {
    let node: Int
    private let child: Child
    private let input: Int32
    private let lines = Mutex<[String]>([])
    private let exitStatus = Mutex<Int32?>(nil)

    private init(node: Int, child: Child, input: Int32) {
        self.node = node
        self.child = child
        self.input = input
    }

    static func launch(_ bed: Testbed, node: Int, _ arguments: [String]) throws -> ProbeProcess {
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { throw TestFailure("pipe failed") }
        // Close-on-exec: other children must not hold these pipes open.
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let child = try Child.spawn([Paths.testbed, "-d", bed.directory, "exec", String(node), Paths.probe] + arguments,
                                    stdin: .descriptor(toChild[0]), stdout: fromChild[1], stderr: fromChild[1])
        close(toChild[0])
        close(fromChild[1])
        let probe = ProbeProcess(node: node, child: child, input: toChild[1])
        let output = fromChild[0]
        // A plain thread does the blocking reads, never a Swift concurrency thread.
        Thread { [probe] in
            var partial = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(output, &buffer, buffer.count)
                if count <= 0 { break }
                partial += buffer[0..<count]
                while let newline = partial.firstIndex(of: 10) {
                    let line = String(decoding: partial[..<newline], as: UTF8.self)
                    partial.removeSubrange(...newline)
                    if !line.isEmpty { probe.lines.withLock { $0.append(line) } }
                }
            }
            close(output)
        }.start()
        return probe
    }

    var lineCount: Int { lines.withLock { $0.count } }

    func send(_ command: String) {
        let bytes = Array((command + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
    }

    /// Waits (bounded) for the first event at index >= `after` that satisfies `predicate`.
    @discardableResult
    func waitFor(_ what: String, after: Int = 0, timeLimit: Duration = Patience.deadline,
                 _ predicate: ([String: Any]) -> Bool) async throws -> (index: Int, event: [String: Any]) {
        let deadline = ContinuousClock.now + timeLimit
        var next = after
        while true {
            let snapshot = lines.withLock { Array($0.dropFirst(next)) }
            for line in snapshot {
                defer { next += 1 }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { continue }
                if predicate(object) { return (next, object) }
            }
            if ContinuousClock.now > deadline {
                let tail = lines.withLock { $0.suffix(15).joined(separator: "\n") }
                throw TestFailure("node\(node) probe: no \(what) within \(timeLimit); last lines:\n\(tail)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Asks the probe to quit, then kills it (by its own pid) if it does not within the slack.
    func stop() async {
        send("quit")
        let deadline = ContinuousClock.now + Patience.slack
        while exitStatus.withLock({ $0 }) == nil {
            if let status = child.poll() {
                exitStatus.withLock { $0 = status }
                break
            }
            // Past the deadline, or the test was cancelled (its time limit): kill it by its pid.
            if ContinuousClock.now > deadline || Task.isCancelled {
                child.killAndReap()
                exitStatus.withLock { $0 = -9 }
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        close(input)
    }
}

/// Milliseconds since the epoch, the probes' `ts` clock.
func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue ?? (value as? Int) }
func ints(_ value: Any?) -> [Int] { (value as? [Any])?.compactMap(int) ?? [] }
