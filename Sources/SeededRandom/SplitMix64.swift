/// SplitMix64 (Steele, Lea and Flood; Vigna's reference `splitmix64.c`): the one small seeded
/// generator of the test beds and the fuzzers (the hostile member, the impairing switch, decoder
/// fuzzing, random-input tests). Small, fast, and good enough to draw losses, delays, offsets and
/// field values; not for cryptography. A run is replayed from its seed: the output sequence for
/// a seed is fixed (Tests/SeededRandomTests pins it to the reference's), so seeds recorded in
/// logs and issues still replay. The simulator keeps its own xoshiro256** (GeoSimulation).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// Stream `index` of the run seeded with `seed`: independent of the streams before it, so
    /// any one (a fuzz input, say) can be made again on its own.
    public init(seed: UInt64, index: Int) {
        var mixer = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD6E8_FEB8_6659_FD93))
        state = mixer.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A number in 0..<bound (modulo: the bias is irrelevant at the bounds used here).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "below(\(bound)): the bound must be positive")
        return Int(next() % UInt64(bound))
    }

    /// Uniform in [0, 1): the top 53 bits of one draw.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    /// True with `probability`, drawn as the standard library's `Double.random(in: 0..<1)`.
    public mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
}
