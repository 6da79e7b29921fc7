import GeoSimulation
import SimulationKernel
import TicketCore
import TicketElection
import TicketWire

/// What a simulated machine keeps on disk: the configured tickets (its booth.conf) and the state
/// journal's bytes (TicketCore's `JournalFormat`, as batond writes them). `unsynced` is a write
/// whose fsync has not returned yet: a crash then keeps the old journal (`.kept`), or a part of
/// the new record (`.torn`; a compaction, written to a temporary file and renamed, leaves the
/// old journal or the new one whole).
public struct DaemonDisk: Sendable, Equatable {
    public var configured: [Int]
    public var journal: [UInt8] = []
    public var unsynced: [UInt8]? = nil
    public var unsyncedReplaces = false

    public init(configured: [Int]) { self.configured = configured }
}

/// What the tests and the world feed a simulated batond.
public enum DaemonInput: Sendable {
    case admin(ClientRequest, ticket: Int, AdminCommand)
    case timer(generation: Int)
    case flush
    case synced
    case cibDone(ticket: String)
    case handlerDone(ticket: String, HandlerPurpose)
    case siteQuorum(Bool)
    case handlerFailing(Bool)
    case diskFailing(Bool)
    /// The configuration now lists these tickets (indices into the scenario's); SIGHUP.
    case reload([Int])
}

/// What a simulated batond tells the checker.
public enum DaemonObservation: Sendable {
    case command(RequestID, ticket: Int, AdminCommand)
    case granted(RequestID, ticket: Int)
    case cibGranted(ticket: Int)
    case cibRevoked(ticket: Int, RevokeReason)
    case event(ticket: Int, ElectionEvent)
    case started(note: String)
    /// A reload removed, changed or added these tickets.
    case reconfigured(tickets: [Int])
}

/// batond on the simulation kernel: the real `DaemonCore`, and a simulated shell that carries out
/// its batches the way TicketDaemon's does: inputs of one instant are merged into one flush;
/// the flush writes one journal record (or compacts) and frames leave only after its fsync
/// returned; inputs that arrive during the fsync wait for it (the event loop is blocked); after
/// a failed write nothing leaves, grants are not written to the CIB, and the next write
/// compacts; CIB changes run one at a time per ticket, a revoke's completion goes back to the
/// core; handlers take their time; the core's next wake-up is the one timer.
public struct DaemonNode: SimulatedNode {
    public typealias Message = PeerFrame
    public typealias Input = DaemonInput
    public typealias Observation = DaemonObservation

    let scenario: Scenario
    let membership: Membership
    let bootID: String
    public private(set) var disk: DaemonDisk?
    public private(set) var core: DaemonCore
    /// The CIB as the site's resources see it (changes applied in order, one at a time).
    public private(set) var cibGranted: Set<String> = []
    var cibQueue: [String: [DaemonCore.CIBAction]] = [:]
    var pending = DaemonCore.Batch()
    var pendingWriteSlot: [String: Int] = [:]
    var pendingMessages: [MemberID: [PeerMessage]] = [:]
    var flushScheduled = false
    /// Frames, CIB changes, handlers and replies waiting for the fsync.
    var afterSync: (frames: [PeerFrame], batch: DaemonCore.Batch)?
    var held: [Work] = []
    /// Requests waiting for their answer: request id -> ticket (for the checker's commitments).
    var requestTickets: [UInt64: Int] = [:]
    var timerGeneration = 0
    var scheduledWakeUp: LocalInstant?
    public private(set) var quorate = true
    public private(set) var handlerFailing = false
    public private(set) var diskFailing = false
    var persistFailed = false
    var withheldGrants = WithheldGrants()
    var lastFullRecordBytes = 0
    static let compactionBytesMin = 16 * 1024
    static let heldMax = 100_000

    /// A node with `disk` (nil: a first start or a deleted state directory: every ticket of the
    /// scenario configured, no journal).
    public init(scenario: Scenario, index: Int, disk: DaemonDisk?, boot: Boot) {
        self.scenario = scenario
        do {
            membership = try Membership(members: scenario.members(), selfID: MemberID(index))
        } catch {
            preconditionFailure("scenario membership invalid: \(error)")
        }
        bootID = "boot-\(boot.machine)"
        var disk = disk ?? DaemonDisk(configured: Array(0..<scenario.tickets))
        // A write whose fsync did not return before the crash is not part of the journal.
        disk.unsynced = nil
        self.disk = disk
        core = DaemonCore(membership: membership, policies: disk.configured.map { scenario.policy(ticket: $0) })
    }

    public static func tear(_ disk: DaemonDisk, random: inout SeededGenerator) -> DaemonDisk? {
        var torn = disk
        torn.unsynced = nil
        if let unsynced = disk.unsynced {
            if disk.unsyncedReplaces {
                // Renamed over the journal or not: one of the two whole.
                if random.chance(0.5) { torn.journal = unsynced }
            } else {
                torn.journal += unsynced.prefix(Int.random(in: 0...unsynced.count, using: &random))
            }
        } else if !disk.journal.isEmpty && random.chance(0.5) {
            // No write under way: a damaged block instead (bit rot, a bad sector).
            torn.journal[Int.random(in: 0..<disk.journal.count, using: &random)] ^= 0x5A
        }
        return torn
    }

    public mutating func handle(_ event: NodeEvent<PeerFrame, DaemonInput>, context: inout NodeContext<DaemonNode>) {
        let now = LocalInstant(nanoseconds: context.now)
        switch event {
        case .start:
            let loaded = JournalFormat.replay(disk?.journal ?? [], path: "tickets.journal", bootID: bootID, now: now)
            context.observe(.started(note: loaded.note))
            var modes = loaded.allLost ? [:] : loaded.modes
            for name in core.ticketNames { modes[name] = loaded.mode(for: name) }
            execute(core.start(modes, now: now), context: &context)
        case .message(_, let frame):
            input(.message(frame), context: &context)
        case .input(let input):
            self.input(.input(input), context: &context)
        case .groupMessage, .view:
            break  // batond talks point-to-point
        }
    }

    enum Work {
        case message(PeerFrame)
        case input(DaemonInput)
        case revokeCompleted(String)
    }

    private mutating func input(_ work: Work, context: inout NodeContext<DaemonNode>) {
        let now = LocalInstant(nanoseconds: context.now)
        switch work {
        case .input(.synced):
            synced(context: &context)
            return
        case .input(.flush):
            flush(context: &context)
            return
        case .input(.cibDone(let ticket)):
            cibDone(ticket, context: &context)
            return
        default:
            break
        }
        if afterSync != nil {
            // The loop is blocked in fsync: this input waits.
            precondition(held.count < Self.heldMax, "over \(Self.heldMax) inputs held during one fsync")
            held.append(work)
            return
        }
        switch work {
        case .message(let frame):
            execute(core.receive(frame, now: now), context: &context)
        case .revokeCompleted(let ticket):
            execute(core.localRevokeCompleted(ticket: ticket, now: now), context: &context)
        case .input(let input):
            switch input {
            case .admin(let request, let ticket, let command):
                if case .ticket(let name, _) = request.command, core.index(of: name) != nil {
                    context.observe(.command(RequestID(request.id), ticket: ticket, command))
                    requestTickets[request.id] = ticket
                }
                execute(core.command(request, from: DaemonCore.ClientToken(0), now: now), context: &context)
            case .timer(let generation):
                guard generation == timerGeneration else { return }
                scheduledWakeUp = nil
                execute(core.timer(now: now), context: &context)
            case .handlerDone(let ticket, let purpose):
                execute(core.handlerFinished(ticket: ticket, purpose: purpose, succeeded: !handlerFailing, now: now), context: &context)
            case .siteQuorum(let on):
                guard on != quorate else { return }
                quorate = on
                execute(core.siteQuorum(on, now: now), context: &context)
            case .handlerFailing(let on): handlerFailing = on
            case .diskFailing(let on): diskFailing = on
            case .reload(let tickets):
                // As TicketDaemon.applyTickets: the merged batch goes first (it names tickets
                // by their current index), then the new list.
                if flushScheduled { flush(context: &context) }
                if afterSync != nil {
                    held.append(work)
                    return
                }
                disk?.configured = tickets
                let (batch, report) = core.reconfigure(tickets.map { scenario.policy(ticket: $0) }, now: now)
                context.trace("reload: added \(report.added) removed \(report.removed) changed \(report.changed)")
                context.observe(.reconfigured(tickets: (report.added + report.removed + report.changed).map(Self.ticketIndex)))
                execute(batch, context: &context)
            case .synced, .flush, .cibDone: preconditionFailure("handled above")
            }
        }
    }

    /// Merges one input's batch into the turn's (TicketDaemon.execute).
    private mutating func execute(_ batch: DaemonCore.Batch, context: inout NodeContext<DaemonNode>) {
        for write in batch.writes {
            let name = core.ticketNames[write.ticket]
            if let slot = pendingWriteSlot[name] {
                pending.writes[slot] = write
            } else {
                pendingWriteSlot[name] = pending.writes.count
                pending.writes.append(write)
            }
        }
        for frame in batch.frames { pendingMessages[frame.to, default: []].append(contentsOf: frame.messages) }
        pending.cib.append(contentsOf: batch.cib)
        pending.handlers.append(contentsOf: batch.handlers)
        pending.replies.append(contentsOf: batch.replies)
        pending.events.append(contentsOf: batch.events)
        // The checker hears of election events when the core makes them (its state changed
        // then), not when the shell logs them after the fsync.
        for (ticket, event) in batch.events { context.observe(.event(ticket: Self.ticketIndex(ticket), event)) }
        // So is a grant told to the admin (the reply leaves after the fsync; inputs merged into
        // the same turn may change the role before it leaves, as in batond).
        for (_, reply) in batch.replies {
            defer { requestTickets[reply.id] = nil }
            if case .outcome(let summary) = reply.body, summary.succeeded, summary.text.hasPrefix("grant succeeded"),
                let ticket = requestTickets[reply.id] {
                context.observe(.granted(RequestID(reply.id), ticket: ticket))
            }
        }
        if !flushScheduled {
            flushScheduled = true
            context.wakeUp(at: context.now, .flush)
        }
    }

    /// The end of the turn: persist (the fsync takes its time), then the rest in `synced`.
    private mutating func flush(context: inout NodeContext<DaemonNode>) {
        guard flushScheduled else { return }
        flushScheduled = false
        let now = LocalInstant(nanoseconds: context.now)
        let batch = pending
        pending = DaemonCore.Batch()
        pendingWriteSlot = [:]
        var frames: [PeerFrame] = []
        for peer in pendingMessages.keys.sorted() {
            let all = pendingMessages[peer]!
            var start = 0
            while start < all.count {
                let end = min(all.count, start + Frame.messagesPerFrameMax)
                frames.append(PeerFrame(from: membership.selfID, to: peer, messages: Array(all[start..<end])))
                start = end
            }
        }
        pendingMessages = [:]
        let wantsWrite = persistFailed ? !(frames.isEmpty && !batch.persist) : batch.persist
        guard wantsWrite else {
            carryOut(frames: frames, batch: batch, durable: true, context: &context)
            return
        }
        if diskFailing {
            persistFailed = true
            context.trace("state write failed (disk failing): \(frames.count) frames dropped")
            carryOut(frames: frames, batch: batch, durable: false, context: &context)
            return
        }
        let journalBytes = disk!.journal.count
        let compact = persistFailed || journalBytes > max(Self.compactionBytesMin, lastFullRecordBytes * 4)
        if compact {
            let record = JournalFormat.record(body: StateFile(bootID: bootID, bootClock: .nanoseconds(now.nanoseconds), tickets: core.stateFileTickets(now: now)).encoded())
            disk!.unsynced = record
            disk!.unsyncedReplaces = true
            lastFullRecordBytes = record.count
        } else {
            let names = core.ticketNames
            disk!.unsynced = JournalFormat.record(body: StateFile.encode(
                bootID: bootID, bootClock: .nanoseconds(now.nanoseconds),
                tickets: batch.writes.map { (names[$0.ticket], $0.state.aged(by: now.since($0.at))) }))
            disk!.unsyncedReplaces = false
        }
        persistFailed = false
        afterSync = (frames, batch)
        context.after(.nanoseconds(Int64.random(in: 200_000...8_000_000, using: &context.random)), .synced)
    }

    private mutating func synced(context: inout NodeContext<DaemonNode>) {
        guard let (frames, batch) = afterSync, let unsynced = disk?.unsynced else { preconditionFailure("synced without a write") }
        disk!.journal = disk!.unsyncedReplaces ? unsynced : disk!.journal + unsynced
        disk!.unsynced = nil
        afterSync = nil
        carryOut(frames: frames, batch: batch, durable: true, context: &context)
        let waiting = held
        held = []
        for work in waiting { input(work, context: &context) }
    }

    private mutating func carryOut(frames: [PeerFrame], batch: DaemonCore.Batch, durable: Bool, context: inout NodeContext<DaemonNode>) {
        let now = LocalInstant(nanoseconds: context.now)
        if durable { for frame in frames { context.send(frame, to: frame.to.index) } }
        var changes = batch.cib.filter { ticket, action in
            if !durable, case .grant = action {
                withheldGrants.withhold(ticket)
                return false
            }
            if case .revoke = action { withheldGrants.forget(ticket) }
            return true
        }
        if durable && !withheldGrants.isEmpty { changes += withheldGrants.release(from: core, now: now) }
        for (ticket, action) in changes {
            if case .revoke(let reason) = action {
                // The site stops the ticket's resources at once (the checker's CIB, as in
                // GeoWorld); crm_ticket's run still takes its time before the core hears of it.
                cibGranted.remove(ticket)
                context.observe(.cibRevoked(ticket: Self.ticketIndex(ticket), reason))
            }
            cibQueue[ticket, default: []].append(action)
            if cibQueue[ticket]!.count == 1 { startCIBChange(ticket, context: &context) }
        }
        for (ticket, purpose) in batch.handlers {
            if scenario.withHandler {
                context.after(.nanoseconds(Int64.random(in: 10_000_000...300_000_000, using: &context.random)), .handlerDone(ticket: ticket, purpose))
            } else {
                execute(core.handlerFinished(ticket: ticket, purpose: purpose, succeeded: true, now: now), context: &context)
            }
        }
        reschedule(context: &context)
    }

    /// crm_ticket's run: 5 to 200 ms; revokes report back to the core.
    private mutating func startCIBChange(_ ticket: String, context: inout NodeContext<DaemonNode>) {
        context.after(.nanoseconds(Int64.random(in: 5_000_000...200_000_000, using: &context.random)), .cibDone(ticket: ticket))
    }

    private mutating func cibDone(_ ticket: String, context: inout NodeContext<DaemonNode>) {
        guard let action = cibQueue[ticket]?.first else { preconditionFailure("CIB change done for \(ticket) with none under way") }
        cibQueue[ticket]!.removeFirst()
        if cibQueue[ticket]!.isEmpty { cibQueue[ticket] = nil } else { startCIBChange(ticket, context: &context) }
        switch action {
        case .grant:
            // A revoke queued behind the grant has already stopped the ticket's resources.
            let revokeQueued = cibQueue[ticket]?.contains { if case .revoke = $0 { true } else { false } } ?? false
            if !revokeQueued {
                cibGranted.insert(ticket)
                context.observe(.cibGranted(ticket: Self.ticketIndex(ticket)))
            }
        case .revoke:
            input(.revokeCompleted(ticket), context: &context)
        case .standby:
            break
        }
    }

    private mutating func reschedule(context: inout NodeContext<DaemonNode>) {
        let next = core.nextWakeUp
        guard next != scheduledWakeUp else { return }
        scheduledWakeUp = next
        timerGeneration += 1
        if let next { context.wakeUp(at: next.nanoseconds, .timer(generation: timerGeneration)) }
    }

    /// "ticket-N" → N - 1 (the scenario's names).
    static func ticketIndex(_ name: String) -> Int {
        guard name.hasPrefix("ticket-"), let number = Int(name.dropFirst(7)), number >= 1 else { preconditionFailure("ticket name \(name)") }
        return number - 1
    }
}
