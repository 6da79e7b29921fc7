import BatonConfig
import ChildProcess
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `baton demo --loopback`: three real batond processes on loopback (127.0.0.1, .2, .3), configured from
/// sites/site-a/baton.conf with a throwaway CA, driven with the real `baton` commands.
struct LoopbackDemo {
    let repository: URL
    let verbose: Bool
    let directory: URL
    let batond: String
    let baton: String
    var processes: [String: SpawnedChild] = [:]
    var port: Int = 0

    static let members = ["site-a", "site-b", "arbitrator"]
    static let addresses = ["site-a": "127.0.0.1", "site-b": "127.0.0.2", "arbitrator": "127.0.0.3"]

    struct DemoError: Error, CustomStringConvertible {
        let description: String
    }

    init(repository: URL, verbose: Bool) throws {
        self.repository = repository
        self.verbose = verbose
        batond = executableDirectory() + "/batond"
        baton = ownExecutable()
        guard FileManager.default.isExecutableFile(atPath: batond) else {
            throw DemoError(description: "batond is not next to baton (\(batond)): build both (swift build -c release)")
        }
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("baton-demo-\(getpid())")
    }

    mutating func run() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { stopAll() }
        say("Baton demo: two sites and an arbitrator, three real batond processes on this machine.")
        say("Files: \(directory.path) (removed at the end).\n")
        try prepare()
        step("1. A throwaway CA signs one certificate per member; the config is sites/site-a/baton.conf with the members moved to 127.0.0.1 (site-a), 127.0.0.2 (site-b), 127.0.0.3 (arbitrator), port \(port), and ticket-db's lease shortened to 10 s for the demo.")
        for member in Self.members { try start(member) }
        try waitUntil("every member connected", timeout: 20) {
            Self.members.allSatisfy { member in (try? self.cli(["peers"], as: member).output.components(separatedBy: ", connected").count) == 3 }
        }
        show(["peers"], as: "site-a")

        step("2. The admin grants ticket-db to site-a and waits for the outcome.")
        show(["grant", "-w", "ticket-db"], as: "site-a")
        show(["list"], as: "site-b")
        say("   site-a's CIB ticket section (--back-end file):")
        say(indent(cibText("site-a").trimmingCharacters(in: .newlines)))

        step("3. Safety check: while the demo runs, both sites' CIB files are read every 10 ms; two sites granted at once would be reported at the end.")
        let sampler = CIBSampler(files: ["site-a": cibPath("site-a"), "site-b": cibPath("site-b")])
        sampler.start()

        step("4. site-a dies (kill -9 of its batond). Its lease runs out on the other members' clocks; then site-b acquires, with no random back-off.")
        let remaining = leaseRemaining(at: "site-b")
        processes["site-a"]!.killAndReap()
        // The site is gone with its resources: its CIB no longer counts as granted.
        try? FileManager.default.removeItem(atPath: cibPath("site-a"))
        let killed = Date()
        say("   site-b's view of the lease: \(String(format: "%.1f", remaining ?? 0)) s left at the kill.")
        try waitUntil("site-b holds ticket-db", timeout: 30) { (try? self.cli(["list"], as: "site-b").output.contains("ticket-db, leader: 127.0.0.2")) ?? false }
        let failover = Date().timeIntervalSince(killed)
        say("   site-b holds ticket-db \(String(format: "%.2f", failover)) s after the kill.")
        show(["list"], as: "site-b")

        step("5. site-a comes back (restart with its state file). It asks the others, learns that site-b holds the ticket, and leaves it alone.")
        try start("site-a")
        try waitUntil("site-a knows the holder", timeout: 20) { (try? self.cli(["list"], as: "site-a").output.contains("ticket-db, leader: 127.0.0.2")) ?? false }
        show(["list"], as: "site-a")

        step("6. Planned switchover back: site-b stops what the ticket guards, releases it naming site-a, site-a acquires it, in round trips.")
        show(["move", "ticket-db", "--to", "site-a", "-w"], as: "site-b")
        show(["list"], as: "arbitrator")

        step("7. The admin revokes the ticket. Nobody holds it and nobody acquires it by itself.")
        show(["revoke", "-w", "ticket-db"], as: "site-a")
        show(["list"], as: "site-b")

        let overlaps = sampler.stop()
        say("")
        if overlaps.isEmpty {
            say("Safety: in \(sampler.samples) samples of both CIB files (every 10 ms), ticket-db was never granted at two sites at once.")
        } else {
            say("SAFETY VIOLATION: both sites granted at once: \(overlaps.joined(separator: "; "))")
            throw DemoError(description: "double grant observed")
        }
        say("Stopping the three batond processes (SIGTERM).")
    }

    // MARK: - Setup

    mutating func prepare() throws {
        port = try freePort()
        let pki = directory.appendingPathComponent("tls").path
        try runTool(repository.appendingPathComponent("scripts/make-test-pki").path, [pki] + Self.members)
        let template = repository.appendingPathComponent("sites/site-a/baton.conf").path
        for member in Self.members {
            let text = try demoConfiguration(template: template, member: member, addresses: Self.addresses, port: port, pki: pki, expire: 10)
            try text.write(toFile: configPath(member), atomically: true, encoding: .utf8)
        }
    }

    mutating func start(_ member: String) throws {
        let state = directory.appendingPathComponent("state-\(member)").path
        var arguments = ["-c", configPath(member), "--state-directory", state, "--socket", socketPath(member), "--log-level", verbose ? "info" : "warning"]
        arguments += member == "arbitrator" ? ["--back-end", "none"] : ["--back-end", "file", "--cib-file", cibPath(member)]
        // In the demo's process group: a Ctrl-C at the terminal stops the daemons too.
        let process = try startDaemon(batond, arguments, logPath: logPath(member), ownGroup: false)
        processes[member] = process
        try waitUntil("\(member)'s batond answers", timeout: 20) { (try? self.cli(["status"], as: member).status) == 0 }
        say("   started batond for \(member) (pid \(process.pid))")
    }

    func stopAll() {
        for process in processes.values { process.signal(SIGTERM) }
        for process in processes.values { process.wait() }
        if !verbose { try? FileManager.default.removeItem(at: directory) }
    }

    // MARK: - Helpers

    func configPath(_ member: String) -> String { directory.appendingPathComponent("\(member).conf").path }
    func socketPath(_ member: String) -> String { directory.appendingPathComponent("run/booth-\(member).sock").path }
    func cibPath(_ member: String) -> String { directory.appendingPathComponent("cib-\(member).xml").path }
    func logPath(_ member: String) -> String { directory.appendingPathComponent("\(member).log").path }
    func cibText(_ member: String) -> String { (try? String(contentsOfFile: cibPath(member), encoding: .utf8)) ?? "(no file)" }

    func cli(_ arguments: [String], as member: String) throws -> (status: Int32, output: String) {
        // Spawned and reaped directly: Foundation's Process.waitUntilExit polls its run loop and
        // added up to 50 ms to the times the demo prints.
        let run = try ChildRun(baton, arguments + ["-c", configPath(member), "--socket", socketPath(member)],
                               captureOutput: true, withErrors: true, outputLimit: 1 << 20)
        return (run.exitCode, run.output)
    }

    func show(_ arguments: [String], as member: String) {
        say("   [\(member)]$ baton \(arguments.joined(separator: " "))")
        let started = Date()
        let result: (status: Int32, output: String) = (try? cli(arguments, as: member)) ?? (status: 1, output: "cannot run baton")
        let took = Date().timeIntervalSince(started) * 1000
        say(indent(result.output.trimmingCharacters(in: .newlines)) + (arguments.first == "grant" || arguments.first == "move" || arguments.first == "revoke" ? "   (\(Int(took)) ms)" : ""))
    }

    func leaseRemaining(at member: String) -> Double? {
        guard let output = try? cli(["list", "--output", "json"], as: member).output,
            let data = output.data(using: .utf8),
            let tickets = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { return nil }
        return tickets.first { $0["ticket"] as? String == "ticket-db" }?["lease_remaining_seconds"] as? Double
    }

    func waitUntil(_ what: String, timeout: Double, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            usleep(20_000)
        }
        throw DemoError(description: "timed out after \(Int(timeout)) s waiting until \(what); logs in \(directory.path)")
    }

    func step(_ text: String) { say("\n" + text) }
    func say(_ text: String) { print(text) }
    func indent(_ text: String) -> String { text.components(separatedBy: "\n").map { "      " + $0 }.joined(separator: "\n") }
}

/// Reads the sites' CIB files on its own thread and records any instant two show granted.
final class CIBSampler: @unchecked Sendable {
    // @unchecked Sendable: `running`, `overlaps` and `count` are only touched under `lock`.
    let files: [String: String]
    private let lock = NSLock()
    private var running = false
    private var overlapsSeen: [String] = []
    private var count = 0

    init(files: [String: String]) { self.files = files }

    var samples: Int { lock.lock(); defer { lock.unlock() }; return count }

    func start() {
        lock.lock(); running = true; lock.unlock()
        Thread.detachNewThread { [self] in
            while true {
                lock.lock()
                let keepGoing = running
                lock.unlock()
                guard keepGoing else { return }
                let granted = files.filter { (_, path) in
                    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains("id=\"ticket-db\"") &&
                        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").components(separatedBy: "\n")
                        .contains { $0.contains("id=\"ticket-db\"") && $0.contains("granted=\"true\"") }
                }.map(\.key).sorted()
                lock.lock()
                count += 1
                if granted.count > 1 { overlapsSeen.append("\(Date()): \(granted.joined(separator: " and "))") }
                lock.unlock()
                usleep(10_000)
            }
        }
    }

    func stop() -> [String] {
        lock.lock(); running = false; let seen = overlapsSeen; lock.unlock()
        usleep(30_000)
        return seen
    }
}

func runTool(_ path: String, _ arguments: [String]) throws {
    let run = try ChildRun(path, arguments, captureOutput: false, inheritOutput: true)
    guard run.exitCode == 0 else {
        throw LoopbackDemo.DemoError(description: "\(path) failed with status \(run.exitCode)")
    }
}

/// A free TCP port on 127.0.0.1..3 (bound and released).
func freePort() throws -> Int {
    for _ in 0..<50 {
        let candidate = Int.random(in: 20_000...40_000)
        var free = true
        for host in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(candidate).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(descriptor)
            if bound != 0 { free = false }
        }
        if free { return candidate }
    }
    throw LoopbackDemo.DemoError(description: "no free port found on 127.0.0.1-3")
}
