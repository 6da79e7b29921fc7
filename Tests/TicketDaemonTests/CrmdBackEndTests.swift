import Foundation
import Synchronization
import Testing
import TestSupport
@testable import TicketDaemon
import TicketElection

/// The crmd back end's requests: one `tickets apply` per batch with booth's attributes, in order,
/// the answer or failure reaching every change's completion. A listener stands in for
/// baton-crmd's admin socket here (the real daemon is driven end to end by CorosyncTests'
/// CrmdTicketTests); it records each request and answers with what the test gives it.
struct CrmdBackEndTests {
    /// A unix socket that answers each connection with `answer` after reading it to its end.
    final class Listener: Sendable {
        final class Recorded: Sendable {
            let value = Mutex<[String]>([])
            func withLock<T>(_ body: (inout [String]) -> T) -> T { value.withLock { body(&$0) } }
        }
        let path: String
        let requests = Recorded()
        private let descriptor: Int32

        convenience init(directory: String, answer: String) throws {
            try self.init(directory: directory) { request in
                CrmdBackEndTests.site(request, running: false) ?? answer
            }
        }

        /// Answers each request with `answer(request)`.
        init(directory: String, answer: @escaping @Sendable (String) -> String) throws {
            path = directory + "/crmd.sock"
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            descriptor = fd
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            guard bound == 0, listen(fd, 16) == 0 else { throw TestFailure("cannot listen on \(path)") }
            let requests = self.requests
            Thread {
                while true {
                    let client = accept(fd, nil, nil)
                    if client < 0 { return }
                    var received: [UInt8] = []
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let count = read(client, &buffer, buffer.count)
                        if count <= 0 { break }
                        received += buffer[0..<count]
                    }
                    requests.withLock { $0.append(String(decoding: received, as: UTF8.self)) }
                    let text = answer(String(decoding: received, as: UTF8.self))
                    _ = Array(text.utf8).withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                    close(client)
                }
            }.start()
        }

        func stop() {
            shutdown(descriptor, Int32(SHUT_RDWR))
            close(descriptor)
        }
    }

    /// The completions' results, in the order they came.
    final class Results: Sendable {
        let value = Mutex<[Result<Void, BackEndError>]>([])
        func withLock<T>(_ body: (inout [Result<Void, BackEndError>]) -> T) -> T { value.withLock { body(&$0) } }
    }

    static func apply(_ backEnd: CrmdBackEnd, _ ticket: String, _ kind: TicketChange.Kind, into results: Results) {
        backEnd.apply(ticket: ticket, change: TicketChange(kind: kind, owner: "site-a", term: 7, expires: 1_800_000_000)) { result in
            results.withLock { $0.append(result) }
        }
    }

    @Test func aBatchIsOneRequestWithBoothsAttributes() async throws {
        let directory = try makeTemporaryDirectory("baton-crmd-back-end")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try Listener(directory: directory, answer: "ok\n")
        defer { listener.stop() }
        let backEnd = CrmdBackEnd(socket: listener.path, timeoutSeconds: 10)
        let results = Results()
        Self.apply(backEnd, "ticketA", .grant, into: results)
        Self.apply(backEnd, "ticketB", .revoke(.revokedByAdmin), into: results)
        Self.apply(backEnd, "ticketC", .standby(true), into: results)
        backEnd.flush()
        try await waitUntil("the batch answered") { results.withLock { $0.count } == 3 }
        #expect(results.withLock { $0.allSatisfy { (try? $0.get()) != nil } })
        let requests = listener.requests.withLock { $0 }.filter { $0.hasPrefix("tickets apply") }
        #expect(requests.count == 1)
        let lines = requests.first?.split(separator: "\n").map(String.init) ?? []
        #expect(lines.first == "tickets apply")
        #expect(lines.contains("ticketA granted true") && lines.contains("ticketA owner site-a") && lines.contains("ticketA term 7")
                && lines.contains("ticketA expires 1800000000") && lines.contains("ticketA revoke-reason"))
        #expect(lines.contains { $0.hasPrefix("ticketA last-granted ") })
        #expect(lines.contains("ticketB granted false") && lines.contains("ticketB owner") && lines.contains("ticketB expires")
                && lines.contains("ticketB revoke-reason \(RevokeReason.revokedByAdmin.rawValue)"))
        #expect(lines.contains("ticketC standby true"))
        // A renewal of a ticket granted here goes out by itself; of one revoked, never.
        backEnd.refreshExpires(ticket: "ticketA", expires: 1_800_000_060)
        backEnd.refreshExpires(ticket: "ticketB", expires: 1_800_000_060)
        let applies = { listener.requests.withLock { $0.filter { $0.hasPrefix("tickets apply") } } }
        try await waitUntil("the renewal sent") { applies().count == 2 }
        #expect(applies().last == "tickets apply\nticketA expires 1800000060\nticketA granted true\n")
        // With its stop-by (the DC revokes at the earlier of the two).
        backEnd.refreshLease(ticket: "ticketA", expires: 1_800_000_070, stopByMilliseconds: 1_800_000_068_000)
        try await waitUntil("the renewal with stop-by sent") { applies().count == 3 }
        #expect(applies().last == "tickets apply\nticketA expires 1800000070\nticketA granted true\nticketA stop-by 1800000068000\n")
    }

    @Test func failuresReachEveryCompletionWithTheReason() async throws {
        let directory = try makeTemporaryDirectory("baton-crmd-back-end")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try Listener(directory: directory, answer: "error: 10000 writes already wait for the DC\n")
        defer { listener.stop() }
        let refused = CrmdBackEnd(socket: listener.path, timeoutSeconds: 10)
        let results = Results()
        Self.apply(refused, "ticketA", .grant, into: results)
        Self.apply(refused, "ticketB", .grant, into: results)
        refused.flush()
        try await waitUntil("the refusal") { results.withLock { $0.count } == 2 }
        for result in results.withLock({ $0 }) {
            guard case .failure(let error) = result else { Issue.record("a refused batch succeeded"); continue }
            #expect(error.reason.contains(listener.path) && error.reason.contains("10000 writes already wait for the DC"), "\(error)")
        }
        let missing = CrmdBackEnd(socket: directory + "/absent.sock", timeoutSeconds: 10)
        let failed = Results()
        Self.apply(missing, "ticketA", .grant, into: failed)
        missing.flush()
        try await waitUntil("the connection failure") { failed.withLock { $0.count } == 1 }
        guard case .failure(let error) = failed.withLock({ $0[0] }) else { Issue.record("no failure"); return }
        #expect(error.reason.contains("absent.sock") && error.reason.contains("No such file"), "\(error)")
    }

    /// What a quorate site answers to `status` and `cib query` (nil for other requests).
    static func site(_ request: String, running: Bool) -> String? {
        if request.hasPrefix("status") { return "{\"quorate\": true}\n" }
        if request.hasPrefix("cib query") { return cib(running: running) }
        return nil
    }

    /// A CIB as `cib query` answers it: a Dummy guarded by ticketA, running on node1 or stopped.
    static func cib(running: Bool) -> String {
        let operation = running ? "start" : "stop"
        return """
            <cib admin_epoch="0" epoch="1" num_updates="1"><configuration><crm_config/>
            <nodes><node id="1" uname="node1"/></nodes>
            <resources><primitive id="guarded" class="ocf" provider="pacemaker" type="Dummy"/></resources>
            <constraints><rsc_ticket id="g" rsc="guarded" ticket="ticketA" loss-policy="stop"/></constraints></configuration>
            <status><node_state id="1" uname="node1" crmd="online" join="member" expected="member" in_ccm="true"><lrm id="1"><lrm_resources>
            <lrm_resource id="guarded" class="ocf" provider="pacemaker" type="Dummy">
            <lrm_rsc_op id="guarded_last_0" operation_key="guarded_\(operation)_0" operation="\(operation)" call-id="2" rc-code="0" op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" on_node="node1"/>
            </lrm_resource></lrm_resources></lrm></node_state></status></cib>
            """
    }

    /// A revoke completes once the site's CIB shows what the ticket guards stopped; a grant at once.
    @Test func aRevokeWaitsForTheGuardedResourcesToStop() async throws {
        let directory = try makeTemporaryDirectory("baton-crmd-back-end")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let running = Mutex(true)
        let listener = try Listener(directory: directory) { request in
            CrmdBackEndTests.site(request, running: running.withLock { $0 }) ?? "ok\n"
        }
        defer { listener.stop() }
        // The back end's limit for the stop is far beyond any wait of this test's: on a loaded
        // machine (the suite starts hundreds of tests at once) this task can wait a minute before
        // it runs again, and a stop not confirmed by then would fail the revoke.
        let backEnd = CrmdBackEnd(socket: listener.path, timeoutSeconds: Double(Patience.deadlineSeconds) * 10)
        let results = Results()
        Self.apply(backEnd, "ticketA", .revoke(.renewalFailing), into: results)
        backEnd.flush()
        // The CIB is read again and again while the resource runs; no answer yet.
        try await waitUntil("the CIB read several times") { listener.requests.withLock { $0.filter { $0.hasPrefix("cib query") }.count } >= 3 }
        #expect(results.withLock { $0.isEmpty })
        let lines = listener.requests.withLock { $0.first }?.split(separator: "\n").map(String.init) ?? []
        #expect(lines.contains("ticketA stop-by"), "a revoke removes stop-by: \(lines)")
        running.withLock { $0 = false }
        try await waitUntil("the revoke confirmed") { results.withLock { $0.count } == 1 }
        #expect(results.withLock { (try? $0[0].get()) != nil })
    }

    /// A partition without quorum confirms nothing (its view of the others' nodes is stale).
    @Test func aSiteWithoutQuorumCannotConfirmTheStop() async throws {
        let directory = try makeTemporaryDirectory("baton-crmd-back-end")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try Listener(directory: directory) { request in
            request.hasPrefix("status") ? "{\"quorate\": false}\n" : CrmdBackEndTests.site(request, running: false) ?? "ok\n"
        }
        defer { listener.stop() }
        let backEnd = CrmdBackEnd(socket: listener.path, timeoutSeconds: 1)
        let results = Results()
        Self.apply(backEnd, "ticketA", .revoke(.siteQuorumLost), into: results)
        backEnd.flush()
        try await waitUntil("the revoke's failure") { results.withLock { $0.count } == 1 }
        guard case .failure(let error) = results.withLock({ $0[0] }) else { Issue.record("a minority confirmed a stop"); return }
        #expect(error.reason.contains("not confirmed") && error.reason.contains("WITHOUT quorum"), "\(error)")
    }

    @Test func aStopNotConfirmedInTimeFailsNamingWhatStillRuns() async throws {
        let directory = try makeTemporaryDirectory("baton-crmd-back-end")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try Listener(directory: directory) { request in
            CrmdBackEndTests.site(request, running: true) ?? "ok\n"
        }
        defer { listener.stop() }
        let backEnd = CrmdBackEnd(socket: listener.path, timeoutSeconds: 1)
        let results = Results()
        Self.apply(backEnd, "ticketA", .revoke(.siteQuorumLost), into: results)
        backEnd.flush()
        try await waitUntil("the revoke's failure") { results.withLock { $0.count } == 1 }
        guard case .failure(let error) = results.withLock({ $0[0] }) else { Issue.record("an unconfirmed stop succeeded"); return }
        #expect(error.reason.contains("not confirmed") && error.reason.contains("guarded on node1"), "\(error)")
    }
}
