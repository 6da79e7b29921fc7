import ClusterIdentity
import QuorumArbiter
import SimulationKernel

/// The quorum device's checkers, run after every step of a `QuorumWorld`.
///
/// Safety, always:
/// - one partition per site: every node of a site whose device vote votequorum counts is in
///   one ring (two rings counting the vote could both be quorate: a split brain); a node
///   whose votequorum is in a sync still counts the vote from before it, and may do so only
///   while no ring counts it or the ring that counts it lists the node;
/// - the arbitrator sends an ACK only when every connected client of the recipient's ring
///   reports that ring (`ackSent(agreeing:)`).
///
/// Liveness, after the heal (all nodes up and in one ring per site, no cuts, no loss): from
/// `convergeWithin` after it to the end, every node of every site counts the vote for the
/// healed ring at every step (it converged, and it does not flap). `convergence` is the heal
/// → the start of that last steady stretch.
///
/// lms liveness (`QuorumWorld.standDown`, after the settle): the sites lose their nodes one
/// by one; after each loss every survivor, down to the last one, is quorate.
public struct QuorumChecker {
    public let scenario: QuorumScenario
    public private(set) var violations: [String] = []
    public private(set) var acks = 0
    var healedAt: Int64?
    /// The lms stand-down has begun: nodes are lost on purpose, the heal's liveness is over.
    var standingDown = false
    /// lms: losses after which every survivor was quorate.
    public internal(set) var standDownSteps = 0
    /// Per site: since when every node counts the vote (nil: not every node now).
    var convergedAt: [Int64?]
    static var violationsMax: Int { 10 }

    init(scenario: QuorumScenario) {
        self.scenario = scenario
        convergedAt = Array(repeating: nil, count: scenario.sites)
    }

    public var stopped: Bool { !violations.isEmpty }

    public var convergence: [Duration] {
        guard let healedAt else { return [] }
        return convergedAt.compactMap { $0.map { .nanoseconds($0 - healedAt) } }
    }

    mutating func violation(_ text: String, world: QuorumWorld) {
        guard violations.count < Self.violationsMax else { return }
        violations.append("\(Simulation<QuorumNode>.format(world.now)): \(text)")
    }

    mutating func check(_ world: QuorumWorld, after report: Simulation<QuorumNode>.StepReport) {
        for (_, observation) in report.observations {
            guard case .ackSent(let cluster, let node, let ring, let agreeing) = observation else { continue }
            acks += 1
            if !agreeing { violation("ACK to \(cluster) node \(node) for ring \(ring) while its connected members disagree on the ring", world: world) }
        }
        for site in 0..<scenario.sites {
            // Nodes that count the vote in a ring votequorum activated, and nodes that count it
            // only from before a sync still in progress (with the ring the sync is for).
            var rings: [RingID: [NodeID]] = [:]
            var ringMembers: [RingID: [NodeID]] = [:]
            var stale: [(node: NodeID, from: RingID?, heading: RingID)] = []
            for index in world.siteIndices(site) {
                let localNow = world.simulation.localNow(index)
                guard let host = world.host(index), let ring = host.activeRing(localNow: localNow), host.countsVote(localNow: localNow) else { continue }
                if let sync = host.sync, localNow < sync.until {
                    stale.append((scenario.nodeID(of: index), host.quorumRing, sync.ring))
                } else {
                    rings[ring, default: []].append(scenario.nodeID(of: index))
                    ringMembers[ring] = host.activeMembers(localNow: localNow)
                }
            }
            if rings.count > 1 {
                let listed = rings.sorted { $0.key < $1.key }.map { "ring \($0.key): nodes \($0.value.map(\.description).joined(separator: ","))" }
                violation("site \(site + 1): the device's vote counts in two partitions: \(listed.joined(separator: "; "))", world: world)
            } else if let (ring, holders) = rings.first,
                      let other = stale.first(where: { !(ringMembers[ring] ?? []).contains($0.node) }) {
                // A node still quorate from before its ring change (votequorum's sync holds
                // its old quorum) while a partition without it counts the vote: both act as
                // quorate. A stale node that the counting ring lists (on its way into it, or
                // still in the old ring the others count in) or with no ring counting the vote
                // anywhere is the membership change itself, not a decision.
                violation("site \(site + 1): the device's vote counts in two partitions: ring \(ring): nodes \(holders.map(\.description).joined(separator: ",")); "
                          + "node \(other.node) still counts it from before its ring \(other.heading) (votequorum's sync)", world: world)
            }
            guard let healedAt, !standingDown else { continue }
            // Every node holds the vote for the ring the heal formed (not still for an older one).
            let all = world.holders(site: site).count == scenario.nodesPerSite
                && world.siteIndices(site).allSatisfy { index in
                    let active = world.host(index)?.activeRing(localNow: world.simulation.localNow(index))
                    return active != nil && active == world.formedRing(of: index)
                }
            // A connection damaged just before the heal may still break after it (its echo was
            // lost): the vote may settle in steps until `convergeWithin`, never after.
            if all {
                if convergedAt[site] == nil { convergedAt[site] = world.now }
            } else {
                if world.now - healedAt > scenario.convergeWithin.nanosecondsValue {
                    let what = convergedAt[site].map { "the vote flapped (every node held it from \(Simulation<QuorumNode>.format($0)))" }
                        ?? "not every node holds the vote for the healed ring"
                    violation("site \(site + 1), \(scenario.convergeWithin) after the heal: \(what); holders \(world.holders(site: site))", world: world)
                }
                convergedAt[site] = nil
            }
        }
    }

    mutating func healed(at time: Int64) { healedAt = time }

    mutating func finish(_ world: QuorumWorld) {
        for site in 0..<scenario.sites where convergedAt[site] == nil {
            violation("site \(site + 1): never converged after the heal", world: world)
        }
    }
}
