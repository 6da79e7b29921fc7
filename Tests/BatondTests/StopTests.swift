import Foundation
import Testing

extension EndToEnd {
    /// Issue 10, point 3: `systemctl stop batond` at the holder. Before, batond exited 0 with
    /// its CIB still granted, and the other site acquired only after the lease: both sites ran
    /// what the ticket guards until the CIB was cleaned up by hand.
    @Suite struct Stop {
        /// A SIGTERM at any instant of start-up stops batond. Before, batond set SIGTERM to
        /// SIG_IGN and libdispatch installed its handler a moment later on another thread: a
        /// SIGTERM in between was dropped by the kernel and batond ran on (seen once by hand,
        /// then caught by watching SigIgn). The kernel's view is polled from the spawn until
        /// SIGTERM is caught; it must never be "ignored", and the SIGTERM sent at that instant
        /// must end the daemon with status 0.
        @Test func sigtermIsNeverIgnoredDuringStartUp() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, start: false) { cluster in
                let term: UInt64 = 1 << UInt64(SIGTERM - 1)
                var ignoredInRounds: [Int] = []
                for round in 1...40 {
                    try cluster.start("arbitrator")
                    let pid = cluster.daemons["arbitrator"]!.pid
                    let deadline = ContinuousClock.now + Patience.deadline
                    while ContinuousClock.now < deadline, let masks = Self.signalMasks(pid) {
                        if masks.ignored & term != 0 { ignoredInRounds.append(round) }
                        if masks.caught & term != 0 { break }
                    }
                    let status = try await cluster.stop("arbitrator")
                    #expect(status == 0, "round \(round): a SIGTERM at the end of start-up gave \(status.map(String.init) ?? "no exit within \(Patience.deadline)")")
                }
                #expect(ignoredInRounds.isEmpty, "SIGTERM was ignored for a while during start-up in rounds \(Set(ignoredInRounds).sorted())")
            }
        }

        /// SigIgn and SigCgt of /proc/PID/status; nil once the process is gone (or a zombie).
        static func signalMasks(_ pid: pid_t) -> (ignored: UInt64, caught: UInt64)? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8), !text.contains("State:\tZ") else { return nil }
            func mask(_ name: String) -> UInt64? {
                text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                    .flatMap { UInt64($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
            }
            guard let ignored = mask("SigIgn"), let caught = mask("SigCgt") else { return nil }
            return (ignored, caught)
        }

        static let tickets = """
            ticket = "ticketA"
              expire = 10
              timeout = 500ms
              retries = 3

            """

        /// SIGTERM the holder: site-b holds within a few round trips (not a lease), site-a's
        /// CIB says revoked by the time batond has exited, and no sample of the two CIB files
        /// shows both granted.
        @Test func theStoppedHolderHandsTheTicketOver() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: Self.tickets) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-b knows site-a leads") { try await cluster.leader("ticketA", at: "site-b") == "site-a" }
                let child = try #require(cluster.daemons["site-a"])
                let stopped = ContinuousClock.now
                child.signal(SIGTERM)
                var exitStatus: Int32?
                var exitedAfter: Duration?
                var bothGranted = 0
                var revokedAtExit: Bool?
                let noticed = try await waitUntilNoticed("site-b's CIB granted after site-a's stop", interval: .milliseconds(2)) {
                    if cluster.cibGranted("ticketA", at: "site-a") && cluster.cibGranted("ticketA", at: "site-b") { bothGranted += 1 }
                    if exitStatus == nil, let status = child.poll() {
                        exitStatus = status
                        exitedAfter = ContinuousClock.now - stopped
                        revokedAtExit = !cluster.cibGranted("ticketA", at: "site-a")
                    }
                    return cluster.cibGranted("ticketA", at: "site-b")
                }
                // Checked against the last look that still saw site-b not granted: a test process
                // starved of CPU on a loaded machine looks late, but cannot make this late.
                let handover = noticed.lateness(since: stopped)
                cluster.daemons["site-a"] = nil
                if exitStatus == nil {
                    try await waitUntil("site-a's batond exits", interval: .milliseconds(2)) { child.poll().map { exitStatus = $0 } != nil }
                    exitedAfter = ContinuousClock.now - stopped
                    revokedAtExit = !cluster.cibGranted("ticketA", at: "site-a")
                }
                print("SIGTERM at the holder: site-b granted \(format(handover)) later (lease 10 s), site-a exited after \(exitedAfter.map(format) ?? "?") with \(exitStatus.map(String.init) ?? "?")")
                #expect(exitStatus == 0)
                #expect(revokedAtExit == true, "site-a's CIB still granted when its batond had exited: \(cluster.cibState("ticketA", at: "site-a"))")
                #expect(cluster.cibState("ticketA", at: "site-a")["revoke-reason"] == "daemon-stopping")
                #expect(handover < .seconds(3), "a handover takes round trips, not the 10 s lease: \(format(handover))")
                #expect(bothGranted == 0, "both CIB files granted in \(bothGranted) samples")
                for name in ["site-b", "arbitrator"] {
                    try await waitUntil("\(name) knows site-b leads") { try await cluster.leader("ticketA", at: name) == "site-b" }
                }
            }
        }

        /// With no other member reachable the stopped holder cannot hand over, and still
        /// revokes its own CIB before it exits (its lease had most of its 10 s to run).
        @Test func aStoppedHolderWithNobodyToHandOverToRevokesAtExit() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: Self.tickets) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-a's CIB granted") { cluster.cibGranted("ticketA", at: "site-a") }
                try await cluster.kill9("site-b")
                try await cluster.kill9("arbitrator")
                let leader = try await cluster.ticketJSON("ticketA", at: "site-a")
                #expect(leader["granted_here"] as? Bool == true, "site-a still holds within its lease: \(leader)")
                let started = ContinuousClock.now
                let status = try await cluster.stop("site-a")
                let took = ContinuousClock.now - started
                print("SIGTERM at a holder with nobody reachable: exited after \(format(took)) with \(status.map(String.init) ?? "?")")
                #expect(status == 0)
                #expect(!cluster.cibGranted("ticketA", at: "site-a"), "site-a's CIB still granted after its batond exited: \(cluster.cibState("ticketA", at: "site-a"))")
                // Well under the 10 s lease (what it would wait without the bound), with room for a
                // loaded machine.
                #expect(took < .seconds(4) + Patience.slack, "the stop waits for its revoke, bounded by timeout x retries: \(format(took))")
            }
        }
    
        /// While there: booth's `expires` in the CIB was written only at the grant, so it lay
        /// in the past while the ticket was validly held. Now it follows every renewal.
        @Test func expiresFollowsTheRenewals() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-a's CIB granted") { cluster.cibGranted("ticketA", at: "site-a") }
                let first = Int(cluster.cibState("ticketA", at: "site-a")["expires"] ?? "") ?? 0
                var stale: [String] = []
                var last = first
                // Three renewals of expire 6 s (renewal every 3 s), sampled every 50 ms.
                let end = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < end {
                    let state = cluster.cibState("ticketA", at: "site-a")
                    let now = Int(Date().timeIntervalSince1970)
                    if state["granted"] == "true", let expires = Int(state["expires"] ?? "") {
                        // Whole seconds, both floored (the lease end is written rounded down):
                        // one second of slack, where before the fix it fell behind by seconds.
                        if expires + 1 < now { stale.append("expires \(expires) at \(now)") }
                        last = expires
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                print("CIB expires: \(first) at the grant, \(last) ten seconds later")
                #expect(stale.isEmpty, "expires in the past while granted: \(stale.prefix(3))")
                #expect(last >= first + 6, "expires did not follow the renewals: \(first) -> \(last)")
            }
        }
    }
}
