import CRMCore
import SimulationKernel

/// A CIB write's identity across nodes: who asked, its request number, what it carries.
struct WriteKey: Hashable, Sendable, CustomStringConvertible {
    let origin: Member
    let requestID: UInt64
    let payload: [UInt8]
    init(_ write: CIBWrite) {
        origin = write.origin
        requestID = write.requestID
        payload = write.payload
    }
    var description: String { "\(String(decoding: payload, as: UTF8.self)) (\(origin) #\(requestID))" }
}

/// One simulated site cluster: `scenario.nodes` baton-crmd processes, each the real `NodeCore`
/// in a `CRMNode` shell, on the simulation kernel's CPG-like group (virtual synchrony), with
/// votequorum's quorum computed here from the partition's votes (a node's vote stays while its
/// corosync runs: a baton-crmd crash keeps it; expected votes = the nodelist's size), and the
/// plan's faults and admin writes. The checks run after every step (see `check`), the
/// convergence checks after the heal and the quiet phase (see `finish`).
public struct CRMWorld {
    public let scenario: CRMScenario
    public let seed: UInt64
    public let plan: [CRMStep]
    public private(set) var simulation: Simulation<CRMNode>
    public private(set) var violations: [String] = []
    /// Faults injected, by kind.
    public private(set) var faultsInjected: [CRMFault: Int] = [:]
    public private(set) var writesAcknowledged = 0
    /// Requests refused by a core (its pending limit, an invalid target).
    public private(set) var refused = 0
    /// CIB writes whose every holder died before anyone else applied the sequence: NodeCore
    /// keeps no CIB on disk (the CIB service will), so its order restarts with a new history.
    public private(set) var historiesLost = 0
    /// Of those, acknowledged ones.
    public private(set) var acknowledgedLostWithEveryHolder = 0
    /// (node, sequence) pairs a member never applied although the DC's order passed them (it
    /// was away or new): what the CIB service's resync fills in.
    public private(set) var gapsForResync = 0

    /// CIB orders that forked because every process of one side had restarted since the other
    /// applied the write (see `amnesiac`): what NodeCore cannot prevent without a CIB on disk.
    public private(set) var forksAfterRestarts = 0

    /// Acknowledged writes a majority without any holder reused the sequence of, where that
    /// majority met the write's majority only in nodes whose disk was lost since they applied
    /// it (see `lostToAmnesia`): two faults in the write's majority (a lost disk, the other
    /// holders cut off), beyond the fault model of a majority protocol (README).
    public private(set) var acknowledgedLostToAmnesia = 0

    var actions = EventQueue<CRMAction>()
    var sides: [Int]
    var phantoms = 0
    /// Per node: the CIB writes its current process applied, by sequence.
    var logs: [[UInt64: WriteKey]]
    /// Per node: when its current process applied each sequence, and when it started.
    var appliedAt: [[UInt64: Int64]]
    var bootedAt: [Int64]
    /// Per node: the writes its processes applied since its disk was last lost (what a restart
    /// with the disk kept starts from, as its saved CIB and sequence).
    var diskHeld: [[UInt64: WriteKey]]
    /// Per node: writes a process of it applied, then lost with its disk.
    var forgotten: [[UInt64: WriteKey]]
    /// Per sequence: the write a majority overwrote because its holders in that majority were
    /// amnesiac; holders elsewhere keep it until their resync, which is no divergence.
    var supersededByAmnesia: [UInt64: WriteKey] = [:]
    /// The write last applied at each sequence, anywhere.
    var history: [UInt64: WriteKey] = [:]
    var acknowledged: [UInt64: WriteKey] = [:]
    var stopped = false

    public init(scenario: CRMScenario, seed: UInt64, plan: [CRMStep]? = nil, keepFullTrace: Bool = false) {
        self.scenario = scenario
        self.seed = seed
        self.plan = plan ?? CRMPlan.draw(scenario, seed: seed)
        let stranger = scenario.strangerIndex
        let deadtime = scenario.dcDeadtime
        let sabotage = scenario.sabotage
        simulation = Simulation(nodeCount: scenario.nodeCount, seed: seed, network: NetworkModel(delayMin: .milliseconds(1), delayMax: .milliseconds(20)),
                                keepFullTrace: keepFullTrace) { index, disk, boot in
            CRMNode(index: index, strangerIndex: stranger, boot: boot, disk: disk, dcDeadtime: deadtime, sabotage: sabotage)
        }
        sides = Array(repeating: 0, count: scenario.nodeCount)
        logs = Array(repeating: [:], count: scenario.nodeCount)
        appliedAt = Array(repeating: [:], count: scenario.nodeCount)
        bootedAt = Array(repeating: 0, count: scenario.nodeCount)
        diskHeld = Array(repeating: [:], count: scenario.nodeCount)
        forgotten = Array(repeating: [:], count: scenario.nodeCount)
    }

    public var now: Int64 { simulation.now }
    public var steps: Int { simulation.steps }
    public var nodelist: [ConfiguredNode] {
        (0..<(scenario.nodes + phantoms)).map { ConfiguredNode(nodeID: NodeID(UInt32($0 + 1)), name: "node\($0 + 1)") }
    }
    public func core(_ node: NodeIndex) -> NodeCore? { simulation.nodes[node]?.core }

    /// votequorum: the votes on `node`'s side against the nodelist's size.
    func quorate(_ node: NodeIndex) -> Bool {
        let votes = (0..<scenario.nodes).filter { sides[$0] == sides[node] }.count
        return votes * 2 > scenario.nodes + phantoms
    }

    // MARK: - Running

    /// Cold start, the plan, the heal, the quiet phase; the checks after every step.
    public mutating func run() -> [String] {
        _ = simulation.startAll()
        if let stranger = scenario.strangerIndex { simulation.crash(stranger, at: 0) }
        for node in 0..<scenario.nodes { simulation.inject(.boot(nodelist: nodelist, quorate: quorate(node)), to: node, at: 0) }
        for step in plan { actions.push(step.action, at: step.at * 1_000_000) }
        let coldStartCheck: Int64 = 1_000_000_000
        let end = scenario.faultPhase.nanosecondsValue + scenario.quietPhase.nanosecondsValue
        var coldStartChecked = false
        while !stopped {
            let nextAction = min(actions.nextTime ?? .max, coldStartChecked ? .max : coldStartCheck, end)
            while !stopped, let report = simulation.step(until: nextAction) {
                observe(report)
                check()
            }
            guard !stopped, nextAction < end else { break }
            simulation.advance(to: nextAction)
            if !coldStartChecked && nextAction == coldStartCheck {
                coldStartChecked = true
                checkColdStart()
                continue
            }
            guard let (_, action) = actions.pop() else { break }
            act(action)
        }
        if !stopped { finish() }
        return violations
    }

    mutating func act(_ action: CRMAction) {
        if let fault = action.fault, fault != .writes { faultsInjected[fault, default: 0] += 1 }
        switch action {
        case .crash(let node):
            crash(node)
        case .crashDC(let after, let keep):
            let dc = (0..<scenario.nodes).first { core($0)?.isDC == true }
            guard let dc else { return }
            simulation.note("kill -9 of the DC, node \(dc)")
            crash(dc)
            actions.push(.restart(node: dc, keepDisk: keep), at: now + after * 1_000_000)
        case .restart(let node, let keep):
            restart(node, keepDisk: keep)
        case .sides(let next):
            precondition(next.count == scenario.nodeCount, "CRMWorld: sides \(next) for \(scenario.nodeCount) nodes")
            sides = next
            simulation.partition(sides: next, at: now)
            tellQuorum()
        case .phantoms(let count):
            phantoms = count
            for node in 0..<scenario.nodes { simulation.inject(.nodelist(nodelist), to: node, at: now) }
            tellQuorum()
        case .strangerJoins:
            if let stranger = scenario.strangerIndex { simulation.restart(stranger, disk: .lost, reboot: false, at: now) }
        case .strangerLeaves:
            if let stranger = scenario.strangerIndex { simulation.crash(stranger, at: now) }
        case .garbage(let seed):
            if let stranger = scenario.strangerIndex { simulation.inject(.garbage(CRMPlan.garbage(seed: seed)), to: stranger, at: now) }
        case .attribute(let node, let target, let name, let value):
            simulation.inject(.attribute(target.map { .node(NodeID(UInt32($0 + 1))) } ?? .cluster, name: name, value: value), to: node, at: now)
        case .cibWrite(let node, let number):
            simulation.inject(.cibWrite(number: number), to: node, at: now)
        case .heal:
            simulation.note("HEAL: one side, every baton-crmd up, the stranger gone")
            if sides.contains(where: { $0 != 0 }) { act(.sides(Array(repeating: 0, count: scenario.nodeCount))) }
            for node in 0..<scenario.nodes where !simulation.isUp(node) { restart(node, keepDisk: true) }
            if let stranger = scenario.strangerIndex, simulation.isUp(stranger) { simulation.crash(stranger, at: now) }
            // Writes still queued by the plan after the heal are dropped: the quiet phase is quiet.
            actions = EventQueue()
        }
    }

    mutating func crash(_ node: NodeIndex) {
        guard simulation.isUp(node) else { return }
        simulation.crash(node, at: now)
        logs[node] = [:]
        appliedAt[node] = [:]
    }

    mutating func restart(_ node: NodeIndex, keepDisk: Bool) {
        guard !simulation.isUp(node) else { return }
        simulation.restart(node, disk: keepDisk ? .kept : .lost, reboot: false, at: now)
        if !keepDisk {
            forgotten[node].merge(diskHeld[node]) { _, lost in lost }
            diskHeld[node] = [:]
        }
        bootedAt[node] = now
        simulation.inject(.boot(nodelist: nodelist, quorate: quorate(node)), to: node, at: now)
    }

    mutating func tellQuorum() {
        for node in 0..<scenario.nodes { simulation.inject(.quorum(quorate(node)), to: node, at: now) }
    }

    // MARK: - Checks

    mutating func fail(_ violation: String) {
        violations.append("\(Simulation<CRMNode>.format(now)): \(violation)")
        simulation.note("VIOLATION: \(violation)")
        stopped = true
    }

    mutating func observe(_ report: Simulation<CRMNode>.StepReport) {
        for (node, observation) in report.observations {
            switch observation {
            case .applied(let write):
                applied(write, on: node)
            case .deadtimeWithEveryNodePresent(let view):
                fail("node \(node) waited dc-deadtime although every nodelist node is in its view \(view)")
            case .noDCAfterDCLoss(let left, let view):
                fail("node \(node): DC \(left) left, no new DC at that membership change (view \(view))")
            case .refused:
                refused += 1
            }
        }
    }

    /// One order of CIB writes: no two live processes hold different writes at a sequence, and
    /// an acknowledged write keeps its sequence while any process holds it.
    mutating func applied(_ write: CIBWrite, on node: NodeIndex) {
        let key = WriteKey(write)
        let sequence = write.sequence
        var lostToAmnesia = false
        for other in 0..<scenario.nodes {
            if let held = logs[other][sequence], held != key {
                if supersededByAmnesia[sequence] == held { continue }
                if self.lostToAmnesia(held, at: sequence, appliedOn: node) {
                    lostToAmnesia = true
                    supersededByAmnesia[sequence] = held
                    if acknowledged[sequence] == held {
                        acknowledgedLostToAmnesia += 1
                        acknowledged[sequence] = nil
                    }
                    simulation.note("write lost to amnesia at sequence \(sequence): node \(node) \(key), node \(other) holds \(held), its holders in node \(node)'s view lost their disks")
                    continue
                }
                if amnesiac(node, against: other, at: sequence) {
                    // Every process of the applying side started after the holder applied its
                    // write: NodeCore keeps no CIB on disk, so that side began a new history
                    // (the CIB service's persisted CIB is what prevents it).
                    forksAfterRestarts += 1
                    simulation.note("history fork after restarts at sequence \(sequence): node \(node) \(key), node \(other) \(held)")
                    continue
                }
                let lost = acknowledged[sequence] == held ? "acknowledged write lost: " : ""
                fail("\(lost)CIB order diverged at sequence \(sequence): node \(node) applied \(key), node \(other) holds \(held)")
                return
            }
        }
        if let previous = history[sequence], previous != key, !lostToAmnesia {
            // Nobody alive holds the previous write at this sequence (checked above).
            historiesLost += 1
            if acknowledged[sequence] == previous { acknowledgedLostWithEveryHolder += 1 }
            acknowledged[sequence] = nil
        }
        history[sequence] = key
        logs[node][sequence] = key
        diskHeld[node][sequence] = key
        if forgotten[node][sequence] != nil { forgotten[node][sequence] = nil }
        appliedAt[node][sequence] = now
        if write.origin == simulation.nodes[node]?.member {
            acknowledged[sequence] = key
            writesAcknowledged += 1
            simulation.note("node \(node) acknowledged \(key) at sequence \(sequence)")
        }
    }

    /// True when `held` (at `sequence`) was lost to amnesia, not to a protocol fault: no baton-crmd
    /// of `node`'s view holds it, on its disk or in memory, and at least one node of that view
    /// applied it and lost it with its disk since. A majority that reuses the sequence shares
    /// a node with the write's majority (quorum intersection); when every such shared node is
    /// amnesiac, nothing the protocol can see remembers the write. A view whose nodes never
    /// held the write (the old bugs: a minority's acknowledgement, a round that took a lower
    /// sequence) is not excused.
    func lostToAmnesia(_ held: WriteKey, at sequence: UInt64, appliedOn node: NodeIndex) -> Bool {
        guard let view = simulation.view(of: node) else { return false }
        let members = view.members.filter { $0 < scenario.nodes }
        guard members.allSatisfy({ logs[$0][sequence] != held && diskHeld[$0][sequence] != held }) else { return false }
        return members.contains { forgotten[$0][sequence] == held }
    }

    /// True when every baton-crmd of `node`'s view started after `holder` applied the write it
    /// holds at `sequence`: none of them can know it (a process that met the holder since took
    /// its sequence in the round), so the fork is the amnesia of restarted processes.
    func amnesiac(_ node: NodeIndex, against holder: NodeIndex, at sequence: UInt64) -> Bool {
        guard let view = simulation.view(of: node), let appliedAt = appliedAt[holder][sequence] else { return false }
        return view.members.allSatisfy { member in member >= scenario.nodes || bootedAt[member] > appliedAt }
    }

    /// After every step: per CPG view, the settled members agree on one DC that is a member,
    /// at most one member acts as DC; no store holds attributes of a node outside its view.
    mutating func check() {
        var byView: [UInt64: [NodeIndex]] = [:]
        for node in 0..<scenario.nodes {
            guard let view = simulation.view(of: node), core(node) != nil else { continue }
            byView[view.id, default: []].append(node)
        }
        for (viewID, members) in byView.sorted(by: { $0.key < $1.key }) {
            var dc: Member??
            var acting: [NodeIndex] = []
            var inView = Array(repeating: false, count: scenario.nodes)
            for member in simulation.view(of: members[0])!.members where member < scenario.nodes { inView[member] = true }
            for node in members {
                let core = core(node)!
                // The core's view is the kernel's (a view change reaches every member in one
                // step): node ids are node indices + 1.
                let outside = core.attributes.keys.filter { id in
                    let index = Int(id.rawValue) - 1
                    return index < 0 || index >= scenario.nodes || !inView[index]
                }
                if !outside.isEmpty {
                    fail("node \(node) keeps attributes of \(outside.sorted()), gone from its view \(core.view?.members ?? [])")
                    return
                }
                guard core.settled else { continue }
                if core.isDC { acting.append(node) }
                if let agreed = dc, agreed != core.dc {
                    fail("view \(viewID): settled members disagree on the DC: \(agreed?.description ?? "none") and node \(node)'s \(core.dc?.description ?? "none")")
                    return
                }
                dc = core.dc
                if let chosen = core.dc, let view = core.view, !view.contains(chosen) {
                    fail("node \(node)'s DC \(chosen) is not in its view \(view.members)")
                    return
                }
            }
            if acting.count > 1 {
                fail("view \(viewID): \(acting.count) DCs: nodes \(acting)")
                return
            }
        }
    }

    /// A cold start with every nodelist node present elects at once (no dc-deadtime).
    mutating func checkColdStart() {
        guard phantoms == 0, scenario.strangerIndex.map({ !simulation.isUp($0) }) ?? true,
              (0..<scenario.nodes).allSatisfy({ simulation.isUp($0) }) else { return }
        let dcs = Set((0..<scenario.nodes).map { core($0)?.settled == true ? core($0)?.dc : nil })
        if dcs.count != 1 || dcs.first! == nil {
            fail("cold start with every node present: no single DC 1 s later (\(dcs.map { $0?.description ?? "none" }.sorted()))")
        }
    }

    /// After the heal and the quiet phase: one view, one DC, equal stores and CIB sequence,
    /// nothing pending, every acknowledged write still in the order.
    mutating func finish() {
        let nodes = Array(0..<scenario.nodes)
        guard nodes.allSatisfy({ core($0) != nil }) else { return fail("after the heal: not every baton-crmd is up and booted") }
        let cores = nodes.map { core($0)! }
        let views = Set(cores.map { $0.view?.fingerprint })
        guard views.count == 1 else { return fail("after the heal: \(views.count) views") }
        let unsettled = nodes.filter { !cores[$0].settled }
        guard unsettled.isEmpty else { return fail("after the quiet phase: nodes \(unsettled) never settled") }
        let dcs = Set(cores.map(\.dc))
        guard dcs.count == 1, let dc = dcs.first!, cores.filter(\.isDC).count == 1 else {
            return fail("after the heal: DCs \(dcs.map { $0?.description ?? "none" }.sorted()), \(cores.filter(\.isDC).count) acting")
        }
        for node in nodes.dropFirst() {
            if cores[node].attributes != cores[0].attributes {
                return fail("after the heal: node \(node)'s attributes \(cores[node].attributes) differ from node 0's \(cores[0].attributes)")
            }
            if cores[node].clusterOptions != cores[0].clusterOptions {
                return fail("after the heal: node \(node)'s cluster options \(cores[node].clusterOptions) differ from node 0's \(cores[0].clusterOptions)")
            }
            if cores[node].cibSequence != cores[0].cibSequence {
                return fail("after the heal: CIB sequence \(cores[node].cibSequence) on node \(node), \(cores[0].cibSequence) on node 0 (DC \(dc))")
            }
        }
        let pending = nodes.filter { cores[$0].pendingWrites > 0 }
        guard pending.isEmpty else {
            return fail("after the quiet phase: writes still wait for the DC on nodes \(pending.map { "\($0): \(cores[$0].pendingWrites)" })")
        }
        let last = cores[0].cibSequence
        for (sequence, key) in acknowledged.sorted(by: { $0.key < $1.key }) {
            guard nodes.contains(where: { logs[$0][sequence] == key }) else {
                // Every process that applied it was killed: NodeCore keeps no CIB on disk.
                acknowledgedLostWithEveryHolder += 1
                continue
            }
            if sequence > last { return fail("acknowledged write lost: \(key) at sequence \(sequence), past the cluster's \(last)") }
        }
        for node in nodes {
            gapsForResync += (1...max(1, last)).filter { $0 <= last && logs[node][$0] == nil }.count
        }
    }
}

/// What a run found.
public struct CRMRunResult: Sendable {
    public let seed: UInt64
    public let violations: [String]
    public let steps: Int
    public let faultsInjected: [CRMFault: Int]
    public let writesAcknowledged: Int
    public let historiesLost: Int
    public let acknowledgedLostWithEveryHolder: Int
    public let gapsForResync: Int
    public let forksAfterRestarts: Int
    public let acknowledgedLostToAmnesia: Int
    public let traceTail: [String]
    public let traceHash: UInt64
    public let plan: [CRMStep]
}

extension CRMWorld {
    public mutating func runResult() -> CRMRunResult {
        let violations = run()
        return CRMRunResult(
            seed: seed, violations: violations, steps: steps, faultsInjected: faultsInjected, writesAcknowledged: writesAcknowledged,
            historiesLost: historiesLost, acknowledgedLostWithEveryHolder: acknowledgedLostWithEveryHolder, gapsForResync: gapsForResync,
            forksAfterRestarts: forksAfterRestarts, acknowledgedLostToAmnesia: acknowledgedLostToAmnesia, traceTail: simulation.traceTail, traceHash: simulation.digest, plan: plan)
    }

    /// The smallest plan (steps removed one at a time, at most `runsMax` reruns) that still
    /// fails: with the seed, a regression test.
    public static func shrink(_ scenario: CRMScenario, seed: UInt64, plan: [CRMStep], runsMax: Int = 300) -> [CRMStep] {
        precondition(runsMax >= 0 && runsMax <= 100_000, "shrink: \(runsMax) runs")
        var original = CRMWorld(scenario: scenario, seed: seed, plan: plan)
        guard let wanted = original.run().first.map(kind) else { return plan }
        var current = plan
        var runs = 0
        var index = current.count - 1
        while index >= 0 && runs < runsMax {
            var candidate = current
            candidate.remove(at: index)
            runs += 1
            var world = CRMWorld(scenario: scenario, seed: seed, plan: candidate)
            if world.run().contains(where: { kind(of: $0) == wanted }) { current = candidate }
            index = min(index - 1, current.count - 1)
        }
        return current
    }
}

/// A violation's kind: its text before the first colon after the time, without numbers (a
/// shrunk plan must fail the same way, not any way).
func kind(of violation: String) -> String {
    let text = violation.split(separator: ":", maxSplits: 1).last.map(String.init) ?? violation
    let head = text.split(separator: ":").first.map(String.init) ?? text
    return String(head.filter { !$0.isNumber })
}

/// Many seeds summed up.
public struct CRMSummary: Sendable {
    public var runs = 0
    public var steps = 0
    public var faultsInjected: [CRMFault: Int] = [:]
    public var writesAcknowledged = 0
    public var historiesLost = 0
    public var acknowledgedLostWithEveryHolder = 0
    public var gapsForResync = 0
    public var forksAfterRestarts = 0
    public var acknowledgedLostToAmnesia = 0
    public var failures: [CRMRunResult] = []
    public static var failuresKeptMax: Int { 20 }

    public init() {}

    /// The summary of one run.
    public init(_ result: CRMRunResult) {
        runs = 1
        steps = result.steps
        faultsInjected = result.faultsInjected
        writesAcknowledged = result.writesAcknowledged
        historiesLost = result.historiesLost
        acknowledgedLostWithEveryHolder = result.acknowledgedLostWithEveryHolder
        gapsForResync = result.gapsForResync
        forksAfterRestarts = result.forksAfterRestarts
        acknowledgedLostToAmnesia = result.acknowledgedLostToAmnesia
        failures = result.violations.isEmpty ? [] : [result]
    }

    public mutating func add(_ result: CRMRunResult) { merge(CRMSummary(result)) }

    public mutating func merge(_ other: CRMSummary) {
        runs += other.runs
        steps += other.steps
        for (fault, count) in other.faultsInjected { faultsInjected[fault, default: 0] += count }
        writesAcknowledged += other.writesAcknowledged
        historiesLost += other.historiesLost
        acknowledgedLostWithEveryHolder += other.acknowledgedLostWithEveryHolder
        gapsForResync += other.gapsForResync
        forksAfterRestarts += other.forksAfterRestarts
        acknowledgedLostToAmnesia += other.acknowledgedLostToAmnesia
        failures += other.failures.prefix(Self.failuresKeptMax - min(Self.failuresKeptMax, failures.count))
    }

    public static func sweep(_ scenario: CRMScenario, firstSeed: UInt64, runs: Int) -> CRMSummary {
        precondition(runs >= 0 && runs <= 10_000_000, "CRMSummary.sweep: \(runs) runs")
        var summary = CRMSummary()
        for offset in 0..<runs {
            var world = CRMWorld(scenario: scenario, seed: firstSeed &+ UInt64(offset))
            summary.add(world.runResult())
        }
        return summary
    }
}
