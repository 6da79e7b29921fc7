import Foundation
import Synchronization
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@_exported import TestSupport
@testable import TLSTransport

/// Runs a program with a bounded wait (input from a file, output into one); kills it at the
/// deadline.
@discardableResult
func run(_ executable: String, _ arguments: [String], input: String? = nil, timeout: Duration = Patience.deadline) async throws -> (status: Int32, output: String) {
    let output = try OutputFile(prefix: "baton-tls-run")
    defer { output.remove() }
    let inputPath = output.path + ".in"
    defer { unlink(inputPath) }
    var stdin = TestChild.Input.path("/dev/null")
    if let input {
        try input.write(toFile: inputPath, atomically: false, encoding: .utf8)
        stdin = .path(inputPath)
    }
    // At the limit SIGKILL (finish): the test runner's threads may block SIGTERM, and children inherit that.
    let status = try await TestChild.spawn([executable] + arguments, stdin: stdin, stdout: output.descriptor, stderr: output.descriptor)
        .finish(within: timeout, "\(executable) \(arguments.joined(separator: " "))")
    return (status, output.text)
}

/// A throwaway PKI made with the openssl CLI at test time: a CA, members, and the bad
/// certificates the refusal tests need. Nothing of it is committed.
struct TestPKI: Sendable {
    let directory: String

    func certificate(_ name: String) -> String { "\(directory)/\(name).pem" }
    func key(_ name: String) -> String { "\(directory)/\(name).key" }
    var certificateAuthority: String { "\(directory)/ca.pem" }
    var foreignCertificateAuthority: String { "\(directory)/foreign-ca.pem" }

    func files(_ name: String, certificateAuthority: String? = nil) -> TLSFiles {
        TLSFiles(certificateAuthorityFile: certificateAuthority ?? self.certificateAuthority, certificateFile: certificate(name), privateKeyFile: key(name))
    }

    static func make() async throws -> TestPKI {
        let directory = testPKIDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The throwaway keys leave with the test process.
        atexit { try? FileManager.default.removeItem(atPath: testPKIDirectory) }
        let pki = TestPKI(directory: directory)
        try await pki.makeAuthority("ca", commonName: "Baton Test CA")
        try await pki.makeAuthority("foreign-ca", commonName: "Foreign CA")
        // site-a and arbitrator carry a SAN; site-b only a subject CN (the CN fallback path).
        try await pki.makeMember("site-a", commonName: "site-a", alternativeName: "site-a", authority: "ca")
        try await pki.makeMember("site-b", commonName: "site-b", alternativeName: nil, authority: "ca")
        try await pki.makeMember("arbitrator", commonName: "arbitrator", alternativeName: "arbitrator", authority: "ca")
        try await pki.makeMember("intruder", commonName: "intruder", alternativeName: "intruder", authority: "ca")
        try await pki.makeMember("foreign-site-b", commonName: "site-b", alternativeName: "site-b", authority: "foreign-ca")
        try await pki.makeMember("expired-site-b", commonName: "site-b", alternativeName: "site-b", authority: "ca", days: -1)
        // Members named by address, as in a booth file without name=: an IP SAN, and a bare CN.
        try await pki.makeMember("ip-one", commonName: "127.0.0.1", alternativeName: "IP:127.0.0.1", authority: "ca")
        try await pki.makeMember("ip-two", commonName: "127.0.0.2", alternativeName: nil, authority: "ca")
        // One certificate naming two members.
        try await pki.makeMember("two-names", commonName: "site-b", alternativeName: "DNS:site-b,DNS:arbitrator", authority: "ca")
        return pki
    }

    private func makeAuthority(_ name: String, commonName: String) async throws {
        try await openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key(name), "-out", certificate(name), "-subj", "/CN=\(commonName)", "-days", "2",
        ])
    }

    private func makeMember(_ name: String, commonName: String, alternativeName: String?, authority: String, days: Int = 2) async throws {
        var request = [
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key(name), "-out", "\(directory)/\(name).csr", "-subj", "/CN=\(commonName)",
        ]
        if let alternativeName {
            let entry = alternativeName.contains(":") ? alternativeName : "DNS:\(alternativeName)"
            request += ["-addext", "subjectAltName=\(entry)"]
        }
        try await openssl(request)
        try await openssl([
            "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", certificate(authority), "-CAkey", key(authority),
            "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "\(days)", "-copy_extensions", "copyall",
            "-out", certificate(name),
        ])
    }

    private func openssl(_ arguments: [String]) async throws {
        let result = try await run("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(result.output)") }
    }
}

/// One directory per test process.
let testPKIDirectory = NSTemporaryDirectory() + "baton-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

/// Made once per test process.
actor SharedPKI {
    static let shared = SharedPKI()
    /// One making task: callers that arrive while it runs wait for it (actor reentrancy would
    /// otherwise start a second one into the same directory).
    private var making: Task<TestPKI, any Error>?

    func get() async throws -> TestPKI {
        if let making { return try await making.value }
        let task = Task { try await TestPKI.make() }
        making = task
        return try await task.value
    }
}

/// Log lines kept for assertions.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }
    private let entries = NIOLockedValueBox<[Entry]>([])

    var all: [Entry] { entries.withLockedValue { $0 } }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label, factory: { _ in RecordingLogHandler(recorder: self) })
        logger.logLevel = .debug
        return logger
    }

    fileprivate func append(_ entry: Entry) { entries.withLockedValue { $0.append(entry) } }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var flattened: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { flattened[key] = "\(value)" }
        recorder.append(.init(level: event.level, message: "\(event.message)", metadata: flattened))
    }
}

/// What the test server saw: verified peers and refusals.
final class ServerObservations: Sendable {
    private let peers = NIOLockedValueBox<[VerifiedPeer]>([])
    private let errors = NIOLockedValueBox<[TLSConnectionError]>([])

    var verifiedPeers: [VerifiedPeer] { peers.withLockedValue { $0 } }
    var refusals: [TLSConnectionError] { errors.withLockedValue { $0 } }

    func record(_ peer: VerifiedPeer) { peers.withLockedValue { $0.append(peer) } }
    func record(_ error: TLSConnectionError) { errors.withLockedValue { $0.append(error) } }

    /// Waits (bounded) until there are `count` refusals.
    func waitForRefusals(_ count: Int, timeout: Duration = Patience.deadline) async throws -> [TLSConnectionError] {
        let deadline = ContinuousClock.now + timeout
        while refusals.count < count {
            guard ContinuousClock.now < deadline else {
                throw TestFailure("expected \(count) refusals within \(timeout), saw \(refusals)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return refusals
    }
}

/// Echoes plaintext back and reports what TLS told it.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let observations: ServerObservations

    init(observations: ServerObservations) { self.observations = observations }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted { observations.record(completed.peer) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? TLSConnectionError { observations.record(error) }
    }
}

/// Collects `expectedBytes` of plaintext and completes a promise with them, or fails it.
final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let expectedBytes: Int
    let promise: EventLoopPromise<String>
    var received = ""
    var done = false

    init(expectedBytes: Int, promise: EventLoopPromise<String>) {
        self.expectedBytes = expectedBytes
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received += buffer.readString(length: buffer.readableBytes) ?? ""
        if !done && received.utf8.count >= expectedBytes {
            done = true
            promise.succeed(received)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done { done = true; promise.fail(error) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { done = true; promise.fail(TestFailure("closed after \(received.utf8.count) bytes")) }
        context.fireChannelInactive()
    }
}

/// Bounds any wait.
func withTimeout<Result: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Result.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestFailure("timed out after \(timeout)")
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

/// `openssl s_server` as a foreign TLS peer on 127.0.0.1, on a port it picks; stopped by its
/// own pid.
final class OpenSSLServer: Sendable {
    let child: TestChild
    /// The write end of s_server's standard input, held open so that it never reads an end of
    /// file; closed by `stop`.
    let input: Int32
    let port: Int
    let outputPath: String
    private let stopped = Mutex(false)

    init(arguments: [String]) async throws {
        let outputPath = NSTemporaryDirectory() + "baton-s_server-\(UInt32.random(in: 0...UInt32.max)).out"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw TestFailure("cannot open \(outputPath)") }
        defer { close(output) }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw TestFailure("pipe: \(String(cString: strerror(errno)))") }
        // Close-on-exec: other tests' children must not hold s_server's input open.
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(ends[0]) }
        let child: TestChild
        do {
            child = try TestChild.spawn(["/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:0"] + arguments,
                                        stdin: .descriptor(ends[0]), stdout: output, stderr: output)
        } catch {
            close(ends[1])
            throw error
        }
        let deadline = ContinuousClock.now + Patience.deadline
        var port: Int?
        while port == nil {
            guard ContinuousClock.now < deadline, child.poll() == nil else {
                child.killAndReap()
                close(ends[1])
                throw TestFailure("s_server did not start: \((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(20))
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT ") }),
               let portText = line.split(separator: ":").last {
                port = Int(portText)
            }
        }
        self.child = child
        self.input = ends[1]
        self.port = port!
        self.outputPath = outputPath
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// s_server keeps no state worth a graceful stop: SIGKILL by its pid, then reap it.
    /// Once; later calls do nothing (the descriptor number may be another's by then).
    func stop() {
        guard stopped.withLock({ stopped in defer { stopped = true }; return !stopped }) else { return }
        child.killAndReap()
        close(input)
        try? FileManager.default.removeItem(atPath: outputPath)
    }
}
