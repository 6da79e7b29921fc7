#if canImport(Glibc)
import Glibc
#endif
import Testing
import TicketCore
@testable import TicketDaemon
import TicketElection
import TicketWire

/// The state journal: changed tickets appended per batch, compaction, torn tails, damage.
struct StateJournalTests {
    static func directory() -> String {
        var template = Array("/tmp/baton-journal-test-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!)
    }

    static func state(term: UInt64) -> PersistentTicketState {
        PersistentTicketState(term: term, votedFor: MemberID(1), intendedGranted: true)
    }

    static func restored(_ loaded: StateStore.Loaded, _ ticket: String) -> (PersistentTicketState, TicketInstance.Elapsed)? {
        if case .restored(let state, let elapsed) = loaded.mode(for: ticket) { return (state, elapsed) }
        return nil
    }

    /// Issue 10, point 3: a first start logged "no state file at …/tickets.state" where the
    /// file batond writes is tickets.journal.
    @Test func aFirstStartNamesTheJournal() throws {
        let directory = Self.directory()
        let loaded = StateJournal(directory: directory).load(bootID: "boot", now: LocalInstant(nanoseconds: 1))
        #expect(loaded.note.hasPrefix("no state journal at \(directory)/tickets.journal (a first start, or the state was deleted)"))
        #expect(!loaded.allLost && loaded.modes.isEmpty)
    }

    @Test func appendedRecordsReplayOverTheCompactedOne() throws {
        let directory = Self.directory()
        let journal = StateJournal(directory: directory)
        #expect(journal.wantsCompaction, "a journal not yet written starts with a full record")
        try journal.compact(StateFile(bootID: "boot", bootClock: .seconds(10), tickets: ["a": Self.state(term: 1), "b": Self.state(term: 1)]))
        #expect(!journal.wantsCompaction)
        try journal.append(StateFile(bootID: "boot", bootClock: .seconds(12), tickets: ["b": Self.state(term: 2)]))
        let loaded = StateJournal(directory: directory).load(bootID: "boot", now: LocalInstant(nanoseconds: 15_000_000_000))
        #expect(!loaded.allLost)
        // Each ticket is aged from the record that last wrote it.
        #expect(Self.restored(loaded, "a")?.0.term == 1)
        #expect(Self.restored(loaded, "a")?.1 == .known(.seconds(5)))
        #expect(Self.restored(loaded, "b")?.0.term == 2)
        #expect(Self.restored(loaded, "b")?.1 == .known(.seconds(3)))
        let other = StateJournal(directory: directory).load(bootID: "another-boot", now: LocalInstant(nanoseconds: 1))
        #expect(Self.restored(other, "b")?.1 == .unknown)
    }

    @Test func aTornLastRecordIsDroppedAndDamageBeforeTheEndLosesAll() throws {
        let directory = Self.directory()
        let journal = StateJournal(directory: directory)
        try journal.compact(StateFile(bootID: "boot", bootClock: .seconds(1), tickets: ["a": Self.state(term: 1)]))
        try journal.append(StateFile(bootID: "boot", bootClock: .seconds(2), tickets: ["a": Self.state(term: 2)]))
        let whole = try #require(readAll(journal.path))
        // Cut inside the last record: it was being written when the machine stopped.
        writeFile(journal.path, Array(whole.dropLast(5)))
        let torn = StateJournal(directory: directory).load(bootID: "boot", now: LocalInstant(nanoseconds: 3_000_000_000))
        #expect(!torn.allLost)
        #expect(Self.restored(torn, "a")?.0.term == 1)
        // A flipped byte in the first record, with a good record after it: damage.
        var damaged = whole
        damaged[20] ^= 0xFF
        writeFile(journal.path, damaged)
        #expect(StateJournal(directory: directory).load(bootID: "boot", now: LocalInstant(nanoseconds: 3_000_000_000)).allLost)
    }

    @Test func compactionReplacesTheJournalAndTheOldStateFileIsReadFirst() throws {
        let directory = Self.directory()
        // An earlier version's whole-state file, and no journal yet.
        try StateStore(directory: directory).save(StateFile(bootID: "boot", bootClock: .seconds(1), tickets: ["a": Self.state(term: 7)]))
        let journal = StateJournal(directory: directory)
        let migrated = journal.load(bootID: "boot", now: LocalInstant(nanoseconds: 2_000_000_000))
        #expect(Self.restored(migrated, "a")?.0.term == 7)
        try journal.compact(StateFile(bootID: "boot", bootClock: .seconds(2), tickets: ["a": Self.state(term: 8)]))
        #expect(access(directory + "/tickets.state", F_OK) != 0, "the old state file goes once the journal holds everything")
        let small = journal.bytes
        for term in 9..<200 {
            try journal.append(StateFile(bootID: "boot", bootClock: .seconds(Int64(term)), tickets: ["a": Self.state(term: UInt64(term))]))
        }
        #expect(journal.bytes > small)
        try journal.compact(StateFile(bootID: "boot", bootClock: .seconds(200), tickets: ["a": Self.state(term: 200)]))
        #expect(journal.bytes == small)
        #expect(Self.restored(StateJournal(directory: directory).load(bootID: "boot", now: LocalInstant(nanoseconds: 201_000_000_000)), "a")?.0.term == 200)
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress!, bytes.count) }
    close(descriptor)
}

/// Issue 10: what batond starts with when its state is gone, and a journal written before the
/// term bounds (a term of 2^64 − 1 adopted from a hostile frame) no longer traps at each start.
struct LostAndPoisonedStateTests {
    @Test func aMissingJournalOrDirectoryStartsFreshAndQuiet() throws {
        let parent = StateJournalTests.directory()
        for directory in [parent, parent + "/deleted"] {
            let loaded = StateJournal(directory: directory).load(bootID: "boot", now: LocalInstant(nanoseconds: 1))
            #expect(!loaded.allLost)
            #expect(loaded.mode(for: "ticketA") == .fresh)
            #expect(loaded.note.contains("the state was deleted"), "\(loaded.note)")
        }
        // `.fresh` is quiet: a core started from it refuses a vote until every other site answers.
        let policy = try TicketPolicy(name: "ticketA", expire: .seconds(10), timeout: .seconds(1), retries: 3, weights: [0, 0, 0])
        var core = DaemonCore(membership: try Membership(members: DaemonCoreTests.members, selfID: MemberID(2)), policies: [policy])
        let now = LocalInstant(nanoseconds: 1_000_000_000)
        let started = core.start(["ticketA": StateJournal(directory: parent + "/deleted").load(bootID: "boot", now: now).mode(for: "ticketA")], now: now)
        #expect(started.events.contains { if case .quietAfterRestart(_, true) = $0.event { true } else { false } })
        let vote = core.receive(PeerFrame(from: MemberID(1), to: MemberID(2), messages: [
            PeerMessage(ticket: "ticketA", from: MemberID(1), to: MemberID(2), term: 2, body: .voteRequest(lease: .seconds(10))),
        ]), now: now + .seconds(4))
        #expect(vote.frames.flatMap(\.messages).map(\.body) == [.voteRefused(.quietAfterRestart, known: nil)])
    }

    @Test func aJournalHoldingAnAbsurdTermStartsAndRunsWithoutTrapping() throws {
        let directory = StateJournalTests.directory()
        let journal = StateJournal(directory: directory)
        let absurd = PersistentTicketState(
            term: UInt64.max, votedFor: MemberID(15),
            promise: LeaseView(leader: MemberID(0), term: UInt64.max, remaining: Frame.durationMax, confirmed: true),
            leading: Frame.durationMax, intendedGranted: true, manualHolders: [MemberID(15)])
        try journal.compact(StateFile(bootID: "boot", bootClock: .seconds(1), tickets: ["ticketA": absurd, "manual": absurd]))
        let now = LocalInstant(nanoseconds: 2_000_000_000)
        let loaded = StateJournal(directory: directory).load(bootID: "boot", now: now)
        let policies = try [
            TicketPolicy(name: "ticketA", expire: .seconds(10), timeout: .seconds(1), retries: 3, weights: [0, 0, 0]),
            TicketPolicy(name: "manual", mode: .manual, weights: [0, 0, 0]),
        ]
        var cores = try (0..<3).map { DaemonCore(membership: try Membership(members: DaemonCoreTests.members, selfID: MemberID($0)), policies: policies) }
        var batches = [cores[0].start(["ticketA": loaded.mode(for: "ticketA"), "manual": loaded.mode(for: "manual")], now: now)]
        batches += (1..<3).map { cores[$0].start([:], now: now) }
        var clock = now
        for _ in 0..<40 {
            _ = DaemonCoreTests.settle(&cores, batches, now: clock)
            clock = clock + .milliseconds(500)
            batches = (0..<3).map { cores[$0].timer(now: clock) }
            for name in ["ticketA", "manual"] {
                batches.append(cores[0].command(ClientRequest(id: 1, command: .ticket(name: name, .grant(force: true, wait: false, waitForCommit: false))),
                                                from: DaemonCore.ClientToken(1), now: clock))
            }
        }
        // The others refuse its frames (the term is past their bound), and nothing traps.
        #expect(cores[1].instance(named: "ticketA")!.term <= ElectionLimits.termMax)
        #expect(cores[2].instance(named: "ticketA")!.term <= ElectionLimits.termMax)
    }
}
