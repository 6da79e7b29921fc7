#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import ProcessStats
import TicketWire

/// Who asked batond for what, and what came of it: every command that changes a ticket (grant,
/// revoke, standby, activate, move, attributes) is logged at notice when it arrives and when it
/// is answered, with the asker — the local socket's peer (uid, pid and command name, from
/// SO_PEERCRED) or the member whose certificate sent it over TLS. Queries (list, status, peers,
/// attribute reads), which monitoring runs every few seconds, are logged at debug.
struct AdminAudit {
    /// Per client connection: who it is.
    private var askers: [UInt64: String] = [:]
    /// Per client connection and request id: the command, until its answer.
    private var waiting: [UInt64: [UInt64: String]] = [:]

    mutating func connected(_ client: UInt64, asker: String) { askers[client] = asker }

    mutating func disconnected(_ client: UInt64) {
        askers[client] = nil
        waiting[client] = nil
    }

    func asker(_ client: UInt64) -> String { askers[client] ?? "unknown client" }

    /// The command in an admin's words ("grant ticketA -w"); nil for a query.
    static func describeChange(_ command: ClientCommand) -> String? {
        guard case .ticket(let name, let change) = command else { return nil }
        switch change {
        case .grant(let force, let wait, let waitForCommit):
            return "grant \(name)" + (force ? " -F" : "") + (wait ? " -w" : "") + (waitForCommit ? " -C" : "")
        case .revoke(let wait): return "revoke \(name)" + (wait ? " -w" : "")
        case .standby: return "standby \(name)"
        case .activate: return "activate \(name)"
        case .move(let target, let wait): return "move \(name) --to \(target)" + (wait ? " -w" : "")
        case .setAttribute(let attribute, let value): return "attr set \(name) \(attribute) \(value)"
        case .deleteAttribute(let attribute): return "attr delete \(name) \(attribute)"
        }
    }

    /// A request arrives: a change is remembered until answered; returns what to log and at
    /// which level, nil for a query when `queriesLogged` is false (the logger's level is above
    /// debug: monitoring's queries every few seconds then cost no string building).
    mutating func request(_ request: ClientRequest, client: UInt64, queriesLogged: Bool) -> (Logger.Level, Logger.Message, Logger.Metadata)? {
        guard let change = AdminAudit.describeChange(request.command) else {
            guard queriesLogged else { return nil }
            return (.debug, "admin query", ["admin.asker": .string(asker(client)), "admin.command": .string(String("\(request.command)".prefix(160)))])
        }
        let who = asker(client)
        if waiting[client, default: [:]].count < 64 { waiting[client, default: [:]][request.id] = change }
        return (.notice, "admin command", ["admin.asker": .string(who), "admin.command": .string(change)])
    }

    /// An answer goes out: the outcome of a change that was remembered, else nothing to log.
    mutating func answer(_ reply: ClientReply, client: UInt64) -> (Logger.Level, Logger.Message, Logger.Metadata)? {
        guard let change = waiting[client]?.removeValue(forKey: reply.id) else { return nil }
        let (succeeded, text): (Bool, String)
        switch reply.body {
        case .outcome(let outcome): (succeeded, text) = (outcome.succeeded, outcome.text)
        case .error(let message): (succeeded, text) = (false, message)
        default: (succeeded, text) = (true, "answered")
        }
        return (succeeded ? .notice : .warning, succeeded ? "admin command done" : "admin command failed", [
            "admin.asker": .string(asker(client)), "admin.command": .string(change), "admin.outcome": .string(String(text.prefix(300))),
        ])
    }

    /// The local socket's peer as `uid 0 pid 4242 (baton)`; nil when the kernel does not say.
    static func localPeer(of channel: any Channel) -> EventLoopFuture<String?> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return credentials.map { peer -> String? in
            let command = ProcessMetrics.readSmallFile("/proc/\(peer.pid)/comm").map { $0.filter { $0 != "\n" } } ?? "?"
            return "uid \(peer.uid) pid \(peer.pid) (\(command))"
        }.recover { _ -> String? in nil }
    }
}

/// struct ucred of <sys/socket.h> (pid, uid, gid; 12 bytes), which Swift's Glibc module leaves
/// out without _GNU_SOURCE: the same layout, filled by getsockopt(SO_PEERCRED).
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
