import Foundation
import Testing

/// STYLE.md's rules that code can check, over the source tree.
struct StyleTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Pure cores: no I/O framework, no clock, no randomness they were not given.
    static let pureModules = [
        "TicketElection", "GeoSimulation", "TicketWire", "CIBGenerator", "Executor", "CIB", "Scheduler", "AgentTools", "CRMCore",
        "ClusterIdentity", "SimulationKernel", "TicketCore", "TicketSimulation", "TransitionEngine",
        "CRMStatusView", "CIBAttributes", "CRMSimulation", "BatonVersion",
        "QuorumArbiter", "QuorumSimulation", "QuorumWire",
        "CIBResourceEdits", "WitnessCheck", "MonitoringText",
    ]

    static func swiftFiles(in directory: String) -> [URL] {
        let root = sources.appendingPathComponent(directory)
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    static func codeLines(_ file: URL) throws -> [(number: Int, text: String)] {
        try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n").enumerated()
            .map { ($0.offset + 1, $0.element) }
            .filter { !$0.1.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
    }

    static let forbiddenInPureCode: [(pattern: String, why: String)] = [
        ("import Foundation", "pure modules do no I/O: no Foundation"),
        ("import NIO", "pure modules do no I/O: no NIO"),
        ("import Dispatch", "pure modules do no I/O: no Dispatch"),
        ("import Glibc", "pure modules make no system calls"),
        ("Date()", "no wall-clock reads: time is a parameter"),
        ("ContinuousClock", "no clock reads: time is a parameter"),
        ("SuspendingClock", "no clock reads: time is a parameter"),
        ("SystemRandomNumberGenerator", "no randomness that was not given"),
        (".random()", "no randomness that was not given (use a seeded generator)"),
        ("Task {", "no unstructured tasks"),
        ("Task.detached", "no unstructured tasks"),
    ]

    @Test(arguments: pureModules)
    func pureModuleStaysPure(_ module: String) throws {
        let files = Self.swiftFiles(in: module)
        #expect(!files.isEmpty, "no sources found for \(module)")
        for file in files {
            try checkPure(file)
        }
    }

    func checkPure(_ file: URL) throws {
        for (number, text) in try Self.codeLines(file) {
            for rule in Self.forbiddenInPureCode where text.contains(rule.pattern) {
                // A random draw with `using:` takes the seeded generator it was given.
                if rule.pattern == ".random()" || text.contains("using:") { continue }
                if rule.pattern == "Task {" && !Self.startsUnstructuredTask(text) { continue }
                Issue.record("\(file.lastPathComponent):\(number): \(rule.why): \(text.trimmingCharacters(in: .whitespaces))")
            }
            if text.contains(".random(in:") && !text.contains("using:") {
                Issue.record("\(file.lastPathComponent):\(number): random draw without the seeded generator")
            }
        }
    }

    /// `Task {` or `Task.detached` as a call, not `addTask {` of a task group (structured).
    static func startsUnstructuredTask(_ line: String) -> Bool {
        if line.contains("Task.detached") { return true }
        var rest = Substring(line)
        while let range = rest.range(of: "Task {") {
            let before = rest[..<range.lowerBound].last
            if before == nil || !(before!.isLetter || before!.isNumber || before! == "." || before! == "_") { return true }
            rest = rest[range.upperBound...]
        }
        return false
    }

    @Test func daemonsStartNoUnstructuredTasks() throws {
        for module in ["TicketDaemon", "batond", "baton-crmd"] {
            for file in Self.swiftFiles(in: module) {
                for (number, text) in try Self.codeLines(file) where Self.startsUnstructuredTask(text) {
                    Issue.record("\(module)/\(file.lastPathComponent):\(number): unstructured task in a daemon: \(text.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }

    @Test func uncheckedSendableCarriesItsProof() throws {
        for module in try FileManager.default.contentsOfDirectory(atPath: Self.sources.path) {
            for file in Self.swiftFiles(in: module) {
                let lines = try Self.codeLines(file)
                let all = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
                for (number, text) in lines where text.contains("@unchecked Sendable") {
                    // The proof: a comment within four lines before this line or three after it.
                    let window = all[max(0, number - 5)..<min(all.count, number + 3)].joined(separator: "\n")
                    #expect(window.contains("//") || window.contains("///"),
                            "\(module)/\(file.lastPathComponent):\(number): @unchecked Sendable without a comment that proves it")
                }
            }
        }
    }
}

extension StyleTests {
    @Test func theTaskRuleTellsStructuredFromUnstructured() {
        #expect(Self.startsUnstructuredTask("        Task { await run() }"))
        #expect(Self.startsUnstructuredTask("let handle = Task.detached { }"))
        #expect(!Self.startsUnstructuredTask("            tasks.addTask { await self.connectLoop(to: peer.index) }"))
        #expect(!Self.startsUnstructuredTask("group.addTask {"))
    }
}
