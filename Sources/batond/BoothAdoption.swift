import Foundation
import TicketCore
import TicketDaemon
import TicketElection
import TicketWire

/// `batond --adopt-booth FILE`: the shell of `BoothTakeover` (pure, in TicketCore). Reads booth's
/// list, checks it against this site's CIB, and writes the journal batond's first start
/// resumes from; refuses when batond has run here already.
enum BoothAdoption {
    struct Refused: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func adopt(listFile: String, plan: DaemonPlan, stateDirectory: String, backEnd: any SiteBackEnd) async throws -> String {
        let journal = StateJournal(directory: stateDirectory)
        for path in [journal.path, journal.legacyPath] where FileManager.default.fileExists(atPath: path) {
            throw Refused("\(path) exists: batond has run here and its own state wins; adopt only before batond's first start on this member")
        }
        let text: String
        let name = listFile == "-" ? "stdin" : listFile
        if listFile == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            do { text = try String(contentsOfFile: listFile, encoding: .utf8) } catch { throw Refused("cannot read \(listFile): \(error.localizedDescription)") }
        }
        let listed = try BoothTakeover.parse(text, fileName: name, epochSeconds: localEpochSeconds)
        guard !listed.isEmpty else { throw Refused("\(name): no ticket listed (expected the output of `booth list`)") }
        var addresses: [MemberID: String] = [:]
        for (index, endpoint) in plan.endpoints.enumerated() { addresses[MemberID(index)] = endpoint.address }
        let now = Int64(SystemClock.wallClockSeconds())
        let bootClock = SystemClock.now()
        let states = try BoothTakeover.states(
            listed, fileName: name, policies: plan.policies, membership: plan.membership, addresses: addresses, now: now)
        let me = plan.membership.selfID
        // The CIB must say what booth says about this site: granted here exactly when booth
        // names this site as the holder.
        if plan.membership.isSite {
            for entry in listed {
                let heldHere = states[entry.ticket].map { $0.promise?.leader == me || $0.manualHolders.contains(me) } ?? false
                let granted: Bool
                if let file = backEnd as? FileCIBBackEnd {
                    granted = file.granted(entry.ticket)
                } else if let crm = backEnd as? CrmTicketBackEnd {
                    granted = try await crm.grantedInCIB(entry.ticket)
                } else {
                    continue
                }
                guard granted == heldHere else {
                    throw Refused("\(name):\(entry.line): booth lists \(entry.leader ?? "NONE") as the holder of \(entry.ticket), but this site's CIB (\(backEnd)) has it \(granted ? "granted" : "not granted"): list again, or settle it with booth first")
                }
            }
        }
        do {
            try journal.compact(StateFile(bootID: SystemClock.bootID(), bootClock: .nanoseconds(bootClock.nanoseconds), tickets: states))
        } catch {
            throw Refused("cannot write \(journal.path): \(error)")
        }
        var report = ""
        for entry in listed {
            let state = states[entry.ticket]
            let holder = state.flatMap { $0.promise?.leader ?? $0.manualHolders.first }.map { plan.membership.members[$0.index].name }
            switch (holder, entry.expires) {
            case (nil, _): report += "\(entry.ticket): held nowhere; starts as a new ticket\n"
            case (let holder?, nil): report += "\(entry.ticket): granted to \(holder) (manual)\(holder == plan.membership.selfMember.name ? ", here" : "")\n"
            case (let holder?, let expires?):
                let left = expires - now
                report += holder == plan.membership.selfMember.name
                    ? "\(entry.ticket): held here; batond renews it if started within \(left) s\n"
                    : "\(entry.ticket): held by \(holder); promised to it for \(left) s\n"
            }
        }
        return report + "written: \(journal.path) (start batond on every member before the leases end)\n"
    }

    /// booth's `%F %T` in local time, as booth printed it, to seconds since the epoch.
    static func localEpochSeconds(_ text: String) -> Int64? {
        // YYYY-MM-DD HH:MM:SS exactly (Glibc's strptime is not visible to Swift).
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        parts.tm_isdst = -1
        let seconds = mktime(&parts)
        return seconds == -1 ? nil : Int64(seconds)
    }
}
