import ArgumentParser
import ChildProcess
import DecoderFuzzing
import Foundation

/// `baton fuzz`: seeded mutation fuzzing of Baton's decoders, for as long as asked (a lab
/// command; `swift test` runs a fixed budget of the same targets).
///
/// The inputs run in a child process (this executable, `--worker-start`), which records the
/// index of the input it is on, and its counts, in a small shared file before each input: when
/// a decoder traps, or hangs past `--input-timeout`, the parent reads the index there, makes
/// the input again from the seed, saves it and prints the mutation chain, then goes on from
/// the next input in a new child.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz the decoders (frames, client frames, state journal, config, CIB XML, scheduler) with seeded mutations.",
        discussion: """
            Each input is a valid one (built by the encoders, the configurations of sites/ and arbitrator/, the
            conformance CIBs) changed by 1-4 mutations: bit flips, truncation, byte insertion and deletion, splices of
            two valid inputs, extreme integers in numeric fields. Property: a typed error or a valid value, never a
            trap, within per-input time and memory bounds; codecs that round-trip must give back what they read.
            Exit status 0 when no input failed, 1 otherwise.
            """)

    @Option(help: "frames, client, journal, config, cib, scheduler, or all.")
    var target = "all"

    @Option(help: "Run this long in all (split evenly between the targets).")
    var seconds: Double?

    @Option(help: "Run this many inputs per target (default: 10,000 when --seconds is not given).")
    var inputs: Int?

    @Option(help: "The seed (default: from the clock; printed, so that a run can be repeated).")
    var seed: UInt64?

    @Option(help: "Where sites/ and arbitrator/ are (the configuration seeds).")
    var repository = "."

    @Option(help: "Conformance CIBs to mutate (default: REPOSITORY/../shared/conformance/pacemaker-2.1.5/xml when present).")
    var cibDirectory: String?

    @Option(help: "Directory for the failing inputs.")
    var failureDirectory = "."

    @Option(help: "An input still running after this many seconds counts as a hang.")
    var inputTimeout: Double = 60

    @Option(help: "Stop a target after this many failures.")
    var failuresMax = 5

    @Option(help: .hidden) var workerStart: Int?
    @Option(help: .hidden) var progressFile: String?

    func validate() throws {
        guard target == "all" || FuzzTargets.names.contains(target) else {
            throw ValidationError("unknown target \(target): one of \(FuzzTargets.names.joined(separator: ", ")) or all")
        }
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        if let inputs, inputs <= 0 { throw ValidationError("--inputs must be positive") }
        guard inputTimeout > 0, failuresMax > 0 else { throw ValidationError("--input-timeout and --failures-max must be positive") }
    }

    func run() throws {
        if let workerStart, let progressFile {
            try runWorker(start: workerStart, progressFile: progressFile)
            return
        }
        let seed = self.seed ?? UInt64(UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970 * 1000)))
        let targets = target == "all" ? FuzzTargets.names : [target]
        let inputsPerTarget = inputs ?? (seconds == nil ? 10_000 : Int.max)
        let secondsPerTarget = seconds.map { $0 / Double(targets.count) }
        print("baton fuzz: seed \(seed), \(targets.joined(separator: ", ")), "
            + (secondsPerTarget.map { String(format: "%.1f s", $0) } ?? "\(inputsPerTarget) inputs") + " per target")
        var failed = false
        for name in targets {
            let (report, failures) = try supervise(name, seed: seed, inputs: inputsPerTarget, seconds: secondsPerTarget)
            print(report)
            for failure in failures {
                print("  FAILURE \(failure.failure)")
                print("  input saved to \(failure.path)")
            }
            failed = failed || !failures.isEmpty
        }
        if failed { throw ExitCode(1) }
    }

    // MARK: targets and corpora

    func makeTarget(_ name: String, scratch: String) throws -> FuzzTarget {
        switch name {
        case "frames": return FuzzTargets.frames()
        case "client": return FuzzTargets.client()
        case "journal": return FuzzTargets.journal(scratchDirectory: scratch)
        case "config": return FuzzTargets.config(seeds: configurationSeeds())
        case "cib": return FuzzTargets.cib(seeds: cibSeeds())
        case "scheduler": return FuzzTargets.scheduler(seeds: cibSeeds())
        default: throw ValidationError("unknown target \(name)")
        }
    }

    func configurationSeeds() -> [String] {
        ["sites/site-a/baton.conf", "sites/site-b/baton.conf", "arbitrator/baton.conf"].compactMap {
            try? String(contentsOfFile: repository + "/" + $0, encoding: .utf8)
        }
    }

    /// The conformance CIBs under 64 KiB (bigger ones slow every input down and add little).
    func cibSeeds() -> [[UInt8]] {
        let directory = cibDirectory ?? repository + "/../shared/conformance/pacemaker-2.1.5/xml"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { $0.hasSuffix(".xml") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name), data.count <= 64 * 1024 else { return nil }
            return [UInt8](data)
        }
    }

    // MARK: the supervising parent

    /// Shared-file layout (Int64 each): current index, inputs, accepted, refused, elapsed ns, slowest ns.
    static let progressSlots = 6

    struct SavedFailure {
        let failure: FuzzFailure
        let path: String
    }

    func supervise(_ name: String, seed: UInt64, inputs: Int, seconds: Double?) throws -> (FuzzReport, [SavedFailure]) {
        let scratch = NSTemporaryDirectory() + "baton-fuzz-\(getpid())-\(name)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let target = try makeTarget(name, scratch: scratch)
        let progressPath = scratch + "/progress"
        let clock = ContinuousClock()
        let deadline = seconds.map { clock.now + .milliseconds(Int64($0 * 1000)) }
        var report = FuzzReport(target: name)
        var saved: [SavedFailure] = []
        var start = 0
        while report.inputs < inputs && saved.count < failuresMax && deadline.map({ clock.now < $0 }) ?? true {
            FileManager.default.createFile(atPath: progressPath, contents: Data(count: 8 * Self.progressSlots))
            var arguments = ["fuzz", "--target", name, "--seed", String(seed), "--worker-start", String(start),
                             "--progress-file", progressPath, "--repository", repository, "--inputs", String(inputs - report.inputs)]
            if let cibDirectory { arguments += ["--cib-directory", cibDirectory] }
            if let deadline {
                let left = deadline - clock.now
                arguments += ["--seconds", String(max(0.001, left.inSeconds))]
            }
            // The worker's output into a file (a pipe read only after its end would stall a
            // worker that prints more than the pipe holds); its errors stay on ours.
            let outputPath = scratch + "/worker.out"
            let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw ValidationError("cannot open \(outputPath): \(String(cString: strerror(errno)))") }
            let process: SpawnedChild
            do {
                defer { close(output) }
                process = try SpawnedChild.spawn("/proc/self/exe", arguments, standardOutput: output, standardError: 2, ownGroup: false)
            } catch {
                throw ValidationError(error.description)
            }
            // Watch for a hang: the index must move within the input timeout.
            var lastIndex: Int64 = -1
            var lastMove = clock.now
            var hung = false
            while process.poll() == nil {
                Thread.sleep(forTimeInterval: 0.2)
                let index = Self.readProgress(progressPath).first ?? -1
                if index != lastIndex { (lastIndex, lastMove) = (index, clock.now) }
                if clock.now - lastMove > .milliseconds(Int64(inputTimeout * 1000)) {
                    process.killAndReap()
                    hung = true
                }
            }
            let exit = process.wait()
            let printed = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            let progress = Self.readProgress(progressPath)
            report.inputs += Int(progress[1])
            report.accepted += Int(progress[2])
            report.refused += Int(progress[3])
            report.elapsed += .nanoseconds(progress[4])
            report.slowest = max(report.slowest, .nanoseconds(progress[5]))
            var reason: String?
            if hung {
                reason = "no progress for \(inputTimeout) s (a hang)"
            } else if case .signaled(let signal) = exit {
                reason = "trapped (signal \(signal))"
            } else if let line = printed.split(separator: "\n").first(where: { $0.hasPrefix("failure: ") }) {
                reason = String(line.dropFirst("failure: ".count))
            } else if exit != .exited(0) {
                reason = "worker \(exit): \(printed)"
            }
            guard let reason else { break }   // the budget ran out without a failure
            let index = Int(progress[0])
            let (entry, chain, bytes) = target.input(seed: seed, index: index)
            let failure = FuzzFailure(target: name, seed: seed, index: index, entry: entry, chain: chain, input: bytes, reason: reason)
            let path = failureDirectory + "/baton-fuzz-\(name)-\(seed)-\(index).bin"
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            saved.append(SavedFailure(failure: failure, path: path))
            report.failures.append(failure)
            start = index + 1
        }
        return (report, saved)
    }

    static func readProgress(_ path: String) -> [Int64] {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 8 * progressSlots else {
            return Array(repeating: 0, count: progressSlots)
        }
        return (0..<progressSlots).map { slot in
            data.subdata(in: (slot * 8)..<(slot * 8 + 8)).withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
        }
    }

    // MARK: the worker

    /// Runs the inputs from `start`, keeping the index and the counts in the shared file
    /// (memory stores into a shared mapping: no system call per input).
    func runWorker(start: Int, progressFile: String) throws {
        let scratch = (progressFile as NSString).deletingLastPathComponent + "/worker"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let target = try makeTarget(target, scratch: scratch)
        let descriptor = open(progressFile, O_RDWR)
        guard descriptor >= 0 else { throw ValidationError("cannot open \(progressFile)") }
        defer { close(descriptor) }
        let size = 8 * Self.progressSlots
        guard let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
              mapping != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw ValidationError("cannot map \(progressFile)")
        }
        defer { munmap(mapping, size) }
        func store(_ slot: Int, _ value: Int64) { mapping.storeBytes(of: value.littleEndian, toByteOffset: slot * 8, as: Int64.self) }
        func nanoseconds(_ span: Duration) -> Int64 { span.components.seconds * 1_000_000_000 + span.components.attoseconds / 1_000_000_000 }
        let clock = ContinuousClock()
        let deadline = seconds.map { clock.now + .milliseconds(Int64($0 * 1000)) }
        var ran: Int64 = 0
        let began = clock.now
        // Before each input: its index, and how many ran before it and for how long (what
        // the parent reports if this one traps).
        let report = FuzzRun.run(target, seed: seed ?? 0, start: start, count: inputs ?? .max, deadline: deadline, failuresMax: 1) { index in
            store(0, Int64(index))
            store(1, ran)
            store(4, nanoseconds(clock.now - began))
            ran += 1
        }
        store(1, Int64(report.inputs))
        store(2, Int64(report.accepted))
        store(3, Int64(report.refused))
        store(4, nanoseconds(report.elapsed))
        store(5, nanoseconds(report.slowest))
        if let failure = report.failures.first {
            store(0, Int64(failure.index))
            print("failure: \(failure.reason)")
        }
    }
}
