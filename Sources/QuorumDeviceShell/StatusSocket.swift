#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix

/// The quorum device's local admin socket (node and arbitrator alike): a unix stream socket,
/// mode 0600 in a 0700 directory, every peer's uid checked (SO_PEERCRED) to be root, as
/// batond's and baton-crmd's. One request line per connection, one answer, then it closes:
///
///   status        -> the text view
///   status json   -> the same as one JSON object
///   metrics       -> the Prometheus text
///
/// anything else -> "error: …". A request is at most 256 bytes and must come within 5 s.
public final class QuorumStatusSocket: Sendable {
    public enum Request: String, Sendable, CaseIterable {
        case status, statusJSON = "status json", metrics
    }

    static let requestBytesMax = 256
    public let path: String
    let channel: any Channel

    private init(path: String, channel: any Channel) {
        self.path = path
        self.channel = channel
    }

    /// Listens at `path` (an old socket file there is replaced); `answer` runs on the socket's
    /// event loop and returns the reply text.
    public static func open(path: String, group: any EventLoopGroup, logger: Logger,
                            answer: @escaping @Sendable (Request) -> EventLoopFuture<String>) async throws -> QuorumStatusSocket {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            let directory = String(path[..<slash])
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw StatusSocketError("\(directory): \(String(cString: strerror(errno)))")
            }
        }
        let previousMask = umask(0o177)
        defer { umask(previousMask) }
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 16)
                // A client may shut its write side after the request line (LocalSocketClient
                // does): the answer still goes out.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StatusRequestHandler(logger: logger, answer: answer))
                    }
                }
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        } catch {
            throw StatusSocketError("\(path): \(error)")
        }
        chmod(path, 0o600)
        return QuorumStatusSocket(path: path, channel: channel)
    }

    public func close() async {
        try? await channel.close()
        unlink(path)
    }
}

public struct StatusSocketError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// struct ucred of <sys/socket.h> (pid, uid, gid), which Swift's Glibc module leaves out
/// without _GNU_SOURCE: the same layout, filled by getsockopt(SO_PEERCRED).
struct StatusPeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// One connection: the peer must be root; one line in, one answer out, closed.
final class StatusRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let logger: Logger
    let answer: @Sendable (QuorumStatusSocket.Request) -> EventLoopFuture<String>
    var received: [UInt8] = []
    var answered = false
    var timeLimit: Scheduled<Void>?

    init(logger: Logger, answer: @escaping @Sendable (QuorumStatusSocket.Request) -> EventLoopFuture<String>) {
        self.logger = logger
        self.answer = answer
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        timeLimit = context.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeLimit?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var buffer = unwrapInboundIn(data)
        received += buffer.readBytes(length: buffer.readableBytes) ?? []
        if let newline = received.firstIndex(of: 10) {
            respond(context: context, line: String(decoding: received[..<newline], as: UTF8.self))
        } else if received.count > QuorumStatusSocket.requestBytesMax {
            reply(context: context, "error: a request is one line of at most \(QuorumStatusSocket.requestBytesMax) bytes\n")
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func respond(context: ChannelHandlerContext, line: String) {
        answered = true
        let channel = context.channel
        let loopBound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
        let answer = self.answer
        let words = line.split(separator: " ").joined(separator: " ")
        rootPeer(channel).flatMap { isRoot -> EventLoopFuture<String> in
            guard isRoot else { return channel.eventLoop.makeSucceededFuture("error: root only\n") }
            guard let request = QuorumStatusSocket.Request(rawValue: words) else {
                let known = QuorumStatusSocket.Request.allCases.map(\.rawValue).joined(separator: " | ")
                return channel.eventLoop.makeSucceededFuture("error: unknown request '\(String(words.prefix(60)))' (\(known))\n")
            }
            return answer(request).hop(to: channel.eventLoop)
        }.whenComplete { result in
            guard channel.isActive else { return }
            let (context, handler) = loopBound.value
            switch result {
            case .success(let text): handler.reply(context: context, text)
            case .failure(let error): handler.reply(context: context, "error: \(error)\n")
            }
        }
    }

    func reply(context: ChannelHandlerContext, _ text: String) {
        answered = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Whether the peer is root (SO_PEERCRED); false when the kernel does not say.
    func rootPeer(_ channel: any Channel) -> EventLoopFuture<Bool> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(false) }
        let credentials: EventLoopFuture<StatusPeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return credentials.map { $0.uid == 0 }.recover { _ in false }
    }
}
