import COpenSSL
import Logging
import NIOCore

/// Mutual TLS 1.3 over any byte channel, driven by the system OpenSSL through two memory BIOs:
/// ciphertext from the network is written into one, OpenSSL's output is read from the other
/// and written to the network. OpenSSL never touches the socket, so SwiftNIO keeps its
/// event loop, backpressure and close semantics.
///
/// States and transitions:
///
/// | state       | input                    | next        | effect                                        |
/// |-------------|--------------------------|-------------|-----------------------------------------------|
/// | idle        | channel active           | handshaking | SSL created; client sends ClientHello; timer  |
/// | handshaking | ciphertext               | handshaking | handshake step, its output flushed            |
/// | handshaking | handshake done, name ok  | active      | `TLSHandshakeCompleted`; queued writes sent   |
/// | handshaking | failure / name mismatch  | failed      | alert flushed, error fired, logged, closed    |
/// | handshaking | timer fires              | failed      | `.handshakeTimeout`, closed                   |
/// | handshaking | channel inactive         | failed      | `.closedDuringHandshake`                      |
/// | active      | ciphertext               | active      | plaintext fired inbound                       |
/// | active      | write                    | active      | encrypted and written with the same promise   |
/// | active      | peer close_notify        | closed      | close_notify answered, channel closed         |
/// | active      | close(.all)              | closed      | close_notify flushed, then channel closed     |
/// | active      | read/write failure       | failed      | error fired, logged, closed                   |
///
/// One handler per channel, used only on that channel's event loop: every OpenSSL call and
/// every read of OpenSSL's per-thread error queue happen on that one thread.
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Writes accepted while the handshake runs; more is a caller bug or a stuck peer.
    public static let pendingWritesMaximum = 1024
    /// Plaintext read per `SSL_read`: one TLS record at most.
    static let readChunkBytes = 16 * 1024

    enum State: Equatable {
        case idle
        case handshaking
        case active
        case closed
        case failed
    }

    private let role: TLSRole
    private let tlsContext: TLSContext
    private let peerNamePolicy: PeerNamePolicy
    private let handshakeTimeout: Duration
    private let logger: Logger
    private var handshakePromise: EventLoopPromise<VerifiedPeer>?
    private var peerAddressLabel: String?

    private var state: State = .idle
    private var ssl: OpaquePointer?
    /// Ciphertext from the network, read by OpenSSL (owned by `ssl`).
    private var networkInput: OpaquePointer?
    /// Ciphertext written by OpenSSL, for the network (owned by `ssl`).
    private var networkOutput: OpaquePointer?
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var handshakeTimer: Scheduled<Void>?

    /// Names on the peer's leaf certificate, recorded by the verify callback so a refused name
    /// can be logged even when OpenSSL keeps no certificate of a failed handshake.
    fileprivate var presentedNames: [String] = []

    /// The verified peer, once the handshake has finished.
    public private(set) var verifiedPeer: VerifiedPeer?

    /// - Parameters:
    ///   - handshakePromise: completed with the verified peer, or failed with a
    ///     `TLSConnectionError`; always completed once the handler has been added.
    ///   - peerAddress: how to name the peer in errors and logs when the channel has no
    ///     remote address (tests on `EmbeddedChannel`).
    public init(
        role: TLSRole, context: TLSContext, peerNamePolicy: PeerNamePolicy, handshakeTimeout: Duration,
        logger: Logger, handshakePromise: EventLoopPromise<VerifiedPeer>? = nil, peerAddress: String? = nil
    ) {
        precondition(!peerNamePolicy.candidates.isEmpty, "a peer name policy names at least one member")
        precondition(handshakeTimeout > .zero, "handshake timeout must be positive, got \(handshakeTimeout)")
        self.role = role
        self.tlsContext = context
        self.peerNamePolicy = peerNamePolicy
        self.handshakeTimeout = handshakeTimeout
        self.logger = logger
        self.handshakePromise = handshakePromise
        self.peerAddressLabel = peerAddress
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    // MARK: - Life cycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelHandshakeTimer()
        if state == .idle || state == .handshaking {
            let error = connectionError(.closedDuringHandshake)
            handshakePromise?.fail(error)
            handshakePromise = nil
        }
        failPendingWrites(connectionError(.notConnected))
        state = .closed
        if let ssl {
            SSL_free(ssl)
            self.ssl = nil
            networkInput = nil
            networkOutput = nil
        }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if state == .handshaking || state == .idle {
            fail(context: context, refusal: .closedDuringHandshake, closeChannel: false)
        } else if state == .active {
            state = .closed
        }
        cancelHandshakeTimer()
        failPendingWrites(connectionError(.notConnected))
        context.fireChannelInactive()
    }

    private func start(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        precondition(ssl == nil, "SSL object is created once per connection")
        _ = TLSContext.ignoreBrokenPipe
        if peerAddressLabel == nil, let remote = context.channel.remoteAddress {
            peerAddressLabel = "\(remote.ipAddress ?? "unknown"):\(remote.port ?? 0)"
        }
        ERR_clear_error()
        guard let ssl = SSL_new(tlsContext.context) else {
            state = .handshaking
            fail(context: context, refusal: .handshakeFailed("cannot allocate the TLS session: \(drainOpenSSLErrors())"), closeChannel: true)
            return
        }
        guard let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)  // frees nothing else: the BIOs are not attached yet (one may leak on OOM)
            state = .handshaking
            fail(context: context, refusal: .handshakeFailed("cannot allocate memory BIOs: \(drainOpenSSLErrors())"), closeChannel: true)
            return
        }
        SSL_set_bio(ssl, input, output)
        self.ssl = ssl
        networkInput = input
        networkOutput = output
        // The handler outlives its SSL object (freed in handlerRemoved or deinit), so the
        // unretained pointer the callback reads is valid whenever OpenSSL calls it.
        precondition(SSL_set_ex_data(ssl, handlerIndex, Unmanaged.passUnretained(self).toOpaque()) == 1, "SSL_set_ex_data failed")
        SSL_set_verify(ssl, baton_SSL_VERIFY_PEER | baton_SSL_VERIFY_FAIL_IF_NO_PEER_CERT, recordPeerCertificate)
        // The peer's certificate must name an expected member. Checked inside the handshake
        // when every expected name is a DNS name, so OpenSSL refuses with an alert the peer
        // sees; OpenSSL can only require (not offer) an IP address, so names that are IP
        // literals (booth files without `name=`) are checked after the handshake only. The
        // check after the handshake always runs and says which member the peer is.
        let candidates = peerNamePolicy.candidates
        if !candidates.contains(where: { baton_is_ip_address($0) == 1 }), let parameters = SSL_get0_param(ssl) {
            X509_VERIFY_PARAM_set_hostflags(parameters, baton_X509_CHECK_FLAG_NO_WILDCARDS)
            for name in candidates {
                precondition(X509_VERIFY_PARAM_add1_host(parameters, name, name.utf8.count) == 1, "OpenSSL refused the reference name '\(name)'")
            }
        }
        switch role {
        case .client: SSL_set_connect_state(ssl)
        case .server: SSL_set_accept_state(ssl)
        }
        state = .handshaking
        let timeout = handshakeTimeout
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeAmount(timeout)) { [self] in
            guard self.state == .handshaking else { return }
            self.fail(context: context, refusal: .handshakeTimeout(timeout), closeChannel: true)
        }
        if role == .client { driveHandshake(context: context) }
        context.read()
    }

    // MARK: - Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard state == .handshaking || state == .active, let networkInput else { return }
        let readable = buffer.readableBytes
        if readable > 0 {
            let written = buffer.withUnsafeReadableBytes { bytes in
                BIO_write(networkInput, bytes.baseAddress, Int32(bytes.count))
            }
            // A memory BIO grows as needed; it takes everything or the process is out of memory.
            precondition(written == Int32(readable), "memory BIO took \(written) of \(readable) bytes")
        }
        if state == .handshaking {
            driveHandshake(context: context)
        } else {
            readApplicationData(context: context)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if state == .active {
            context.fireChannelReadComplete()
        } else if state == .handshaking {
            // The handshake needs more bytes whatever the pipeline's read policy.
            context.read()
        }
    }

    private func driveHandshake(context: ChannelHandlerContext) {
        guard let ssl else { preconditionFailure("handshake without an SSL object") }
        precondition(state == .handshaking, "handshake step in state \(state)")
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            writeNetworkOutput(context: context, promise: nil)
            context.flush()
            finishHandshake(context: context, ssl: ssl)
            return
        }
        let error = SSL_get_error(ssl, result)
        if error == baton_SSL_ERROR_WANT_READ || error == baton_SSL_ERROR_WANT_WRITE {
            writeNetworkOutput(context: context, promise: nil)
            context.flush()
            return
        }
        let refusal = classifyFailure(
            ssl: ssl, sslError: error, handshaking: true, expectedNames: peerNamePolicy.candidates, presentedNames: presentedNames)
        // Send the alert OpenSSL prepared, so the peer learns why.
        writeNetworkOutput(context: context, promise: nil)
        context.flush()
        fail(context: context, refusal: refusal, closeChannel: true)
    }

    /// The connection's exported secret for sealed datagrams (`DatagramKey`).
    private func exportSecret(_ ssl: OpaquePointer) -> [UInt8]? {
        var secret = [UInt8](repeating: 0, count: DatagramKey.secretBytes)
        let label = DatagramKey.exporterLabel
        let exported = SSL_export_keying_material(ssl, &secret, secret.count, label, label.utf8.count, nil, 0, 0)
        return exported == 1 ? secret : nil
    }

    private func finishHandshake(context: ChannelHandlerContext, ssl: OpaquePointer) {
        guard let certificate = baton_SSL_get1_peer_certificate(ssl) else {
            fail(context: context, refusal: .noPeerCertificate, closeChannel: true)
            return
        }
        defer { X509_free(certificate) }
        let presented = certificateNames(certificate)
        let candidates = peerNamePolicy.candidates
        let matching = candidates.filter { baton_certificate_names(certificate, $0, $0.utf8.count) == 1 }
        guard let name = matching.first else {
            fail(context: context, refusal: .peerNameMismatch(expected: candidates, presented: presented), closeChannel: true)
            return
        }
        guard matching.count == 1 else {
            fail(context: context, refusal: .peerNameAmbiguous(matching: matching), closeChannel: true)
            return
        }
        let peer = VerifiedPeer(name: name, certificateNames: presented, address: peerAddress)
        state = .active
        verifiedPeer = peer
        cancelHandshakeTimer()
        logger.debug("TLS handshake completed", metadata: [
            "peer.address": .string(peer.address), "peer.name": .string(peer.name), "tls.role": .string(role.rawValue),
        ])
        handshakePromise?.succeed(peer)
        handshakePromise = nil
        context.fireUserInboundEventTriggered(TLSHandshakeCompleted(peer: peer, exportedSecret: exportSecret(ssl)))
        let queued = pendingWrites
        pendingWrites = []
        for (buffer, promise) in queued where state == .active {
            encryptAndWrite(context: context, buffer: buffer, promise: promise)
        }
        if !queued.isEmpty { context.flush() }
        // Application data may have arrived in the same read as the last handshake message.
        if state == .active { readApplicationData(context: context) }
    }

    private func readApplicationData(context: ChannelHandlerContext) {
        guard let ssl else { return }
        while state == .active {
            var buffer = context.channel.allocator.buffer(capacity: Self.readChunkBytes)
            var result: Int32 = 0
            ERR_clear_error()
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readChunkBytes) { bytes in
                result = SSL_read(ssl, bytes.baseAddress, Int32(min(bytes.count, Self.readChunkBytes)))
                return max(Int(result), 0)
            }
            if result > 0 {
                context.fireChannelRead(wrapInboundOut(buffer))
                continue
            }
            let error = SSL_get_error(ssl, result)
            if error == baton_SSL_ERROR_WANT_READ || error == baton_SSL_ERROR_WANT_WRITE {
                // TLS 1.3 post-handshake messages (key update) may need an answer.
                if networkOutputPending > 0 {
                    writeNetworkOutput(context: context, promise: nil)
                    context.flush()
                }
                break
            }
            if error == baton_SSL_ERROR_ZERO_RETURN {
                // The peer sent close_notify: answer it and close.
                logger.debug("TLS peer closed the connection", metadata: ["peer.address": .string(peerAddress)])
                state = .closed
                ERR_clear_error()
                _ = SSL_shutdown(ssl)
                ERR_clear_error()
                writeNetworkOutput(context: context, promise: nil)
                context.flush()
                context.close(promise: nil)
                break
            }
            let refusal = classifyFailure(ssl: ssl, sslError: error, handshaking: false)
            writeNetworkOutput(context: context, promise: nil)
            context.flush()
            fail(context: context, refusal: refusal, closeChannel: true)
        }
    }

    // MARK: - Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            guard pendingWrites.count < Self.pendingWritesMaximum else {
                promise?.fail(connectionError(.pendingWritesExceeded(Self.pendingWritesMaximum)))
                return
            }
            pendingWrites.append((buffer, promise))
        case .active:
            encryptAndWrite(context: context, buffer: buffer, promise: promise)
        case .closed, .failed:
            promise?.fail(connectionError(.notConnected))
        }
    }

    public func flush(context: ChannelHandlerContext) {
        // During the handshake queued writes are flushed when it completes.
        if state == .active { context.flush() }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, state == .active, let ssl else {
            if state == .handshaking || state == .idle {
                cancelHandshakeTimer()
                state = .closed
                let error = connectionError(.closedDuringHandshake)
                handshakePromise?.fail(error)
                handshakePromise = nil
                failPendingWrites(error)
            }
            context.close(mode: mode, promise: promise)
            return
        }
        state = .closed
        ERR_clear_error()
        _ = SSL_shutdown(ssl)  // queues close_notify; we do not wait for the peer's answer
        ERR_clear_error()
        let sent = context.eventLoop.makePromise(of: Void.self)
        writeNetworkOutput(context: context, promise: sent)
        context.flush()
        sent.futureResult.assumeIsolated().whenComplete { _ in
            context.close(mode: mode, promise: promise)
        }
    }

    private func encryptAndWrite(context: ChannelHandlerContext, buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let ssl else { preconditionFailure("write without an SSL object") }
        precondition(state == .active, "encrypting in state \(state)")
        guard buffer.readableBytes > 0 else {
            context.write(wrapOutboundOut(buffer), promise: promise)
            return
        }
        precondition(buffer.readableBytes <= Int(Int32.max), "write of \(buffer.readableBytes) bytes exceeds SSL_write's range")
        ERR_clear_error()
        let result = buffer.withUnsafeReadableBytes { bytes in
            SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
        }
        guard result == Int32(buffer.readableBytes) else {
            let error = SSL_get_error(ssl, result)
            let refusal = classifyFailure(ssl: ssl, sslError: error, handshaking: false)
            promise?.fail(connectionError(refusal))
            fail(context: context, refusal: refusal, closeChannel: true)
            return
        }
        writeNetworkOutput(context: context, promise: promise)
    }

    // MARK: - Helpers

    private var peerAddress: String { peerAddressLabel ?? "unknown" }

    private var networkOutputPending: Int {
        guard let networkOutput else { return 0 }
        return Int(baton_BIO_ctrl_pending(networkOutput))
    }

    /// Moves everything OpenSSL wrote into the network BIO to the channel (without a flush).
    private func writeNetworkOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let pending = networkOutputPending
        guard pending > 0, let networkOutput else {
            promise?.succeed(())
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: pending)
        let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(BIO_read(networkOutput, bytes.baseAddress, Int32(pending)), 0))
        }
        precondition(read == pending, "memory BIO gave \(read) of \(pending) pending bytes")
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    private func connectionError(_ refusal: TLSRefusal) -> TLSConnectionError {
        TLSConnectionError(peerAddress: peerAddress, role: role, refusal: refusal)
    }

    private func fail(context: ChannelHandlerContext, refusal: TLSRefusal, closeChannel: Bool) {
        guard state == .handshaking || state == .active || state == .idle else { return }
        let wasHandshaking = state != .active
        state = .failed
        cancelHandshakeTimer()
        let error = connectionError(refusal)
        logger.info(wasHandshaking ? "TLS connection refused" : "TLS connection failed", metadata: [
            "peer.address": .string(peerAddress),
            "tls.role": .string(role.rawValue),
            "tls.reason": .string(refusal.description),
        ])
        handshakePromise?.fail(error)
        handshakePromise = nil
        failPendingWrites(error)
        context.fireErrorCaught(error)
        if closeChannel { context.close(promise: nil) }
    }

    private func failPendingWrites(_ error: TLSConnectionError) {
        let queued = pendingWrites
        pendingWrites = []
        for (_, promise) in queued { promise?.fail(error) }
    }

    private func cancelHandshakeTimer() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}

/// The `SSL` ex-data slot holding the owning `TLSHandler` (allocated once per process).
private let handlerIndex: Int32 = CRYPTO_get_ex_new_index(0 /* CRYPTO_EX_INDEX_SSL */, 0, nil, nil, nil, nil)

/// OpenSSL's verify callback: keeps OpenSSL's verdict and records the leaf certificate's names
/// on the handler. Runs inside `SSL_do_handshake`, on the handler's event loop thread.
private func recordPeerCertificate(_ preverified: Int32, _ storeContext: OpaquePointer?) -> Int32 {
    guard let storeContext, X509_STORE_CTX_get_error_depth(storeContext) == 0,
          let certificate = X509_STORE_CTX_get_current_cert(storeContext),
          let ssl = X509_STORE_CTX_get_ex_data(storeContext, SSL_get_ex_data_X509_STORE_CTX_idx()),
          let handler = SSL_get_ex_data(OpaquePointer(ssl), handlerIndex)
    else { return preverified }
    Unmanaged<TLSHandler>.fromOpaque(handler).takeUnretainedValue().presentedNames = certificateNames(certificate)
    return preverified
}

/// NIO's `TimeAmount` from a `Duration` (nanosecond resolution, saturating).
public func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    let (secondsInNanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return .nanoseconds(Int64.max) }
    return .nanoseconds(secondsInNanoseconds + attoseconds / 1_000_000_000)
}
