import Testing
import TicketCore
import TicketDaemon
import TicketElection
import TicketWire

/// SIGHUP's ticket changes, on three cores wired together in memory.
struct ReconfigureTests {
    static func policy(_ name: String, expire: Int = 10) throws -> TicketPolicy {
        try TicketPolicy(name: name, expire: .seconds(expire), timeout: .seconds(1), retries: 3, weights: [0, 0, 0])
    }

    static func grant(_ cores: inout [DaemonCore], _ ticket: String, id: UInt64, now: LocalInstant) -> [DaemonCore.Batch] {
        let batch = cores[0].command(
            ClientRequest(id: id, command: .ticket(name: ticket, .grant(force: false, wait: true, waitForCommit: false))),
            from: DaemonCore.ClientToken(1), now: now)
        return DaemonCoreTests.settle(&cores, [batch], now: now)
    }

    static func started() throws -> ([DaemonCore], LocalInstant) {
        var cores = try DaemonCoreTests.cores(tickets: 2)
        let now = LocalInstant(nanoseconds: 1_000_000_000)
        _ = DaemonCoreTests.settle(&cores, (0..<3).map { cores[$0].start([:], now: now) }, now: now)
        return (cores, now)
    }

    @Test func addedTicketStartsAndCanBeGranted() throws {
        var (cores, now) = try Self.started()
        let policies = try [Self.policy("ticket0"), Self.policy("ticket1"), Self.policy("ticket2")]
        var batches: [DaemonCore.Batch] = []
        for index in 0..<3 {
            let (batch, report) = cores[index].reconfigure(policies, now: now)
            #expect(report == DaemonCore.Reconfiguration(added: ["ticket2"]))
            batches.append(batch)
        }
        _ = DaemonCoreTests.settle(&cores, batches, now: now)
        // The startup query of the new ticket ends after three timeouts.
        now = now + .seconds(4)
        for index in 0..<3 { _ = DaemonCoreTests.settle(&cores, [cores[index].timer(now: now)], now: now) }
        let all = Self.grant(&cores, "ticket2", id: 7, now: now)
        #expect(all.flatMap(\.replies).first?.reply.body == .outcome(OutcomeSummary(succeeded: true, text: "grant succeeded!")))
        #expect(cores[2].summary(of: "ticket2", now: now).leader == "site-a")
        #expect(cores[0].ticketNames == ["ticket0", "ticket1", "ticket2"])
    }

    @Test func removedHeldTicketIsRevokedHereAndComesBackWithItsTerm() throws {
        var (cores, now) = try Self.started()
        _ = Self.grant(&cores, "ticket1", id: 1, now: now)
        let term = cores[0].summary(of: "ticket1", now: now).term
        #expect(cores[0].summary(of: "ticket1", now: now).grantedHere)
        // A request still waiting on the ticket: a move whose frames are never delivered.
        let waiting = cores[0].command(
            ClientRequest(id: 9, command: .ticket(name: "ticket1", .move(to: "site-b", wait: true))), from: DaemonCore.ClientToken(3), now: now)
        #expect(waiting.replies.isEmpty)
        let (batch, report) = cores[0].reconfigure([try Self.policy("ticket0")], now: now)
        #expect(report == DaemonCore.Reconfiguration(removed: ["ticket1"]))
        #expect(batch.replies.map(\.client) == [DaemonCore.ClientToken(3)])
        guard case .error(let text) = batch.replies.first?.reply.body else {
            Issue.record("the waiting request was not answered with an error")
            return
        }
        #expect(text.contains("removed from the configuration"))
        #expect(cores[0].instance(named: "ticket1") == nil)
        let list = cores[0].command(ClientRequest(id: 2, command: .ticket(name: "ticket1", .grant(force: false, wait: false, waitForCommit: false))), from: DaemonCore.ClientToken(1), now: now)
        #expect(list.replies.first?.reply.body == .error("ticket \"ticket1\" does not exist"))
        // Put back: it resumes from the state it had, not from term 0.
        let (back, again) = cores[0].reconfigure([try Self.policy("ticket0"), try Self.policy("ticket1")], now: now + .seconds(1))
        #expect(again == DaemonCore.Reconfiguration(added: ["ticket1"]))
        #expect(back.cib.map(\.ticket) == ["ticket1"], "not held after the return: the CIB says so")
        #expect(cores[0].summary(of: "ticket1", now: now + .seconds(1)).term >= term)
    }

    @Test func removedTicketsPromiseOutlivesACompaction() throws {
        var (cores, now) = try Self.started()
        _ = Self.grant(&cores, "ticket1", id: 1, now: now)
        // The arbitrator promised site-a; the ticket leaves the arbitrator's configuration.
        _ = cores[2].reconfigure([try Self.policy("ticket0")], now: now)
        let written = cores[2].stateFileTickets(now: now + .seconds(1))
        #expect(written["ticket1"]?.promise?.leader == MemberID(0), "a restart that brings the ticket back must keep the promise")
        #expect(cores[2].stateFileTickets(now: now + .seconds(30))["ticket1"] == nil, "dropped once the promise ran out")
    }

    @Test func removingAHeldTicketRevokesItAtTheSite() throws {
        var (cores, now) = try Self.started()
        _ = Self.grant(&cores, "ticket1", id: 1, now: now)
        #expect(cores[0].summary(of: "ticket1", now: now).grantedHere)
        let (batch, _) = cores[0].reconfigure([try Self.policy("ticket0")], now: now)
        #expect(batch.cib.map(\.ticket) == ["ticket1"])
        #expect(batch.replies.isEmpty)
        #expect(batch.cib.first?.action == .revoke(.removedFromConfiguration))
    }

    @Test func changedTicketKeepsItsLeaseAndRenewsUnderTheNewSettings() throws {
        var (cores, now) = try Self.started()
        _ = Self.grant(&cores, "ticket0", id: 1, now: now)
        let before = cores[0].summary(of: "ticket0", now: now)
        #expect(before.grantedHere)
        now = now + .seconds(1)
        let policies = try [Self.policy("ticket0", expire: 20), Self.policy("ticket1")]
        var batches: [DaemonCore.Batch] = []
        for index in 0..<3 {
            let (batch, report) = cores[index].reconfigure(policies, now: now)
            #expect(report == DaemonCore.Reconfiguration(changed: ["ticket0"]))
            // The holder never revokes: it resumes its lead and renews at once.
            #expect(!batch.cib.contains { if case .revoke = $0.action { true } else { false } } || index != 0)
            batches.append(batch)
        }
        _ = DaemonCoreTests.settle(&cores, batches, now: now)
        let after = cores[0].summary(of: "ticket0", now: now)
        #expect(after.grantedHere)
        #expect(after.term == before.term)
        #expect((after.leaseRemaining ?? .zero) > .seconds(10), "renewed with the new 20 s expire")
        #expect(cores[1].summary(of: "ticket0", now: now).leader == "site-a")
    }

    @Test func unchangedConfigurationChangesNothing() throws {
        var (cores, now) = try Self.started()
        _ = Self.grant(&cores, "ticket0", id: 1, now: now)
        let (batch, report) = cores[0].reconfigure([try Self.policy("ticket0"), try Self.policy("ticket1")], now: now)
        #expect(report.isEmpty)
        #expect(batch.isEmpty)
        #expect(cores[0].nextWakeUp != nil)
    }

    @Test func agedStateIsWhatTheInstanceGivesLater() throws {
        var (cores, now) = try Self.started()
        _ = Self.grant(&cores, "ticket0", id: 1, now: now)
        now = now + .seconds(2)
        let instance = try #require(cores[0].instance(named: "ticket0"))
        let early = instance.persistentState(now: now)
        for elapsed in [Duration.zero, .milliseconds(3), .seconds(5), .seconds(30)] {
            #expect(early.aged(by: elapsed) == instance.persistentState(now: now + elapsed), "aged by \(elapsed)")
        }
        let voter = try #require(cores[2].instance(named: "ticket0"))
        let promise = voter.persistentState(now: now)
        #expect(promise.promise != nil)
        for elapsed in [Duration.zero, .milliseconds(1), .seconds(7), .seconds(20)] {
            #expect(promise.aged(by: elapsed) == voter.persistentState(now: now + elapsed), "aged by \(elapsed)")
        }
    }
}

extension ReconfigureTests {
    @Test func stateOfAnUnconfiguredTicketIsKeptAcrossARestart() throws {
        var (cores, now) = try Self.started()
        _ = Self.grant(&cores, "ticket1", id: 1, now: now)
        let saved = cores[2].stateFileTickets(now: now)
        // The arbitrator restarts with ticket1 gone from its file, then a reload brings it back.
        var restarted = DaemonCore(membership: cores[2].membership, policies: [try Self.policy("ticket0")])
        _ = restarted.start(saved.mapValues { .restored($0, elapsed: .known(.seconds(1))) }, now: now + .seconds(1))
        #expect(restarted.stateFileTickets(now: now + .seconds(2))["ticket1"]?.promise?.leader == MemberID(0))
        _ = restarted.reconfigure([try Self.policy("ticket0"), try Self.policy("ticket1")], now: now + .seconds(2))
        let state = try #require(restarted.instance(named: "ticket1")).persistentState(now: now + .seconds(2))
        #expect(state.promise?.leader == MemberID(0), "the promise to site-a still binds")
        #expect(state.term == cores[0].summary(of: "ticket1", now: now).term)
    }
}
