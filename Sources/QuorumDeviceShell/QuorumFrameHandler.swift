import Logging
import NIOCore
import QuorumArbiter
import QuorumWire
import TLSTransport

/// Bytes in, quorum frames out, after TLS: splits the plaintext stream into `QuorumFrame`s and
/// hands each to `onFrame`. Anything that is not a valid frame closes the connection with a
/// log line naming the peer and the reason (`QuorumFrameStream` buffers at most one frame, so
/// a flood of garbage costs 12 bytes of it). Runs on the channel's event loop, as do its
/// callbacks.
final class QuorumFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var stream = QuorumFrameStream()
    private var peer: VerifiedPeer?
    private var refused = false
    private let logger: Logger
    private let onVerified: (VerifiedPeer) -> Void
    private let onFrame: (QuorumFrame) -> Void
    private let onClose: () -> Void

    init(logger: Logger, onVerified: @escaping (VerifiedPeer) -> Void = { _ in }, onFrame: @escaping (QuorumFrame) -> Void,
         onClose: @escaping () -> Void) {
        self.logger = logger
        self.onVerified = onVerified
        self.onFrame = onFrame
        self.onClose = onClose
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted {
            peer = completed.peer
            onVerified(completed.peer)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            for frame in try stream.append(bytes) { onFrame(frame) }
        } catch {
            refused = true
            let address = peer?.description ?? context.channel.remoteAddress.map { "\($0)" } ?? "unknown peer"
            logger.warning("quorum device: refused a bad frame; closing", metadata: ["peer.address": .string(address), "wire.reason": .string("\(error)")])
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension Channel {
    /// Writes one frame (callable from any thread; writes from one thread keep their order).
    func send(_ frame: QuorumFrame) {
        writeAndFlush(ByteBuffer(bytes: frame.encoded()), promise: nil)
    }
}

/// The monotonic clock the pure cores are handed, as NIO reads it.
func quorumNow() -> QuorumInstant { QuorumInstant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds)) }
