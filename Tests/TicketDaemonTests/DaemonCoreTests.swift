import Testing
import TicketCore
import TicketDaemon
import TicketElection
import TicketWire

/// Three daemon cores wired together in memory: commands in, frames between them.
struct DaemonCoreTests {
    static let members = [
        Member(id: MemberID(0), name: "site-a", role: .site),
        Member(id: MemberID(1), name: "site-b", role: .site),
        Member(id: MemberID(2), name: "arbitrator", role: .arbitrator),
    ]

    static func cores(tickets: Int) throws -> [DaemonCore] {
        let policies = try (0..<tickets).map {
            try TicketPolicy(name: "ticket\($0)", expire: .seconds(10), timeout: .seconds(1), retries: 3, weights: [0, 0, 0])
        }
        return try (0..<3).map { DaemonCore(membership: try Membership(members: members, selfID: MemberID($0)), policies: policies) }
    }

    /// Delivers frames until quiet; returns every batch seen.
    static func settle(_ cores: inout [DaemonCore], _ first: [DaemonCore.Batch], now: LocalInstant) -> [DaemonCore.Batch] {
        var seen = first
        var queue = first.flatMap(\.frames)
        var rounds = 0
        while !queue.isEmpty && rounds < 10_000 {
            rounds += 1
            let frame = queue.removeFirst()
            let batch = cores[frame.to.index].receive(frame, now: now)
            seen.append(batch)
            queue.append(contentsOf: batch.frames)
        }
        return seen
    }

    @Test func grantThroughTheCores() throws {
        var cores = try Self.cores(tickets: 1)
        let now = LocalInstant(nanoseconds: 1_000_000_000)
        var batches = (0..<3).map { cores[$0].start([:], now: now) }
        batches = Self.settle(&cores, batches, now: now)
        let client = DaemonCore.ClientToken(1)
        let grant = cores[0].command(ClientRequest(id: 42, command: .ticket(name: "ticket0", .grant(force: false, wait: true, waitForCommit: false))), from: client, now: now)
        #expect(grant.persist, "the vote for itself is persisted in the same batch as the vote requests")
        #expect(grant.frames.count == 2)
        let all = Self.settle(&cores, [grant], now: now)
        let replies = all.flatMap(\.replies)
        #expect(replies.count == 1)
        #expect(replies.first?.client == client)
        #expect(replies.first?.reply == ClientReply(id: 42, body: .outcome(OutcomeSummary(succeeded: true, text: "grant succeeded!"))))
        #expect(all.flatMap(\.cib).contains { $0.ticket == "ticket0" && { if case .grant = $0.action { true } else { false } }($0) })
        let list = cores[1].command(ClientRequest(id: 1, command: .list), from: client, now: now)
        guard case .tickets(let tickets) = list.replies.first?.reply.body else {
            Issue.record("no ticket list")
            return
        }
        #expect(tickets.first?.leader == "site-a")
    }

    @Test func oneFramePerPeerWhateverTheTicketCount() throws {
        var cores = try Self.cores(tickets: 500)
        let now = LocalInstant(nanoseconds: 1_000_000_000)
        _ = Self.settle(&cores, (0..<3).map { cores[$0].start([:], now: now) }, now: now)
        for index in 0..<500 {
            let batch = cores[0].command(ClientRequest(id: UInt64(index), command: .ticket(name: "ticket\(index)", .grant(force: false, wait: false, waitForCommit: false))), from: DaemonCore.ClientToken(1), now: now)
            _ = Self.settle(&cores, [batch], now: now)
        }
        // At the renewal, the leader's one timer input renews all 500 tickets in one frame per peer.
        let renewal = now + .seconds(5)
        let batch = cores[0].timer(now: renewal)
        #expect(batch.frames.count == 2)
        #expect(batch.frames.allSatisfy { $0.messages.count == 500 })
        #expect(batch.persist)
    }

    @Test func unknownTicketsAndMembersAreNamedInTheError() throws {
        var cores = try Self.cores(tickets: 1)
        let now = LocalInstant(nanoseconds: 1)
        _ = cores[0].start([:], now: now)
        let missing = cores[0].command(ClientRequest(id: 1, command: .ticket(name: "nosuch", .revoke(wait: false))), from: DaemonCore.ClientToken(1), now: now)
        #expect(missing.replies.first?.reply.body == .error("ticket \"nosuch\" does not exist"))
        let target = cores[0].command(ClientRequest(id: 2, command: .ticket(name: "ticket0", .move(to: "site-z", wait: false))), from: DaemonCore.ClientToken(1), now: now)
        #expect(target.replies.first?.reply.body == .error("no member named \"site-z\" in the configuration"))
    }
}
