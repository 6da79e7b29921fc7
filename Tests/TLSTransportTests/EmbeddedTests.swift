import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import TLSTransport

/// Records the user events and plaintext that pass the TLS handler.
final class InboundRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var events: [TLSHandshakeCompleted] = []
    var received: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytesView
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted { events.append(completed) }
    }
}

/// A client and a server handler on two EmbeddedChannels, bytes moved by hand.
struct EmbeddedPair {
    let client: EmbeddedChannel
    let server: EmbeddedChannel
    let clientHandler: TLSHandler
    let serverHandler: TLSHandler
    let clientRecorder = InboundRecorder()
    let serverRecorder = InboundRecorder()

    /// `clientContext` / `serverContext`: replace the side's context (for example one whose
    /// key exchange groups a test changed).
    init(
        _ pki: TestPKI, client clientName: String = "site-b", server serverName: String = "site-a", expecting: String = "site-a",
        clientContext: TLSContext? = nil, serverContext: TLSContext? = nil
    ) throws {
        let logger = Logger(label: "test.embedded", factory: { _ in SwiftLogNoOpLogHandler() })
        clientHandler = TLSHandler(
            role: .client, context: try clientContext ?? TLSContext(files: pki.files(clientName)), peerNamePolicy: .exactly(expecting),
            handshakeTimeout: .seconds(10), logger: logger, peerAddress: "server.embedded")
        serverHandler = TLSHandler(
            role: .server, context: try serverContext ?? TLSContext(files: pki.files(serverName)), peerNamePolicy: .anyOf(members),
            handshakeTimeout: .seconds(10), logger: logger, peerAddress: "client.embedded")
        client = EmbeddedChannel()
        server = EmbeddedChannel()
        try client.pipeline.syncOperations.addHandlers([clientHandler, clientRecorder])
        try server.pipeline.syncOperations.addHandlers([serverHandler, serverRecorder])
    }

    func activate() throws {
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9929)).wait()
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9929)).wait()
    }

    /// Moves ciphertext both ways until neither side has anything to send (bounded).
    func pump() throws {
        for _ in 0..<100 {
            var moved = false
            while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                moved = true
                if server.isActive { try server.writeInbound(bytes) }
            }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                moved = true
                if client.isActive { try client.writeInbound(bytes) }
            }
            if !moved { return }
        }
        throw TestFailure("pump did not settle in 100 rounds")
    }
}

@Suite(.timeLimit(.minutes(Patience.testMinutes))) struct EmbeddedTLS {
    @Test func handshakeDataAndCloseNotify() async throws {
        try handshakeDataAndCloseNotify(try await SharedPKI.shared.get())
    }

    func handshakeDataAndCloseNotify(_ pki: TestPKI) throws {
        let pair = try EmbeddedPair(pki)
        try pair.activate()
        // Written before the handshake: queued, then sent once it completes.
        pair.client.writeAndFlush(ByteBuffer(string: "early"), promise: nil)
        try pair.pump()
        #expect(pair.clientHandler.verifiedPeer?.name == "site-a")
        #expect(pair.serverHandler.verifiedPeer?.name == "site-b")
        #expect(pair.serverHandler.verifiedPeer?.certificateNames == ["site-b"])
        #expect(pair.clientRecorder.events.map(\.peer.name) == ["site-a"])
        #expect(pair.serverRecorder.events.map(\.peer.address) == ["client.embedded"])
        #expect(String(decoding: pair.serverRecorder.received, as: UTF8.self) == "early")

        // A megabyte each way: many records.
        let big = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try pair.server.writeAndFlush(ByteBuffer(bytes: big)).wait()
        try pair.client.writeAndFlush(ByteBuffer(bytes: big)).wait()
        try pair.pump()
        #expect(pair.clientRecorder.received == big)
        #expect(pair.serverRecorder.received == Array("early".utf8) + big)

        // close_notify: the client closes, the server answers and closes too.
        let closed = pair.client.close()
        try pair.pump()
        try closed.wait()
        #expect(!pair.client.isActive)
        #expect(!pair.server.isActive)
        #expect(throws: (any Error).self) { try pair.client.writeAndFlush(ByteBuffer(string: "late")).wait() }
    }

    @Test func plaintextIntoTheServerIsRefused() async throws {
        try plaintextIntoTheServerIsRefused(try await SharedPKI.shared.get())
    }

    func plaintextIntoTheServerIsRefused(_ pki: TestPKI) throws {
        let pair = try EmbeddedPair(pki)
        try pair.activate()
        #expect {
            try pair.server.writeInbound(ByteBuffer(string: "PING 10.0.0.1 booth\r\n"))
        } throws: { error in
            guard let error = error as? TLSConnectionError, case .notTLS = error.refusal else { return false }
            return error.peerAddress == "client.embedded" && error.role == .server
        }
        #expect(!pair.server.isActive)
        #expect(pair.serverRecorder.received.isEmpty)
    }

    @Test func handshakeTimeoutOnTheEmbeddedClock() async throws {
        try handshakeTimeoutOnTheEmbeddedClock(try await SharedPKI.shared.get())
    }

    func handshakeTimeoutOnTheEmbeddedClock(_ pki: TestPKI) throws {
        let pair = try EmbeddedPair(pki)
        try pair.activate()
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(pair.server.isActive)
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(throws: TLSConnectionError(peerAddress: "client.embedded", role: .server, refusal: .handshakeTimeout(.seconds(10)))) {
            try pair.server.throwIfErrorCaught()
        }
        #expect(!pair.server.isActive)
    }

    @Test func writesQueuedDuringAFailedHandshakeFail() async throws {
        try writesQueuedDuringAFailedHandshakeFail(try await SharedPKI.shared.get())
    }

    func writesQueuedDuringAFailedHandshakeFail(_ pki: TestPKI) throws {
        let pair = try EmbeddedPair(pki, expecting: "arbitrator")
        try pair.activate()
        let write = pair.client.writeAndFlush(ByteBuffer(string: "never sent"))
        try? pair.pump()
        #expect(throws: TLSConnectionError.self) { try write.wait() }
        #expect(pair.clientHandler.verifiedPeer == nil)
        #expect(pair.serverRecorder.received.isEmpty)
    }

    @Test func writesDuringTheHandshakeAreBounded() async throws {
        try writesDuringTheHandshakeAreBounded(try await SharedPKI.shared.get())
    }

    func writesDuringTheHandshakeAreBounded(_ pki: TestPKI) throws {
        let pair = try EmbeddedPair(pki)
        try pair.activate()
        var promises: [EventLoopFuture<Void>] = []
        for index in 0...TLSHandler.pendingWritesMaximum {
            let promise = pair.client.eventLoop.makePromise(of: Void.self)
            pair.client.write(ByteBuffer(string: "\(index),"), promise: promise)
            promises.append(promise.futureResult)
        }
        #expect(throws: TLSConnectionError(peerAddress: "server.embedded", role: .client, refusal: .pendingWritesExceeded(TLSHandler.pendingWritesMaximum))) {
            try promises.last!.wait()
        }
        pair.client.flush()
        try pair.pump()
        let expected = (0..<TLSHandler.pendingWritesMaximum).map { "\($0)," }.joined()
        #expect(String(decoding: pair.serverRecorder.received, as: UTF8.self) == expected)
        for future in promises.dropLast() { try future.wait() }
    }
}
