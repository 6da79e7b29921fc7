import CRMCore
import Foundation
import Testing

/// Tickets at a live site (issue 15 points 1-5): 3 real corosync nodes in namespaces with
/// baton-crmd, an ocf:pacemaker:Dummy guarded by an rsc_ticket (loss-policy stop). First
/// `baton crm ticket` against the daemons; then a real batond mesh on loopback (site-a with the
/// crmd back end on node1's socket, site-b with a file, an arbitrator): grant → started, revoke →
/// stopped, batond killed -9 while granted → the site stops the resource at the lease end.
extension RealCorosync {
@Suite(.serialized)
struct CrmdTicketTests {
    static let cib = """
        <cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
        <cluster_property_set id="options"><nvpair id="options-se" name="stonith-enabled" value="false"/>\
        <nvpair id="options-nqp" name="no-quorum-policy" value="stop"/></cluster_property_set></crm_config>
        <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/></nodes>
        <resources><primitive id="guarded" class="ocf" provider="pacemaker" type="Dummy"><operations>\
        <op id="guarded-monitor" name="monitor" interval="2000ms" timeout="20s"/></operations></primitive></resources>
        <constraints><rsc_ticket id="guarded-with-ticketA" rsc="guarded" ticket="ticketA" loss-policy="stop"/></constraints>
        </configuration><status/></cib>
        """

    static func running(_ bed: CrmdBed) -> [Int] { CrmdResourceTests.running(bed, "guarded") }

    /// The ticket's attributes in a node's rendered status (empty: no such ticket).
    static func ticket(_ bed: CrmdBed, node: Int, _ id: String = "ticketA") async -> [String: String] {
        guard let result = try? await bed.cib(node, ["query", "-o", "status"]), result.status == 0 else { return [:] }
        return ticketStateAttributes(id, in: result.output)
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Waits until the guarded resource runs on exactly one node (or on none); the wait in ms.
    static func waitRunning(_ bed: CrmdBed, _ running: Bool, _ what: String) async throws -> Int {
        let start = ContinuousClock.now
        do {
            try await waitUntil(what) { running ? Self.running(bed).count == 1 : Self.running(bed).isEmpty }
        } catch {
            throw TestFailure("\(error); running on \(Self.running(bed))\n\(CrmdResourceTests.logs(bed, [1, 2, 3]))")
        }
        return milliseconds(since: start)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func crmTicketOnTheLiveSiteAndBatondsCrmdBackEndWithTheLeaseEnforced() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try Self.cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            // Not granted: the scheduler leaves it stopped (probes run first).
            try await Task.sleep(for: .seconds(2))
            #expect(Self.running(bed).isEmpty)

            // `baton crm ticket` against the live daemon (no CIB file named): crm_ticket's rules.
            let ticket = { (node: Int, arguments: [String]) in
                try await run([Paths.baton, "crm", "ticket"] + arguments + ["--socket", bed.socket(node)])
            }
            let refused = try await ticket(2, ["grant", "ticketA"])
            #expect(refused.status == 4 && refused.output.contains("please specify --force"), "\(refused.output)")
            var start = ContinuousClock.now
            let granted = try await ticket(2, ["grant", "ticketA", "--force"])
            #expect(granted.status == 0, "\(granted.output)")
            let grantToStarted = try await Self.waitRunning(bed, true, "guarded started after crm ticket grant")
            for node in 1...3 { #expect(await Self.ticket(bed, node: node)["granted"] == "true") }
            let listed = try await ticket(3, ["list"])
            #expect(listed.status == 0 && listed.output.hasPrefix("ticketA\tgranted"), "\(listed.output)")
            // Standby (loss-policy's standby: stop) and activate.
            #expect(try await ticket(1, ["standby", "ticketA"]).status == 0)
            _ = try await Self.waitRunning(bed, false, "guarded stopped at standby")
            #expect(try await ticket(1, ["activate", "ticketA"]).status == 0)
            _ = try await Self.waitRunning(bed, true, "guarded started again at activate")
            start = ContinuousClock.now
            #expect(try await ticket(2, ["revoke", "ticketA", "--force"]).status == 0)
            let revokeToStopped = try await Self.waitRunning(bed, false, "guarded stopped after crm ticket revoke")
            _ = start
            log("baton crm ticket (live): grant → started \(grantToStarted) ms, revoke → stopped \(revokeToStopped) ms")

            // crm_mon reads the daemon's CIB as it reads a file's.
            if FileManager.default.isExecutableFile(atPath: "/usr/sbin/crm_mon") {
                let query = try await bed.cib(1, ["query"])
                let path = try bed.file("queried.xml", query.output)
                let mon = try await run(["/usr/bin/env", "CIB_file=\(path)", "/usr/sbin/crm_mon", "-1", "--include=tickets"])
                let tickets = { (text: String) in text.split(separator: "\n").drop { $0 != "Tickets:" }.prefix(2).map(String.init) }
                #expect(tickets(mon.output).count == 2 && tickets(mon.output)[1].contains("ticketA:") && tickets(mon.output)[1].contains("revoked"),
                        "\(mon.output)")
                // `baton crm status --tickets` on the live daemon shows what crm_mon shows.
                let ours = try await run([Paths.baton, "crm", "status", "--tickets", "--socket", bed.socket(3)])
                #expect(tickets(ours.output) == tickets(mon.output), "\(ours.output)\n---\n\(mon.output)")
            }

            // A lease that runs out at the site: expires in 3 s, no renewal → revoked by the DC.
            let expires = Int(Date().timeIntervalSince1970) + 3
            let answer = try bed.request(2, "tickets apply", body: "ticketA granted true\nticketA expires \(expires)\nticketA owner test\n")
            #expect(answer.hasPrefix("ok"), "\(answer)")
            _ = try await Self.waitRunning(bed, true, "guarded started with a lease")
            try await waitUntil("guarded stopped after its lease ran out") { Self.running(bed).isEmpty }
            let late = Date().timeIntervalSince1970 - Double(expires)
            for node in 1...3 { #expect(await Self.ticket(bed, node: node)["granted"] == "false") }
            log("lease run out (admin write, no renewal): stopped \(Int(late * 1000)) ms after expires (wall clock, 1 s granularity)")

            try await Self.batondMesh(bed)
        }
    }

    /// batond site-a (crmd back end on node1's socket), site-b (crmd back end on node2's), an
    /// arbitrator, all on loopback in the host's namespace.
    static func batondMesh(_ bed: CrmdBed) async throws {
        let mesh = try await BatondMesh(
            directory: bed.testbed.directory + "/batond", ticket: ["ticket = \"ticketA\"", "  expire = 6", "  timeout = 500ms", "  retries = 3"],
            arguments: ["site-a": ["--back-end", "crmd", "--crmd-socket", bed.socket(1)], "site-b": ["--back-end", "crmd", "--crmd-socket", bed.socket(2)],
                        "arbitrator": ["--back-end", "none"]])
        defer { mesh.stopAll() }
        func baton(_ arguments: [String], at name: String) async throws -> CommandResult { try await mesh.baton(arguments, at: name) }
        try mesh.startAll()
        do {
            try await mesh.waitConnected()
            // A grant right after a start without state may be refused while the quiet period runs.
            var start = ContinuousClock.now
            try await waitUntil("baton grant ticketA at site-a") {
                start = ContinuousClock.now
                return try await baton(["grant", "-w", "ticketA"], at: "site-a").status == 0
            }
            let grantToStarted = try await waitRunning(bed, true, "guarded started after batond's grant")
            let state = await ticket(bed, node: 3)
            #expect(state["granted"] == "true" && state["owner"] == "site-a" && state["expires"] != nil && state["term"] != nil, "\(state)")
            log("batond crmd back end: grant (command to started) \(milliseconds(since: start)) ms, started seen \(grantToStarted) ms after the grant's answer")
            // Renewals move expires forward (the lease is 6 s; wait past one).
            let first = Int(state["expires"] ?? "") ?? 0
            try await waitUntil("expires renewed at the site") { (Int(await ticket(bed, node: 2)["expires"] ?? "") ?? 0) > first }
            #expect(running(bed).count == 1, "still running across renewals")

            start = ContinuousClock.now
            let revoke = try await baton(["revoke", "ticketA"], at: "site-a")
            #expect(revoke.status == 0, "\(revoke.output)")
            let revokeToStopped = try await waitRunning(bed, false, "guarded stopped after batond's revoke")
            log("batond crmd back end: revoke → stopped \(milliseconds(since: start)) ms (after the answer: \(revokeToStopped) ms)")

            // A holder's batond frozen (SIGSTOP), then one killed -9: the site's DC revokes at
            // the lease end each time. (Both sites write to this one baton-crmd cluster here.)
            for (holder, how) in [("site-a", "frozen (SIGSTOP)"), ("site-b", "killed -9")] {
                var refusal = ""
                do {
                    try await waitUntil("baton grant ticketA at \(holder)") {
                        let result = try await baton(["grant", "-w", "ticketA"], at: holder)
                        refusal = result.output
                        // site-b may hold it already: the election's failover after site-a's lease.
                        return result.status == 0 || result.output.contains("granting a granted ticket")
                    }
                } catch {
                    throw TestFailure("\(error); last answer: \(refusal)")
                }
                _ = try await waitRunning(bed, true, "guarded started after the grant at \(holder)")
                #expect(await ticket(bed, node: 3)["owner"] == holder)
                if how.hasPrefix("frozen") { mesh.signal(holder, SIGSTOP) } else { mesh.kill(holder) }
                let stoppedAt = Date().timeIntervalSince1970
                var lastExpires = 0
                var lastStopBy = 0
                try await waitUntil("guarded stopped after \(holder)'s batond was \(how)") {
                    let state = await ticket(bed, node: 1)
                    lastExpires = Int(state["expires"] ?? "") ?? lastExpires
                    lastStopBy = Int(state["stop-by"] ?? "") ?? lastStopBy
                    return running(bed).isEmpty
                }
                let stopped = Date().timeIntervalSince1970
                #expect(await ticket(bed, node: 1)["granted"] == "false")
                // The site's DC revoked at stop-by (the lease end less stop-before, 2 s here), so the
                // stop was over before the lease's end (expires, whole seconds: the lease ends within
                // the second after it).
                #expect(lastStopBy > 0 && Double(lastStopBy) / 1000 <= stopped, "stopped before stop-by?")
                #expect(stopped < Double(lastExpires) + 1, "stopped after the lease's end (expires \(lastExpires))")
                #expect(stopped * 1000 < Double(lastStopBy + 2000), "stopped after the lease's end (stop-by + stop-before)")
                log("batond \(how) while granted: stopped \(Int((stopped - stoppedAt) * 1000)) ms after, \(Int((stopped * 1000 - Double(lastStopBy)))) ms after stop-by, \(Int((Double(lastExpires) - stopped) * 1000)) ms before expires (\(lastExpires), 1 s granularity)")
                // The frozen one stays out of the rest (killed while stopped).
                if how.hasPrefix("frozen") { mesh.kill(holder) }
            }
        } catch {
            throw TestFailure("\(error)\nbatond logs:\n\(mesh.logs())")
        }
    }

    static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw TestFailure("bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
}
