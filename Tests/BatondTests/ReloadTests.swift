import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    @Suite struct Reload {
        static func ticket(_ name: String, expire: Int) -> String {
            "ticket = \"\(name)\"\n  expire = \(expire)\n  timeout = 500ms\n  retries = 3\n\n"
        }

        /// Writes every member's config again with `tickets` instead of the cluster's own.
        static func rewrite(_ cluster: Cluster, tickets: String, renaming: (String, String)? = nil) throws {
            for member in cluster.members {
                var text = cluster.config(for: member).replacingOccurrences(of: cluster.ticketsText, with: tickets)
                if let (old, new) = renaming { text = text.replacingOccurrences(of: old, with: new) }
                try text.write(toFile: cluster.configPath(member.name), atomically: true, encoding: .utf8)
            }
        }

        /// SIGHUP applies ticket changes at once: a changed ticket keeps its holder (the CIB is
        /// never revoked), a new ticket can be granted, a removed one is revoked and forgotten.
        @Test func sighupAppliesTicketChanges() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("every member knows site-a leads") {
                    for name in ["site-b", "arbitrator"] where try await cluster.leader("ticketA", at: name) != "site-a" { return false }
                    return true
                }
                // ticketA: expire 6 -> 12; ticketB is new.
                let ticketA12 = Self.ticket("ticketA", expire: 12)
                try Self.rewrite(cluster, tickets: ticketA12 + Self.ticket("ticketB", expire: 6))
                let reloaded = ContinuousClock.now
                for member in cluster.members { cluster.signal(member.name, SIGHUP) }
                var revokedSeen = false
                try await waitUntil("every member lists ticketB") {
                    if !cluster.cibGranted("ticketA", at: "site-a") { revokedSeen = true }
                    for member in cluster.members where try await cluster.listJSON(at: member.name).count != 2 { return false }
                    return true
                }
                print("ticketB listed everywhere \(format(ContinuousClock.now - reloaded)) after SIGHUP")
                // site-a renews ticketA under the new expire: more than the old 6 s left.
                try await waitUntil("site-a's lease on ticketA reflects expire 12") {
                    if !cluster.cibGranted("ticketA", at: "site-a") { revokedSeen = true }
                    let entry = try await cluster.ticketJSON("ticketA", at: "site-a")
                    return (entry["lease_remaining_seconds"] as? Double ?? 0) > 7
                }
                #expect(!revokedSeen, "site-a's CIB showed ticketA revoked during the reload")
                for name in ["site-a", "site-b", "arbitrator"] {
                    #expect(try await cluster.leader("ticketA", at: name) == "site-a", "\(name) lost track of ticketA's holder")
                }
                let grantB = try await cluster.grant("ticketB", at: "site-b")
                #expect(grantB.status == 0, "\(grantB)")
                #expect(cluster.cibGranted("ticketB", at: "site-b"))
                #expect(cluster.logTail("site-a", lines: 2000).contains("reload: tickets applied"), "\(cluster.logTail("site-a"))")

                // Remove ticketB everywhere: site-b revokes it in its CIB and forgets it.
                try Self.rewrite(cluster, tickets: ticketA12)
                for member in cluster.members { cluster.signal(member.name, SIGHUP) }
                try await waitUntil("site-b revoked the removed ticketB") {
                    !cluster.cibGranted("ticketB", at: "site-b")
                }
                try await waitUntil("ticketB gone from every list") {
                    for member in cluster.members where try await cluster.listJSON(at: member.name).count != 1 { return false }
                    return true
                }
                let missing = try await cluster.baton(["grant", "ticketB"], at: "site-b")
                #expect(missing.status != 0 && missing.stderr.contains("does not exist"), "\(missing)")
                #expect(cluster.cibGranted("ticketA", at: "site-a"))

                // A membership change waits for a restart and changes nothing now.
                try Self.rewrite(cluster, tickets: shortTicket, renaming: ("name=site-b", "name=site-b-renamed"))
                cluster.signal("site-a", SIGHUP)
                try await waitUntil("site-a logs that the members changed") {
                    cluster.logTail("site-a", lines: 2000).contains("the members changed")
                }
                #expect(try await cluster.ticketJSON("ticketA", at: "site-a")["granted_here"] as? Bool == true)
            }
        }

        /// A peer moved to another address: SIGHUP at the others dials it there, and the holder
        /// keeps renewing through it.
        @Test func sighupAppliesAPeersNewAddress() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                _ = try await cluster.stop("arbitrator")
                try Self.rewrite(cluster, tickets: shortTicket, renaming: ("arbitrator = 127.0.0.3 ", "arbitrator = 127.0.0.4 "))
                for name in ["site-a", "site-b"] { cluster.signal(name, SIGHUP) }
                try cluster.start("arbitrator")
                let moved = "127.0.0.4:\(cluster.port)"
                try await waitUntil("both sites connected to the arbitrator at \(moved)", interval: .milliseconds(100)) {
                    for name in ["site-a", "site-b"] {
                        let result = try await cluster.baton(["peers", "--output", "json"], at: name)
                        guard let data = result.stdout.data(using: .utf8),
                              let peers = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
                              let arbitrator = peers.first(where: { $0["name"] as? String == "arbitrator" })
                        else { return false }
                        if arbitrator["address"] as? String != moved || arbitrator["connected"] as? Bool != true { return false }
                    }
                    return true
                }
                #expect(cluster.logTail("site-a", lines: 2000).contains("reload: peer address changed"))
                // Without site-b, site-a renews only through the arbitrator at its new address.
                try await cluster.kill9("site-b")
                let watchEnd = ContinuousClock.now + .seconds(9)
                var lost = false
                while ContinuousClock.now < watchEnd {
                    if !cluster.cibGranted("ticketA", at: "site-a") { lost = true }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(!lost, "site-a lost the ticket: the arbitrator's acknowledgements did not come from its new address")
                #expect(try await cluster.leader("ticketA", at: "arbitrator") == "site-a")
            }
        }

        /// `tls-handshake-timeout` follows SIGHUP (it was read only at start): site-a starts with
        /// 300 s, is reloaded with 1 s, and a client that connects and says nothing is closed
        /// after that second (the client waits 30 s, so the old 300 s shows as "still-open").
        @Test(.enabled(if: Requirement.executable("/usr/bin/python3", "the silent client") == nil, "needs /usr/bin/python3"))
        func sighupAppliesANewHandshakeTimeout() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, extraConfig: "tls-handshake-timeout = 300s", start: false) { cluster in
                try cluster.start("site-a")
                try await waitUntil("site-a answers on its admin socket", interval: .milliseconds(100)) {
                    try await cluster.baton(["list"], at: "site-a").status == 0
                }
                let siteA = cluster.member("site-a")
                try cluster.config(for: siteA, extra: "tls-handshake-timeout = 1s").write(toFile: cluster.configPath("site-a"), atomically: true, encoding: .utf8)
                cluster.signal("site-a", SIGHUP)
                try await waitUntil("site-a reloaded") { cluster.logTail("site-a", lines: 2000).contains("reload: certificates re-read") }
                let client = try await run(["/usr/bin/python3", "-c", silentClientScript, siteA.address, String(cluster.port)], timeLimit: Patience.deadline)
                print("a client that says nothing after the reload to 1 s: \(client.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
                #expect(client.stdout.hasPrefix("closed-by-server"), "the silent client was not closed within 30 s: \(client)\n\(cluster.logTail("site-a"))")
                #expect(cluster.logTail("site-a", lines: 2000).contains("reload: tls-handshake-timeout applied"), "\(cluster.logTail("site-a"))")
            }
        }
    }
}
