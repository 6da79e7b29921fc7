import ClusterIdentity
import QuorumArbiter
import SimulationKernel

/// What a quorum-device run looks like: sites (clusters) of 2 or 4 nodes served by one
/// arbitrator, the faults of its fault phase, and the timings.
public struct QuorumScenario: Sendable {
    public var nodesPerSite: Int
    /// Clusters on the one arbitrator. They share the cluster name and the node ids and differ
    /// only in the certificate's identity: any mixing of two clusters' decisions shows.
    public var sites: Int
    public var faultPhase: Duration
    public var settlePhase: Duration
    /// After the heal, every node must count the device's vote within this.
    public var convergeWithin: Duration
    public var device: QuorumDevice.Settings
    public var arbiter: QuorumArbiter.Settings
    public var tieBreaker: TieBreaker
    /// Mean spacing of the faults.
    public var faultSpacing: Duration
    /// The membership delay: a node learns its new ring this long (at most) after it formed.
    public var ringDelayMax: Duration
    public var clockDriftMaxPartsPerMillion: Int
    /// The nodes' heuristics (mode off: none; else every node runs two commands whose outcome
    /// the world's heuristics faults set).
    public var heuristics: HeuristicsSettings
    /// What each node's heuristics commands do from the start, by node index (default pass);
    /// `QuorumWorld.setHeuristics` changes it later.
    public var heuristicsAtStart: [NodeIndex: HeuristicsResult] = [:]
    /// The arbitrator's decision algorithm for every site.
    public var algorithm: DecisionAlgorithm
    /// lms only: after the settle phase, each site loses its nodes one by one (crashes) down
    /// to the last; this long after each loss every survivor must count the vote and be
    /// quorate (the last man standing keeps quorum).
    public var standDownStep: Duration = .seconds(40)
    /// The device's votes at votequorum: ffsplit 1, lms the nodes − 1 (votequorum's default).
    public var deviceVotes: Int { algorithm == .lms ? Int(LastManStanding.defaultDeviceVotes(configuredNodes: nodesPerSite)) : 1 }

    public init(nodesPerSite: Int = 2, sites: Int = 2, faultPhase: Duration = .seconds(300), settlePhase: Duration = .seconds(120),
                convergeWithin: Duration = .seconds(60), device: QuorumDevice.Settings = QuorumDevice.Settings(),
                arbiter: QuorumArbiter.Settings = QuorumArbiter.Settings(), tieBreaker: TieBreaker = .lowest,
                faultSpacing: Duration = .seconds(8), ringDelayMax: Duration = .seconds(1), clockDriftMaxPartsPerMillion: Int = 200,
                heuristics: HeuristicsMode = .off, algorithm: DecisionAlgorithm = .ffsplit) {
        self.algorithm = algorithm
        precondition(nodesPerSite >= 1 && nodesPerSite <= 16 && sites >= 1 && sites <= 8, "1...16 nodes per site and 1...8 sites")
        self.nodesPerSite = nodesPerSite
        self.sites = sites
        self.faultPhase = faultPhase
        self.settlePhase = settlePhase
        self.convergeWithin = convergeWithin
        self.device = device
        self.arbiter = arbiter
        self.tieBreaker = tieBreaker
        self.faultSpacing = faultSpacing
        self.ringDelayMax = ringDelayMax
        self.clockDriftMaxPartsPerMillion = clockDriftMaxPartsPerMillion
        self.heuristics = HeuristicsSettings(
            mode: heuristics, deviceTimeout: device.timeout, deviceSyncTimeout: device.syncTimeout, interval: .seconds(15),
            commands: [HeuristicsCommand(name: "gateway", arguments: ["/usr/bin/ping", "-c", "1", "192.0.2.1"]),
                       HeuristicsCommand(name: "disk", arguments: ["/usr/bin/test", "-e", "/srv"])])
        self.device.heuristicsEnabled = heuristics != .off
    }

    public func cluster(_ site: Int) -> ClusterKey { ClusterKey(clusterName: "site", certificateIdentity: "geo-\(site + 1)") }
    public var arbitratorIndex: NodeIndex { sites * nodesPerSite }
    public func site(of index: NodeIndex) -> Int { index / nodesPerSite }
    public func nodeID(of index: NodeIndex) -> NodeID { NodeID(UInt32(index % nodesPerSite + 1)) }
    public func index(site: Int, node: NodeID) -> NodeIndex { site * nodesPerSite + Int(node.rawValue) - 1 }
    public var configuredNodes: [NodeID] { (1...nodesPerSite).map { NodeID(UInt32($0)) } }
}

/// The result of one run.
public struct QuorumRunResult: Sendable {
    public let seed: UInt64
    public let violations: [String]
    /// Per site: heal → every node counts the device's vote.
    public let convergence: [Duration]
    /// lms: node losses after which every survivor was quorate (`QuorumWorld.standDown`).
    public var standDownSteps = 0
    public let acks: Int
    public let faults: Int
    public let messages: Int
    public let events: Int
    public let traceTail: [String]
    public let traceHash: UInt64
}

/// One simulated deployment: the sites' nodes and the arbitrator on the simulation kernel;
/// the world plays Corosync (each site's membership: partitions, crashes and restarts make
/// new rings, delivered to each member after a delay) and the faults (partitions among a
/// site's nodes, cuts of node–arbitrator links one way or both, loss, delay spikes and
/// reordering, node and arbitrator crashes and restarts, ring changes without a membership
/// change, heuristics changes). The checker (`QuorumChecker`) runs after every step.
public struct QuorumWorld {
    public let scenario: QuorumScenario
    public let seed: UInt64
    public private(set) var simulation: Simulation<QuorumNode>
    public private(set) var checker: QuorumChecker
    var random: SeededGenerator
    /// Per node: its side among its site's nodes (same side: one ring).
    var sides: [Int]
    var up: [Bool]
    var ringSequence: UInt64 = 0
    /// Per node: the ring the world last formed for it, and the last delivery time scheduled.
    var formedRing: [RingID?]
    var lastRingDelivery: [Int64]
    var cuts: Set<[Int]> = []
    public private(set) var faults = 0

    public init(scenario: QuorumScenario, seed: UInt64, keepFullTrace: Bool = false) {
        self.scenario = scenario
        self.seed = seed
        let count = scenario.arbitratorIndex + 1
        simulation = Simulation(
            nodeCount: count, seed: seed, network: NetworkModel(delayMin: .milliseconds(1), delayMax: .milliseconds(30)),
            clockDriftMaxPartsPerMillion: scenario.clockDriftMaxPartsPerMillion, keepFullTrace: keepFullTrace
        ) { index, _, boot in
            if index == scenario.arbitratorIndex { return QuorumNode(role: .arbitrator(ArbitratorHost(settings: scenario.arbiter))) }
            let registration = DeviceRegistration(
                nodeID: scenario.nodeID(of: index), configuredNodes: scenario.configuredNodes, tieBreaker: scenario.tieBreaker,
                algorithm: scenario.algorithm, heartbeatInterval: scenario.device.heartbeatInterval)
            return QuorumNode(role: .site(SiteHost(
                cluster: scenario.cluster(scenario.site(of: index)), registration: registration, settings: scenario.device, heuristics: .undefined,
                heuristicsSettings: scenario.heuristics, heuristicsEnvironment: scenario.heuristicsAtStart[index] ?? .pass, arbitratorIndex: scenario.arbitratorIndex, index: index, boot: boot, now: 0)))
        }
        checker = QuorumChecker(scenario: scenario)
        random = SeededGenerator(seed: seed ^ 0x0DE_71CE)
        sides = Array(repeating: 0, count: scenario.arbitratorIndex)
        up = Array(repeating: true, count: count)
        formedRing = Array(repeating: nil, count: scenario.arbitratorIndex)
        lastRingDelivery = Array(repeating: 0, count: scenario.arbitratorIndex)
    }

    public var now: Int64 { simulation.now }

    // MARK: - Scripted control (tests and the random run use the same)

    /// Boots everything and forms every site's first ring.
    public mutating func start() {
        let report = simulation.startAll()
        checker.check(self, after: report)
        for site in 0..<scenario.sites { reform(site: site) }
    }

    /// Runs the simulation for `span`, the checker after every step.
    public mutating func run(for span: Duration) {
        let end = now + span.nanosecondsValue
        while !checker.stopped, let report = simulation.step(until: end) {
            checker.check(self, after: report)
        }
        if !checker.stopped { simulation.advance(to: end) }
    }

    /// Puts a site's nodes on sides (equal: connected); all equal heals the site.
    public mutating func partition(site: Int, sides newSides: [Int]) {
        precondition(newSides.count == scenario.nodesPerSite, "\(newSides.count) sides for \(scenario.nodesPerSite) nodes")
        for (offset, side) in newSides.enumerated() { sides[site * scenario.nodesPerSite + offset] = side }
        simulation.note("site \(site + 1) sides \(newSides)")
        reform(site: site)
    }

    /// Cuts (or heals) the link between a node and the arbitrator, in one direction or both.
    public mutating func cutArbitratorLink(_ index: NodeIndex, toArbitrator: Bool, fromArbitrator: Bool, _ isCut: Bool) {
        let arbitrator = scenario.arbitratorIndex
        if toArbitrator { setCut(from: index, to: arbitrator, isCut) }
        if fromArbitrator { setCut(from: arbitrator, to: index, isCut) }
    }

    public mutating func crash(_ index: NodeIndex) {
        guard up[index] else { return }
        up[index] = false
        simulation.crash(index, at: now)
        if index != scenario.arbitratorIndex { reform(site: scenario.site(of: index)) }
    }

    public mutating func restart(_ index: NodeIndex) {
        guard !up[index] else { return }
        up[index] = true
        simulation.restart(index, disk: .kept, reboot: false, at: now)
        if index != scenario.arbitratorIndex { reform(site: scenario.site(of: index)) }
    }

    /// A new ring for the component holding `index`, with the same members (Corosync
    /// re-forming its ring, e.g. after a token loss healed at once).
    public mutating func newRing(around index: NodeIndex) {
        reform(site: scenario.site(of: index), forcing: index)
    }

    public mutating func setHeuristics(_ index: NodeIndex, _ result: HeuristicsResult) {
        guard up[index] else { return }
        simulation.inject(.heuristicsChanged(result), to: index, at: now)
    }

    public mutating func setNetwork(_ model: NetworkModel) { simulation.setNetwork(model, at: now) }

    // MARK: - Reading

    public func host(_ index: NodeIndex) -> SiteHost? { simulation.nodes[index]?.site }

    /// The nodes of a site whose device vote votequorum counts now.
    public func holders(site: Int) -> [NodeID] {
        siteIndices(site).filter { index in
            host(index)?.countsVote(localNow: simulation.localNow(index)) ?? false
        }.map(scenario.nodeID(of:))
    }

    /// The heuristics results the arbitrator holds for a site's connected nodes.
    public func arbitratorHeuristics(site: Int) -> [NodeID: HeuristicsResult] {
        guard let clients = simulation.nodes[scenario.arbitratorIndex]?.arbitrator?.arbiter.clusters[scenario.cluster(site)]?.clients else { return [:] }
        return clients.compactMapValues { $0.report?.heuristics }
    }

    /// votequorum's quorum at a node: its ring's members plus the device's votes when counted
    /// (ffsplit 1, lms nodes − 1) over half of the nodes' and the device's votes.
    public func isQuorate(_ index: NodeIndex) -> Bool {
        let localNow = simulation.localNow(index)
        guard let host = host(index), host.activeRing(localNow: localNow) != nil else { return false }
        let votes = host.activeMembers(localNow: localNow).count + (host.countsVote(localNow: localNow) ? scenario.deviceVotes : 0)
        return votes > (scenario.nodesPerSite + scenario.deviceVotes) / 2
    }

    /// The ring the world (Corosync) last formed for a node; the node learns it a little later.
    public func formedRing(of index: NodeIndex) -> RingID? { formedRing[index] }

    public func siteIndices(_ site: Int) -> Range<NodeIndex> { site * scenario.nodesPerSite..<(site + 1) * scenario.nodesPerSite }

    // MARK: - Membership

    mutating func reform(site: Int, forcing: NodeIndex? = nil) {
        var components: [Int: [NodeIndex]] = [:]
        for index in siteIndices(site) where up[index] { components[sides[index], default: []].append(index) }
        let old = formedRing
        for key in components.keys.sorted() {
            let members = components[key]!
            // Unchanged: its members, and only they, were in one ring.
            let same = old[members[0]] != nil && members.allSatisfy { old[$0] == old[members[0]] }
                && siteIndices(site).filter { old[$0] == old[members[0]] }.count == members.count
            if same && !(forcing.map(members.contains) ?? false) { continue }
            ringSequence += 1
            let ids = members.map(scenario.nodeID(of:))
            let ring = RingID(nodeID: ids[0], sequence: ringSequence)
            simulation.note("site \(site + 1) ring \(ring) members \(ids.map(\.description).joined(separator: ","))")
            for index in members {
                formedRing[index] = ring
                let at = max(now + Int64.random(in: 1_000_000...scenario.ringDelayMax.nanosecondsValue, using: &random), lastRingDelivery[index] + 1)
                lastRingDelivery[index] = at
                simulation.inject(.ringChanged(ring, members: ids), to: index, at: at)
            }
        }
        for index in siteIndices(site) where !up[index] { formedRing[index] = nil }
    }

    mutating func setCut(from: NodeIndex, to: NodeIndex, _ isCut: Bool) {
        if isCut { cuts.insert([from, to]) } else { cuts.remove([from, to]) }
        simulation.cut(from: from, to: to, isCut, at: now)
    }

    // MARK: - The random run

    /// Start, faults for `faultPhase`, heal everything, settle; the checker after every step.
    public mutating func run() -> QuorumRunResult {
        start()
        let healAt = scenario.faultPhase.nanosecondsValue
        while !checker.stopped {
            let next = now + Int64.random(in: 1...(2 * scenario.faultSpacing.nanosecondsValue), using: &random)
            guard next < healAt else { break }
            run(for: .nanoseconds(next - now))
            guard !checker.stopped else { break }
            injectFault()
        }
        if !checker.stopped {
            run(for: .nanoseconds(healAt - now))
            heal()
            checker.healed(at: now)
            run(for: scenario.settlePhase)
            checker.finish(self)
            if scenario.algorithm == .lms && !checker.stopped { standDown() }
        }
        return QuorumRunResult(
            seed: seed, violations: checker.violations, convergence: checker.convergence, standDownSteps: checker.standDownSteps, acks: checker.acks,
            faults: faults, messages: simulation.messagesSent, events: simulation.steps, traceTail: simulation.traceTail, traceHash: simulation.digest)
    }

    /// lms liveness: every site loses nodes 1, 2, … one by one (crashes), the arbitrator and
    /// the links healthy; `standDownStep` after each loss every survivor, down to the last
    /// man standing, counts the device's vote and is quorate.
    public mutating func standDown() {
        checker.standingDown = true
        for lost in 0..<(scenario.nodesPerSite - 1) {
            for site in 0..<scenario.sites { crash(siteIndices(site).lowerBound + lost) }
            simulation.note("STAND DOWN: each site lost nodes 1...\(lost + 1)")
            run(for: scenario.standDownStep)
            guard !checker.stopped else { return }
            for site in 0..<scenario.sites {
                for index in siteIndices(site).dropFirst(lost + 1) where !isQuorate(index) {
                    checker.violation("site \(site + 1), \(scenario.standDownStep) after losing nodes 1...\(lost + 1): node \(scenario.nodeID(of: index)) "
                                      + "is not quorate (lms: the survivors that see the arbitrator keep quorum)", world: self)
                }
            }
            guard !checker.stopped else { return }
            checker.standDownSteps += 1
        }
    }

    public mutating func heal() {
        simulation.note("HEAL")
        setNetwork(NetworkModel(delayMin: .milliseconds(1), delayMax: .milliseconds(30)))
        for cut in cuts.sorted(by: { $0.lexicographicallyPrecedes($1) }) { setCut(from: cut[0], to: cut[1], false) }
        for index in up.indices where !up[index] { restart(index) }
        for site in 0..<scenario.sites { partition(site: site, sides: Array(repeating: 0, count: scenario.nodesPerSite)) }
    }

    mutating func injectFault() {
        faults += 1
        let siteNodes = scenario.arbitratorIndex
        let node = Int.random(in: 0..<siteNodes, using: &random)
        let site = scenario.site(of: node)
        switch Int.random(in: 0..<20, using: &random) {
        case 0...3:
            let newSides = (0..<scenario.nodesPerSite).map { _ in Int.random(in: 0...1, using: &random) }
            partition(site: site, sides: newSides)
        case 4...5:
            partition(site: site, sides: Array(repeating: 0, count: scenario.nodesPerSite))
        case 6...8:
            let direction = Int.random(in: 0...2, using: &random)
            simulation.note("cut node \(node) \(["to", "from", "to and from"][direction]) the arbitrator")
            cutArbitratorLink(node, toArbitrator: direction != 1, fromArbitrator: direction != 0, true)
        case 9...10:
            simulation.note("heal node \(node)'s arbitrator links")
            cutArbitratorLink(node, toArbitrator: true, fromArbitrator: true, false)
        case 11...12:
            up[node] ? crash(node) : restart(node)
        case 13:
            restart(node)
        case 14:
            newRing(around: node)
        case 15:
            setHeuristics(node, [.pass, .fail, .undefined][Int.random(in: 0...2, using: &random)])
        case 16...17:
            let loss = [0, 0.01, 0.05, 0.2][Int.random(in: 0...3, using: &random)]
            let spikes = random.chance(0.5)
            setNetwork(NetworkModel(loss: loss, duplication: random.chance(0.3) ? 0.05 : 0, delayMin: .milliseconds(1), delayMax: .milliseconds(50),
                                    delaySpikeProbability: spikes ? 0.05 : 0, delaySpikeMax: .seconds(spikes ? 5 : 0) + .milliseconds(50)))
        default:
            let arbitrator = scenario.arbitratorIndex
            up[arbitrator] ? crash(arbitrator) : restart(arbitrator)
        }
    }
}
