import BatonConfig
import ChildProcess
import Foundation
import WitnessCheck

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM: every wait of the geo demo stops, and its cleanup runs.
nonisolated(unsafe) var geoDemoInterrupted: sig_atomic_t = 0

/// `baton demo`: the whole geo cluster on this machine. Two sites of three nodes each (corosync
/// and baton-crmd per node, in network namespaces made by scripts/testbed, one corosync cluster
/// per site), one batond per site with the crmd back end (in the namespace of the site's first
/// node, on that node's baton-crmd socket), the arbitrator's batond in the hub namespace, TLS
/// from a throwaway CA. Each site's CIB runs a group guarded by ticket-db (loss-policy stop):
/// the witness (ocf:baton:Witness), a floating address (ocf:heartbeat:IPaddr2, the same
/// 10.231.0.100 at both sites) and a service answering on it (ocf:baton:Answer). The story is
/// told with the real commands; the witness journal (both sites) gives the verdict.
struct GeoDemo {
    let repository: URL
    let verbose: Bool
    let directory: URL
    let batond: String
    let crmd: String
    let baton: String
    let testbed: String
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

    init(repository: URL, verbose: Bool) throws {
        self.repository = repository.standardizedFileURL
        self.verbose = verbose
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
        guard missing.isEmpty else { throw DemoError(description: missing.joined(separator: "; ")) }
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("baton-demo-\(getpid())")
    }

    // MARK: - The story

    mutating func run() throws {
        signal(SIGINT) { _ in geoDemoInterrupted = 1 }
        signal(SIGTERM) { _ in geoDemoInterrupted = 1 }
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { cleanUp() }
        say("Baton demo: a geo cluster on this machine. Two sites of three nodes each (corosync and baton-crmd")
        say("per node, in network namespaces), one batond per site and an arbitrator, real resources guarded")
        say("by ticket-db. Files: \(directory.path) (removed at the end). Times are seconds since the start.")

        step("1. The network: one bridge, site-a = node1-3 (10.231.0.1-3, its own corosync cluster), site-b = node4-6 (10.231.0.4-6, another), the arbitrator on the hub's 10.231.0.254.")
        try prepareFiles()
        bedCreated = true
        try testbedCommand(["up", "--sites", "3,3"])
        let prefix = ((try? String(contentsOfFile: bedDirectory + "/prefix", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        say("   [host]$ scripts/testbed up --sites 3,3   (namespaces \(prefix)-hub, \(prefix)-n1 … \(prefix)-n6)")
        for (site, nodes) in Self.sites.sorted(by: { $0.key < $1.key }) {
            for node in nodes { try startCrmd(node) }
            try waitForDC(site)
        }
        say("   Each site's CIB: group db = db-witness (ocf:baton:Witness, first in, last out), db-ip (ocf:heartbeat:IPaddr2")
        say("   \(Self.floating)/24, the same at both sites), db-service (ocf:baton:Answer on \(Self.floating):\(Self.servicePort)),")
        say("   with rsc_ticket ticket=ticket-db loss-policy=stop. Nothing runs: nobody holds ticket-db.")
        show(["crm", "status"], as: "node1", crmdNode: 1)

        step("2. batond: one per site with --back-end crmd (site-a's in node1's namespace on its baton-crmd, site-b's in node4's), the arbitrator's in the hub. TLS from a throwaway CA; ticket-db's lease is \(Self.lease) s for the demo.")
        for member in ["site-a", "site-b", "arbitrator"] { try startBatond(member) }
        try waitUntil("every batond connected to its two peers", timeout: 60) {
            ["site-a", "site-b", "arbitrator"].allSatisfy { member in (try? self.cli(["peers"], as: member).output.components(separatedBy: ", connected").count) == 3 }
        }
        show(["peers"], as: "site-a")

        step("3. The admin grants ticket-db to site-a. baton-crmd at site-a starts the group: witness, address, service.")
        var mark = Date()
        try retryGrant()
        let granted = Date()
        try waitForService("site-a")
        record("grant → service answering at site-a", Date().timeIntervalSince(mark), note: "command \(ms(granted.timeIntervalSince(mark))) ms + start \(ms(Date().timeIntervalSince(granted))) ms")
        show(["crm", "ticket", "list"], as: "node2", crmdNode: 2)
        probe()

        step("4. Planned move to site-b: site-a revokes ticket-db in its CIB (its DC stops the group) and releases it naming site-b; site-b acquires it and its DC starts the group. The witness tells whether site-a's stop ended before site-b's start.")
        try plannedMove(from: "site-a", to: "site-b", "planned move site-a → site-b (command to service answering)")
        probe()

        step("5. And back to site-a the same way, so that site-a holds it when it dies.")
        try plannedMove(from: "site-b", to: "site-a", "planned move site-b → site-a")

        step("6. site-a's three nodes lose power: kill -9 of corosync, baton-crmd, batond and everything else in their namespaces (the address and the service die with them). site-b waits until its view of the lease has run out, then acquires the ticket and starts the group.")
        let remaining = leaseRemaining(at: "site-b")
        mark = Date()
        for node in Self.sites["site-a"]! { try powerOff(node) }
        say("   [host]$ testbed power-off node1 node2 node3   (site-b's view of the lease: \(String(format: "%.1f", remaining ?? 0)) s left)")
        try waitForService("site-b", timeout: Double(Self.lease) * 3 + 60)
        record("site-a killed → service answering at site-b", Date().timeIntervalSince(mark), note: "lease left at the kill \(String(format: "%.1f", remaining ?? 0)) s")
        show(["list"], as: "site-b")
        probe()

        step("7. site-a comes back (power on: corosync, baton-crmd, batond from its state journal). It learns that site-b holds ticket-db and starts nothing.")
        let beforeRestart = journal.events.count
        for node in Self.sites["site-a"]! { try testbedCommand(["power-on", String(node)]) }
        for node in Self.sites["site-a"]! { try startCrmd(node) }
        try waitForDC("site-a")
        try startBatond("site-a")
        try waitUntil("site-a's batond knows site-b holds ticket-db", timeout: 60) { self.holder(at: "site-a") == "site-b" }
        try observeQuiet(site: "site-a", since: beforeRestart, seconds: 6, what: "after the restart")
        show(["list"], as: "site-a")

        step("8. Planned move back to site-a.")
        try plannedMove(from: "site-b", to: "site-a", "planned move site-b → site-a after the restart")

        step("9. site-a is cut off from site-b and the arbitrator (its nodes still reach each other: its cluster keeps quorum). Its batond cannot renew; at its lease's end site-a must have stopped the group, and site-b starts it once its own view of the lease has ended.")
        let handovers = journal.handovers(group: Self.siteOf).count
        let cutAt = monotonicNow()
        mark = Date()
        try testbedCommand(["partition", "1", "2", "3"])
        say("   [host]$ testbed partition node1 node2 node3")
        try waitUntil("site-a stopped the group", timeout: Double(Self.lease) * 3 + 60) { !self.activeSites.contains("site-a") }
        let stoppedAfter = Date().timeIntervalSince(mark)
        try waitForService("site-b", timeout: Double(Self.lease) * 3 + 60)
        let moves = journal.handovers(group: Self.siteOf)
        if moves.count > handovers, let move = moves.last {
            say("   site-a's last stop (witness stop-end on \(move.from)): \(String(format: "%.3f", move.endedAt - cutAt)) s after the cut")
            say("   site-b's first start (witness start-begin on \(move.to)): \(String(format: "%.3f", move.startedAt - cutAt)) s after the cut")
            say(move.gap > 0 ? "   gap: \(String(format: "%.3f", move.gap)) s with neither site running it"
                : "   OVERLAP: both sites ran it for \(String(format: "%.3f", -move.gap)) s")
            record("partition → site-a stopped", move.endedAt - cutAt, note: "")
            record("partition → site-b started", move.startedAt - cutAt, note: "")
            record("partition safety gap (site-a's last stop → site-b's first start)", move.gap, note: move.gap > 0 ? "" : "OVERLAP")
        } else {
            say("   site-a stopped \(String(format: "%.3f", stoppedAfter)) s after the cut; no handover in the journal")
        }
        probe()

        step("10. The partition heals. site-a learns that site-b holds the ticket; nothing moves back.")
        let beforeHeal = journal.events.count
        try testbedCommand(["unpartition", "1", "2", "3"])
        say("   [host]$ testbed unpartition node1 node2 node3")
        try waitUntil("site-a's batond sees site-b holding ticket-db", timeout: 60) { self.holder(at: "site-a") == "site-b" }
        try observeQuiet(site: "site-a", since: beforeHeal, seconds: 6, what: "after the heal")
        show(["list"], as: "arbitrator")
        probe()

        step("11. The witness's verdict (one journal, every start and stop at both sites, CLOCK_MONOTONIC).")
        let verdict = journal
        let starts = verdict.events.filter { $0.kind == "start-begin" }.count
        let all = verdict.handovers(group: Self.siteOf)
        for move in all {
            say("   \(Self.siteOf(move.from)) (\(move.from)) → \(Self.siteOf(move.to)) (\(move.to)): " + Self.describe(move))
        }
        say("")
        say("Figures:")
        for (what, figure) in timeline { say("   \(what): \(figure)") }
        if verdict.violations.isEmpty {
            let gaps = all.map(\.gap)
            say("Witness: \(starts) starts, \(all.count) moves between the sites, never active at two sites at once (smallest gap \(String(format: "%.3f", gaps.min() ?? 0)) s).")
        } else {
            say("WITNESS TRIPPED:\n" + verdict.violations.prefix(20).map { "   " + $0 }.joined(separator: "\n"))
            throw DemoError(description: "the witness tripped (journal kept in \(directory.path))")
        }
        say("Total \(String(format: "%.1f", Date().timeIntervalSince(started))) s. Stopping everything (batond, baton-crmd, corosync, the namespaces).")
        finished = true
    }

    // MARK: - Setup

    /// Where scripts/testbed keeps its state: named so that `testbed sweep` finds it if this
    /// process is killed before its cleanup.
    var bedDirectory: String { "/tmp/baton-testbed-demo-\(getpid())" }
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
            try Self.cib(site: site, nodes: nodes).write(toFile: directory.appendingPathComponent("cib-\(site).xml").path, atomically: true, encoding: .utf8)
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
    static func cib(site: String, nodes: [Int]) -> String {
        func primitive(_ id: String, _ provider: String, _ type: String, _ parameters: [(String, String)]) -> String {
            let attributes = parameters.isEmpty ? "" : "<instance_attributes id=\"\(id)-ia\">"
                + parameters.map { "<nvpair id=\"\(id)-\($0.0)\" name=\"\($0.0)\" value=\"\($0.1)\"/>" }.joined() + "</instance_attributes>"
            return "<primitive id=\"\(id)\" class=\"ocf\" provider=\"\(provider)\" type=\"\(type)\">\(attributes)<operations>"
                + "<op id=\"\(id)-monitor\" name=\"monitor\" interval=\"5s\" timeout=\"20s\"/></operations></primitive>"
        }
        return """
            <cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
            <cluster_property_set id="options"><nvpair id="options-se" name="stonith-enabled" value="false"/>\
            <nvpair id="options-nqp" name="no-quorum-policy" value="stop"/></cluster_property_set></crm_config>
            <nodes>\(nodes.map { "<node id=\"\($0)\" uname=\"node\($0)\"/>" }.joined())</nodes>
            <resources><group id="db">\(primitive(witness, "baton", "Witness", []))\
            \(primitive("db-ip", "heartbeat", "IPaddr2", [("ip", floating), ("cidr_netmask", "24")]))\
            \(primitive("db-service", "baton", "Answer", [("ip", floating), ("port", String(servicePort)), ("text", site)]))</group></resources>
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
    var activeSites: Set<String> { Set((journal.active[Self.witness] ?? []).map(Self.siteOf)) }

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
    func waitForService(_ site: String, timeout: Double = 120) throws {
        try waitUntil("the group running at \(site) and its service answering", timeout: timeout) {
            self.activeSites == [site] && (self.serviceAnswer()?.hasPrefix(site + " ") ?? false)
        }
    }

    /// Nothing starts at `site` for `seconds` (journal lines after `since`), the witness polled.
    func observeQuiet(site: String, since: Int, seconds: Double, what: String) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if geoDemoInterrupted != 0 { throw DemoError(description: "interrupted") }
            let starts = journal.events.dropFirst(since).filter { $0.kind == "start-begin" && Self.siteOf($0.node) == site }
            if let first = starts.first { throw DemoError(description: "flapping \(what): \(site) started \(first.instance) on \(first.node)") }
            usleep(100_000)
        }
        say("   Watched \(Int(seconds)) s \(what): nothing started at \(site); the group runs at \(activeSites.sorted().joined(separator: ", ")).")
    }

    /// One connection from the hub (where a client would be) to the floating address.
    func serviceAnswer() -> String? {
        let script = "import socket,sys\ntry:\n s=socket.create_connection(('\(Self.floating)',\(Self.servicePort)),timeout=1)\n"
            + " sys.stdout.write(s.recv(200).decode().strip())\nexcept OSError as e:\n sys.stdout.write('no answer: '+str(e))\n"
        // A fresh neighbour entry: the address moved to another MAC (IPaddr2 also sends ARPs).
        guard let result = try? ChildRun(testbed, ["-d", bedDirectory, "exec-hub", "sh", "-c",
                                                   "ip neigh flush to \(Self.floating) 2>/dev/null; exec /usr/bin/python3 -c \"$1\"", "sh", script],
                                         captureOutput: true, withErrors: true, outputLimit: 4096), result.exitCode == 0 else { return nil }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func probe() {
        say("   [hub]$ connect to \(Self.floating):\(Self.servicePort)")
        say("      " + (serviceAnswer() ?? "(the probe could not run)"))
    }

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
    func retryGrant() throws {
        var last = ""
        do {
            try waitUntil("site-a's grant of ticket-db", timeout: Double(Self.lease) * 3 + 30) {
                let result = (try? self.cli(["grant", "-w", "ticket-db"], as: "site-a")) ?? (status: 1, output: "cannot run baton")
                last = result.output
                return result.status == 0
            }
        } catch {
            throw DemoError(description: "\(error); last answer: \(last)")
        }
        say("   [site-a]$ baton grant -w ticket-db")
        say(indent(last.trimmingCharacters(in: .newlines)))
    }

    /// `baton move ticket-db --to TO -w` at FROM, timed from the command to the service answering
    /// at TO, with the witness's gap between FROM's last stop and TO's first start.
    mutating func plannedMove(from: String, to: String, _ what: String) throws {
        let handovers = journal.handovers(group: Self.siteOf).count
        let started = Date()
        show(["move", "ticket-db", "--to", to, "-w"], as: from)
        try waitForService(to)
        record(what, Date().timeIntervalSince(started), note: gapNote(after: handovers))
    }

    func gapNote(after count: Int) -> String {
        let moves = journal.handovers(group: Self.siteOf)
        guard moves.count > count, let move = moves.last else { return "" }
        return Self.describe(move)
    }

    /// "gap 0.412 s (old site's last stop → new site's first start)", or the overlap.
    static func describe(_ move: WitnessJournal.Handover) -> String {
        if move.gap > 0 { return "gap \(String(format: "%.3f", move.gap)) s from the last stop to the first start" }
        if move.endedAt.isInfinite { return "OVERLAP: started while the other site still ran it, which never stopped" }
        return "OVERLAP: both sites ran it for \(String(format: "%.3f", -move.gap)) s"
    }

    mutating func record(_ what: String, _ seconds: Double, note: String) {
        let figure = String(format: "%.3f s", seconds) + (note.isEmpty ? "" : "  (\(note))")
        timeline.append((what, figure))
        say("   ⏱ \(what): \(figure)")
    }

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

    func waitUntil(_ what: String, timeout: Double, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout * patience)
        while Date() < deadline {
            if geoDemoInterrupted != 0 { throw DemoError(description: "interrupted while waiting until \(what)") }
            if condition() { return }
            usleep(50_000)
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
        print(text)
        fflush(nil)   // every stream: each line appears as it happens (also into a pipe)
    }
    func indent(_ text: String) -> String { text.components(separatedBy: "\n").map { "      " + $0 }.joined(separator: "\n") }
}

/// The demo's baton.conf for `member`: the deployable template (sites/site-a/baton.conf) with
/// the members' addresses, the port, the TLS files and ticket-db's lease changed.
func demoConfiguration(template: String, member: String, addresses: [String: String], port: Int, pki: String, expire: Int) throws -> String {
    do {
        _ = try BatonConfigurationParser.load(path: template)
    } catch {
        throw GeoDemo.DemoError(description: "the deployable config does not load: \(error)")
    }
    let text = try String(contentsOfFile: template, encoding: .utf8)
    var lines: [String] = []
    var inTicketDB = false
    for line in text.components(separatedBy: "\n") {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("site ") || trimmed.hasPrefix("site=") || trimmed.hasPrefix("arbitrator ") || trimmed.hasPrefix("arbitrator=") {
            let name = trimmed.components(separatedBy: "name=").last!.trimmingCharacters(in: .whitespaces)
            let role = trimmed.hasPrefix("site") ? "site" : "arbitrator"
            lines.append("\(role) = \(addresses[name]!) name=\(name)")
        } else if trimmed.hasPrefix("port") {
            lines.append("port = \(port)")
        } else if trimmed.hasPrefix("tls-ca") {
            lines.append("tls-ca = \(pki)/ca.pem")
        } else if trimmed.hasPrefix("tls-certificate") {
            lines.append("tls-certificate = \(pki)/\(member).pem")
        } else if trimmed.hasPrefix("tls-private-key") {
            lines.append("tls-private-key = \(pki)/\(member).key")
        } else {
            if trimmed.hasPrefix("ticket") { inTicketDB = trimmed.contains("\"ticket-db\"") }
            lines.append(line)
            if inTicketDB && trimmed.hasPrefix("ticket") {
                lines.append("    expire = \(expire)")
                lines.append("    timeout = 1")
                lines.append("    retries = 3")
            }
        }
    }
    lines.append("identity = \(member)")
    return lines.joined(separator: "\n")
}
