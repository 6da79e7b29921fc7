import ChildProcess
import Foundation
import TicketElection

/// Where a site writes its tickets for the resource manager to act on. The daemon calls
/// `apply` on its event loop; implementations do slow work elsewhere and call `completion`
/// (on any thread) when the write is done, or failed.
public protocol SiteBackEnd: Sendable {
    var description: String { get }
    func apply(ticket: String, change: TicketChange, completion: @escaping @Sendable (Result<Void, BackEndError>) -> Void)
    /// The daemon calls this after the `apply` calls of one batch: a back end that gathers
    /// changes writes them here, once for the whole batch.
    func flush()
    /// A renewal moved the lease end of a ticket granted here: rewrite booth's `expires`
    /// (wall-clock seconds), so that it never lies in the past while the ticket is validly
    /// held. Best effort, coalesced per ticket; never reorders a grant or a revoke (the daemon
    /// asks only while no grant or revoke of the ticket is being written).
    func refreshExpires(ticket: String, expires: Int)
    /// The same with the instant (wall-clock milliseconds) by which the site must have stopped
    /// what the ticket guards unless renewed again (the lease end less `stop-before`), for a
    /// back end whose site enforces it (crmd); the others write `expires` alone.
    func refreshLease(ticket: String, expires: Int, stopByMilliseconds: Int64)
}

extension SiteBackEnd {
    public func flush() {}
    public func refreshExpires(ticket: String, expires: Int) {}
    public func refreshLease(ticket: String, expires: Int, stopByMilliseconds: Int64) { refreshExpires(ticket: ticket, expires: expires) }
}

public struct TicketChange: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case grant
        case revoke(RevokeReason)
        case standby(Bool)
    }

    public let kind: Kind
    public let owner: String
    public let term: UInt64
    /// Wall-clock seconds at which the lease ends (booth's `expires`), when it has one.
    public let expires: Int?
    /// A grant's lease end less `stop-before`, in wall-clock milliseconds: the crmd back end
    /// writes it as `stop-by`, the instant baton-crmd's DC revokes the ticket by itself unless
    /// renewed (see CRMCore's Tickets.swift).
    public let stopByMilliseconds: Int64?

    public init(kind: Kind, owner: String, term: UInt64, expires: Int?, stopByMilliseconds: Int64? = nil) {
        self.kind = kind
        self.owner = owner
        self.term = term
        self.expires = expires
        self.stopByMilliseconds = stopByMilliseconds
    }
}

extension TicketChange {
    /// booth's ticket_state attributes a change sets (nil: removes), as every site back end
    /// writes them; `now`: wall-clock seconds, for last-granted.
    public func boothAttributes(now: Int) -> [String: String?] {
        switch kind {
        case .grant:
            return ["granted": "true", "owner": owner, "term": String(term), "last-granted": String(now),
                    "expires": expires.map(String.init) ?? "INF", "revoke-reason": nil]
        case .revoke(let reason):
            return ["granted": "false", "owner": nil, "expires": nil, "revoke-reason": reason.rawValue]
        case .standby(let on):
            return ["standby": on ? "true" : "false"]
        }
    }
}

public struct BackEndError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Arbitrators hold no CIB.
public struct NoBackEnd: SiteBackEnd {
    public init() {}
    public var description: String { "none (arbitrator)" }
    public func apply(ticket: String, change: TicketChange, completion: @escaping @Sendable (Result<Void, BackEndError>) -> Void) {
        completion(.success(()))
    }
}

/// A file holding the CIB's `<tickets>` status section, for sites without a resource manager
/// yet: one `ticket_state` per ticket with booth's attributes (granted, owner, expires, term,
/// last-granted, standby). Rewritten whole and atomically once per batch of changes (`flush`).
public final class FileCIBBackEnd: SiteBackEnd, @unchecked Sendable {
    // @unchecked Sendable: `states` is only touched under `lock`.
    public let path: String
    private let lock = NSLock()
    private var states: [String: [String: String]] = [:]
    private var waiting: [@Sendable (Result<Void, BackEndError>) -> Void] = []
    /// Each ticket's rendered line, kept up to date by `apply`, and the tickets in file order:
    /// a flush joins them instead of rendering (and escaping) every ticket again.
    private var lines: [String: String] = [:]
    private var order: [String] = []
    private var orderStale = false
    /// A renewal changed some `expires` since the last write.
    private var expiresChanged = false

    public init(path: String) {
        self.path = path
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            states = FileCIBBackEnd.parse(text)
        }
        for (name, state) in states { lines[name] = FileCIBBackEnd.renderLine(state) }
        order = lines.keys.sorted()
    }

    public var description: String { "file CIB \(path)" }

    public func apply(ticket: String, change: TicketChange, completion: @escaping @Sendable (Result<Void, BackEndError>) -> Void) {
        lock.lock()
        var state = states[ticket] ?? ["id": ticket, "granted": "false"]
        for (name, value) in change.boothAttributes(now: SystemClock.wallClockSeconds()) { state[name] = value }
        if states[ticket] == nil { orderStale = true }
        states[ticket] = state
        lines[ticket] = FileCIBBackEnd.renderLine(state)
        waiting.append(completion)
        lock.unlock()
    }

    /// Changes `expires` of a granted ticket; written with the next flush (one rewrite of the
    /// file for every ticket renewed in a batch).
    public func refreshExpires(ticket: String, expires: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard var state = states[ticket], state["granted"] == "true", state["expires"] != String(expires) else { return }
        state["expires"] = String(expires)
        states[ticket] = state
        lines[ticket] = FileCIBBackEnd.renderLine(state)
        expiresChanged = true
    }

    /// Writes every change applied since the last flush in one rewrite of the file (a batch of
    /// thousands of grants costs one write, not one per ticket), then completes them all.
    public func flush() {
        lock.lock()
        let completions = waiting
        waiting = []
        let rewrite = !completions.isEmpty || expiresChanged
        expiresChanged = false
        if orderStale {
            order = lines.keys.sorted()
            orderStale = false
        }
        var text = ""
        if rewrite {
            text.reserveCapacity(order.count * 160 + 32)
            text += "<tickets>\n"
            for name in order {
                text += lines[name]!
                text += "\n"
            }
            text += "</tickets>\n"
        }
        lock.unlock()
        guard rewrite else { return }
        let result: Result<Void, BackEndError>
        do {
            let temporary = path + ".tmp"
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            guard rename(temporary, path) == 0 else { throw BackEndError("rename \(temporary): \(String(cString: strerror(errno)))") }
            result = .success(())
        } catch let error as BackEndError {
            result = .failure(error)
        } catch {
            result = .failure(BackEndError("\(path): \(error)"))
        }
        for completion in completions { completion(result) }
    }

    /// The granted flag of `ticket` as written (for tests and `baton list` cross-checks).
    public func granted(_ ticket: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return states[ticket]?["granted"] == "true"
    }

    static func render(_ states: [String: [String: String]]) -> String {
        var lines = ["<tickets>"]
        for name in states.keys.sorted() { lines.append(renderLine(states[name]!)) }
        lines.append("</tickets>")
        return lines.joined(separator: "\n") + "\n"
    }

    static func renderLine(_ state: [String: String]) -> String {
        let attributes = state.sorted { $0.key == "id" ? true : ($1.key == "id" ? false : $0.key < $1.key) }
            .map { "\($0.key)=\"\(escape($0.value))\"" }
        return "  <ticket_state \(attributes.joined(separator: " "))/>"
    }

    static func parse(_ text: String) -> [String: [String: String]] {
        var states: [String: [String: String]] = [:]
        for line in text.split(separator: "\n") where line.contains("<ticket_state ") {
            var attributes: [String: String] = [:]
            var rest = Substring(line)
            while let equals = rest.range(of: "=\"") {
                let key = rest[..<equals.lowerBound].split(separator: " ").last.map(String.init) ?? ""
                let afterQuote = rest[equals.upperBound...]
                guard let close = afterQuote.firstIndex(of: "\"") else { break }
                attributes[key] = unescape(String(afterQuote[..<close]))
                rest = afterQuote[afterQuote.index(after: close)...]
            }
            if let id = attributes["id"] { states[id] = attributes }
        }
        return states
    }

    static func escape(_ value: String) -> String {
        // Names, terms and times never need escaping: skip Foundation's search and copy.
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }) else {
            return value
        }
        return value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func unescape(_ value: String) -> String {
        guard value.utf8.contains(UInt8(ascii: "&")) else { return value }
        return value.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Stock Pacemaker: `crm_ticket`, as booth drives it (granted with --force, booth's attributes
/// owner, expires, term), one process at a time per ticket, never on the event loop.
///
/// The processes run through the project's child-process primitive: one runner thread for all of
/// them (not a thread per ticket change: 10,000 grants queue 10,000 requests, not 10,000
/// threads), at most `processesMax` at once, each killed with its process group at `timeout`.
///
/// `expires` refreshes at renewals cost a process per ticket (crm_ticket sets one ticket's
/// attribute per call): they are coalesced per ticket (the newest value wins) and at most
/// `expiresWorkersMax` run at once, so a renewal of thousands of tickets queues one entry per
/// ticket instead of starting thousands of processes at once.
public final class CrmTicketBackEnd: SiteBackEnd, @unchecked Sendable {
    // @unchecked Sendable: `pendingExpires` and `expiresWorkers` are only touched under `lock`;
    // the rest is immutable (the runner is Sendable).
    public let program: String
    public let timeout: Duration
    public static let expiresWorkersMax = 2
    /// crm_ticket processes at once (grants, revokes and refreshes together): each is a CIB
    /// write, which the CIB manager serialises anyway.
    public static let processesMax = 4
    private let runner: ChildProcessRunner
    private let lock = NSLock()
    private var pendingExpires: [String: Int] = [:]
    private var expiresWorkers = 0

    public init(program: String = "/usr/sbin/crm_ticket", timeout: Duration = .seconds(30)) throws {
        self.program = program
        self.timeout = timeout
        self.runner = try ChildProcessRunner(concurrencyMax: Self.processesMax)
    }

    deinit { runner.shutdown() }

    public var description: String { "Pacemaker via \(program)" }

    private func spec(_ arguments: [String]) -> ChildProcessSpec {
        ChildProcessSpec(
            executable: program, arguments: arguments, environment: ProcessInfo.processInfo.environment,
            outputLimit: 4096, timeout: timeout, killGrace: .seconds(2))
    }

    public func refreshExpires(ticket: String, expires: Int) {
        lock.lock()
        pendingExpires[ticket] = expires
        let start = expiresWorkers < CrmTicketBackEnd.expiresWorkersMax
        if start { expiresWorkers += 1 }
        lock.unlock()
        if start { refreshNext() }
    }

    /// One refresh worker's next step: the next pending ticket, or the worker's end.
    private func refreshNext() {
        lock.lock()
        guard let (name, value) = pendingExpires.first else {
            expiresWorkers -= 1
            lock.unlock()
            return
        }
        pendingExpires[name] = nil
        lock.unlock()
        // A failure leaves the older value; the next renewal writes again.
        runner.run(spec(["--ticket", name, "--set-attr", "expires", "--attr-value", String(value)])) { _ in self.refreshNext() }
    }

    /// Whether the CIB has the ticket granted (`crm_ticket -t T -G granted --quiet`: "true";
    /// crm_ticket's 105, no such ticket or attribute, is not granted).
    public func grantedInCIB(_ ticket: String) async throws(BackEndError) -> Bool {
        let outcome = await runner.run(spec(["--ticket", ticket, "--get-attr", "granted", "--quiet"]))
        switch outcome.exit {
        case .exited(0): return outcome.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines) == "true"
        case .exited(105): return false
        default: throw BackEndError("\(program) --ticket \(ticket) --get-attr granted \(outcome.failureDetail)")
        }
    }

    public func apply(ticket: String, change: TicketChange, completion: @escaping @Sendable (Result<Void, BackEndError>) -> Void) {
        var invocations: [[String]] = []
        switch change.kind {
        case .grant:
            invocations.append(["--ticket", ticket, "--grant", "--force"])
            invocations.append(["--ticket", ticket, "--set-attr", "owner", "--attr-value", change.owner])
            invocations.append(["--ticket", ticket, "--set-attr", "term", "--attr-value", String(change.term)])
            invocations.append(["--ticket", ticket, "--set-attr", "expires", "--attr-value", change.expires.map(String.init) ?? "0"])
        case .revoke:
            lock.lock()
            pendingExpires[ticket] = nil
            lock.unlock()
            invocations.append(["--ticket", ticket, "--revoke", "--force"])
        case .standby(let on):
            invocations.append(["--ticket", ticket, on ? "--standby" : "--activate"])
        }
        runner.runInTurn(invocations.map(spec)) { failed in
            guard let (spec, outcome) = failed else { return completion(.success(())) }
            completion(.failure(BackEndError("\(spec.executable) \(spec.arguments.joined(separator: " ")) \(outcome.failureDetail)")))
        }
    }
}
