import Foundation
import Testing

/// Tickets used by most tests: expire 6 s, resend every 500 ms (renewal every 3 s).
let shortTicket = """
    ticket = "ticketA"
      expire = 6
      timeout = 500ms
      retries = 3

    """

extension EndToEnd {
    @Suite struct Grants {
        /// Issue 3, test 1: grant -w / list / revoke -w; a grant elsewhere is refused; status.
        @Test func grantListRevokeAndStatus() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let started = ContinuousClock.now
                let grant = try await cluster.grant("ticketA", at: "site-a")
                let latency = ContinuousClock.now - started
                #expect(grant.status == 0, "\(grant)")
                #expect(grant.stdout.contains("grant succeeded!"), "\(grant)")
                let statusStarted = ContinuousClock.now
                let status = try await cluster.baton(["status"], at: "site-a")
                let overhead = ContinuousClock.now - statusStarted
                #expect(status.status == 0, "\(status)")
                // booth's line on stdout (scripts eval it), the words on stderr.
                let pid = try #require(cluster.daemons["site-a"]?.pid)
                #expect(status.stdout.hasPrefix("booth_lockpid=\(pid) booth_lockfile='\(cluster.socketPath("site-a")).lock' booth_pid=\(pid) booth_state=started booth_type=site "),
                        "\(status)")
                #expect(status.stdout.contains(" booth_addr_string='127.0.0.1' booth_port="), "\(status)")
                #expect(status.stderr.hasPrefix("batond running: site site-a, "), "\(status)")
                print("grant -w latency (baton process start to exit, all members up, file CIB): \(format(latency)); a `baton status` round trip (process start, no election) takes \(format(overhead))")
                #expect(cluster.cibGranted("ticketA", at: "site-a"), "CIB file of site-a after grant -w: \(cluster.cibState("ticketA", at: "site-a"))")
                #expect(cluster.cibState("ticketA", at: "site-a")["owner"] == "site-a")
                #expect(!cluster.cibGranted("ticketA", at: "site-b"))

                // booth's list line everywhere (the leader by its address), once followers heard.
                for name in ["site-a", "site-b", "arbitrator"] {
                    try await waitUntil("\(name) knows site-a leads") {
                        try await cluster.leader("ticketA", at: name) == "site-a"
                    }
                    let list = try await cluster.baton(["list"], at: name)
                    #expect(list.status == 0, "\(list)")
                    let line = list.stdout.split(separator: "\n").first.map(String.init) ?? ""
                    #expect(isBoothListLine(line, ticket: "ticketA", leaderAddress: "127.0.0.1"), "list at \(name): \(list.stdout.debugDescription)")
                }

                // A grant at the other site is refused with a message, exit 1.
                let elsewhere = try await cluster.baton(["grant", "-w", "ticketA"], at: "site-b")
                #expect(elsewhere.status == 1, "\(elsewhere)")
                #expect(elsewhere.stderr.contains("ticket is granted to site-a"), "\(elsewhere)")
                // Granting again at the holder: booth's message.
                let again = try await cluster.baton(["grant", "-w", "ticketA"], at: "site-a")
                #expect(again.status == 1, "\(again)")
                #expect(again.stderr.contains("You're granting a granted ticket"), "\(again)")
                // A ticket that does not exist.
                let nosuch = try await cluster.baton(["grant", "-w", "nosuch"], at: "site-a")
                #expect(nosuch.status == 1 && nosuch.stderr.contains("ticket \"nosuch\" does not exist"), "\(nosuch)")

                let revoke = try await cluster.baton(["revoke", "-w", "ticketA"], at: "site-a")
                #expect(revoke.status == 0, "\(revoke)")
                #expect(revoke.stdout.contains("revoke succeeded"), "\(revoke)")
                try await waitUntil("site-a's CIB file shows the revoke") { !cluster.cibGranted("ticketA", at: "site-a") }
                for name in ["site-a", "site-b", "arbitrator"] {
                    try await waitUntil("\(name) lists leader NONE") {
                        try await cluster.baton(["list"], at: name).stdout.contains("ticket: ticketA, leader: NONE")
                    }
                }
                // A second grant, with every member long past startup: the steady-state latency.
                var latencies: [Duration] = []
                for _ in 0..<3 {
                    let again = ContinuousClock.now
                    let regrant = try await cluster.baton(["grant", "-w", "ticketA"], at: "site-a")
                    latencies.append(ContinuousClock.now - again)
                    #expect(regrant.status == 0 && regrant.stdout.contains("grant succeeded!"), "\(regrant)")
                    let revokeAgain = try await cluster.baton(["revoke", "-w", "ticketA"], at: "site-a")
                    #expect(revokeAgain.status == 0, "\(revokeAgain)")
                    try await waitUntil("site-b lists leader NONE") { try await cluster.leader("ticketA", at: "site-b") == nil }
                }
                print("grant -w latency after revoke (3 runs, including the baton process): \(latencies.map(format).joined(separator: ", "))")
                let notOwned = try await cluster.baton(["revoke", "-w", "ticketA"], at: "site-b")
                #expect(notOwned.status == 1, "\(notOwned)")
                print("revoke of an unheld ticket: \(notOwned.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")

                // status: 0 running, 7 not running, 1 bad configuration.
                let running = try await cluster.baton(["status"], at: "site-b")
                #expect(running.status == 0, "\(running)")
                try await cluster.stop("site-b")
                let notRunning = try await cluster.baton(["status"], at: "site-b")
                #expect(notRunning.status == 7, "\(notRunning)")
                try "port = abc\n".write(toFile: cluster.directory + "/bad.conf", atomically: true, encoding: .utf8)
                let bad = try await run([Paths.baton, "status", "-c", cluster.directory + "/bad.conf", "--run-directory", cluster.directory + "/run"])
                #expect(bad.status == 1, "\(bad)")
            }
        }

        /// Issue 3, test 2: a grant while a site is down waits out the commit-pending time
        /// before the CIB shows it; with -F it is written at once.
        @Test func grantWithASiteDown() async throws {
            let tickets = shortTicket + """
                ticket = "ticketF"
                  expire = 6
                  timeout = 500ms
                  retries = 3

                """
            try await withCluster(members: twoSitesAndArbitrator, tickets: tickets, start: false) { cluster in
                try cluster.start("site-a")
                try cluster.start("arbitrator")
                try await cluster.waitReady()

                let started = ContinuousClock.now
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                #expect(grant.stdout.contains("grant succeeded (CIB commit pending)"), "\(grant)")
                let entry = try await cluster.ticketJSON("ticketA", at: "site-a")
                let pending = entry["commit_pending_seconds"] as? Double
                #expect(pending != nil, "list --output json shows the commit pending: \(entry)")
                let list = try await cluster.baton(["list"], at: "site-a")
                #expect(list.stdout.contains("(commit pending until "), "\(list)")
                #expect(!cluster.cibGranted("ticketA", at: "site-a"), "CIB granted before the pending time")
                let appeared = try await waitUntil("the CIB file shows the pending grant") {
                    cluster.cibGranted("ticketA", at: "site-a")
                }
                let sinceGrant = ContinuousClock.now - started
                print("grant with site-b down: commit pending \(pending.map { String(format: "%.3f s", $0) } ?? "?") at the reply; CIB granted \(format(sinceGrant)) after the grant started")
                // expire (6 s) + acquire-after (0): not before the pending time (less the poll granularity).
                #expect(seconds(sinceGrant) >= 6 - 0.1, "CIB written \(format(sinceGrant)) after grant, before expire + acquire-after")
                #expect(seconds(appeared) >= (pending ?? 0) - 0.5)

                let forced = try await cluster.grant("ticketF", at: "site-a", flags: ["-F", "-w"])
                #expect(forced.status == 0, "\(forced)")
                #expect(forced.stdout.contains("grant succeeded!"), "\(forced)")
                let replied = ContinuousClock.now
                let forcedTook = try await waitUntilNoticed("the CIB file shows the forced grant") {
                    cluster.cibGranted("ticketF", at: "site-a")
                }.lateness(since: replied)
                // At once: not after the commit-pending time (expire, 6 s) the unforced grant waited.
                #expect(forcedTook < .seconds(6), "the forced grant reached the CIB \(format(forcedTook)) after its reply")
            }
        }

        /// A follower restarted (with its state) while the holder is alive and renewing must learn
        /// the holder from the startup query and leave it alone: no campaign, no term bump, and
        /// `list` shows the holder. Known issue: it campaigns (refused) and bumps the term twice
        /// before it learns the holder. Why, as far as the logs show: the startup state query is
        /// sent once, when the core starts, before batond has any peer connection (and the
        /// peers' connections back to it are still in their reconnect back-off), and its deadline
        /// is one `timeout`; so it ends with no replies, and a follower whose saved state says
        /// "granted" schedules a failover. The startup code is being reworked (TicketInstance).
        @Test func restartedFollowerLeavesTheHolderAlone() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-b knows site-a leads") { try await cluster.leader("ticketA", at: "site-b") == "site-a" }
                try await cluster.stop("site-b")
                // Down for longer than expire: the promise site-b persisted has run out.
                try await Task.sleep(for: .seconds(7))
                let termBefore = try await cluster.ticketJSON("ticketA", at: "site-a")["term"] as? Int
                let logBefore = cluster.logTail("site-b", lines: 100_000)
                let restarted = ContinuousClock.now
                try cluster.start("site-b")
                let ready = try await cluster.waitReady()
                // The others' connect loops to site-b were in back-off (up to 5 s): a member that
                // reaches them makes them dial it at once.
                let meshUp = ready.lateness(since: restarted)
                print("restarted site-b: every member connected to every other \(format(meshUp)) to \(format(ready.firstTrue - restarted)) after its start (peers' back-off had reached up to 5 s)")
                // A sanity bound: how fast the mesh reconnects is the printed figure, not a unit test's claim.
                #expect(meshUp < .seconds(3) + Patience.slack, "the mesh took \(format(meshUp)) to reconnect to a restarted member")
                let learned = try await waitUntil("the restarted site-b lists site-a as leader") {
                    try await cluster.leader("ticketA", at: "site-b") == "site-a"
                }
                try await Task.sleep(for: .seconds(3.5))
                let campaigns = count("campaign started", in: cluster.logTail("site-b", lines: 100_000)) - count("campaign started", in: logBefore)
                let termAfter = try await cluster.ticketJSON("ticketA", at: "site-a")["term"] as? Int
                print("restarted follower: lists the holder \(format(learned)) after it answered; campaigns started meanwhile: \(campaigns); holder's term \(termBefore ?? -1) -> \(termAfter ?? -1)")
                #expect(cluster.cibGranted("ticketA", at: "site-a"), "the holder lost the ticket")
                #expect(!cluster.cibGranted("ticketA", at: "site-b"))
                // The startup state query is resent until answered, so a restarted follower
                // learns the holder and never campaigns against it.
                #expect(campaigns == 0, "the restarted follower started \(campaigns) campaign(s) against a live holder")
                #expect(termAfter == termBefore, "the holder's term moved from \(termBefore ?? -1) to \(termAfter ?? -1)")
            }
        }

        /// Issue 3, test 5, and issue 10, point 3's restart in place: SIGUSR1 to the holder
        /// (exit 75, what the unit restarts at once) and start it again within the lease: it
        /// still holds (its CIB file never shows the ticket revoked, site-b's never granted, the
        /// term never changes) and every member agrees. (SIGTERM now hands the ticket over.)
        @Test func restartWithStateKeepsTheTicket() async throws {
            let tickets = """
                ticket = "ticketA"
                  expire = 10
                  timeout = 500ms
                  retries = 3

                """
            try await withCluster(members: twoSitesAndArbitrator, tickets: tickets) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-b and the arbitrator know site-a leads") {
                    let b = try await cluster.leader("ticketA", at: "site-b")
                    let arbitrator = try await cluster.leader("ticketA", at: "arbitrator")
                    return b == "site-a" && arbitrator == "site-a"
                }
                let termBefore = cluster.cibState("ticketA", at: "site-a")["term"]
                let restart = ContinuousClock.now
                let status = try await cluster.stop("site-a", signal: SIGUSR1)
                #expect(status == 75, "batond exit status after SIGUSR1: \(String(describing: status))")
                #expect(cluster.cibGranted("ticketA", at: "site-a"), "a restart in place must not revoke the CIB")
                try cluster.start("site-a")
                var revokedSeen = false
                var grantedAtB = false
                var otherLeader: String?
                try await waitUntil("site-a answers again and leads") {
                    if !cluster.cibGranted("ticketA", at: "site-a") { revokedSeen = true }
                    if cluster.cibGranted("ticketA", at: "site-b") { grantedAtB = true }
                    if let leader = try? await cluster.leader("ticketA", at: "arbitrator"), leader != "site-a" { otherLeader = leader }
                    guard FileManager.default.fileExists(atPath: cluster.socketPath("site-a")) else { return false }
                    let entry = try? await cluster.ticketJSON("ticketA", at: "site-a")
                    return entry?["granted_here"] as? Bool == true
                }
                print("holder restarted and leading again \(format(ContinuousClock.now - restart)) after SIGUSR1 (lease 10 s)")
                // Keep watching across more than a renewal: the CIB stays granted.
                let watchEnd = ContinuousClock.now + .seconds(6)
                while ContinuousClock.now < watchEnd {
                    if !cluster.cibGranted("ticketA", at: "site-a") { revokedSeen = true }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(!revokedSeen, "site-a's CIB file showed the ticket revoked during the restart: \(cluster.cibState("ticketA", at: "site-a"))")
                #expect(!grantedAtB, "site-b's CIB showed the ticket granted during site-a's restart in place")
                #expect(otherLeader == nil, "the arbitrator saw \(otherLeader ?? "") lead during the restart")
                #expect(cluster.cibState("ticketA", at: "site-a")["term"] == termBefore, "the term changed: the ticket changed hands")
                print("CIB term before \(termBefore ?? "?"), after \(cluster.cibState("ticketA", at: "site-a")["term"] ?? "?")")
                for name in ["site-a", "site-b", "arbitrator"] {
                    let leader = try await cluster.leader("ticketA", at: name)
                    #expect(leader == "site-a", "\(name) says the leader is \(leader ?? "NONE")")
                }
                #expect(!cluster.cibGranted("ticketA", at: "site-b"))
            }
        }
    }
}
