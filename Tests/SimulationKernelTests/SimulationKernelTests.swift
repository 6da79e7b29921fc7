import SimulationKernel
import Testing

/// A toy protocol on the kernel: every node multicasts numbered notes and sends numbered pings
/// to its neighbour; it writes how many notes it sent to its disk, and logs what it delivered
/// in each view.
struct ToyNode: SimulatedNode {
    enum Message: Hashable {
        case note(from: Int, number: Int)
        case ping(number: Int)
    }

    enum Input {
        case tick
        case write(Int)
    }

    enum Observation {
        /// The node left `view` for `next` having delivered `log` in it.
        case closed(view: GroupView, next: GroupView, log: [Message])
        case pingOutOfOrder(from: Int, number: Int, after: Int)
        case started(disk: Int?)
    }

    let index: Int
    let nodeCount: Int
    var disk: Int?
    var view: GroupView?
    var log: [Message] = []
    var notesSent = 0
    var pingsSent = 0
    var lastPing: [Int: Int] = [:]

    mutating func handle(_ event: NodeEvent<Message, Input>, context: inout NodeContext<ToyNode>) {
        switch event {
        case .start:
            context.observe(.started(disk: disk))
            notesSent = disk ?? 0
            context.after(.milliseconds(5), .tick)
        case .view(let next):
            if let view { context.observe(.closed(view: view, next: next, log: log)) }
            view = next
            log = []
        case .groupMessage(_, let message, let messageView):
            precondition(messageView == view, "delivered in \(messageView), node in \(String(describing: view))")
            log.append(message)
        case .message(let from, .ping(let number)):
            if let last = lastPing[from], number <= last { context.observe(.pingOutOfOrder(from: from, number: number, after: last)) }
            lastPing[from] = max(number, lastPing[from] ?? 0)
        case .message(_, .note):
            preconditionFailure("notes are multicast")
        case .input(.tick):
            notesSent += 1
            disk = notesSent
            context.multicast(.note(from: index, number: notesSent))
            pingsSent += 1
            context.send(.ping(number: pingsSent), to: (index + 1) % nodeCount)
            context.after(.milliseconds(Int64.random(in: 1...30, using: &context.random)), .tick)
        case .input(.write(let value)):
            disk = value
        }
    }

    static func tear(_ disk: Int, random: inout SeededGenerator) -> Int? { -disk }
}

/// Virtual synchrony, checked after every step: nodes that pass from one view to the same next
/// view delivered the same messages in it; any two nodes delivered a view's messages in one order.
struct ToyChecker: SimulationChecker {
    typealias Node = ToyNode
    var closed: [UInt64: [(node: Int, next: UInt64, log: [ToyNode.Message])]] = [:]
    var failures: [String] = []
    var outOfOrderPings = 0
    var starts: [(node: Int, disk: Int?)] = []

    mutating func check(_ simulation: Simulation<ToyNode>, after step: Simulation<ToyNode>.StepReport) -> Bool {
        for (node, observation) in step.observations {
            switch observation {
            case .closed(let view, let next, let log):
                for other in closed[view.id, default: []] {
                    if other.next == next.id && other.log != log {
                        failures.append("\(view): nodes \(other.node) and \(node) moved to \(next.id) with different messages")
                    }
                    let common = Set(other.log).intersection(log)
                    if other.log.filter(common.contains) != log.filter(common.contains) {
                        failures.append("\(view): nodes \(other.node) and \(node) delivered in different orders")
                    }
                }
                closed[view.id, default: []].append((node, next.id, log))
            case .pingOutOfOrder:
                outOfOrderPings += 1
            case .started(let disk):
                starts.append((node, disk))
            }
        }
        return failures.isEmpty
    }
}

func toyRun(seed: UInt64, orderedPerLink: Bool, faults: Bool = true) -> (Simulation<ToyNode>, ToyChecker) {
    let nodes = 5
    let network = NetworkModel(delayMin: .milliseconds(1), delayMax: .milliseconds(40), orderedPerLink: orderedPerLink)
    var simulation = Simulation<ToyNode>(nodeCount: nodes, seed: seed, network: network, clockDriftMaxPartsPerMillion: 10_000) { index, disk, _ in
        ToyNode(index: index, nodeCount: nodes, disk: disk)
    }
    var checker = ToyChecker()
    _ = checker.check(simulation, after: simulation.startAll())
    if faults {
        var random = SeededGenerator(seed: seed ^ 0x5EED)
        var time: Int64 = 0
        for _ in 0..<30 {
            time += Int64.random(in: 1_000_000...200_000_000, using: &random)
            let node = Int.random(in: 0..<nodes, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: simulation.partition(sides: (0..<nodes).map { _ in Int.random(in: 0..<2, using: &random) }, at: time)
            case 1:
                simulation.crash(node, at: time)
                simulation.restart(node, disk: [.kept, .lost, .torn][Int.random(in: 0..<3, using: &random)], reboot: random.chance(0.5),
                                   at: time + Int64.random(in: 1_000_000...100_000_000, using: &random))
            default: simulation.partition(sides: Array(repeating: 0, count: nodes), at: time)
            }
        }
    }
    simulation.run(until: 2_500_000_000, checker: &checker)
    return (simulation, checker)
}

struct SimulationKernelTests {
    @Test func sameSeedSameDigestOtherSeedOtherDigest() {
        let (first, _) = toyRun(seed: 42, orderedPerLink: false)
        let (again, _) = toyRun(seed: 42, orderedPerLink: false)
        let (other, _) = toyRun(seed: 43, orderedPerLink: false)
        #expect(first.steps > 1000)
        #expect(first.digest == again.digest)
        #expect(first.steps == again.steps)
        #expect(first.traceTail == again.traceTail)
        #expect(first.digest != other.digest)
    }

    @Test func virtualSynchronyHoldsUnderPartitionsAndCrashes() {
        var views = 0
        for seed in UInt64(1)...30 {
            let (_, checker) = toyRun(seed: seed, orderedPerLink: true)
            #expect(checker.failures.isEmpty, "seed \(seed): \(checker.failures)")
            views += checker.closed.count
        }
        #expect(views > 250, "the faults changed the views \(views) times")
    }

    /// The virtual-synchrony check bites: two movers to the same view with different messages,
    /// or two members with the same messages in another order, are reported.
    @Test func theVirtualSynchronyCheckBites() {
        let simulation = Simulation<ToyNode>(nodeCount: 2, seed: 1, network: NetworkModel()) { index, disk, _ in
            ToyNode(index: index, nodeCount: 2, disk: disk)
        }
        let old = GroupView(id: 1, members: [0, 1])
        let next = GroupView(id: 2, members: [0, 1])
        let a = ToyNode.Message.note(from: 0, number: 1)
        let b = ToyNode.Message.note(from: 1, number: 1)
        for (first, second) in [([a, b], [a]), ([a, b], [b, a])] {
            var checker = ToyChecker()
            var step = Simulation<ToyNode>.StepReport(time: 0, node: nil)
            step.observations = [(0, .closed(view: old, next: next, log: first)), (1, .closed(view: old, next: next, log: second))]
            let goesOn = checker.check(simulation, after: step)
            #expect(!goesOn)
            #expect(!checker.failures.isEmpty)
        }
    }

    @Test func orderedPerLinkKeepsPingsInOrderAndUnorderedReorders() {
        let (_, ordered) = toyRun(seed: 7, orderedPerLink: true, faults: false)
        let (_, unordered) = toyRun(seed: 7, orderedPerLink: false, faults: false)
        #expect(ordered.outOfOrderPings == 0)
        #expect(unordered.outOfOrderPings > 0)
    }

    @Test func restartsKeepLoseOrTearTheDisk() {
        var simulation = Simulation<ToyNode>(nodeCount: 2, seed: 1, network: NetworkModel()) { index, disk, _ in
            ToyNode(index: index, nodeCount: 2, disk: disk)
        }
        var checker = ToyChecker()
        _ = simulation.startAll()
        simulation.inject(.write(1000), to: 0, at: 1_000_000)
        simulation.crash(0, at: 1_000_000)
        simulation.restart(0, disk: .kept, reboot: false, at: 2_000_000)
        simulation.crash(0, at: 2_000_000)
        simulation.restart(0, disk: .torn, reboot: false, at: 3_000_000)
        simulation.crash(0, at: 3_000_000)
        simulation.restart(0, disk: .lost, reboot: false, at: 4_000_000)
        simulation.run(until: 4_000_000, checker: &checker)
        #expect(checker.starts.map(\.disk) == [1000, -1000, nil])
        #expect(simulation.boots[0].number == 4)
    }

    @Test func wakeUpsFollowTheLocalClockAndARebootRestartsIt() {
        var simulation = Simulation<ToyNode>(nodeCount: 1, seed: 3, network: NetworkModel(), clockDriftMaxPartsPerMillion: 50_000) { index, disk, _ in
            ToyNode(index: index, nodeCount: 1, disk: disk)
        }
        _ = simulation.startAll()
        let clock = simulation.clocks[0]
        #expect(clock.local(clock.real(123_456_789_000)) >= 123_456_789_000)
        #expect(clock.local(clock.real(123_456_789_000) - 1) < 123_456_789_000)
        #expect(simulation.localNow(0) > 1_000_000_000 || simulation.clocks[0].offset >= 0)
        simulation.crash(0, at: 500_000_000_000)
        simulation.restart(0, disk: .kept, reboot: true, at: 600_000_000_000)
        while simulation.step(until: 600_000_000_000) != nil {}
        #expect(simulation.boots[0].rebooted)
        #expect(simulation.localNow(0) >= 1_000_000_000 && simulation.localNow(0) <= 30_000_000_000)
    }
}
