import Testing
import TicketElection

/// Issue 10, point 3 (while there): a grant refused for lack of a majority said "another
/// request for this ticket is under way".
struct GrantRefusalWordsTests {
    static func replies(_ directives: [Directive]) -> [CommandOutcome] {
        directives.compactMap { if case .reply(_, let outcome) = $0 { outcome } else { nil } }
    }

    /// An isolated site: every grant, waited for or asked again at any moment while its own
    /// campaign's promise runs, is refused with words about the majority, never "busy".
    @Test func anIsolatedSitesGrantsSayNoMajority() throws {
        var instance = try TicketInstanceTests.started(0)
        var now = TicketInstanceTests.t0
        var outcomes: [CommandOutcome] = []
        outcomes += Self.replies(instance.onCommand(.grant(force: false, wait: true, waitForCommit: false), request: RequestID(1), now: now))
        var request: UInt64 = 2
        // 30 s in steps of 100 ms: timers fire, and a new grant is asked every second.
        for step in 1...300 {
            now = now + .milliseconds(100)
            outcomes += Self.replies(instance.onTimer(now: now))
            if step % 10 == 0 {
                outcomes += Self.replies(instance.onCommand(.grant(force: false, wait: true, waitForCommit: false), request: RequestID(request), now: now))
                request += 1
            }
        }
        let refusals = outcomes.compactMap { if case .refused(let refusal) = $0 { refusal } else { nil } }
        #expect(!refusals.isEmpty)
        for refusal in refusals {
            #expect(refusal != .busy, "refused as \(refusal.description)")
            #expect(refusal.description.contains("majority"), "\(refusal.description)")
        }
        print("isolated site's grant refusals: \(Set(refusals.map(\.description)).sorted())")
    }
}
