import SeededRandom
import Testing

/// Seeds recorded in logs, issues and test names replay only while the sequence stays the one
/// the five copies this module replaced produced: pinned here to the reference
/// (Vigna's splitmix64.c, seed 0) and to the streams the fuzzers and tests derive.
@Suite struct SplitMix64Sequence {
    @Test func seedZeroGivesTheReferenceSequence() {
        var generator = SplitMix64(seed: 0)
        #expect([generator.next(), generator.next(), generator.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    /// BatonConfigTests' RandomInput seeds (0xBA70_0000 + n) and the fuzzers' per-input streams.
    @Test func recordedSeedsAndStreamsReplay() {
        var random = SplitMix64(seed: 0xBA70_0000 + 7)
        #expect([random.next(), random.next()] == [0xC3C2_BD89_730B_94B1, 0x69E0_4FA4_5FBD_2A35])
        var input = SplitMix64(seed: 42, index: 1000)
        #expect([input.next(), input.next()] == [0x7B97_D437_77C7_BEFE, 0x09DC_001F_086F_B130])
    }

    @Test func unitAndBelowComeFromOneDraw() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.unit() == Double(UInt64(0xE220_A839_7B1D_CDAF) >> 11) / 9_007_199_254_740_992)
        #expect(generator.below(1000) == Int(UInt64(0x6E78_9E6A_A1B9_65F4) % 1000))
        var copy = SplitMix64(seed: 5)
        var same = copy
        #expect(copy.next() == same.next())
        #expect(copy.state == same.state)
    }
}
