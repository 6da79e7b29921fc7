#if canImport(Glibc)
import Glibc
#endif
import TicketCore
import TicketElection
import TicketWire

/// The state of batond on disk as an append-only journal: `tickets.journal`.
///
/// Each record is `magic "BTNJ" (u32), length (u32), a StateFile of the tickets that changed in
/// one batch` (the StateFile carries its own boot id, boot clock and CRC-32). A batch appends
/// one record and fdatasyncs it before any frame of the batch leaves (persist before send), so
/// a batch costs what changed, not the whole state. When the journal has grown past
/// `compactionFactor` times its last full record, it is compacted: one full record with every
/// ticket goes to `tickets.journal.tmp`, fsynced, renamed over the journal, the directory
/// fsynced. A crash leaves the old journal or the new one, never a mix.
///
/// Loading replays the records in order; each ticket keeps the boot clock of the record that
/// last wrote it, so its durations (promise, lease) are aged from their own write. A record
/// torn by a crash while it was appended (it runs past the end of the file, or fails its CRC
/// and ends the file) is dropped: its fsync never completed, so nothing it covers was sent.
/// A bad record followed by more data is damage: every ticket then starts as state lost.
///
/// Migration: a `tickets.state` of earlier versions is read when no journal exists; the first
/// write compacts into a journal and removes it.
public final class StateJournal: @unchecked Sendable {
    // @unchecked Sendable: used only on the daemon's event loop (TicketDaemon confines it).
    public let directory: String
    public var path: String { directory + "/tickets.journal" }
    public var legacyPath: String { directory + "/tickets.state" }
    public static let recordMagic = JournalFormat.recordMagic
    public static let compactionFactor = 4
    public static let compactionBytesMin = 256 * 1024
    public static let journalBytesMax = 256 * 1024 * 1024

    private var descriptor: Int32 = -1
    private var length = 0
    private var lastFullRecordBytes = 0
    /// Set when the journal may hold a partial record or is not open: the next write compacts.
    private var needsCompaction = true

    public typealias StoreError = StateStore.StoreError

    public init(directory: String) {
        self.directory = directory
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    public var bytes: Int { length }

    // MARK: - Loading

    public func load(bootID: String, now: LocalInstant) -> StateStore.Loaded {
        guard let bytes = readAll(path) else {
            // No journal and no state file of earlier versions: a start without state, quiet
            // (the note names the journal, the file this version writes; it used to say tickets.state).
            if errno == ENOENT || errno == ENOTDIR {
                if access(legacyPath, F_OK) != 0 && (errno == ENOENT || errno == ENOTDIR) {
                    return StateStore.Loaded(
                        modes: [:], allLost: false,
                        note: "no state journal at \(path) (a first start, or the state was deleted): each ticket gives no vote or acknowledgement for one lease, unless every other site reports term 0")
                }
                return StateStore(directory: directory).load(bootID: bootID, now: now)
            }
            return StateStore.Loaded(modes: [:], allLost: true, note: "cannot read \(path) (\(String(cString: strerror(errno)))): starting as state lost")
        }
        return JournalFormat.replay(bytes, path: path, bootID: bootID, now: now)
    }

    // MARK: - Writing

    /// Whether the next `append` must be a full record (`compact`) instead.
    public var wantsCompaction: Bool {
        needsCompaction || length > max(StateJournal.compactionBytesMin, lastFullRecordBytes * StateJournal.compactionFactor)
    }

    /// Appends the changed tickets and fdatasyncs them. On failure the journal is cut back to
    /// its last good length (or marked for compaction) and the error thrown.
    public func append(_ file: StateFile) throws(StoreError) {
        try append(encoded: file.encoded())
    }

    /// `append` of a state file already encoded (`StateFile.encode`).
    public func append(encoded body: [UInt8]) throws(StoreError) {
        precondition(!wantsCompaction, "append to a journal that must be compacted first")
        precondition(descriptor >= 0, "append to a closed journal")
        let record = StateJournal.record(body: body)
        guard length + record.count <= StateJournal.journalBytesMax else {
            needsCompaction = true
            throw StoreError(path: path, reason: "journal over \(StateJournal.journalBytesMax) bytes")
        }
        do throws(StoreError) {
            try writeAll(descriptor, record, path: path)
            guard fdatasync(descriptor) == 0 else { throw StoreError(path: path, reason: "fdatasync: \(String(cString: strerror(errno)))") }
        } catch {
            // Cut the partial record off, so that later records stay readable.
            if ftruncate(descriptor, off_t(length)) != 0 || lseek(descriptor, off_t(length), SEEK_SET) < 0 { needsCompaction = true }
            throw error
        }
        length += record.count
    }

    /// Writes every ticket as the journal's only record, atomically replacing the journal.
    public func compact(_ file: StateFile) throws(StoreError) {
        let temporary = path + ".tmp"
        let record = StateJournal.record(body: file.encoded())
        let fresh = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fresh >= 0 else { throw StoreError(path: temporary, reason: "open: \(String(cString: strerror(errno)))") }
        do throws(StoreError) {
            try writeAll(fresh, record, path: temporary)
            guard fsync(fresh) == 0 else { throw StoreError(path: temporary, reason: "fsync: \(String(cString: strerror(errno)))") }
            guard rename(temporary, path) == 0 else { throw StoreError(path: path, reason: "rename: \(String(cString: strerror(errno)))") }
        } catch {
            close(fresh)
            throw error
        }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        // The journal is durable and complete: an old state file is no longer needed.
        unlink(legacyPath)
        if descriptor >= 0 { close(descriptor) }
        // O_APPEND is not used: `append` cuts failed writes back with ftruncate + lseek.
        descriptor = fresh
        _ = lseek(descriptor, off_t(record.count), SEEK_SET)
        length = record.count
        lastFullRecordBytes = record.count
        needsCompaction = false
    }

    static func record(body: [UInt8]) -> [UInt8] { JournalFormat.record(body: body) }
}

func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(StateStore.StoreError) {
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
        if result < 0 {
            if errno == EINTR { continue }
            throw StateStore.StoreError(path: path, reason: "write: \(String(cString: strerror(errno)))")
        }
        written += result
    }
}
