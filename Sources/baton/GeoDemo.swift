import BatonConfig
import Foundation
import WitnessCheck

#if canImport(Glibc)
import Glibc
#endif

/// `baton demo`: the whole geo cluster on this machine (the bed: `GeoBed`, with the demo's group:
/// the witness, a floating address and a service answering on it). The story is told with the
/// real commands; the witness journal (both sites) gives the verdict.
struct GeoDemo {
    typealias DemoError = GeoBed.DemoError
    var bed: GeoBed

    init(repository: URL, verbose: Bool) throws {
        bed = try GeoBed(repository: repository, verbose: verbose)
    }

    mutating func run() throws { try bed.runDemo() }
}

/// The demo's story and the steps only it uses.
extension GeoBed {
    // MARK: - The story

    mutating func runDemo() throws {
        Self.catchSignals()
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
