import CIB
import CIBGenerator
import DecoderFuzzing
import Foundation
import TestSupport
import Testing

/// `baton crm resource …` and `baton crm ticket …` against the stock crm_resource and
/// crm_ticket (Pacemaker 2.1.5, Debian's pacemaker-cli-utils) on copies of the same generated
/// CIB file: after every step the same standard output, standard error and exit status, and
/// the same CIB (element for element, attribute for attribute, the version included).
/// Masked on both sides: the clock's readings (a lifetime's end, last-granted and its ctime
/// text), which the two tools take a moment apart. Not compared: the exit status of cleanup and
/// refresh (crm_resource prints its dry run, then crashes on a CIB file: 139) and restart's
/// output (crm_resource's failed attempt prints assertion noise; both exit 105, nothing written).
/// `crm_ticket -l`'s order of several tickets is its hash table's, not yet modelled (ours is
/// crm_mon's): the lines are compared in any order. So are the dry run's lines: their order
/// (crm_resource's known_on table) matches on 7 of the 8 seeds, not on seed 4's fence device.
@Suite struct CrmResourceDifferentialTests {
    static let crmResource = "/usr/sbin/crm_resource"
    static let crmTicket = "/usr/sbin/crm_ticket"
    static let seeds = 1...8

    static var skip: String? {
        skipReason("CIBResourceEditsTests", skipping: "the crm_resource/crm_ticket differential", [
            Requirement.executable(crmResource, "Debian package pacemaker-cli-utils"),
            Requirement.executable(crmTicket, "Debian package pacemaker-cli-utils"),
            Requirement.built("baton-full"),
        ])
    }

    struct Result: Equatable {
        var status: Int32
        var output: String
        var errors: String
    }

    static func run(_ arguments: [String], cib: String) async throws -> Result {
        let output = try OutputFile(prefix: "crm-resource-out"), errors = try OutputFile(prefix: "crm-resource-err")
        defer { output.remove(); errors.remove() }
        let environment = ProcessInfo.processInfo.environment.merging(["CIB_file": cib, "LC_ALL": "C", "TZ": "UTC"]) { _, new in new }
        let status = try await TestChild.spawn(arguments, stdout: output.descriptor, stderr: errors.descriptor, environment: environment)
            .finish(within: Patience.deadline, arguments.joined(separator: " "))
        return Result(status: status, output: mask(output.text), errors: mask(errors.text))
    }

    /// The clock's readings replaced by placeholders.
    static func mask(_ text: String) -> String {
        text.replacing(#/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/#, with: "<end>")
            .replacing(#/last-granted="\d+"/#, with: #"last-granted="<time>""#)
            .replacing(#/last-granted='[^']*'/#, with: "last-granted='<time>'")
    }

    static func cibText(_ path: String) throws -> String {
        mask(XMLCodec.serialize(try XMLCodec.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))))
    }

    enum Compare { case all, dryRun, onlyExitAndFile, linesInAnyOrder }

    struct Step {
        var stock: [String]
        var ours: [String]
        var compare: Compare = .all
    }

    /// The steps on one generated CIB: `primitive`, `group`, `clone` are its first of each.
    static func steps(primitive: String, group: String?, clone: String?, node: String, other: String) -> [Step] {
        let r = crmResource, t = crmTicket
        var steps = [
            Step(stock: [r, "--move", "-r", primitive, "-N", node], ours: ["resource", "move", primitive, "-N", node]),
            Step(stock: [r, "--ban", "-r", primitive, "-N", other], ours: ["resource", "ban", primitive, "-N", other]),
            Step(stock: [r, "--move", "-r", primitive, "-N", other], ours: ["resource", "move", primitive, "-N", other]),
            Step(stock: [r, "--clear", "-r", primitive, "-N", node], ours: ["resource", "clear", primitive, "-N", node]),
            Step(stock: [r, "--clear", "-r", primitive], ours: ["resource", "clear", primitive]),
            Step(stock: [r, "--ban", "-r", primitive], ours: ["resource", "ban", primitive]),
            Step(stock: [r, "--move", "-r", primitive], ours: ["resource", "move", primitive]),
            Step(stock: [r, "--move", "-r", primitive, "-N", node, "--lifetime", "PT1H"], ours: ["resource", "move", primitive, "-N", node, "--lifetime", "PT1H"]),
            // (Before a lifetime ban: crm_resource merges a rule into an existing short-form
            // ban, and the schema then refuses the CIB.)
            Step(stock: [r, "--clear", "-r", primitive], ours: ["resource", "clear", primitive]),
            Step(stock: [r, "--ban", "-r", primitive, "-N", other, "--lifetime", "P1DT2M"], ours: ["resource", "ban", primitive, "-N", other, "--lifetime", "P1DT2M"]),
            Step(stock: [r, "--move", "-r", primitive, "-N", other, "--lifetime", "soon"], ours: ["resource", "move", primitive, "-N", other, "--lifetime", "soon"]),
            Step(stock: [r, "--clear", "-r", primitive], ours: ["resource", "clear", primitive]),
            Step(stock: [r, "--move", "-r", primitive, "-N", other, "--force"], ours: ["resource", "move", primitive, "-N", other, "--force"]),
            Step(stock: [r, "--clear", "-r", primitive], ours: ["resource", "clear", primitive]),
            Step(stock: [r, "--move", "-r", "no-such-resource", "-N", node], ours: ["resource", "move", "no-such-resource", "-N", node]),
            Step(stock: [r, "--ban", "-r", primitive, "-N", "no-such-node"], ours: ["resource", "ban", primitive, "-N", "no-such-node"]),
            Step(stock: [r, "--meta", "-r", primitive, "-p", "target-role", "-v", "Stopped"], ours: ["resource", "disable", primitive]),
            Step(stock: [r, "--meta", "-r", primitive, "-p", "target-role", "-v", "Started"], ours: ["resource", "enable", primitive]),
            Step(stock: [r, "--meta", "-r", primitive, "-p", "is-managed", "-v", "false"], ours: ["resource", "unmanage", primitive]),
            Step(stock: [r, "--cleanup", "-r", primitive], ours: ["resource", "cleanup", primitive], compare: .dryRun),
            Step(stock: [r, "--refresh", "-r", primitive, "-N", node], ours: ["resource", "refresh", primitive, "-N", node], compare: .dryRun),
            Step(stock: [r, "--meta", "-r", primitive, "-p", "is-managed", "-v", "true"], ours: ["resource", "manage", primitive]),
            Step(stock: [r, "--meta", "-r", primitive, "-p", "maintenance", "-v", "true"], ours: ["resource", "meta", primitive, "maintenance", "true"]),
            Step(stock: [r, "--meta", "-r", primitive, "-p", "maintenance", "-v", "false"], ours: ["resource", "meta", primitive, "maintenance", "false"]),
            Step(stock: [r, "--restart", "-r", primitive], ours: ["resource", "restart", primitive], compare: .onlyExitAndFile),
            Step(stock: [r, "--fail", "-r", primitive, "-N", node], ours: ["resource", "fail", primitive, "-N", node]),
            Step(stock: [t, "-t", "batonT", "-g"], ours: ["ticket", "grant", "batonT"]),
            Step(stock: [t, "-t", "batonT", "-g", "--force"], ours: ["ticket", "grant", "batonT", "--force"]),
            Step(stock: [t, "-t", "batonT", "-s"], ours: ["ticket", "standby", "batonT"]),
            Step(stock: [t, "-l"], ours: ["ticket", "list"], compare: .linesInAnyOrder),
            Step(stock: [t, "-t", "ticketA", "-r"], ours: ["ticket", "revoke", "ticketA"]),
            Step(stock: [t, "-t", "ticketA", "-r", "--force"], ours: ["ticket", "revoke", "ticketA", "--force"]),
            Step(stock: [t, "-t", "ticketB", "-g", "--force"], ours: ["ticket", "grant", "ticketB", "--force"]),
            Step(stock: [t, "-t", "batonT", "-a"], ours: ["ticket", "activate", "batonT"]),
            Step(stock: [t, "-l"], ours: ["ticket", "list"], compare: .linesInAnyOrder),
            Step(stock: [t, "-q"], ours: ["ticket", "list", "-q"]),
            Step(stock: [t, "-t", "batonT", "-l"], ours: ["ticket", "list", "-t", "batonT"]),
            Step(stock: [t, "-t", "batonT", "-q"], ours: ["ticket", "list", "-q", "-t", "batonT"]),
            Step(stock: [t, "-t", "no-such-ticket", "-l"], ours: ["ticket", "list", "-t", "no-such-ticket"]),
        ]
        for resource in [group, clone].compactMap({ $0 }) {
            steps += [
                Step(stock: [r, "--meta", "-r", resource, "-p", "target-role", "-v", "Stopped"], ours: ["resource", "disable", resource]),
                Step(stock: [r, "--ban", "-r", resource, "-N", other], ours: ["resource", "ban", resource, "-N", other]),
                Step(stock: [r, "--move", "-r", resource, "-N", node], ours: ["resource", "move", resource, "-N", node]),
                Step(stock: [r, "--clear", "-r", resource], ours: ["resource", "clear", resource]),
                Step(stock: [r, "--meta", "-r", resource, "-p", "is-managed", "-v", "false"], ours: ["resource", "unmanage", resource]),
                Step(stock: [r, "--meta", "-r", resource, "-p", "target-role", "-v", "Started"], ours: ["resource", "enable", resource]),
                Step(stock: [r, "--meta", "-r", resource, "-p", "resource-stickiness", "-v", "50"], ours: ["resource", "meta", resource, "resource-stickiness", "50"]),
            ]
        }
        return steps
    }

    @Test(.enabled(if: skip == nil, "crm_resource, crm_ticket or baton-full is missing (see standard error)"))
    func editsAndOutputsMatchTheStockTools() async throws {
        let directory = try makeTemporaryDirectory("crm-resource-differential")
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
            var primitive: String?, group: String?, clone: String?
            for resource in cib.configuration.resources {
                switch resource {
                case .primitive(let p) where primitive == nil: primitive = p.id
                case .group(let g) where group == nil: group = g.id
                case .clone(let c) where clone == nil: clone = c.id
                default: break
                }
            }
            let nodes = cib.configuration.nodes.map(\.uname)
            guard let primitive, let node = nodes.last, let other = nodes.first, node != other else { continue }
            for step in Self.steps(primitive: primitive, group: group, clone: clone, node: node, other: other) {
                let expected = try await Self.run(step.stock, cib: stockPath)
                let actual = try await Self.run([baton, "crm"] + step.ours, cib: ourPath)
                let name = "seed \(seed) \(step.ours.joined(separator: " "))"
                switch step.compare {
                case .all:
                    if expected != actual { problems.append("\(name): stock \(expected), ours \(actual)") }
                case .dryRun:
                    let sameLines = expected.errors.split(separator: "\n").sorted() == actual.errors.split(separator: "\n").sorted()
                    if expected.output != actual.output || !sameLines {
                        problems.append("\(name): stock \(expected), ours \(actual)")
                    }
                case .linesInAnyOrder:
                    let sameLines = expected.output.split(separator: "\n").sorted() == actual.output.split(separator: "\n").sorted()
                    if expected.status != actual.status || expected.errors != actual.errors || !sameLines {
                        problems.append("\(name): stock \(expected), ours \(actual)")
                    }
                case .onlyExitAndFile:
                    if expected.status != actual.status { problems.append("\(name): stock exit \(expected.status), ours \(actual.status)") }
                }
                let stockCIB = try Self.cibText(stockPath), ourCIB = try Self.cibText(ourPath)
                if stockCIB != ourCIB {
                    problems.append("\(name): the CIBs differ:\n--- stock\n\(stockCIB)\n--- ours\n\(ourCIB)")
                    break
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
