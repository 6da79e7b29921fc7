import BatonConfig
import LocalSocketClient
import TicketElection
import TicketWire

#if canImport(Glibc)
import Glibc
#endif

/// The text answers of the ticket commands (booth's shapes), one string per line, for both
/// `baton` and `baton-full`. `--output json` stays with `baton-full` (Foundation's serializer).
public enum ClientText {
    /// booth's `list` lines; `configuration` gives members' addresses (names where absent).
    public static func list(_ tickets: [TicketSummary], configuration: BatonConfiguration?) -> [String] {
        func address(_ name: String) -> String { configuration?.member(named: name)?.address ?? name }
        var lines: [String] = []
        var warnings: [String] = []
        for ticket in tickets {
            guard let leader = ticket.leader else {
                lines.append("ticket: \(ticket.name), leader: NONE")
                continue
            }
            if ticket.manual {
                lines.append("ticket: \(ticket.name), leader: \(address(leader)), expires: INF [manual mode]")
                if ticket.manualHolders.count > 1 {
                    warnings.append("WARNING: The ticket \(ticket.name) is granted to multiple sites: \(ticket.manualHolders.map(address).joined(separator: ", ")). Revoke the ticket from the faulty sites.")
                }
                continue
            }
            var line = "ticket: \(ticket.name), leader: \(address(leader))"
            if let remaining = seconds(ticket.leaseRemaining) { line += ", expires: \(SystemTime.format(secondsFromNow: remaining))" }
            if let pending = seconds(ticket.commitPending) { line += " (commit pending until \(SystemTime.format(secondsFromNow: pending)))" }
            lines.append(line)
        }
        if !warnings.isEmpty {
            lines.append("")
            lines += warnings
        }
        return lines
    }

    public static func peers(_ peers: [PeerSummary]) -> [String] {
        peers.map { peer in
            let heard = peer.lastHeard.map { "\(oneDecimal(Double($0.nanoseconds) / 1e9)) s ago" } ?? "never"
            return "\(peer.site ? "site" : "arbitrator"): \(peer.name) \(peer.address), \(peer.connected ? "connected" : "NOT connected"), last heard \(heard)"
        }
    }

    public static func status(_ status: DaemonSummary) -> String {
        "batond running: \(status.site ? "site" : "arbitrator") \(status.name), \(status.tickets) tickets, up \(status.uptime.nanoseconds / 1_000_000_000) s"
    }

    /// `baton status` in text: booth's line for stdout and the words for stderr (as booth),
    /// or, from a daemon too old to describe itself, the words for stdout.
    /// On an arbitrator, `device` is its quorum device's status (baton-qdevice's text, see
    /// QuorumDeviceText), shown with the words.
    public static func statusOutput(_ status: DaemonSummary, device: String? = nil) -> (stdout: String, stderr: String?) {
        let words = self.status(status) + (device.map { "\n" + $0.trimmingTrailingNewlines() } ?? "")
        guard let booth = boothStatusLine(status) else { return (words, nil) }
        return (booth, words)
    }

    /// The line booth's `status` prints on stdout (`booth_lockpid=… booth_state=started …`,
    /// shell-quoted where booth quotes), which scripts and booth's resource agent `eval` or grep;
    /// nil from a daemon too old to say.
    public static func boothStatusLine(_ status: DaemonSummary) -> String? {
        guard let process = status.process else { return nil }
        return "booth_lockpid=\(process.pid) booth_lockfile=\(shellQuoted(process.lockFile)) booth_pid=\(process.pid) booth_state=started "
            + "booth_type=\(status.site ? "site" : "arbitrator") booth_cfg_name=\(shellQuoted(process.configurationName)) "
            + "booth_addr_string=\(shellQuoted(process.address)) booth_port=\(process.port)"
    }

    /// 'text' as a POSIX shell reads it back (a ' inside closes, escapes and reopens).
    static func shellQuoted(_ text: String) -> String {
        var quoted = "'"
        for character in text { quoted += character == "'" ? "'\\''" : String(character) }
        return quoted + "'"
    }

    /// `attr get` (values only) and `attr list` (name and value) lines, or the refusal.
    public static func attributeLines(of body: ReplyBody, valuesOnly: Bool) throws(CLIError) -> [String] {
        switch body {
        case .attributes(let attributes): return attributes.map { valuesOnly ? $0.value : "\($0.name) \($0.value)" }
        case .error(let message): throw CLIError(code: .failed, message: message)
        default: throw CLIError(code: .failed, message: "unexpected answer")
        }
    }

    /// `value` as C's "%.1f" prints it (what String(format:) gave before).
    static func oneDecimal(_ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = withVaList([value]) { vsnprintf(&buffer, buffer.count, "%.1f", $0) }
        guard length > 0 else { return "?" }
        return String(decoding: buffer[..<min(Int(length), buffer.count - 1)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The outcome of grant, revoke, standby, activate, move and attr set/delete in text: the
/// line to print when it succeeded, the failure (exit 1) when not.
public func textOutcome(of body: ReplyBody) throws(CLIError) -> String {
    switch body {
    case .outcome(let outcome):
        if !outcome.succeeded { throw CLIError(code: .failed, message: outcome.text) }
        return outcome.text
    case .error(let message):
        throw CLIError(code: .failed, message: message)
    default:
        throw CLIError(code: .failed, message: "unexpected answer from batond")
    }
}

/// The answers `list`, `peers` and `status` expect, or the failure they report otherwise.
public enum ExpectedAnswer {
    public static func tickets(_ body: ReplyBody) throws(CLIError) -> [TicketSummary] {
        guard case .tickets(let tickets) = body else { throw CLIError(code: .failed, message: "unexpected answer to list") }
        return tickets
    }

    public static func peers(_ body: ReplyBody) throws(CLIError) -> [PeerSummary] {
        guard case .peers(let peers) = body else { throw CLIError(code: .failed, message: "unexpected answer to peers") }
        return peers
    }

    public static func status(_ body: ReplyBody) throws(CLIError) -> DaemonSummary {
        guard case .status(let status) = body else { throw CLIError(code: .failed, message: "unexpected answer") }
        return status
    }
}

/// The quorum device beside an arbitrator's batond (baton-qdevice's listener): its status text
/// for `baton status`, so the admin sees each site's partitions and the votes cast.
public enum QuorumDeviceText {
    /// baton-qdevice's arbitrator socket (`baton-qdevice arbitrator --socket`'s default).
    public static let arbitratorSocket = "/run/baton/qdevice-arbitrator.sock"

    /// Its text, nil when no baton-qdevice listens here, a line saying so when it does not answer.
    public static func arbitrator(socket: String = arbitratorSocket) -> String? {
        guard LocalSocketClient.present(socket) else { return nil }
        do {
            let answer = try LocalSocketClient.request("status", socket: socket, timeoutSeconds: 5, answerBytesMax: 1 << 20)
            if answer.hasPrefix("error:") { return "Quorum device arbitrator: \(answer.trimmingTrailingNewlines())" }
            return answer
        } catch {
            return "Quorum device arbitrator: NOT ANSWERING (\(error.description))"
        }
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while text.last == "\n" { text = text.dropLast() }
        return String(text)
    }
}
