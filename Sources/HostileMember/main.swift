import Foundation
import Logging
import NIOCore
import NIOPosix
import SeededRandom
import Synchronization
import TLSTransport
import TicketElection
import TicketWire

// baton-hostile-member: a member with a valid certificate that attacks real batond processes
// over the real TLS mesh (test bed only, not installed; driven by Tests/BatondTests
// HostileMemberEndToEnd). It connects to each target member's port AS the member its
// certificate names (peer frames must claim that `from` and be addressed `to` the receiver,
// see DaemonNetwork.inbound), and then, seeded and bounded in frames and time:
//   random    well-formed peer frames with extreme and random values in every field of every
//             message body (terms 0, 1, 2^32, 2^62, 2^63, 2^64 - 1, near the known term, random;
//             leases at 1 ns and 7 days; rounds; nonces; member ids in and out of the
//             membership; ticket names known, unknown, at the 63-byte limit);
//   replay    the same bytes again, in random order;
//   flood     many frames back to back, flushed once;
//   oversize  admin requests near the frame limit (an attribute value of ~4 MiB), a header
//             claiming a payload over the limit, and a huge attribute set (name and value at
//             and over their limits, more attributes than a ticket may hold);
//   garbage   random bytes, a truncated frame, frames naming another sender or receiver, each
//             after a valid handshake on a connection of its own.
// A connection the target closes is opened again (counted). Prints one JSON line per target
// and phase with what it sent and what came back, and a summary line.
//
// Usage: baton-hostile-member --ca CA --certificate PEM --key KEY --identity NAME
//          --members NAME,NAME,... --tickets T,T,... --target NAME=HOST:PORT [--target ...]
//          [--seed N] [--frames N] [--seconds S] [--known-term N]

struct Options {
    var ca = "", certificate = "", key = "", identity = ""
    var members: [String] = []
    var tickets: [String] = []
    var targets: [(name: String, host: String, port: Int)] = []
    var seed: UInt64 = 1
    var frames = 2_000
    var seconds = 20.0
    var knownTerm: UInt64 = 1

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var index = 0
        func value(_ flag: String) -> String {
            index += 1
            guard index < arguments.count else { fail("\(flag) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--ca": options.ca = value(flag)
            case "--certificate": options.certificate = value(flag)
            case "--key": options.key = value(flag)
            case "--identity": options.identity = value(flag)
            case "--members": options.members = value(flag).split(separator: ",").map(String.init)
            case "--tickets": options.tickets = value(flag).split(separator: ",").map(String.init)
            case "--target":
                let text = value(flag)
                guard let equals = text.firstIndex(of: "="), let colon = text.lastIndex(of: ":"), equals < colon,
                      let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
                else { fail("--target NAME=HOST:PORT, got \(text)") }
                options.targets.append((String(text[..<equals]), String(text[text.index(after: equals)..<colon]), port))
            case "--seed": options.seed = number(value(flag), flag) { UInt64($0) }
            case "--frames": options.frames = max(1, min(number(value(flag), flag) { Int($0) }, 1_000_000))
            case "--seconds": options.seconds = max(0.1, min(number(value(flag), flag) { Double($0) }, 3600))
            case "--known-term": options.knownTerm = number(value(flag), flag) { UInt64($0) }
            default: fail("unknown argument \(flag)")
            }
            index += 1
        }
        guard !options.ca.isEmpty, !options.certificate.isEmpty, !options.key.isEmpty else { fail("--ca, --certificate and --key are required") }
        guard options.members.count >= 2, options.members.count <= Membership.membersMax else { fail("--members: 2 to \(Membership.membersMax) names") }
        guard options.members.contains(options.identity) else { fail("--identity must be one of --members") }
        guard !options.tickets.isEmpty, !options.targets.isEmpty else { fail("--tickets and at least one --target are required") }
        for target in options.targets where !options.members.contains(target.name) || target.name == options.identity {
            fail("--target \(target.name): not another member")
        }
        return options
    }
}

func number<T>(_ text: String, _ flag: String, _ parse: (String) -> T?) -> T {
    guard let value = parse(text) else { fail("\(flag): not a number: \(text)") }
    return value
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("baton-hostile-member: \(message)\n".utf8))
    exit(2)
}

/// Well-formed peer messages with extreme and random values in every field.
struct Values {
    let self_: MemberID
    let memberCount: Int
    let tickets: [String]
    var known: UInt64

    static let extremeTerms: [UInt64] = [0, 1, 2, 1 << 32, (1 << 32) + 1, 1 << 62, (1 << 62) + 1, 1 << 63, UInt64.max - 1, UInt64.max]

    func term(_ random: inout SplitMix64) -> UInt64 {
        switch Int.random(in: 0..<8, using: &random) {
        case 0: return known
        case 1: return known &+ UInt64.random(in: 0...3, using: &random)
        case 2: return known &+ ElectionLimits.termJumpMax &+ UInt64.random(in: 0...2, using: &random) &- 1
        case 3, 4: return Self.extremeTerms.randomElement(using: &random)!
        case 5: return known &- UInt64.random(in: 0...3, using: &random)
        default: return random.next()
        }
    }

    func span(_ random: inout SplitMix64) -> Duration {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return .nanoseconds(1)
        case 1: return Frame.durationMax
        case 2: return .seconds(Int64.random(in: 1...25, using: &random))
        default: return .nanoseconds(Int64.random(in: 1...Frame.durationMax.nanoseconds, using: &random))
        }
    }

    /// In the membership mostly, else anywhere the wire can name (up to `membersMax`).
    func member(_ random: inout SplitMix64) -> MemberID {
        random.chance(0.7) ? MemberID(Int.random(in: 0..<memberCount, using: &random)) : MemberID(Int.random(in: 0..<Membership.membersMax, using: &random))
    }

    func round(_ random: inout SplitMix64) -> UInt64 {
        random.chance(0.5) ? UInt64.random(in: 0...5, using: &random) : [0, 1, UInt64.max, 1 << 63, random.next()].randomElement(using: &random)!
    }

    func view(_ random: inout SplitMix64) -> LeaseView? {
        random.chance(0.25) ? nil : LeaseView(leader: member(&random), term: term(&random), remaining: span(&random), confirmed: random.chance(0.6))
    }

    func nonce(_ random: inout SplitMix64) -> UInt64 {
        random.chance(0.3) ? [0, 1, UInt64.max].randomElement(using: &random)! : random.next()
    }

    func body(_ random: inout SplitMix64) -> MessageBody {
        let reasons: [RefusalReason] = [.leaseHeldElsewhere, .staleTerm, .alreadyVoted, .quietAfterRestart, .manualTicket]
        switch Int.random(in: 0..<14, using: &random) {
        case 0: return .voteRequest(lease: span(&random))
        case 1: return .voteGranted
        case 2: return .voteRefused(reasons.randomElement(using: &random)!, known: view(&random))
        case 3: return .heartbeat(lease: span(&random), round: round(&random))
        case 4: return .heartbeatAcknowledged(round: round(&random))
        case 5: return .heartbeatRefused(round: round(&random), reasons.randomElement(using: &random)!, known: view(&random))
        case 6: return .release(revoked: random.chance(0.5), handoverTo: random.chance(0.5) ? member(&random) : nil)
        case 7: return .withdrawn
        case 8: return .revokeRequest
        case 9: return .moveRequest(to: member(&random))
        case 10: return .stateQuery(nonce: nonce(&random))
        case 11:
            return .stateReply(known: view(&random), granted: random.chance(0.5),
                               manualHolders: (0..<Int.random(in: 0...4, using: &random)).map { _ in member(&random) }, nonce: nonce(&random))
        case 12: return .manualGranted
        default: return .manualRevoked
        }
    }

    func ticket(_ random: inout SplitMix64) -> String {
        switch Int.random(in: 0..<20, using: &random) {
        case 0: return "nosuch"
        case 1: return String(repeating: "x", count: TicketPolicy.nameLengthMax)
        case 2: return tickets.randomElement(using: &random)! + String(repeating: "-", count: TicketPolicy.nameLengthMax - 10)
        default: return tickets.randomElement(using: &random)!
        }
    }

    func frame(to receiver: MemberID, _ random: inout SplitMix64) -> [UInt8] {
        let count = random.chance(0.8) ? 1 : Int.random(in: 2...12, using: &random)
        let messages = (0..<count).map { _ in
            PeerMessage(ticket: ticket(&random), from: self_, to: receiver, term: term(&random), body: body(&random))
        }
        return Frame.peer(PeerFrame(from: self_, to: receiver, messages: messages)).encoded()
    }
}

/// What came back on one connection: bytes, replies (errors among them), closes by the target.
final class Inbound: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    struct Counts: Sendable {
        var bytes = 0, peerFrames = 0, replies = 0, errorReplies = 0, undecodable = 0
        var closed = false
    }
    let counts = Mutex(Counts())
    let splitter = Mutex(FrameSplitter())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let frames: [Frame]? = splitter.withLock { splitter in
            do { return try splitter.append(bytes) } catch { return nil }
        }
        counts.withLock { counts in
            counts.bytes += bytes.count
            guard let frames else {
                counts.undecodable += 1
                return
            }
            for frame in frames {
                switch frame {
                case .peer: counts.peerFrames += 1
                case .reply(let reply):
                    counts.replies += 1
                    if case .error = reply.body { counts.errorReplies += 1 }
                case .request: counts.undecodable += 1
                }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        counts.withLock { $0.closed = true }
    }
}

/// One connection to a target at a time; opened again when the target closes it.
@MainActor final class Link {
    let name: String, host: String, port: Int
    let context: ReloadableTLSContext
    let group: any EventLoopGroup
    let logger: Logger
    var channel: (any Channel)?
    var inbound: Inbound?
    var connections = 0, closedByTarget = 0, connectFailures = 0
    var totals = Inbound.Counts()

    init(name: String, host: String, port: Int, context: ReloadableTLSContext, group: any EventLoopGroup, logger: Logger) {
        self.name = name
        self.host = host
        self.port = port
        self.context = context
        self.group = group
        self.logger = logger
    }

    /// The open connection, or a new one (nil when the target cannot be reached now).
    func open() async -> (any Channel)? {
        if let channel, let inbound, channel.isActive, !inbound.counts.withLock({ $0.closed }) { return channel }
        retire()
        let handler = Inbound()
        do {
            let connection = try await TLSChannels.connect(
                host: host, port: port, expectedPeerName: name, context: context, handshakeTimeout: .seconds(10), group: group, logger: logger
            ) { channel in try channel.pipeline.syncOperations.addHandler(handler) }
            connections += 1
            channel = connection.channel
            inbound = handler
            return connection.channel
        } catch {
            connectFailures += 1
            try? await Task.sleep(for: .milliseconds(50))
            return nil
        }
    }

    /// Counts what the current connection saw and forgets it (closing it if still open).
    func retire() {
        guard let inbound else { return }
        let counts = inbound.counts.withLock { $0 }
        if counts.closed { closedByTarget += 1 }
        totals.bytes += counts.bytes
        totals.peerFrames += counts.peerFrames
        totals.replies += counts.replies
        totals.errorReplies += counts.errorReplies
        totals.undecodable += counts.undecodable
        channel?.close(promise: nil)
        channel = nil
        self.inbound = nil
    }

    /// Sends `bytes` on the connection (opening one if needed); false when it could not.
    @discardableResult
    func send(_ bytes: [UInt8], flush: Bool = true) async -> Bool {
        guard let channel = await open() else { return false }
        let buffer = channel.allocator.buffer(bytes: bytes)
        if flush {
            do { try await channel.writeAndFlush(buffer) } catch { return false }
        } else {
            channel.write(buffer, promise: nil)
        }
        return true
    }
}

/// JSON line out (flushed: the test reads it while this runs).
func report(_ fields: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
var logger = Logger(label: "baton-hostile-member")
logger.logLevel = .critical
let context: ReloadableTLSContext
do {
    context = try ReloadableTLSContext(files: TLSFiles(
        certificateAuthorityFile: options.ca, certificateFile: options.certificate, privateKeyFile: options.key))
} catch {
    fail("certificate: \(error)")
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let selfID = MemberID(options.members.firstIndex(of: options.identity)!)
let start = ContinuousClock.now
let end = start + .milliseconds(Int64(options.seconds * 1000))
var random = SplitMix64(seed: options.seed)
var values = Values(self_: selfID, memberCount: options.members.count, tickets: options.tickets, known: options.knownTerm)
let links = options.targets.map { Link(name: $0.name, host: $0.host, port: $0.port, context: context, group: group, logger: logger) }
var sent: [String: Int] = [:]
var recorded: [(link: Int, bytes: [UInt8])] = []
var requestID: UInt64 = 1 << 40

@MainActor func receiver(_ link: Int) -> MemberID { MemberID(options.members.firstIndex(of: links[link].name)!) }
@MainActor func timeLeft() -> Bool { ContinuousClock.now < end }
@MainActor func count(_ phase: String, _ n: Int = 1) { sent[phase, default: 0] += n }

@MainActor func request(_ command: ClientCommand) -> ClientRequest {
    requestID += 1
    return ClientRequest(id: requestID, command: command)
}

/// Share of the frame budget per phase: random 40 %, replay 20 %, flood 30 %, the rest
/// oversize and garbage (a few dozen each).
let randomFrames = options.frames * 4 / 10
let replayFrames = options.frames * 2 / 10
let floodFrames = options.frames * 3 / 10

@MainActor func randomPhase() async {
    var done = 0
    while done < randomFrames && timeLeft() {
        let link = Int.random(in: 0..<links.count, using: &random)
        let bytes = values.frame(to: receiver(link), &random)
        if await links[link].send(bytes) {
            count("random")
            recorded.append((link, bytes))
            if recorded.count > 4096 { recorded.removeFirst(1024) }
        }
        done += 1
        // Now and then a pause, so that the targets' own timers and renewals interleave.
        if done % 50 == 0 { try? await Task.sleep(for: .milliseconds(Int64.random(in: 1...30, using: &random))) }
    }
}

@MainActor func replayPhase() async {
    guard !recorded.isEmpty else { return }
    var done = 0
    while done < replayFrames && timeLeft() {
        let (link, bytes) = recorded.randomElement(using: &random)!
        if await links[link].send(bytes) { count("replay") }
        done += 1
        if done % 50 == 0 { try? await Task.sleep(for: .milliseconds(Int64.random(in: 1...30, using: &random))) }
    }
}

@MainActor func floodPhase() async {
    // Bursts of frames written back to back and flushed once per burst.
    var done = 0
    while done < floodFrames && timeLeft() {
        for link in links.indices {
            let burst = min(200, floodFrames - done)
            guard burst > 0, let channel = await links[link].open() else { continue }
            for _ in 0..<burst {
                let bytes = random.chance(0.5) && !recorded.isEmpty
                    ? recorded.filter { $0.link == link }.randomElement(using: &random)?.bytes ?? values.frame(to: receiver(link), &random)
                    : values.frame(to: receiver(link), &random)
                channel.write(channel.allocator.buffer(bytes: bytes), promise: nil)
            }
            do {
                try await channel.writeAndFlush(channel.allocator.buffer(bytes: values.frame(to: receiver(link), &random)))
                count("flood", burst + 1)
            } catch {}
            done += burst + 1
        }
    }
}

@MainActor func oversizePhase() async {
    let ticket = options.tickets[0]
    for link in links.indices where timeLeft() {
        // The largest request the wire allows: a name of 255 bytes and a value of 4,096.
        let largest = Frame.request(request(.ticket(name: ticket, .setAttribute(
            name: String(repeating: "n", count: 255), value: String(repeating: "v", count: 4096))))).encoded()
        if await links[link].send(largest) { count("oversize-largest-request") }
        // A request frame whose payload is exactly the frame limit: a valid request followed by
        // padding up to 4 MiB (the target must take in all of it, then refuse the trailing bytes).
        var atLimit = Frame.request(request(.ticket(name: ticket, .setAttribute(name: "huge", value: String(repeating: "v", count: 4096))))).encoded()
        atLimit += [UInt8](repeating: 0x56, count: Frame.headerBytes + Frame.payloadBytesMax - atLimit.count)
        patchLength(&atLimit, Frame.payloadBytesMax)
        if await links[link].send(atLimit) { count("oversize-at-limit") }
        await awaitClose(link)
        // A header claiming one byte over the limit, followed by some of that payload.
        var over = Frame.request(request(.list)).encoded()
        patchLength(&over, Frame.payloadBytesMax + 1)
        if await links[link].send(over + [UInt8](repeating: 0x41, count: 64 * 1024)) { count("oversize-over-limit") }
        await awaitClose(link)
        // A huge attribute set: names and values at their limits, more attributes than one
        // ticket may hold, on known and unknown tickets; then the lists.
        for index in 0..<(AttributeLimits.perTicketMax + 40) where timeLeft() {
            let name = index % 7 == 0 ? String(repeating: "n", count: AttributeLimits.nameBytesMax) : "hostile\(index)"
            let value = String(repeating: "w", count: index % 3 == 0 ? AttributeLimits.valueBytesMax : Int.random(in: 0...64, using: &random))
            let target = index % 11 == 0 ? "nosuch" : ticket
            if await links[link].send(Frame.request(request(.ticket(name: target, .setAttribute(name: name, value: value)))).encoded()) {
                count("oversize-attribute")
            }
        }
        for command in [ClientCommand.listAttributes(ticket: ticket), .list, .peers, .status] {
            if await links[link].send(Frame.request(request(command)).encoded()) { count("oversize-list") }
        }
        // Give the answers time to come back before the next phase.
        try? await Task.sleep(for: .milliseconds(300))
    }
}

@MainActor func patchLength(_ frame: inout [UInt8], _ length: Int) {
    frame[8] = UInt8((length >> 24) & 0xFF)
    frame[9] = UInt8((length >> 16) & 0xFF)
    frame[10] = UInt8((length >> 8) & 0xFF)
    frame[11] = UInt8(length & 0xFF)
}

/// Lets the target answer (or close) before the next attempt opens a new connection: at most
/// 2 s, so a target that keeps the connection open does not stall the run.
@MainActor func awaitClose(_ link: Int) async {
    let deadline = ContinuousClock.now + .seconds(2)
    while ContinuousClock.now < deadline, let inbound = links[link].inbound, !inbound.counts.withLock({ $0.closed }) {
        try? await Task.sleep(for: .milliseconds(20))
    }
}

@MainActor func garbagePhase() async {
    for link in links.indices where timeLeft() {
        let to = receiver(link)
        let others = (0..<options.members.count).filter { $0 != selfID.index && $0 != to.index }
        var attempts: [(String, [UInt8])] = [
            ("garbage-random", (0..<Int.random(in: 1...2048, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }),
            ("garbage-truncated", Array(values.frame(to: to, &random).dropLast(3)) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            ("garbage-bad-magic", [0x42, 0x41, 0x54, 0x4F] + (0..<64).map { _ in UInt8.random(in: 0...255, using: &random) }),
        ]
        if let other = others.first {
            // Well-formed, but claiming another sender, and addressed to another receiver.
            let claimed = MemberID(other)
            attempts.append(("garbage-wrong-sender", Frame.peer(PeerFrame(from: claimed, to: to, messages: [
                PeerMessage(ticket: options.tickets[0], from: claimed, to: to, term: values.known, body: .release(revoked: true, handoverTo: nil)),
            ])).encoded()))
            attempts.append(("garbage-wrong-receiver", Frame.peer(PeerFrame(from: selfID, to: claimed, messages: [
                PeerMessage(ticket: options.tickets[0], from: selfID, to: claimed, term: values.known, body: .revokeRequest),
            ])).encoded()))
        }
        // A reply frame from a member, and a valid frame with one byte flipped past the header.
        attempts.append(("garbage-reply-frame", Frame.reply(ClientReply(id: 1, body: .error("hostile"))).encoded()))
        var flipped = values.frame(to: to, &random)
        let at = Int.random(in: Frame.headerBytes..<flipped.count, using: &random)
        flipped[at] ^= UInt8.random(in: 1...255, using: &random)
        attempts.append(("garbage-flipped", flipped))
        for (phase, bytes) in attempts where timeLeft() {
            links[link].retire()
            if await links[link].send(bytes) { count(phase) }
            await awaitClose(link)
        }
        links[link].retire()
    }
}

// Every phase once, each within what is left of the frame budget and the time.
await randomPhase()
await replayPhase()
await floodPhase()
await oversizePhase()
await garbagePhase()
for link in links { link.retire() }
for (index, link) in links.enumerated() {
    report([
        "target": link.name, "receiver": receiver(index).index, "connections": link.connections, "closed_by_target": link.closedByTarget,
        "connect_failures": link.connectFailures, "bytes_received": link.totals.bytes, "peer_frames_received": link.totals.peerFrames,
        "replies": link.totals.replies, "error_replies": link.totals.errorReplies, "undecodable": link.totals.undecodable,
    ])
}
var summary: [String: Any] = ["summary": true, "seed": options.seed, "seconds": Double((ContinuousClock.now - start).components.seconds)]
for (phase, n) in sent { summary[phase] = n }
summary["sent_total"] = sent.values.reduce(0, +)
report(summary)
try? await group.shutdownGracefully()
