@testable import CRMCore
import CIB

/// A pure stand-in for CPG under several NodeCores: partitions, each with its view and one
/// totally ordered message queue; a view change is delivered after the messages of the old
/// view (virtual synchrony), as corosync does. Timers are recorded, fired by the test.
struct Harness {
    var cores: [Member: NodeCore] = [:]
    /// Each partition's current group members, in order of their first appearance.
    var partitions: [[Member]] = []
    var queues: [[(sender: Member, bytes: [UInt8])]] = []
    var timers: [Member: Set<NodeCore.TimerKind>] = [:]
    var applied: [Member: [CIBWrite]] = [:]
    var refused: [Member: [(UInt64, String)]] = [:]
    /// Versions each member committed (persisted, in the daemon).
    var committed: [Member: [CIBVersion]] = [:]
    var dcChanges: [Member: [Member?]] = [:]
    /// Messages each member broadcast, in order (to show, for example, that a DC loss needs none).
    var sent: [Member: [Message]] = [:]
    /// Execute requests each member was asked to run, and results it recorded (issue 14).
    var executes: [Member: [ExecuteRequest]] = [:]
    var results: [Member: [ExecuteResult]] = [:]
    var fences: [Member: [FenceRequest]] = [:]
    /// Keys of a member's own requests that every member dropped (`requestDropped`).
    var dropped: [Member: [String]] = [:]
    var fenced: [Member: [FenceRecord]] = [:]
    /// Ticket changes each member applied (Tickets.swift).
    var ticketsApplied: [Member: [SiteTicketChange]] = [:]
    let nodelist: [ConfiguredNode]
    let dcDeadtime: Duration
    /// votequorum as if each node's corosync were where its baton-crmd is: after every view, a
    /// member is quorate when its partition holds more than half the nodelist's nodes. Off, the
    /// test feeds `.quorum` itself (a node whose baton-crmd died keeps its vote).
    var automaticQuorum = true
    /// Cores with an executor (issue 14): they report their resource history at each round.
    var runsResources = false

    init(nodes: Int, dcDeadtime: Duration = .seconds(20)) {
        nodelist = (1...nodes).map { ConfiguredNode(nodeID: NodeID(UInt32($0)), name: "node\($0)") }
        self.dcDeadtime = dcDeadtime
    }

    static func member(_ node: Int, pid: UInt32 = 100) -> Member { Member(nodeID: NodeID(UInt32(node)), pid: pid) }

    func core(_ member: Member) -> NodeCore {
        guard let core = cores[member] else { preconditionFailure("no core for \(member)") }
        return core
    }

    /// Starts processes (new cores) and has them join partition `partition` (0 when absent).
    mutating func start(_ members: [Member], partition: Int = 0, cib: CIBReplica = .empty) {
        for member in members {
            var settings = NodeCore.Settings(local: member, nodelist: nodelist, dcDeadtime: dcDeadtime)
            settings.runsResources = runsResources
            cores[member] = NodeCore(settings: settings, cib: cib)
        }
        while partitions.count <= partition {
            partitions.append([])
            queues.append([])
        }
        changeView(partition, members: partitions[partition] + members, joined: members, left: [])
    }

    /// A group member that is no baton-crmd (no core: it never announces), or one that only
    /// sends what the test makes it send.
    mutating func joinSilent(_ member: Member, partition: Int = 0) {
        changeView(partition, members: partitions[partition] + [member], joined: [member], left: [])
    }

    /// Bytes from `sender` into its partition's total order.
    mutating func inject(_ bytes: [UInt8], from sender: Member) {
        guard let index = partitions.firstIndex(where: { $0.contains(sender) }) else { return }
        queues[index].append((sender, bytes))
    }

    /// A process ends (kill -9 or a clean stop): the others see it leave.
    mutating func stop(_ member: Member) {
        guard let index = partitions.firstIndex(where: { $0.contains(member) }) else { return }
        cores[member] = nil
        timers[member] = nil
        changeView(index, members: partitions[index].filter { $0 != member }, joined: [], left: [member])
    }

    /// Splits partition 0 into `groups` (each a list of node numbers), each its own view.
    mutating func partition(_ groups: [[Member]]) {
        deliverAll()
        let old = partitions.flatMap { $0 }
        partitions = groups.map { _ in [] }
        queues = groups.map { _ in [] }
        for (index, group) in groups.enumerated() {
            partitions[index] = group
            let left = old.filter { !group.contains($0) }
            deliverView(index, joined: [], left: left)
        }
    }

    /// Merges every partition into one view.
    mutating func heal() {
        deliverAll()
        let groups = partitions
        let all = groups.flatMap { $0 }
        partitions = [all]
        queues = [[]]
        for member in all {
            let own = groups.first { $0.contains(member) } ?? []
            let joined = all.filter { !own.contains($0) }
            deliverViewTo(member, members: all, joined: joined, left: [])
        }
        deliverAll()
    }

    mutating func changeView(_ index: Int, members: [Member], joined: [Member], left: [Member]) {
        deliverAll()
        partitions[index] = members
        deliverView(index, joined: joined, left: left)
    }

    private mutating func deliverView(_ index: Int, joined: [Member], left: [Member]) {
        for member in partitions[index] {
            deliverViewTo(member, members: partitions[index], joined: joined, left: left)
        }
    }

    private mutating func deliverViewTo(_ member: Member, members: [Member], joined: [Member], left: [Member]) {
        guard var core = cores[member] else { return }
        var directives = core.handle(.membership(members: members, joined: joined, left: left))
        if automaticQuorum {
            directives += core.handle(.quorum(quorate: Set(members.map(\.nodeID)).count * 2 > nodelist.count))
        }
        cores[member] = core
        perform(directives, by: member)
    }

    mutating func perform(_ directives: [NodeCore.Directive], by member: Member) {
        for directive in directives {
            switch directive {
            case .broadcast(let message):
                sent[member, default: []].append(message)
                if let index = partitions.firstIndex(where: { $0.contains(member) }) {
                    queues[index].append((member, MessageWire.encode(message)))
                }
            case .startTimer(let kind, _): timers[member, default: []].insert(kind)
            case .cancelTimer(let kind): timers[member]?.remove(kind)
            case .dcChanged(_, let to): dcChanges[member, default: []].append(to)
            case .cibApplied(let write): applied[member, default: []].append(write)
            case .cibRefused(let requestID, let reason): refused[member, default: []].append((requestID, reason))
            case .cibCommitted(let version): committed[member, default: []].append(version)
            case .quorumChanged, .garbage, .resourcesChanged: break
            case .requestDropped(let key, _): dropped[member, default: []].append(key)
            case .execute(let request): executes[member, default: []].append(request)
            case .resourceResult(let result): results[member, default: []].append(result)
            case .fence(let request): fences[member, default: []].append(request)
            case .fenceRecorded(let record): fenced[member, default: []].append(record)
            case .ticketsApplied(let change): ticketsApplied[member, default: []].append(change)
            }
        }
    }

    /// Delivers every queued message, in each partition's order, until no more are sent.
    mutating func deliverAll() {
        var rounds = 0
        while deliverNext() {
            rounds += 1
            precondition(rounds < 100_000, "Harness: messages keep coming")
        }
    }

    /// Delivers the first queued message of the first partition that has one to its members;
    /// false when nothing is queued.
    @discardableResult
    mutating func deliverNext() -> Bool {
        guard let index = queues.firstIndex(where: { !$0.isEmpty }) else { return false }
        let (sender, bytes) = queues[index].removeFirst()
        for member in partitions[index] { deliver(bytes, from: sender, to: member) }
        return true
    }

    mutating func deliver(_ bytes: [UInt8], from sender: Member, to member: Member) {
        guard var core = cores[member] else { return }
        let directives = core.handle(.message(sender: sender, bytes: bytes))
        cores[member] = core
        perform(directives, by: member)
    }

    mutating func fire(_ kind: NodeCore.TimerKind, on member: Member) {
        guard timers[member]?.contains(kind) == true, var core = cores[member] else { return }
        timers[member]?.remove(kind)
        let directives = core.handle(.timer(kind))
        cores[member] = core
        perform(directives, by: member)
        deliverAll()
    }

    mutating func request(_ member: Member, _ body: (inout NodeCore) throws -> [NodeCore.Directive]) rethrows {
        var core = self.core(member)
        let directives = try body(&core)
        cores[member] = core
        perform(directives, by: member)
    }

    /// The DC every member of partition `index` follows; nil unless all settled on the same one.
    func agreedDC(_ index: Int = 0) -> Member? {
        let views = partitions[index].compactMap { cores[$0] }
        guard let first = views.first, views.allSatisfy({ $0.settled && $0.dc == first.dc }) else { return nil }
        return first.dc
    }

    /// Every given member holds the same CIB document and version, and waits for no sync.
    func sameCIB(_ members: [Member]) -> Bool {
        let cibs = members.compactMap { cores[$0] }.map { ($0.cib.document, $0.cib.version, $0.awaitingSyncFrom) }
        guard let first = cibs.first, cibs.count == members.count else { return false }
        return cibs.allSatisfy { $0.0 == first.0 && $0.1 == first.1 && $0.2 == nil }
    }
}
