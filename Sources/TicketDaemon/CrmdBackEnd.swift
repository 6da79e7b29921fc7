import AgentToolsShell
import Foundation

/// baton-crmd: tickets written into the site's live CIB through baton-crmd's admin socket
/// (`tickets apply`), no process per change. The changes of one batch (the daemon's `apply`
/// calls, then `flush`) go in one request, with booth's attributes (granted, owner, expires,
/// term, last-granted, standby); baton-crmd answers once the DC's update is applied on this
/// node, and its DC runs a new transition at once (rsc_ticket's loss-policy). Requests are
/// sent one at a time, in order, off the event loop. baton-crmd's DC also revokes a granted
/// ticket whose `expires` passes without renewal: a batond that dies cannot leave the site's
/// resources running past the lease.
public final class CrmdBackEnd: SiteBackEnd, @unchecked Sendable {
    // @unchecked Sendable: `pending`, `pendingExpires`, `waiting` and `granted` only under `lock`.
    public let socket: String
    public let timeoutSeconds: Double
    private let lock = NSLock()
    /// Attribute changes of the batch being gathered, per ticket (nil: remove).
    private var pending: [String: [String: String?]] = [:]
    private var waiting: [@Sendable (Result<Void, BackEndError>) -> Void] = []
    /// Renewals' expires since the last flush (the newest per ticket).
    private var pendingExpires: [String: Int] = [:]
    /// Tickets this back end last wrote granted (a renewal refreshes only those).
    private var granted: Set<String> = []
    private let queue = DispatchQueue(label: "baton.crmd-back-end")
    private var expiresSendScheduled = false
    /// Why the last renewal's refresh failed (best effort: the next renewal sends again).
    public private(set) var lastRefreshError: String? {
        get { lock.lock(); defer { lock.unlock() }; return refreshError }
        set { lock.lock(); refreshError = newValue; lock.unlock() }
    }
    private var refreshError: String?

    public static let defaultSocket = "/run/baton/crmd.sock"

    public init(socket: String = CrmdBackEnd.defaultSocket, timeoutSeconds: Double = 30) {
        precondition(timeoutSeconds > 0, "CrmdBackEnd: a positive time limit")
        self.socket = socket
        self.timeoutSeconds = timeoutSeconds
    }

    public var description: String { "baton-crmd via \(socket)" }

    public func apply(ticket: String, change: TicketChange, completion: @escaping @Sendable (Result<Void, BackEndError>) -> Void) {
        let attributes = change.boothAttributes(now: SystemClock.wallClockSeconds())
        lock.lock()
        for (name, value) in attributes { pending[ticket, default: [:]][name] = .some(value) }
        switch change.kind {
        case .grant: granted.insert(ticket)
        case .revoke:
            granted.remove(ticket)
            pendingExpires[ticket] = nil
        case .standby: break
        }
        waiting.append(completion)
        lock.unlock()
    }

    /// A renewal's new lease end: sent soon (batond calls this after its turn's flush), in one
    /// request for every renewal gathered by then; the site revokes a ticket whose `expires`
    /// passes, so a refresh must not wait for the next grant or revoke. It says `granted=true`
    /// too: a renewal a majority acknowledged proves the lease is held, so a site that revoked
    /// the ticket because this renewal came late (a loaded node, clocks apart) takes it back
    /// rather than stay revoked while the geo cluster says this site holds it.
    public func refreshExpires(ticket: String, expires: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard granted.contains(ticket) else { return }
        pendingExpires[ticket] = expires
        guard !expiresSendScheduled else { return }
        expiresSendScheduled = true
        queue.async { self.sendExpires() }
    }

    /// On the queue: the renewals gathered so far (a grant or revoke of the same ticket
    /// waiting for `flush` keeps its own expires).
    private func sendExpires() {
        lock.lock()
        expiresSendScheduled = false
        var changes: [String: [String: String?]] = [:]
        for (ticket, expires) in pendingExpires where pending[ticket] == nil && granted.contains(ticket) {
            changes[ticket] = ["expires": .some(String(expires)), "granted": .some("true")]
            pendingExpires[ticket] = nil
        }
        lock.unlock()
        guard !changes.isEmpty else { return }
        if case .failure(let error) = send(changes) { lastRefreshError = error.description }
    }

    private func send(_ changes: [String: [String: String?]]) -> Result<Void, BackEndError> {
        do {
            let answer = try CrmdSocketClient.request("tickets apply", body: Array(Self.body(changes).utf8), socket: socket, timeoutSeconds: timeoutSeconds)
            return answer.hasPrefix("ok") ? .success(()) : .failure(BackEndError("baton-crmd (\(socket)) answered: \(answer.prefix(200))"))
        } catch {
            return .failure(BackEndError("baton-crmd (\(socket)): \(error.description)"))
        }
    }

    /// The batch's changes (and the renewals' expires) in one request, sent after the previous
    /// one was answered; every change of the batch completes with its answer.
    public func flush() {
        lock.lock()
        var changes = pending
        for (ticket, expires) in pendingExpires where changes[ticket]?["expires"] == nil && granted.contains(ticket) {
            changes[ticket, default: [:]]["expires"] = .some(String(expires))
            changes[ticket, default: [:]]["granted"] = .some("true")
        }
        let completions = waiting
        pending = [:]
        pendingExpires = [:]
        waiting = []
        lock.unlock()
        guard !changes.isEmpty else { return }
        queue.async { [changes] in
            let result = self.send(changes)
            for completion in completions { completion(result) }
        }
    }

    /// `tickets apply`'s body: `TICKET NAME VALUE` or `TICKET NAME` (remove), one a line.
    static func body(_ changes: [String: [String: String?]]) -> String {
        var text = ""
        for ticket in changes.keys.sorted() {
            for (name, value) in (changes[ticket] ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let value { text += "\(ticket) \(name) \(value)\n" } else { text += "\(ticket) \(name)\n" }
            }
        }
        return text
    }
}
