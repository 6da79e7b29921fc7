import CIB
import CIBGenerator
import Foundation
import TestSupport
import Testing

/// Our patchsets and digests against Pacemaker 2.1.5's `crm_diff` and `cibadmin` on generated
/// CIBs with random edits (`PatchsetDifferential` says what is compared). Seeded and bounded;
/// `baton crm cib differential` runs more seeds.
@Suite struct PatchsetDifferentialTests {
    static let crmDiff = "/usr/sbin/crm_diff", cibadmin = "/usr/sbin/cibadmin"

    /// Writes the files into a fresh directory and runs the tool there.
    static func tool(_ program: String, _ arguments: [String], _ files: [String: String]) throws -> (status: Int32, output: String) {
        let directory = try makeTemporaryDirectory("cib-differential")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, text) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func agreesWithCrmDiffAndCibadminOnGeneratedCIBs() throws {
        if let reason = skipReason("CIBLiveTests", skipping: "the crm_diff differential", [
            Requirement.executable(Self.crmDiff, "apt-get install pacemaker-cli-utils"),
            Requirement.executable(Self.cibadmin, "apt-get install pacemaker-cli-utils"),
        ]) {
            print(reason)
            return
        }
        let seed: UInt64 = 20_261_206
        var failures = [String]()
        for index in 0..<40 {
            let testCase = PatchsetDifferential.makeCase(seed: seed, index: index)
            let problems = try PatchsetDifferential.check(testCase, crmDiff: Self.crmDiff, cibadmin: Self.cibadmin, tool: Self.tool)
            if !problems.isEmpty {
                failures.append("seed \(seed) index \(index) (replay: baton crm cib differential --seed \(seed) --first \(index) --count 1):\n"
                                + problems.joined(separator: "\n"))
            }
        }
        #expect(failures.isEmpty, "\(failures.count) cases disagree; first:\n\(failures.first ?? "")")
    }
}
