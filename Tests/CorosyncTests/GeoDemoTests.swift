import Foundation
import Testing

/// `baton demo` end to end (issue 15 point 6), with this build's binaries: two sites of three
/// corosync nodes with baton-crmd, a batond per site (crmd back end) and an arbitrator, the
/// guarded group (witness, IPaddr2, ocf:baton:Answer) granted, moved, its site killed,
/// restarted, moved back, partitioned and healed. Fails on a nonzero exit, a witness trip or a
/// namespace or process left behind. Every wait inside the demo polls to a deadline stretched
/// by BATON_TEST_PATIENCE.
extension RealCorosync {
@Suite(.serialized)
struct GeoDemoTests {
    static let missing: String? = skipReason("GeoDemoTests", skipping: "the geo demo", [
        Requirement.built("baton-crmd"), Requirement.built("batond"),
        Requirement.executable("/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "Debian package resource-agents"),
        Requirement.executable("/usr/bin/python3", "Debian package python3-minimal"),
    ])

    @Test(.enabled(if: missing == nil, "needs resource-agents, python3 and the built daemons; the reason is printed"),
          .timeLimit(.minutes(Patience.testMinutes)))
    func theGeoDemoRunsItsWholeStoryWithoutTrippingTheWitness() async throws {
        let namespacesBefore = Set(try await run(["ip", "netns", "list"]).output.split(separator: "\n").map { String($0.split(separator: " ")[0]) })
        let started = ContinuousClock.now
        let result = try await run([Paths.baton, "demo", "--repository", Paths.packageRoot.path],
                                   timeLimit: .seconds(Double(Patience.testMinutes * 60) - 30))
        let took = ContinuousClock.now - started
        #expect(result.status == 0, "baton demo exited \(result.status):\n\(result.output.suffix(6000))")
        #expect(result.output.contains("never active at two sites at once"), "no verdict line:\n\(result.output.suffix(3000))")
        #expect(!result.output.contains("WITNESS TRIPPED"))
        for line in result.output.split(separator: "\n") where line.contains("⏱") || line.hasPrefix("Witness:") || line.hasPrefix("Total") {
            log("demo: \(line.trimmingCharacters(in: .whitespaces))")
        }
        log("baton demo took \(took)")
        // Everything it started is gone: its namespaces and its directory.
        let namespacesAfter = Set(try await run(["ip", "netns", "list"]).output.split(separator: "\n").map { String($0.split(separator: " ")[0]) })
        let demoDirectories = ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("baton-demo-") }
        let pid = result.output.components(separatedBy: "/tmp/baton-demo-").dropFirst().first?.prefix { $0.isNumber } ?? ""
        // A failed run keeps its logs and journal there (it says so); a good one leaves nothing.
        #expect(!pid.isEmpty && (result.status != 0 || !demoDirectories.contains("baton-demo-\(pid)")), "the demo's directory is left behind: \(demoDirectories)")
        // Another test bed of another helper may come and go meanwhile: only names the demo's
        // bed could have (it prints its prefix) count.
        let leftover = namespacesAfter.subtracting(namespacesBefore).filter { name in result.output.contains(String(name.prefix(8))) }
        #expect(leftover.isEmpty, "namespaces left behind: \(leftover.sorted())")
    }
}
}
