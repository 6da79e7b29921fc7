import Foundation
import SeededRandom
import Testing
import TicketCore
import TicketDaemon
import TicketElection
import TicketWire

/// A hostile member: site-b holds a valid certificate and sends well-formed frames with random
/// and extreme terms, rounds, leases, members and nonces, and replays of earlier frames, into
/// the daemon cores of site-a (the holder) and the arbitrator, while those two go on talking to
/// each other. The cores must never trap, and no term they hold or persist may jump past
/// `ElectionLimits` (before issue 10 one frame of term 2^64 − 1 trapped the holder, and random
/// frames pushed the persisted term to 2^63).
///
/// `swift test` runs `framesDefault` frames in each of a few seeds (a few seconds);
/// `BATON_HOSTILE_FRAMES=1000000 swift test --filter HostileMemberTests` runs a long one.
struct HostileMemberTests {
    static let framesDefault = 4_000
    static let seeds: [UInt64] = [1, 2, 3]

    static var frames: Int {
        ProcessInfo.processInfo.environment["BATON_HOSTILE_FRAMES"].flatMap { Int($0) }.map { max(1, min($0, 100_000_000)) }
            ?? framesDefault
    }

    static let hostile = MemberID(1)
    static let victims = [MemberID(0), MemberID(2)]

    /// A term near what the victim knows, near the bound, or absurd.
    static func term(known: UInt64, _ random: inout SplitMix64) -> UInt64 {
        switch Int.random(in: 0..<8, using: &random) {
        case 0: return known
        case 1: return known &+ UInt64.random(in: 0...3, using: &random)
        case 2: return known &+ ElectionLimits.termJumpMax &+ UInt64.random(in: 0...2, using: &random) &- 1
        case 3: return [0, 1, 1 << 62, (1 << 62) + 1, 1 << 63, UInt64.max - 1, UInt64.max].randomElement(using: &random)!
        case 4: return known &- UInt64.random(in: 0...3, using: &random)
        default: return random.next()
        }
    }

    static func span(_ random: inout SplitMix64) -> Duration {
        // What the wire lets through: 1 ns ... 7 days.
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return .nanoseconds(1)
        case 1: return Frame.durationMax
        case 2: return .seconds(Int64.random(in: 1...25, using: &random))
        default: return .nanoseconds(Int64.random(in: 1...Frame.durationMax.nanoseconds, using: &random))
        }
    }

    static func member(_ random: inout SplitMix64) -> MemberID {
        random.chance(0.8) ? MemberID(Int.random(in: 0..<3, using: &random)) : MemberID(Int.random(in: 0..<Membership.membersMax, using: &random))
    }

    static func round(_ random: inout SplitMix64) -> UInt64 {
        random.chance(0.5) ? UInt64.random(in: 0...5, using: &random) : [UInt64.max, 1 << 63, random.next()].randomElement(using: &random)!
    }

    static func view(known: UInt64, _ random: inout SplitMix64) -> LeaseView? {
        random.chance(0.3) ? nil : LeaseView(leader: member(&random), term: term(known: known, &random), remaining: span(&random), confirmed: random.chance(0.7))
    }

    static func body(known: UInt64, _ random: inout SplitMix64) -> MessageBody {
        let reasons: [RefusalReason] = [.leaseHeldElsewhere, .staleTerm, .alreadyVoted, .quietAfterRestart, .manualTicket]
        switch Int.random(in: 0..<14, using: &random) {
        case 0: return .voteRequest(lease: span(&random))
        case 1: return .voteGranted
        case 2: return .voteRefused(reasons.randomElement(using: &random)!, known: view(known: known, &random))
        case 3: return .heartbeat(lease: span(&random), round: round(&random))
        case 4: return .heartbeatAcknowledged(round: round(&random))
        case 5: return .heartbeatRefused(round: round(&random), reasons.randomElement(using: &random)!, known: view(known: known, &random))
        case 6: return .release(revoked: random.chance(0.5), handoverTo: random.chance(0.5) ? member(&random) : nil)
        case 7: return .withdrawn
        case 8: return .revokeRequest
        case 9: return .moveRequest(to: member(&random))
        case 10: return .stateQuery(nonce: random.next())
        case 11:
            return .stateReply(known: view(known: known, &random), granted: random.chance(0.5),
                               manualHolders: (0..<Int.random(in: 0...3, using: &random)).map { _ in member(&random) }, nonce: random.next())
        case 12: return .manualGranted
        default: return .manualRevoked
        }
    }

    @Test("a hostile member's random frames never trap a core or carry its term past the bound", arguments: seeds)
    func hostileFrames(seed: UInt64) throws {
        let policies = try [
            TicketPolicy(name: "ticket0", expire: .seconds(10), timeout: .seconds(1), retries: 3, weights: [0, 0, 0]),
            TicketPolicy(name: "ticket1", expire: .seconds(4), timeout: .milliseconds(300), retries: 3, weights: [0, 0, 0]),
            TicketPolicy(name: "manual", mode: .manual, weights: [0, 0, 0]),
        ]
        var cores = try (0..<3).map { DaemonCore(membership: try Membership(members: DaemonCoreTests.members, selfID: MemberID($0)), policies: policies) }
        var now = LocalInstant(nanoseconds: 1_000_000_000)
        var random = SplitMix64(seed: seed)
        // An honest start and grant, recording site-b's frames for the replays to come.
        var recorded: [PeerFrame] = []
        var honest = (0..<3).flatMap { cores[$0].start([:], now: now).frames }
        func deliver(_ frames: [PeerFrame]) -> [PeerFrame] {
            var next: [PeerFrame] = []
            for frame in frames {
                if frame.from == Self.hostile { recorded.append(frame) }
                next += cores[frame.to.index].receive(frame, now: now).frames
            }
            return next
        }
        var rounds = 0
        while !honest.isEmpty && rounds < 100 {
            rounds += 1
            honest = deliver(honest)
        }
        honest = cores[0].command(
            ClientRequest(id: 1, command: .ticket(name: "ticket0", .grant(force: false, wait: false, waitForCommit: false))),
            from: DaemonCore.ClientToken(1), now: now).frames
        rounds = 0
        while !honest.isEmpty && rounds < 100 {
            rounds += 1
            honest = deliver(honest)
        }
        #expect(cores[0].instance(named: "ticket0")?.isLeader == true)

        var refused = 0
        for _ in 0..<Self.frames {
            now = now + .nanoseconds(Int64.random(in: 0...300_000_000, using: &random))
            let victim = Self.victims.randomElement(using: &random)!
            let frame: PeerFrame
            if !recorded.isEmpty && random.chance(0.1) {
                // A replay of an earlier frame of site-b (honest or hostile) to its receiver.
                frame = recorded.randomElement(using: &random)!
            } else {
                let count = random.chance(0.8) ? 1 : Int.random(in: 2...8, using: &random)
                let messages = (0..<count).map { _ in
                    let ticket = random.chance(0.95) ? policies.randomElement(using: &random)!.name : "nosuch"
                    let known = cores[victim.index].instance(named: ticket)?.term ?? 0
                    return PeerMessage(ticket: ticket, from: Self.hostile, to: victim, term: Self.term(known: known, &random),
                                       body: Self.body(known: known, &random))
                }
                frame = PeerFrame(from: Self.hostile, to: victim, messages: messages)
                // The frame survives the wire as it is (what the victim's decoder would see).
                #expect(try Frame.decode(Frame.peer(frame).encoded()) == .peer(frame))
                recorded.append(frame)
                if recorded.count > 256 { recorded.removeFirst(128) }
            }
            let before = policies.map { cores[frame.to.index].instance(named: $0.name)!.term }
            let batch = cores[frame.to.index].receive(frame, now: now)
            for (index, policy) in policies.enumerated() {
                let jumps = UInt64(frame.messages.count { $0.ticket == policy.name })
                let term = cores[frame.to.index].instance(named: policy.name)!.term
                let bound = max(before[index], min(ElectionLimits.termMax, before[index] &+ jumps * ElectionLimits.termJumpMax) + 1)
                #expect(term <= bound, "seed \(seed): \(policy.name) at \(frame.to) moved from \(before[index]) to \(term) by \(frame.messages)")
                #expect(term <= ElectionLimits.termMax + 1)
            }
            for write in batch.writes {
                #expect(write.state.term <= ElectionLimits.termMax + 1, "seed \(seed): persisted term \(write.state.term)")
            }
            refused += batch.events.count { if case .messageRefused = $0.event { true } else { false } }
            // The two honest members go on: their frames to each other, and their timers.
            var traffic = batch.frames.filter { $0.to != Self.hostile }
            for victim in Self.victims { traffic += cores[victim.index].timer(now: now).frames.filter { $0.to != Self.hostile } }
            for frame in traffic { _ = cores[frame.to.index].receive(frame, now: now) }
        }
        #expect(refused > 0, "seed \(seed): no frame was refused")
        print("hostile member, seed \(seed): \(Self.frames) frames, \(refused) messages refused, terms now "
              + policies.map { "\($0.name) \(cores[0].instance(named: $0.name)!.term)/\(cores[2].instance(named: $0.name)!.term)" }.joined(separator: ", "))
    }
}
