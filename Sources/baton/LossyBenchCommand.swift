import ArgumentParser
import ChildProcess
import Foundation
import TicketWire

#if canImport(Glibc)
import Glibc
#endif

/// `baton lossy-bench`: issue 10's lossy network with real daemons. site-a, site-b and the
/// arbitrator run in network namespaces behind `scripts/impair-bed`'s impairing switch
/// (`baton-impair`), three tickets are granted on a clean network (expire 10 s, timeout 1 s,
/// retries 3; ticketA and ticketC at site-a, ticketB at site-b), then every frame is lost
/// with `--loss`, delayed `--delay` ± `--jitter` ms and duplicated with `--duplicate` for
/// `--duration` seconds while a sampler reads both sites' CIB files every 20 ms. With
/// `--compare PATH` the same run is made first with that batond (an older build, say).
/// Everything it starts it stops (by pid), and it deletes its namespaces and files.
struct LossyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lossy-bench",
        abstract: "Lab: three tickets held through a lossy, slow, duplicating network (real batond, namespaces).",
        discussion: """
            Needs root and iproute2; run from the repository root (scripts/impair-bed, scripts/make-test-pki).
            Prints per run: holder changes, time without a holder, samples with a double holder, campaigns and
            leases lost (from the daemons' logs) and the switch's counters.
            Exit status: 0 ran (read the figures), 1 could not run.
            """)

    @Option(help: "Seconds of impairment.") var duration = 180
    @Option(help: "Loss probability per frame.") var loss = 0.25
    @Option(help: "Delay per frame, ms.") var delay = 200
    @Option(help: "Jitter (uniform ±), ms.") var jitter = 100
    @Option(help: "Duplication probability per frame.") var duplicate = 0.05
    @Option(help: "The switch's seed.") var seed = 10
    @Option(help: "The batond binary (default: next to this baton).") var batond: String?
    @Option(help: "Another batond to run first, for a before/after comparison.") var compare: String?
    @Option(help: "The impairing switch (default: baton-impair next to this baton).") var switchBinary: String?
    @Option(help: "scripts/impair-bed") var bedScript = "scripts/impair-bed"
    @Option(help: "scripts/make-test-pki") var pkiScript = "scripts/make-test-pki"
    @Flag(help: "Keep the temporary directory (logs, state) after the run.") var keep = false

    func validate() throws {
        guard duration >= 1, duration <= 3600 else { throw ValidationError("--duration must be 1...3600 seconds") }
        guard (0..<1).contains(loss), (0...1).contains(duplicate) else { throw ValidationError("--loss must be in 0..<1, --duplicate in 0...1") }
        guard delay >= 0, jitter >= 0, jitter <= delay else { throw ValidationError("--delay and --jitter must be >= 0, jitter <= delay") }
    }

    func run() throws {
        let here = executableDirectory()
        let daemon = batond ?? here + "/batond"
        let switchPath = switchBinary ?? here + "/baton-impair"
        for (what, path) in [("batond", daemon), ("baton-impair", switchPath), ("impair-bed", bedScript), ("make-test-pki", pkiScript)]
        where !FileManager.default.isExecutableFile(atPath: path) {
            throw BenchError("no \(what) at \(path) (build it, run from the repository root, or give the option)")
        }
        guard geteuid() == 0 else { throw BenchError("needs root (network namespaces, packet sockets)") }
        var runs: [(String, String)] = []
        if let compare { runs.append(("compared (\(compare))", compare)) }
        runs.append(("this build (\(daemon))", daemon))
        var results: [(String, LossyFigures)] = []
        for (label, path) in runs {
            say("lossy-bench: \(label): \(duration) s at \(Int(loss * 100)) % loss, \(delay) ± \(jitter) ms, \(Int(duplicate * 100)) % duplication")
            let figures = try runOnce(daemon: path, switchPath: switchPath)
            say("  \(figures)")
            results.append((label, figures))
        }
        say("")
        for (label, figures) in results { say("\(label):\n  \(figures)") }
    }

    func runOnce(daemon: String, switchPath: String) throws -> LossyFigures {
        var template = Array("/tmp/baton-impair-bench-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw BenchError("mkdtemp failed") }
        let root = String(cString: made)
        let bed = root + "/bed"
        var processes: [String: SpawnedChild] = [:]
        defer {
            for process in processes.values { process.signal(SIGTERM) }
            let deadline = ContinuousClock.now + .seconds(5)
            for process in processes.values {
                while process.poll() == nil && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
                process.killAndReap()
            }
            _ = try? spawnAndWait(bedScript, ["-d", bed, "teardown"])
            if keep { say("  kept \(root)") } else { try? FileManager.default.removeItem(atPath: root) }
        }
        try spawnAndWait(pkiScript, [root + "/pki", "site-a", "site-b", "arbitrator"])
        try spawnAndWait(bedScript, ["-d", bed, "up", "--members", "3", "--switch", switchPath, "--seed", "\(seed)"])
        let names = ["site-a", "site-b", "arbitrator"]
        let tickets = ["ticketA", "ticketB", "ticketC"]
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
        for name in names {
            var text = """
                port = 9929
                site = 10.232.0.1 name=site-a
                site = 10.232.0.2 name=site-b
                arbitrator = 10.232.0.3 name=arbitrator
                tls-ca = \(root)/pki/ca.pem
                tls-certificate = \(root)/pki/\(name).pem
                tls-private-key = \(root)/pki/\(name).key
                identity = \(name)

                """
            for ticket in tickets { text += "ticket = \"\(ticket)\"\n  expire = 10\n  timeout = 1\n  retries = 3\n" }
            try text.write(toFile: "\(root)/\(name).conf", atomically: true, encoding: .utf8)
        }
        func socket(_ name: String) -> String { "\(root)/run/booth-\(name).sock" }
        func cib(_ name: String) -> String { "\(root)/cib-\(name).xml" }
        for (index, name) in names.enumerated() {
            // impair-bed exec and ip netns exec both exec: the pid is batond's.
            processes[name] = try startDaemon(bedScript, ["-d", bed, "exec", "\(index + 1)", daemon, "-c", "\(root)/\(name).conf",
                                                    "--state-directory", "\(root)/state-\(name)", "--socket", socket(name)]
                                            + (name == "arbitrator" ? ["--back-end", "none"] : ["--back-end", "file", "--cib-file", cib(name)]),
                                              logPath: "\(root)/\(name).log")
        }
        let ready = ContinuousClock.now + .seconds(60)
        for name in names {
            while true {
                if let client = try? BenchClient(socketPath: socket(name)) {
                    defer { client.close() }
                    if case .peers(let peers) = try client.call(.peers), peers.allSatisfy(\.connected) { break }
                }
                guard ContinuousClock.now < ready else { throw BenchError("\(name) not ready within 60 s; see \(root)/\(name).log (--keep)") }
                guard let process = processes[name], process.poll() == nil else {
                    processes[name] = nil
                    throw BenchError("\(name) exited; see \(root)/\(name).log (--keep)")
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        for (index, ticket) in tickets.enumerated() {
            let site = index == 1 ? "site-b" : "site-a"
            let client = try BenchClient(socketPath: socket(site))
            defer { client.close() }
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                if case .outcome(let outcome) = try client.call(.ticket(name: ticket, .grant(force: false, wait: true, waitForCommit: true))),
                    outcome.succeeded
                { break }
                guard ContinuousClock.now < deadline else { throw BenchError("\(ticket) not granted at \(site) within 60 s") }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        try spawnAndWait(bedScript, ["-d", bed, "set", "\(loss)", "\(delay)", "\(jitter)", "\(duplicate)"])
        var figures = sampleCIBHolders(files: ["site-a": cib("site-a"), "site-b": cib("site-b")], tickets: tickets, seconds: duration)
        for name in names {
            let log = (try? String(contentsOfFile: "\(root)/\(name).log", encoding: .utf8)) ?? ""
            figures.campaigns += log.components(separatedBy: "campaign started").count - 1
            figures.leasesLost += log.components(separatedBy: "lease lost").count - 1
        }
        figures.switchCounters = ((try? String(contentsOfFile: bed + "/stats", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        return figures
    }
}

/// A line on standard output at once (print is buffered when the output is a file).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Runs `path` to its end, output to /dev/null; throws unless it exits 0. (Foundation's Process
/// waits for every holder of a descriptor it gives the child, and impair-bed leaves the switch
/// running in the background.)
@discardableResult
func spawnAndWait(_ path: String, _ arguments: [String]) throws -> Int32 {
    let run = try ChildRun(path, arguments, captureOutput: false)
    guard run.exitCode == 0 else { throw BenchError("\(path) \(arguments.joined(separator: " ")) exited \(run.exitCode)") }
    return run.exitCode
}

struct LossyFigures: CustomStringConvertible {
    var tickets = 0
    var span: Double = 0
    var samples = 0
    var holderChanges = 0
    var withoutHolder: Double = 0
    var doubleHolderSamples = 0
    var campaigns = 0
    var leasesLost = 0
    var switchCounters = ""
    var description: String {
        String(format: "%d holder changes, %.1f s without a holder over %d tickets x %.0f s (%.2f %%), %d samples with a double holder of %d; %d campaigns, %d leases lost; switch: %@",
               holderChanges, withoutHolder, tickets, span, withoutHolder / (span * Double(max(tickets, 1))) * 100, doubleHolderSamples, samples,
               campaigns, leasesLost, switchCounters)
    }
}

/// Whether `ticket` is granted in a file back end's CIB text.
func cibGranted(_ text: String, ticket: String) -> Bool {
    for line in text.split(separator: "\n") where line.contains("<ticket_state ") && line.contains("id=\"\(ticket)\"") {
        return line.contains("granted=\"true\"")
    }
    return false
}

/// Reads the sites' CIB files every 20 ms for `seconds`: holder changes, time without a holder
/// (summed over tickets), samples in which two sites had one ticket granted.
func sampleCIBHolders(files: [String: String], tickets: [String], seconds: Int) -> LossyFigures {
    var figures = LossyFigures(tickets: tickets.count)
    var lastHolder: [String: String] = [:]
    let start = ContinuousClock.now
    var previous = start
    var withoutNow = 0
    func elapsed(_ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> Double {
        (to - from).inSeconds
    }
    while elapsed(start, .now) < Double(seconds) {
        let now = ContinuousClock.now
        figures.withoutHolder += elapsed(previous, now) * Double(withoutNow)
        previous = now
        withoutNow = 0
        figures.samples += 1
        let texts = files.mapValues { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }
        for ticket in tickets {
            let holders = texts.keys.sorted().filter { cibGranted(texts[$0]!, ticket: ticket) }
            if holders.count > 1 { figures.doubleHolderSamples += 1 }
            guard let holder = holders.first else {
                withoutNow += 1
                continue
            }
            if let last = lastHolder[ticket], last != holder { figures.holderChanges += 1 }
            lastHolder[ticket] = holder
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    figures.withoutHolder += elapsed(previous, .now) * Double(withoutNow)
    figures.span = elapsed(start, .now)
    return figures
}
