import Logging
import MonitoringText
import NIOCore
import TLSTransport
import TicketWire

/// Bytes in, frames out: splits a (plaintext, after TLS) stream into frames and hands each to
/// `onFrame`. Anything that is not a valid frame closes the connection, with a log line naming
/// the peer and the reason; the daemon never sees it.
final class FrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var splitter = FrameSplitter()
    private var peer: VerifiedPeer?
    private let logger: Logger
    private let onFrame: (Frame, VerifiedPeer?, any Channel) -> Void
    private let onClose: (VerifiedPeer?) -> Void
    private let onRefusal: (String) -> Void
    private let onVerified: (VerifiedPeer) -> Void
    private let onHandshake: (TLSHandshakeCompleted) -> Void

    init(
        logger: Logger, onFrame: @escaping (Frame, VerifiedPeer?, any Channel) -> Void,
        onClose: @escaping (VerifiedPeer?) -> Void = { _ in }, onRefusal: @escaping (String) -> Void = { _ in },
        onVerified: @escaping (VerifiedPeer) -> Void = { _ in }, onHandshake: @escaping (TLSHandshakeCompleted) -> Void = { _ in }
    ) {
        self.logger = logger
        self.onFrame = onFrame
        self.onClose = onClose
        self.onRefusal = onRefusal
        self.onVerified = onVerified
        self.onHandshake = onHandshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted {
            peer = completed.peer
            onHandshake(completed)
            onVerified(completed.peer)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            for frame in try splitter.append(bytes) {
                onFrame(frame, peer, context.channel)
            }
        } catch {
            let address = peer?.description ?? context.channel.remoteAddress.map { "\($0)" } ?? "unknown peer"
            logger.warning("refused bad frame; closing", metadata: ["peer.address": .string(address), "wire.reason": .string("\(error)")])
            onRefusal("\(error)")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose(peer)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A minimal HTTP/1.0 responder for `GET /metrics` (Prometheus text format), on a local
/// address. Anything else gets 404; requests are bounded to 8 KiB.
final class MetricsHTTPHandler: ChannelInboundHandler {
    /// The whole HTTP/1.0 answer to a request line: GET /metrics the text format, HEAD /metrics
    /// its headers alone (Content-Length of the body a GET would get), another method on
    /// /metrics 405 with `Allow`, any other path 404.
    /// `/` and `/status` answer the status page (HTML) the same way.
    static func response(to requestLine: String, render: () -> String, status renderStatus: () -> String = { "" }) -> String {
        MonitoringText.response(to: requestLine, metrics: render, status: renderStatus)
    }

    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var request: [UInt8] = []
    private let render: () -> String
    private let renderStatus: () -> String
    private let requestDurationMax: Duration
    private var requestTimer: Scheduled<Void>?

    init(requestDurationMax: Duration, render: @escaping () -> String, status renderStatus: @escaping () -> String) {
        self.requestDurationMax = requestDurationMax
        self.render = render
        self.renderStatus = renderStatus
    }

    /// A client that connects and never sends its request is closed after `requestDurationMax`.
    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        requestTimer = context.eventLoop.scheduleTask(in: timeAmount(requestDurationMax)) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestTimer?.cancel()
        requestTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        request.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        guard request.count <= MonitoringText.requestBytesMax else {
            context.close(promise: nil)
            return
        }
        guard let firstLine = MonitoringText.requestLine(of: request) else { return }
        let response = MetricsHTTPHandler.response(to: firstLine, render: render, status: renderStatus)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: response))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

extension Substring {
    /// The text without one trailing `suffix` (a request line's carriage return).
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : String(self)
    }
}
