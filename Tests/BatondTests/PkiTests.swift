import Foundation
import Testing
import TestSupport

/// `baton pki` (issue 17, point 1): a CA and member certificates an admin makes with Baton alone
/// are what batond needs: members started with them elect, and `pki show` says names, expiry
/// and whether a certificate chains to the CA.
extension EndToEnd {
    @Suite struct Pki {
        static let missing = skipReason("BatondTests", skipping: "Pki", [
            Requirement.executable("/usr/bin/openssl", "Debian package openssl: baton pki drives it"),
        ])

        @Test(.enabled(if: missing == nil, "needs openssl; the reason is printed on stderr"))
        func membersRunOnCertificatesBatonIssued() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, start: false) { cluster in
                // Replace the test PKI with one baton pki makes.
                let pki = cluster.directory + "/pki"
                try FileManager.default.removeItem(atPath: pki)
                let ca = try await run([Paths.baton, "pki", "ca", "--dir", pki, "--days", "30"])
                #expect(ca.status == 0, "\(ca)")
                for member in cluster.members {
                    let issued = try await run([Paths.baton, "pki", "issue", member.name, "--ca-dir", pki, "--days", "10"])
                    #expect(issued.status == 0, "\(issued)")
                    let mode = (try FileManager.default.attributesOfItem(atPath: "\(pki)/\(member.name).key"))[.posixPermissions] as? Int
                    #expect(mode == 0o600, "\(member.name).key mode \(mode.map { String($0, radix: 8) } ?? "?")")
                }
                let again = try await run([Paths.baton, "pki", "issue", "site-a", "--ca-dir", pki])
                #expect(again.status == 1 && again.stderr.contains("exists: not replaced"), "\(again)")

                try cluster.startAll()
                try await cluster.waitReady()
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("the arbitrator follows site-a over the new certificates") {
                    try await cluster.leader("ticketA", at: "arbitrator") == "site-a"
                }

                // show: names and days left; 10 days is within the default 30-day warning (exit 2).
                let shown = try await run([Paths.baton, "pki", "show", "\(pki)/site-b.pem", "--ca", "\(pki)/ca.pem"])
                #expect(shown.status == 2, "\(shown)")
                #expect(shown.stdout.contains("names site-b") && (shown.stdout.contains("(9 days)") || shown.stdout.contains("(10 days)")), "\(shown)")
                #expect(shown.stdout.contains("chains to"), "\(shown)")
                let quiet = try await run([Paths.baton, "pki", "show", "\(pki)/site-b.pem", "--warn-days", "5"])
                #expect(quiet.status == 0, "\(quiet)")
                // A certificate from another CA does not chain.
                let other = cluster.directory + "/other-ca"
                _ = try await run([Paths.baton, "pki", "ca", "--dir", other])
                let foreign = try await run([Paths.baton, "pki", "show", "\(pki)/site-b.pem", "--ca", "\(other)/ca.pem"])
                #expect(foreign.status == 1 && foreign.stdout.contains("does NOT chain"), "\(foreign)")
                print("pki show: \(shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
    }
}
