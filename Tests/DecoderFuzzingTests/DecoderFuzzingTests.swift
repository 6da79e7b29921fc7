import DecoderFuzzing
import Foundation
import Testing

/// The fixed fuzzing budget of `swift test` (issue 10): a seeded mutation fuzzer over every
/// decoder, a fixed number of inputs each (the whole suite stays within ~30 s on a loaded
/// 2-core machine in a debug build). Longer runs: `baton fuzz --target all --seconds 600`.
/// A trap ends the test process; rerun the printed seed with `baton fuzz` to get the input.
@Suite struct DecoderFuzzingTests {
    static let seed: UInt64 = 20_261_206

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The configurations shipped in sites/ and arbitrator/.
    static func configurationSeeds() throws -> [String] {
        try ["sites/site-a/baton.conf", "sites/site-b/baton.conf", "arbitrator/baton.conf"].map {
            try String(contentsOf: repository.appendingPathComponent($0), encoding: .utf8)
        }
    }

    /// Every 25th conformance CIB (small and varied; the built-in CIB is always there).
    static func cibSeeds() -> [[UInt8]] {
        let directory = repository.appendingPathComponent("../shared/conformance/pacemaker-2.1.5/xml").standardizedFileURL
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            print("DecoderFuzzing: conformance CIBs not found at \(directory.path); the built-in CIB only")
            return []
        }
        let files = names.filter { $0.hasSuffix(".xml") }.sorted()
        return stride(from: 0, to: files.count, by: 25).compactMap {
            FileManager.default.contents(atPath: directory.appendingPathComponent(files[$0]).path).map { [UInt8]($0) }
        }
    }

    static func fuzz(_ target: FuzzTarget, inputs: Int) {
        print("DecoderFuzzing seed \(seed): \(target.name), \(inputs) inputs from \(target.corpus.count) valid ones")
        let report = FuzzRun.run(target, seed: seed, count: inputs, failuresMax: 3)
        print("DecoderFuzzing \(report)")
        for failure in report.failures { print("DecoderFuzzing failure \(failure)") }
        #expect(report.failures.isEmpty, "\(report.failures.map(\.description).joined(separator: "\n"))")
        #expect(report.inputs == inputs)
        // Mutations must leave some inputs valid and make some invalid, or they test little.
        #expect(report.refused > 0)
    }

    @Test func peerFrames() {
        Self.fuzz(FuzzTargets.frames(), inputs: 20_000)
    }

    @Test func clientFrames() {
        Self.fuzz(FuzzTargets.client(), inputs: 20_000)
    }

    @Test func stateJournal() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-fuzz-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        Self.fuzz(FuzzTargets.journal(scratchDirectory: directory.path), inputs: 1_000)
    }

    @Test func configuration() throws {
        Self.fuzz(FuzzTargets.config(seeds: try Self.configurationSeeds()), inputs: 1_500)
    }

    @Test func cibXML() {
        Self.fuzz(FuzzTargets.cib(seeds: Self.cibSeeds()), inputs: 120)
    }

    @Test func scheduler() {
        Self.fuzz(FuzzTargets.scheduler(seeds: Self.cibSeeds()), inputs: 100)
    }

    // MARK: the engine

    @Test func inputsAreDeterministicAndTheirChainReplays() {
        let target = FuzzTargets.config(seeds: [])
        for index in [0, 1, 17, 999] {
            let first = target.input(seed: 7, index: index)
            let second = target.input(seed: 7, index: index)
            #expect(first.bytes == second.bytes && first.chain == second.chain)
            #expect(Mutator.replay(entry: first.entry, chain: first.chain, corpus: target.corpus) == first.bytes)
        }
        #expect(target.input(seed: 7, index: 0).bytes != target.input(seed: 8, index: 0).bytes
            || target.input(seed: 7, index: 1).bytes != target.input(seed: 8, index: 1).bytes)
    }

    /// The fuzzer bites: a decoder with the bug issue 10 found in the CIB (a number that does
    /// not fit is taken for granted) is caught within a bounded number of inputs, and the
    /// failure replays from its report.
    @Test func findsAPlantedOverflow() throws {
        let planted = FuzzTarget(name: "planted", format: .text, corpus: [Array("expire = 10\ntimeout = 1\n".utf8)],
                                 inputBytesMax: 4096, inputDurationMax: .seconds(5)) { bytes in
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let value = line.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                if !value.isEmpty, value.allSatisfy(\.isNumber), Int(value) == nil { return .violation("\(value) overflows") }
            }
            return .accepted
        }
        let report = FuzzRun.run(planted, seed: Self.seed, count: 2_000)
        let failure = try #require(report.failures.first, "the planted overflow was not found in 2,000 inputs")
        print("DecoderFuzzing planted bug found at input \(failure.index): \(failure)")
        #expect(Mutator.replay(entry: failure.entry, chain: failure.chain, corpus: planted.corpus) == failure.input)
        #expect(planted.check(failure.input) != .accepted)
        #expect(planted.input(seed: Self.seed, index: failure.index).bytes == failure.input)
    }
}
