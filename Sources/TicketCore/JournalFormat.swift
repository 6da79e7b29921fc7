import TicketElection
import TicketWire

/// What to start each ticket with after reading the state: restored (elapsed known in the same
/// boot), restored after a reboot, fresh (no state: no journal, no state file, not even the
/// directory), or state lost (a file that exists but cannot be read or is damaged).
public struct LoadedState: Sendable {
    /// Per ticket found in the file.
    public var modes: [String: TicketInstance.StartMode]
    /// The file exists but cannot be read: every ticket starts as state lost.
    public var allLost: Bool
    public var note: String

    public init(modes: [String: TicketInstance.StartMode], allLost: Bool, note: String) {
        self.modes = modes
        self.allLost = allLost
        self.note = note
    }

    /// A ticket without state starts `.fresh`: a first start cannot be told from a deleted
    /// state directory or a reinstalled member, so `.fresh` is quiet for one lease unless
    /// every other member reports term 0 (TicketInstance's opening comment). A damaged or
    /// unreadable file is refused whole: `.stateLost`, quiet for one lease.
    public func mode(for ticket: String) -> TicketInstance.StartMode {
        allLost ? .stateLost : (modes[ticket] ?? .fresh)
    }
}

/// The bytes of batond's state journal (`tickets.journal`; StateJournal in TicketDaemon does
/// the file I/O): records of `magic "BTNJ" (u32), length (u32), a StateFile`. Pure, so that the
/// simulator replays torn and damaged journals with the daemon's own rules.
public enum JournalFormat {
    public static let recordMagic: UInt32 = 0x4254_4E4A

    /// One record around an encoded StateFile.
    public static func record(body: [UInt8]) -> [UInt8] {
        precondition(body.count <= Int(UInt32.max), "state record of \(body.count) bytes")
        var writer = ByteWriter(capacity: body.count + 8)
        writer.u32(recordMagic)
        writer.u32(UInt32(body.count))
        var bytes = writer.bytes
        bytes.append(contentsOf: body)
        return bytes
    }

    /// Replays a journal's bytes (read from `path`, named in the notes). A record torn at the
    /// end is dropped (its fsync never completed, so nothing it covers was sent); a bad record
    /// followed by more data is damage: every ticket then starts as state lost. Each ticket
    /// keeps the boot clock of the record that last wrote it; a record of another boot (or of
    /// an unknown one) gives `.unknown` elapsed time.
    public static func replay(_ bytes: [UInt8], path: String, bootID: String, now: LocalInstant) -> LoadedState {
        var offset = 0
        var tickets: [String: (state: PersistentTicketState, bootID: String, bootClock: Duration)] = [:]
        var records = 0
        var note = ""
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard remaining >= 8 else {
                note = ", dropped a torn record of \(remaining) bytes at the end"
                break
            }
            var reader = ByteReader(bytes, from: offset, to: offset + 8)
            let magic = (try? reader.u32("record magic")) ?? 0
            let size = Int((try? reader.u32("record length")) ?? 0)
            guard magic == recordMagic else {
                return LoadedState(modes: [:], allLost: true, note: "state journal \(path) is damaged (bad record magic at offset \(offset)): starting as state lost")
            }
            guard size <= remaining - 8 else {
                note = ", dropped a torn record at offset \(offset)"
                break
            }
            let file: StateFile
            do {
                file = try StateFile.decode(Array(bytes[(offset + 8)..<(offset + 8 + size)]))
            } catch {
                if offset + 8 + size == bytes.count {
                    note = ", dropped a torn record at offset \(offset) (\(error))"
                    break
                }
                return LoadedState(modes: [:], allLost: true, note: "state journal \(path) is damaged at offset \(offset) (\(error)): starting as state lost")
            }
            for (name, state) in file.tickets { tickets[name] = (state, file.bootID, file.bootClock) }
            records += 1
            offset += 8 + size
        }
        var modes: [String: TicketInstance.StartMode] = [:]
        var unknown = 0
        for (name, entry) in tickets {
            let elapsed: TicketInstance.Elapsed
            if entry.bootID == bootID && bootID != "unknown" {
                elapsed = .known(max(.zero, now.since(LocalInstant(nanoseconds: entry.bootClock.nanoseconds))))
            } else {
                elapsed = .unknown
                unknown += 1
            }
            modes[name] = .restored(entry.state, elapsed: elapsed)
        }
        let how = unknown > 0 ? ", \(unknown) written before a reboot" : ""
        return LoadedState(modes: modes, allLost: false, note: "restored \(tickets.count) tickets from \(records) records of \(path)\(how)\(note)")
    }
}
