import Testing
import TicketElection

/// A follower writes its promise stretched one renewal period ahead and skips the writes that
/// stretch covers; every promise it acknowledges must still be covered by what is on disk.
struct PromiseOnDiskTests {
    /// Heartbeats from site-a to the arbitrator every `gap`; returns (acks sent, writes made,
    /// acknowledgements whose promise the disk did not cover).
    static func follow(breaks: SafetyRuleBreaks, gap: Duration, rounds: Int) throws -> (acks: Int, writes: Int, uncovered: Int) {
        let policy = try TicketPolicy(name: "ticketA", expire: .seconds(10), timeout: .seconds(1), retries: 3,
                                      weights: [0, 0, 0], safetyRuleBreaks: breaks)
        var arbitrator = TicketInstance(policy: policy, membership: try Membership(members: TicketInstanceTests.members, selfID: MemberID(2)))
        var now = TicketInstanceTests.t0
        let nonce = TicketInstanceTests.queryNonce(arbitrator.start(.fresh, now: now))
        for other in [0, 1] {
            _ = arbitrator.onMessage(
                PeerMessage(ticket: "ticketA", from: MemberID(other), to: MemberID(2), term: 0,
                            body: .stateReply(known: nil, granted: false, manualHolders: [], nonce: nonce)), now: now)
        }
        var disk: (state: PersistentTicketState, at: LocalInstant)?
        var acks = 0
        var writes = 0
        var uncovered = 0
        for round in 1...rounds {
            let lease = Duration.seconds(10)
            let out = arbitrator.onMessage(
                PeerMessage(ticket: "ticketA", from: MemberID(0), to: MemberID(2), term: 1, body: .heartbeat(lease: lease, round: UInt64(round))),
                now: now)
            for directive in out {
                switch directive {
                case .persist(let state):
                    disk = (state, now)
                    writes += 1
                case .send(let message):
                    guard case .heartbeatAcknowledged = message.body else { continue }
                    acks += 1
                    // What a crash now would restore, against what was just promised.
                    let restored = disk.flatMap { $0.state.aged(by: now.since($0.at)).promise }
                    if restored == nil || restored!.leader != MemberID(0) || restored!.remaining < lease { uncovered += 1 }
                default:
                    break
                }
            }
            now = now + gap
        }
        return (acks, writes, uncovered)
    }

    @Test func everyAcknowledgedPromiseIsOnDiskWithAboutHalfTheWrites() throws {
        let result = try Self.follow(breaks: [], gap: .seconds(5), rounds: 40)
        #expect(result.acks == 40)
        #expect(result.uncovered == 0)
        #expect(result.writes <= 21, "a write every other heartbeat, got \(result.writes) for \(result.acks)")
        // Irregular gaps (resends, early renewals) are covered too.
        for gap in [Duration.milliseconds(300), .seconds(1), .milliseconds(4_999), .milliseconds(5_001), .seconds(9)] {
            #expect(try Self.follow(breaks: [], gap: gap, rounds: 30).uncovered == 0, "gap \(gap)")
        }
    }

    @Test func writingThePromiseUnstretchedIsCaught() throws {
        let result = try Self.follow(breaks: .promiseWrittenShort, gap: .seconds(5), rounds: 40)
        #expect(result.uncovered > 0, "the broken rule must leave acknowledged promises off the disk")
    }
}
