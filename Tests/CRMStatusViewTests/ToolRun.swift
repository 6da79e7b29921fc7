import Foundation
import TestSupport

/// Runs a stock Pacemaker tool or ours to its end: this process's environment plus `extra`,
/// standard output captured, standard error dropped (the tools' warnings are not compared).
enum ToolRun {
    static func run(_ arguments: [String], environment extra: [String: String]) async throws -> (status: Int32, output: String) {
        let output = try OutputFile(prefix: "crm-tool")
        defer { output.remove() }
        let errors = open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard errors >= 0 else { throw TestFailure("cannot open /dev/null: \(String(cString: strerror(errno)))") }
        defer { close(errors) }
        let environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
        let status = try await TestChild.spawn(arguments, stdout: output.descriptor, stderr: errors, environment: environment)
            .finish(within: Patience.deadline, arguments.joined(separator: " "))
        return (status, output.text)
    }
}
