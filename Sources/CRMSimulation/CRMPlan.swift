import CRMCore
import SimulationKernel

/// The faults a run may draw (`baton crm simulate --faults`).
public enum CRMFault: String, CaseIterable, Sendable, Hashable, Comparable {
    /// The network splits the nodes into sides (each its own CPG view), then heals.
    case partition
    /// kill -9 of a baton-crmd (its corosync stays: the node keeps its vote), restarted later
    /// as a new process (new pid, memory lost; the CIB log on disk kept or lost).
    case crash
    /// kill -9 of whichever node is DC, right after a burst of writes: writes in flight at the
    /// view boundary, a sender that leaves before its messages are delivered.
    case dcKill = "dc-kill"
    /// A node that nobody ever saw is added to the nodelist (corosync reload), later removed.
    case nodelist
    /// A process that is no baton-crmd joins the group and sends garbage, later leaves.
    case stranger
    /// Admins write attributes and the CIB on random nodes.
    case writes

    public static func < (left: CRMFault, right: CRMFault) -> Bool { left.rawValue < right.rawValue }

    /// The case's name in Swift (for a printed regression test).
    public var swiftName: String { self == .dcKill ? "dcKill" : rawValue }

    /// Parses `--faults`: a comma-separated list, `all` or `none`.
    public static func parse(_ text: String) throws(CRMPlanError) -> Set<CRMFault> {
        if text == "all" { return Set(allCases) }
        if text == "none" { return [] }
        var faults: Set<CRMFault> = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let fault = CRMFault(rawValue: String(name)) else {
                throw .unknownFault(String(name), known: allCases.map(\.rawValue))
            }
            faults.insert(fault)
        }
        return faults
    }
}

public enum CRMPlanError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownFault(String, known: [String])
    public var description: String {
        switch self {
        case .unknownFault(let name, let known): "fault \"\(name)\": expected all, none or a comma-separated list of \(known.joined(separator: ", "))"
        }
    }
}

/// A shell broken on purpose, to see the checks bite (tests only).
public enum CRMSabotage: Sendable, Equatable {
    /// Node 0's shell never hands its core the first ordered CIB write it receives.
    case dropsOneAppliedWrite
    /// Every shell ignores the core's timer cancels: dc-deadtime fires after rounds settled.
    case ignoresTimerCancels
    /// Every shell reports a CIB write acknowledged when the DC's order is delivered, before a
    /// majority holds it (the rule before majority acknowledgement).
    case acknowledgesOnDelivery
}

/// What a run looks like: nodes, faults, phases. Defaults are Pacemaker's (dc-deadtime 20 s).
public struct CRMScenario: Sendable, Equatable {
    public var nodes: Int
    public var faults: Set<CRMFault>
    /// Faults drawn per run (each lasts a while and ends itself).
    public var faultCount: Int
    /// Admin writes per run (with `writes`).
    public var writeCount: Int
    public var faultPhase: Duration
    /// After the heal: no fault, no write; then the convergence checks.
    public var quietPhase: Duration
    public var dcDeadtime: Duration
    public var sabotage: CRMSabotage?

    public static var nodesRange: ClosedRange<Int> { 3...32 }

    public init(nodes: Int = 5, faults: Set<CRMFault> = Set(CRMFault.allCases), faultCount: Int = 12, writeCount: Int = 40,
                faultPhase: Duration = .seconds(60), quietPhase: Duration = .seconds(90), dcDeadtime: Duration = .seconds(20)) {
        precondition(Self.nodesRange.contains(nodes), "CRMScenario: \(nodes) nodes outside \(Self.nodesRange)")
        precondition(faultCount >= 0 && faultCount <= 10_000 && writeCount >= 0 && writeCount <= 100_000, "CRMScenario: \(faultCount) faults, \(writeCount) writes")
        precondition(faultPhase >= .seconds(3) && quietPhase > dcDeadtime * 2, "CRMScenario: phases \(faultPhase), \(quietPhase) against dc-deadtime \(dcDeadtime)")
        self.nodes = nodes
        self.faults = faults
        self.faultCount = faultCount
        self.writeCount = writeCount
        self.faultPhase = faultPhase
        self.quietPhase = quietPhase
        self.dcDeadtime = dcDeadtime
    }

    /// The stranger's node index (after the real nodes), when the run has one.
    public var strangerIndex: NodeIndex? { faults.contains(.stranger) ? nodes : nil }
    public var nodeCount: Int { nodes + (strangerIndex == nil ? 0 : 1) }
}

/// One step of a run's plan: an action at a time (milliseconds of simulated time). A plan
/// prints itself as Swift (`description`), so a failing run pastes into a regression test.
public struct CRMStep: Sendable, Equatable, CustomStringConvertible {
    public var at: Int64
    public var action: CRMAction

    public init(_ at: Int64, _ action: CRMAction) {
        precondition(at >= 0, "CRMStep at \(at) ms")
        self.at = at
        self.action = action
    }

    public var description: String { ".init(\(at), .\(action))" }
}

public enum CRMAction: Sendable, Equatable, CustomStringConvertible {
    /// kill -9 of node's baton-crmd.
    case crash(node: Int)
    /// kill -9 of the node that is DC now (the lowest, if a partition has several).
    case crashDC(restartAfter: Int64, keepDisk: Bool)
    case restart(node: Int, keepDisk: Bool)
    /// Each node's side (the stranger's last); all zero heals.
    case sides([Int])
    /// Nodes never seen added to the nodelist of every node (0 removes them).
    case phantoms(Int)
    case strangerJoins
    case strangerLeaves
    /// The stranger multicasts garbage drawn from this seed.
    case garbage(seed: UInt64)
    /// An attribute write on `node`; target nil = the cluster options.
    case attribute(node: Int, target: Int?, name: String, value: String?)
    case cibWrite(node: Int, number: UInt64)
    /// End of the faults: one side, every baton-crmd up, the stranger gone.
    case heal

    public var description: String {
        switch self {
        case .crash(let node): "crash(node: \(node))"
        case .crashDC(let after, let keep): "crashDC(restartAfter: \(after), keepDisk: \(keep))"
        case .restart(let node, let keep): "restart(node: \(node), keepDisk: \(keep))"
        case .sides(let sides): "sides(\(sides))"
        case .phantoms(let count): "phantoms(\(count))"
        case .strangerJoins: "strangerJoins"
        case .strangerLeaves: "strangerLeaves"
        case .garbage(let seed): "garbage(seed: \(seed))"
        case .attribute(let node, let target, let name, let value):
            "attribute(node: \(node), target: \(target.map(String.init) ?? "nil"), name: \"\(name)\", value: \(value.map { "\"\($0)\"" } ?? "nil"))"
        case .cibWrite(let node, let number): "cibWrite(node: \(node), number: \(number))"
        case .heal: "heal"
        }
    }

    var fault: CRMFault? {
        switch self {
        case .crash, .restart: .crash
        case .crashDC: .dcKill
        case .sides: .partition
        case .phantoms: .nodelist
        case .strangerJoins, .strangerLeaves, .garbage: .stranger
        case .attribute, .cibWrite: .writes
        case .heal: nil
        }
    }
}

/// Draws a run's plan from its seed: faults in the fault phase, each undone before the heal.
public enum CRMPlan {
    static let attributeNames = [
        AttributeName.failCount(resource: "db", operation: "monitor", intervalMilliseconds: 10_000),
        AttributeName.promotionScore(resource: "db"), AttributeName.shutdown, "site-role",
    ]
    static let clusterOptions = [AttributeName.noQuorumPolicy, "stonith-enabled", "batch-limit"]

    public static func draw(_ scenario: CRMScenario, seed: UInt64) -> [CRMStep] {
        var random = SeededGenerator(seed: seed ^ 0xC4D_5173)
        let end = scenario.faultPhase.nanosecondsValue / 1_000_000
        let nodes = scenario.nodes
        var steps: [CRMStep] = []
        var writeNumbers = Array(repeating: UInt64(0), count: nodes)
        func time(from low: Int64 = 2_000) -> Int64 { Int64.random(in: low...(end - 1_000), using: &random) }
        func lasting(_ from: Int64) -> Int64 { min(end - 1, from + Int64.random(in: 100...15_000, using: &random)) }
        func write(at: Int64) {
            let node = Int.random(in: 0..<nodes, using: &random)
            if random.chance(0.5) {
                writeNumbers[node] += 1
                steps.append(.init(at, .cibWrite(node: node, number: writeNumbers[node])))
            } else if random.chance(0.8) {
                let value: String? = random.chance(0.2) ? nil : String(Int.random(in: 0...9, using: &random))
                steps.append(.init(at, .attribute(node: node, target: Int.random(in: 0..<nodes, using: &random),
                                                  name: attributeNames.randomElement(using: &random)!, value: value)))
            } else {
                steps.append(.init(at, .attribute(node: node, target: nil, name: clusterOptions.randomElement(using: &random)!,
                                                  value: ["stop", "ignore", "freeze", "true", "10"].randomElement(using: &random)!)))
            }
        }
        if scenario.faults.contains(.writes) {
            for _ in 0..<scenario.writeCount { write(at: time(from: 500)) }
        }
        let kinds = scenario.faults.subtracting([.writes]).sorted()
        for _ in 0..<(kinds.isEmpty ? 0 : scenario.faultCount) {
            let at = time()
            switch kinds.randomElement(using: &random)! {
            case .partition:
                let sideCount = Int.random(in: 2...3, using: &random)
                var sides = (0..<scenario.nodeCount).map { _ in Int.random(in: 0..<sideCount, using: &random) }
                if sides.allSatisfy({ $0 == sides[0] }) { sides[0] = (sides[0] + 1) % sideCount }
                steps.append(.init(at, .sides(sides)))
                steps.append(.init(lasting(at), .sides(Array(repeating: 0, count: scenario.nodeCount))))
            case .crash:
                let node = Int.random(in: 0..<nodes, using: &random)
                steps.append(.init(at, .crash(node: node)))
                steps.append(.init(lasting(at), .restart(node: node, keepDisk: random.chance(0.5))))
            case .dcKill:
                if scenario.faults.contains(.writes) {
                    for _ in 0..<Int.random(in: 1...4, using: &random) { write(at: at) }
                }
                steps.append(.init(at + Int64.random(in: 0...15, using: &random),
                                   .crashDC(restartAfter: Int64.random(in: 100...10_000, using: &random), keepDisk: random.chance(0.5))))
            case .nodelist:
                steps.append(.init(at, .phantoms(Int.random(in: 1...2, using: &random))))
                steps.append(.init(lasting(at), .phantoms(0)))
            case .stranger:
                let leaves = lasting(at)
                steps.append(.init(at, .strangerJoins))
                for _ in 0..<Int.random(in: 1...5, using: &random) {
                    steps.append(.init(Int64.random(in: at...leaves, using: &random), .garbage(seed: random.next())))
                }
                steps.append(.init(leaves, .strangerLeaves))
            case .writes:
                preconditionFailure("CRMPlan: writes are drawn apart")
            }
        }
        steps.append(.init(end, .heal))
        // Stable: equal times keep the order drawn.
        return steps.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    /// Garbage bytes as a stranger might send them: random bytes, or a header that looks right
    /// followed by nonsense.
    public static func garbage(seed: UInt64) -> [UInt8] {
        var random = SeededGenerator(seed: seed)
        let length = Int.random(in: 0...96, using: &random)
        var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
        if random.chance(0.5) && bytes.count >= 12 {
            bytes.replaceSubrange(0..<5, with: [0x42, 0x43, 0x52, 0x4D, MessageWire.version])
            bytes[5] = UInt8.random(in: 1...7, using: &random)
        }
        return bytes
    }
}
