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
    public private(set) var instances: [String: TicketInstance]
    public let ticketNames: [String]
    /// Each instance's wake-up time, and the same times in a min-heap so that finding the next
    /// one and the due ones costs O(log n), not a scan of every ticket. Heap entries that no
    /// longer match `wakeUps` are stale and skipped.
    private var wakeUps: [String: LocalInstant] = [:]
    private var wakeUpQueue = WakeUpQueue()
    private var requests: [RequestID: (client: ClientToken, requestID: UInt64, ticket: String, command: TicketCommand)] = [:]
    private var nextRequest: UInt64 = 0
    private var startedAt: LocalInstant?
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

    /// What the shell must do, in this order: persist, send, then the rest.
    public struct Batch: Sendable {
        public var persist = false
        /// The tickets whose state changed in this batch (what `persist` must write).
        public var persistedTickets: [String] = []
        public var frames: [PeerFrame] = []
        public var cib: [(ticket: String, action: CIBAction)] = []
        public var handlers: [(ticket: String, purpose: HandlerPurpose)] = []
        public var replies: [(client: ClientToken, reply: ClientReply)] = []
        public var events: [(ticket: String, event: ElectionEvent)] = []

        public var isEmpty: Bool {
            !persist && frames.isEmpty && cib.isEmpty && handlers.isEmpty && replies.isEmpty && events.isEmpty
        }
    }

    public init(membership: Membership, policies: [TicketPolicy]) {
        precondition(!policies.isEmpty, "batond needs at least one ticket")
        precondition(Set(policies.map(\.name)).count == policies.count, "ticket names must be unique")
        self.membership = membership
        self.ticketNames = policies.map(\.name)
        var instances: [String: TicketInstance] = [:]
        for policy in policies { instances[policy.name] = TicketInstance(policy: policy, membership: membership) }
        self.instances = instances
    }

    // MARK: - Inputs

    public mutating func start(_ modes: [String: TicketInstance.StartMode], now: LocalInstant) -> Batch {
        startedAt = now
        return fold(now: now) { core, collect in
            for name in core.ticketNames {
                collect(name, core.instances[name]!.start(modes[name] ?? .fresh, now: now))
            }
        }
    }

    public mutating func receive(_ frame: PeerFrame, now: LocalInstant) -> Batch {
        precondition(frame.to == membership.selfID, "frame for \(frame.to) handed to \(membership.selfID)")
        return fold(now: now) { core, collect in
            for message in frame.messages where core.instances[message.ticket] != nil {
                collect(message.ticket, core.instances[message.ticket]!.onMessage(message, now: now))
            }
        }
    }

    /// Runs every instance whose wake-up time has come.
    public mutating func timer(now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            var due: [String] = []
            while let top = core.wakeUpQueue.first, top.at <= now {
                core.wakeUpQueue.removeFirst()
                if core.wakeUps[top.ticket] == top.at {
                    core.wakeUps[top.ticket] = nil
                    due.append(top.ticket)
                }
            }
            for name in due.sorted() {
                collect(name, core.instances[name]!.onTimer(now: now))
            }
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

    private mutating func setWakeUp(_ ticket: String, at: LocalInstant) {
        guard wakeUps[ticket] != at else { return }
        wakeUps[ticket] = at
        wakeUpQueue.insert((at, ticket))
        // Stale entries pile up when wake-ups move; rebuild before they outgrow the live ones.
        if wakeUpQueue.count > 2 * wakeUps.count + 1024 {
            wakeUpQueue = WakeUpQueue(wakeUps.map { ($0.value, $0.key) })
        }
        precondition(wakeUpQueue.count <= 3 * wakeUps.count + 1024, "wake-up heap of \(wakeUpQueue.count) for \(wakeUps.count) tickets")
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
            guard let instance = instances[ticket] else { return answer(.error(noSuchTicket(ticket))) }
            guard let value = instance.attributes[name] else { return answer(.error("attribute \(name) is not set for ticket \(ticket)")) }
            return answer(.attributes([Attribute(name: name, value: value)]))
        case .listAttributes(let ticket):
            guard let instance = instances[ticket] else { return answer(.error(noSuchTicket(ticket))) }
            return answer(.attributes(instance.attributes.sorted { $0.key < $1.key }.map { Attribute(name: $0.key, value: $0.value) }))
        case .ticket(let ticket, let ticketCommand):
            guard instances[ticket] != nil else { return answer(.error(noSuchTicket(ticket))) }
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
            case .setAttribute(let name, let value): adminCommand = .setAttribute(name: name, value: value)
            case .deleteAttribute(let name): adminCommand = .deleteAttribute(name: name)
            }
            nextRequest += 1
            let id = RequestID(nextRequest)
            requests[id] = (client, request.id, ticket, ticketCommand)
            batch = fold(now: now) { core, collect in
                collect(ticket, core.instances[ticket]!.onCommand(adminCommand, request: id, now: now))
            }
            return batch
        }
    }

    /// The client went away: its pending answers are dropped (the commands still happen).
    public mutating func forget(client: ClientToken) {
        requests = requests.filter { $0.value.client != client }
    }

    public mutating func handlerFinished(ticket: String, purpose: HandlerPurpose, succeeded: Bool, now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            guard core.instances[ticket] != nil else { return }
            collect(ticket, core.instances[ticket]!.onHandlerResult(purpose, succeeded: succeeded, now: now))
        }
    }

    public mutating func localRevokeCompleted(ticket: String, now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            guard core.instances[ticket] != nil else { return }
            collect(ticket, core.instances[ticket]!.onLocalRevokeCompleted(now: now))
        }
    }

    public mutating func siteQuorum(_ quorate: Bool, now: LocalInstant) -> Batch {
        fold(now: now) { core, collect in
            for name in core.ticketNames { collect(name, core.instances[name]!.onSiteQuorum(quorate, now: now)) }
        }
    }

    // MARK: - Output

    /// Everything to write to the state file now.
    public func stateFileTickets(now: LocalInstant) -> [String: PersistentTicketState] {
        stateFileTickets(ticketNames, now: now)
    }

    /// The state of `names` to write now (durations counted from `now`).
    public func stateFileTickets(_ names: some Sequence<String>, now: LocalInstant) -> [String: PersistentTicketState] {
        var tickets: [String: PersistentTicketState] = [:]
        for name in names { tickets[name] = instances[name]!.persistentState(now: now) }
        return tickets
    }

    public func summary(of name: String, now: LocalInstant) -> TicketSummary {
        let status = instances[name]!.status(now: now)
        return TicketSummary(
            name: name, manual: status.mode == .manual, term: status.term, leader: status.leader.map { membership.name($0) },
            leaseRemaining: status.leaseRemaining, commitPending: status.commitPendingRemaining,
            grantedHere: status.grantedLocally, standby: status.standby, manualHolders: status.manualHolders.map { membership.name($0) })
    }

    private func noSuchTicket(_ name: String) -> String { "ticket \"\(name)\" does not exist" }

    private mutating func fold(now: LocalInstant, _ body: (inout DaemonCore, (String, [Directive]) -> Void) -> Void) -> Batch {
        var batch = Batch()
        var outgoing: [MemberID: [PeerMessage]] = [:]
        var collected: [(String, [Directive])] = []
        body(&self) { name, directives in collected.append((name, directives)) }
        for (ticket, directives) in collected {
            for directive in directives {
                switch directive {
                case .persist:
                    if !batch.persist || batch.persistedTickets.last != ticket { batch.persistedTickets.append(ticket) }
                    batch.persist = true
                case .send(let message): outgoing[message.to, default: []].append(message)
                case .wakeUp(let at): setWakeUp(ticket, at: at)
                case .grantLocally(let term, let remaining): batch.cib.append((ticket, .grant(term: term, leaseRemaining: remaining)))
                case .revokeLocally(let reason): batch.cib.append((ticket, .revoke(reason)))
                case .setStandby(let on): batch.cib.append((ticket, .standby(on)))
                case .runHandler(let purpose): batch.handlers.append((ticket, purpose))
                case .reply(let id, let outcome):
                    if let request = requests.removeValue(forKey: id) {
                        batch.replies.append((request.client, ClientReply(id: request.requestID, body: .outcome(describe(outcome, for: request.command)))))
                    }
                case .log(let event): batch.events.append((ticket, event))
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

/// A binary min-heap of (wake-up time, ticket), ordered by time.
struct WakeUpQueue: Sendable {
    private var entries: [(at: LocalInstant, ticket: String)] = []

    init() {}

    init(_ items: [(LocalInstant, String)]) {
        entries = items.map { (at: $0.0, ticket: $0.1) }
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    var count: Int { entries.count }
    var first: (at: LocalInstant, ticket: String)? { entries.first }

    /// By time only: ties need no order here (`timer` sorts the due tickets by name), and
    /// comparing names cost more than the rest of the heap at 10,000 tickets.
    private static func less(_ a: (at: LocalInstant, ticket: String), _ b: (at: LocalInstant, ticket: String)) -> Bool {
        a.at < b.at
    }

    mutating func insert(_ item: (LocalInstant, String)) {
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
