import GeoSimulation
import Testing
import TicketElection
import TicketWire

/// Random frames from a seeded generator: round trips, stream splitting, and a decoder that
/// never crashes on bad bytes.
struct FrameTests {
    static func member(_ random: inout SeededGenerator, except: Int? = nil) -> MemberID {
        var index = Int.random(in: 0..<16, using: &random)
        if index == except { index = (index + 1) % 16 }
        return MemberID(index)
    }

    static func span(_ random: inout SeededGenerator) -> Duration {
        .nanoseconds(Int64.random(in: 1...Frame.durationMax.nanoseconds, using: &random))
    }

    static func lease(_ random: inout SeededGenerator) -> LeaseView? {
        random.chance(0.3) ? nil
            : LeaseView(leader: member(&random), term: random.next(), remaining: span(&random), confirmed: random.chance(0.5))
    }

    static func body(_ random: inout SeededGenerator) -> MessageBody {
        let reasons: [RefusalReason] = [.leaseHeldElsewhere, .staleTerm, .alreadyVoted, .quietAfterRestart, .manualTicket]
        switch Int.random(in: 0..<14, using: &random) {
        case 0: return .voteRequest(lease: span(&random))
        case 1: return .voteGranted
        case 2: return .voteRefused(reasons.randomElement(using: &random)!, known: lease(&random))
        case 3: return .heartbeat(lease: span(&random), round: random.next())
        case 4: return .heartbeatAcknowledged(round: random.next())
        case 5: return .heartbeatRefused(round: random.next(), reasons.randomElement(using: &random)!, known: lease(&random))
        case 6: return .release(revoked: random.chance(0.5), handoverTo: random.chance(0.5) ? member(&random) : nil)
        case 7: return .withdrawn
        case 8: return .revokeRequest
        case 9: return .moveRequest(to: member(&random))
        case 10: return .stateQuery(nonce: random.next())
        case 11:
            return .stateReply(known: lease(&random), granted: random.chance(0.5),
                               manualHolders: (0..<Int.random(in: 0...3, using: &random)).map { _ in member(&random) }, nonce: random.next())
        case 12: return .manualGranted
        default: return .manualRevoked
        }
    }

    static func ticketName(_ random: inout SeededGenerator) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/")
        return String((0..<Int.random(in: 1...63, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
    }

    static func peerFrame(_ random: inout SeededGenerator, messages: Int? = nil) -> Frame {
        let from = member(&random)
        let to = member(&random, except: from.index)
        let count = messages ?? Int.random(in: 0...40, using: &random)
        let list = (0..<count).map { _ in
            PeerMessage(ticket: ticketName(&random), from: from, to: to, term: random.next(), body: body(&random))
        }
        return .peer(PeerFrame(from: from, to: to, messages: list))
    }

    static func clientFrame(_ random: inout SeededGenerator) -> Frame {
        let id = random.next()
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return .request(ClientRequest(id: id, command: .list))
        case 1: return .request(ClientRequest(id: id, command: .ticket(name: ticketName(&random), .grant(force: true, wait: false, waitForCommit: true))))
        case 2: return .request(ClientRequest(id: id, command: .ticket(name: "t", .move(to: "site-b", wait: true))))
        case 3: return .request(ClientRequest(id: id, command: .ticket(name: "t", .setAttribute(name: "geo", value: "ok ✓"))))
        case 4:
            return .reply(ClientReply(id: id, body: .tickets([
                TicketSummary(name: "ticketA", manual: false, term: 7, leader: "site-a", leaseRemaining: .seconds(9),
                              commitPending: nil, grantedHere: true, standby: false, manualHolders: []),
                TicketSummary(name: "ticketM", manual: true, term: 2, leader: nil, leaseRemaining: nil,
                              commitPending: .seconds(3), grantedHere: false, standby: true, manualHolders: ["site-a", "site-b"]),
            ])))
        case 5: return .reply(ClientReply(id: id, body: .outcome(OutcomeSummary(succeeded: true, text: "grant succeeded!", commitPending: .seconds(12)))))
        case 6: return .reply(ClientReply(id: id, body: .peers([PeerSummary(name: "arbitrator", site: false, address: "127.0.0.3:9929", connected: true, lastHeard: .milliseconds(120))])))
        case 7: return .reply(ClientReply(id: id, body: .status(DaemonSummary(name: "site-a", site: true, tickets: 2, uptime: .seconds(35)))))
        case 8:
            let process = DaemonProcess(pid: 4242, lockFile: "/run/baton/booth.sock.lock", configurationName: "booth", address: "192.0.2.10", port: 9929)
            return .reply(ClientReply(id: id, body: .status(DaemonSummary(name: "arbitrator", site: false, tickets: 1, uptime: .seconds(1), process: process))))
        default: return .reply(ClientReply(id: id, body: .error("ticket \"nosuch\" does not exist")))
        }
    }

    @Test func framesRoundTrip() throws {
        var random = SeededGenerator(seed: 1)
        for _ in 0..<3_000 {
            let frame = random.chance(0.7) ? Self.peerFrame(&random) : Self.clientFrame(&random)
            let bytes = frame.encoded()
            #expect(try Frame.decode(bytes) == frame)
            #expect(try Frame.frameLength(bytes) == bytes.count)
        }
    }

    @Test func oneFrameCarriesTenThousandTickets() throws {
        var random = SeededGenerator(seed: 2)
        let frame = Self.peerFrame(&random, messages: 10_000)
        let bytes = frame.encoded()
        #expect(bytes.count < Frame.payloadBytesMax)
        #expect(try Frame.decode(bytes) == frame)
    }

    @Test func splitterReassemblesAnyChunking() throws {
        var random = SeededGenerator(seed: 3)
        let frames = (0..<200).map { _ in Self.peerFrame(&random) }
        let stream = frames.flatMap { $0.encoded() }
        var splitter = FrameSplitter()
        var received: [Frame] = []
        var position = 0
        while position < stream.count {
            let size = min(stream.count - position, Int.random(in: 1...700, using: &random))
            received.append(contentsOf: try splitter.append(Array(stream[position..<(position + size)])))
            position += size
        }
        #expect(received == frames)
        #expect(splitter.bufferedBytes == 0)
    }

    @Test func garbageIsATypedErrorNeverACrash() {
        var random = SeededGenerator(seed: 4)
        var refused = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:
                // A valid frame, truncated.
                let valid = Self.peerFrame(&random).encoded()
                bytes = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &random)))
            case 2:
                // A valid frame with bytes flipped after the header.
                bytes = Self.peerFrame(&random, messages: 3).encoded()
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let index = Int.random(in: 12..<bytes.count, using: &random)
                    bytes[index] ^= UInt8.random(in: 1...255, using: &random)
                }
            default:
                // A valid header over a random payload.
                let payload = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                var writer = ByteWriter()
                writer.u32(Frame.magic)
                writer.u8(Frame.version)
                writer.u8(UInt8.random(in: 1...3, using: &random))
                writer.u16(0)
                writer.u32(UInt32(payload.count))
                writer.raw(payload)
                bytes = writer.bytes
            }
            do {
                _ = try Frame.decode(bytes)
            } catch {
                refused += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(refused > 15_000)
    }

    @Test func headersAreCheckedBeforeThePayloadArrives() throws {
        #expect(throws: WireError.badMagic(found: 0x4745_5420)) { try Frame.frameLength(Array("GET / HTTP/1.1\r\n".utf8)) }
        var writer = ByteWriter()
        writer.u32(Frame.magic)
        writer.u8(Frame.version)
        writer.u8(1)
        writer.u16(0)
        writer.u32(UInt32(Frame.payloadBytesMax + 1))
        #expect(throws: WireError.frameTooLarge(length: Frame.payloadBytesMax + 1, limit: Frame.payloadBytesMax)) {
            try Frame.frameLength(writer.bytes)
        }
        var future = ByteWriter()
        future.u32(Frame.magic)
        future.u8(9)
        future.raw(Array(repeating: 0, count: 7))
        #expect(throws: WireError.unsupportedVersion(9)) { try Frame.frameLength(future.bytes) }
        #expect(try Frame.frameLength([0x42, 0x41]) == nil)
    }

    @Test func decodingNamesFieldAndOffset() {
        var writer = ByteWriter()
        writer.u32(Frame.magic)
        writer.u8(Frame.version)
        writer.u8(1)
        writer.u16(0)
        writer.u32(4)
        writer.raw([0, 20, 0, 0])
        do {
            _ = try Frame.decode(writer.bytes)
            Issue.record("member 20 accepted")
        } catch {
            #expect(error == .invalid(field: "receiver", offset: 13, reason: "member 20 outside 0...15"))
            #expect(error.description == "invalid receiver at byte 13: member 20 outside 0...15")
        }
    }
}
