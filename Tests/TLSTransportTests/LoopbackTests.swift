import Foundation
import NIOConcurrencyHelpers
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import TLSTransport

let members = ["site-a", "site-b", "arbitrator"]

/// A TLS echo server on 127.0.0.1 presenting site-a's certificate.
struct EchoServer {
    let channel: any Channel
    let port: Int
    let observations: ServerObservations
    let logs: LogRecorder
    let context: ReloadableTLSContext

    static func start(
        _ pki: TestPKI, name: String = "site-a", accepting acceptedNames: [String] = members, handshakeTimeout: Duration = Patience.deadline
    ) async throws -> EchoServer {
        let observations = ServerObservations()
        let logs = LogRecorder()
        let context = try ReloadableTLSContext(files: pki.files(name))
        let channel = try await TLSChannels.listen(
            host: "127.0.0.1", port: 0, acceptedPeerNames: acceptedNames, context: context, handshakeTimeout: handshakeTimeout,
            group: MultiThreadedEventLoopGroup.singleton, logger: logs.logger("test.server")
        ) { channel in
            try channel.pipeline.syncOperations.addHandler(EchoHandler(observations: observations))
        }
        let port = try #require(channel.localAddress?.port)
        return EchoServer(channel: channel, port: port, observations: observations, logs: logs, context: context)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Dials the server as `clientName`, sends `message`, returns the verified server and the echo.
func exchange(
    _ pki: TestPKI, as clientName: String, expecting serverName: String = "site-a", port: Int,
    certificateAuthority: String? = nil, message: String = "ping", logs: LogRecorder = LogRecorder()
) async throws -> (peer: VerifiedPeer, reply: String) {
    let context = try ReloadableTLSContext(files: pki.files(clientName, certificateAuthority: certificateAuthority))
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let replyPromise = loop.makePromise(of: String.self)
    let expected = message.utf8.count
    do {
        let connection = try await TLSChannels.connect(
            host: "127.0.0.1", port: port, expectedPeerName: serverName, context: context, handshakeTimeout: Patience.deadline,
            group: loop, logger: logs.logger("test.client")
        ) { channel in
            try channel.pipeline.syncOperations.addHandler(ResponseCollector(expectedBytes: expected, promise: replyPromise))
        }
        defer { connection.channel.close(promise: nil) }
        do {
            let channel = connection.channel
            try await withTimeout(Patience.deadline) { try await channel.writeAndFlush(ByteBuffer(string: message)) }
        } catch {
            // The channel may already be closed by the server's alert: report the TLS error.
            _ = try await withTimeout(Patience.deadline) { try await replyPromise.futureResult.get() }
            throw error
        }
        let reply = try await withTimeout(Patience.deadline) { try await replyPromise.futureResult.get() }
        return (connection.peer, reply)
    } catch {
        replyPromise.fail(error)  // no-op when already completed
        throw error
    }
}

/// In TLS 1.3 a client learns that the server refused its certificate only on its first read:
/// the echo fails with the server's alert.
func expectClientSeesAlert(_ operation: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    do {
        try await operation()
        Issue.record("the server accepted the client", sourceLocation: sourceLocation)
    } catch let error as TLSConnectionError {
        #expect(error.role == .client, sourceLocation: sourceLocation)
        guard case .alertReceived = error.refusal else {
            Issue.record("expected an alert, got \(error)", sourceLocation: sourceLocation)
            return
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(Patience.testMinutes))) struct LoopbackTLS {
    @Test func mutualTLSEchoWithVerifiedNames() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await EchoServer.start(pki)
        defer { Task { await server.stop() } }
        let clientLogs = LogRecorder()
        let (peer, reply) = try await exchange(pki, as: "site-b", port: server.port, message: "hello over TLS 1.3", logs: clientLogs)
        #expect(reply == "hello over TLS 1.3")
        #expect(peer.name == "site-a")
        #expect(peer.certificateNames == ["site-a"])
        #expect(peer.address == "127.0.0.1:\(server.port)")
        // site-b's certificate has no SAN: its subject CN names it.
        let seen = server.observations.verifiedPeers
        #expect(seen.map(\.name) == ["site-b"])
        #expect(seen.first?.address.hasPrefix("127.0.0.1:") == true)
        #expect(server.observations.refusals.isEmpty)
        #expect(clientLogs.all.contains { $0.message == "TLS handshake completed" && $0.metadata["peer.name"] == "site-a" })
        // Large payload: many records, both directions.
        let big = String(repeating: "0123456789abcdef", count: 8192)
        let (_, bigReply) = try await exchange(pki, as: "arbitrator", port: server.port, message: big)
        #expect(bigReply == big)
        #expect(server.observations.verifiedPeers.map(\.name) == ["site-b", "arbitrator"])
    }

    /// A refused connect is said in an admin's words, not as NIO's type dump
    /// (`SingleConnectionFailure(target: [IPv4]…, error: connection reset (error set): …)`).
    @Test func aRefusedConnectIsSaidPlainly() async throws {
        let pki = try await SharedPKI.shared.get()
        // A port nobody listens on and nobody else can take while the test runs: bound, never
        // listening (a closed server's port could be reused by a test running beside this one).
        let (descriptor, port) = try Self.boundNotListening()
        defer { close(descriptor) }
        let context = try ReloadableTLSContext(files: pki.files("site-b"))
        do {
            _ = try await TLSChannels.connect(
                host: "127.0.0.1", port: port, expectedPeerName: "site-a", context: context, handshakeTimeout: Patience.deadline,
                group: MultiThreadedEventLoopGroup.singleton, logger: LogRecorder().logger("test.client")) { _ in }
            Issue.record("connected to a closed port \(port)")
        } catch {
            #expect(connectFailureDescription(error) == "Connection refused", "raw: \(error)")
        }
    }

    /// A TCP socket bound to 127.0.0.1 on a port the kernel picks, not listening: a connect to
    /// it is refused. The caller closes the descriptor.
    static func boundNotListening() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else {
            close(descriptor)
            throw TestFailure("bind: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func serverRefusalsAndTheServerKeepsServing() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await EchoServer.start(pki)
        defer { Task { await server.stop() } }
        var expectedRefusals = 0

        // 1. openssl s_client without a client certificate.
        try await run("/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.certificateAuthority, "-tls1_3", "-brief",
        ], input: "ping\n")
        expectedRefusals += 1
        var refusals = try await server.observations.waitForRefusals(expectedRefusals)
        #expect(refusals.last?.refusal == .noPeerCertificate)

        // 2. A client whose certificate comes from a foreign CA.
        try await expectClientSeesAlert { _ = try await exchange(pki, as: "foreign-site-b", port: server.port) }
        expectedRefusals += 1
        refusals = try await server.observations.waitForRefusals(expectedRefusals)
        guard case .peerCertificateUntrusted = refusals.last?.refusal else {
            Issue.record("foreign CA: \(String(describing: refusals.last))")
            return
        }

        // 3. A certificate from our CA with a name that is no member.
        try await expectClientSeesAlert { _ = try await exchange(pki, as: "intruder", port: server.port) }
        expectedRefusals += 1
        refusals = try await server.observations.waitForRefusals(expectedRefusals)
        #expect(refusals.last?.refusal == .peerNameMismatch(expected: members, presented: ["intruder"]))

        // 4. An expired certificate.
        try await expectClientSeesAlert { _ = try await exchange(pki, as: "expired-site-b", port: server.port) }
        expectedRefusals += 1
        refusals = try await server.observations.waitForRefusals(expectedRefusals)
        #expect(refusals.last?.refusal == .peerCertificateExpired)

        // 5. openssl s_client -tls1_2 with a good certificate.
        try await run("/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.certificateAuthority, "-tls1_2", "-brief",
            "-cert", pki.certificate("site-b"), "-key", pki.key("site-b"),
        ], input: "ping\n")
        expectedRefusals += 1
        refusals = try await server.observations.waitForRefusals(expectedRefusals)
        guard case .protocolVersionRefused = refusals.last?.refusal else {
            Issue.record("TLS 1.2: \(String(describing: refusals.last))")
            return
        }

        // 6. Plaintext: an HTTP request, then binary garbage.
        for garbage in ["GET / HTTP/1.1\r\nHost: site-a\r\n\r\n", "\u{01}\u{02}\u{03}garbage-bytes-that-are-not-tls\u{00}\u{7f}"] {
            let plain = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: server.port).get()
            try await plain.writeAndFlush(ByteBuffer(string: garbage))
            expectedRefusals += 1
            refusals = try await server.observations.waitForRefusals(expectedRefusals)
            try? await plain.close()
            guard case .notTLS = refusals.last?.refusal else {
                Issue.record("plaintext \(garbage.debugDescription): \(String(describing: refusals.last))")
                return
            }
        }

        // 7. A peer that connects and says nothing: the handshake timeout (1 s here). On a
        // server of its own: a 1 s handshake timeout on the server above would also refuse the
        // good members whose handshakes a loaded machine slows past 1 s.
        let impatient = try await EchoServer.start(pki, handshakeTimeout: .seconds(1))
        defer { Task { await impatient.stop() } }
        let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: impatient.port).get()
        let timedOut = try await impatient.observations.waitForRefusals(1)
        #expect(timedOut.last?.refusal == .handshakeTimeout(.seconds(1)))
        try await withTimeout(Patience.deadline) { try await silent.closeFuture.get() }
        #expect(impatient.logs.all.contains { $0.message == "TLS connection refused" && $0.metadata["tls.reason"] != nil })

        // Every refusal was logged with the peer's address and the reason.
        let refusalLines = server.logs.all.filter { $0.message == "TLS connection refused" }
        #expect(refusalLines.count == expectedRefusals)
        #expect(refusalLines.allSatisfy { ($0.metadata["peer.address"] ?? "").hasPrefix("127.0.0.1:") && $0.metadata["tls.reason"] != nil })
        #expect(refusals.allSatisfy { $0.role == .server && $0.peerAddress.hasPrefix("127.0.0.1:") })

        // And the server still serves a good member.
        let (peer, reply) = try await exchange(pki, as: "site-b", port: server.port, message: "still here")
        #expect(reply == "still here")
        #expect(peer.name == "site-a")
        #expect(server.observations.verifiedPeers.map(\.name) == ["site-b"])
    }

    @Test func clientRefusesAServerWithTheWrongName() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await EchoServer.start(pki)
        defer { Task { await server.stop() } }
        let logs = LogRecorder()
        do {
            _ = try await exchange(pki, as: "site-b", expecting: "arbitrator", port: server.port, logs: logs)
            Issue.record("connected to site-a while expecting the arbitrator")
        } catch let error as TLSConnectionError {
            #expect(error.role == .client)
            #expect(error.refusal == .peerNameMismatch(expected: ["arbitrator"], presented: ["site-a"]))
            #expect(error.peerAddress == "127.0.0.1:\(server.port)")
        }
        #expect(logs.all.contains { $0.message == "TLS connection refused" && $0.metadata["peer.address"] == "127.0.0.1:\(server.port)" })
    }

    @Test func clientRefusesAServerFromAForeignCA() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await EchoServer.start(pki, name: "foreign-site-b")
        defer { Task { await server.stop() } }
        do {
            _ = try await exchange(pki, as: "site-a", expecting: "site-b", port: server.port)
            Issue.record("connected to a server from a foreign CA")
        } catch let error as TLSConnectionError {
            guard case .peerCertificateUntrusted = error.refusal else {
                Issue.record("unexpected refusal \(error)")
                return
            }
        }
    }

    @Test func opensslClientWithAGoodCertificateInteroperates() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await EchoServer.start(pki)
        defer { Task { await server.stop() } }
        // -ign_eof keeps reading after stdin ends; the echo comes back, then s_client is stopped
        // by the bounded wait... so instead let it quit on its own with -quiet and a short sleep
        // is avoided: we only check that the server verified it.
        try await run("/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.certificateAuthority, "-brief",
            "-cert", pki.certificate("arbitrator"), "-key", pki.key("arbitrator"), "-verify_hostname", "site-a",
        ], input: "ping\n")
        let deadline = ContinuousClock.now + Patience.deadline
        while server.observations.verifiedPeers.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(server.observations.verifiedPeers.map(\.name) == ["arbitrator"])
    }

    @Test func reloadedCertificatesApplyToNewConnections() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await EchoServer.start(pki)
        defer { Task { await server.stop() } }
        #expect(server.context.context.ownCertificateNames == ["site-a"])
        _ = try await exchange(pki, as: "site-b", expecting: "site-a", port: server.port)
        try server.context.reload(files: pki.files("arbitrator"))
        #expect(server.context.context.ownCertificateNames == ["arbitrator"])
        let (peer, _) = try await exchange(pki, as: "site-b", expecting: "arbitrator", port: server.port)
        #expect(peer.name == "arbitrator")
        // A broken reload keeps the previous context and says which file is at fault.
        var broken = pki.files("arbitrator")
        broken.privateKeyFile = pki.key("site-a")
        #expect(throws: TLSContextError.self) { try server.context.reload(files: broken) }
        #expect(server.context.context.ownCertificateNames == ["arbitrator"])
        let (again, _) = try await exchange(pki, as: "site-b", expecting: "arbitrator", port: server.port)
        #expect(again.name == "arbitrator")
    }

    /// A booth file without `name=` names members by address: several addresses are accepted
    /// (IP SAN or a CN holding the address), and other certificates are still refused.
    @Test func membersNamedByAddress() async throws {
        let pki = try await SharedPKI.shared.get()
        let addresses = ["127.0.0.1", "127.0.0.2", "arbitrator"]
        let server = try await EchoServer.start(pki, name: "ip-one", accepting: addresses)
        defer { Task { await server.stop() } }
        let (peer, reply) = try await exchange(pki, as: "ip-two", expecting: "127.0.0.1", port: server.port)
        #expect(peer.name == "127.0.0.1")
        #expect(reply == "ping")
        _ = try await exchange(pki, as: "arbitrator", expecting: "127.0.0.1", port: server.port)
        #expect(server.observations.verifiedPeers.map(\.name) == ["127.0.0.2", "arbitrator"])
        await #expect(throws: (any Error).self) {
            _ = try await exchange(pki, as: "intruder", expecting: "127.0.0.1", port: server.port)
        }
        let refusals = try await server.observations.waitForRefusals(1)
        #expect(refusals.last?.refusal == .peerNameMismatch(expected: addresses, presented: ["intruder"]))
    }

    @Test func aCertificateNamingTwoMembersIsRefused() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await EchoServer.start(pki)
        defer { Task { await server.stop() } }
        await #expect(throws: (any Error).self) {
            _ = try await exchange(pki, as: "two-names", port: server.port)
        }
        let refusals = try await server.observations.waitForRefusals(1)
        #expect(refusals.last?.refusal == .peerNameAmbiguous(matching: ["site-b", "arbitrator"]))
        #expect(server.observations.verifiedPeers.isEmpty)
    }

    @Test func missingFilesAreTypedErrors() async throws {
        let pki = try await SharedPKI.shared.get()
        var files = pki.files("site-a")
        files.certificateFile = "/nonexistent/cert.pem"
        do {
            _ = try TLSContext(files: files)
            Issue.record("a context without a certificate file was built")
        } catch {
            #expect(error.file == "/nonexistent/cert.pem")
        }
    }
}

/// Our client against `openssl s_server`, a TLS implementation that is not ours.
@Suite(.serialized, .timeLimit(.minutes(Patience.testMinutes))) struct ForeignServer {
    func connect(_ pki: TestPKI, port: Int, expecting: String = "site-a") async throws -> TLSConnection {
        let context = try ReloadableTLSContext(files: pki.files("site-b"))
        return try await TLSChannels.connect(
            host: "127.0.0.1", port: port, expectedPeerName: expecting, context: context, handshakeTimeout: Patience.deadline,
            group: MultiThreadedEventLoopGroup.singleton, logger: LogRecorder().logger("test.client"))
    }

    @Test func mutualTLS13WithOpenSSLServer() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await OpenSSLServer(arguments: [
            "-cert", pki.certificate("site-a"), "-key", pki.key("site-a"), "-CAfile", pki.certificateAuthority,
            "-Verify", "1", "-verify_return_error", "-tls1_3",
        ])
        defer { server.stop() }
        let connection = try await connect(pki, port: server.port)
        #expect(connection.peer.name == "site-a")
        let channel = connection.channel
        try await withTimeout(Patience.deadline) { try await channel.writeAndFlush(ByteBuffer(string: "hello s_server\n")) }
        try await withTimeout(Patience.deadline) { try await channel.close() }
        // s_server prints what it received.
        let deadline = ContinuousClock.now + Patience.deadline
        while !server.output.contains("hello s_server") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.output.contains("hello s_server"))
    }

    /// A server that accepts TCP and never answers: the client gives up at its handshake timeout.
    @Test func clientHandshakeTimesOutAgainstASilentServer() async throws {
        let pki = try await SharedPKI.shared.get()
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let port = try #require(silent.localAddress?.port)
        let started = ContinuousClock.now
        do {
            _ = try await TLSChannels.connect(
                host: "127.0.0.1", port: port, expectedPeerName: "site-a",
                context: try ReloadableTLSContext(files: pki.files("site-b")), handshakeTimeout: .milliseconds(300),
                group: MultiThreadedEventLoopGroup.singleton, logger: LogRecorder().logger("test.client"))
            Issue.record("a silent server completed a handshake")
        } catch let error as TLSConnectionError {
            #expect(error.refusal == .handshakeTimeout(.milliseconds(300)))
            #expect(error.role == .client)
        }
        // A sanity bound only (it gave up, it did not hang): how fast is a benchmark's figure.
        #expect(ContinuousClock.now - started < .milliseconds(300) + Patience.slack)
    }

    /// Nobody listening: a connection error, not a hang.
    @Test func connectingToAClosedPortFails() async throws {
        let pki = try await SharedPKI.shared.get()
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()
        await #expect(throws: (any Error).self) {
            _ = try await TLSChannels.connect(
                host: "127.0.0.1", port: port, expectedPeerName: "site-a",
                context: try ReloadableTLSContext(files: pki.files("site-b")), handshakeTimeout: .seconds(2),
                group: MultiThreadedEventLoopGroup.singleton, logger: LogRecorder().logger("test.client"))
        }
    }

    @Test func clientRefusesATLS12Server() async throws {
        let pki = try await SharedPKI.shared.get()
        let server = try await OpenSSLServer(arguments: [
            "-cert", pki.certificate("site-a"), "-key", pki.key("site-a"), "-CAfile", pki.certificateAuthority, "-tls1_2",
        ])
        defer { server.stop() }
        do {
            _ = try await connect(pki, port: server.port)
            Issue.record("connected to a TLS 1.2 server")
        } catch let error as TLSConnectionError {
            guard case .protocolVersionRefused = error.refusal else {
                Issue.record("unexpected refusal \(error)")
                return
            }
        }
    }
}

/// Counts plaintext bytes; keeps its channel so the test can ask for reads.
final class ByteCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let state: ReaderState
    init(state: ReaderState) { self.state = state }

    func handlerAdded(context: ChannelHandlerContext) { state.setChannel(context.channel) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        state.add(unwrapInboundIn(data).readableBytes)
    }
}

final class ReaderState: Sendable {
    private let box = NIOLockedValueBox<(channel: (any Channel)?, bytes: Int)>((nil, 0))
    func setChannel(_ channel: any Channel) { box.withLockedValue { $0.channel = channel } }
    func add(_ count: Int) { box.withLockedValue { $0.bytes += count } }
    var bytes: Int { box.withLockedValue { $0.bytes } }
    var channel: (any Channel)? { box.withLockedValue { $0.channel } }
}

@Suite(.serialized, .timeLimit(.minutes(Patience.testMinutes))) struct Backpressure {
    /// A server that stops reading makes the client's channel unwritable; reading again drains
    /// every byte and makes it writable again. TLS passes both directions of pressure through.
    @Test func slowReaderPushesBackOnTheWriter() async throws {
        let pki = try await SharedPKI.shared.get()
        let state = ReaderState()
        let serverContext = try ReloadableTLSContext(files: pki.files("site-a"))
        let server = try await TLSChannels.listen(
            host: "127.0.0.1", port: 0, acceptedPeerNames: members, context: serverContext, handshakeTimeout: Patience.deadline,
            group: MultiThreadedEventLoopGroup.singleton, logger: LogRecorder().logger("test.server")
        ) { channel in
            try channel.syncOptions?.setOption(.autoRead, value: false)
            try channel.pipeline.syncOperations.addHandler(ByteCounter(state: state))
        }
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let connection = try await TLSChannels.connect(
            host: "127.0.0.1", port: port, expectedPeerName: "site-a",
            context: try ReloadableTLSContext(files: pki.files("site-b")), handshakeTimeout: Patience.deadline,
            group: MultiThreadedEventLoopGroup.singleton, logger: LogRecorder().logger("test.client"))
        defer { connection.channel.close(promise: nil) }

        let chunk = ByteBuffer(repeating: 0x42, count: 64 * 1024)
        let channel = connection.channel
        let writtenMaximum = 256 * 1024 * 1024
        // Write on the channel's event loop until it says stop: far below 256 MiB when the
        // pressure of the unread socket reaches the writer through TLS.
        let written = try await channel.eventLoop.submit {
            var written = 0
            while channel.isWritable && written < writtenMaximum {
                channel.writeAndFlush(chunk, promise: nil)
                written += chunk.readableBytes
            }
            return written
        }.get()
        #expect(written < writtenMaximum)
        #expect(!channel.isWritable)
        #expect(state.bytes < written)

        // Read until everything has arrived (bounded).
        let deadline = ContinuousClock.now + Patience.deadline
        while state.bytes < written {
            guard ContinuousClock.now < deadline else {
                Issue.record("received \(state.bytes) of \(written) bytes")
                return
            }
            state.channel?.read()
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(state.bytes == written)
        let writableDeadline = ContinuousClock.now + Patience.deadline
        while !channel.isWritable && ContinuousClock.now < writableDeadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(channel.isWritable)
    }
}
