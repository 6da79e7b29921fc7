import CRMCore
import Foundation
import Testing

/// Issue 15 points 2, 4 and 5 on a live site: 3 real corosync nodes in namespaces with
/// baton-crmd (site-a), an ocf:pacemaker:Dummy guarded by an rsc_ticket (loss-policy stop), a
/// batond mesh on loopback: site-a with the crmd back end and `--site-quorum crmd` on node1's
/// baton-crmd, site-b on a CIB file (the other site), an arbitrator. A before-acquire-handler
/// reads a node attribute that an agent would set with attrd_updater (baton-agent-tools on the
/// live site). Each handover is watched every 10 ms: the instant site-a's resource is seen
/// stopped and the instant site-b is seen granted; the first must come before the second.
/// A second test fences: loss-policy=fence carried out by the live DC within the margin.
extension RealCorosync {
@Suite(.serialized)
struct CrmdTicketReleaseTests {
    /// The other site's CIB file.
    static func siteBTicket(_ mesh: BatondMesh) -> [String: String] {
        ticketStateAttributes("ticketA", in: (try? String(contentsOfFile: mesh.directory + "/site-b-cib.xml", encoding: .utf8)) ?? "")
    }

    struct Handover {
        /// Wall-clock seconds.
        var stopped: Double?
        var acquired: Double?
        /// Samples where the resource ran at site-a while site-b held the ticket.
        var overlaps = 0
        var gapMilliseconds: Int { Int(((acquired ?? 0) - (stopped ?? 0)) * 1000) }
    }

    /// Watches until site-a's resource is stopped and site-b holds the ticket.
    static func watchHandover(_ bed: CrmdBed, _ mesh: BatondMesh, _ what: String, within limit: Duration = Patience.deadline) async throws -> Handover {
        var handover = Handover()
        do {
            try await waitUntil(what, within: limit, interval: .milliseconds(10)) {
                let now = Date().timeIntervalSince1970
                let runs = !CrmdTicketTests.running(bed).isEmpty
                let granted = siteBTicket(mesh)["granted"] == "true"
                if runs && granted { handover.overlaps += 1 }
                if handover.stopped == nil && !runs { handover.stopped = now }
                if handover.acquired == nil && granted { handover.acquired = now }
                return handover.stopped != nil && handover.acquired != nil
            }
        } catch {
            throw TestFailure("\(error); \(handover)")
        }
        #expect(handover.overlaps == 0 && (handover.stopped ?? 0) < (handover.acquired ?? 0), "\(what): \(handover)")
        return handover
    }

    /// An agent's tool on node1 (attrd_updater, crm_attribute) against node1's baton-crmd.
    static func tool(_ bed: CrmdBed, _ arguments: [String]) async throws {
        let result = try await CrmdAgentToolsTests.tool(bed, 1, arguments)
        guard result.status == 0 else { throw TestFailure("\(arguments): \(result.output)") }
    }

    /// site-a holds the ticket and the resource runs (site-b's grant revoked first, if it holds).
    static func grantAtSiteA(_ bed: CrmdBed, _ mesh: BatondMesh) async throws {
        var last = ""
        do {
            try await waitUntil("ticketA granted at site-a") {
                if siteBTicket(mesh)["granted"] == "true" { _ = try await mesh.baton(["revoke", "-w", "ticketA"], at: "site-b") }
                let result = try await mesh.baton(["grant", "-w", "ticketA"], at: "site-a")
                last = result.output
                return result.status == 0 || result.output.contains("granting a granted ticket")
            }
        } catch {
            throw TestFailure("\(error); last answer: \(last)")
        }
        _ = try await CrmdTicketTests.waitRunning(bed, true, "guarded started at site-a")
    }

    /// The holder's lease end at site-a (wall-clock seconds) as its last stop-by says (stop-by
    /// + stop-before, 2 s here); nil before one is written.
    static func leaseEnd(_ bed: CrmdBed) async -> Double? {
        (Double(await CrmdTicketTests.ticket(bed, node: 1)["stop-by"] ?? "")).map { ($0 + 2000) / 1000 }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func handlersMarginAndReleaseOnSiteFailureAtALiveSite() async throws {
        if let missing = Requirement.built("baton-agent-tools") { throw TestFailure(missing) }
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try CrmdTicketTests.cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let directory = bed.testbed.directory + "/batond"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // site-a acquires only while node1's `replication` attribute says ready; site-b freely.
            let handler = directory + "/replication-ready"
            try """
                #!/bin/sh
                [ "$BOOTH_LOCAL" = "site-a" ] || exit 0
                state=$(BATON_CRMD_SOCKET=\(bed.socket(1)) BATON_ATTRIBUTE_STORE=\(directory)/no-store \(BuildPaths.product("baton-agent-tools")) \
                crm_attribute -N node1 -l reboot -n replication -G -q 2>&1)
                [ "$state" = "ready" ] && exit 0
                echo "replication is '$state'"
                exit 1

                """.write(toFile: handler, atomically: true, encoding: .utf8)
            chmod(handler, 0o755)
            try await Self.tool(bed, ["attrd_updater", "-n", "replication", "-U", "not-ready"])
            let mesh = try await BatondMesh(
                directory: directory,
                ticket: ["ticket = \"ticketA\"", "  expire = 10", "  timeout = 1", "  retries = 3", "  before-acquire-handler = \(handler)",
                         "  attr-prereq = manual replication eq ready"],
                arguments: ["site-a": ["--back-end", "crmd", "--crmd-socket", bed.socket(1), "--site-quorum", "crmd"],
                            "site-b": ["--back-end", "file", "--cib-file", directory + "/site-b-cib.xml"], "arbitrator": ["--back-end", "none"]])
            defer { mesh.stopAll() }
            try mesh.startAll()
            do {
                try await mesh.waitConnected()

                // Point 5: attr-prereq (batond's site attribute, which the site's agent sets with
                // `baton attr set`), then the handler on the live node attribute.
                var answer = ""
                try await waitUntil("site-a's grant refused for its attr-prereq") {
                    answer = try await mesh.baton(["grant", "-w", "ticketA"], at: "site-a").output
                    return answer.contains("attribute prerequisite replication is not met")
                }
                #expect(try await mesh.baton(["attr", "set", "ticketA", "replication", "ready"], at: "site-a").status == 0)
                try await waitUntil("site-a's grant refused by its handler") {
                    answer = try await mesh.baton(["grant", "-w", "ticketA"], at: "site-a").output
                    return answer.contains("before-acquire-handler failed")
                }
                #expect(CrmdTicketTests.running(bed).isEmpty)
                #expect(await CrmdTicketTests.ticket(bed, node: 1)["granted"] != "true")
                try await Self.tool(bed, ["attrd_updater", "-n", "replication", "-U", "ready"])
                try await Self.grantAtSiteA(bed, mesh)
                log("attr-prereq refused the grant until the site attribute was set; handler on a live attribute: refused while not ready (\(answer.trimmingCharacters(in: .whitespacesAndNewlines))), granted and started once ready")

                // Point 4, the handler failing at a renewal: site-a stops, confirms, releases; site-b
                // takes over at once instead of after the lease.
                try await Self.tool(bed, ["attrd_updater", "-n", "replication", "-U", "lagging"])
                let failed = Date().timeIntervalSince1970
                let byHandler = try await Self.watchHandover(bed, mesh, "site-b holding after site-a's handler failed")
                log("handler failed at a renewal: site-a stopped \(Int((byHandler.stopped! - failed) * 1000)) ms after the attribute changed (renewal every 5 s), site-b granted \(byHandler.gapMilliseconds) ms after the stop (lease 10 s not waited for)")
                #expect(byHandler.acquired! - failed < 10, "site-b waited for the lease instead of the release")

                // Point 2, the holder's margin: site-a's renewals fail (site-b and the arbitrator
                // frozen); site-a stops what the ticket guards before its own lease ends.
                try await Self.tool(bed, ["attrd_updater", "-n", "replication", "-U", "ready"])
                try await Self.grantAtSiteA(bed, mesh)
                try await waitUntil("a stop-by at the site") { await Self.leaseEnd(bed) != nil }
                mesh.signal("site-b", SIGSTOP)
                mesh.signal("arbitrator", SIGSTOP)
                let frozen = Date().timeIntervalSince1970
                var leaseEnd = 0.0
                try await waitUntil("guarded stopped with site-a's renewals failing") {
                    leaseEnd = await Self.leaseEnd(bed) ?? leaseEnd
                    return CrmdTicketTests.running(bed).isEmpty
                }
                let stopped = Date().timeIntervalSince1970
                mesh.signal("site-b", SIGCONT)
                mesh.signal("arbitrator", SIGCONT)
                #expect(stopped < leaseEnd, "stopped \(Int((stopped - leaseEnd) * 1000)) ms after site-a's lease end")
                try await waitUntil("site-a's batond released for a failing renewal") {
                    ((try? String(contentsOfFile: directory + "/site-a.log", encoding: .utf8)) ?? "").contains("renewal-failing")
                }
                log("renewals failing (peers frozen \(Int((leaseEnd - frozen) * 1000)) ms before the lease end): stopped \(Int((leaseEnd - stopped) * 1000)) ms before site-a's lease end (stop-before 2 s); no other site can acquire before that lease end")

                // Point 4, site quorum lost: node1 (site-a's baton-crmd) cut off in a minority.
                try await Self.grantAtSiteA(bed, mesh)
                try await waitUntil("a stop-by at the site") { await Self.leaseEnd(bed) != nil }
                let beforeCut = await Self.leaseEnd(bed) ?? 0
                try await bed.testbed.script(["cut", "1"])
                let cut = Date().timeIntervalSince1970
                let byQuorum = try await Self.watchHandover(bed, mesh, "site-b holding after site-a's node1 lost quorum", within: Patience.deadline * 2)
                log("site quorum lost (node1 cut): site-a stopped \(Int((byQuorum.stopped! - cut) * 1000)) ms after the cut, site-b granted \(byQuorum.gapMilliseconds) ms after the stop, \(Int((byQuorum.acquired! - cut) * 1000)) ms after the cut (site-a's lease as of the cut ended \(Int((beforeCut - cut) * 1000)) ms after it; renewals went on until node1 noticed the cut)")
                #expect(((try? String(contentsOfFile: directory + "/site-a.log", encoding: .utf8)) ?? "").contains("site quorum lost"))
                try await bed.testbed.script(["heal", "1"])
                _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
                try await waitUntil("site-a quorate again") {
                    let peers = ((try? String(contentsOfFile: directory + "/site-a.log", encoding: .utf8)) ?? "")
                    return peers.components(separatedBy: "site quorum present").count >= 3
                }

                // Point 4, every node of the site gone: site-a's baton-crmd unreachable; no release
                // (the stop cannot be confirmed), site-b acquires after site-a's lease.
                try await Self.grantAtSiteA(bed, mesh)
                try await waitUntil("a stop-by at the site") { await Self.leaseEnd(bed) != nil }
                let lastLeaseEnd = await Self.leaseEnd(bed) ?? 0
                let stopping = Date().timeIntervalSince1970
                _ = await bed.stopDaemonsAtOnce([1, 2, 3])
                var acquired = 0.0
                try await waitUntil("site-b holding after site-a's nodes all stopped") {
                    if Self.siteBTicket(mesh)["granted"] == "true" {
                        acquired = Date().timeIntervalSince1970
                        return true
                    }
                    return false
                }
                #expect(acquired >= lastLeaseEnd, "site-b acquired \(Int((lastLeaseEnd - acquired) * 1000)) ms before site-a's lease end")
                #expect(((try? String(contentsOfFile: directory + "/site-a.log", encoding: .utf8)) ?? "").contains("local revoke not confirmed"))
                log("every node of site-a gone (resources left behind: \(CrmdTicketTests.running(bed))): site-b granted \(Int((acquired - stopping) * 1000)) ms after, \(Int((acquired - lastLeaseEnd) * 1000)) ms after site-a's lease end (no release without a confirmed stop)")
            } catch {
                throw TestFailure("\(error)\nbatond logs:\n\(mesh.logs(lines: 40))\n\(CrmdResourceTests.logs(bed, [1, 2, 3]))")
            }
        }
    }

    /// loss-policy=fence within the holder's margin: site-a's renewals fail (its peers frozen),
    /// it revokes stop-before (8 s) ahead of its lease end, the DC fences the node that runs the
    /// guarded resource (fence_baton_netns), and site-a releases only once its site (node1, in
    /// the quorate majority) shows the resource no longer active: all before the lease ends.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func lossPolicyFenceIsCarriedOutWithinTheMargin() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let map = try CrmdFencingTests.hostMap(bed)
            try CrmdFencingTests.cib(bed, ["guarded"], map: map, type: "Dummy", constraints: """
                <rsc_location id="guarded-on-node2" rsc="guarded" node="node2" score="INFINITY"/>\
                <rsc_ticket id="guarded-with-ticketA" rsc="guarded" ticket="ticketA" loss-policy="fence"/>
                """).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3], extra: ["--fence-agent-dir", try CrmdFencingTests.agentDirectory(bed)])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let directory = bed.testbed.directory + "/batond"
            let mesh = try await BatondMesh(
                directory: directory,
                ticket: ["ticket = \"ticketA\"", "  expire = 20", "  timeout = 1", "  retries = 3", "  stop-before = 8"],
                arguments: ["site-a": ["--back-end", "crmd", "--crmd-socket", bed.socket(1), "--site-quorum", "crmd"],
                            "site-b": ["--back-end", "file", "--cib-file", directory + "/site-b-cib.xml"], "arbitrator": ["--back-end", "none"]])
            defer { mesh.stopAll() }
            try mesh.startAll()
            do {
                try await mesh.waitConnected()
                try await Self.grantAtSiteA(bed, mesh)
                #expect(CrmdTicketTests.running(bed) == [2])
                try await waitUntil("a stop-by at the site") { await CrmdTicketTests.ticket(bed, node: 1)["stop-by"] != nil }
                mesh.signal("site-b", SIGSTOP)
                mesh.signal("arbitrator", SIGSTOP)
                var leaseEnd = 0.0
                var fenced: Double?
                try await waitUntil("node2 fenced with site-a's renewals failing", within: Patience.deadline * 2) {
                    if let stopBy = Double(await CrmdTicketTests.ticket(bed, node: 1)["stop-by"] ?? "") { leaseEnd = (stopBy + 8000) / 1000 }
                    for line in CrmdFencingTests.fenceLog(bed).split(separator: "\n") where line.contains(" done 0") {
                        fenced = Double(line.split(separator: " ")[0])
                    }
                    return fenced != nil
                }
                try await waitUntil("site-a's release after the confirmed stop") {
                    ((try? String(contentsOfFile: directory + "/site-a.log", encoding: .utf8)) ?? "").contains("reason renewal-failing")
                }
                let released = Date().timeIntervalSince1970
                mesh.signal("site-b", SIGCONT)
                mesh.signal("arbitrator", SIGCONT)
                let fenceText = CrmdFencingTests.fenceLog(bed)
                let node2Namespace = try CrmdFencingTests.namespace(bed, 2)
                #expect(fenceText.contains("action=off") && fenceText.contains(node2Namespace), "\(fenceText)")
                #expect(fenced! < leaseEnd, "node2 fenced \(Int((fenced! - leaseEnd) * 1000)) ms after site-a's lease end")
                #expect(released < leaseEnd, "released after the lease end")
                log("loss-policy fence within the margin (stop-before 8 s, lease 20 s): node2 fenced \(Int((leaseEnd - fenced!) * 1000)) ms before site-a's lease end, the release confirmed \(Int((leaseEnd - released) * 1000)) ms before it")
            } catch {
                throw TestFailure("\(error)\nbatond logs:\n\(mesh.logs(lines: 40))\n\(CrmdResourceTests.logs(bed, [1, 2, 3]))\nfence log:\n\(CrmdFencingTests.fenceLog(bed))")
            }
        }
    }
}
}
