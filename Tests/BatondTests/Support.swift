import Foundation
@_exported import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// End-to-end support: real `batond` and `baton` processes on loopback addresses, one fresh
/// temporary directory per test (PKI, configs, state, sockets, CIB files, logs), one free port
/// per test. Only pids this code started are ever signalled, and every one of them is stopped
/// on every path (`Cluster.stopAll()` in a `defer`).

/// What the end-to-end suites need from the machine; the reason is printed when absent.
enum Capability {
    static let missing = skipReason("BatondTests", skipping: "the end-to-end suites", ["batond", "baton", "baton-full"].map(Requirement.built) + [
        ["/usr/bin/openssl", "/bin/openssl"].contains(where: FileManager.default.isExecutableFile(atPath:))
            ? nil : "no openssl binary (apt-get install openssl): the test PKI needs it",
    ])
    static var available: Bool { missing == nil }
}

/// Every suite that starts daemons nests in here, so no two clusters run at once (their
/// timings stay meaningful on 2 shared cores).
@Suite(.serialized, .enabled(if: Capability.available, "needs the built batond and baton and openssl; the reason is printed on stderr"))
enum EndToEnd {}

enum Paths {
    static let packageRoot = BuildPaths.packageRoot
    static let makeTestPKI = packageRoot.appendingPathComponent("scripts/make-test-pki").path
    static var batond: String { BuildPaths.product("batond") }
    static var baton: String { BuildPaths.product("baton") }
    /// The whole command line, which `baton` runs for what it does not answer itself.
    static var batonFull: String { BuildPaths.product("baton-full") }
}

struct CommandResult: Sendable, CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String
    var description: String { "exit \(status), stdout: \(stdout.debugDescription), stderr: \(stderr.debugDescription)" }
}

typealias Child = TestChild

/// Runs a command to completion, stdout and stderr apart, killing it at the limit.
func run(
    _ arguments: [String], timeLimit: Duration = Patience.deadline, environment: [String: String]? = nil, stdin: String = "/dev/null"
) async throws -> CommandResult {
    let out = try OutputFile(prefix: "baton-e2e")
    defer { out.remove() }
    let err = try OutputFile(prefix: "baton-e2e")
    defer { err.remove() }
    let status = try await Child.spawn(arguments, stdin: .path(stdin), stdout: out.descriptor, stderr: err.descriptor, environment: environment)
        .finish(within: timeLimit, arguments.joined(separator: " "), interval: .milliseconds(5))
    return CommandResult(status: status, stdout: out.text, stderr: err.text)
}

/// When a polled condition was last seen false and first seen true. The event happened after
/// `lastFalse` (nil: it held at the first look) and no later than `firstTrue`.
struct Noticed {
    let lastFalse: ContinuousClock.Instant?
    let firstTrue: ContinuousClock.Instant

    /// The soundest "no later than" figure for a bound: how long after `since` the condition was
    /// last seen false. A test process starved of CPU (the machine is shared, the suite runs
    /// CPU-bound tests beside this one) looks late and widens the interval; checked against
    /// this, an upper bound fails only if a look after the bound still saw the condition false.
    func lateness(since: ContinuousClock.Instant) -> Duration { max(.zero, (lastFalse ?? since) - since) }
}

/// `waitUntil` for a test that bounds how late something happens. A monotone condition (once
/// true, it stays true) that returned false was false when its evaluation began.
func waitUntilNoticed(
    _ what: String, within limit: Duration = Patience.deadline, interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async throws -> Noticed {
    let start = ContinuousClock.now
    var lastFalse: ContinuousClock.Instant?
    while true {
        let asked = ContinuousClock.now
        if try await condition() { return Noticed(lastFalse: lastFalse, firstTrue: ContinuousClock.now) }
        lastFalse = asked
        if ContinuousClock.now - start > limit { throw TestFailure("timed out after \(limit) waiting for: \(what)") }
        try await Task.sleep(for: interval)
    }
}

/// A port free on every loopback address right now (the kernel's pick for 0.0.0.0:0).
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = INADDR_ANY
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0 else { throw TestFailure("bind: \(String(cString: strerror(errno)))") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

func format(_ duration: Duration) -> String { String(format: "%.3f s", seconds(duration)) }

/// One member of a test cluster.
struct Member: Sendable {
    enum Role: String, Sendable { case site, arbitrator }
    let name: String
    let address: String
    let role: Role
}

/// A cluster of real batond processes in one temporary directory.
final class Cluster: @unchecked Sendable {
    // @unchecked Sendable: a test drives its cluster from one task at a time.
    let directory: String
    let port: Int
    let members: [Member]
    let ticketsText: String
    var daemons: [String: Child] = [:]
    var extraArguments: [String: [String]] = [:]
    /// Prepended to every batond and baton command (for example `nsenter -t PID -n -m`).
    var commandPrefix: [String] = []
    /// Per member, replaces `commandPrefix` for its batond (each member in its own namespace).
    var memberPrefix: [String: [String]] = [:]
    private var stopped = false

    /// `tickets`: the ticket sections of the config (shared by all members).
    init(members: [Member], tickets: String, extraConfig: String = "") async throws {
        self.members = members
        self.ticketsText = tickets
        self.port = try freePort()
        self.directory = "/tmp/baton-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        let pki = try await run([Paths.makeTestPKI, directory + "/pki"] + members.map(\.name))
        guard pki.status == 0 else { throw TestFailure("make-test-pki failed: \(pki)") }
        for member in members {
            try config(for: member, extra: extraConfig).write(toFile: configPath(member.name), atomically: true, encoding: .utf8)
        }
    }

    func config(for member: Member, extra: String = "", ca: String? = nil, certificate: String? = nil) -> String {
        var lines = ["port = \(port)"]
        for other in members { lines.append("\(other.role.rawValue) = \(other.address) name=\(other.name)") }
        lines += [
            "tls-ca = \(ca ?? directory + "/pki/ca.pem")",
            "tls-certificate = \(certificate ?? directory + "/pki/\(member.name).pem")",
            "tls-private-key = \(certificate.map { $0.replacingOccurrences(of: ".pem", with: ".key") } ?? directory + "/pki/\(member.name).key")",
            "identity = \(member.name)",
        ]
        if !extra.isEmpty { lines.append(extra) }
        return lines.joined(separator: "\n") + "\n" + ticketsText
    }

    func member(_ name: String) -> Member { members.first { $0.name == name }! }
    func configPath(_ name: String) -> String { "\(directory)/\(name).conf" }
    func cibPath(_ name: String) -> String { "\(directory)/cib-\(name).xml" }
    func logPath(_ name: String) -> String { "\(directory)/\(name).log" }
    /// batond's default name: the configuration file's name (NAME.conf) and the member's.
    func socketPath(_ name: String) -> String { "\(directory)/run/\(name)-\(name).sock" }

    /// Starts one member's batond (its log appends to NAME.log).
    func start(_ name: String) throws {
        precondition(daemons[name] == nil, "\(name) is already running")
        let member = member(name)
        let log = open(logPath(name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw TestFailure("cannot open \(logPath(name))") }
        defer { close(log) }
        var arguments = [
            Paths.batond, "-c", configPath(name), "--state-directory", "\(directory)/state-\(name)", "--socket", socketPath(name),
        ]
        arguments += extraArguments[name] ?? (member.role == .site ? ["--back-end", "file", "--cib-file", cibPath(name)] : ["--back-end", "none"])
        daemons[name] = try Child.spawn((memberPrefix[name] ?? commandPrefix) + arguments, stdout: log, stderr: log)
    }

    func startAll() throws { for member in members { try start(member.name) } }

    /// Sends `signal` to one member's batond (only pids this cluster started).
    func signal(_ name: String, _ number: Int32) {
        guard let child = daemons[name] else { return }
        child.signal(number)
    }

    /// kill -9, then reap.
    func kill9(_ name: String) async throws {
        guard let child = daemons.removeValue(forKey: name) else { return }
        child.signal(SIGKILL)
        try await waitUntil("\(name) (pid \(child.pid)) to die") { child.poll() != nil }
    }

    /// SIGTERM (graceful: hands held tickets over), or `signal` (SIGUSR1: a restart in place
    /// keeping them), then SIGKILL if it has not ended within `grace`; returns the exit status.
    @discardableResult
    func stop(_ name: String, signal number: Int32 = SIGTERM, grace: Duration = Patience.deadline) async throws -> Int32? {
        guard let child = daemons.removeValue(forKey: name) else { return nil }
        child.signal(SIGCONT)
        child.signal(number)
        var status: Int32?
        let deadline = ContinuousClock.now + grace
        while status == nil && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            status = child.poll()
        }
        if status == nil {
            child.killAndReap()
        }
        return status
    }

    /// Stops every daemon this cluster started, on every path; removes the directory unless
    /// BATON_KEEP_TEST_DIRS is set. Synchronous, for `defer`.
    func stopAll() {
        guard !stopped else { return }
        stopped = true
        for child in daemons.values {
            child.signal(SIGCONT)
            child.signal(SIGTERM)
        }
        let deadline = ContinuousClock.now + Patience.slack
        var remaining = Array(daemons.values)
        while !remaining.isEmpty && ContinuousClock.now < deadline {
            remaining = remaining.filter { $0.poll() == nil }
            if !remaining.isEmpty { usleep(20_000) }
        }
        for child in remaining {
            child.killAndReap()
        }
        daemons = [:]
        if ProcessInfo.processInfo.environment["BATON_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        } else {
            print("kept \(directory)")
        }
    }

    /// The tail of a member's log, for failure messages.
    func logTail(_ name: String, lines: Int = 25) -> String {
        let text = (try? String(contentsOfFile: logPath(name), encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    func logs() -> String {
        members.map { "--- \($0.name) ---\n" + logTail($0.name) }.joined(separator: "\n")
    }

    // MARK: - The CLI

    /// `baton ARGS… -c CONFIG --run-directory RUN` as seen from member `at`.
    func baton(_ arguments: [String], at name: String, timeLimit: Duration = Patience.deadline) async throws -> CommandResult {
        try await run(commandPrefix + [Paths.baton] + arguments + ["-c", configPath(name), "--run-directory", directory + "/run"], timeLimit: timeLimit)
    }

    /// `baton list --output json` at `name`, one dictionary per ticket.
    func listJSON(at name: String) async throws -> [[String: Any]] {
        let result = try await baton(["list", "--output", "json"], at: name)
        guard result.status == 0, let data = result.stdout.data(using: .utf8),
              let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { throw TestFailure("list --output json at \(name): \(result)") }
        return array
    }

    func ticketJSON(_ ticket: String, at name: String) async throws -> [String: Any] {
        guard let entry = try await listJSON(at: name).first(where: { $0["ticket"] as? String == ticket }) else {
            throw TestFailure("\(ticket) not in list at \(name)")
        }
        return entry
    }

    /// The leader `name` believes in (nil when none).
    func leader(_ ticket: String, at name: String) async throws -> String? {
        try await ticketJSON(ticket, at: name)["leader"] as? String
    }

    /// Waits until every running member answers and sees every running peer connected.
    @discardableResult
    func waitReady(within limit: Duration = Patience.deadline) async throws -> Noticed {
        let running = Set(daemons.keys)
        do {
            return try await waitUntilNoticed("all members connected", within: limit, interval: .milliseconds(100)) {
                for name in running {
                    let result = try await baton(["peers", "--output", "json"], at: name)
                    guard result.status == 0, let data = result.stdout.data(using: .utf8),
                          let peers = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
                    else { return false }
                    for peer in peers where running.contains(peer["name"] as? String ?? "") {
                        if peer["connected"] as? Bool != true { return false }
                    }
                }
                return true
            }
        } catch {
            throw TestFailure("\(error)\n\(logs())")
        }
    }

    /// A first start is a start without state: each member gives no vote for a ticket until
    /// every other site has answered its state query with term 0 (or one lease has passed).
    /// Waits until every running member logged the end of each such quiet period, so that no
    /// grant races a member's proof (a site that campaigns first answers the late query with
    /// term 1, and that member then waits out the lease).
    func waitQuietPeriodsEnded(within limit: Duration = Patience.deadline) async throws {
        try await waitUntil("every member's quiet period of a start without state ended", within: limit, interval: .milliseconds(50)) {
            for name in self.daemons.keys {
                let log = (try? String(contentsOfFile: self.logPath(name), encoding: .utf8)) ?? ""
                let quiet = log.components(separatedBy: "started without state: no votes for").count - 1
                let ended = log.components(separatedBy: "quiet period ended").count - 1
                if ended < quiet { return false }
            }
            return true
        }
    }

    /// `baton grant ARGS T` at `name`, retried while an election started by a member's startup
    /// is under way (grants asked for during batond's own startup query wait for it instead),
    /// and while this member, started without state, waits for the other sites' term-0
    /// answers (they come once the connections are up, within a timeout).
    func grant(_ ticket: String, at name: String, flags: [String] = ["-w"]) async throws -> CommandResult {
        var result = try await baton(["grant"] + flags + [ticket], at: name)
        let deadline = ContinuousClock.now + Patience.deadline
        while result.status != 0
            && (result.stderr.contains("election for this ticket is under way") || result.stderr.contains("started without its state"))
            && ContinuousClock.now < deadline
        {
            print("grant \(ticket) at \(name) refused while starting (\(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); retrying in 200 ms")
            try await Task.sleep(for: .milliseconds(200))
            result = try await baton(["grant"] + flags + [ticket], at: name)
        }
        return result
    }

    // MARK: - CIB files

    /// The `ticket_state` attributes of `ticket` in site `name`'s CIB file (empty when absent).
    func cibState(_ ticket: String, at name: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: cibPath(name), encoding: .utf8) else { return [:] }
        return ticketStateAttributes(ticket, in: text)
    }

    func cibGranted(_ ticket: String, at name: String) -> Bool { cibState(ticket, at: name)["granted"] == "true" }
}

/// Runs `body` with a fresh cluster, stopping every daemon afterwards whatever happens; on a
/// thrown error the members' log tails are attached.
/// Two sites and an arbitrator with site-a serving /metrics (and the status page) on
/// `metricsPort`, started, site-a holding ticketA (shortTicket); then `body`.
func withSiteAHoldingTicketA(metricsPort: Int, _ body: (Cluster) async throws -> Void) async throws {
    try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, start: false) { cluster in
        cluster.extraArguments["site-a"] = ["--back-end", "file", "--cib-file", cluster.cibPath("site-a"), "--metrics", "127.0.0.1:\(metricsPort)"]
        try cluster.startAll()
        try await cluster.waitReady()
        let grant = try await cluster.grant("ticketA", at: "site-a")
        #expect(grant.status == 0, "\(grant)")
        try await body(cluster)
    }
}

func withCluster(
    members: [Member], tickets: String, extraConfig: String = "", start: Bool = true, _ body: (Cluster) async throws -> Void
) async throws {
    let cluster = try await Cluster(members: members, tickets: tickets, extraConfig: extraConfig)
    defer { cluster.stopAll() }
    if start {
        try cluster.startAll()
        try await cluster.waitReady()
        try await cluster.waitQuietPeriodsEnded()
    }
    do {
        try await body(cluster)
    } catch {
        throw TestFailure("\(error)\nlogs in \(cluster.directory):\n\(cluster.logs())")
    }
}

let twoSitesAndArbitrator = [
    Member(name: "site-a", address: "127.0.0.1", role: .site),
    Member(name: "site-b", address: "127.0.0.2", role: .site),
    Member(name: "arbitrator", address: "127.0.0.3", role: .arbitrator),
]

/// booth's `list` line for a held ticket: `ticket: T, leader: ADDR, expires: YYYY-MM-DD HH:MM:SS`.
func isBoothListLine(_ line: String, ticket: String, leaderAddress: String) -> Bool {
    let prefix = "ticket: \(ticket), leader: \(leaderAddress), expires: "
    guard line.hasPrefix(prefix) else { return false }
    let stamp = line.dropFirst(prefix.count)
    return stamp.range(of: #"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"#, options: .regularExpression) != nil
}

/// A certificate for `name` signed by the CA in `pki` (ca.pem, ca.key), like make-test-pki's.
func makeCertificate(_ name: String, pki: String) async throws {
    let key = "\(pki)/\(name).key", request = "\(pki)/\(name).csr", extensions = "\(pki)/\(name).ext"
    try "subjectAltName=DNS:\(name)\nextendedKeyUsage=serverAuth,clientAuth\n".write(toFile: extensions, atomically: true, encoding: .utf8)
    for command in [
        ["/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(name)", "-keyout", key, "-out", request],
        ["/usr/bin/openssl", "x509", "-req", "-in", request, "-CA", "\(pki)/ca.pem", "-CAkey", "\(pki)/ca.key", "-CAcreateserial", "-days", "2",
         "-extfile", extensions, "-out", "\(pki)/\(name).pem"],
    ] {
        let result = try await run(command)
        guard result.status == 0 else { throw TestFailure("\(command.joined(separator: " ")): \(result)") }
    }
}
