import Testing
import SeededRandom
@testable import BatonConfig

@Suite struct RandomInput {
    static let fragments = [
        "site", "arbitrator", "ticket", "expire", "timeout", "retries", "renewal-freq", "acquire-after",
        "weights", "mode", "attr-prereq", "port", "name=", "port=", "identity", "tls-ca", "tls-certificate",
        "tls-private-key", "__defaults__", "=", " = ", "\"", "'", "#", " ", "\t", "\n", "\r\n", "10.0.0.1",
        "::1", "[", "]", "ms", "s", "0", "3", "600", "99999999999999", "-", "/", ",", "auto", "manual", "eq",
        "ne", "é", "\u{0}", "x",
    ]

    /// Random token soup never crashes the parser: it loads or throws a located error.
    @Test(arguments: 0..<8)
    func randomTextLoadsOrThrowsLocatedErrors(seedIndex: Int) {
        var generator = SplitMix64(seed: 0xBA70_0000 + UInt64(seedIndex))
        for iteration in 0..<250 {
            var text = "site = 10.0.0.1\nsite = 10.0.0.2\narbitrator = 10.0.0.3\n"
            for _ in 0..<Int.random(in: 1...60, using: &generator) {
                text += Self.fragments.randomElement(using: &generator)!
            }
            do {
                let loaded = try BatonConfigurationParser.parse(text: text, fileName: "random.conf")
                #expect(!loaded.configuration.members.isEmpty)
            } catch {
                #expect(error.file == "random.conf", "seed \(seedIndex) iteration \(iteration)")
                if let line = error.line {
                    #expect(line >= 1, "seed \(seedIndex) iteration \(iteration): line \(line)")
                }
            }
        }
    }
}
