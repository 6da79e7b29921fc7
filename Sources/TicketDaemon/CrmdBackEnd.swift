import AgentToolsShell
import CIB
import CIBResourceEdits
import Foundation

/// baton-crmd: tickets written into the site's live CIB through baton-crmd's admin socket
/// (`tickets apply`), no process per change. The changes of one batch (the daemon's `apply`
/// calls, then `flush`) go in one request, with booth's attributes (granted, owner, expires,
/// term, last-granted, standby); baton-crmd answers once the DC's update is applied on this
/// node, and its DC runs a new transition at once (rsc_ticket's loss-policy). Requests are
/// sent one at a time, in order, off the event loop. baton-crmd's DC also revokes a granted
/// ticket whose `expires` passes without renewal: a batond that dies cannot leave the site's
/// resources running past the lease.
///
/// A revoke completes only once the site confirms that what the ticket guards has stopped:
/// after the DC's update is answered, this node's CIB is read again (`cib query`, every
/// 100 ms) until no resource of an rsc_ticket on the ticket is active (or, for
/// rsc-role Promoted, promoted) on any node (`TicketEdits.activeGuarded`), within
/// `timeoutSeconds`. Only then may the holder release the ticket to the other sites; a revoke
/// that is not confirmed in time fails, and the holder then lets the lease run out instead.
/// Only the view of a partition with quorum confirms (a minority's says nothing of the majority's
/// nodes).
public final class CrmdBackEnd: SiteBackEnd, @unchecked Sendable {
    // @unchecked Sendable: `pending`, `pendingExpires`, `waiting` and `granted` only under `lock`.
    public let socket: String
    public let timeoutSeconds: Double
    private let lock = NSLock()
    /// Attribute changes of the batch being gathered, per ticket (nil: remove).
    private var pending: [String: [String: String?]] = [:]
    /// The batch's completions, with the ticket of each revoke (its stop is confirmed first).
    private var waiting: [(revoked: String?, completion: @Sendable (Result<Void, BackEndError>) -> Void)] = []
    /// Stop confirmations run here, so that a slow stop holds up no other ticket's write.
    private let confirmQueue = DispatchQueue(label: "baton.crmd-back-end.confirm")
    /// Renewals' expires and stop-by since the last flush (the newest per ticket).
    private var pendingExpires: [String: (expires: Int, stopBy: Int64?)] = [:]
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
        var attributes = change.boothAttributes(now: SystemClock.wallClockSeconds())
        switch change.kind {
        case .grant: attributes["stop-by"] = .some(change.stopByMilliseconds.map(String.init))
        case .revoke: attributes["stop-by"] = .some(nil)
        case .standby: break
        }
        lock.lock()
        for (name, value) in attributes { pending[ticket, default: [:]][name] = .some(value) }
        var revoked: String?
        switch change.kind {
        case .grant: granted.insert(ticket)
        case .revoke:
            granted.remove(ticket)
            pendingExpires[ticket] = nil
            revoked = ticket
        case .standby: break
        }
        waiting.append((revoked, completion))
        lock.unlock()
    }

    /// A renewal's new lease end: sent soon (batond calls this after its turn's flush), in one
    /// request for every renewal gathered by then; the site revokes a ticket whose `expires`
    /// passes, so a refresh must not wait for the next grant or revoke. It says `granted=true`
    /// too: a renewal a majority acknowledged proves the lease is held, so a site that revoked
    /// the ticket because this renewal came late (a loaded node, clocks apart) takes it back
    /// rather than stay revoked while the geo cluster says this site holds it.
    public func refreshExpires(ticket: String, expires: Int) {
        refresh(ticket: ticket, expires: expires, stopBy: nil)
    }

    /// A renewal with its `stop-by` (see `TicketChange.stopByMilliseconds`).
    public func refreshLease(ticket: String, expires: Int, stopByMilliseconds: Int64) {
        refresh(ticket: ticket, expires: expires, stopBy: stopByMilliseconds)
    }

    private func refresh(ticket: String, expires: Int, stopBy: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        guard granted.contains(ticket) else { return }
        pendingExpires[ticket] = (expires, stopBy)
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
        for (ticket, lease) in pendingExpires where pending[ticket] == nil && granted.contains(ticket) {
            changes[ticket] = Self.renewal(lease)
            pendingExpires[ticket] = nil
        }
        lock.unlock()
        guard !changes.isEmpty else { return }
        if case .failure(let error) = send(changes) { lastRefreshError = error.description }
    }

    /// A renewal's attributes: expires, stop-by when known, granted (see `refreshExpires`).
    static func renewal(_ lease: (expires: Int, stopBy: Int64?)) -> [String: String?] {
        var attributes: [String: String?] = ["expires": .some(String(lease.expires)), "granted": .some("true")]
        if let stopBy = lease.stopBy { attributes["stop-by"] = .some(String(stopBy)) }
        return attributes
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
        for (ticket, lease) in pendingExpires where changes[ticket]?["expires"] == nil && granted.contains(ticket) {
            for (name, value) in Self.renewal(lease) { changes[ticket, default: [:]][name] = value }
        }
        let completions = waiting
        pending = [:]
        pendingExpires = [:]
        waiting = []
        lock.unlock()
        guard !changes.isEmpty else { return }
        queue.async { [changes] in
            let result = self.send(changes)
            for (revoked, completion) in completions {
                guard case .success = result, let ticket = revoked else {
                    completion(result)
                    continue
                }
                self.confirmStopped(ticket, completion: completion)
            }
        }
    }

    /// One `status` request: whether baton-crmd answered with a status, whether this node's
    /// partition has quorum, and why in words (an unreachable baton-crmd, or an answer that is no
    /// status, counts as without).
    public static func quorum(socket: String) -> (answered: Bool, quorate: Bool, why: String) {
        let answer: String
        do {
            answer = try CrmdSocketClient.request("status", socket: socket, timeoutSeconds: 2)
        } catch {
            return (false, false, "baton-crmd unreachable at \(socket) (\(error.description))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
            let quorate = object["quorate"] as? Bool
        else { return (false, false, "baton-crmd at \(socket) answered no status: \(answer.prefix(120))") }
        return (true, quorate, "baton-crmd at \(socket): partition \(quorate ? "with" : "WITHOUT") quorum")
    }

    /// Revokes awaiting the site's confirmation: their deadline and completions.
    private var awaitingStop: [String: (deadline: ContinuousClock.Instant, completions: [@Sendable (Result<Void, BackEndError>) -> Void])] = [:]
    private var confirmRunning = false

    /// Waits for the site to stop what `ticket` guards: one loop for every ticket waiting (one
    /// CIB read per poll however many wait).
    func confirmStopped(_ ticket: String, completion: @escaping @Sendable (Result<Void, BackEndError>) -> Void) {
        lock.lock()
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
        awaitingStop[ticket, default: (deadline, [])].completions.append(completion)
        let start = !confirmRunning
        confirmRunning = true
        lock.unlock()
        if start { confirmQueue.async { self.confirmLoop() } }
    }

    /// On `confirmQueue`: polls this node's CIB until nothing a waiting ticket guards is active
    /// (success) or its time limit passes (a failure naming what still runs where).
    private func confirmLoop() {
        while true {
            lock.lock()
            let tickets = Array(awaitingStop.keys)
            if tickets.isEmpty {
                confirmRunning = false
                lock.unlock()
                return
            }
            lock.unlock()
            var outcome: [String: String?] = [:]  // nil: stopped; else what still runs
            do {
                // A partition without quorum cannot speak for the rest of the site: with fencing
                // off it takes the other partition's resources for stopped. Only a quorate view counts.
                let (_, quorate, why) = Self.quorum(socket: socket)
                guard quorate else { throw BackEndError(why) }
                let answer = try CrmdSocketClient.request("cib query", socket: socket, timeoutSeconds: timeoutSeconds)
                guard answer.hasPrefix("<") else { throw BackEndError("baton-crmd answered: \(answer.prefix(200))") }
                let cib = try XMLCodec.parse(answer)
                for ticket in tickets {
                    let active = try TicketEdits.activeGuarded(ticket: ticket, in: cib)
                    outcome[ticket] = active.isEmpty ? .some(nil)
                        : "still active: " + active.keys.sorted().map { "\($0) on \(active[$0]!.joined(separator: ","))" }.joined(separator: "; ")
                }
            } catch {
                for ticket in tickets { outcome[ticket] = "\(error)" }
            }
            let now = ContinuousClock.now
            var done: [(Result<Void, BackEndError>, [@Sendable (Result<Void, BackEndError>) -> Void])] = []
            lock.lock()
            for ticket in tickets {
                guard let waiting = awaitingStop[ticket], let result = outcome[ticket] else { continue }
                if let problem = result {
                    guard now >= waiting.deadline else { continue }
                    done.append((.failure(BackEndError(
                        "baton-crmd (\(socket)): the stop of what ticket \(ticket) guards was not confirmed within \(timeoutSeconds) s (\(problem))")),
                        waiting.completions))
                } else {
                    done.append((.success(()), waiting.completions))
                }
                awaitingStop[ticket] = nil
            }
            lock.unlock()
            for (result, completions) in done { for completion in completions { completion(result) } }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// The site's tickets as this node's baton-crmd has them in the live CIB (`cib query`): each
    /// `ticket_state`'s attributes by ticket. What a batond that starts on another node of the
    /// site carries on from (`SiteTakeover`).
    public func ticketsInCIB() -> Result<[String: [String: String]], BackEndError> {
        do {
            let answer = try CrmdSocketClient.request("cib query", socket: socket, timeoutSeconds: timeoutSeconds)
            guard answer.hasPrefix("<") else { throw BackEndError("baton-crmd (\(socket)) answered: \(answer.prefix(200))") }
            let cib = try XMLCodec.parse(answer)
            return .success(TicketEdits.ticketStates(inStatus: cib.children.first { $0.name == "status" }))
        } catch let error as BackEndError {
            return .failure(error)
        } catch {
            return .failure(BackEndError("baton-crmd (\(socket)): \(error)"))
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
