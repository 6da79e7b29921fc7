import Foundation
import GeoSimulation
import Testing

/// Transcript tests (etcd's datadriven style): each file under Transcripts/ holds commands
/// (`> ` lines) and the output they must produce. To regenerate the outputs on purpose:
/// `BATON_UPDATE_TRANSCRIPTS=1 swift test --filter TranscriptTests`, then read the diff.
@Suite struct TranscriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Transcripts")

    /// booth's live-test scenarios and Baton's additions: each must have its transcript.
    static let required = [
        "grant", "long-grant", "grant-no-arbitrator", "revoke", "revoke-forwarded", "grant-elsewhere",
        "site-lost-during-grant", "grant-forced", "site-reappears", "simultaneous-start", "slow-start-granted",
        "restart-granted-with-state", "restart-granted-rebooted", "restart-granted-state-lost", "restart-not-granted",
        "failover", "failover-acquire-after", "failover-weights", "split-leader", "split-follower", "split-edge",
        "one-way-partition", "handler-fails", "attr-prereq", "attr-prereq-auto", "standby-activate", "move",
        "release-on-quorum-loss", "manual-double-grant", "arbitrator-cannot-hold", "move-release-overtaken",
    ]

    @Test(arguments: required)
    func transcript(_ name: String) throws {
        let file = Self.directory.appendingPathComponent("\(name).txt")
        let recorded = try String(contentsOf: file, encoding: .utf8)
        let script = ScriptedCluster.script(ofTranscript: recorded)
        let (produced, doubleHolders) = try ScriptedCluster.run(script)
        #expect(doubleHolders.isEmpty, "two holders in transcript \(name): \(doubleHolders)")
        if ProcessInfo.processInfo.environment["BATON_UPDATE_TRANSCRIPTS"] == "1" {
            try produced.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        if produced != recorded {
            let expected = recorded.split(separator: "\n", omittingEmptySubsequences: false)
            let actual = produced.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(expected.count, actual.count)
            Issue.record("""
                transcript \(name) differs at line \(first + 1):
                  expected: \(first < expected.count ? String(expected[first]) : "<end>")
                  actual:   \(first < actual.count ? String(actual[first]) : "<end>")
                (BATON_UPDATE_TRANSCRIPTS=1 regenerates; review the diff before committing)
                """)
        }
    }

    @Test func everyTranscriptFileIsRequired() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
            .filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }
        #expect(Set(files) == Set(Self.required))
    }

    @Test func scriptErrorsNameTheLine() {
        #expect(throws: ScriptedCluster.ScriptError.self) { try ScriptedCluster.transcript(of: "start all") }
        do {
            _ = try ScriptedCluster.transcript(of: "cluster sites=2\nstart all\nfrobnicate")
            Issue.record("unknown command accepted")
        } catch {
            #expect(error.description == "script line 3: unknown command frobnicate")
        }
    }
}
