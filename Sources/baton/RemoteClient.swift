import BatonClient
import BatonConfig
import Logging
import NIOCore
import NIOPosix
import TLSTransport
import TicketWire

/// `baton -s MEMBER` when MEMBER's batond does not run on this machine: the request goes over
/// mutual TLS 1.3 to MEMBER's port, presenting this machine's member certificate (from the
/// configuration), as booth's client talks to a remote booth.
enum RemoteClient {
    static func request(
        _ request: ClientRequest, to member: BatonConfig.Member, configuration: BatonConfiguration, timeoutSeconds: Int
    ) async throws -> ClientReply {
        guard let security = configuration.transportSecurity else {
            throw CLIError(code: .badConfig, message: "no tls-ca / tls-certificate / tls-private-key: cannot reach \(member.certificateName) over the network")
        }
        let context: ReloadableTLSContext
        do {
            context = try ReloadableTLSContext(files: TLSFiles(
                certificateAuthorityFile: security.certificateAuthorityFile, certificateFile: security.certificateFile,
                privateKeyFile: security.privateKeyFile))
        } catch {
            throw CLIError(code: .badConfig, message: "this machine's member certificate: \(error)")
        }
        // NIO's process-wide group: a CLI run is one request, and the process ends after it.
        let group = MultiThreadedEventLoopGroup.singleton
        var logger = Logger(label: "baton")
        logger.logLevel = .critical
        let replyPromise = group.next().makePromise(of: ClientReply.self)
        let connection: TLSConnection
        do {
            connection = try await TLSChannels.connect(
                host: member.address, port: Int(member.port), expectedPeerName: member.certificateName, context: context,
                handshakeTimeout: min(security.handshakeTimeout, .seconds(max(timeoutSeconds, 1))), group: group, logger: logger
            ) { channel in
                try channel.pipeline.syncOperations.addHandler(ReplyHandler(promise: replyPromise))
            }
        } catch {
            replyPromise.fail(error)
            throw CLIError(code: .notRunning, message: "cannot reach batond of \(member.certificateName) at \(member.address):\(member.port): \(error)")
        }
        let channel = connection.channel
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(Int64(timeoutSeconds))) {
            replyPromise.fail(CLIError(code: .failed, message: "no answer from \(member.certificateName) within \(timeoutSeconds) s"))
        }
        let reply: Result<ClientReply, any Error>
        do {
            try await channel.writeAndFlush(channel.allocator.buffer(bytes: Frame.request(request).encoded()))
            reply = .success(try await replyPromise.futureResult.get())
        } catch {
            reply = .failure(error)
        }
        timeout.cancel()
        // Closed before the command returns and the process exits: the event loop must be done
        // with the connection (its TLS state freed) by then.
        channel.close(promise: nil)
        try? await channel.closeFuture.get()
        return try reply.get()
    }

    final class ReplyHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var splitter = FrameSplitter()
        private let promise: EventLoopPromise<ClientReply>

        init(promise: EventLoopPromise<ClientReply>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            do {
                for frame in try splitter.append(buffer.readBytes(length: buffer.readableBytes) ?? []) {
                    if case .reply(let reply) = frame { promise.succeed(reply) }
                }
            } catch {
                promise.fail(CLIError(code: .failed, message: "bad answer: \(error)"))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(CLIError(code: .failed, message: "the member closed the connection without answering"))
        }
    }
}
