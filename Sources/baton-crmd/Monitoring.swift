// baton-crmd's /metrics and /status (`--metrics HOST:PORT`, off by default): a listener on
// plain threads like the admin socket's, with batond's limits (connections, request bytes,
// time to send the request, GET and HEAD only: MonitoringText). Each request asks the event
// loop for a snapshot (a copy of the facts and the CIB, nothing rendered on the loop) and renders
// it on its own thread (CRMStatusView.CrmdMonitoring, pure).
import BatonVersion
import CIB
import CRMCore
import CRMStatusView
import Foundation
import MonitoringText
import ProcessStats
import Synchronization

/// What the page and the metrics need from the loop: the daemon's facts and the CIB as
/// `cib query` answers it (status section rendered).
struct MonitoringSnapshot: Sendable {
    var facts: CrmdMonitoring.Facts
    var cib: XMLElement
    var cibVersion: CIBVersion
}

/// A one-shot snapshot from the event loop to the HTTP thread that waits for it.
final class MonitoringReply: Sendable {
    private let answer = Mutex<MonitoringSnapshot?>(nil)
    private let ready = DispatchSemaphore(value: 0)
    func send(_ snapshot: MonitoringSnapshot?) {
        answer.withLock { $0 = snapshot }
        ready.signal()
    }
    func wait(seconds: Double) -> MonitoringSnapshot? {
        guard ready.wait(timeout: .now() + seconds) == .success else { return nil }
        return answer.withLock { $0 }
    }
}

/// The recent events (bounded) and the DC's transition timing, written by the loop.
final class MonitorState: Sendable {
    private struct State {
        var events = RecentEvents(capacity: 50)
        var runStartedAt: Duration?
        var lastRunDuration: Duration?
        var runsFinished = 0
    }

    private let state = Mutex(State())

    func record(_ text: String) {
        let seconds = Int(Date().timeIntervalSince1970)
        state.withLock { $0.events.record(seconds: seconds, text) }
    }

    /// The DC controller's log lines an operator wants on the page: transitions, fencing
    /// started or impossible (a fence's result comes on every node as its history record).
    func noteControllerLine(_ line: String) {
        if line.hasPrefix("transition ") || line.hasPrefix("fencing ") || line.hasPrefix("cannot fence") { record(line) }
    }

    /// After each event: whether the DC's run is active now (its start and end are timed).
    func observe(running: Bool, now: Duration) {
        state.withLock { state in
            if running, state.runStartedAt == nil { state.runStartedAt = now }
            if !running, let started = state.runStartedAt {
                state.lastRunDuration = now - started
                state.runsFinished += 1
                state.runStartedAt = nil
            }
        }
    }

    var events: [RecentEvents.Event] { state.withLock { $0.events.events } }
    var transitions: (lastDuration: Duration?, finished: Int) { state.withLock { ($0.lastRunDuration, $0.runsFinished) } }
}

/// The TCP listener for /metrics and /status.
final class MetricsListener: Sendable {
    /// Clients at once; more are closed at once (batond's metricsConnectionsMax).
    static let connectionsMax = 8
    /// A client must send its request within this time (batond's metricsRequestDurationMax).
    static let requestSecondsMax = 5
    /// The loop must hand out its snapshot within this time, else 503.
    static let snapshotSecondsMax = 10.0
    let address: String
    private let descriptor: Int32
    private let closed = Mutex(false)
    private let connections = Mutex(0)
    let refused = Mutex(0)

    /// `HOST:PORT` (a numeric IPv4 or IPv6 address, `[::1]:9940` too, or a name).
    static func parse(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    init(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let info = found else {
            throw AdminSocketError("--metrics \(host):\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AdminSocketError("--metrics: socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw AdminSocketError("--metrics \(host):\(port): \(reason)")
        }
        descriptor = fd
        address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    func serve(_ answer: @escaping @Sendable (String) -> String) {
        let fd = descriptor
        Thread { [self] in
            while !closed.withLock({ $0 }) {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                        if errno != EINTR && errno != ECONNABORTED { usleep(100_000) }
                        continue
                    }
                    return
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                guard connections.withLock({ count in
                    guard count < Self.connectionsMax else { return false }
                    count += 1
                    return true
                }) else {
                    refused.withLock { $0 += 1 }
                    Glibc.close(client)
                    continue
                }
                Thread { [self] in
                    Self.handle(client, answer)
                    Glibc.close(client)
                    connections.withLock { $0 -= 1 }
                }.start()
            }
        }.start()
    }

    /// Reads one request within the time limit and size cap, writes the answer (a reader that
    /// does not take it within the same time is dropped).
    private static func handle(_ client: Int32, _ answer: (String) -> String) {
        var limit = timeval(tv_sec: requestSecondsMax, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let deadline = ContinuousClock.now + .seconds(requestSecondsMax)
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        var line: String?
        while line == nil {
            let left = deadline - ContinuousClock.now
            let milliseconds = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            guard milliseconds > 0 else { return }
            var poller = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return }
            let count = read(client, &buffer, buffer.count)
            guard count > 0 else { return }
            request += buffer[0..<count]
            guard request.count <= MonitoringText.requestBytesMax else { return }
            line = MonitoringText.requestLine(of: request)
        }
        var bytes = Array(answer(line ?? "").utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeMutableBytes { write(client, $0.baseAddress! + sent, $0.count - sent) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            sent += count
        }
        shutdown(client, Int32(SHUT_WR))
    }

    func close() {
        closed.withLock { $0 = true }
        shutdown(descriptor, Int32(SHUT_RDWR))
        Glibc.close(descriptor)
    }
}

extension Daemon {
    /// The answer to one request line (MonitoringText), 503 when the loop gives no snapshot.
    func monitoringAnswer(_ requestLine: String) -> String {
        var unavailable = false
        func monitoring() -> CrmdMonitoring? {
            let reply = MonitoringReply()
            feed(.monitoring(reply: reply))
            guard let snapshot = reply.wait(seconds: MetricsListener.snapshotSecondsMax), let cib = try? CIB(xml: snapshot.cib) else {
                unavailable = true
                return nil
            }
            return CrmdMonitoring(facts: snapshot.facts, cib: cib, cibVersion: snapshot.cibVersion, events: monitor.events,
                                  now: Int(Date().timeIntervalSince1970))
        }
        let response = MonitoringText.response(
            to: requestLine,
            metrics: {
                guard let page = monitoring() else { return "" }
                var process = ProcessMetrics.current()?.exposition ?? []
                process += ["# HELP baton_crmd_metrics_connections_refused_total Clients closed at once: \(MetricsListener.connectionsMax) were connected.",
                            "# TYPE baton_crmd_metrics_connections_refused_total counter",
                            "baton_crmd_metrics_connections_refused_total \(metricsListener?.refused.withLock { $0 } ?? 0)"]
                return page.metricsText(processLines: process)
            },
            status: { monitoring()?.statusHTML ?? "" })
        guard !unavailable else {
            let body = "the event loop gave no snapshot within \(Int(MetricsListener.snapshotSecondsMax)) s (or its CIB did not parse)\n"
            return "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                + (requestLine.hasPrefix("HEAD ") ? "" : body)
        }
        return response
    }
}

extension Loop {
    /// The facts of this node now, for /metrics and /status (rendered off the loop).
    func monitoringSnapshot() -> MonitoringSnapshot? {
        guard let cib = try? core.cibQuery() else { return nil }
        let status = core.status()
        let executorCounts = daemon.executor.withLock { $0?.operationCounts } ?? (running: 0, queued: 0)
        let transitions = daemon.monitor.transitions
        let facts = CrmdMonitoring.Facts(
            nodeName: status.localName, nodeID: status.localNodeID.rawValue, isDC: core.isDC, dcName: status.dcName,
            quorate: status.quorate, members: status.members.count,
            transitionActionsPending: controller?.running == true ? (controller?.run?.counts).map { $0.pending + $0.incomplete } ?? 0 : 0,
            lastTransitionDuration: transitions.lastDuration, transitionsFinished: transitions.finished,
            executorRunning: executorCounts.running, executorQueued: executorCounts.queued,
            version: BatonVersion.version, uptime: daemon.now)
        return MonitoringSnapshot(facts: facts, cib: cib, cibVersion: core.cib.version)
    }
}
