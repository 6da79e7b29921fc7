/// What survives a crash on the node's disk.
public enum DiskFate: Sendable, Equatable, CustomStringConvertible {
    case kept
    /// Wiped (a deleted state directory, a reinstall).
    case lost
    /// Torn by `Node.tear` (the crash hit a write).
    case torn
    public var description: String {
        switch self {
        case .kept: "kept"
        case .lost: "lost"
        case .torn: "torn"
        }
    }
}

/// The simulation kernel: virtual time, one seeded event queue (ties broken by insertion order,
/// so a seed makes one run), nodes as `SimulatedNode` state machines each on its own drifting
/// local clock, the network (`NetworkModel`, partitions and cuts, `GroupLayer` for multicasts),
/// crashes and restarts with the disk kept, lost or torn, and a checker called after every step.
///
/// Real time is nanoseconds of simulated time since the start (`now`). A step pops one event
/// and runs it; what the nodes did is hashed into `digest` (same seed, same digest) and the
/// last lines are kept in `traceTail` for the report of a failing seed.
public struct Simulation<Node: SimulatedNode> {
    public typealias Make = (NodeIndex, Node.Disk?, Boot) -> Node

    /// A node's local clock: local = offset + real + real * ppm / 1e6.
    public struct NodeClock: Sendable {
        public var offset: Int64
        public let partsPerMillion: Int64

        public func local(_ real: Int64) -> Int64 { offset + real + real * partsPerMillion / 1_000_000 }

        /// The first real instant at which the local clock reads at least `local`.
        public func real(_ local: Int64) -> Int64 {
            var real = (local - offset) * 1_000_000 / (1_000_000 + partsPerMillion)
            while self.local(real) < local { real += 1 }
            while self.local(real - 1) >= local { real -= 1 }
            return real
        }
    }

    enum Event {
        case deliver(from: NodeIndex, to: NodeIndex, Node.Message)
        case groupDeliver(from: NodeIndex, to: NodeIndex, view: GroupView, sequence: UInt64, Node.Message)
        case wakeUp(NodeIndex, incarnation: Int, Node.Input)
        case inject(NodeIndex, Node.Input)
        case crash(NodeIndex)
        case restart(NodeIndex, DiskFate, reboot: Bool)
        case sides([Int])
        case cut(from: NodeIndex, to: NodeIndex, Bool)
        case network(NetworkModel)
    }

    /// What one step did: the node it ran on (nil for a network change) and what the nodes
    /// observed, for the checker.
    public struct StepReport {
        public let time: Int64
        public let node: NodeIndex?
        public var observations: [(node: NodeIndex, observation: Node.Observation)] = []

        public init(time: Int64, node: NodeIndex?) {
            self.time = time
            self.node = node
        }
    }

    public let seed: UInt64
    public private(set) var now: Int64 = 0
    public private(set) var nodes: [Node?]
    public private(set) var network: NetworkModel
    public private(set) var clocks: [NodeClock]
    public private(set) var boots: [Boot]
    /// The disk of each node that is down (what its restart starts from).
    public private(set) var disksOfDownNodes: [Node.Disk?]
    public private(set) var steps = 0
    public private(set) var messagesSent = 0
    public private(set) var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    public private(set) var traceTail: [String] = []
    public var random: SeededGenerator
    let make: Make
    let keepFullTrace: Bool
    var queue = EventQueue<Event>()
    var reach: Reachability
    var group: GroupLayer<Node.Message>
    var incarnation: [Int]
    var lastOnLink: [[Int64]]
    static var traceTailMax: Int { 200 }
    public static var nodesMax: Int { 256 }

    public init(nodeCount: Int, seed: UInt64, network: NetworkModel, clockDriftMaxPartsPerMillion: Int = 0,
                keepFullTrace: Bool = false, make: @escaping Make) {
        precondition(nodeCount >= 1 && nodeCount <= Self.nodesMax, "1...\(Self.nodesMax) nodes, not \(nodeCount)")
        precondition(clockDriftMaxPartsPerMillion >= 0 && clockDriftMaxPartsPerMillion < 100_000, "drift bound \(clockDriftMaxPartsPerMillion) ppm")
        self.seed = seed
        self.network = network
        self.make = make
        self.keepFullTrace = keepFullTrace
        var random = SeededGenerator(seed: seed)
        let drift = Int64(clockDriftMaxPartsPerMillion)
        clocks = (0..<nodeCount).map { _ in
            // Half the nodes run at the drift bound (fast or slow): the worst case.
            let ppm: Int64 = random.chance(0.5) ? (random.chance(0.5) ? drift : -drift) : Int64.random(in: -drift...drift, using: &random)
            return NodeClock(offset: Int64.random(in: 0...1_000_000_000_000, using: &random), partsPerMillion: ppm)
        }
        self.random = random
        nodes = Array(repeating: nil, count: nodeCount)
        boots = Array(repeating: Boot(number: 0, rebooted: false, machine: 1), count: nodeCount)
        disksOfDownNodes = Array(repeating: nil, count: nodeCount)
        reach = Reachability(nodes: nodeCount)
        group = GroupLayer(nodes: nodeCount)
        incarnation = Array(repeating: 0, count: nodeCount)
        lastOnLink = Array(repeating: Array(repeating: 0, count: nodeCount), count: nodeCount)
    }

    public var nodeCount: Int { nodes.count }
    public func isUp(_ node: NodeIndex) -> Bool { nodes[node] != nil }
    public func localNow(_ node: NodeIndex) -> Int64 { clocks[node].local(now) }
    public func view(of node: NodeIndex) -> GroupView? { group.viewOf[node] }
    public func reaches(_ from: NodeIndex, _ to: NodeIndex) -> Bool { reach.reaches(from, to) }
    public var nextEventTime: Int64? { queue.nextTime }

    // MARK: - Scheduling (real times)

    /// Boots every node now (disks empty), then forms the first views.
    public mutating func startAll() -> StepReport {
        var report = StepReport(time: now, node: nil)
        for node in nodes.indices { boot(node, disk: nil, rebooted: false, report: &report) }
        reformViews(report: &report)
        return report
    }

    public mutating func inject(_ input: Node.Input, to node: NodeIndex, at time: Int64) { push(.inject(node, input), at: time) }
    public mutating func crash(_ node: NodeIndex, at time: Int64) { push(.crash(node), at: time) }
    public mutating func restart(_ node: NodeIndex, disk: DiskFate, reboot: Bool, at time: Int64) {
        push(.restart(node, disk, reboot: reboot), at: time)
    }
    /// Puts each node on a side (same side: connected); all zeros heals every partition.
    public mutating func partition(sides: [Int], at time: Int64) {
        precondition(sides.count == nodeCount, "\(sides.count) sides for \(nodeCount) nodes")
        push(.sides(sides), at: time)
    }
    public mutating func cut(from: NodeIndex, to: NodeIndex, _ isCut: Bool, at time: Int64) { push(.cut(from: from, to: to, isCut), at: time) }
    public mutating func setNetwork(_ model: NetworkModel, at time: Int64) { push(.network(model), at: time) }

    private mutating func push(_ event: Event, at time: Int64) {
        precondition(time >= now, "event at \(time) scheduled in the past (now \(now))")
        queue.push(event, at: time)
    }

    // MARK: - Running

    /// Moves time to `time` when no event comes before it (a caller acting at that instant).
    public mutating func advance(to time: Int64) {
        precondition(time >= now, "advance to \(time) before now \(now)")
        precondition((queue.nextTime ?? .max) >= time, "advance to \(time) over an event at \(queue.nextTime!)")
        now = time
    }

    /// Runs one event; nil when the queue is empty or the next event is after `until`.
    public mutating func step(until end: Int64 = .max) -> StepReport? {
        guard let next = queue.nextTime, next <= end, let (time, event) = queue.pop() else { return nil }
        precondition(time >= now, "time went backwards: \(time) < \(now)")
        now = time
        steps += 1
        var report = StepReport(time: time, node: nil)
        switch event {
        case .deliver(let from, let to, let message):
            guard nodes[to] != nil else { break }
            run(to, .message(from: from, message), report: &report)
        case .groupDeliver(let from, let to, let view, let sequence, let message):
            guard nodes[to] != nil, group.deliverable(to, view: view.id, sequence: sequence) else { break }
            group.noteDelivered(to, view: view.id, sequence: sequence)
            run(to, .groupMessage(from: from, message, view: view), report: &report)
        case .wakeUp(let node, let incarnation, let input):
            guard nodes[node] != nil, self.incarnation[node] == incarnation else { break }
            run(node, .input(input), report: &report)
        case .inject(let node, let input):
            guard nodes[node] != nil else { break }
            run(node, .input(input), report: &report)
        case .crash(let node):
            guard let victim = nodes[node] else { break }
            note("node \(node) CRASHED")
            disksOfDownNodes[node] = victim.disk
            nodes[node] = nil
            incarnation[node] += 1
            group.viewOf[node] = nil
            reformViews(report: &report)
        case .restart(let node, let fate, let reboot):
            guard nodes[node] == nil else { break }
            var disk = disksOfDownNodes[node]
            switch fate {
            case .kept: break
            case .lost: disk = nil
            case .torn: disk = disk.flatMap { Node.tear($0, random: &random) }
            }
            disksOfDownNodes[node] = nil
            note("node \(node) restarts, disk \(fate)\(reboot ? ", machine rebooted" : "")")
            boot(node, disk: disk, rebooted: reboot, report: &report)
            reformViews(report: &report)
        case .sides(let sides):
            reach.side = sides
            note("sides \(sides)")
            reformViews(report: &report)
        case .cut(let from, let to, let isCut):
            reach.cut[from][to] = isCut
            note("link \(from) -> \(to) \(isCut ? "cut" : "healed")")
        case .network(let model):
            network = model
            note("network loss \(model.loss) duplication \(model.duplication) delay \(model.delayMin)...\(model.delayMax)")
        }
        return report
    }

    /// Runs every event up to `end`, calling the checker after each step; stops early when
    /// the checker says so.
    public mutating func run<Checker: SimulationChecker>(until end: Int64, checker: inout Checker) where Checker.Node == Node {
        while let report = step(until: end) {
            guard checker.check(self, after: report) else { return }
        }
    }

    // MARK: - Nodes

    private mutating func boot(_ node: NodeIndex, disk: Node.Disk?, rebooted: Bool, report: inout StepReport) {
        incarnation[node] += 1
        if rebooted {
            // The machine's boot clock starts again near zero.
            let startsAt = Int64.random(in: 1_000_000_000...30_000_000_000, using: &random)
            clocks[node].offset = 0
            clocks[node].offset = startsAt - clocks[node].local(now)
        }
        boots[node] = Boot(number: boots[node].number + 1, rebooted: rebooted, machine: boots[node].machine + (rebooted ? 1 : 0))
        nodes[node] = make(node, disk, boots[node])
        run(node, .start, report: &report)
    }

    private mutating func run(_ node: NodeIndex, _ event: NodeEvent<Node.Message, Node.Input>, report: inout StepReport) {
        precondition(nodes[node] != nil, "event for node \(node), which is down")
        var context = NodeContext<Node>(node: node, now: localNow(node), boot: boots[node], random: random)
        nodes[node]!.handle(event, context: &context)
        random = context.random
        hash("\(now) \(node) \(Self.kind(event))")
        for observation in context.observations { report.observations.append((node, observation)) }
        for directive in context.directives {
            switch directive {
            case .send(let to, let message):
                precondition(to >= 0 && to < nodeCount, "node \(node) sent to node \(to) of \(nodeCount)")
                transmit(message, from: node, to: to)
            case .multicast(let message):
                multicast(message, from: node)
            case .wakeUp(let at, let input):
                queue.push(.wakeUp(node, incarnation: incarnation[node], input), at: max(now, clocks[node].real(at)))
            case .trace(let line):
                note("node \(node): \(line)")
            }
        }
    }

    private mutating func transmit(_ message: Node.Message, from: NodeIndex, to: NodeIndex) {
        messagesSent += 1
        guard reach.reaches(from, to) else { return }
        if network.loss > 0 && random.chance(network.loss) { return }
        let copies = network.duplication > 0 && random.chance(network.duplication) ? 2 : 1
        for _ in 0..<copies {
            var at = now + network.delay(random: &random)
            if network.orderedPerLink {
                at = max(at, lastOnLink[from][to])
                lastOnLink[from][to] = at
            }
            queue.push(.deliver(from: from, to: to, message), at: at)
        }
    }

    private mutating func multicast(_ message: Node.Message, from: NodeIndex) {
        messagesSent += 1
        guard let (view, sequence) = group.number(message, from: from) else { return }
        for member in view.members {
            // Each member gets the view's messages in their order.
            let at = max(now + network.delay(random: &random), group.lastDeliveryAt[member])
            group.lastDeliveryAt[member] = at
            queue.push(.groupDeliver(from: from, to: member, view: view, sequence: sequence, message), at: at)
        }
    }

    /// New views after a membership change: each mover first delivers the rest of its old
    /// view (see `GroupLayer`), then gets its `.view` event, here, in this step.
    private mutating func reformViews(report: inout StepReport) {
        let up = nodes.map { $0 != nil }
        let views = group.reform(up: up, boots: boots.map(\.number), side: reach.side, random: &random)
        // Every member's delivery order in its new view starts before any member runs: a
        // member that multicasts while it handles the change (the rest of its old view or the
        // view itself) numbers the message in the new view, and that message must queue behind
        // nothing older and ahead of everything later at every member.
        for (view, _) in views {
            for member in view.members {
                group.delivered[member] = (view.id, 0)
                group.lastDeliveryAt[member] = now
            }
        }
        for (view, flush) in views {
            note("\(view)")
            for member in view.members {
                // Delivered in the old view they were sent in, before the new view.
                for pending in flush[member] ?? [] {
                    run(member, .groupMessage(from: pending.sender, pending.message, view: pending.view), report: &report)
                }
                run(member, .view(view), report: &report)
            }
        }
    }

    // MARK: - Trace

    /// Adds a line to the trace (and the digest).
    public mutating func note(_ line: String) {
        hash(line)
        traceTail.append("\(Self.format(now)) \(line)")
        if !keepFullTrace && traceTail.count > 2 * Self.traceTailMax { traceTail.removeFirst(traceTail.count - Self.traceTailMax) }
    }

    private mutating func hash(_ text: String) {
        for byte in text.utf8 {
            digest ^= UInt64(byte)
            digest = digest &* 0x0000_0100_0000_01B3
        }
        digest ^= 0x0A
        digest = digest &* 0x0000_0100_0000_01B3
    }

    static func kind(_ event: NodeEvent<Node.Message, Node.Input>) -> String {
        switch event {
        case .start: "start"
        case .message(let from, _): "message from \(from)"
        case .groupMessage(let from, _, let view): "group message from \(from) in \(view.id)"
        case .view(let view): "\(view)"
        case .input: "input"
        }
    }

    public static func format(_ nanoseconds: Int64) -> String {
        let millis = nanoseconds / 1_000_000
        var fraction = String(millis % 1000)
        while fraction.count < 3 { fraction = "0" + fraction }
        return "t=\(millis / 1000).\(fraction)s"
    }
}

/// The hook the kernel calls after every step: false stops the run (a violation was found).
public protocol SimulationChecker {
    associatedtype Node: SimulatedNode
    mutating func check(_ simulation: Simulation<Node>, after step: Simulation<Node>.StepReport) -> Bool
}
