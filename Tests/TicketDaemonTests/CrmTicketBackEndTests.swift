import Foundation
import Synchronization
import Testing
import TestSupport
import TicketDaemon

/// The Pacemaker back end's processes: many ticket changes queue requests to one runner thread
/// instead of starting a thread each (before the child-process primitive, every change was a
/// `Thread.detachNewThread`: 1,000 ticket changes meant 1,000 threads blocked on crm_ticket).
struct CrmTicketBackEndTests {
    /// This process's threads (the `Threads:` line of /proc/self/status).
    static func threads() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) ?? -1
    }

    /// A stand-in for crm_ticket that records its arguments and takes a while, as a CIB write
    /// does (the real one is driven end to end by BatondTests' PacemakerTests; here the subject is
    /// the back end's process handling, so 4,000 real CIB writes would only cost minutes).
    static func recordingProgram(in directory: String) throws -> String {
        let path = directory + "/crm_ticket"
        try "#!/bin/sh\necho \"$*\" >> \(directory)/calls\nsleep 0.05\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    @Test func aThousandTicketChangesDoNotStartAThousandThreads() async throws {
        let directory = try makeTemporaryDirectory("baton-crm-ticket")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backEnd = try CrmTicketBackEnd(program: try Self.recordingProgram(in: directory), timeout: .seconds(60))
        let before = Self.threads()
        let results = Mutex<[Bool]>([])
        for index in 0..<1000 {
            let kind: TicketChange.Kind = index % 10 == 0 ? .grant : .revoke(.revokedByAdmin)
            backEnd.apply(ticket: "ticket\(index)", change: TicketChange(kind: kind, owner: "site-a", term: 1, expires: 100)) { result in
                results.withLock { $0.append((try? result.get()) != nil) }
            }
        }
        var highest = before
        // 1,300 processes of 50 ms, 4 at a time: about 20 s when the machine is quiet.
        try await waitUntil("1,000 changes written", within: Patience.deadline * 3) {
            highest = max(highest, Self.threads())
            return results.withLock { $0.count } == 1000
        }
        #expect(results.withLock { $0.allSatisfy { $0 } })
        let calls = try String(contentsOfFile: directory + "/calls", encoding: .utf8).split(separator: "\n")
        #expect(calls.count == 100 * 4 + 900)
        #expect(calls.contains("--ticket ticket990 --grant --force"))
        #expect(calls.contains("--ticket ticket990 --set-attr expires --attr-value 100"))
        #expect(calls.contains("--ticket ticket999 --revoke --force"))
        // Other suites run in this process too: a margin for their threads, far below 1,000.
        #expect(highest - before < 100, "threads went from \(before) to \(highest) for 1,000 ticket changes")
    }

    @Test func aFailingCallReportsItsProgramArgumentsAndOutput() async throws {
        let directory = try makeTemporaryDirectory("baton-crm-ticket")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/crm_ticket"
        try "#!/bin/sh\necho 'no such ticket' >&2\nexit 105\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        let backEnd = try CrmTicketBackEnd(program: path)
        let failure = Mutex<String?>(nil)
        backEnd.apply(ticket: "t", change: TicketChange(kind: .revoke(.revokedByAdmin), owner: "", term: 1, expires: nil)) { result in
            if case .failure(let error) = result { failure.withLock { $0 = error.reason } }
        }
        try await waitUntil("the revoke fails") { failure.withLock { $0 } != nil }
        #expect(failure.withLock { $0 } == "\(path) --ticket t --revoke --force exited 105: no such ticket")
    }
}
