import CIB
import CIBGenerator
@testable import CRMStatusView
import DecoderFuzzing
import Foundation
import TestSupport
import Testing

/// Our `crm status` text against the stock `CIB_file=F crm_mon -1 -r` (Pacemaker 2.1.5) on the
/// same CIB: the conformance inputs of tier 1 and seeded generated CIBs, each listed in the
/// ratchet Tests/Differential/expected-crm-mon-agree.txt (written by
/// `baton crm-mon-differential -r --conformance DIR --count 300 --write-agreeing FILE`): one of
/// them disagreeing is a regression. Bounded: crm_mon takes ~0.5 s a run on a loaded machine.
@Suite struct CrmMonDifferentialTests {
    static let crmMon = "/usr/sbin/crm_mon"
    static let seedsChecked = 1...40
    static let repository = BuildPaths.packageRoot
    static let conformance = BuildPaths.conformanceSuite.path
    static let ratchet = repository.appendingPathComponent("Tests/Differential/expected-crm-mon-agree.txt").path

    static var skip: String? {
        skipReason("CRMStatusViewTests", skipping: "the crm_mon differential", [
            Requirement.executable(crmMon, "Debian package pacemaker-cli-utils"),
            FileManager.default.fileExists(atPath: conformance + "/tier1.txt") ? nil : "no conformance data at \(conformance)",
        ])
    }

    static func names(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// crm_mon's text for the CIB at `path` (UTC, C locale, standard error apart).
    static func crmMonText(_ path: String) async throws -> String {
        let run = try await ToolRun.run([crmMon, "-1", "-r"], environment: ["CIB_file": path, "TZ": "UTC", "LC_ALL": "C"])
        guard run.status == 0 else { throw TestFailure("crm_mon -1 -r on \(path) exited \(run.status)") }
        return run.output
    }

    static func ours(_ path: String) throws -> String {
        let cib = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        return CrmMonView(cib: cib, now: Int(Date().timeIntervalSince1970))
            .text(options: .init(inactive: true), lastUpdated: "", timeText: CrmMonView.utcTime)
    }

    @Test(.enabled(if: skip == nil, "crm_mon or the conformance data is missing (see standard error)"))
    func ratchetedInputsAgreeWithCrmMon() async throws {
        let expected = Set(try Self.names(Self.ratchet))
        let tier1 = try Self.names(Self.conformance + "/tier1.txt").filter(expected.contains)
        let seeds = Self.seedsChecked.map { "seed-\($0)" }.filter(expected.contains)
        // The ratchet holds most of them: an empty sample would check nothing.
        #expect(tier1.count >= 50, "only \(tier1.count) tier-1 inputs in the ratchet")
        #expect(seeds.count >= 25, "only \(seeds.count) of seeds \(Self.seedsChecked) in the ratchet")
        let directory = try makeTemporaryDirectory("crm-mon-differential")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var regressions: [String] = []
        var inputs = tier1.map { ($0, "\(Self.conformance)/xml/\($0).xml") }
        for name in seeds {
            let seed = Int(name.dropFirst(5))!
            var random = FuzzGenerator(seed: UInt64(seed))
            let path = "\(directory)/\(name).xml"
            try CIBGenerator().generate(using: &random).xml.write(toFile: path, atomically: true, encoding: .utf8)
            inputs.append((name, path))
        }
        for (name, path) in inputs {
            let differences = CrmMonComparison.differences(expected: try await Self.crmMonText(path), actual: try Self.ours(path))
            if !differences.isEmpty { regressions.append("\(name):\n    " + differences.joined(separator: "\n    ")) }
        }
        #expect(regressions.isEmpty, "crm_mon -1 -r disagrees on:\n\(regressions.joined(separator: "\n"))")
    }

    /// The "Migration Summary:" section of a crm_mon text (to the next blank line); nil without one.
    static func migrationSummary(_ text: String) -> [Substring]? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: "Migration Summary:") else { return nil }
        return Array(lines[start...].prefix { !$0.isEmpty })
    }

    /// `-f` (fail counts): the "Migration Summary" as `crm_mon -1 -f` prints it, on the
    /// conformance inputs with fail counts (at most 40, in the ratchet so the rest agrees too)
    /// and on one of our own: a failed monitor with migration-threshold=1, and the same CIB
    /// without the failure (the header alone).
    @Test(.enabled(if: skip == nil, "crm_mon or the conformance data is missing (see standard error)"))
    func failCountsAgreeWithCrmMon() async throws {
        let expected = Set(try Self.names(Self.ratchet))
        let directory = try makeTemporaryDirectory("crm-mon-failcounts")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var inputs = try Self.names(Self.conformance + "/tier1.txt").filter(expected.contains).map { ($0, "\(Self.conformance)/xml/\($0).xml") }
            .filter { (try? String(contentsOfFile: $0.1, encoding: .utf8))?.contains("fail-count-") == true }.prefix(40).map { $0 }
        #expect(inputs.count >= 10, "only \(inputs.count) conformance inputs with fail counts")
        let failed = "\(directory)/failed.xml", clean = "\(directory)/clean.xml"
        try CrmMonViewTests.failedMonitorSample.write(toFile: failed, atomically: true, encoding: .utf8)
        try CrmMonViewTests.failedMonitorSample.replacing(#/<transient_attributes.*</transient_attributes>/#, with: "")
            .write(toFile: clean, atomically: true, encoding: .utf8)
        inputs += [("failed monitor", failed), ("no failure", clean)]
        var disagreements: [String] = []
        var shown = 0
        for (name, path) in inputs {
            let run = try await ToolRun.run([Self.crmMon, "-1", "-f"], environment: ["CIB_file": path, "TZ": "UTC", "LC_ALL": "C"])
            guard run.status == 0 else { throw TestFailure("crm_mon -1 -f on \(path) exited \(run.status)") }
            let cib = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            let ours = CrmMonView(cib: cib, now: Int(Date().timeIntervalSince1970))
                .text(options: .init(failcounts: true), lastUpdated: "", timeText: CrmMonView.utcTime)
            let theirs = Self.migrationSummary(run.output), mine = Self.migrationSummary(ours)
            if (theirs?.count ?? 0) > 1 { shown += 1 }
            if theirs != mine { disagreements.append("\(name):\n    crm_mon: \(theirs ?? [])\n    ours:    \(mine ?? [])") }
        }
        #expect(shown >= 5, "only \(shown) inputs list a fail count")
        #expect(disagreements.isEmpty, "crm_mon -1 -f's Migration Summary disagrees on:\n\(disagreements.joined(separator: "\n"))")
        let sample = Self.migrationSummary(try await ToolRun.run([Self.crmMon, "-1", "-f"], environment: ["CIB_file": failed, "TZ": "UTC", "LC_ALL": "C"]).output)
        #expect(sample == ["Migration Summary:", "  * Node: node1:", "    * d1: migration-threshold=1 fail-count=1 last-failure='Sat Dec  6 05:46:40 2025'"])
    }

    /// The command prints the view for `--cib FILE` and for `CIB_file=FILE` alike (the stock tools' variable).
    @Test(.enabled(if: Requirement.built("baton-full") == nil, "baton-full is not built"))
    func statusCommandReadsTheCIBFile() async throws {
        let directory = try makeTemporaryDirectory("crm-status")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/cib.xml"
        try CrmMonViewTests.sample.write(toFile: path, atomically: true, encoding: .utf8)
        let baton = BuildPaths.product("baton-full")
        let byOption = try await ToolRun.run([baton, "crm", "status", "-r", "--cib", path], environment: ["TZ": "UTC"])
        let byEnvironment = try await ToolRun.run([baton, "crm", "status", "-r"], environment: ["TZ": "UTC", "CIB_file": path])
        #expect(byOption.status == 0 && byEnvironment.status == 0)
        for output in [byOption.output, byEnvironment.output] {
            #expect(CrmMonComparison.differences(expected: CrmMonViewTests.sampleCrmMon, actual: output).isEmpty, "\(output)")
        }
    }
}
