import TicketElection

/// Taking over tickets that booth holds, without stopping what they guard (`batond
/// --adopt-booth`).
///
/// booth and batond cannot talk to each other, but batond already survives a restart in place:
/// a member restarted with its journal resumes what it held (a leader keeps its grant and
/// renews at once, the others keep the promise they gave it). A switch from booth is the same
/// restart seen from a cluster that ran batond all along: from what `booth list` printed
/// (leader and lease end of each ticket), every member writes the journal it would have
/// written, had batond been the one electing — the holder leading until booth's lease ends, one
/// timeout early (a leader's view of its lease is always the shorter one); every other member
/// having promised the holder until booth's lease ends; one term for all. Started within the
/// lease, the members carry on from there: the holder renews with them, and the site never
/// loses the grant booth left in its CIB.
///
/// The input is booth's own list, line for line (booth's ticket.c `list_ticket`):
/// `ticket: NAME, leader: ADDRESS|NONE[, expires: YYYY-MM-DD HH:MM:SS|INF][ (commit pending
/// until …)][ [manual mode]]`, with booth's multiple-grant warning after them.
public enum BoothTakeover {
    /// One ticket as booth listed it.
    public struct Listed: Sendable, Equatable {
        public let ticket: String
        /// The leader's address as booth prints it; nil for NONE.
        public let leader: String?
        /// The lease end in seconds since the epoch; nil for INF or when not owned.
        public let expires: Int64?
        public let manual: Bool
        public let commitPending: Bool
        public let line: Int

        public init(ticket: String, leader: String?, expires: Int64?, manual: Bool, commitPending: Bool, line: Int) {
            self.ticket = ticket
            self.leader = leader
            self.expires = expires
            self.manual = manual
            self.commitPending = commitPending
            self.line = line
        }
    }

    public struct TakeoverError: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The term every member starts from: one election of batond's, the one booth held.
    public static let adoptedTerm: UInt64 = 1

    /// Parses `booth list`'s output. `epochSeconds` turns booth's local time
    /// (`YYYY-MM-DD HH:MM:SS`) into seconds since the epoch (the shell's mktime), nil if it
    /// cannot. Errors name the file and line.
    public static func parse(_ text: String, fileName: String, epochSeconds: (String) -> Int64?) throws(TakeoverError) -> [Listed] {
        var listed: [Listed] = []
        var seen: Set<String> = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, raw) in lines.enumerated() {
            let number = offset + 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw[...]
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("WARNING: The ticket") {
                throw TakeoverError("\(fileName):\(number): booth says a ticket is granted to several sites (\(trimmed)); settle that with booth before switching")
            }
            guard trimmed.hasPrefix("ticket: ") else {
                throw TakeoverError("\(fileName):\(number): not a line of `booth list`: \(String(trimmed.prefix(120)))")
            }
            var rest = Substring(trimmed.dropFirst("ticket: ".count))
            var manual = false
            if rest.hasSuffix(" [manual mode]") {
                manual = true
                rest = rest.dropLast(" [manual mode]".count)
            }
            var commitPending = false
            if let pending = rest.firstRange(of: " (commit pending until ") {
                guard rest.hasSuffix(")") else { throw TakeoverError("\(fileName):\(number): unterminated '(commit pending until'") }
                commitPending = true
                rest = rest[..<pending.lowerBound]
            }
            let fields = rest.split(separator: ",", omittingEmptySubsequences: false).map { $0.drop { $0 == " " } }
            guard fields.count == 2 || fields.count == 3, let name = fields.first, !name.isEmpty, fields[1].hasPrefix("leader: ") else {
                throw TakeoverError("\(fileName):\(number): expected 'ticket: NAME, leader: ADDRESS[, expires: TIME]'")
            }
            let ticket = String(name)
            guard seen.insert(ticket).inserted else { throw TakeoverError("\(fileName):\(number): ticket \(ticket) listed twice") }
            let leaderText = fields[1].dropFirst("leader: ".count)
            guard !leaderText.isEmpty, !leaderText.contains(" ") else { throw TakeoverError("\(fileName):\(number): bad leader '\(leaderText)'") }
            let leader: String? = leaderText == "NONE" ? nil : String(leaderText)
            var expires: Int64?
            if fields.count == 3 {
                guard fields[2].hasPrefix("expires: ") else { throw TakeoverError("\(fileName):\(number): expected 'expires: TIME', got '\(fields[2])'") }
                let time = String(fields[2].dropFirst("expires: ".count))
                if time != "INF" {
                    guard let seconds = epochSeconds(time) else {
                        throw TakeoverError("\(fileName):\(number): cannot read the time '\(time)' (booth prints YYYY-MM-DD HH:MM:SS, local time)")
                    }
                    expires = seconds
                }
            }
            listed.append(Listed(ticket: ticket, leader: leader, expires: expires, manual: manual, commitPending: commitPending, line: number))
        }
        return listed
    }

    /// What this member's journal holds for each listed ticket that has a holder. `members`:
    /// each member's address (as booth's configuration and the converted one name it) and its
    /// name; `now`: seconds since the epoch. Refuses what batond could not carry on safely: a
    /// ticket batond's configuration lacks or has in the other mode, an unknown leader, a grant
    /// whose commit is still pending, or a lease that ends within two timeouts.
    public static func states(
        _ listed: [Listed], fileName: String, policies: [TicketPolicy], membership: Membership,
        addresses: [MemberID: String], now: Int64
    ) throws(TakeoverError) -> [String: PersistentTicketState] {
        var states: [String: PersistentTicketState] = [:]
        for entry in listed {
            let at = "\(fileName):\(entry.line)"
            guard let policy = policies.first(where: { $0.name == entry.ticket }) else {
                throw TakeoverError("\(at): ticket \(entry.ticket) is not in batond's configuration (tickets: \(policies.map(\.name).joined(separator: ", ")))")
            }
            guard (policy.mode == .manual) == entry.manual else {
                throw TakeoverError("\(at): ticket \(entry.ticket) is \(entry.manual ? "manual" : "automatic") in booth and \(policy.mode == .manual ? "manual" : "automatic") in batond's configuration")
            }
            guard let leaderText = entry.leader else { continue }
            guard let holder = membership.members.first(where: { addresses[$0.id] == leaderText || $0.name == leaderText }) else {
                throw TakeoverError("\(at): ticket \(entry.ticket): leader \(leaderText) is no member of batond's configuration")
            }
            guard holder.role == .site else { throw TakeoverError("\(at): ticket \(entry.ticket): leader \(leaderText) is an arbitrator") }
            guard !entry.commitPending else {
                throw TakeoverError("\(at): ticket \(entry.ticket): booth's grant is not committed yet; list again once it is")
            }
            if entry.manual {
                states[entry.ticket] = PersistentTicketState(term: adoptedTerm, intendedGranted: true, manualHolders: [holder.id])
                continue
            }
            guard let expires = entry.expires else { throw TakeoverError("\(at): ticket \(entry.ticket): held by \(leaderText) with no lease end") }
            let left = Duration.seconds(expires - now)
            guard left > policy.timeout * 2 else {
                throw TakeoverError("\(at): ticket \(entry.ticket): booth's lease ends in \(max(0, expires - now)) s, within two timeouts (\(policy.timeout * 2)); run `booth list` again after its next renewal")
            }
            let promise = LeaseView(leader: holder.id, term: adoptedTerm, remaining: left, confirmed: true)
            states[entry.ticket] = PersistentTicketState(
                term: adoptedTerm, votedFor: holder.id, promise: promise,
                leading: holder.id == membership.selfID ? left - policy.timeout : nil, intendedGranted: true)
        }
        return states
    }
}
