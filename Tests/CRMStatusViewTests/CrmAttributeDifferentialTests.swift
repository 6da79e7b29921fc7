import CIB
import CIBGenerator
import DecoderFuzzing
import Foundation
import TestSupport
import Testing

/// `baton crm property|attribute|node` against the stock `crm_attribute` on copies of the same
/// generated CIB file: every step prints the same and exits the same, and the two files end
/// with the same CIB (configuration, status and version).
@Suite struct CrmAttributeDifferentialTests {
    static let crmAttribute = "/usr/sbin/crm_attribute"
    static let seeds = 1...6

    static var skip: String? {
        skipReason("CRMStatusViewTests", skipping: "the crm_attribute differential", [
            Requirement.executable(crmAttribute, "Debian package pacemaker-cli-utils"),
            Requirement.built("baton-full"),
        ])
    }

    /// Runs `arguments` with CIB_file set; standard output and the exit status.
    static func run(_ arguments: [String], cib: String) async throws -> (status: Int32, output: String) {
        try await ToolRun.run(arguments, environment: ["CIB_file": cib, "LC_ALL": "C"])
    }

    /// (stock crm_attribute arguments, baton crm arguments) for node `node`.
    static func steps(node: String) -> [([String], [String])] {
        [
            (["--type", "crm_config", "--name", "batontest-option", "--update", "v1"], ["property", "batontest-option", "v1"]),
            (["--type", "crm_config", "--name", "batontest-option", "--query"], ["property", "batontest-option"]),
            (["--type", "crm_config", "--name", "batontest-option", "--update", "v2"], ["property", "batontest-option", "v2"]),
            (["--type", "crm_config", "--name", "no-such-option", "--query"], ["property", "no-such-option"]),
            (["--type", "crm_config", "--name", "batontest-option", "--delete"], ["property", "batontest-option", "--delete"]),
            (["--type", "crm_config", "--name", "placement-strategy", "--update", "balanced"], ["property", "placement-strategy", "balanced"]),
            (["--node", node, "--name", "color", "--update", "blue", "--lifetime", "forever"], ["attribute", "--node", node, "--name", "color", "--update", "blue"]),
            (["--node", node, "--name", "color", "--query", "--lifetime", "forever"], ["attribute", "--node", node, "--name", "color", "--query"]),
            (["--node", node, "--name", "color", "--query", "--lifetime", "forever", "--quiet"], ["attribute", "-N", node, "-n", "color", "-q"]),
            (["--node", node, "--name", "shade", "--update", "dark", "--lifetime", "forever"], ["attribute", "--node", node, "--name", "shade", "--update", "dark"]),
            (["--node", node, "--name", "color", "--delete", "--lifetime", "forever"], ["attribute", "--node", node, "--name", "color", "--delete"]),
            (["--node", node, "--name", "batontest-transient", "--update", "7", "--lifetime", "reboot"],
             ["attribute", "--node", node, "--name", "batontest-transient", "--update", "7", "--lifetime", "reboot"]),
            (["--node", node, "--name", "batontest-transient", "--query", "--lifetime", "reboot"],
             ["attribute", "--node", node, "--name", "batontest-transient", "--query", "--lifetime", "reboot"]),
            (["--node", node, "--name", "batontest-transient", "--delete", "--lifetime", "reboot"],
             ["attribute", "--node", node, "--name", "batontest-transient", "--delete", "--lifetime", "reboot"]),
            (["--node", node, "--name", "batontest-transient", "--update", "8", "--lifetime", "reboot"],
             ["attribute", "--node", node, "--name", "batontest-transient", "--update", "8", "--lifetime", "reboot"]),
            (["--node", node, "--name", "standby", "--update", "on", "--lifetime", "forever"], ["node", "standby", node]),
            (["--node", node, "--name", "standby", "--update", "off", "--lifetime", "forever"], ["node", "online", node]),
            (["--node", "no-such-node", "--name", "color", "--update", "red", "--lifetime", "forever"],
             ["attribute", "--node", "no-such-node", "--name", "color", "--update", "red"]),
        ]
    }

    @Test(.enabled(if: skip == nil, "crm_attribute or baton-full is missing (see standard error)"))
    func editsAndOutputsMatchCrmAttribute() async throws {
        let directory = try makeTemporaryDirectory("crm-attribute-differential")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let baton = BuildPaths.product("baton-full")
        var problems: [String] = []
        for seed in Self.seeds {
            var random = FuzzGenerator(seed: UInt64(seed))
            let generated = CIBGenerator().generate(using: &random).xml
            let stockPath = "\(directory)/stock-\(seed).xml", ourPath = "\(directory)/ours-\(seed).xml"
            try generated.write(toFile: stockPath, atomically: true, encoding: .utf8)
            try generated.write(toFile: ourPath, atomically: true, encoding: .utf8)
            let cib = try CIB(parsing: generated)
            let node = try #require(cib.configuration.nodes.last?.uname)
            for (stock, ours) in Self.steps(node: node) {
                let expected = try await Self.run([Self.crmAttribute] + stock, cib: stockPath)
                let actual = try await Self.run([baton, "crm"] + ours + ["--cib", ourPath], cib: "")
                if expected.status != actual.status || expected.output != actual.output {
                    problems.append("seed \(seed) \(ours.joined(separator: " ")): crm_attribute exit \(expected.status) \(expected.output.debugDescription), ours exit \(actual.status) \(actual.output.debugDescription)")
                }
            }
            let stockCIB = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: stockPath))))
            let ourCIB = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: ourPath))))
            if stockCIB != ourCIB {
                problems.append("seed \(seed): the CIBs differ:\n--- crm_attribute\n\(stockCIB.serialized())\n--- ours\n\(ourCIB.serialized())")
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
