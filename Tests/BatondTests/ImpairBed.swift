import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `scripts/impair-bed` for a test: site-a, site-b and the arbitrator each in a network
/// namespace (10.232.0.1-3, no route out) behind `baton-impair`, the impairing switch. Made by
/// `withImpairBed`, which tears it down on every path (idempotent; the script kills only the
/// switch it started and deletes only its namespaces).
struct ImpairBed: Sendable {
    static var script: String { Paths.packageRoot.appendingPathComponent("scripts/impair-bed").path }
    static let members = [
        Member(name: "site-a", address: "10.232.0.1", role: .site),
        Member(name: "site-b", address: "10.232.0.2", role: .site),
        Member(name: "arbitrator", address: "10.232.0.3", role: .arbitrator),
    ]

    let directory: String

    /// The switch's loss, delay ms, jitter ms, duplication (and 1: drop all UDP), mid-run too.
    func set(_ impairment: String...) async throws {
        let result = try await run([Self.script, "-d", directory, "set"] + impairment)
        guard result.status == 0 else { throw TestFailure("impair-bed set \(impairment.joined(separator: " ")) failed: \(result)") }
    }

    /// The switch's counters, one line.
    func stats() async throws -> String {
        try await run([Self.script, "-d", directory, "stats"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs each member's batond in its own namespace (member N of `members` in namespace N + 1).
    func place(_ cluster: Cluster) {
        for (index, member) in Self.members.enumerated() {
            cluster.memberPrefix[member.name] = [Self.script, "-d", directory, "exec", "\(index + 1)"]
        }
    }

    func teardown() {
        _ = try? TestChild.runToEnd([Self.script, "-d", directory, "teardown"])
    }
}

/// An impair-bed with the switch seeded by `seed` (one per test: the directory names the test
/// process and the seed), torn down after `body` whatever happens.
func withImpairBed<T>(seed: Int, _ body: (ImpairBed) async throws -> T) async throws -> T {
    let bed = ImpairBed(directory: "/tmp/baton-impair-test-\(getpid())-\(seed)")
    defer { bed.teardown() }
    let up = try await run([ImpairBed.script, "-d", bed.directory, "up", "--members", "\(ImpairBed.members.count)",
                            "--switch", BuildPaths.product("baton-impair"), "--seed", "\(seed)"], timeLimit: Patience.deadline)
    guard up.status == 0 else { throw TestFailure("impair-bed up failed: \(up)") }
    return try await body(bed)
}
