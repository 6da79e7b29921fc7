import Foundation
import Testing
import Synchronization
import TicketElection

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10's hostile member, end to end: `baton-hostile-member` holds site-b's real
/// certificate (the test's throwaway PKI) and, over the real TLS mesh, sends site-a (the
/// holder) and the arbitrator well-formed peer frames with extreme and random values in every
/// field, replays of its own frames, floods, admin requests at and over the frame limit, a huge
/// attribute set, and garbage after valid handshakes. Throughout, a sampler reads both CIB files
/// every 10 ms and the test polls every batond, `baton list --output json` and `/metrics`.
///
/// What a member may legitimately do is not checked away: site-b is a member, so it may
/// withhold acknowledgements or claim a term within `ElectionLimits.termJumpMax`, and site-a
/// may lose the ticket (counted and printed). What must hold: no batond dies, never both CIB
/// files granted, no term past `ElectionLimits.termMax + 1` anywhere (list or CIB), /metrics
/// answers, the hostile frames reached the election (refusals logged), and afterwards, with
/// the hostile member gone and the real site-b running, a grant, a move and a revoke succeed.
///
/// Two variants: the real site-b kept running (its own connections compete with the hostile
/// ones for the per-member connection cap, and its CIB file makes a double holder visible),
/// and the real site-b stopped (the arbitrator hears site-b only from the hostile member, so
/// every vote the holder needs runs through a member being lied to).
extension EndToEnd {
    @Suite struct HostileMemberEndToEnd {
        static var hostileMember: String { BuildPaths.product("baton-hostile-member") }

        static let missing = skipReason("BatondTests", skipping: "HostileMemberEndToEnd", [
            Requirement.built("baton-hostile-member"), Requirement.executable("/usr/bin/curl", "reads /metrics"),
        ])

        static let tickets = """
            ticket = "ticketA"
              expire = 6
              timeout = 500ms
              retries = 3

            ticket = "ticketB"
              expire = 6
              timeout = 500ms
              retries = 3

            ticket = "ticketC"
              expire = 6
              timeout = 500ms
              retries = 3

            """

        /// How long the hostile member attacks (bounded again by its frame budget).
        static let attackSeconds = 15

        @Test(.enabled(if: missing == nil, "needs baton-hostile-member and curl; the reason is printed on stderr"))
        func hostileSiteBWhileTheRealSiteBRuns() async throws {
            try await attack(seed: 1001, keepRealSiteB: true)
        }

        @Test(.enabled(if: missing == nil, "needs baton-hostile-member and curl; the reason is printed on stderr"))
        func hostileSiteBInsteadOfTheRealSiteB() async throws {
            try await attack(seed: 2002, keepRealSiteB: false)
        }

        /// What the 10 ms CIB sampler saw.
        struct CIBSamples: Sendable {
            var samples = 0
            var bothGranted = 0
            var siteANotGranted = 0
            var highestTerm: UInt64 = 0
            var absurdTerms: [String] = []
        }

        func attack(seed: UInt64, keepRealSiteB: Bool) async throws {
            let metricsA = try freePort(), metricsArbitrator = try freePort()
            try await withCluster(members: twoSitesAndArbitrator, tickets: Self.tickets, start: false) { cluster in
                cluster.extraArguments["site-a"] = ["--back-end", "file", "--cib-file", cluster.cibPath("site-a"), "--metrics", "127.0.0.1:\(metricsA)"]
                cluster.extraArguments["arbitrator"] = ["--back-end", "none", "--metrics", "127.0.0.1:\(metricsArbitrator)"]
                try cluster.startAll()
                try await cluster.waitReady()
                try await cluster.waitQuietPeriodsEnded()
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-a's CIB says granted") { cluster.cibGranted("ticketA", at: "site-a") }
                let knownTerm = try await cluster.ticketJSON("ticketA", at: "site-a")["term"] as? Int ?? 1
                if !keepRealSiteB { try await cluster.stop("site-b") }

                // The hostile member, as site-b, at site-a and at the arbitrator.
                let pki = cluster.directory + "/pki"
                let output = cluster.directory + "/hostile.out"
                let descriptor = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { throw TestFailure("cannot open \(output)") }
                let hostile = try Child.spawn([
                    Self.hostileMember, "--ca", pki + "/ca.pem", "--certificate", pki + "/site-b.pem", "--key", pki + "/site-b.key",
                    "--identity", "site-b", "--members", cluster.members.map(\.name).joined(separator: ","), "--tickets", "ticketA,ticketB",
                    "--target", "site-a=127.0.0.1:\(cluster.port)", "--target", "arbitrator=127.0.0.3:\(cluster.port)",
                    "--seed", "\(seed)", "--frames", "6000", "--seconds", "\(Self.attackSeconds)", "--known-term", "\(knownTerm)",
                ], stdout: descriptor, stderr: descriptor)
                close(descriptor)
                var hostileStatus: Int32?
                defer {
                    hostile.killAndReap()
                }

                // The sampler: both CIB files every 10 ms until the hostile member is done.
                let done = Flag()
                let termCeiling = ElectionLimits.termMax + 1
                let sampler = Task { () -> CIBSamples in
                    var seen = CIBSamples()
                    while !done.isSet {
                        let a = cluster.cibState("ticketA", at: "site-a"), b = cluster.cibState("ticketA", at: "site-b")
                        seen.samples += 1
                        if a["granted"] == "true" && b["granted"] == "true" { seen.bothGranted += 1 }
                        if a["granted"] != "true" { seen.siteANotGranted += 1 }
                        for (site, state) in [("site-a", a), ("site-b", b)] {
                            guard let text = state["term"] else { continue }
                            guard let term = UInt64(text), term <= termCeiling else {
                                if seen.absurdTerms.count < 10 { seen.absurdTerms.append("\(site) CIB term \(text)") }
                                continue
                            }
                            seen.highestTerm = max(seen.highestTerm, term)
                        }
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                    return seen
                }

                // Meanwhile: every batond alive, every term within the bound, /metrics answering.
                var problems: [String] = []
                var metricsLatencies: [Duration] = []
                var listedTerms: [String: UInt64] = [:]
                var lostAt: [String] = []
                let attackStart = ContinuousClock.now
                while hostileStatus == nil {
                    for (name, child) in cluster.daemons {
                        if let status = child.poll() {
                            problems.append("\(name)'s batond ended (status \(status)) during the attack")
                            cluster.daemons[name] = nil
                        }
                    }
                    for name in cluster.daemons.keys.sorted() {
                        let list = try await cluster.baton(["list", "--output", "json"], at: name)
                        guard list.status == 0, let data = list.stdout.data(using: .utf8),
                              let entries = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
                        else {
                            problems.append("baton list at \(name): \(list)")
                            continue
                        }
                        for entry in entries {
                            let ticket = entry["ticket"] as? String ?? "?"
                            let term = (entry["term"] as? NSNumber)?.uint64Value ?? 0
                            listedTerms["\(name) \(ticket)"] = max(listedTerms["\(name) \(ticket)"] ?? 0, term)
                            if term > termCeiling { problems.append("\(name) lists \(ticket) at term \(term), over \(termCeiling)") }
                            if name == "site-a" && ticket == "ticketA" && entry["granted_here"] as? Bool != true && lostAt.count < 5 {
                                lostAt.append(format(ContinuousClock.now - attackStart))
                            }
                        }
                    }
                    for port in [metricsA, metricsArbitrator] {
                        let (body, took) = try await fetchMetrics(port: port, limit: .seconds(10))
                        if body == nil { problems.append("/metrics on \(port) did not answer within 10 s") } else { metricsLatencies.append(took) }
                    }
                    hostileStatus = hostile.poll()
                    if hostileStatus == nil && ContinuousClock.now - attackStart > .seconds(Self.attackSeconds) + Patience.deadline {
                        problems.append("the hostile member did not end within \(Self.attackSeconds) s + \(Patience.deadline)")
                        break
                    }
                    try await Task.sleep(for: .milliseconds(250))
                }
                done.set()
                let samples = await sampler.value
                let report = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                print("hostile member (seed \(seed), real site-b \(keepRealSiteB ? "running" : "stopped")), exit \(hostileStatus.map(String.init) ?? "none"):\n\(report)")
                let sortedLatencies = metricsLatencies.sorted()
                print("CIB samples \(samples.samples), both granted in \(samples.bothGranted), site-a not granted in \(samples.siteANotGranted), "
                      + "highest CIB term \(samples.highestTerm); listed terms \(listedTerms.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); "
                      + "site-a's list said not held at \(lostAt); /metrics max \(sortedLatencies.last.map(format) ?? "none") over \(sortedLatencies.count) answers")

                #expect(problems.isEmpty, "during the attack: \(problems.joined(separator: "; "))")
                #expect(samples.bothGranted == 0, "both CIB files said granted in \(samples.bothGranted) of \(samples.samples) samples")
                #expect(samples.absurdTerms.isEmpty, "CIB terms past the bound: \(samples.absurdTerms)")
                #expect(samples.samples > Self.attackSeconds * 10, "the sampler ran \(samples.samples) times")
                #expect(hostileStatus == 0, "the hostile member exited \(hostileStatus.map(String.init) ?? "not at all"): \(report)")

                // The attack happened: handshakes as site-b, every phase sent, garbage closed,
                // and hostile terms refused by the election (not only by the framing).
                let lines = report.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                let summary = lines.first { $0["summary"] as? Bool == true } ?? [:]
                for phase in ["random", "replay", "flood", "oversize-largest-request", "oversize-at-limit", "oversize-over-limit", "oversize-attribute",
                              "garbage-random", "garbage-wrong-sender", "garbage-wrong-receiver", "garbage-flipped"] {
                    #expect((summary[phase] as? Int ?? 0) > 0, "the hostile member sent no \(phase) frames: \(summary)")
                }
                for target in ["site-a", "arbitrator"] {
                    let line = lines.first { $0["target"] as? String == target } ?? [:]
                    #expect((line["connections"] as? Int ?? 0) > 1, "\(target): \(line)")
                    #expect((line["closed_by_target"] as? Int ?? 0) > 0, "\(target) closed no hostile connection: \(line)")
                    #expect((line["replies"] as? Int ?? 0) > 0, "\(target) answered no admin request: \(line)")
                    let log = (try? String(contentsOfFile: cluster.logPath(target), encoding: .utf8)) ?? ""
                    let refused = log.components(separatedBy: "refused a message from").count - 1
                    #expect(refused > 0, "\(target) logged no refused hostile message")
                }

                // Afterwards, with the hostile member gone and the real site-b back: the cluster
                // works normally (the ticket ends up granted at one site, moves, is revoked).
                if !keepRealSiteB { try cluster.start("site-b") }
                try await cluster.waitReady()
                // ticketC, which the hostile member never named, works as before.
                try await normalOperation(cluster, ticket: "ticketC")
                // The attacked tickets: the hostile member may carry site-a's and the
                // arbitrator's terms past the real site-b's by more than `termJumpMax` (a member
                // may move a term that far a message). site-b then takes their terms once two
                // of them vouch for it (`ElectionLimits`), so the tickets work as before.
                // (Before that rule site-b refused their messages for good: the move failed.)
                for ticket in ["ticketA", "ticketB"] {
                    var terms: [String: UInt64] = [:]
                    for name in ["site-a", "site-b", "arbitrator"] {
                        terms[name] = (try await cluster.ticketJSON(ticket, at: name)["term"] as? NSNumber)?.uint64Value ?? 0
                    }
                    let spread = terms.values.max()! - terms.values.min()!
                    print("\(ticket) after the attack: terms \(terms.sorted { $0.key < $1.key }), spread \(spread) (termJumpMax \(ElectionLimits.termJumpMax))")
                    try await normalOperation(cluster, ticket: ticket)
                }
            }
        }

        /// A grant (or the ticket where it is), a move to the other site, a revoke: each seen in
        /// the CIB files and never both granted.
        func normalOperation(_ cluster: Cluster, ticket: String) async throws {
            func holder() -> String? {
                let a = cluster.cibGranted(ticket, at: "site-a"), b = cluster.cibGranted(ticket, at: "site-b")
                #expect(!(a && b), "both CIB files say \(ticket) granted after the attack")
                return a ? "site-a" : b ? "site-b" : nil
            }
            if holder() == nil {
                // The hostile member may have cost site-a the ticket; ask for it again (retried
                // while a leftover lease elsewhere or an election is still in the way).
                var granted = try await cluster.grant(ticket, at: "site-a")
                let deadline = ContinuousClock.now + Patience.deadline
                while granted.status != 0 && holder() == nil && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(500))
                    if holder() != nil { break }
                    granted = try await cluster.grant(ticket, at: "site-a")
                }
                try await waitUntil("\(ticket) granted at a site after the attack") { holder() != nil }
            }
            let source = holder()!
            let target = source == "site-a" ? "site-b" : "site-a"
            let move = try await cluster.baton(["move", ticket, "--to", target, "-w"], at: source)
            #expect(move.status == 0, "move \(ticket) \(source) -> \(target): \(move)")
            try await waitUntil("\(ticket) moved to \(target)") { holder() == target }
            let revoke = try await cluster.baton(["revoke", "-w", ticket], at: target)
            #expect(revoke.status == 0, "revoke \(ticket) at \(target): \(revoke)")
            try await waitUntil("\(ticket) revoked everywhere") { holder() == nil }
        }
    }
}

/// A flag one task sets and another polls.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
