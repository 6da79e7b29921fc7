import ArgumentParser
import BatonClient
import ChildProcess
import Foundation
import ProcessStats
import TicketDaemon
import TicketWire

#if canImport(Glibc)
import Glibc
#endif

/// `baton bench`: issue 3's benchmark. Starts real batond processes (2 sites + arbitrator on
/// loopback, throwaway PKI in a temporary directory), measures grant latency, failover after
/// kill -9 of the holder, and a many-ticket scale run, and prints Baton's figures next to
/// booth's reference figures (design/TICKETS.md) and the targets. It stops only the processes
/// it started, always.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark batond: grant latency, failover after kill -9, and a many-ticket scale run.",
        discussion: """
            Use release builds: swift build -c release && .build/release/baton bench
            --quick is the smoke-test size (fewer cycles, 1,000 tickets, 15 s steady state).
            Exit status: 0 ran (targets met or not: read the table), 1 the benchmark could not run.
            """)

    @Flag(help: "Smoke-test size: 30 cycles, 2 failovers, 1,000 tickets, 15 s steady state.") var quick = false
    @Option(help: "grant/revoke cycles for the latency figure (default 200, quick 30).") var cycles: Int?
    @Option(help: "Failover runs (default 5, quick 2).") var failovers: Int?
    @Option(help: "Tickets in the scale run (default 10000, quick 1000).") var tickets: Int?
    @Option(help: "Seconds of steady state in the scale run (default 60, quick 15).") var steady: Int?
    @Option(help: "The batond binary (default: next to this baton).") var batond: String?
    @Option(help: "scripts/make-test-pki (default: ./scripts/make-test-pki).") var pkiScript = "scripts/make-test-pki"
    @Option(help: "First TCP port to use (each cluster takes the next one).") var basePort = 31_000
    @Option(help: "Skip phases: grant, failover, scale (comma-separated).") var skip: String = ""
    @Flag(help: "Keep the temporary directory (logs, state) after the run.") var keep = false

    func validate() throws {
        if let cycles, cycles < 2 { throw ValidationError("--cycles must be at least 2") }
        if let tickets, !(1...100_000).contains(tickets) { throw ValidationError("--tickets must be 1...100000") }
        if let failovers, failovers < 0 { throw ValidationError("--failovers must not be negative") }
    }

    func run() throws {
        let cycleCount = cycles ?? (quick ? 30 : 200)
        let failoverCount = failovers ?? (quick ? 2 : 5)
        let ticketCount = tickets ?? (quick ? 1000 : 10_000)
        let steadySeconds = steady ?? (quick ? 15 : 60)
        let skipped = Set(skip.split(separator: ",").map(String.init))
        let daemon = batond ?? (executableDirectory() + "/batond")
        guard FileManager.default.isExecutableFile(atPath: daemon) else { throw BenchError("no batond at \(daemon) (build it, or give --batond)") }
        guard FileManager.default.isExecutableFile(atPath: pkiScript) else { throw BenchError("no \(pkiScript) (run from the repository root, or give --pki-script)") }
        var template = Array("/tmp/baton-bench-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw BenchError("mkdtemp failed") }
        let root = String(cString: made)
        defer {
            if keep { print("kept \(root)") } else { try? FileManager.default.removeItem(atPath: root) }
        }
        try runProcess(pkiScript, [root + "/pki", "site-a", "site-b", "arbitrator"])
        print("baton bench: batond \(daemon), directory \(root)")
        var report = BenchReport(cycles: cycleCount, tickets: ticketCount, steadySeconds: steadySeconds)
        var port = basePort

        if !skipped.contains("grant") {
            port += 1
            let cluster = try BenchCluster(root: root + "/grant", pki: root + "/pki", daemon: daemon, port: port, tickets: ["ticketA"], expire: 10)
            defer { cluster.stop() }
            try cluster.start()
            try cluster.waitStarted(ticket: "ticketA")
            try measureGrants(cluster, cycles: cycleCount, into: &report)
        }
        if !skipped.contains("failover") {
            for run in 0..<failoverCount {
                port += 1
                let cluster = try BenchCluster(root: root + "/failover-\(run)", pki: root + "/pki", daemon: daemon, port: port, tickets: ["ticketA"], expire: 10)
                defer { cluster.stop() }
                try cluster.start()
                try cluster.waitStarted(ticket: "ticketA")
                try measureFailover(cluster, run: run, into: &report)
            }
        }
        if !skipped.contains("scale") {
            port += 1
            let names = (0..<ticketCount).map { String(format: "t%05d", $0) }
            let cluster = try BenchCluster(root: root + "/scale", pki: root + "/pki", daemon: daemon, port: port, tickets: names, expire: 10)
            defer { cluster.stop() }
            do {
                try cluster.start(readyTimeout: .seconds(120))
                try cluster.waitStarted(ticket: names[0], timeout: .seconds(120))
                try measureScale(cluster, names: names, steadySeconds: steadySeconds, into: &report)
            } catch {
                report.scaleError = "\(error)"
                print("scale: stopped: \(error)")
            }
        }
        print("")
        print(report.table())
    }

    /// Wall times of `runs` runs of a command (each must exit 0), sorted: spawn to reap, output
    /// to /dev/null (ChildRun; Foundation's Process would add its own run-loop polling).
    static func wallTimes(runs: Int, _ path: String, _ arguments: [String]) throws -> [Duration] {
        var times: [Duration] = []
        for _ in 0..<runs {
            let run = try ChildRun(path, arguments, captureOutput: false)
            guard run.exitCode == 0 else { throw BenchError("\(path) \(arguments.joined(separator: " ")) exited \(run.exitCode)") }
            times.append(.nanoseconds(Int64(run.wall * 1e9)))
        }
        return times.sorted()
    }

    // MARK: - Grant latency

    func measureGrants(_ cluster: BenchCluster, cycles: Int, into report: inout BenchReport) throws {
        let client = try BenchClient(socketPath: cluster.socket("site-a"))
        defer { client.close() }
        var grants: [Duration] = []
        var revokes: [Duration] = []
        var failures = 0
        for _ in 0..<cycles {
            let start = ContinuousClock.now
            let reply = try client.call(.ticket(name: "ticketA", .grant(force: false, wait: true, waitForCommit: true)))
            let granted = ContinuousClock.now - start
            guard case .outcome(let outcome) = reply, outcome.succeeded else {
                if failures < 3 { print("grant refused: \(reply)") }
                failures += 1
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            grants.append(granted)
            let revokeStart = ContinuousClock.now
            let revoked = try client.call(.ticket(name: "ticketA", .revoke(wait: true)))
            if case .outcome(let outcome) = revoked, outcome.succeeded {
                revokes.append(ContinuousClock.now - revokeStart)
            } else {
                if failures < 3 { print("revoke refused: \(revoked)") }
                failures += 1
            }
        }
        // The CLI's wall time, process start-up included (fewer runs: each is a process).
        var cliTimes: [Duration] = []
        let baton = ownExecutable()
        for _ in 0..<max(5, cycles / 10) {
            let start = ContinuousClock.now
            try runProcess(baton, ["grant", "-w", "-C", "--socket", cluster.socket("site-a"), "ticketA"])
            cliTimes.append(ContinuousClock.now - start)
            _ = try client.call(.ticket(name: "ticketA", .revoke(wait: true)))
        }
        // The CLI's start-up: `baton list` against the live batond, side by side with `true`
        // (a process that does nothing), so the figure reads the same on a loaded machine.
        let runs = max(20, cycles / 4)
        report.cliList = try Self.wallTimes(runs: runs, baton, ["list", "--socket", cluster.socket("site-a")])
        report.trueStartup = try Self.wallTimes(runs: runs, "/bin/true", [])
        report.grantLatency = grants.sorted()
        report.revokeLatency = revokes.sorted()
        report.cliGrant = cliTimes.sorted()
        report.grantFailures = failures
        print("grant: \(grants.count) grant -w -C / revoke -w cycles, \(failures) failed; CLI runs \(cliTimes.count)")
    }

    // MARK: - Failover

    func measureFailover(_ cluster: BenchCluster, run: Int, into report: inout BenchReport) throws {
        let siteA = try BenchClient(socketPath: cluster.socket("site-a"))
        defer { siteA.close() }
        let granted = try siteA.call(.ticket(name: "ticketA", .grant(force: false, wait: true, waitForCommit: true)))
        guard case .outcome(let outcome) = granted, outcome.succeeded else {
            throw BenchError("failover run \(run): grant at site-a failed: \(granted)")
        }
        // A random point in the renewal cycle, so the remaining lease varies between runs.
        Thread.sleep(forTimeInterval: Double.random(in: 0.5...5.5))
        let siteB = try BenchClient(socketPath: cluster.socket("site-b"))
        defer { siteB.close() }
        let asked = ContinuousClock.now
        guard case .tickets(let before) = try siteB.call(.list), let view = before.first, view.leader == "site-a", let remaining = view.leaseRemaining else {
            throw BenchError("failover run \(run): site-b does not see site-a holding ticketA")
        }
        let answered = ContinuousClock.now
        // The survivor's lease end: the remaining lease counted from the middle of the query.
        let leaseEnd = asked + (answered - asked) / 2 + remaining
        let killed = ContinuousClock.now
        cluster.kill9("site-a")
        let deadline = killed + .seconds(40)
        while ContinuousClock.now < deadline {
            if case .tickets(let now) = try siteB.call(.list), let ticket = now.first, ticket.grantedHere, ticket.leader == "site-b" {
                let held = ContinuousClock.now
                report.failovers.append((killToHold: held - killed, afterLeaseEnd: held - leaseEnd, leaseRemaining: remaining))
                print("failover \(run + 1): lease left \(format(remaining)), kill to holding \(format(held - killed)), after the survivor's lease end \(format(held - leaseEnd))")
                return
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw BenchError("failover run \(run): site-b did not hold ticketA within 40 s of the kill")
    }

    // MARK: - Scale

    func measureScale(_ cluster: BenchCluster, names: [String], steadySeconds: Int, into report: inout BenchReport) throws {
        let sites = ["site-a", "site-b"]
        let failures = BenchLock(0)
        let start = ContinuousClock.now
        let errors = BenchLock<[String]>([])
        let sockets = sites.map { cluster.socket($0) }
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let mine = names.enumerated().filter { $0.offset % 2 == index }.map(\.element)
            do {
                let client = try BenchClient(socketPath: sockets[index])
                defer { client.close() }
                let failed = try client.pipelined(mine.map { .ticket(name: $0, .grant(force: false, wait: true, waitForCommit: true)) }, window: 512)
                failures.withLock { $0 += failed }
            } catch {
                errors.withLock { $0.append("\(sites[index]): \(error)") }
            }
        }
        report.scaleGrantTime = ContinuousClock.now - start
        if let error = errors.withLock({ $0.first }) { throw BenchError("scale grants: \(error)") }
        report.scaleGrantFailures = failures.withLock { $0 }
        print("scale: \(names.count) grants answered in \(format(report.scaleGrantTime!)), \(report.scaleGrantFailures) failed")

        let first = try cluster.holders()
        report.scaleHeldAtStart = first.values.filter { $0 != nil }.count
        let countersBefore = cluster.counters()
        let cpuBefore = cluster.cpuTicks()
        let steadyStart = ContinuousClock.now
        var rssPeak: [String: Int] = [:]
        while ContinuousClock.now - steadyStart < .seconds(steadySeconds) {
            Thread.sleep(forTimeInterval: 1)
            for (name, rss) in cluster.rssKilobytes() { rssPeak[name] = max(rssPeak[name] ?? 0, rss) }
        }
        let elapsed = ContinuousClock.now - steadyStart
        let cpuAfter = cluster.cpuTicks()
        let countersAfter = cluster.counters()
        let last = try cluster.holders()
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let seconds = elapsed.inSeconds
        var framesSent = 0.0
        for name in cluster.names {
            let cpu = Double((cpuAfter[name] ?? 0) - (cpuBefore[name] ?? 0)) / ticksPerSecond / seconds * 100
            let sent = (countersAfter[name]?["baton_frames_sent_total"] ?? 0) - (countersBefore[name]?["baton_frames_sent_total"] ?? 0)
            framesSent += sent
            var changes = 0.0
            for counter in ["baton_leases_lost_total", "baton_elections_total", "baton_leaderships_total"] {
                changes += (countersAfter[name]?[counter] ?? 0) - (countersBefore[name]?[counter] ?? 0)
            }
            report.scaleDaemons.append((name: name, cpuPercent: cpu, rssKilobytes: rssPeak[name] ?? 0, framesPerSecond: sent / seconds, elections: Int(changes)))
        }
        report.scaleFramesPerSecond = framesSent / seconds
        var flapped = 0
        for name in names where first[name] != last[name] || (last[name] ?? nil) == nil { flapped += 1 }
        report.scaleFlapped = flapped
        report.scaleHeldAtEnd = last.values.filter { $0 != nil }.count
        print("scale: steady \(format(elapsed)): held at start \(report.scaleHeldAtStart), at end \(report.scaleHeldAtEnd), flapped \(flapped)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func format(_ duration: Duration) -> String {
    let milliseconds = duration.inMilliseconds
    if abs(milliseconds) >= 1000 { return String(format: "%.2f s", milliseconds / 1000) }
    return String(format: "%.2f ms", milliseconds)
}

@discardableResult
func runProcess(_ path: String, _ arguments: [String]) throws -> Int32 {
    // Spawned and reaped directly (ChildRun): Foundation's Process.waitUntilExit polls its run
    // loop and added about 50 ms to each timed `baton grant -w -C`.
    let run = try ChildRun(path, arguments, captureOutput: true, withErrors: true, outputLimit: 64 << 10)
    guard run.exitCode == 0 else {
        throw BenchError("\(path) \(arguments.joined(separator: " ")) exited \(run.exitCode): \(run.output)")
    }
    return run.exitCode
}

/// A small lock for the two grant threads of the scale run.
final class BenchLock<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

// MARK: - The cluster under test

/// Three batond processes on 127.0.0.1/.2/.3 with their own configs, state and sockets.
final class BenchCluster {
    let root: String
    let daemon: String
    let names = ["site-a", "site-b", "arbitrator"]
    let addresses = ["site-a": "127.0.0.1", "site-b": "127.0.0.2", "arbitrator": "127.0.0.3"]
    var processes: [String: SpawnedChild] = [:]
    let metricsPorts: [String: Int]

    init(root: String, pki: String, daemon: String, port: Int, tickets: [String], expire: Int) throws {
        self.root = root
        self.daemon = daemon
        var ports: [String: Int] = [:]
        for (index, name) in names.enumerated() { ports[name] = port + 1000 + index * 100 }
        metricsPorts = ports
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
        var ticketText = ""
        for ticket in tickets { ticketText += "ticket = \"\(ticket)\"\n  expire = \(expire)\n  timeout = 1\n  retries = 3\n" }
        for name in names {
            let text = """
                port = \(port)
                site = 127.0.0.1 name=site-a
                site = 127.0.0.2 name=site-b
                arbitrator = 127.0.0.3 name=arbitrator
                tls-ca = \(pki)/ca.pem
                tls-certificate = \(pki)/\(name).pem
                tls-private-key = \(pki)/\(name).key
                identity = \(name)

                """ + ticketText
            try text.write(toFile: "\(root)/\(name).conf", atomically: true, encoding: .utf8)
        }
    }

    func socket(_ name: String) -> String { "\(root)/run/booth-\(name).sock" }

    func start(readyTimeout: Duration = .seconds(30)) throws {
        for name in names { try launch(name) }
        // Ready: every member's socket answers and sees both peers connected.
        let deadline = ContinuousClock.now + readyTimeout
        for name in names {
            while true {
                if let client = try? BenchClient(socketPath: socket(name)) {
                    defer { client.close() }
                    if case .peers(let peers) = try client.call(.peers), peers.allSatisfy(\.connected) { break }
                }
                guard ContinuousClock.now < deadline else { throw BenchError("\(name) not ready within \(format(readyTimeout)); see \(root)/\(name).log") }
                guard processes[name]?.poll() == nil else { throw BenchError("\(name) exited; see \(root)/\(name).log") }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// A member answers "still asking the other members" until its start-up exchange is done:
    /// grant and revoke `ticket` at each site until that passes (not counted in any figure).
    func waitStarted(ticket: String, timeout: Duration = .seconds(60)) throws {
        let deadline = ContinuousClock.now + timeout
        for name in ["site-a", "site-b"] {
            let client = try BenchClient(socketPath: socket(name))
            defer { client.close() }
            while true {
                let reply = try client.call(.ticket(name: ticket, .grant(force: false, wait: true, waitForCommit: true)))
                if case .outcome(let outcome) = reply, outcome.succeeded {
                    _ = try client.call(.ticket(name: ticket, .revoke(wait: true)))
                    break
                }
                guard ContinuousClock.now < deadline else { throw BenchError("\(name) not started within \(format(timeout)): \(reply)") }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    func launch(_ name: String) throws {
        processes[name] = try startDaemon(daemon, [
            "-c", "\(root)/\(name).conf", "--state-directory", "\(root)/state-\(name)", "--socket", socket(name),
            "--metrics", "127.0.0.1:\(metricsPorts[name]!)",
        ], logPath: "\(root)/\(name).log")
    }

    func kill9(_ name: String) {
        processes[name]?.killAndReap()
    }

    /// SIGTERM to every process this cluster started, then SIGKILL after 5 s.
    func stop() {
        for process in processes.values { process.signal(SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(5)
        for process in processes.values {
            while process.poll() == nil && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
            process.killAndReap()
        }
        processes = [:]
    }

    /// Per ticket: the holder as each site sees it, when both sites agree and the holder has it granted.
    func holders() throws -> [String: String?] {
        var views: [String: [TicketSummary]] = [:]
        for name in ["site-a", "site-b"] {
            let client = try BenchClient(socketPath: socket(name))
            defer { client.close() }
            guard case .tickets(let list) = try client.call(.list) else { throw BenchError("\(name): list failed") }
            views[name] = list
        }
        var result: [String: String?] = [:]
        let byNameB = Dictionary(uniqueKeysWithValues: views["site-b"]!.map { ($0.name, $0) })
        for ticket in views["site-a"]! {
            let other = byNameB[ticket.name]
            let heldRight = (ticket.leader == "site-a" && ticket.grantedHere) || (ticket.leader == "site-b" && other?.grantedHere == true)
            if let leader = ticket.leader, leader == other?.leader, heldRight {
                result[ticket.name] = "\(leader)#\(ticket.term)"
            } else {
                result[ticket.name] = .some(nil)
            }
        }
        return result
    }

    /// utime + stime in clock ticks, from /proc/PID/stat.
    func cpuTicks() -> [String: Int] {
        var result: [String: Int] = [:]
        for (name, process) in processes where process.poll() == nil {
            guard let text = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8),
                  let stat = ProcessMetrics.Stat(text) else { continue }
            result[name] = stat.userTicks + stat.systemTicks
        }
        return result
    }

    /// VmRSS in kB, from /proc/PID/status.
    func rssKilobytes() -> [String: Int] {
        var result: [String: Int] = [:]
        for (name, process) in processes where process.poll() == nil {
            guard let text = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                result[name] = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            }
        }
        return result
    }

    /// The unlabelled counters of every member's /metrics.
    func counters() -> [String: [String: Double]] {
        var result: [String: [String: Double]] = [:]
        for name in names {
            guard let text = httpGet(port: metricsPorts[name]!, path: "/metrics") else { continue }
            var values: [String: Double] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("baton_") && !line.contains("{") {
                let parts = line.split(separator: " ")
                if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
            }
            result[name] = values
        }
        return result
    }

    func httpGet(port: Int, path: String) -> String? {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { Glibc.close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress!, request.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

// MARK: - An in-process TicketWire client on one persistent connection

final class BenchClient {
    let descriptor: Int32
    var splitter = FrameSplitter()
    var nextID: UInt64 = 1
    var ready: [ClientReply] = []

    init(socketPath: String) throws {
        switch connectUnixSocket(socketPath) {
        case .success(let connected): descriptor = connected
        case .failure(.socket(let reason)): throw BenchError("socket: \(reason)")
        case .failure(.pathTooLong): throw BenchError("socket path too long: \(socketPath)")
        case .failure(.connect(let reason)): throw BenchError("connect \(socketPath): \(reason)")
        }
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func close() { Glibc.close(descriptor) }

    func submit(_ command: ClientCommand) throws -> UInt64 {
        let id = nextID
        nextID += 1
        let bytes = Frame.request(ClientRequest(id: id, command: command)).encoded()
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw BenchError("send: \(String(cString: strerror(errno)))") }
            sent += count
        }
        return id
    }

    /// Blocks until at least one reply is available; returns all that are.
    func receive() throws -> [ClientReply] {
        if !ready.isEmpty {
            defer { ready = [] }
            return ready
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw BenchError(count == 0 ? "batond closed the connection" : "recv: \(String(cString: strerror(errno)))") }
            let replies = try splitter.append(Array(buffer[0..<count])).compactMap { frame -> ClientReply? in
                if case .reply(let reply) = frame { return reply }
                return nil
            }
            if !replies.isEmpty { return replies }
        }
    }

    func call(_ command: ClientCommand) throws -> ReplyBody {
        let id = try submit(command)
        while true {
            for reply in try receive() where reply.id == id { return reply.body }
        }
    }

    /// Sends `commands` keeping at most `window` unanswered; returns how many did not succeed.
    func pipelined(_ commands: [ClientCommand], window: Int) throws -> Int {
        var next = 0
        var outstanding = 0
        var failed = 0
        while next < commands.count || outstanding > 0 {
            while next < commands.count && outstanding < window {
                _ = try submit(commands[next])
                next += 1
                outstanding += 1
            }
            for reply in try receive() {
                outstanding -= 1
                if case .outcome(let outcome) = reply.body, outcome.succeeded { continue }
                failed += 1
            }
        }
        return failed
    }
}

// MARK: - The table

struct BenchReport {
    let cycles: Int
    let tickets: Int
    let steadySeconds: Int
    var grantLatency: [Duration] = []
    var revokeLatency: [Duration] = []
    var cliGrant: [Duration] = []
    var cliList: [Duration] = []
    var trueStartup: [Duration] = []
    var grantFailures = 0
    var failovers: [(killToHold: Duration, afterLeaseEnd: Duration, leaseRemaining: Duration)] = []
    var scaleGrantTime: Duration?
    var scaleError: String?
    var scaleGrantFailures = 0
    var scaleHeldAtStart = 0
    var scaleHeldAtEnd = 0
    var scaleFlapped = 0
    var scaleFramesPerSecond = 0.0
    var scaleDaemons: [(name: String, cpuPercent: Double, rssKilobytes: Int, framesPerSecond: Double, elections: Int)] = []

    func percentile(_ sorted: [Duration], _ fraction: Double) -> Duration? {
        guard !sorted.isEmpty else { return nil }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
        return sorted[max(0, index)]
    }

    func spread(_ values: [Duration]) -> String {
        guard !values.isEmpty else { return "-" }
        let sorted = values.sorted()
        return "\(format(sorted.first!)) / \(format(sorted[sorted.count / 2])) / \(format(sorted.last!))"
    }

    func table() -> String {
        var rows: [(String, String, String, String, String)] = []
        func verdict(_ ok: Bool?) -> String { ok.map { $0 ? "yes" : "NO" } ?? "-" }
        let p50 = percentile(grantLatency, 0.5)
        let p99 = percentile(grantLatency, 0.99)
        rows.append(("grant -w, socket round trip p50 / p99 (\(grantLatency.count) cycles)", "55-78 ms (14 ms no-op CIB)", "p50 < 5 ms",
                     p50.map { "\(format($0)) / \(format(p99!))" } ?? "-", verdict(p50.map { $0 < .milliseconds(5) })))
        rows.append(("revoke -w p50 / p99", "-", "-",
                     percentile(revokeLatency, 0.5).map { "\(format($0)) / \(format(percentile(revokeLatency, 0.99)!))" } ?? "-", ""))
        rows.append(("baton grant -w CLI wall time min / median / max (\(cliGrant.count) runs)", "-", "-", spread(cliGrant), ""))
        let listMedian = percentile(cliList, 0.5)
        rows.append(("baton list CLI wall time (start-up + answer) min / median / max (\(cliList.count) runs)", "-", "median < 15 ms",
                     spread(cliList), verdict(listMedian.map { $0 < .milliseconds(15) })))
        rows.append(("  /bin/true, same way (process start alone) min / median / max", "-", "-", spread(trueStartup), ""))
        rows.append(("failover after kill -9, expire 10 s: kill to held, min / median / max (\(failovers.count) runs)", "6.4-10.2 s", "-",
                     spread(failovers.map(\.killToHold)), ""))
        let late = failovers.map(\.afterLeaseEnd)
        rows.append(("  survivor's view: its lease end to held, min / median / max", "up to 1 s random delay", "<= 100 ms (acquire-after 0)",
                     spread(late), verdict(late.isEmpty ? nil : late.allSatisfy { $0 <= .milliseconds(100) })))
        rows.append(("\(tickets) tickets: time to grant all (both sites)", "200 tickets: 135 s", "\(tickets) in < 10 s",
                     scaleGrantTime.map { "\(format($0)), \(scaleGrantFailures) failed" } ?? "-",
                     verdict(scaleGrantTime.map { $0 < .seconds(10) && scaleGrantFailures == 0 })))
        rows.append(("  held at start / end of \(steadySeconds) s steady state", "-", "all", scaleGrantTime == nil ? "-" : "\(scaleHeldAtStart) / \(scaleHeldAtEnd)",
                     scaleGrantTime == nil ? "-" : verdict(scaleHeldAtStart == tickets && scaleHeldAtEnd == tickets)))
        let elections = scaleDaemons.reduce(0) { $0 + $1.elections }
        rows.append(("  tickets flapping (holder or term changed) / election events", "200 tickets: 22-35", "0",
                     scaleGrantTime == nil ? "-" : "\(scaleFlapped) / \(elections)", scaleGrantTime == nil ? "-" : verdict(scaleFlapped == 0 && elections == 0)))
        rows.append(("  frames/s between members (all three)", "2 datagrams/ticket/renewal/peer", "-",
                     scaleGrantTime == nil ? "-" : String(format: "%.1f", scaleFramesPerSecond), ""))
        for daemon in scaleDaemons {
            rows.append(("  \(daemon.name): CPU % steady / peak RSS / frames/s sent", "-", "< 2 % CPU",
                         String(format: "%.2f %% / %.1f MB / %.1f", daemon.cpuPercent, Double(daemon.rssKilobytes) / 1024, daemon.framesPerSecond),
                         verdict(daemon.cpuPercent < 2)))
        }
        if let scaleError { rows.append(("  scale run stopped", "-", "-", scaleError, "NO")) }
        let headers = ("measure", "booth (TICKETS.md)", "target", "Baton", "met")
        let all = [headers] + rows
        let widths = [all.map(\.0.count).max()!, all.map(\.1.count).max()!, all.map(\.2.count).max()!, all.map(\.3.count).max()!, all.map(\.4.count).max()!]
        func line(_ row: (String, String, String, String, String)) -> String {
            [row.0, row.1, row.2, row.3, row.4].enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: " | ")
        }
        var lines = [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-")]
        lines += rows.map(line)
        return lines.joined(separator: "\n")
    }
}
