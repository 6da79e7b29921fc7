import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, point 1: a member that lost its state must not vote while a promise it forgot may
/// still be relied on.
let lostStateTicket = """
    ticket = "ticketA"
      expire = 10
      timeout = 500ms
      retries = 3

    """

extension EndToEnd {
    @Suite struct LostState {
        /// site-a holds, renewed by the arbitrator alone (site-b is down long enough for its own
        /// promise to run out). site-a is frozen (SIGSTOP: cut off from both) just after a
        /// renewal; the arbitrator restarts with its state directory deleted; site-b comes back
        /// with its state and campaigns at once. The arbitrator promised site-a's lease and no
        /// longer knows it: it must not vote for site-b while that lease can still run. Before
        /// issue 10 it started as on a first install and voted at once, and both CIB files said
        /// granted for most of a lease. Both CIB files are sampled every 10 ms.
        @Test func arbitratorWithItsStateDeletedDoesNotVoteWhileTheHolderLeaseRuns() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: lostStateTicket) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("the arbitrator knows site-a leads") {
                    try await cluster.leader("ticketA", at: "arbitrator") == "site-a"
                }
                // site-b goes away until its promise to site-a (and its stretched copy on disk:
                // one renewal period longer) has surely run out; site-a renews with the arbitrator.
                try await cluster.kill9("site-b")
                try await Task.sleep(for: .seconds(16))
                #expect(cluster.cibGranted("ticketA", at: "site-a"))

                // Freeze site-a right after a renewal, with its own view of its lease.
                var holderLeaseEnd = ContinuousClock.now
                try await waitUntil("site-a just renewed (its own lease view above 9 s)", interval: .milliseconds(1)) {
                    let asked = ContinuousClock.now
                    let view = try await cluster.ticketJSON("ticketA", at: "site-a")
                    guard let remaining = view["lease_remaining_seconds"] as? Double, remaining > 9 else { return false }
                    cluster.signal("site-a", SIGSTOP)
                    // The lease cannot end before asked + remaining: it is only ever extended.
                    holderLeaseEnd = asked + .milliseconds(Int64(remaining * 1000))
                    return true
                }
                let frozen = ContinuousClock.now
                let termAtFreeze = cluster.cibState("ticketA", at: "site-a")["term"]

                // The arbitrator restarts with its state directory deleted; site-b returns.
                try await cluster.kill9("arbitrator")
                try FileManager.default.removeItem(atPath: "\(cluster.directory)/state-arbitrator")
                try cluster.start("arbitrator")
                try cluster.start("site-b")

                var firstGrantB: ContinuousClock.Instant?
                var bothWhileHolderLeaseRan = 0
                var samples = 0
                let deadline = frozen + .seconds(60)
                while ContinuousClock.now < deadline {
                    let now = ContinuousClock.now
                    let b = cluster.cibGranted("ticketA", at: "site-b")
                    let a = cluster.cibGranted("ticketA", at: "site-a")
                    samples += 1
                    if b && firstGrantB == nil { firstGrantB = now }
                    if a && b && now < holderLeaseEnd { bothWhileHolderLeaseRan += 1 }
                    if let first = firstGrantB, now - first > .milliseconds(200) { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                let granted = try #require(firstGrantB, "site-b was never granted within 60 s of the freeze\n\(cluster.logs())")
                print("arbitrator restarted with its state deleted: site-a's lease (own view) ended \(format(holderLeaseEnd - frozen)) after the freeze; site-b granted \(format(granted - frozen)) after it, \(format(granted - holderLeaseEnd)) after that lease end; \(samples) samples, \(bothWhileHolderLeaseRan) with both granted while site-a's lease ran")
                #expect(granted >= holderLeaseEnd, "site-b was granted \(format(holderLeaseEnd - granted)) before site-a's lease ended")
                #expect(bothWhileHolderLeaseRan == 0)
                #expect(cluster.cibState("ticketA", at: "site-b")["term"] != termAtFreeze)
                let log = (try? String(contentsOfFile: cluster.logPath("arbitrator"), encoding: .utf8)) ?? ""
                #expect(log.contains("started without state: no votes for"), "the arbitrator did not log its quiet period")
            }
        }
    }
}
