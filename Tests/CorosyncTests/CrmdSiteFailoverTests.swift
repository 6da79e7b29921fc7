import Foundation
import Testing

/// Issue 15 point 3 on a live site: site-a's batond fails over inside its site. 3 real corosync
/// nodes in namespaces with baton-crmd and fencing (fence_baton_netns); the site's batond runs as
/// ocf:baton:batond, grouped after an ocf:heartbeat:IPaddr2 site address (the address site-b
/// and the arbitrator know site-a by); site-b (CIB file) and the arbitrator run by hand in the
/// hub namespace, on the same bridge. A ticket granted to site-a guards an ocf:baton:Witness
/// kept off the node that runs batond. Then (b) kill -9 of batond alone: the monitor fails and
/// the cluster starts it again; (a) the node running batond powered off: the DC fences it and
/// the group starts on another node, whose batond has no journal and carries on from the live
/// CIB. Throughout (sampled every 50 ms): the ticket stays granted to site-a in the CIB, never at
/// site-b, the witness never trips nor restarts, and the lease's `expires` advances.
extension RealCorosync {
@Suite(.serialized)
struct CrmdSiteFailoverTests {
    static let siteAddress = "10.231.0.100"
    static let siteBAddress = "10.231.0.253"
    static let arbitratorAddress = "10.231.0.254"
    static let agent = Paths.packageRoot.appendingPathComponent("scripts/ocf/batond").path
    static let expire = 30

    static func cib(_ bed: CrmdBed, directory: String) throws -> String {
        let map = try CrmdFencingTests.hostMap(bed)
        func nvpairs(_ id: String, _ pairs: [(String, String)]) -> String {
            "<instance_attributes id=\"\(id)-i\">" + pairs.map { "<nvpair id=\"\(id)-\($0.0)\" name=\"\($0.0)\" value=\"\($0.1)\"/>" }.joined()
                + "</instance_attributes>"
        }
        return """
            <cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
            <cluster_property_set id="options"><nvpair id="options-se" name="stonith-enabled" value="true"/>\
            <nvpair id="options-nqp" name="no-quorum-policy" value="stop"/></cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/></nodes>
            <resources><primitive id="fence1" class="stonith" type="fence_baton_netns">\
            \(nvpairs("fence1", [("pcmk_host_map", map), ("pcmk_reboot_action", "off"), ("power_wait", String(Patience.deadlineSeconds))]))</primitive>\
            <group id="site"><primitive id="site-ip" class="ocf" provider="heartbeat" type="IPaddr2">\
            \(nvpairs("site-ip", [("ip", siteAddress), ("cidr_netmask", "24")]))<operations>\
            <op id="site-ip-monitor" name="monitor" interval="5s" timeout="20s"/></operations></primitive>\
            <primitive id="site-batond" class="ocf" provider="baton" type="batond">\
            \(nvpairs("site-batond", [("config", directory + "/site-a.conf"), ("site", "site-a"), ("binary", BuildPaths.product("batond")),
                                      ("client", Paths.baton), ("status_timeout", "5")]))<operations>\
            <op id="site-batond-start" name="start" interval="0" timeout="60s"/>\
            <op id="site-batond-stop" name="stop" interval="0" timeout="60s"/>\
            <op id="site-batond-monitor" name="monitor" interval="2s" timeout="20s"/></operations></primitive></group>\
            <primitive id="guarded" class="ocf" provider="baton" type="Witness"><operations>\
            <op id="guarded-monitor" name="monitor" interval="2s" timeout="20s"/></operations></primitive></resources>
            <constraints><rsc_location id="site-on-node1" rsc="site" node="node1" score="100"/>\
            <rsc_location id="guarded-on-node3" rsc="guarded" node="node3" score="100"/>\
            <rsc_location id="guarded-not-node1" rsc="guarded" node="node1" score="-INFINITY"/>\
            <rsc_ticket id="guarded-with-ticketA" rsc="guarded" ticket="ticketA" loss-policy="stop"/></constraints>
            </configuration><status/></cib>
            """
    }

    /// Per node: the agent's state and run directories, log, and the node's baton-crmd socket
    /// (the namespaces share one file system; a real node has its own /var/lib and /run).
    static func nodeArguments(_ bed: CrmdBed, _ node: Int) -> [String] {
        let base = "\(bed.testbed.directory)/node\(node)"
        return ["--agent-environment", "OCF_RESKEY_state_directory=\(base)/batond-state",
                "--agent-environment", "OCF_RESKEY_run_directory=\(base)/batond-run",
                "--agent-environment", "OCF_RESKEY_log_file=\(base)/batond.log",
                "--agent-environment", "OCF_RESKEY_crmd_socket=\(bed.socket(node))"]
    }

    static func siteASocket(_ bed: CrmdBed, _ node: Int) -> String { "\(bed.testbed.directory)/node\(node)/batond-run/site-a-site-a.sock" }

    /// The node whose site-a batond answers `baton status` (nil: none does).
    static func answering(_ bed: CrmdBed, among nodes: [Int]) async -> Int? {
        for node in nodes {
            guard FileManager.default.fileExists(atPath: siteASocket(bed, node)) else { continue }
            if let result = try? await run([Paths.baton, "status", "--socket", siteASocket(bed, node), "--timeout", "2"]), result.status == 0 {
                return node
            }
        }
        return nil
    }

    /// The pid of the batond the agent started on `node` (its pid file in the node's HA_RSCTMP).
    static func batondPid(_ bed: CrmdBed, _ node: Int) -> pid_t? {
        guard let text = try? String(contentsOfFile: "\(bed.testbed.directory)/node\(node)/rsctmp/batond-site-batond.pid", encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// What the samples saw: site-a's ticket in the live CIB (asked of `observer`'s baton-crmd),
    /// site-b's CIB file, and the witness.
    struct Watch {
        var samples = 0
        var notGrantedAtSiteA = 0
        var grantedAtSiteB = 0
        /// The most wall-clock seconds any sample was past `expires` (negative: every sample was
        /// that far ahead of the lease end at least; positive: the lease lapsed in the CIB).
        var lapsedSeconds = -Double.infinity
        var highestExpires = 0
        var guardedStarts = 0
    }

    /// `sample`, failing at once when site-a's grant was dropped or site-b holds.
    static func sampleHolding(_ bed: CrmdBed, _ directory: String, observer: Int, witness: WitnessBed, into watch: inout Watch) async throws {
        await sample(bed, directory, observer: observer, witness: witness, into: &watch)
        guard watch.notGrantedAtSiteA == 0, watch.grantedAtSiteB == 0 else {
            throw TestFailure("site-a's CIB without the grant in \(watch.notGrantedAtSiteA) samples, site-b granted in \(watch.grantedAtSiteB)")
        }
    }

    static func sample(_ bed: CrmdBed, _ directory: String, observer: Int, witness: WitnessBed, into watch: inout Watch) async {
        let ticket = await CrmdTicketTests.ticket(bed, node: observer)
        guard !ticket.isEmpty else { return }  // the observer's CIB unreadable this instant: no sample
        watch.samples += 1
        if ticket["granted"] != "true" || ticket["owner"] != "site-a" { watch.notGrantedAtSiteA += 1 }
        let now = Date().timeIntervalSince1970
        if let expires = Int(ticket["expires"] ?? "") {
            watch.highestExpires = max(watch.highestExpires, expires)
            watch.lapsedSeconds = max(watch.lapsedSeconds, now - Double(expires))
        }
        let siteB = ticketStateAttributes("ticketA", in: (try? String(contentsOfFile: directory + "/site-b-cib.xml", encoding: .utf8)) ?? "")
        if siteB["granted"] == "true" { watch.grantedAtSiteB += 1 }
        watch.guardedStarts = witness.journal.events.filter { $0.kind == "start-begin" }.count
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes * 2)))
    func theSitesBatondFailsOverInsideTheSite() async throws {
        if let missing = Requirement.built("batond") { throw TestFailure(missing) }
        for tool in ["/usr/lib/ocf/resource.d/heartbeat/IPaddr2"] where !FileManager.default.isExecutableFile(atPath: tool) {
            print("CrmdSiteFailoverTests: skipped, \(tool) is missing (apt-get install resource-agents)")
            return
        }
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let directory = bed.testbed.directory + "/batond"
            try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
            let witness = try WitnessBed(bed)
            try FileManager.default.createSymbolicLink(atPath: witness.ocfRoot + "/resource.d/baton/batond", withDestinationPath: Self.agent)

            // The geo cluster's configuration: site-a at the site address, site-b and the arbitrator in the hub.
            let pki = try await run([Paths.packageRoot.appendingPathComponent("scripts/make-test-pki").path, directory + "/pki", "site-a", "site-b", "arbitrator"])
            guard pki.status == 0 else { throw TestFailure("make-test-pki: \(pki.output)") }
            let members = [("site-a", Self.siteAddress, "site"), ("site-b", Self.siteBAddress, "site"), ("arbitrator", Self.arbitratorAddress, "arbitrator")]
            for (name, _, _) in members {
                var lines = ["port = 9929"]
                for (other, address, role) in members { lines.append("\(role) = \(address) name=\(other)") }
                lines += ["tls-ca = \(directory)/pki/ca.pem", "tls-certificate = \(directory)/pki/\(name).pem",
                          "tls-private-key = \(directory)/pki/\(name).key", "identity = \(name)",
                          "ticket = \"ticketA\"", "  expire = \(Self.expire)", "  timeout = 1", "  retries = 3"]
                try (lines.joined(separator: "\n") + "\n").write(toFile: "\(directory)/\(name).conf", atomically: true, encoding: .utf8)
            }
            try await bed.testbed.script(["exec-hub", "ip", "addr", "add", Self.siteBAddress + "/24", "dev", "br0"])

            try Self.cib(bed, directory: directory).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let fenceAgents = try CrmdFencingTests.agentDirectory(bed, onFenced: witness.onFenced)
            for node in 1...3 {
                try bed.launch([node], extra: ["--fence-agent-dir", fenceAgents] + witness.arguments(node) + Self.nodeArguments(bed, node))
            }
            // site-b and the arbitrator by hand, in the hub; stopped by their own pids.
            var others: [String: Child] = [:]
            defer {
                for child in others.values { child.signal(SIGCONT); child.killAndReap() }
                // site-a's batond: started by this bed's agent; stopped by the pids it recorded.
                for node in 1...3 { if let pid = Self.batondPid(bed, node), pid > 1 { kill(pid, SIGKILL) } }
            }
            for (name, backEnd) in [("site-b", ["--back-end", "file", "--cib-file", directory + "/site-b-cib.xml"]), ("arbitrator", ["--back-end", "none"])] {
                let output = open("\(directory)/\(name).log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                guard output >= 0 else { throw TestFailure("cannot open \(directory)/\(name).log") }
                defer { close(output) }
                others[name] = try Child.spawn([Paths.testbed, "-d", bed.testbed.directory, "exec-hub", BuildPaths.product("batond"),
                                                "-c", "\(directory)/\(name).conf", "--state-directory", "\(directory)/state-\(name)",
                                                "--socket", "\(directory)/run/\(name).sock"] + backEnd, stdout: output, stderr: output)
            }
            func baton(_ arguments: [String], at name: String) async throws -> CommandResult {
                try await run([Paths.baton] + arguments + ["--socket", "\(directory)/run/\(name).sock"])
            }
            func logs() -> String {
                var text = ""
                for name in ["site-b", "arbitrator"] {
                    text += "\(name):\n" + ((try? String(contentsOfFile: "\(directory)/\(name).log", encoding: .utf8)) ?? "").split(separator: "\n").suffix(15).joined(separator: "\n") + "\n"
                }
                for node in 1...3 {
                    text += "site-a on node\(node):\n" + ((try? String(contentsOfFile: "\(bed.testbed.directory)/node\(node)/batond.log", encoding: .utf8)) ?? "")
                        .split(separator: "\n").suffix(15).joined(separator: "\n") + "\n"
                }
                return text + CrmdResourceTests.logs(bed, [1, 2, 3])
            }

            do {
                _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
                try await waitUntil("site-a's batond (ocf:baton:batond) answering on node1") { await Self.answering(bed, among: [1]) == 1 }
                try await waitUntil("every member's peers connected", within: Patience.deadline * 2) {
                    for socket in [Self.siteASocket(bed, 1), "\(directory)/run/site-b.sock", "\(directory)/run/arbitrator.sock"] {
                        let result = try await run([Paths.baton, "peers", "--socket", socket])
                        guard result.status == 0, result.output.components(separatedBy: ", connected").count == 3 else { return false }
                    }
                    return true
                }
                // Grant at site-a (retried while its start-up query or quiet period lasts).
                try await waitUntil("ticketA granted at site-a", within: Patience.deadline * 2) {
                    let result = try await run([Paths.baton, "grant", "-w", "ticketA", "--socket", Self.siteASocket(bed, 1)])
                    return result.status == 0 || result.output.contains("granting a granted ticket")
                }
                try await waitUntil("guarded (Witness) running on node3") { CrmdResourceTests.running(bed, "guarded", type: "Witness") == [3] }
                var watch = Watch()
                try await waitUntil("site-a's ticket in the CIB with a lease end") {
                    await Self.sample(bed, directory, observer: 3, witness: witness, into: &watch)
                    return watch.highestExpires > 0
                }
                let startsBefore = witness.journal.events.filter { $0.kind == "start-begin" }.count

                // (b) kill -9 of batond alone: the monitor fails, the cluster starts it again.
                let killedPid = try #require(Self.batondPid(bed, 1))
                kill(killedPid, SIGKILL)
                let killed = Date()
                var back: Int?
                try await waitUntil("site-a's batond answering again after kill -9", within: Patience.deadline * 2, interval: .milliseconds(50)) {
                    try await Self.sampleHolding(bed, directory, observer: 3, witness: witness, into: &watch)
                    if let node = await Self.answering(bed, among: [1, 2, 3]), Self.batondPid(bed, node) != killedPid {
                        back = node
                        return true
                    }
                    return false
                }
                let restartSeconds = Date().timeIntervalSince(killed)
                let expiresAtKill = watch.highestExpires
                try await waitUntil("a renewal after the restart (expires past \(expiresAtKill))", within: Patience.deadline * 2, interval: .milliseconds(50)) {
                    try await Self.sampleHolding(bed, directory, observer: 3, witness: witness, into: &watch)
                    return watch.highestExpires > expiresAtKill
                }
                log("kill -9 of site-a's batond on node1: answering again on node\(back!) \(String(format: "%.2f", restartSeconds)) s after the kill; expires advanced \(watch.highestExpires - expiresAtKill) s; samples \(watch.samples), not granted at site-a \(watch.notGrantedAtSiteA), granted at site-b \(watch.grantedAtSiteB), closest to the lease end \(String(format: "%.2f", -watch.lapsedSeconds)) s before it")

                // (a) the node running batond loses power: fenced, the group moves, batond there
                // has no journal and carries on from the CIB.
                let victim = back!
                let observer = victim == 3 ? 2 : 3
                let survivors = [1, 2, 3].filter { $0 != victim }
                try await bed.testbed.script(["power-off", String(victim)])
                bed.killDaemon(victim)
                let poweredOff = Date()
                var moved: Int?
                try await waitUntil("site-a's batond answering on a surviving node", within: Patience.deadline * 3, interval: .milliseconds(50)) {
                    try await Self.sampleHolding(bed, directory, observer: observer, witness: witness, into: &watch)
                    moved = await Self.answering(bed, among: survivors)
                    return moved != nil
                }
                let failoverSeconds = Date().timeIntervalSince(poweredOff)
                let expiresAtPowerOff = watch.highestExpires
                try await waitUntil("a renewal by the batond on node\(moved!) (expires past \(expiresAtPowerOff))", within: Patience.deadline * 2, interval: .milliseconds(50)) {
                    try await Self.sampleHolding(bed, directory, observer: observer, witness: witness, into: &watch)
                    return watch.highestExpires > expiresAtPowerOff
                }
                let fenced = CrmdFencingTests.fenceLog(bed).contains("done 0")
                let takeover = ((try? String(contentsOfFile: "\(bed.testbed.directory)/node\(moved!)/batond.log", encoding: .utf8)) ?? "")
                    .contains("granted here in the CIB")
                log("node\(victim) (running site-a's batond) powered off: fenced \(fenced), batond answering on node\(moved!) \(String(format: "%.2f", failoverSeconds)) s after, carried on from the CIB \(takeover); expires advanced \(watch.highestExpires - expiresAtPowerOff) s; samples \(watch.samples), not granted at site-a \(watch.notGrantedAtSiteA), granted at site-b \(watch.grantedAtSiteB), closest to the lease end \(String(format: "%.2f", -watch.lapsedSeconds)) s before it (expire \(Self.expire) s)")

                #expect(fenced, "node\(victim) was not fenced: \(CrmdFencingTests.fenceLog(bed))")
                #expect(takeover, "node\(moved!)'s batond did not take the site's grant from the CIB")
                #expect(watch.notGrantedAtSiteA == 0, "site-a's CIB had ticketA not granted in \(watch.notGrantedAtSiteA) of \(watch.samples) samples")
                #expect(watch.grantedAtSiteB == 0, "site-b held ticketA in \(watch.grantedAtSiteB) samples")
                #expect(watch.lapsedSeconds < 0, "the lease in site-a's CIB lapsed by \(watch.lapsedSeconds) s")
                let listed = try await baton(["list"], at: "site-b").output
                #expect(listed.contains("ticket: ticketA, leader: site-a, expires: "), "site-b's list: \(listed)")
                #expect(watch.guardedStarts == startsBefore, "the guarded resource was restarted (\(startsBefore) → \(watch.guardedStarts) starts)")
                #expect(CrmdResourceTests.running(bed, "guarded", on: survivors, type: "Witness") == [3].filter { survivors.contains($0) })
                try witness.check("site-a's batond failed over inside the site")
            } catch {
                throw TestFailure("\(error)\n\(logs())")
            }
        }
    }
}
}
