/// What a node of a simulation is: a pure state machine behind this protocol. The kernel
/// (`Simulation`) owns the clock, the network and the faults; a node sees only its events, its
/// own local clock reading, and a seeded generator, and answers with directives through its
/// context.
///
/// Events a node gets, in the order the kernel makes them happen:
///
/// | event                         | when                                                      |
/// |-------------------------------|-----------------------------------------------------------|
/// | `.start`                      | right after the kernel made the node (first boot, restart)|
/// | `.message(from:, m)`          | a point-to-point `send` arrived over its link             |
/// | `.groupMessage(from:, m, v)`  | a `multicast` of view `v`, in view `v`'s total order      |
/// | `.view(v)`                    | the group membership changed (CPG's confchg)              |
/// | `.input(i)`                   | a wake-up it asked for, or an input the test injected     |
///
/// A node that speaks CPG-like group messaging (the coming crmd node core) uses `multicast`
/// and `.groupMessage` / `.view`: virtual synchrony holds (see `GroupLayer`): a message sent in
/// view `v` is delivered to every member of `v` in one total order, all members that pass from
/// `v` into the same next view have delivered the same messages of `v` before that next view's
/// `.view` event, and a message is never delivered in a view other than the one it was sent in.
/// A multicast made while a node handles the rest of its old view (before its `.view` event)
/// already belongs to the new view, as in CPG after the configuration change; messages are not
/// lost inside a view (loss and one-way cuts act on `send` only; partitions change the views).
/// A node that speaks point-to-point (batond's mesh) uses `send` and `.message`.
///
/// Persistence: `disk` is what the node has made durable. The kernel reads it at a crash and
/// hands it (kept, torn by `tear`, or lost) to the node factory at the restart. A node writes
/// its disk before it returns its directives, so persist-before-send holds by construction.
public protocol SimulatedNode {
    associatedtype Message
    associatedtype Input
    associatedtype Disk
    /// What the node tells the checker (for example "told the admin: granted").
    associatedtype Observation

    var disk: Disk? { get }

    mutating func handle(_ event: NodeEvent<Message, Input>, context: inout NodeContext<Self>)

    /// A crash in the middle of a write: what is left of `disk` (default: the disk unchanged,
    /// i.e. the write was atomic).
    static func tear(_ disk: Disk, random: inout SeededGenerator) -> Disk?
}

extension SimulatedNode {
    public static func tear(_ disk: Disk, random: inout SeededGenerator) -> Disk? { disk }
}

/// A node's number in the simulation (0..<nodeCount).
public typealias NodeIndex = Int

public enum NodeEvent<Message, Input> {
    case start
    case message(from: NodeIndex, Message)
    case groupMessage(from: NodeIndex, Message, view: GroupView)
    case view(GroupView)
    case input(Input)
}

/// A group membership (CPG's configuration): an id unique in the run, its members in
/// ascending order, and each member's boot number (parallel to `members`): CPG names a member
/// by node and pid, and a restarted process is a new member on the same node.
public struct GroupView: Sendable, Hashable, CustomStringConvertible {
    public let id: UInt64
    public let members: [NodeIndex]
    public let boots: [Int]

    public init(id: UInt64, members: [NodeIndex], boots: [Int]? = nil) {
        precondition(members == members.sorted() && Set(members).count == members.count, "view members \(members) not sorted and unique")
        precondition(boots == nil || boots!.count == members.count, "view boots \(boots!) not one per member of \(members)")
        self.id = id
        self.members = members
        self.boots = boots ?? Array(repeating: 0, count: members.count)
    }

    public var description: String { "view \(id) \(members)" }
}

/// How a node came up: its boot number counts every start of the node; `rebooted` says the
/// machine restarted (its local clock started again near zero), not only the process;
/// `machine` counts the machine's boots (a boot id: the same between process restarts).
public struct Boot: Sendable, Equatable {
    public let number: Int
    public let rebooted: Bool
    public let machine: Int
}

/// What a node may do while handling one event. The directives leave after `handle` returns,
/// in the order given.
public struct NodeContext<Node: SimulatedNode> {
    public let node: NodeIndex
    /// The node's local clock (nanoseconds; drifts, restarts near zero after a reboot).
    public let now: Int64
    public let boot: Boot
    /// Lent by the kernel for this event (the run's only randomness).
    public var random: SeededGenerator
    public private(set) var directives: [Directive] = []
    public private(set) var observations: [Node.Observation] = []
    public static var directivesMax: Int { 100_000 }

    public enum Directive {
        case send(to: NodeIndex, Node.Message)
        case multicast(Node.Message)
        /// An input back at local time `at` (a timer, side work that completes).
        case wakeUp(at: Int64, Node.Input)
        case trace(String)
    }

    init(node: NodeIndex, now: Int64, boot: Boot, random: SeededGenerator) {
        self.node = node
        self.now = now
        self.boot = boot
        self.random = random
    }

    public mutating func send(_ message: Node.Message, to target: NodeIndex) { add(.send(to: target, message)) }
    public mutating func multicast(_ message: Node.Message) { add(.multicast(message)) }
    public mutating func wakeUp(at local: Int64, _ input: Node.Input) { add(.wakeUp(at: local, input)) }
    public mutating func after(_ delay: Duration, _ input: Node.Input) { add(.wakeUp(at: now + delay.nanosecondsValue, input)) }
    public mutating func trace(_ line: String) { add(.trace(line)) }
    public mutating func observe(_ observation: Node.Observation) { observations.append(observation) }

    private mutating func add(_ directive: Directive) {
        precondition(directives.count < Self.directivesMax, "node \(node): over \(Self.directivesMax) directives for one event")
        directives.append(directive)
    }
}

extension Duration {
    /// The span in whole nanoseconds (simulated spans fit in 64 bits: < 292 years).
    public var nanosecondsValue: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
