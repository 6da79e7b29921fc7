#if canImport(Glibc)
import Glibc
#endif
import BatonConfig
import CIB
import Scheduler
import TicketDaemon
import TicketElection
import TicketWire

/// The decoders Baton runs on bytes it did not make, each as a `FuzzTarget` with a corpus of
/// valid inputs built by the encoders (frames, state files, journals) or handed in (the
/// configurations of sites/ and arbitrator/, the conformance CIBs).
public enum FuzzTargets {
    public static let names = ["frames", "client", "journal", "config", "cib", "scheduler"]

    // MARK: peer frames

    /// Peer frames, with every message body and the edges of every number (term and round
    /// 2^64-1, leases of 1 ns and of the 7-day limit, the last member index).
    public static func frames() -> FuzzTarget {
        FuzzTarget(name: "frames", format: .binary, corpus: peerFrames().map { Frame.peer($0).encoded() },
                   inputBytesMax: 64 * 1024, inputDurationMax: .seconds(5)) { bytes in
            checkFrame(bytes)
        }
    }

    static func peerFrames() -> [PeerFrame] {
        let a = MemberID(0), b = MemberID(1), last = MemberID(Membership.membersMax - 1)
        let lease = LeaseView(leader: a, term: 7, remaining: .seconds(9), confirmed: true)
        let extreme = LeaseView(leader: last, term: .max, remaining: Frame.durationMax, confirmed: false)
        let shortest = LeaseView(leader: b, term: 0, remaining: .nanoseconds(1), confirmed: true)
        let bodies: [MessageBody] = [
            .voteRequest(lease: .seconds(10)), .voteRequest(lease: Frame.durationMax), .voteGranted,
            .voteRefused(.leaseHeldElsewhere, known: lease), .voteRefused(.quietAfterRestart, known: nil),
            .heartbeat(lease: .seconds(10), round: 3), .heartbeat(lease: .nanoseconds(1), round: .max),
            .heartbeatAcknowledged(round: 3), .heartbeatAcknowledged(round: .max),
            .heartbeatRefused(round: .max, .staleTerm, known: extreme), .heartbeatRefused(round: 0, .alreadyVoted, known: shortest),
            .release(revoked: true, handoverTo: nil), .release(revoked: false, handoverTo: last), .withdrawn, .revokeRequest,
            .moveRequest(to: b), .stateQuery(nonce: 0), .stateQuery(nonce: .max),
            .stateReply(known: lease, granted: true, manualHolders: [a, b, last], nonce: 42),
            .stateReply(known: nil, granted: false, manualHolders: [], nonce: .max), .manualGranted, .manualRevoked,
        ]
        var frames = bodies.enumerated().map { index, body in
            PeerFrame(from: a, to: b, messages: [PeerMessage(ticket: "ticket-\(index)", from: a, to: b,
                                                             term: index % 3 == 0 ? .max : UInt64(index), body: body)])
        }
        frames.append(PeerFrame(from: last, to: a, messages: bodies.map {
            PeerMessage(ticket: "ticket-db", from: last, to: a, term: 1 << 63, body: $0)
        }))
        frames.append(PeerFrame(from: b, to: a, messages: []))
        return frames
    }

    /// A frame decodes to a value that encodes and decodes to itself, or throws `WireError`;
    /// the stream splitter agrees with the whole-frame decoder.
    static func checkFrame(_ bytes: [UInt8]) -> FuzzVerdict {
        let frame: Frame
        do {
            frame = try Frame.decode(bytes)
        } catch {
            // As a stream (more frames may follow), what the splitter yields must round-trip.
            var splitter = FrameSplitter()
            for frame in (try? splitter.append(bytes)) ?? [] where (try? Frame.decode(frame.encoded())) != frame {
                return .violation("a frame the stream splitter read does not round-trip")
            }
            return .refused
        }
        let again: Frame
        do {
            again = try Frame.decode(frame.encoded())
        } catch {
            return .violation("re-encoded frame does not decode: \(error)")
        }
        guard again == frame else { return .violation("decode(encode(x)) != x") }
        // The same bytes cut in two reach the splitter as one frame.
        var splitter = FrameSplitter()
        let cut = bytes.count / 2
        do {
            let first = try splitter.append(Array(bytes[..<cut]))
            let second = try splitter.append(Array(bytes[cut...]))
            guard first.isEmpty, second == [frame], splitter.bufferedBytes == 0 else {
                return .violation("the stream splitter read \(first.count) + \(second.count) frames, not the frame")
            }
        } catch {
            return .violation("the stream splitter refused a frame Frame.decode reads: \(error)")
        }
        return .accepted
    }

    // MARK: client frames

    /// Admin requests and replies (the admin socket and remote admin over TLS).
    public static func client() -> FuzzTarget {
        let requests = clientRequests().map { Frame.request($0).encoded() }
        let replies = clientReplies().map { Frame.reply($0).encoded() }
        return FuzzTarget(name: "client", format: .binary, corpus: requests + replies,
                          inputBytesMax: 256 * 1024, inputDurationMax: .seconds(5)) { bytes in
            checkFrame(bytes)
        }
    }

    static func clientRequests() -> [ClientRequest] {
        let commands: [ClientCommand] = [
            .list, .peers, .status, .listAttributes(ticket: "ticket-db"), .getAttribute(ticket: "ticket-db", name: "role"),
            .ticket(name: "ticket-db", .grant(force: true, wait: false, waitForCommit: true)),
            .ticket(name: "ticket-db", .revoke(wait: true)), .ticket(name: "ticket-db", .standby),
            .ticket(name: "ticket-db", .activate), .ticket(name: "ticket-db", .move(to: "site-b", wait: true)),
            .ticket(name: "ticket-db", .setAttribute(name: "role", value: String(repeating: "v", count: 4096))),
            .ticket(name: "ticket-db", .deleteAttribute(name: "role")),
        ]
        return commands.enumerated().map { ClientRequest(id: $0.offset % 2 == 0 ? UInt64($0.offset) : .max, command: $0.element) }
    }

    static func clientReplies() -> [ClientReply] {
        let tickets = [
            TicketSummary(name: "ticket-db", manual: false, term: .max, leader: "site-a", leaseRemaining: Frame.durationMax,
                          commitPending: .zero, grantedHere: true, standby: false, manualHolders: []),
            TicketSummary(name: "ticket-ip", manual: true, term: 0, leader: nil, leaseRemaining: nil, commitPending: nil,
                          grantedHere: false, standby: true, manualHolders: ["site-a", "site-b"]),
        ]
        let bodies: [ReplyBody] = [
            .outcome(OutcomeSummary(succeeded: true, text: "grant succeeded!", commitPending: .seconds(5))),
            .outcome(OutcomeSummary(succeeded: false, text: "ticket is not owned")),
            .tickets(tickets), .tickets([]),
            .attributes([Attribute(name: "role", value: "primary"), Attribute(name: "x", value: "")]),
            .peers([PeerSummary(name: "site-b", site: true, address: "192.0.2.2:9929", connected: true, lastHeard: .milliseconds(100)),
                    PeerSummary(name: "arbitrator", site: false, address: "[2001:db8::3]:9929", connected: false, lastHeard: nil)]),
            .status(DaemonSummary(name: "site-a", site: true, tickets: Int(UInt32.max), uptime: .seconds(35))),
            .error("ticket \"nosuch\" does not exist"),
        ]
        return bodies.enumerated().map { ClientReply(id: UInt64($0.offset), body: $0.element) }
    }

    // MARK: state journal

    /// State files (the legacy `tickets.state`, and each journal record's body) and whole
    /// journals, replayed by `StateJournal.load` from a file in `scratchDirectory`.
    public static func journal(scratchDirectory: String) -> FuzzTarget {
        let files = stateFiles()
        var corpus = files.map { $0.encoded() }
        // Journals: one record, and a compaction followed by appended batches.
        corpus.append(journalBytes(files[0...0]))
        corpus.append(journalBytes(files[0...]))
        let journal = StateJournal(directory: scratchDirectory)
        return FuzzTarget(name: "journal", format: .binary, corpus: corpus, inputBytesMax: 256 * 1024,
                          inputDurationMax: .seconds(5)) { bytes in
            checkJournal(bytes, journal: journal)
        }
    }

    static func stateFiles() -> [StateFile] {
        let last = MemberID(Membership.membersMax - 1)
        let full = PersistentTicketState(
            term: .max, votedFor: last, promise: LeaseView(leader: last, term: .max, remaining: Frame.durationMax, confirmed: true),
            leading: Frame.durationMax, intendedGranted: true, standby: true, manualHolders: [MemberID(0), last],
            attributes: ["role": "primary", "empty": "", "long": String(repeating: "x", count: 4096)])
        let plain = PersistentTicketState(term: 3, votedFor: MemberID(0),
                                          promise: LeaseView(leader: MemberID(0), term: 3, remaining: .seconds(10), confirmed: false))
        return [
            StateFile(bootID: "5f0c1c9e-boot", bootClock: .seconds(100), tickets: ["ticket-db": plain, "ticket-ip": full]),
            StateFile(bootID: "", bootClock: .nanoseconds(Int64.max), tickets: ["ticket-db": PersistentTicketState()]),
            StateFile(bootID: "5f0c1c9e-boot", bootClock: .zero, tickets: [:]),
        ]
    }

    static func journalBytes(_ files: ArraySlice<StateFile>) -> [UInt8] {
        var writer = ByteWriter()
        for file in files {
            let body = file.encoded()
            writer.u32(StateJournal.recordMagic)
            writer.u32(UInt32(body.count))
            writer.raw(body)
        }
        return writer.bytes
    }

    /// A state file decodes to a value that encodes and decodes to itself, or throws; a
    /// journal of these bytes loads (restored, or every ticket as state lost), never traps.
    ///
    /// Most mutations break a CRC, so each input is checked twice: as it is, and with its
    /// checksums made right again (what lies behind the CRC check gets fuzzed too).
    static func checkJournal(_ bytes: [UInt8], journal: StateJournal) -> FuzzVerdict {
        let first = checkJournalOnce(bytes, journal: journal)
        guard case .refused = first else { return first }
        return checkJournalOnce(withChecksumsRepaired(bytes), journal: journal)
    }

    /// A state file's trailing CRC-32 recomputed, or, for a journal, every record's whose
    /// length stays inside the bytes.
    static func withChecksumsRepaired(_ bytes: [UInt8]) -> [UInt8] {
        var repaired = bytes
        func repair(_ range: Range<Int>) {
            guard range.count >= 4 else { return }
            let crc = CRC32.checksum(repaired[range.lowerBound..<(range.upperBound - 4)])
            for index in 0..<4 { repaired[range.upperBound - 4 + index] = UInt8(truncatingIfNeeded: crc >> (8 * (3 - index))) }
        }
        func word(_ offset: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
        }
        guard bytes.count >= 8, word(0) == StateJournal.recordMagic else {
            repair(0..<bytes.count)
            return repaired
        }
        var offset = 0
        while offset + 8 <= bytes.count {
            let length = Int(word(offset + 4))
            guard length <= bytes.count - offset - 8 else { break }
            repair((offset + 8)..<(offset + 8 + length))
            offset += 8 + length
        }
        return repaired
    }

    static func checkJournalOnce(_ bytes: [UInt8], journal: StateJournal) -> FuzzVerdict {
        var verdict = FuzzVerdict.refused
        if let file = try? StateFile.decode(bytes) {
            guard let again = try? StateFile.decode(file.encoded()), again == file else {
                return .violation("state file: decode(encode(x)) != x")
            }
            verdict = .accepted
        }
        let descriptor = open(journal.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return .violation("cannot write \(journal.path): errno \(errno)") }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count else { return .violation("short write to \(journal.path)") }
        let loaded = journal.load(bootID: "5f0c1c9e-boot", now: LocalInstant(nanoseconds: 200_000_000_000))
        if !loaded.allLost && !loaded.modes.isEmpty { verdict = .accepted }
        return verdict
    }

    // MARK: configuration

    /// The configuration parser on the text of `seeds` (booth.conf syntax with Baton's keys).
    public static func config(seeds: [String]) -> FuzzTarget {
        FuzzTarget(name: "config", format: .text, corpus: (seeds + builtInConfigurations).map { Array($0.utf8) },
                   inputBytesMax: 256 * 1024, inputDurationMax: .seconds(5)) { bytes in
            do {
                _ = try BatonConfigurationParser.parse(text: String(decoding: bytes, as: UTF8.self), fileName: "fuzz.conf")
                return .accepted
            } catch {
                return .refused
            }
        }
    }

    static let builtInConfigurations = [
        """
        transport = UDP
        port = 9929
        tls-ca = /etc/baton/tls/ca.pem
        tls-certificate = /etc/baton/tls/member.pem
        tls-private-key = /etc/baton/tls/member.key
        tls-handshake-timeout = 10
        site = 192.0.2.10 name=site-a port=9930
        site = 192.0.2.20 name=site-b
        arbitrator = 192.0.2.30 name=arbitrator
        ticket = "__defaults__"
            expire = 600
        ticket = "ticket-db"
            expire = 10
            timeout = 1
            retries = 5
            weights = 1,2,3
            acquire-after = 30
            renewal-freq = 3
            before-acquire-handler = /usr/lib/baton/check-db
            attr-prereq = auto role primary
            mode = automatic
        ticket = ticket-ip
            mode = manual
        """,
        "site = 10.0.0.1\nsite = 10.0.0.2\narbitrator = 10.0.0.3\nticket = \"t\"\n  expire = 9223372036854775807\n",
    ]

    // MARK: CIB XML

    /// CIB documents through both readers: where the fast reader reads a document, libxml2
    /// must read the same CIB; an accepted CIB written out reads back the same.
    public static func cib(seeds: [[UInt8]]) -> FuzzTarget {
        FuzzTarget(name: "cib", format: .text, corpus: seeds + [Array(builtInCIB.utf8)],
                   inputBytesMax: 1024 * 1024, inputDurationMax: .seconds(20)) { bytes in
            checkCIB(bytes)
        }
    }

    static func checkCIB(_ bytes: [UInt8]) -> FuzzVerdict {
        let fast: Result<CIB, CIBError> = Result { () throws(CIBError) -> CIB in try CIB(bytes: bytes) }
        let reference: Result<CIB, CIBError> = Result { () throws(CIBError) -> CIB in
            try CIB(xml: try XMLCodec.parseWithLibXML2(bytes: bytes))
        }
        switch (fast, reference) {
        case (.failure, .failure):
            return .refused
        case (.success, .failure(let error)):
            return .violation("the fast reader accepted a document libxml2 refuses: \(error)")
        case (.failure(let error), .success):
            return .violation("libxml2 read a CIB the fast path refuses: \(error)")
        case (.success(let cib), .success(let other)):
            guard cib == other else { return .violation("the fast reader and libxml2 read different CIBs") }
            do {
                guard try CIB(parsing: cib.serialized()) == cib else { return .violation("CIB written out reads back different") }
            } catch {
                return .violation("CIB written out does not read back: \(error)")
            }
            return .accepted
        }
    }

    static let builtInCIB = """
        <cib admin_epoch="0" epoch="12" num_updates="4" have-quorum="1" dc-uuid="1" execution-date="1700000000">
          <configuration>
            <crm_config><cluster_property_set id="opts"><nvpair id="o1" name="stonith-enabled" value="false"/>\
        <nvpair id="o2" name="shutdown-lock" value="true"/><nvpair id="o3" name="shutdown-lock-limit" value="10m"/></cluster_property_set></crm_config>
            <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
            <resources>
              <primitive id="rsc1" class="ocf" provider="heartbeat" type="IPaddr2">
                <meta_attributes id="rsc1-meta"><nvpair id="m1" name="failure-timeout" value="60s"/>\
        <nvpair id="m2" name="migration-threshold" value="3"/><nvpair id="m3" name="resource-stickiness" value="100"/></meta_attributes>
                <operations><op id="rsc1-mon" name="monitor" interval="10s" timeout="20s"/><op id="rsc1-start" name="start" interval="0" timeout="90"/></operations>
              </primitive>
              <clone id="cl"><primitive id="rsc2" class="ocf" provider="pacemaker" type="Dummy"/></clone>
            </resources>
            <constraints>
              <rsc_location id="l1" rsc="rsc1" node="node1" score="200"/>
              <rsc_colocation id="c1" rsc="rsc1" with-rsc="cl" score="-INFINITY"/>
              <rsc_order id="o1" first="cl" then="rsc1" kind="Mandatory"/>
              <rsc_ticket id="t1" rsc="rsc1" ticket="ticket-db" loss-policy="stop"/>
            </constraints>
          </configuration>
          <status>
            <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
              <transient_attributes id="1"><instance_attributes id="s1"><nvpair id="f1" name="fail-count-rsc1#monitor_10000" value="2"/>\
        <nvpair id="f2" name="last-failure-rsc1#monitor_10000" value="1699999990"/></instance_attributes></transient_attributes>
              <lrm id="1"><lrm_resources><lrm_resource id="rsc1" class="ocf" provider="heartbeat" type="IPaddr2" shutdown-lock="1699999000">
                <lrm_rsc_op id="rsc1_last_0" operation="start" interval="0" call-id="12" rc-code="0" op-status="0" \
        last-rc-change="1699999900" last-run="1699999900" exec-time="20" queue-time="0" op-digest="abc"/>
                <lrm_rsc_op id="rsc1_monitor_10000" operation="monitor" interval="10000" call-id="13" rc-code="7" op-status="0" \
        last-rc-change="1699999990"/>
              </lrm_resource></lrm_resources></lrm>
            </node_state>
            <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
            <tickets><ticket_state id="ticket-db" granted="true" last-granted="1699999000"/></tickets>
          </status>
        </cib>
        """

    // MARK: scheduler

    /// CIBs that read, scheduled: every number the scheduler takes from the CIB (intervals,
    /// timeouts, times, scores, call ids) with extreme values must not trap.
    public static func scheduler(seeds: [[UInt8]]) -> FuzzTarget {
        FuzzTarget(name: "scheduler", format: .text, corpus: seeds + [Array(builtInCIB.utf8)],
                   inputBytesMax: 1024 * 1024, inputDurationMax: .seconds(20)) { bytes in
            guard let cib = try? CIB(bytes: bytes) else { return .refused }
            _ = Scheduler.schedule(cib, now: 1_700_000_000)
            return .accepted
        }
    }
}

/// CRC-32 (IEEE), as the state file computes it (TicketWire keeps its own internal).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        return crc
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = (crc >> 8) ^ table[Int((crc ^ UInt32(byte)) & 0xFF)] }
        return ~crc
    }
}
