import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    @Suite struct DiskFailure {
        /// A member whose state writes fail promises nothing: every write of the arbitrator goes
        /// to /dev/full (its journal's temporary file is a link there, and its first write is a
        /// full one). With site-b down, site-a cannot renew and loses the ticket at its lease
        /// end; once the arbitrator can write again it answers, and site-a holds again.
        @Test func aMemberThatCannotWriteAcknowledgesNothing() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, start: false) { cluster in
                let state = cluster.directory + "/state-arbitrator"
                try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
                let link = state + "/tickets.journal.tmp"
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/full")
                try cluster.startAll()
                try await cluster.waitReady()
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "site-a and site-b are a majority without the arbitrator: \(grant)")
                // Its first promise is its first write (a full one, to the link).
                try await waitUntil("the arbitrator reports its failing disk") {
                    cluster.logTail("arbitrator", lines: 500).contains("cannot write the state file")
                }
                try await cluster.kill9("site-b")
                let killed = ContinuousClock.now
                let lost = try await waitUntilNoticed("site-a loses the ticket it cannot renew", interval: .milliseconds(20)) {
                    !cluster.cibGranted("ticketA", at: "site-a")
                }.lateness(since: killed)
                print("site-a revoked \(format(lost)) after site-b died: the arbitrator could not write, so it acknowledged nothing")
                // Not renewed: gone within its lease (expire 6 s) of site-b's death, plus a loaded machine's slack.
                #expect(lost <= .seconds(6) + Patience.slack, "site-a kept the ticket \(format(lost)) without a majority")
                // The disk works again.
                unlink(link)
                let regained = try await waitUntil("site-a holds again with the arbitrator's vote", interval: .milliseconds(20)) {
                    cluster.cibGranted("ticketA", at: "site-a")
                }
                print("site-a held again \(format(regained)) after the arbitrator's disk came back (\(format(ContinuousClock.now - killed)) after site-b died)")
                #expect(cluster.logTail("arbitrator", lines: 2000).contains("state file writable again"))
            }
        }
    }
}
