import CIB
import CIBGenerator
import Foundation
import TestSupport
import Testing

/// `baton crm cib diff` in crm_diff's two shapes against the stock tool on generated CIB pairs:
/// `-o OLD -n NEW` prints crm_diff's patchset, `-o OLD -p PATCH` prints what crm_diff prints
/// when it applies that patchset.
@Suite struct CrmDiffShapeTests {
    static let crmDiff = "/usr/sbin/crm_diff"

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func diffAndApplyAgreeWithCrmDiff() async throws {
        if let reason = skipReason("CRMStatusViewTests", skipping: "the crm_diff shapes", [
            Requirement.executable(Self.crmDiff, "apt-get install pacemaker-cli-utils"),
        ]) {
            print(reason)
            return
        }
        let baton = BuildPaths.product("baton-full")
        let directory = try makeTemporaryDirectory("crm-diff-shapes")
        defer { if ProcessInfo.processInfo.environment["KEEP_CRM_DIFF_FILES"] == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var compared = 0
        for index in 0..<8 {
            let testCase = PatchsetDifferential.makeCase(seed: 20_261_206, index: index)
            let old = "\(directory)/old-\(index).xml", new = "\(directory)/new-\(index).xml", patch = "\(directory)/patch-\(index).xml"
            try XMLCodec.serialize(testCase.old).write(toFile: old, atomically: true, encoding: .utf8)
            try XMLCodec.serialize(testCase.new).write(toFile: new, atomically: true, encoding: .utf8)
            let stockDiff = try await ToolRun.run([Self.crmDiff, "-c", "-o", old, "-n", new], environment: [:])
            let ourDiff = try await ToolRun.run([baton, "crm", "cib", "diff", "-c", "-o", old, "-n", new], environment: [:])
            #expect(ourDiff.status == stockDiff.status && ourDiff.output == stockDiff.output, "case \(index): -o -n")
            guard stockDiff.status == 1 else { continue }
            try stockDiff.output.write(toFile: patch, atomically: true, encoding: .utf8)
            let stockApply = try await ToolRun.run([Self.crmDiff, "-o", old, "-p", patch], environment: [:])
            let ourApply = try await ToolRun.run([baton, "crm", "cib", "diff", "-o", old, "-p", patch], environment: [:])
            #expect(ourApply.status == stockApply.status && ourApply.output == stockApply.output,
                    "case \(index) (\(directory)): -o -p, exit \(stockApply.status) (crm_diff), \(ourApply.status) (baton)\n--- crm_diff\n\(stockApply.output)\n--- baton\n\(ourApply.output)")
            compared += 1
        }
        #expect(compared >= 4, "only \(compared) pairs differed")
    }
}
