import SimulationKernel

/// Many seeds of one scenario: the counts, the convergence figures and the first failure.
public struct QuorumSweep: Sendable {
    public private(set) var runs = 0
    public private(set) var failedSeeds: [UInt64] = []
    public private(set) var firstFailure: QuorumRunResult?
    public private(set) var convergence: [Duration] = []
    public private(set) var acks = 0
    public private(set) var faults = 0
    public private(set) var events = 0
    /// lms: node losses after which every survivor was quorate, over all runs.
    public private(set) var standDownSteps = 0

    public init() {}

    public static func run(_ scenario: QuorumScenario, firstSeed: UInt64, count: Int) -> QuorumSweep {
        precondition(count >= 1 && count <= 10_000_000, "1...10000000 seeds, not \(count)")
        var sweep = QuorumSweep()
        for offset in 0..<count {
            var world = QuorumWorld(scenario: scenario, seed: firstSeed &+ UInt64(offset))
            sweep.add(world.run())
        }
        return sweep
    }

    public mutating func add(_ result: QuorumRunResult) {
        runs += 1
        acks += result.acks
        faults += result.faults
        events += result.events
        standDownSteps += result.standDownSteps
        convergence += result.convergence
        if !result.violations.isEmpty {
            failedSeeds.append(result.seed)
            if firstFailure == nil || result.seed < firstFailure!.seed { firstFailure = result }
        }
    }

    /// Adds another sweep's runs (parallel workers).
    public mutating func merge(_ other: QuorumSweep) {
        runs += other.runs
        acks += other.acks
        faults += other.faults
        events += other.events
        standDownSteps += other.standDownSteps
        convergence += other.convergence
        failedSeeds = (failedSeeds + other.failedSeeds).sorted()
        if let failure = other.firstFailure, firstFailure == nil || failure.seed < firstFailure!.seed { firstFailure = failure }
    }

    /// The summary lines: runs, violations, faults, ACKs, convergence after the heal.
    public func report(label: String) -> [String] {
        let sorted = convergence.sorted()
        func percentile(_ share: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            let value = sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * share))]
            return Self.seconds(value)
        }
        return [
            "\(label): \(runs) runs, \(failedSeeds.count) with violations\(failedSeeds.isEmpty ? "" : " (seeds \(failedSeeds.prefix(10).map(String.init).joined(separator: ", ")))")",
            "  faults injected \(faults), ACKs sent \(acks), events \(events)",
            "  heal -> every node counts the vote: median \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1))",
        ] + (standDownSteps == 0 ? [] : ["  lms stand-down: \(standDownSteps) node losses, every survivor quorate after each (down to the last man standing)"])
    }

    static func seconds(_ span: Duration) -> String {
        let millis = span.nanosecondsValue / 1_000_000
        let fraction = String(millis % 1000)
        return "\(millis / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }
}
