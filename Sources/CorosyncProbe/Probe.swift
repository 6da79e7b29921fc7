// baton-corosync-probe: a Corosync client for the test bed, run inside one node's network
// namespace (`scripts/testbed exec NODE baton-corosync-probe …`). libqb's IPC sockets are
// abstract unix sockets, which belong to a network namespace, so a client must run inside
// the node's namespace to reach that node's corosync: one process per node, each a real
// Corosync client, exactly like baton-crmd will be. It reports on stdout as JSON lines
// (one object per line, `ts` = wall-clock milliseconds) and takes commands on stdin.
import ArgumentParser
import Corosync
import Foundation
import Synchronization

/// One writer for stdout: JSON lines must not interleave.
final class Reporter: Sendable {
    private let lock = Mutex(())
    func emit(_ event: String, _ fields: [String: Any] = [:]) {
        var object = fields
        object["event"] = event
        object["ts"] = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            preconditionFailure("Reporter: fields of \(event) are not JSON")
        }
        lock.withLock { _ in
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }
}

/// A shared mutable value for the probe's tasks.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

func errorName(_ error: any Error) -> String {
    if let error = error as? CorosyncError { return error.status?.name ?? error.description }
    return "\(error)"
}

func membersJSON(_ members: [GroupMember]) -> [[String: Any]] {
    members.map { ["node": $0.nodeID.rawValue, "pid": $0.pid] }
}

@main
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton-corosync-probe",
        abstract: "Corosync client for Baton's test bed (JSON lines on stdout).",
        subcommands: [Order.self, Watch.self, Overflow.self]
    )
}

/// Joins a group, waits until `senders` members are in it, multicasts `count` messages while
/// receiving, and reports a digest of the delivery order once `senders * count` arrived.
struct Order: AsyncParsableCommand {
    @Option var group = "baton-order"
    @Option var senders = 3
    @Option var count = 1000
    @Option(help: "Seconds before giving up.") var timeout = 60.0

    func run() async throws {
        let reporter = Reporter()
        let group = try await ProcessGroup.join(group)
        let expected = senders * count
        let started = ContinuousClock.now
        let deadline = started + .seconds(timeout)
        var iterator = group.events.makeAsyncIterator()
        // Barrier: every sender's join is ordered before its first message (virtual synchrony).
        while true {
            guard ContinuousClock.now < deadline else { throw CorosyncError.timedOut(operation: "barrier", after: .seconds(timeout)) }
            guard let event = try await iterator.next() else { throw CorosyncError.closed }
            if case .membership(let change) = event, change.members.count >= senders { break }
        }
        reporter.emit("ready", ["node": group.localNodeID.rawValue])
        let sendStarted = ContinuousClock.now
        let sender = Task {
            for sequence in 0..<count {
                try await group.send(Array("\(group.localNodeID):\(sequence)".utf8))
            }
            return ContinuousClock.now - sendStarted
        }
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a 64
        var received = 0
        var lastSequence: [GroupMember: Int] = [:]
        var fifoViolations = 0
        var firstMessages: [String] = []
        let watchdog = Task {
            try await Task.sleep(until: deadline, clock: .continuous)
            await group.close()
        }
        while received < expected {
            guard let event = try await iterator.next() else {
                throw CorosyncError.timedOut(operation: "receiving (\(received) of \(expected))", after: .seconds(timeout))
            }
            guard case .message(let message) = event else { continue }
            let text = String(decoding: message.bytes, as: UTF8.self)
            let entry = "\(message.sender.nodeID)/\(message.sender.pid)/\(text)\n"
            for byte in entry.utf8 {
                digest = (digest ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            if let sequence = text.split(separator: ":").last.flatMap({ Int($0) }) {
                if let last = lastSequence[message.sender], sequence != last + 1 { fifoViolations += 1 }
                lastSequence[message.sender] = sequence
            }
            if firstMessages.count < 5 { firstMessages.append(entry.trimmingCharacters(in: .newlines)) }
            received += 1
        }
        watchdog.cancel()
        let sendDuration = try await sender.value
        let total = ContinuousClock.now - sendStarted
        reporter.emit("order", [
            "node": group.localNodeID.rawValue, "received": received, "digest": String(digest, radix: 16),
            "fifoViolations": fifoViolations, "first": firstMessages,
            "sendMilliseconds": sendDuration.components.seconds * 1000 + sendDuration.components.attoseconds / 1_000_000_000_000_000,
            "totalMilliseconds": total.components.seconds * 1000 + total.components.attoseconds / 1_000_000_000_000_000,
        ])
        await group.close()
    }
}

/// Joins with a tiny event buffer, sends more messages than it holds without consuming,
/// then reports how the event sequence ended (expected: the overflow error).
struct Overflow: AsyncParsableCommand {
    @Option var group = "baton-overflow"
    @Option var limit = 10
    @Option var count = 50

    func run() async throws {
        let reporter = Reporter()
        let group = try await ProcessGroup.join(group, options: .init(eventBufferLimit: limit))
        // Once the buffer overflows the handle is closed: later sends fail with `.closed`.
        var sent = 0
        do {
            for sequence in 0..<count {
                try await group.send(Array("\(sequence)".utf8))
                sent += 1
            }
        } catch .closed {
            reporter.emit("closed-while-sending", ["sent": sent])
        }
        try await Task.sleep(for: .seconds(1))
        var received = 0
        do {
            for try await event in group.events {
                if case .message = event { received += 1 }
            }
            reporter.emit("overflow", ["received": received, "error": ""])
        } catch {
            var overflow = false
            if case .eventBufferOverflow = error as? CorosyncError { overflow = true }
            reporter.emit("overflow", ["received": received, "error": "\(error)", "eventBufferOverflow": overflow])
        }
        await group.close()
    }
}

/// Long-running: a process group, quorum tracking and votequorum (optionally as the
/// qdevice), every event reported; when corosync goes away, the ended sequences are reported
/// with their error, and the reconnect helper brings all handles back.
/// stdin: `send TEXT`, `send-size BYTES`, `expected VOTES`, `cast yes|no`, `master-wins yes|no`,
/// `unregister`, `info`, `quit`.
struct Watch: AsyncParsableCommand {
    @Option var group = "baton-watch"
    @Option(help: "Register as the quorum device with this name.") var qdevice: String?
    @Option(help: "Initial qdevice vote (yes|no).") var cast = "no"
    @Option(help: "Seconds the reconnect helper keeps trying.") var reconnectSeconds = 60.0

    func run() async throws {
        let reporter = Reporter()
        let castVote = Shared(cast == "yes")
        let current = Shared<Session?>(nil)
        let qdevice = self.qdevice
        let lines = AsyncStream<String> { continuation in
            let thread = Thread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
            thread.start()
        }
        let commands = Task {
            for await line in lines {
                let words = line.split(separator: " ", maxSplits: 1).map(String.init)
                if words.first == "quit" { break }
                guard let session = current.withLock({ $0 }) else {
                    reporter.emit("not-connected", ["line": line])
                    continue
                }
                await session.command(words, reporter: reporter, castVote: castVote, qdevice: qdevice)
            }
            // quit, or stdin closed: leave cleanly.
            if let session = current.withLock({ $0 }) { await session.close() }
            reporter.emit("quit")
            Foundation.exit(0)
        }
        var generation = 0
        while true {
            generation += 1
            let session: Session
            do {
                session = try await Reconnect.retrying(for: .seconds(reconnectSeconds)) { () async throws(CorosyncError) in
                    try await Session.open(group: group, qdevice: qdevice)
                }
            } catch {
                reporter.emit("fatal", ["error": errorName(error)])
                commands.cancel()
                throw ExitCode(2)
            }
            current.withLock { $0 = session }
            reporter.emit(generation == 1 ? "connected" : "reconnected", ["node": session.group.localNodeID.rawValue, "generation": generation])
            await session.run(reporter: reporter, castVote: castVote, qdevice: qdevice)
            current.withLock { $0 = nil }
            await session.close()
        }
    }
}

struct Session: Sendable {
    let group: ProcessGroup
    let quorum: QuorumTracker
    let voteQuorum: VoteQuorum

    enum Outcome { case quit, lost }
    enum Ending: Sendable { case stream, poller, timer }

    static func open(group name: String, qdevice: String?) async throws(CorosyncError) -> Session {
        let group = try await ProcessGroup.join(name)
        do {
            let quorum = try await QuorumTracker.start()
            let voteQuorum = try await VoteQuorum.connect()
            if let qdevice { try await voteQuorum.registerDevice(name: qdevice) }
            return Session(group: group, quorum: quorum, voteQuorum: voteQuorum)
        } catch {
            await group.close()
            throw error
        }
    }

    func close() async {
        await group.close()
        await quorum.close()
        await voteQuorum.close()
    }

    /// Reports every event until the first sequence ends (corosync gone), then returns.
    func run(reporter: Reporter, castVote: Shared<Bool>, qdevice: String?) async {
        await withTaskGroup(of: Ending.self) { tasks in
            tasks.addTask {
                do {
                    for try await event in group.events {
                        switch event {
                        case .message(let message):
                            reporter.emit("cpg.message", ["node": message.sender.nodeID.rawValue, "pid": message.sender.pid, "bytes": message.bytes.count,
                                                          "text": message.bytes.count <= 256 ? String(decoding: message.bytes, as: UTF8.self) : ""])
                        case .membership(let change):
                            reporter.emit("cpg.membership", [
                                "members": membersJSON(change.members),
                                "joined": change.joined.map { ["node": $0.member.nodeID.rawValue, "pid": $0.member.pid, "reason": $0.reason.description] },
                                "left": change.left.map { ["node": $0.member.nodeID.rawValue, "pid": $0.member.pid, "reason": $0.reason.description] },
                                "ring": change.ringID?.description ?? "",
                            ])
                        case .totem(let totem):
                            reporter.emit("cpg.totem", ["ring": totem.ringID.description, "nodes": totem.nodes.map(\.rawValue)])
                        }
                    }
                    reporter.emit("ended", ["source": "cpg"])
                } catch {
                    reporter.emit("ended", ["source": "cpg", "error": errorName(error)])
                }
                return .stream
            }
            tasks.addTask {
                do {
                    for try await event in quorum.events {
                        switch event {
                        case .quorum(let view):
                            reporter.emit("quorum", ["quorate": view.quorate, "ring": view.ringID.description, "members": view.members.map(\.rawValue)])
                        case .nodeList(let change):
                            reporter.emit("quorum.nodelist", ["ring": change.ringID.description, "members": change.members.map(\.rawValue),
                                                              "joined": change.joined.map(\.rawValue), "left": change.left.map(\.rawValue)])
                        }
                    }
                    reporter.emit("ended", ["source": "quorum"])
                } catch {
                    reporter.emit("ended", ["source": "quorum", "error": errorName(error)])
                }
                return .stream
            }
            tasks.addTask {
                do {
                    for try await event in voteQuorum.events {
                        switch event {
                        case .quorum(let quorate, let nodes):
                            reporter.emit("votequorum", ["quorate": quorate, "nodes": nodes.map { ["node": $0.nodeID.rawValue, "state": $0.state.rawValue] }])
                        case .nodeList(let ringID, let nodes):
                            reporter.emit("votequorum.nodelist", ["ring": ringID.description, "nodes": nodes.map(\.rawValue)])
                            if let qdevice {
                                // Poll at once with the new ring: corosync holds sync for it.
                                do {
                                    try await voteQuorum.pollDevice(name: qdevice, castVote: castVote.withLock { $0 }, ringID: ringID)
                                } catch {
                                    reporter.emit("qdevice.poll", ["error": errorName(error), "ring": ringID.description])
                                }
                            }
                        case .expectedVotes(let votes):
                            reporter.emit("votequorum.expected", ["expected": votes])
                        }
                    }
                    reporter.emit("ended", ["source": "votequorum"])
                } catch {
                    reporter.emit("ended", ["source": "votequorum", "error": errorName(error)])
                }
                return .stream
            }
            if let qdevice {
                tasks.addTask {
                    while !Task.isCancelled {
                        if let ringID = voteQuorum.ringID {
                            do {
                                try await voteQuorum.pollDevice(name: qdevice, castVote: castVote.withLock { $0 }, ringID: ringID)
                            } catch {
                                reporter.emit("qdevice.poll", ["error": errorName(error), "ring": ringID.description])
                                if let error = error as? CorosyncError, error.isConnectionLost || error == .closed { return .poller }
                            }
                        }
                        try? await Task.sleep(for: .milliseconds(300))
                    }
                    return .poller
                }
            }
            // When one sequence ends (corosync gone), the others end too, each with its own
            // error: give them a bounded moment to report it, then close everything.
            var streamsEnded = 0
            var timerStarted = false
            while let ending = await tasks.next() {
                if ending == .stream { streamsEnded += 1 }
                if ending == .timer || streamsEnded == 3 { break }
                if !timerStarted {
                    timerStarted = true
                    tasks.addTask {
                        try? await Task.sleep(for: .seconds(3))
                        return .timer
                    }
                }
            }
            tasks.cancelAll()
            await close()
        }
    }

    func command(_ words: [String], reporter: Reporter, castVote: Shared<Bool>, qdevice: String?) async {
        switch words.first {
        case "send":
            do {
                try await group.send(Array((words.count > 1 ? words[1] : "").utf8))
                reporter.emit("sent")
            } catch {
                reporter.emit("send.error", ["error": errorName(error)])
            }
        case "send-size":
            // A message of N bytes: shows the size limit is checked before sending.
            let size = words.count > 1 ? Int(words[1]) ?? 0 : 0
            do {
                try await group.send([UInt8](repeating: 0x61, count: size))
                reporter.emit("sent", ["bytes": size])
            } catch {
                let tooLarge: Bool
                if case .messageTooLarge = error { tooLarge = true } else { tooLarge = false }
                reporter.emit("send.error", ["error": errorName(error), "messageTooLarge": tooLarge, "bytes": size])
            }
        case "expected":
            do {
                try await voteQuorum.setExpectedVotes(UInt32(words.count > 1 ? words[1] : "") ?? 0)
                reporter.emit("expected.set")
            } catch {
                reporter.emit("expected.error", ["error": errorName(error)])
            }
        case "master-wins":
            guard let qdevice else { reporter.emit("unknown", ["line": "master-wins without --qdevice"]); return }
            do {
                try await voteQuorum.setDeviceMasterWins(name: qdevice, allow: words.count > 1 && words[1] == "yes")
                reporter.emit("master-wins.set")
            } catch {
                reporter.emit("master-wins.error", ["error": errorName(error)])
            }
        case "unregister":
            guard let qdevice else { reporter.emit("unknown", ["line": "unregister without --qdevice"]); return }
            do {
                try await voteQuorum.unregisterDevice(name: qdevice)
                reporter.emit("unregistered")
            } catch {
                reporter.emit("unregister.error", ["error": errorName(error)])
            }
        case "cast":
            castVote.withLock { $0 = words.count > 1 && words[1] == "yes" }
            if let qdevice, let ringID = voteQuorum.ringID {
                try? await voteQuorum.pollDevice(name: qdevice, castVote: castVote.withLock { $0 }, ringID: ringID)
            }
            reporter.emit("cast", ["vote": castVote.withLock { $0 }])
        case "info":
            do {
                let info = try await voteQuorum.info(node: group.localNodeID)
                reporter.emit("info", ["node": info.nodeID.rawValue, "votes": info.nodeVotes, "expected": info.expectedVotes,
                                       "total": info.totalVotes, "quorum": info.quorum, "flags": info.flags.names,
                                       "qdeviceVotes": info.qdeviceVotes, "qdeviceName": info.qdeviceName])
            } catch {
                reporter.emit("info.error", ["error": errorName(error)])
            }
        default:
            reporter.emit("unknown", ["line": words.joined(separator: " ")])
        }
    }
}
