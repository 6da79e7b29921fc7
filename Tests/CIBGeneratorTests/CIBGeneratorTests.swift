import CIB
import CIBGenerator
import DecoderFuzzing
import Scheduler
import Testing

@Suite struct CIBGeneratorTests {
    static func generate(_ seed: UInt64, _ generator: CIBGenerator = CIBGenerator()) -> GeneratedCIB {
        var random = FuzzGenerator(seed: seed)
        return generator.generate(using: &random)
    }

    @Test func aSeedReplaysTheSameDocument() {
        for seed in UInt64(1)...20 {
            #expect(Self.generate(seed).xml == Self.generate(seed).xml, "seed \(seed)")
        }
        #expect(Self.generate(1).xml != Self.generate(2).xml)
    }

    /// Every document is a CIB our reader takes, uses only the switches allowed, and over a few
    /// hundred seeds every switch is used.
    @Test func documentsAreValidAndUseTheirSwitches() throws {
        var seen: Set<CIBFeature> = []
        for seed in UInt64(1)...300 {
            let generated = Self.generate(seed)
            let cib = try CIB(parsing: generated.xml)
            #expect(!cib.status.nodeStates.isEmpty, "seed \(seed)")
            seen.formUnion(generated.features)
        }
        #expect(seen == Set(CIBFeature.allCases), "never used: \(Set(CIBFeature.allCases).subtracting(seen).sorted())")
        let plain = CIBGenerator(enabled: CIBFeature.plain)
        for seed in UInt64(1)...100 {
            let generated = Self.generate(seed, plain)
            #expect(generated.features.isSubset(of: CIBFeature.plain), "seed \(seed): \(generated.features.sorted())")
            #expect(!generated.xml.contains("rc-code=\"1\""), "seed \(seed): a failure in a plain CIB")
        }
    }

    /// The recorded digests are Pacemaker's: without failures, definition changes or anything
    /// that moves resources, nothing running restarts; with `definition-change` one does.
    @Test func digestsRestartOnlyWhatChanged() throws {
        var restarts = 0
        for seed in UInt64(1)...150 {
            let quiet = Self.generate(seed, CIBGenerator(enabled: [.groups, .clones]))
            let quietSummary = Scheduler.schedule(try CIB(parsing: quiet.xml), now: quiet.now).summary
            #expect(!quietSummary.contains { $0.contains("definition change") }, "seed \(seed): \(quietSummary)")
            let changed = Self.generate(seed, CIBGenerator(enabled: [.definitionChange], featurePercent: 100))
            guard changed.features.contains(.definitionChange) else { continue }
            let summary = Scheduler.schedule(try CIB(parsing: changed.xml), now: changed.now).summary
            if summary.contains(where: { $0.contains("due to resource definition change") }) { restarts += 1 }
        }
        #expect(restarts > 50, "definition changes that restarted: \(restarts)")
    }

    @Test func disagreementsAreClassified() {
        let ours = ["* Stop rsc2 ( node2 ) due to node availability", "* Start c:0 ( node1 )", "* Start c:1 ( node2 )"]
        #expect(SummaryDisagreement.classify(expected: ours, actual: ours) == nil)
        #expect(SummaryDisagreement.classify(expected: ours, actual: ["* Stop rsc2 ( node2 ) due to unrunnable x start",
                                                                      "* Start c:0 ( node1 )", "* Start c:1 ( node2 )"]) == .reasonOnly)
        #expect(SummaryDisagreement.classify(expected: ours, actual: ["* Stop rsc2 ( node2 ) due to node availability",
                                                                      "* Start c:1 ( node1 )", "* Start c:0 ( node2 )"]) == .instanceNumbersOnly)
        #expect(SummaryDisagreement.classify(expected: ours, actual: ["* Stop rsc2 ( node2 ) due to node availability",
                                                                      "* Start c:0 ( node1 )", "* Start c:1 ( node3 )"]) == .differentActions)
        #expect(SummaryDisagreement.classify(expected: ours, actual: Array(ours.prefix(2))) == .differentActions)
        #expect(SummaryDisagreement.withoutReason("* Fence (reboot) node2 'peer is no longer part of the cluster'") == "* Fence (reboot) node2")
        #expect(SummaryDisagreement.withoutReason("* Start rsc1 ( node1 ) due to unrunnable r start (blocked)") == "* Start rsc1 ( node1 )")
    }
}
