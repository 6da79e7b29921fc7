#if canImport(Glibc)
import Glibc
#endif
import Testing
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
        #expect(loaded.note == "no state journal at \(directory)/tickets.journal: first start")
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
