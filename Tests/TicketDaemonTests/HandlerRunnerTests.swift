import ChildProcess
import Foundation
import Synchronization
import Testing
import TestSupport
import TicketDaemon

/// Before-acquire handlers run through the child-process primitive: booth's environment, name
/// order in a directory, and a timeout that ends everything the handler started (before, only
/// the handler itself got SIGTERM: what it had started ran on).
struct HandlerRunnerTests {
    static func directory() throws -> String { try makeTemporaryDirectory("baton-handler") }

    static func handlerRunner(timeout: Duration) throws -> HandlerRunner {
        HandlerRunner(
            configurationName: "geo1", configurationPath: "/etc/baton/geo1.conf", localName: "site-a", timeout: timeout,
            runner: try ChildProcessRunner())
    }

    static func script(_ path: String, _ body: String) throws {
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    static func run(_ runner: HandlerRunner, _ path: String) async throws -> (Bool, String) {
        let result = Mutex<(Bool, String)?>(nil)
        runner.run(handler: path, ticket: "ticket-db", expires: 1234) { succeeded, detail in result.withLock { $0 = (succeeded, detail) } }
        try await waitUntil("the handler's verdict") { result.withLock { $0 } != nil }
        return result.withLock { $0! }
    }

    @Test func aDirectoryRunsInNameOrderWithBoothsEnvironmentAndTheFirstFailureDecides() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/handlers", withIntermediateDirectories: true)
        try Self.script(directory + "/handlers/10-first", "echo \"1 $BOOTH_TICKET $BOOTH_LOCAL $BOOTH_CONF_NAME $BOOTH_TICKET_EXPIRES\" >> \(directory)/log")
        try Self.script(directory + "/handlers/20-second", "echo 2 >> \(directory)/log; echo refused; exit 3")
        try Self.script(directory + "/handlers/30-third", "echo 3 >> \(directory)/log")
        let runner = try Self.handlerRunner(timeout: .seconds(60))
        let (succeeded, detail) = try await Self.run(runner, directory + "/handlers")
        #expect(!succeeded)
        #expect(detail == "\(directory)/handlers/20-second exited 3: refused")
        #expect(try String(contentsOfFile: directory + "/log", encoding: .utf8) == "1 ticket-db site-a geo1 1234\n2\n")
    }

    @Test func aTimeoutEndsEverythingTheHandlerStarted() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.script(directory + "/handler", "(trap '' TERM; exec sleep 300) & echo $! > \(directory)/helper; sleep 300")
        let runner = try Self.handlerRunner(timeout: .milliseconds(500))
        let (succeeded, detail) = try await Self.run(runner, directory + "/handler")
        #expect(!succeeded)
        #expect(detail.contains("timed out"), "\(detail)")
        let helper = try #require(Int32(String(contentsOfFile: directory + "/helper", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // The verdict comes once the handler's whole group is gone (a zombie left for init to
        // reap runs nothing).
        let stat = (try? String(contentsOfFile: "/proc/\(helper)/stat", encoding: .utf8)) ?? ""
        let alive = stat.split(separator: ")").last.map { !$0.hasPrefix(" Z") } ?? false
        if alive { kill(helper, SIGKILL) }
        #expect(!alive, "the handler's helper \(helper) outlived the handler's timeout")
    }
}
