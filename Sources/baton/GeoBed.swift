import BatonConfig
import ChildProcess
import Foundation
import WitnessCheck

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM: every wait of the geo demo stops, and its cleanup runs.
nonisolated(unsafe) var geoDemoInterrupted: sig_atomic_t = 0

/// The geo bed of `baton demo` and `baton geo-bench`: two sites of three nodes each (corosync
/// and baton-crmd per node, in network namespaces made by scripts/testbed, one corosync cluster
/// per site), one batond per site with the crmd back end (in the namespace of the site's first
/// node, on that node's baton-crmd socket), the arbitrator's batond in the hub namespace, TLS
/// from a throwaway CA. Each site's CIB runs a group `db` guarded by ticket-db (loss-policy
/// stop): for the demo the witness (ocf:baton:Witness), a floating address (ocf:heartbeat:IPaddr2,
/// the same 10.231.0.100 at both sites) and a service answering on it (ocf:baton:Answer); for the
/// bench N witnesses. Every witness journals to one file (both sites), the verdict's source.
/// The demo's story is in GeoDemo.swift, the bench's in GeoBench.swift.
struct GeoBed {
    /// What each site's group `db` holds.
    enum Guarded {
        /// The demo's witness, address and service.
        case demoGroup
        /// N ocf:baton:Witness primitives (w001 …), no monitor: Dummy-like agents whose every
        /// start and stop the journal times.
        case witnesses(Int)

        /// The witness instances among them (what the journal names).
        var instances: [String] {
            switch self {
            case .demoGroup: return [GeoBed.witness]
            case .witnesses(let count): return (1...count).map { GeoBed.witnessName($0) }
            }
        }
    }

    let repository: URL
    let verbose: Bool
    let directory: URL
    let batond: String
    let crmd: String
    let baton: String
    let testbed: String
    let guarded: Guarded
    /// Names the directories: /tmp/baton-NAME-PID and /tmp/baton-testbed-NAME-PID.
    let name: String
    /// Print what happens (the demo); the bench prints its own lines.
    var echo = true
    /// A user-space impairing switch (scripts/testbed --impair-switch) instead of the hub's bridge.
    let impairSwitch: String?
    var daemons: [String: SpawnedChild] = [:]
    var bedCreated = false
    /// The story ran to its end: the files go (a failure keeps them for its logs).
    var finished = false
    let started = Date()
    /// The figures of the run, printed at the end (and parsed by the test).
    var timeline: [(String, String)] = []

    static let sites = ["site-a": [1, 2, 3], "site-b": [4, 5, 6]]
    static let addresses = ["site-a": "10.231.0.1", "site-b": "10.231.0.4", "arbitrator": "10.231.0.254"]
    static let floating = "10.231.0.100"
    static let servicePort = 7000
    static let lease = 10
    static let witness = "db-witness"

    struct DemoError: Error, CustomStringConvertible {
        let description: String
    }

    static func witnessName(_ number: Int) -> String {
        "w" + String(repeating: "0", count: max(0, 3 - String(number).count)) + String(number)
    }

    init(repository: URL, verbose: Bool, name: String = "demo", guarded: Guarded = .demoGroup, impairSwitch: String? = nil) throws {
        self.repository = repository.standardizedFileURL
        self.verbose = verbose
        self.name = name
        self.guarded = guarded
        self.impairSwitch = impairSwitch
        let binaries = executableDirectory()
        batond = binaries + "/batond"
        crmd = binaries + "/baton-crmd"
        baton = ownExecutable()
        testbed = self.repository.appendingPathComponent("scripts/testbed").path
        var missing: [String] = []
        for (path, what) in [(batond, "batond"), (crmd, "baton-crmd")] where !FileManager.default.isExecutableFile(atPath: path) {
            missing.append("\(what) is not next to baton (\(path)): build it (swift build -c release --product \(what))")
        }
        if getuid() != 0 { missing.append("run as root: the demo makes network namespaces (or run `baton demo --loopback`)") }
        for tool in ["/usr/sbin/corosync", "/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "/usr/bin/python3"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            missing.append("\(tool) is missing (make demo installs corosync, resource-agents, python3-minimal)")
        }
        if !FileManager.default.isExecutableFile(atPath: testbed) { missing.append("\(testbed) not found: give --repository") }
        if let impairSwitch, !FileManager.default.isExecutableFile(atPath: impairSwitch) {
            missing.append("\(impairSwitch) (the impairing switch) is not built: swift build -c release --product baton-impair")
        }
        guard missing.isEmpty else { throw DemoError(description: missing.joined(separator: "; ")) }
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("baton-\(name)-\(getpid())")
    }

    /// SIGINT and SIGTERM stop every wait; the cleanup runs.
    static func catchSignals() {
        signal(SIGINT) { _ in geoDemoInterrupted = 1 }
        signal(SIGTERM) { _ in geoDemoInterrupted = 1 }
    }

    // MARK: - Setup

    /// Where scripts/testbed keeps its state: named so that `testbed sweep` finds it if this
    /// process is killed before its cleanup.
    var bedDirectory: String { "/tmp/baton-testbed-\(name)-\(getpid())" }
    var journalPath: String { directory.appendingPathComponent("witness.journal").path }
    var ocfRoot: String { directory.appendingPathComponent("ocf").path }
    func nodeDirectory(_ node: Int) -> String { directory.appendingPathComponent("node\(node)").path }
    func crmdSocket(_ node: Int) -> String { nodeDirectory(node) + "/crmd.sock" }
    func configPath(_ member: String) -> String { directory.appendingPathComponent("\(member).conf").path }
    func socketPath(_ member: String) -> String { directory.appendingPathComponent("run/\(member).sock").path }
    func logPath(_ name: String) -> String { directory.appendingPathComponent("\(name).log").path }

    static func siteOf(_ node: String) -> String {
        guard let number = Int(node.dropFirst(4)) else { return node }
        return sites.first { $0.value.contains(number) }?.key ?? node
    }

    func prepareFiles() throws {
        let files = FileManager.default
        try files.createDirectory(atPath: directory.appendingPathComponent("run").path, withIntermediateDirectories: true)
        // The OCF root: the machine's providers, and ours (baton: Witness, Answer) from scripts/ocf.
        try files.createDirectory(atPath: ocfRoot + "/resource.d/baton", withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: ocfRoot + "/lib", withDestinationPath: "/usr/lib/ocf/lib")
        for provider in (try? files.contentsOfDirectory(atPath: "/usr/lib/ocf/resource.d")) ?? [] where provider != "baton" {
            try files.createSymbolicLink(atPath: ocfRoot + "/resource.d/" + provider, withDestinationPath: "/usr/lib/ocf/resource.d/" + provider)
        }
        for agent in ["Witness", "Answer"] {
            try files.createSymbolicLink(atPath: ocfRoot + "/resource.d/baton/" + agent,
                                         withDestinationPath: repository.appendingPathComponent("scripts/ocf/" + agent).path)
        }
        guard files.createFile(atPath: journalPath, contents: nil) else { throw DemoError(description: "cannot create \(journalPath)") }
        for (site, nodes) in Self.sites {
            try Self.cib(site: site, nodes: nodes, guarded: guarded).write(toFile: directory.appendingPathComponent("cib-\(site).xml").path, atomically: true, encoding: .utf8)
            for node in nodes { try files.createDirectory(atPath: nodeDirectory(node) + "/run", withIntermediateDirectories: true) }
        }
        let pki = directory.appendingPathComponent("tls").path
        let made = try ChildRun(repository.appendingPathComponent("scripts/make-test-pki").path, [pki, "site-a", "site-b", "arbitrator"],
                                captureOutput: true, withErrors: true, outputLimit: 1 << 16)
        guard made.exitCode == 0 else { throw DemoError(description: "scripts/make-test-pki failed: \(made.output)") }
        let template = repository.appendingPathComponent("sites/site-a/baton.conf").path
        for member in ["site-a", "site-b", "arbitrator"] {
            let text = try demoConfiguration(template: template, member: member, addresses: Self.addresses, port: 9929, pki: pki, expire: Self.lease)
            try text.write(toFile: configPath(member), atomically: true, encoding: .utf8)
        }
    }

    /// A site's CIB: its nodes, stonith off (a site never fences the other), the guarded group.
    static func cib(site: String, nodes: [Int], guarded: Guarded = .demoGroup) -> String {
        func primitive(_ id: String, _ provider: String, _ type: String, _ parameters: [(String, String)], monitor: Bool = true) -> String {
            let attributes = parameters.isEmpty ? "" : "<instance_attributes id=\"\(id)-ia\">"
                + parameters.map { "<nvpair id=\"\(id)-\($0.0)\" name=\"\($0.0)\" value=\"\($0.1)\"/>" }.joined() + "</instance_attributes>"
            return "<primitive id=\"\(id)\" class=\"ocf\" provider=\"\(provider)\" type=\"\(type)\">\(attributes)"
                + (monitor ? "<operations><op id=\"\(id)-monitor\" name=\"monitor\" interval=\"5s\" timeout=\"20s\"/></operations>" : "")
                + "</primitive>"
        }
        let members: String
        switch guarded {
        case .demoGroup:
            members = primitive(witness, "baton", "Witness", [])
                + primitive("db-ip", "heartbeat", "IPaddr2", [("ip", floating), ("cidr_netmask", "24")])
                + primitive("db-service", "baton", "Answer", [("ip", floating), ("port", String(servicePort)), ("text", site)])
        case .witnesses:
            members = guarded.instances.map { primitive($0, "baton", "Witness", [], monitor: false) }.joined()
        }
        return """
            <cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
            <cluster_property_set id="options"><nvpair id="options-se" name="stonith-enabled" value="false"/>\
            <nvpair id="options-nqp" name="no-quorum-policy" value="stop"/></cluster_property_set></crm_config>
            <nodes>\(nodes.map { "<node id=\"\($0)\" uname=\"node\($0)\"/>" }.joined())</nodes>
            <resources><group id="db">\(members)</group></resources>
            <constraints><rsc_ticket id="db-with-ticket-db" rsc="db" ticket="ticket-db" loss-policy="stop"/></constraints>
            </configuration><status/></cib>
            """
    }

    mutating func startCrmd(_ node: Int) throws {
        let base = nodeDirectory(node)
        let site = Self.siteOf("node\(node)")
        let arguments = ["-d", bedDirectory, "exec", String(node), crmd, "--socket", crmdSocket(node), "--dc-deadtime", "5",
                         "--cib-dir", base + "/cib", "--cib", directory.appendingPathComponent("cib-\(site).xml").path,
                         "--resource-tmp", base + "/rsctmp", "--agent-tools-dir", base + "/agent-tools", "--ocf-root", ocfRoot,
                         "--agent-environment", "HA_VARRUN=\(base)/run", "--agent-environment", "BATON_WITNESS_JOURNAL=\(journalPath)",
                         "--agent-environment", "BATON_WITNESS_NODE=node\(node)"]
        daemons["crmd\(node)"] = try startDaemon(testbed, arguments, logPath: logPath("node\(node)-crmd"), ownGroup: false)
    }

    mutating func startBatond(_ member: String) throws {
        let backEnd = member == "arbitrator" ? ["--back-end", "none"]
            : ["--back-end", "crmd", "--crmd-socket", crmdSocket(Self.sites[member]!.first!)]
        let place = member == "arbitrator" ? ["exec-hub"] : ["exec", String(Self.sites[member]!.first!)]
        let arguments = ["-d", bedDirectory] + place + [batond, "-c", configPath(member), "--state-directory",
                         directory.appendingPathComponent("state-\(member)").path, "--socket", socketPath(member),
                         "--log-level", verbose ? "info" : "warning"] + backEnd
        daemons[member] = try startDaemon(testbed, arguments, logPath: logPath(member), ownGroup: false)
        try waitUntil("\(member)'s batond answers", timeout: 60) { (try? self.cli(["status"], as: member).status) == 0 }
    }

    /// The node loses power: everything in its namespace killed, its /run emptied, the witness
    /// told that whatever ran there ended now.
    mutating func powerOff(_ node: Int) throws {
        try testbedCommand(["power-off", String(node)])
        for name in ["crmd\(node)"] + Self.sites.filter({ $0.value.first == node }).map(\.key) {
            if let child = daemons.removeValue(forKey: name) { _ = child.wait() }
        }
        let run = nodeDirectory(node) + "/run"
        for file in (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [] { try? FileManager.default.removeItem(atPath: run + "/" + file) }
        try? FileManager.default.removeItem(atPath: nodeDirectory(node) + "/rsctmp")
        let fenced = try ChildRun(repository.appendingPathComponent("scripts/ocf/Witness").path, ["fenced", "node\(node)"], captureOutput: true,
                                  withErrors: true, environment: ["BATON_WITNESS_JOURNAL": journalPath])
        guard fenced.exitCode == 0 else { throw DemoError(description: "Witness fenced node\(node): \(fenced.output)") }
    }

    func cleanUp() {
        // batond first (a clean stop of a holder hands over and revokes), then baton-crmd (a
        // second SIGTERM: leave at once), each by its pid, then the test bed (corosync, whatever
        // still runs in its namespaces, the namespaces).
        let order = daemons.keys.sorted { ($0.hasPrefix("crmd") ? 1 : 0, $0) < ($1.hasPrefix("crmd") ? 1 : 0, $1) }
        for name in order where !name.hasPrefix("crmd") { daemons[name]!.signal(SIGTERM) }
        for name in order where !name.hasPrefix("crmd") { reap(daemons[name]!, within: 15) }
        let crmds = order.filter { $0.hasPrefix("crmd") }
        for name in crmds { daemons[name]!.signal(SIGTERM) }
        usleep(200_000)
        for name in crmds { daemons[name]!.signal(SIGTERM) }
        for name in crmds { reap(daemons[name]!, within: 15) }
        if bedCreated {
            let teardown = try? ChildRun(testbed, ["-d", bedDirectory, "teardown"], captureOutput: true, withErrors: true)
            if teardown?.exitCode != 0 { print("demo: testbed teardown failed: \(teardown?.output ?? "could not run it"); see \(bedDirectory)") }
        }
        if !verbose && (finished || geoDemoInterrupted != 0) {
            try? FileManager.default.removeItem(at: directory)
        } else {
            print("demo: its files (logs, witness journal) are kept in \(directory.path)")
        }
    }

    func reap(_ child: SpawnedChild, within seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while child.poll() == nil {
            if Date() > deadline { _ = child.killAndReap(); return }
            usleep(20_000)
        }
    }

    // MARK: - Observing

    var journal: WitnessJournal { WitnessJournal((try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? "") }

    /// The sites where the witness is active now.
    var activeSites: Set<String> {
        let active = journal.active
        return Set(guarded.instances.flatMap { active[$0] ?? [] }.map(Self.siteOf))
    }

    func waitForDC(_ site: String) throws {
        let nodes = Self.sites[site]!
        try waitUntil("one DC at \(site), quorate", timeout: 120) {
            var dcs: Set<String> = []
            for node in nodes {
                guard let result = try? ChildRun(baton, ["crm", "status", "--node", "--output", "json", "--socket", crmdSocket(node)],
                                                 captureOutput: true, withErrors: true, outputLimit: 1 << 20), result.exitCode == 0,
                      let object = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
                      object["settled"] as? Bool == true, object["quorate"] as? Bool == true,
                      let dc = object["dcName"] as? String, (object["members"] as? [Any])?.count == nodes.count else { return false }
                dcs.insert(dc)
            }
            return dcs.count == 1
        }
    }

    /// Waits until the service answers from `site` and the witness is active there only.
    func holder(at member: String) -> String? {
        guard let output = try? cli(["list", "--output", "json"], as: member).output,
              let tickets = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]],
              let ticket = tickets.first(where: { $0["ticket"] as? String == "ticket-db" }) else { return nil }
        let leader = (ticket["leader"] as? String) ?? ""
        return Self.addresses.first { $0.key == leader || $0.value == leader || $0.value == ticket["leader_address"] as? String }?.key
    }

    func leaseRemaining(at member: String) -> Double? {
        guard let output = try? cli(["list", "--output", "json"], as: member).output,
              let tickets = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] else { return nil }
        return tickets.first { $0["ticket"] as? String == "ticket-db" }?["lease_remaining_seconds"] as? Double
    }

    /// A grant right after the members start may meet the quiet period of a member without state.
    // MARK: - Commands

    func testbedCommand(_ arguments: [String]) throws {
        let result = try ChildRun(testbed, ["-d", bedDirectory] + arguments, captureOutput: true, withErrors: true, outputLimit: 1 << 16)
        if geoDemoInterrupted != 0 { throw DemoError(description: "interrupted") }
        guard result.exitCode == 0 else {
            throw DemoError(description: "testbed \(arguments.joined(separator: " ")) exited \(result.exitCode): \(result.output)")
        }
    }

    func cli(_ arguments: [String], as member: String) throws -> (status: Int32, output: String) {
        let run = try ChildRun(baton, arguments + ["-c", configPath(member), "--socket", socketPath(member)],
                               captureOutput: true, withErrors: true, outputLimit: 1 << 20)
        return (run.exitCode, run.output)
    }

    /// Shows a command and its output: a ticket command at a member, or (crmdNode) a `baton crm`
    /// command on a node's baton-crmd.
    func show(_ arguments: [String], as who: String, crmdNode: Int? = nil) {
        say("   [\(who)]$ baton \(arguments.joined(separator: " "))")
        let began = Date()
        var result: (status: Int32, output: String) = (1, "cannot run baton")
        if let crmdNode {
            if let run = try? ChildRun(baton, arguments + ["--socket", crmdSocket(crmdNode)], captureOutput: true, withErrors: true, outputLimit: 1 << 20) {
                result = (run.exitCode, run.output)
            }
        } else if let run = try? cli(arguments, as: who) {
            result = run
        }
        let took = Date().timeIntervalSince(began) * 1000
        say(indent(result.output.trimmingCharacters(in: .newlines)) + (["grant", "move", "revoke"].contains(arguments.first ?? "") ? "   (\(Int(took)) ms)" : ""))
    }

    func waitUntil(_ what: String, timeout: Double, interval: useconds_t = 50_000, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout * patience)
        while Date() < deadline {
            if geoDemoInterrupted != 0 { throw DemoError(description: "interrupted while waiting until \(what)") }
            if condition() { return }
            usleep(interval)
        }
        throw DemoError(description: "timed out after \(Int(timeout * patience)) s waiting until \(what); logs in \(directory.path)")
    }

    /// BATON_TEST_PATIENCE stretches every wait (as in the tests) on a loaded machine.
    var patience: Double { max(1, Double(ProcessInfo.processInfo.environment["BATON_TEST_PATIENCE"] ?? "") ?? 1) }

    func ms(_ seconds: Double) -> Int { Int(seconds * 1000) }
    func monotonicNow() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    func step(_ text: String) { say("\n[\(String(format: "%5.1f", Date().timeIntervalSince(started)))] " + text) }
    func say(_ text: String) {
        guard echo else { return }
        print(text)
        fflush(nil)   // every stream: each line appears as it happens (also into a pipe)
    }
    func indent(_ text: String) -> String { text.components(separatedBy: "\n").map { "      " + $0 }.joined(separator: "\n") }
}
