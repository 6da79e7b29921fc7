#if canImport(Glibc)
import Glibc
#endif

/// What one decoder did with one input.
public enum FuzzVerdict: Sendable, Equatable {
    /// Decoded to a valid value (and, where the codec round-trips, back to the same value).
    case accepted
    /// Refused with the decoder's typed error.
    case refused
    /// Broke the property: the message says how.
    case violation(String)
}

/// A decoder under fuzzing: its valid inputs (the corpus), what the mutator knows of its
/// format, its per-input bounds, and the property checked on each input.
///
/// The property is always: a typed error or a valid value, never a trap (a trap ends the
/// process: `baton fuzz` runs the inputs in a child process to report it), within the bounds
/// of time and memory; for codecs that round-trip, decode(encode(x)) == x.
public struct FuzzTarget: Sendable {
    public let name: String
    public let format: InputFormat
    public let corpus: [[UInt8]]
    /// Mutated inputs are cut to this size.
    public let inputBytesMax: Int
    /// One input taking longer is a failure (generous: the machine may be loaded and the
    /// build unoptimised; what it catches is superlinear work, which takes far longer).
    public let inputDurationMax: Duration
    public let check: @Sendable ([UInt8]) -> FuzzVerdict

    public init(name: String, format: InputFormat, corpus: [[UInt8]], inputBytesMax: Int, inputDurationMax: Duration,
                check: @escaping @Sendable ([UInt8]) -> FuzzVerdict) {
        precondition(!corpus.isEmpty, "target \(name) has no valid input to mutate")
        precondition(inputBytesMax > 0, "target \(name): inputBytesMax must be positive")
        self.name = name
        self.format = format
        self.corpus = corpus
        self.inputBytesMax = inputBytesMax
        self.inputDurationMax = inputDurationMax
        self.check = check
    }

    /// Input `index` of the run seeded with `seed`.
    public func input(seed: UInt64, index: Int) -> (entry: Int, chain: [Mutation], bytes: [UInt8]) {
        Mutator.input(seed: seed, index: index, corpus: corpus, format: format, bytesMax: inputBytesMax)
    }
}

/// A broken property, with what reproduces it: `baton fuzz --target NAME --seed SEED`
/// makes input INDEX again, and the chain applied to the corpus entry gives its bytes.
public struct FuzzFailure: Sendable, CustomStringConvertible {
    public let target: String
    public let seed: UInt64
    public let index: Int
    public let entry: Int
    public let chain: [Mutation]
    public let input: [UInt8]
    public let reason: String

    public init(target: String, seed: UInt64, index: Int, entry: Int, chain: [Mutation], input: [UInt8], reason: String) {
        self.target = target
        self.seed = seed
        self.index = index
        self.entry = entry
        self.chain = chain
        self.input = input
        self.reason = reason
    }

    public var description: String {
        "\(target): \(reason)\n  reproduce: seed \(seed), input \(index): corpus entry \(entry), "
            + chain.map(\.description).joined(separator: ", then ") + " (\(input.count) bytes)"
    }
}

/// The outcome of fuzzing one target for a while.
public struct FuzzReport: Sendable, CustomStringConvertible {
    public let target: String
    public var inputs = 0
    public var accepted = 0
    public var refused = 0
    public var elapsed: Duration = .zero
    public var slowest: Duration = .zero
    public var failures: [FuzzFailure] = []

    public init(target: String) { self.target = target }

    public var inputsPerSecond: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(inputs) / seconds : 0
    }

    public var description: String {
        let slowestMilliseconds = Double(slowest.components.seconds) * 1000 + Double(slowest.components.attoseconds) / 1e15
        return "\(target): \(inputs) inputs (\(accepted) accepted, \(refused) refused), \(failures.count) failures, "
            + "\(Int(inputsPerSecond.rounded())) inputs/s, slowest \(Int(slowestMilliseconds.rounded())) ms"
    }
}

public enum FuzzRun {
    /// Peak resident memory may grow by at most this much on one input.
    public static let memoryGrowthBytesMax = 1 << 30

    /// Runs inputs `start, start + 1, …` of `target` until `count` inputs ran or `deadline`
    /// passed, stopping after `failuresMax` failures. `willRun` is told each index before it
    /// runs (`baton fuzz` records it where a trapped process leaves it behind).
    public static func run(
        _ target: FuzzTarget, seed: UInt64, start: Int = 0, count: Int = .max, deadline: ContinuousClock.Instant? = nil,
        failuresMax: Int = 1, willRun: (Int) -> Void = { _ in }
    ) -> FuzzReport {
        precondition(start >= 0 && count >= 0, "inputs \(start) + \(count)")
        let clock = ContinuousClock()
        var report = FuzzReport(target: target.name)
        let began = clock.now
        var peakMemory = peakResidentBytes()
        var index = start
        while report.inputs < count && report.failures.count < failuresMax {
            if let deadline, report.inputs % 16 == 0, clock.now >= deadline { break }
            let (entry, chain, bytes) = target.input(seed: seed, index: index)
            willRun(index)
            let before = clock.now
            let verdict = target.check(bytes)
            let took = clock.now - before
            report.slowest = max(report.slowest, took)
            var reason: String?
            switch verdict {
            case .accepted: report.accepted += 1
            case .refused: report.refused += 1
            case .violation(let message): reason = message
            }
            if took > target.inputDurationMax {
                reason = (reason.map { $0 + "; " } ?? "") + "took \(took) (bound \(target.inputDurationMax))"
            }
            let memory = peakResidentBytes()
            if memory - peakMemory > memoryGrowthBytesMax {
                reason = (reason.map { $0 + "; " } ?? "") + "peak memory grew by \((memory - peakMemory) >> 20) MiB"
            }
            peakMemory = max(peakMemory, memory)
            if let reason {
                report.failures.append(FuzzFailure(target: target.name, seed: seed, index: index, entry: entry, chain: chain,
                                                   input: bytes, reason: reason))
            }
            report.inputs += 1
            index += 1
        }
        report.elapsed = clock.now - began
        return report
    }

    /// The process's peak resident set (getrusage), in bytes.
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return usage.ru_maxrss * 1024
    }
}
