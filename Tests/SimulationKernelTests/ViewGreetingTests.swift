import SimulationKernel
import Testing

/// A node that multicasts a greeting at every view, as a join round does (baton-crmd's
/// announce), and logs what it delivered in each view.
struct GreeterNode: SimulatedNode {
    typealias Message = Int
    typealias Input = Never
    typealias Observation = Never
    let index: Int
    var disk: Int? { nil }
    var view: GroupView?
    var greetings: [UInt64: [Int]] = [:]

    mutating func handle(_ event: NodeEvent<Int, Never>, context: inout NodeContext<GreeterNode>) {
        switch event {
        case .view(let next):
            view = next
            context.multicast(index)
        case .groupMessage(_, let greeting, let messageView):
            greetings[messageView.id, default: []].append(greeting)
        case .start, .message:
            break
        }
    }
}

@Suite struct ViewGreetingTests {
    /// Found by the crmd simulation: at a view change the kernel reset a member's delivery
    /// barrier after the members before it had already multicast in the new view, so a later
    /// greeting could overtake an earlier one and the earlier was dropped as out of order.
    @Test func everyMemberDeliversEveryGreetingOfItsViewInOneOrder() {
        for seed in UInt64(1)...50 {
            var simulation = Simulation<GreeterNode>(nodeCount: 5, seed: seed, network: NetworkModel()) { index, _, _ in GreeterNode(index: index) }
            _ = simulation.startAll()
            simulation.crash(4, at: 100_000_000)
            simulation.restart(4, disk: .kept, reboot: false, at: 200_000_000)
            simulation.partition(sides: [0, 0, 1, 1, 1], at: 300_000_000)
            simulation.partition(sides: [0, 0, 0, 0, 0], at: 400_000_000)
            while simulation.step() != nil {}
            let nodes = simulation.nodes.compactMap { $0 }
            #expect(nodes.count == 5)
            var orders: [UInt64: [Int]] = [:]
            for node in nodes {
                for (view, log) in node.greetings {
                    if let other = orders[view] { #expect(other == log, "seed \(seed), view \(view): \(other) against \(log)") }
                    orders[view] = log
                }
            }
            for node in nodes {
                guard let view = node.view else { continue }
                #expect(node.greetings[view.id]?.sorted() == view.members, "seed \(seed), node \(node.index) in \(view): \(node.greetings[view.id] ?? [])")
            }
        }
    }
}
