import TicketElection
import TicketWire

/// The pure heart of batond: every ticket's election instance, and the folding of their
/// directives into one batch per input.
///
/// One input (a frame, a timer, a command, a side-work result) may touch many tickets; the
/// batch it returns holds at most one state write (the whole state, fsynced once, before any
/// frame of the batch leaves), at most one frame per peer (carrying every ticket's messages
/// for that peer), and the CIB writes, handler runs and client replies. The shell carries the
/// batch out in that order. No clock, no I/O here.
public struct DaemonCore: Sendable {
    public let membership: Membership
    /// The tickets in configuration order; a ticket's position is its index everywhere below
    /// (instances, wake-ups, the heap). Instances live in an array and are changed in place:
    /// at 10,000 tickets a dictionary's copy-out, copy-back of each instance and the hashing
    /// of its name were a third of a loaded daemon's time.
    public private(set) var ticketNames: [String]
    private var indexOf: [String: Int]
    private var instances: [TicketInstance]
    /// Each instance's wake-up time, and the same times in a min-heap so that finding the next
    /// one and the due ones costs O(log n), not a scan of every ticket. Heap entries that no
    /// longer match `wakeUps` are stale and skipped.
    private var wakeUps: [LocalInstant?]
    private var wakeUpCount = 0
    private var wakeUpQueue = WakeUpQueue()
    private var requests: [RequestID: (client: ClientToken, requestID: UInt64, ticket: String, command: TicketCommand)] = [:]
    private var nextRequest: UInt64 = 0
    private var startedAt: LocalInstant?
    /// Tickets removed by a reload, with their last state: put back, they resume from it (a
    /// promise given before the removal still binds).
    private var retired: [String: (state: PersistentTicketState, at: LocalInstant)] = [:]
    public static let requestsInFlightMax = 4096

    /// The shell's name for a client connection.
    public struct ClientToken: Hashable, Sendable {
        public let value: UInt64
        public init(_ value: UInt64) { self.value = value }
    }

    public enum CIBAction: Sendable, Equatable {
        case grant(term: UInt64, leaseRemaining: Duration?)
        case revoke(RevokeReason)
        case standby(Bool)
    }

    /// One ticket's state to write, as its instance gave it at `at`.
    public struct StateWrite: Sendable {
        public let ticket: Int
        public var state: PersistentTicketState
        public var at: LocalInstant
    }

    /// What the shell must do, in this order: persist, send, then the rest.
    public struct Batch: Sendable {
        /// The states to write (one per ticket, the newest), fsynced before any frame leaves.
        public var writes: [StateWrite] = []
        public var persist: Bool { !writes.isEmpty }
        public var frames: [PeerFrame] = []
        public var cib: [(ticket: String, action: CIBAction)] = []
        public var handlers: [(ticket: String, purpose: HandlerPurpose)] = []
        public var replies: [(client: ClientToken, reply: ClientReply)] = []
        public var events: [(ticket: String, event: ElectionEvent)] = []
        /// What the shell logs as a warning (for example attributes dropped from a journal).
        public var warnings: [String] = []

        public init() {}

        public var isEmpty: Bool {
            writes.isEmpty && frames.isEmpty && cib.isEmpty && handlers.isEmpty && replies.isEmpty && events.isEmpty && warnings.isEmpty
        }
    }

    public init(membership: Membership, policies: [TicketPolicy]) {
        precondition(!policies.isEmpty, "batond needs at least one ticket")
        precondition(Set(policies.map(\.name)).count == policies.count, "ticket names must be unique")
        self.membership = membership
        self.ticketNames = policies.map(\.name)
        self.indexOf = Dictionary(uniqueKeysWithValues: policies.enumerated().map { ($0.element.name, $0.offset) })
        self.instances = policies.map { TicketInstance(policy: $0, membership: membership) }
        self.wakeUps = Array(repeating: nil, count: policies.count)
    }

    /// The election instance of `name`, if configured.
    public func instance(named name: String) -> TicketInstance? {
        indexOf[name].map { instances[$0] }
    }

    public func index(of name: String) -> Int? { indexOf[name] }

    // MARK: - Inputs

    /// `modes` may name tickets no longer configured (state written before a reload removed
    /// them): their promises are kept for a reload that brings them back.
    public mutating func start(_ modes: [String: TicketInstance.StartMode], now: LocalInstant) -> Batch {
        startedAt = now
        var modes = modes
        var warnings: [String] = []
        // A journal written before attributes were bounded may hold more than a reply frame
        // carries: keep what the limits allow (see `AttributeLimits.bounded`), say what went.
        var budget = AttributeLimits.totalMax
        for name in modes.keys.sorted() {
            guard case .restored(var state, let elapsed) = modes[name]! else { continue }
            let (kept, dropped) = AttributeLimits.bounded(state.attributes, totalBudget: budget)
            budget -= kept.count
            guard dropped > 0 else { continue }
            warnings.append(
                "ticket \(name): \(dropped) of \(state.attributes.count) site attributes in the state journal are over the limits "
                    + "(\(AttributeLimits.perTicketMax) per ticket, \(AttributeLimits.totalMax) in all, names \(AttributeLimits.nameBytesMax) "
                    + "and values \(AttributeLimits.valueBytesMax) bytes) and were dropped; \(kept.count) kept")
            state.attributes = kept
            modes[name] = .restored(state, elapsed: elapsed)
        }
        for (name, mode) in modes where indexOf[name] == nil {
            guard case .restored(let state, let elapsed) = mode else { continue }
            switch elapsed {
            case .known(let span): retired[name] = (state.aged(by: span), now)
            case .unknown:
                // After a reboot a lead is given up; promises count in full (as `start` does).
                var kept = state
                kept.leading = nil
                retired[name] = (kept, now)
            }
        }
        var batch = fold(now: now) { core, collect in
            for index in core.instances.indices {
                collect(index, core.instances[index].start(modes[core.ticketNames[index]] ?? .fresh, now: now))
            }
        }
        batch.warnings = warnings
        return batch
    }

    public mutating func receive(_ frame: PeerFrame, now: LocalInstant) -> Batch {
        precondition(frame.to == membership.selfID, "frame for \(frame.to) handed to \(membership.selfID)")
        return fold(now: now) { core, collect in
            for message in frame.messages {
                guard let index = core.indexOf[message.ticket] else { continue }
                collect(index, core.instances[index].onMessage(message, now: now))
            }
        }
    }

    /// Runs every instance whose wake-up time has come.
    public mutating func timer(now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            var due: [Int] = []
            while let top = core.wakeUpQueue.first, top.at <= now {
                core.wakeUpQueue.removeFirst()
                if core.wakeUps[top.ticket] == top.at {
                    core.wakeUps[top.ticket] = nil
                    core.wakeUpCount -= 1
                    due.append(top.ticket)
                }
            }
            // Configuration order, as the names were before: the same inputs, the same batch.
            due.sort()
            for index in due { collect(index, core.instances[index].onTimer(now: now)) }
        }
    }

    /// The earliest wake-up of any ticket (drops stale heap entries on the way).
    public var nextWakeUp: LocalInstant? {
        mutating get {
            while let top = wakeUpQueue.first {
                if wakeUps[top.ticket] == top.at { return top.at }
                wakeUpQueue.removeFirst()
            }
            return nil
        }
    }

    private mutating func setWakeUp(_ ticket: Int, at: LocalInstant) {
        guard wakeUps[ticket] != at else { return }
        if wakeUps[ticket] == nil { wakeUpCount += 1 }
        wakeUps[ticket] = at
        wakeUpQueue.insert((at, ticket))
        // Stale entries pile up when wake-ups move; rebuild before they outgrow the live ones.
        if wakeUpQueue.count > 2 * wakeUpCount + 1024 { rebuildWakeUpQueue() }
        precondition(wakeUpQueue.count <= 3 * wakeUpCount + 1024, "wake-up heap of \(wakeUpQueue.count) for \(wakeUpCount) tickets")
    }

    private mutating func rebuildWakeUpQueue() {
        wakeUpQueue = WakeUpQueue(wakeUps.enumerated().compactMap { index, at in at.map { ($0, index) } })
        wakeUpCount = wakeUps.count { $0 != nil }
    }

    public mutating func command(_ request: ClientRequest, from client: ClientToken, now: LocalInstant) -> Batch {
        var batch = Batch()
        func answer(_ body: ReplyBody) -> Batch {
            var reply = Batch()
            reply.replies.append((client, ClientReply(id: request.id, body: body)))
            return reply
        }
        switch request.command {
        case .list:
            return answer(.tickets(ticketNames.map { summary(of: $0, now: now) }))
        case .status:
            return answer(.status(DaemonSummary(
                name: membership.selfMember.name, site: membership.isSite, tickets: ticketNames.count,
                uptime: startedAt.map { now.since($0) } ?? .zero)))
        case .peers:
            return answer(.error("peers are known to the shell, not the core"))
        case .getAttribute(let ticket, let name):
            guard let instance = instance(named: ticket) else { return answer(.error(noSuchTicket(ticket))) }
            guard let value = instance.attributes[name] else { return answer(.error("attribute \(name) is not set for ticket \(ticket)")) }
            return answer(.attributes([Attribute(name: name, value: value)]))
        case .listAttributes(let ticket):
            guard let instance = instance(named: ticket) else { return answer(.error(noSuchTicket(ticket))) }
            return answer(.attributes(instance.attributes.sorted { $0.key < $1.key }.map { Attribute(name: $0.key, value: $0.value) }))
        case .ticket(let ticket, let ticketCommand):
            guard let index = indexOf[ticket] else { return answer(.error(noSuchTicket(ticket))) }
            guard requests.count < DaemonCore.requestsInFlightMax else { return answer(.error("too many requests in flight")) }
            let adminCommand: AdminCommand
            switch ticketCommand {
            case .grant(let force, let wait, let commit): adminCommand = .grant(force: force, wait: wait, waitForCommit: commit)
            case .revoke(let wait): adminCommand = .revoke(wait: wait)
            case .standby: adminCommand = .standby
            case .activate: adminCommand = .activate
            case .move(let target, let wait):
                guard let member = membership.members.first(where: { $0.name == target }) else {
                    return answer(.error("no member named \"\(target)\" in the configuration"))
                }
                adminCommand = .move(to: member.id, wait: wait)
            case .setAttribute(let name, let value):
                let held = instances[index].attributes
                if let refusal = AttributeLimits.refusal(
                    name: name, value: value, replacing: held[name] != nil, ticketCount: held.count,
                    totalCount: instances.reduce(0) { $0 + $1.attributes.count })
                {
                    return answer(.error("attribute \(name.prefix(64)) not set for ticket \(ticket): \(refusal)"))
                }
                adminCommand = .setAttribute(name: name, value: value)
            case .deleteAttribute(let name): adminCommand = .deleteAttribute(name: name)
            }
            nextRequest += 1
            let id = RequestID(nextRequest)
            requests[id] = (client, request.id, ticket, ticketCommand)
            batch = fold(now: now) { core, collect in
                collect(index, core.instances[index].onCommand(adminCommand, request: id, now: now))
            }
            return batch
        }
    }

    /// Whether a request of `client` still waits for its answer (its connection is not idle).
    public func isWaiting(client: ClientToken) -> Bool {
        requests.values.contains { $0.client == client }
    }

    /// The client went away: its pending answers are dropped (the commands still happen).
    public mutating func forget(client: ClientToken) {
        requests = requests.filter { $0.value.client != client }
    }

    public mutating func handlerFinished(ticket: String, purpose: HandlerPurpose, succeeded: Bool, now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            guard let index = core.indexOf[ticket] else { return }
            collect(index, core.instances[index].onHandlerResult(purpose, succeeded: succeeded, now: now))
        }
    }

    /// `confirmed`: the site's back end carried the revoke out (a failed write releases nothing).
    public mutating func localRevokeCompleted(ticket: String, confirmed: Bool = true, now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            guard let index = core.indexOf[ticket] else { return }
            collect(index, core.instances[index].onLocalRevokeCompleted(now: now, confirmed: confirmed))
        }
    }

    /// batond is stopping (SIGTERM): every ticket led here is revoked here and handed over to
    /// the first of `connected` sites by that ticket's weights and member order (none
    /// connected: released without a target, and the others campaign in slot order). Then the
    /// site counts as without quorum, so that nothing campaigns again before batond exits.
    public mutating func stop(connected: Set<MemberID>, now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            for index in core.instances.indices {
                let policy = core.instances[index].policy
                let target = core.membership.sites
                    .filter { $0 != core.membership.selfID && connected.contains($0) }
                    .min { (policy.weight(of: $0), $0.index) < (policy.weight(of: $1), $1.index) }
                collect(index, core.instances[index].onStop(handoverTo: target, now: now))
            }
            for index in core.instances.indices { collect(index, core.instances[index].onSiteQuorum(false, now: now)) }
        }
    }

    /// No ticket is led or being released here (after `stop`: every release has left).
    public var leadsNothing: Bool {
        instances.allSatisfy { instance in
            switch instance.role {
            case .leader, .releasing: false
            default: true
            }
        }
    }

    /// Tickets granted in this site's CIB as the instances last said (manual ones included).
    public var grantedLocally: [String] {
        instances.indices.filter { instances[$0].grantedLocally }.map { ticketNames[$0] }
    }

    public mutating func siteQuorum(_ quorate: Bool, now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            for index in core.instances.indices { collect(index, core.instances[index].onSiteQuorum(quorate, now: now)) }
        }
    }

    // MARK: - Reload

    /// What a reload changed, ticket by ticket.
    public struct Reconfiguration: Sendable, Equatable {
        public var added: [String] = []
        public var removed: [String] = []
        /// Same name, new settings: the instance restarts from its state at once, as batond's
        /// restart would (a lease held here is kept and renewed under the new settings).
        public var changed: [String] = []
        public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

        public init(added: [String] = [], removed: [String] = [], changed: [String] = []) {
            self.added = added
            self.removed = removed
            self.changed = changed
        }
    }

    /// Applies a reloaded ticket list (same members). Added tickets start as at a first start,
    /// or from their last state if a reload removed them earlier; removed tickets are revoked
    /// here if this site holds them and forgotten; changed ones restart from their state.
    /// Requests waiting on a removed or changed ticket are answered with an error.
    public mutating func reconfigure(_ policies: [TicketPolicy], now: LocalInstant) -> (Batch, Reconfiguration) {
        precondition(!policies.isEmpty, "batond needs at least one ticket")
        precondition(Set(policies.map(\.name)).count == policies.count, "ticket names must be unique")
        var report = Reconfiguration()
        let newNames = Set(policies.map(\.name))
        var batch = Batch()
        // Removed tickets: revoke what this site holds, keep the state for a later return.
        for (index, name) in ticketNames.enumerated() where !newNames.contains(name) {
            report.removed.append(name)
            let instance = instances[index]
            retired[name] = (instance.persistentState(now: now), now)
            if instance.grantedLocally { batch.cib.append((name, .revoke(.removedFromConfiguration))) }
        }
        var oldInstances: [String: TicketInstance] = [:]
        for (index, name) in ticketNames.enumerated() where newNames.contains(name) { oldInstances[name] = instances[index] }
        var modes: [Int: TicketInstance.StartMode] = [:]
        var newInstances: [TicketInstance] = []
        for (index, policy) in policies.enumerated() {
            if let old = oldInstances[policy.name] {
                if old.policy == policy {
                    newInstances.append(old)
                    continue
                }
                report.changed.append(policy.name)
                modes[index] = .restored(old.persistentState(now: now), elapsed: .known(.zero))
            } else {
                report.added.append(policy.name)
                if let saved = retired.removeValue(forKey: policy.name) {
                    modes[index] = .restored(saved.state, elapsed: .known(now.since(saved.at)))
                } else {
                    modes[index] = .fresh
                }
            }
            newInstances.append(TicketInstance(policy: policy, membership: membership))
        }
        let restarted = Set(report.removed + report.changed)
        for (id, request) in requests where restarted.contains(request.ticket) {
            requests[id] = nil
            batch.replies.append((request.client, ClientReply(id: request.requestID, body: .error(
                "ticket \"\(request.ticket)\" was \(report.removed.contains(request.ticket) ? "removed from" : "changed in") the configuration while this request waited; see `baton list`"))))
        }
        // The new layout: wake-ups of kept tickets move with them, the heap is rebuilt.
        var newWakeUps: [LocalInstant?] = Array(repeating: nil, count: policies.count)
        for (index, policy) in policies.enumerated() where modes[index] == nil {
            newWakeUps[index] = indexOf[policy.name].flatMap { wakeUps[$0] }
        }
        ticketNames = policies.map(\.name)
        indexOf = Dictionary(uniqueKeysWithValues: policies.enumerated().map { ($0.element.name, $0.offset) })
        instances = newInstances
        wakeUps = newWakeUps
        rebuildWakeUpQueue()
        let started = fold(now: now) { core, collect in
            for (index, mode) in modes.sorted(by: { $0.key < $1.key }) { collect(index, core.instances[index].start(mode, now: now)) }
        }
        batch.writes.append(contentsOf: started.writes)
        batch.frames.append(contentsOf: started.frames)
        batch.cib.append(contentsOf: started.cib)
        batch.handlers.append(contentsOf: started.handlers)
        batch.replies.append(contentsOf: started.replies)
        batch.events.append(contentsOf: started.events)
        return (batch, report)
    }

    // MARK: - Output

    /// Every ticket's state, to write now (durations counted from `now`); with it, tickets a
    /// reload removed while a promise of theirs still runs (a restart that brings such a ticket
    /// back must not forget it).
    public func stateFileTickets(now: LocalInstant) -> [String: PersistentTicketState] {
        var tickets: [String: PersistentTicketState] = [:]
        for (name, entry) in retired {
            let state = entry.state.aged(by: now.since(entry.at))
            if state.promise != nil || state.leading != nil { tickets[name] = state }
        }
        for (index, name) in ticketNames.enumerated() { tickets[name] = instances[index].persistentState(now: now) }
        return tickets
    }

    public func summary(of name: String, now: LocalInstant) -> TicketSummary {
        let status = instance(named: name)!.status(now: now)
        return TicketSummary(
            name: name, manual: status.mode == .manual, term: status.term, leader: status.leader.map { membership.name($0) },
            leaseRemaining: status.leaseRemaining, commitPending: status.commitPendingRemaining,
            grantedHere: status.grantedLocally, standby: status.standby, manualHolders: status.manualHolders.map { membership.name($0) })
    }

    private func noSuchTicket(_ name: String) -> String { "ticket \"\(name)\" does not exist" }

    private mutating func fold(now: LocalInstant, _ body: (inout DaemonCore, (Int, [Directive]) -> Void) -> Void) -> Batch {
        var batch = Batch()
        var outgoing: [MemberID: [PeerMessage]] = [:]
        var collected: [(Int, [Directive])] = []
        body(&self) { index, directives in collected.append((index, directives)) }
        for (index, directives) in collected {
            for directive in directives {
                switch directive {
                case .persist(let state):
                    if let last = batch.writes.last, last.ticket == index {
                        batch.writes[batch.writes.count - 1].state = state
                    } else {
                        batch.writes.append(StateWrite(ticket: index, state: state, at: now))
                    }
                case .send(let message): outgoing[message.to, default: []].append(message)
                case .wakeUp(let at): setWakeUp(index, at: at)
                case .grantLocally(let term, let remaining): batch.cib.append((ticketNames[index], .grant(term: term, leaseRemaining: remaining)))
                case .revokeLocally(let reason): batch.cib.append((ticketNames[index], .revoke(reason)))
                case .setStandby(let on): batch.cib.append((ticketNames[index], .standby(on)))
                case .runHandler(let purpose): batch.handlers.append((ticketNames[index], purpose))
                case .reply(let id, let outcome):
                    if let request = requests.removeValue(forKey: id) {
                        batch.replies.append((request.client, ClientReply(id: request.requestID, body: .outcome(describe(outcome, for: request.command)))))
                    }
                case .log(let event): batch.events.append((ticketNames[index], event))
                }
            }
        }
        for peer in outgoing.keys.sorted() {
            let messages = outgoing[peer]!
            var start = 0
            while start < messages.count {
                let end = min(messages.count, start + Frame.messagesPerFrameMax)
                batch.frames.append(PeerFrame(from: membership.selfID, to: peer, messages: Array(messages[start..<end])))
                start = end
            }
        }
        return batch
    }

    /// booth's words where admins know them.
    func describe(_ outcome: CommandOutcome, for command: TicketCommand) -> OutcomeSummary {
        let verb: String
        switch command {
        case .grant: verb = "grant"
        case .revoke: verb = "revoke"
        case .standby: verb = "standby"
        case .activate: verb = "activate"
        case .move: verb = "move"
        case .setAttribute, .deleteAttribute: verb = "attribute"
        }
        switch outcome {
        case .accepted: return OutcomeSummary(succeeded: true, text: "\(verb) command sent")
        case .granted(nil): return OutcomeSummary(succeeded: true, text: "grant succeeded!")
        case .granted(let pending?): return OutcomeSummary(succeeded: true, text: "grant succeeded (CIB commit pending)", commitPending: pending)
        case .revoked: return OutcomeSummary(succeeded: true, text: "revoke succeeded!")
        case .forwarded(let to): return OutcomeSummary(succeeded: true, text: "\(verb) forwarded to the holder \(membership.name(to))")
        case .moved(let to): return OutcomeSummary(succeeded: true, text: "move succeeded: \(membership.name(to)) holds the ticket")
        case .done: return OutcomeSummary(succeeded: true, text: "\(verb) succeeded")
        case .refused(let refusal):
            switch refusal {
            case .alreadyGrantedHere:
                return OutcomeSummary(succeeded: false, text: "You're granting a granted ticket. If you wanted to migrate a ticket, use move (or revoke first, then grant).")
            case .grantedElsewhere(let holder):
                return OutcomeSummary(succeeded: false, text: "ticket is granted to \(membership.name(holder)); revoke it there first, or use move")
            case .invalidTarget(let target):
                return OutcomeSummary(succeeded: false, text: "\(membership.name(target)) is not a site that can take the ticket")
            default:
                return OutcomeSummary(succeeded: false, text: refusal.description)
            }
        }
    }
}

/// A binary min-heap of (wake-up time, ticket index), ordered by time.
struct WakeUpQueue: Sendable {
    private var entries: [(at: LocalInstant, ticket: Int)] = []

    init() {}

    init(_ items: [(LocalInstant, Int)]) {
        entries = items.map { (at: $0.0, ticket: $0.1) }
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    var count: Int { entries.count }
    var first: (at: LocalInstant, ticket: Int)? { entries.first }

    /// By time only: ties need no order here (`timer` sorts the due tickets).
    private static func less(_ a: (at: LocalInstant, ticket: Int), _ b: (at: LocalInstant, ticket: Int)) -> Bool {
        a.at < b.at
    }

    mutating func insert(_ item: (LocalInstant, Int)) {
        entries.append((at: item.0, ticket: item.1))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard WakeUpQueue.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        precondition(!entries.isEmpty, "removeFirst on an empty wake-up heap")
        entries.swapAt(0, entries.count - 1)
        entries.removeLast()
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var smallest = left
            if left + 1 < entries.count && WakeUpQueue.less(entries[left + 1], entries[left]) { smallest = left + 1 }
            guard WakeUpQueue.less(entries[smallest], entries[parent]) else { return }
            entries.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
