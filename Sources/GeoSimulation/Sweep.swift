import TicketElection

/// The figures of many seeds of one scenario.
public struct SweepSummary: Sendable {
    public private(set) var seeds = 0
    public private(set) var failingSeeds: [RunResult] = []
    public private(set) var violations = 0
    public private(set) var failoverTimes: [Int64] = []
    public private(set) var settleTimes: [Int64] = []
    public private(set) var failoverAfterLeaseView: [Int64] = []
    public private(set) var messages = 0
    public private(set) var events = 0
    public private(set) var stateWipes = 0
    /// Failing runs kept in full (the first few), for the report.
    public static let failingKeptMax = 5

    public init() {}

    public mutating func add(_ result: RunResult) {
        seeds += 1
        messages += result.messages
        events += result.events
        stateWipes += result.stateWipes
        failoverTimes.append(contentsOf: result.failoverTimes)
        failoverAfterLeaseView.append(contentsOf: result.failoverAfterLeaseView)
        settleTimes.append(contentsOf: result.settleTimes)
        if !result.violations.isEmpty {
            violations += result.violations.count
            if failingSeeds.count < SweepSummary.failingKeptMax { failingSeeds.append(result) }
        }
    }

    public mutating func merge(_ other: SweepSummary) {
        seeds += other.seeds
        violations += other.violations
        messages += other.messages
        events += other.events
        stateWipes += other.stateWipes
        failoverTimes.append(contentsOf: other.failoverTimes)
        failoverAfterLeaseView.append(contentsOf: other.failoverAfterLeaseView)
        settleTimes.append(contentsOf: other.settleTimes)
        for failing in other.failingSeeds where failingSeeds.count < SweepSummary.failingKeptMax {
            failingSeeds.append(failing)
        }
    }
}

/// Runs `count` seeds from `firstSeed` and sums them up.
public func sweep(_ scenario: Scenario, firstSeed: UInt64, count: Int) -> SweepSummary {
    precondition(count >= 0 && count <= 10_000_000, "seed count \(count) out of range")
    var summary = SweepSummary()
    for offset in 0..<count {
        var world = GeoWorld(scenario: scenario, seed: firstSeed &+ UInt64(offset))
        summary.add(world.run())
    }
    return summary
}

/// Minimum, median and maximum of a list of spans (nanoseconds).
public struct Spread: Sendable, Equatable {
    public let minimum: Int64
    public let median: Int64
    public let maximum: Int64

    public init?(_ values: [Int64]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        minimum = sorted[0]
        median = sorted[sorted.count / 2]
        maximum = sorted[sorted.count - 1]
    }

    public var inMilliseconds: String {
        "\(minimum / 1_000_000) / \(median / 1_000_000) / \(maximum / 1_000_000)"
    }

    /// "0.61 / 0.84 / 1.12 x expire"
    public func inUnits(of unit: Duration) -> String {
        let scale = Double(unit.nanoseconds)
        func format(_ value: Int64) -> String {
            let hundredths = Int((Double(value) / scale * 100).rounded())
            let fraction = hundredths % 100
            return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
        }
        return "\(format(minimum)) / \(format(median)) / \(format(maximum))"
    }
}

extension SweepSummary {
    /// The lines an admin or a developer reads after a sweep.
    public func report(label: String, expire: Duration) -> [String] {
        var lines = ["\(label): \(seeds) seeds, \(violations) violations, \(messages) messages, \(events) events, \(stateWipes) restarts with the state wiped"]
        if let settle = Spread(settleTimes) {
            lines.append("  after the last fault healed, a holder within (min / median / max, x expire): \(settle.inUnits(of: expire))")
        }
        if let failover = Spread(failoverTimes) {
            lines.append("  failover after the holder died (min / median / max, x expire): \(failover.inUnits(of: expire)) over \(failoverTimes.count) failovers")
        }
        if let afterView = Spread(failoverAfterLeaseView) {
            lines.append("  new holder after its own view of the old lease ended (min / median / max, ms): \(afterView.inMilliseconds)")
        }
        for failing in failingSeeds {
            lines.append("  FAILING SEED \(failing.seed): \(failing.violations.map(\.description).joined(separator: "; "))")
            lines.append("    replay: baton geo-simulate --replay \(failing.seed) (same seed, same trace)")
            for line in failing.traceTail.suffix(25) { lines.append("    | \(line)") }
        }
        return lines
    }
}
