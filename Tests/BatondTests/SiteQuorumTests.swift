import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// batond --site-quorum corosync on real Corosync: three corosync nodes in network namespaces
/// (scripts/testbed); site-a's batond runs in node1 and follows node1's quorum, site-b and the
/// arbitrator run in node2 and node3. When node1 loses its peers it loses quorum, and site-a
/// must stop what the ticket guards and release the ticket at once: site-b holds it long
/// before the lease would have run out.
extension EndToEnd {
    @Suite struct SiteQuorum {
        static let missing = skipReason("BatondTests", skipping: "SiteQuorum", [
            Requirement.root("network namespaces need it"), Requirement.executable("/usr/sbin/corosync", "apt-get install corosync"),
            Requirement.ipCommand,
        ])

        @Test(.enabled(if: missing == nil, "needs root, corosync and iproute2; the reason is printed on stderr"))
        func holderReleasesWhenItsSiteLosesQuorum() async throws {
            let bed = "/tmp/baton-quorum-bed-\(getpid())"
            let testbed = Paths.packageRoot.appendingPathComponent("scripts/testbed").path
            let up = try await run([testbed, "-d", bed, "up", "--nodes", "3"], timeLimit: Patience.deadline * 3)
            defer {
                // Idempotent; kills only the corosync pids this bed started, deletes its namespaces.
                _ = try? TestChild.runToEnd([testbed, "-d", bed, "teardown"])
            }
            guard up.status == 0 else { throw TestFailure("testbed up failed: \(up)") }
            let members = [
                Member(name: "site-a", address: "10.231.0.1", role: .site),
                Member(name: "site-b", address: "10.231.0.2", role: .site),
                Member(name: "arbitrator", address: "10.231.0.3", role: .arbitrator),
            ]
            let lease = 30
            let tickets = """
                ticket = "ticketA"
                  expire = \(lease)
                  timeout = 1
                  retries = 3
                """
            try await withCluster(members: members, tickets: tickets, start: false) { cluster in
                for (index, member) in members.enumerated() {
                    cluster.memberPrefix[member.name] = [testbed, "-d", bed, "exec", "\(index + 1)"]
                }
                cluster.extraArguments["site-a"] = [
                    "--back-end", "file", "--cib-file", cluster.cibPath("site-a"), "--site-quorum", "corosync", "--metrics", "127.0.0.1:9939",
                ]
                // baton_site_quorate of site-a's /metrics, read inside node1's namespace.
                func quorateMetric() async throws -> String? {
                    let fetched = try await run([testbed, "-d", bed, "exec", "1", "/usr/bin/python3", "-c",
                                                 "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9939/metrics', timeout=10).read().decode())"])
                    return fetched.stdout.split(separator: "\n").first { $0.hasPrefix("baton_site_quorate ") }.map(String.init)
                }
                try cluster.startAll()
                try await cluster.waitReady()
                try await waitUntil("site-a's metrics show the site quorate") { try await quorateMetric() == "baton_site_quorate 1" }
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                #expect(cluster.cibGranted("ticketA", at: "site-a"))
                // node1 loses both peers: corosync there becomes inquorate (its own detection).
                let lost = ContinuousClock.now
                for node in ["2", "3"] {
                    let killed = try await run([testbed, "-d", bed, "kill", node])
                    #expect(killed.status == 0, "\(killed)")
                }
                var bothGranted = false
                let took = try await waitUntilNoticed("site-b holds the ticket", interval: .milliseconds(10)) {
                    if cluster.cibGranted("ticketA", at: "site-a") && cluster.cibGranted("ticketA", at: "site-b") { bothGranted = true }
                    return cluster.cibGranted("ticketA", at: "site-b")
                }.lateness(since: lost)
                print("site quorum lost at the holder: site-b holds the ticket \(format(took)) later (lease \(lease) s)")
                #expect(!bothGranted, "both sites' CIB files showed the ticket granted at once")
                #expect(cluster.cibState("ticketA", at: "site-a")["revoke-reason"] == "site-quorum-lost")
                #expect(try await quorateMetric() == "baton_site_quorate 0")
                // Released, not waited out: well inside the lease.
                #expect(took < .seconds(lease / 2), "took \(format(took)) with a \(lease) s lease: the holder did not release")
            }
        }
    }
}
