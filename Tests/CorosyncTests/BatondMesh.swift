import Foundation
import Synchronization
import Testing

/// A batond mesh on loopback for the live ticket tests, in the host's namespace: site-a
/// (127.0.0.1), site-b (127.0.0.2) and an arbitrator (127.0.0.3), each with its own
/// configuration (the members, a throwaway PKI, `ticket`'s lines), state directory, admin
/// socket and log under `directory`, and its own back-end arguments. Daemons are stopped by
/// their own pids (`stopAll`, also on every failure path of the callers).
final class BatondMesh: Sendable {
    static let members = [("site-a", "127.0.0.1", "site"), ("site-b", "127.0.0.2", "site"), ("arbitrator", "127.0.0.3", "arbitrator")]
    let directory: String
    let arguments: [String: [String]]
    private let daemons = Mutex<[String: Child]>([:])

    /// Writes the PKI and the three configurations; starts nothing.
    init(directory: String, ticket: [String], arguments: [String: [String]]) async throws {
        self.directory = directory
        self.arguments = arguments
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        let pki = try await run([Paths.packageRoot.appendingPathComponent("scripts/make-test-pki").path, directory + "/pki", "site-a", "site-b", "arbitrator"])
        guard pki.status == 0 else { throw TestFailure("make-test-pki: \(pki.output)") }
        let port = try RealCorosync.CrmdTicketTests.freeTCPPort()
        for (name, _, _) in Self.members {
            var lines = ["port = \(port)"]
            for (other, address, role) in Self.members { lines.append("\(role) = \(address) name=\(other)") }
            lines += ["tls-ca = \(directory)/pki/ca.pem", "tls-certificate = \(directory)/pki/\(name).pem",
                      "tls-private-key = \(directory)/pki/\(name).key", "identity = \(name)"] + ticket
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(directory)/\(name).conf", atomically: true, encoding: .utf8)
        }
    }

    func start(_ name: String) throws {
        let logPath = "\(directory)/\(name).log"
        let output = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw TestFailure("cannot open \(logPath)") }
        defer { close(output) }
        let child = try Child.spawn([BuildPaths.product("batond"), "-c", "\(directory)/\(name).conf", "--state-directory",
                                     "\(directory)/state-\(name)", "--socket", "\(directory)/run/\(name)-\(name).sock"] + (arguments[name] ?? []),
                                    stdout: output, stderr: output)
        daemons.withLock { $0[name] = child }
    }

    func startAll() throws {
        for (name, _, _) in Self.members { try start(name) }
    }

    /// kill -9 of one member's batond (nothing when it is not running).
    func kill(_ name: String) {
        daemons.withLock { $0.removeValue(forKey: name) }?.killAndReap()
    }

    func stopAll() {
        for child in daemons.withLock({ running in defer { running = [:] }; return Array(running.values) }) {
            child.signal(SIGCONT)
            child.killAndReap()
        }
    }

    func signal(_ name: String, _ signal: Int32) {
        daemons.withLock { $0[name] }?.signal(signal)
    }

    func baton(_ arguments: [String], at name: String) async throws -> CommandResult {
        try await run([Paths.baton] + arguments + ["-c", "\(directory)/\(name).conf", "--run-directory", directory + "/run"])
    }

    /// The last lines of every member's log, for a failure's message.
    func logs(lines: Int = 20) -> String {
        Self.members.map {
            "\($0.0):\n" + ((try? String(contentsOfFile: "\(directory)/\($0.0).log", encoding: .utf8)) ?? "").split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    func waitConnected() async throws {
        try await waitUntil("every batond's peers connected") {
            for (name, _, _) in Self.members {
                let result = try await self.baton(["peers"], at: name)
                guard result.status == 0, result.output.components(separatedBy: ", connected").count == 3 else { return false }
            }
            return true
        }
    }
}
