import Foundation
import Testing
import TestSupport

/// baton-crmd's log lines (issue 17, point 2): batond's form, from the shared DaemonLogging —
/// `<N>` syslog priorities and no timestamp when stderr is the journal (JOURNAL_STREAM names
/// it), `TIME LEVEL baton-crmd: message` elsewhere. Run in a network namespace of its own, where
/// no corosync answers (libqb's sockets are per network namespace), so it fails to start the
/// same way on every machine.
@Suite struct CrmdLog {
    static let missing = skipReason("BatondTests", skipping: "CrmdLog", [
        Requirement.built("baton-crmd"), Requirement.root("a network namespace of its own (unshare --net)"),
        Requirement.executable("/usr/bin/unshare", "util-linux's unshare"),
    ])

    /// baton-crmd's stderr into a file, JOURNAL_STREAM naming that file or not.
    static func run(journal: Bool, directory: String) async throws -> String {
        let errors = directory + "/stderr-\(journal)"
        let descriptor = open(errors, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot open \(errors)") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw TestFailure("fstat \(errors)") }
        var environment = ProcessInfo.processInfo.environment
        environment["JOURNAL_STREAM"] = journal ? "\(status.st_dev):\(status.st_ino)" : nil
        let exit = try await TestChild.spawn(
            ["/usr/bin/unshare", "--net", BuildPaths.product("baton-crmd"), "--cib-dir", directory + "/cib", "--socket", directory + "/crmd.sock"],
            stdout: descriptor, stderr: descriptor, environment: environment
        ).finish(within: Patience.deadline, "baton-crmd without corosync")
        #expect(exit == 1, "baton-crmd without corosync exits 1")
        return try String(contentsOfFile: errors, encoding: .utf8)
    }

    @Test(.enabled(if: missing == nil, "needs root and baton-crmd built; the reason is printed on stderr"))
    func linesCarryPrioritiesForTheJournalAndTimesElsewhere() async throws {
        let directory = try makeTemporaryDirectory("baton-crmd-log")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try await Self.run(journal: true, directory: directory).split(separator: "\n").map(String.init)
        #expect(journal.contains { $0.hasPrefix("<6>CIB: none in ") }, "\(journal)")
        #expect(journal.contains { $0.hasPrefix("<3>cannot start: ") }, "\(journal)")
        #expect(journal.allSatisfy { $0.hasPrefix("<") }, "every line has a priority: \(journal)")
        let plain = try await Self.run(journal: false, directory: directory).split(separator: "\n").map(String.init)
        let pattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z error baton-crmd: cannot start: "#
        #expect(plain.contains { $0.range(of: pattern, options: .regularExpression) != nil }, "\(plain)")
        print("baton-crmd under the journal: \(journal.joined(separator: " | ")); elsewhere: \(plain.last ?? "")")
    }
}
