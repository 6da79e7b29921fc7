// baton-crmd: one per node. A thin shell around CRMCore.NodeCore: it joins the CPG group,
// follows votequorum and the nodelist through the Corosync bindings, feeds the core, carries
// out its directives (CPG sends, timers, logs) and answers the local admin socket.
import AgentTools
import ArgumentParser
import BatonVersion
import CIB
import CIBAttributes
import CIBFiles
import CRMCore
import DaemonLogging
import ChildProcess
import Corosync
import Executor
import ExecutorShell
import Foundation
import Logging
import ProcessStats
import Synchronization

@main
struct CrmdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton-crmd",
        abstract: "Baton's node daemon: membership, quorum, the DC, node attributes and resources over Corosync (one per node).",
        discussion: """
            Exits 1 when corosync goes away (systemd restarts it, as pacemakerd restarts its daemons), 0 on SIGTERM \
            after leaving the group. Admin socket: root only; `baton crm status` reads it.
            """,
        version: BatonVersion.version
    )

    @Option(help: "The CPG group of the cluster's baton-crmd processes.") var group = "baton-crmd"
    @Option(help: "The admin socket (unix, root only).") var socket = CrmdDefaults.socketPath
    @Option(help: "Seconds a cold start waits for nodes no member has ever seen (Pacemaker's dc-deadtime).")
    var dcDeadtime: Double = 20
    @Option(help: "An initial CIB (XML), taken when --cib-dir holds none yet (its cluster options too).")
    var cib: String?
    @Option(help: "Where this node keeps the CIB's configuration (cib.xml, its .sig, backups).")
    var cibDir = CrmdDefaults.cibDirectory
    @Option(help: "As DC: CIBs up to this many bytes get a digest in every patchset, larger ones in every 16th (a digest costs ~10 ms per MB on every node).")
    var digestEveryWriteBytes = 1 << 16
    @Option(help: "The resource agents' temporary directory (HA_RSCTMP).")
    var resourceTmp = "/run/resource-agents"
    @Option(help: "The OCF root (Pacemaker's OCF_ROOT): ocf agents are resource.d/PROVIDER/TYPE under it, and agents get it as OCF_ROOT.")
    var ocfRoot = "/usr/lib/ocf"
    @Option(help: "Where the agent tools (crm_attribute …) are linked for the agents.")
    var agentToolsDir = "/run/baton/agent-tools"
    @Option(help: "NAME=VALUE added to every agent's environment (repeatable; e.g. HA_VARRUN=DIR for the agents' state files).")
    var agentEnvironment: [String] = []
    @Option(help: "Where the fence agents (stonith resources' types) are.")
    var fenceAgentDir = "/usr/sbin"
    @Option(help: "Seconds a clean stop (SIGTERM) waits for the DC to move this node's resources away before it leaves anyway (Pacemaker's shutdown-escalation); a second SIGTERM leaves at once.")
    var shutdownEscalation: Double = 1200
    @Option(help: "Seconds the DC waits out a quorum loss before it acts on it (no-quorum-policy): a ring that re-forms may leave a node of the majority alone for a moment; 0 acts at once.")
    var quorumLossSettle: Double = 1
    @Option(help: "Serve Prometheus metrics (/metrics) and a read-only status page (/status) at HOST:PORT, as batond's --metrics (for example 127.0.0.1:9940); off by default.")
    var metrics: String?

    func validate() throws {
        guard dcDeadtime > 0, dcDeadtime <= 3600 else { throw ValidationError("--dc-deadtime must be in (0, 3600] seconds") }
        guard !group.isEmpty, group.utf8.count <= 127 else { throw ValidationError("--group must be 1 to 127 bytes") }
        guard socket.utf8.count < 108 else { throw ValidationError("--socket path must be under 108 bytes (sun_path)") }
        guard !cibDir.isEmpty else { throw ValidationError("--cib-dir must name a directory") }
        guard ocfRoot.hasPrefix("/") else { throw ValidationError("--ocf-root \(ocfRoot): must be an absolute path") }
        guard digestEveryWriteBytes >= 0 else { throw ValidationError("--digest-every-write-bytes must not be negative") }
        guard shutdownEscalation > 0, shutdownEscalation <= 86_400 else { throw ValidationError("--shutdown-escalation must be in (0, 86400] seconds") }
        guard quorumLossSettle >= 0, quorumLossSettle <= 60 else { throw ValidationError("--quorum-loss-settle must be in [0, 60] seconds") }
        if let metrics, MetricsListener.parse(metrics) == nil { throw ValidationError("--metrics \(metrics): expected HOST:PORT") }
        for pair in agentEnvironment where !pair.contains("=") || pair.hasPrefix("=") {
            throw ValidationError("--agent-environment \(pair): expected NAME=VALUE")
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        // Two arenas are plenty for one event loop and its feeders (see HeapMemory); freed
        // memory is given back by the loop's trim timer.
        HeapMemory.limitArenas(to: 2)
        // Every Pacemaker daemon sets this mask (crm_log_preinit: S_IWGRP | S_IWOTH | S_IROTH),
        // and the agents pacemaker-execd runs inherit it: their state, pid and configuration
        // files are 0640 (directories 0751). The agents here inherit ours, so a site moved from
        // Pacemaker keeps those modes (systemd's default 0022 made them world-readable).
        umask(0o026)
        let store = CIBStore(directory: cibDir)
        let replica: CIBReplica
        do {
            replica = try Self.loadCIB(store, seed: cib)
        } catch {
            log("cannot start: \(error)", .error)
            throw ExitCode(1)
        }
        let options = Self.clusterOptions(of: replica.document)
        var environment = ProcessInfo.processInfo.environment
        for name in ["HA_logfacility", "PCMK_logfacility"] where environment[name] == nil { environment[name] = "none" }
        // The agent tools (crm_attribute --promotion in Stateful, crm_master …) act through this
        // daemon, wherever its socket is; without this they looked only at the default path
        // and, with --socket elsewhere, silently wrote a node-local store nobody reads (a
        // promotable clone never promoted). --agent-environment may still name another.
        // (AgentToolsInstallation.crmdSocketVariable; baton-crmd does not link AgentToolsShell.)
        environment["BATON_CRMD_SOCKET"] = socket.hasPrefix("/") ? socket : FileManager.default.currentDirectoryPath + "/" + socket
        for pair in agentEnvironment {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            environment[String(parts[0])] = String(parts[1])
        }
        environment["HA_RSCTMP"] = resourceTmp
        let executorSettings = ExecutorSettings(ocfRoot: ocfRoot, resourceTemporaryDirectory: resourceTmp, baseEnvironment: environment,
                                                agentToolsDirectory: agentToolsDir)
        let daemon: Daemon
        do {
            daemon = try await Daemon.start(group: group, socketPath: socket, dcDeadtime: .milliseconds(Int(dcDeadtime * 1000)),
                                            clusterOptions: options, cib: replica, store: store, digestEveryWriteBytes: digestEveryWriteBytes,
                                            executorSettings: executorSettings, fenceAgentDirectory: fenceAgentDir,
                                            shutdownEscalation: .milliseconds(Int(shutdownEscalation * 1000)),
                                            quorumLossSettle: .milliseconds(Int(quorumLossSettle * 1000)),
                                            metricsAddress: metrics.flatMap(MetricsListener.parse))
        } catch {
            log("cannot start: \(error)", .error)
            throw ExitCode(1)
        }
        let code = await daemon.run()
        throw ExitCode(code)
    }

    /// The stored CIB (digest checked; a bad `cib.xml` is named and the newest good backup
    /// used), else the `--cib` seed (saved at once), else an empty CIB (version 0.0.0, which
    /// any other node's CIB outranks at the first join).
    static func loadCIB(_ store: CIBStore, seed: String?) throws -> CIBReplica {
        do {
            try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw ValidationError("--cib-dir \(store.directory): \(error.localizedDescription)")
        }
        do {
            let loaded = try store.loadNewestGood()
            for skipped in loaded.skipped { log("CIB: \(skipped); using \(loaded.file)") }
            let replica = try CIBReplica(document: loaded.document)
            log("CIB \(replica.version) loaded from \(loaded.file)")
            return replica
        } catch let error as CIBStoreError where error.kind == .missing {
            // Nothing stored yet.
        } catch let error as CIBStoreError {
            throw ValidationError("the stored CIB cannot be used and no backup verifies: \(error)")
        }
        guard let seed else {
            log("CIB: none in \(store.directory) and no --cib: starting from an empty CIB (0.0.0)")
            return .empty
        }
        let replica: CIBReplica
        do {
            replica = try CIBReplica(document: try CrmdCommand.readXML(seed))
        } catch {
            throw ValidationError("--cib \(seed): \(error)")
        }
        try store.save(replica.document)
        log("CIB \(replica.version) seeded from \(seed) into \(store.path)")
        return replica
    }

    static func readXML(_ path: String) throws -> XMLElement {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(path): \(error.localizedDescription)")
        }
        return try XMLCodec.parse(text)
    }

    /// The cluster options every node needs before a round (no-quorum-policy …).
    static func clusterOptions(of document: XMLElement) -> [String: String] {
        guard let cib = try? CIB(xml: document) else { return [:] }
        var options: [String: String] = [:]
        if let policy = cib.configuration.clusterProperty(AttributeName.noQuorumPolicy) { options[AttributeName.noQuorumPolicy] = policy }
        return options
    }
}

enum CrmdDefaults {
    static let socketPath = "/run/baton/crmd.sock"
    static let cibDirectory = "/var/lib/baton/crmd"
}

/// Under systemd (the journal reads stderr) a line starts with its syslog priority and has no
/// timestamp; elsewhere `TIME LEVEL baton-crmd: message` (batond's form, DaemonLogging).
let logToJournal = DaemonLogHandler.stderrIsJournal()

func log(_ message: String, _ level: Logger.Level = .info) {
    let line = DaemonLogHandler.line(level: level, message: message, metadata: [:], label: "baton-crmd",
                                     time: logToJournal ? nil : DaemonLogHandler.timestamp())
    FileHandle.standardError.write(Data(line.utf8))
}

func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

extension Loop {
    /// An admin's write as Pacemaker's CIB manager records it (crm_mon's "Last change"): this
    /// node's clock, the stock tool the request stands for, and the user (the admin socket
    /// takes root only).
    static func stamp(client: String) -> CIBWriteStamp {
        CIBWriteStamp(time: CtimeText.text(secondsSinceEpoch: Date().timeIntervalSince1970), client: client, user: "root")
    }
}

/// What the event loop takes in, from every source, one at a time.
enum Event: Sendable {
    case core(NodeCore.Input)
    /// A timer fired; ignored unless `generation` is the timer's current one (a cancelled
    /// timer that fired anyway must not act).
    case timer(NodeCore.TimerKind, generation: Int)
    case attribute(AttributeTarget, name: String, value: String?, reply: AdminReply)
    case cibQuery(scope: String?, reply: AdminReply)
    case cibWrite(CIBOperation, reply: AdminReply)
    /// This node's executor finished (or cancelled) an operation.
    case executorResult(OperationResult)
    /// The DC's transition run asked to be ticked (stale generations are dropped).
    case controllerTick(generation: Int)
    /// The DC's recheck timer (failure-timeout, cluster-recheck-interval; stale ones dropped).
    case recheck(generation: Int)
    case attributeTable(reply: AdminReply)
    case attributeApply([AttributeChangeLine], reply: AdminReply)
    /// `resource cleanup|refresh …` (AdminCleanup.swift).
    case resourceCleanup(AdminCleanup, reply: AdminReply)
    case resourceFail(AdminFail, reply: AdminReply)
    /// Admin fencing (FenceShell.swift): history, a fence, a confirm-down.
    case fenceHistory(reply: AdminReply)
    case fenceNode(target: String, action: String, reply: AdminReply)
    case confirmDown(target: String, reply: AdminReply)
    /// This node's fence run finished: its result, to broadcast.
    case fenceDone(FenceRecord)
    /// The clean stop's wait is over (shutdown-escalation): leave now.
    case shutdownEscalated
    /// /metrics or /status asks for a snapshot (Monitoring.swift).
    case monitoring(reply: MonitoringReply)
    /// An admin's ticket change (TicketShell.swift), and the DC's lease timer.
    case tickets([String: [String: String?]], reply: AdminReply)
    case leaseCheck(generation: Int)
    /// The DC's wait after a quorum loss is over (stale generations are dropped).
    case quorumSettled(generation: Int)
    /// A due graph's wait for the DC's unacknowledged CIB writes is over (OwnWritesSettle).
    case writesSettled(generation: Int)
    /// Ring changes as votequorum and CPG report them, for the quorum gate (QuorumGate).
    case quorumNodeList(RingID)
    case groupRing(RingID)
    case groupMembership(nodeLevel: Bool)
    case ended(source: String, error: String?)
    case terminate
}

/// A one-shot answer from the event loop to the admin thread that waits for it.
final class AdminReply: Sendable {
    private let answer = Mutex<String?>(nil)
    private let ready = DispatchSemaphore(value: 0)
    func send(_ text: String) {
        answer.withLock { $0 = text }
        ready.signal()
    }
    func wait(timeLimit: Duration) -> String {
        let seconds = Double(timeLimit.components.seconds) + Double(timeLimit.components.attoseconds) / 1e18
        guard ready.wait(timeout: .now() + seconds) == .success else { return "error: no answer from the event loop within \(timeLimit)\n" }
        return answer.withLock { $0 } ?? "error: empty answer\n"
    }
}

final class Daemon: Sendable {
    let group: ProcessGroup
    let voteQuorum: VoteQuorum
    let events: AsyncStream<Event>
    let input: AsyncStream<Event>.Continuation
    let status: Mutex<NodeStatus>
    let timing: Mutex<NodeStatus.Timing>
    let admin: AdminSocket
    let store: CIBStore
    let writer: CIBWriter
    /// This node's executor (every node runs the actions the DC sends it).
    let executor: Mutex<ExecutorShell?> = Mutex(nil)
    /// Runs this node's fence actions (the agents from --fence-agent-dir).
    let fenceRunner: FenceRunner
    let shutdownEscalation: Duration
    /// How long the DC waits out a quorum loss (QuorumLossSettle).
    let quorumLossSettle: Duration
    /// Fence runs for the task group that runs them (FenceShell.swift), off the event loop.
    let fenceJobs: AsyncStream<FenceJob>
    let fenceJobInput: AsyncStream<FenceJob>.Continuation
    let origin = ContinuousClock.now
    /// /metrics and /status (--metrics), and the recent events they show.
    let metricsListener: MetricsListener?
    let monitor = MonitorState()
    private let initialCore: NodeCore
    /// Events waiting for the loop at most (CPG's own buffer holds 100,000 more); past it the
    /// daemon exits for a restart rather than lose an event of the group's order.
    static let eventsQueuedMax = 100_000
    private let overflowed = Mutex(false)

    /// Queues an event for the loop; a full queue marks the daemon overflowed (the loop exits).
    func feed(_ event: Event) {
        if case .dropped = input.yield(event) { overflowed.withLock { $0 = true } }
    }

    var hasOverflowed: Bool { overflowed.withLock { $0 } }

    /// The loop's clock (the transition run's deadlines).
    var now: Duration { ContinuousClock.now - origin }

    private init(group: ProcessGroup, voteQuorum: VoteQuorum, core: NodeCore, socketPath: String, store: CIBStore,
                 fenceRunner: FenceRunner, shutdownEscalation: Duration, quorumLossSettle: Duration,
                 metricsAddress: (host: String, port: Int)?) throws {
        self.fenceRunner = fenceRunner
        self.shutdownEscalation = shutdownEscalation
        self.quorumLossSettle = quorumLossSettle
        (fenceJobs, fenceJobInput) = AsyncStream.makeStream(of: FenceJob.self, bufferingPolicy: .unbounded)
        self.group = group
        self.store = store
        writer = CIBWriter(store: store)
        self.voteQuorum = voteQuorum
        self.initialCore = core
        (events, input) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(Daemon.eventsQueuedMax))
        status = Mutex(core.status())
        let started = nowMilliseconds()
        timing = Mutex(NodeStatus.Timing(startedMilliseconds: started, statusMilliseconds: started, lastMembershipMilliseconds: nil,
                                         quorateSinceMilliseconds: nil, dcSinceMilliseconds: nil))
        admin = try AdminSocket(path: socketPath)
        metricsListener = try metricsAddress.map { try MetricsListener(host: $0.host, port: $0.port) }
    }

    static func start(group name: String, socketPath: String, dcDeadtime: Duration, clusterOptions: [String: String],
                      cib: CIBReplica, store: CIBStore, digestEveryWriteBytes: Int,
                      executorSettings: ExecutorSettings, fenceAgentDirectory: String, shutdownEscalation: Duration,
                      quorumLossSettle: Duration, metricsAddress: (host: String, port: Int)? = nil) async throws -> Daemon {
        let map = try await ClusterMap.connect()
        let configured: [ClusterNode]
        let clusterName: String?
        do {
            configured = try await map.nodes()
            clusterName = try await map.clusterName()
        } catch {
            await map.close()
            throw error
        }
        await map.close()
        let nodelist = configured.map { ConfiguredNode(nodeID: $0.nodeID, name: $0.name ?? "node\($0.nodeID)") }
        let voteQuorum = try await VoteQuorum.connect()
        let group: ProcessGroup
        do {
            group = try await ProcessGroup.join(name, options: .init(messageBytesMax: MessageWire.messageBytesMax))
        } catch {
            await voteQuorum.close()
            throw error
        }
        let local = Member(nodeID: group.localNodeID, pid: UInt32(getpid()))
        var settings = NodeCore.Settings(local: local, nodelist: nodelist, dcDeadtime: dcDeadtime, initialClusterOptions: clusterOptions,
                                         digestEveryWriteBytesMax: digestEveryWriteBytes, clusterName: clusterName,
                                         writesControllerEntries: true)
        settings.runsResources = true
        let core = NodeCore(settings: settings, cib: cib)
        log("node \(local.nodeID) pid \(local.pid) joined group \(name); nodelist \(nodelist.map { "\($0.name)=\($0.nodeID)" }.joined(separator: " "))")
        do {
            let fenceRunner = try FenceRunner(agentDirectory: fenceAgentDirectory, environment: executorSettings.baseEnvironment)
            let daemon = try Daemon(group: group, voteQuorum: voteQuorum, core: core, socketPath: socketPath, store: store,
                                    fenceRunner: fenceRunner, shutdownEscalation: shutdownEscalation, quorumLossSettle: quorumLossSettle,
                                    metricsAddress: metricsAddress)
            let executor = try ExecutorShell(settings: executorSettings) { [weak daemon] result in daemon?.feed(.executorResult(result)) }
            daemon.executor.withLock { $0 = executor }
            return daemon
        } catch {
            await group.close()
            await voteQuorum.close()
            throw error
        }
    }

    static let heapTrimInterval = Duration.seconds(10)

    /// The event loop and its feeders, all in one task group; returns the exit code.
    func run() async -> Int32 {
        // Caught at once, never ignored (see SignalWatch): a SIGTERM at any instant stops it.
        let signals: SignalWatch
        do {
            signals = try SignalWatch(signals: [SIGTERM, SIGINT]) { _ in self.feed(.terminate) }
        } catch {
            log("cannot watch SIGTERM/SIGINT: \(error)", .error)
            return 1
        }
        admin.serve(self)
        if let metricsListener {
            metricsListener.serve { [self] line in monitoringAnswer(line) }
            log("metrics at http://\(metricsListener.address)/metrics, status page at http://\(metricsListener.address)/status")
        }
        let (timerRequests, timers) = AsyncStream.makeStream(of: TimerRequest.self, bufferingPolicy: .unbounded)
        let code = await withTaskGroup(of: Int32?.self) { tasks in
            tasks.addTask { await self.feedGroupEvents(); return nil }
            tasks.addTask { await self.feedQuorumEvents(); return nil }
            tasks.addTask {
                // A stale timer (cancelled, or started again) still fires; the loop drops it
                // by its generation.
                await withTaskGroup(of: Void.self) { running in
                    for await request in timerRequests {
                        running.addTask {
                            try? await Task.sleep(for: request.duration)
                            if !Task.isCancelled { self.feed(request.event) }
                        }
                    }
                    running.cancelAll()
                }
                return nil
            }
            tasks.addTask {
                // Each fence run in its own child task; its record comes back to the loop.
                await withTaskGroup(of: Void.self) { running in
                    for await job in self.fenceJobs {
                        running.addTask { self.feed(.fenceDone(await job.run(self.fenceRunner))) }
                    }
                    running.cancelAll()
                }
                return nil
            }
            tasks.addTask {
                // Freed memory back to the kernel every 10 s (HeapMemory.trim; its cost is in
                // crm-bench's idle CPU figure).
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.heapTrimInterval)
                    if !Task.isCancelled { HeapMemory.trim() }
                }
                return nil
            }
            tasks.addTask {
                var loop = Loop(core: self.initialCore, daemon: self, timers: timers)
                return await loop.run()
            }
            var code: Int32 = 1
            for await result in tasks {
                if let result {
                    code = result
                    break
                }
            }
            timers.finish()
            fenceJobInput.finish()
            admin.close()
            metricsListener?.close()
            await group.close()
            await voteQuorum.close()
            tasks.cancelAll()
            return code
        }
        withExtendedLifetime(signals) {}
        writer.finish()
        log("exiting with status \(code)")
        return code
    }

    private func feedGroupEvents() async {
        do {
            for try await event in group.events {
                switch event {
                case .membership(let change):
                    let nodeLevel = (change.joined + change.left).contains { $0.reason == .nodeDown || $0.reason == .nodeUp }
                    self.feed(.groupMembership(nodeLevel: nodeLevel))
                    let convert = { (member: GroupMember) in Member(nodeID: member.nodeID, pid: member.pid) }
                    self.feed(.core(.membership(members: change.members.map(convert), joined: change.joined.map { convert($0.member) },
                                                  left: change.left.map { convert($0.member) })))
                case .message(let message):
                    let sender = Member(nodeID: message.sender.nodeID, pid: message.sender.pid)
                    self.feed(.core(.message(sender: sender, bytes: message.bytes)))
                case .totem(let totem):
                    self.feed(.groupRing(totem.ringID))
                }
            }
            self.feed(.ended(source: "cpg", error: nil))
        } catch {
            self.feed(.ended(source: "cpg", error: "\(error)"))
        }
    }

    private func feedQuorumEvents() async {
        do {
            for try await event in voteQuorum.events {
                switch event {
                case .quorum(let quorate, _): self.feed(.core(.quorum(quorate: quorate)))
                case .nodeList(let ring, _): self.feed(.quorumNodeList(ring))
                case .expectedVotes: break
                }
            }
            self.feed(.ended(source: "votequorum", error: nil))
        } catch {
            self.feed(.ended(source: "votequorum", error: "\(error)"))
        }
    }

    /// The status JSON the admin socket answers with.
    func statusJSON() -> String {
        var snapshot = status.withLock { $0 }
        var times = timing.withLock { $0 }
        times.statusMilliseconds = nowMilliseconds()
        times.lastCIBPersistMilliseconds = writer.lastSavedMilliseconds
        snapshot.timing = times
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(snapshot) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// A wait in the timers' task group, then `event` for the loop (a core timer or the DC's
/// transition tick, each with its generation: a stale one is dropped by the loop).
struct TimerRequest: Sendable {
    let duration: Duration
    let event: Event
}

/// The event loop's own state: the core and its timers. Only `run` touches it.
struct Loop {
    var core: NodeCore
    let daemon: Daemon
    let timers: AsyncStream<TimerRequest>.Continuation
    /// The generation of each running timer; a fire of another generation is stale.
    var runningTimers: [NodeCore.TimerKind: Int] = [:]
    var nextGeneration = 1
    /// Admins waiting for their CIB write's acknowledgement, by request id.
    var cibReplies: [UInt64: AdminReply] = [:]
    /// The DC's loop (only while this node is the DC).
    var controller: DCController?
    /// The last transition number this process used as DC (numbers never repeat in a process).
    var transitionsRun = 0
    var controllerTickGeneration = 0
    /// The DC's recheck timer: its generation and the instant it is set for.
    var recheckGeneration = 0
    var recheckArmedAt: Duration?
    var controllerTickAt: Duration?
    /// The last "waits for history" line logged (logged once per change).
    var lastWaitLog: String?
    /// Fencing (FenceShell.swift): admins waiting for a fence's result by its key; the
    /// stonith resources registered here (started); the next admin request's number.
    var fenceReplies: [String: AdminReply] = [:]
    var registeredDevices: Set<String> = []
    var nextAdminFence = 1
    /// A clean stop: the `shutdown` attribute asked for; leave at the DC's do_shutdown.
    var shuttingDown = false
    var leaveNow = false
    /// Admins waiting for their ticket change, and the DC's lease timer (TicketShell.swift).
    var ticketReplies: [UInt64: AdminReply] = [:]
    var leaseTimerAt: Int64?
    var leaseTimerGeneration = 0
    /// The DC's own stops and demotes, run before their broadcast came back (by key, with the
    /// order they ran in: each broadcast comes back or is dropped, so this stays small; should a
    /// ring lose some without a word, the oldest go first, never the ones still on their way).
    var executedAhead: [String: UInt64] = [:]
    var executedAheadCount: UInt64 = 0
    /// Whether the quorum state is the current ring's: the DC schedules only then.
    var quorumGate = QuorumGate()
    var lastGateLog: String?
    /// A quorum loss the DC waits out before it schedules on it, and the wait's timer.
    var quorumLoss: QuorumLossSettle
    var quorumSettleGeneration = 0
    var quorumSettleArmedAt: Duration?
    /// A due graph waits (bounded) for the writes this DC ordered to be acknowledged.
    var ownWrites = OwnWritesSettle()
    var writesSettleGeneration = 0
    var writesSettleArmedAt: Duration?

    init(core: NodeCore, daemon: Daemon, timers: AsyncStream<TimerRequest>.Continuation) {
        self.core = core
        self.daemon = daemon
        self.timers = timers
        quorumLoss = QuorumLossSettle(settle: daemon.quorumLossSettle)
    }

    mutating func run() async -> Int32 {
        for await event in daemon.events {
            switch event {
            case .core(let input):
                if case .membership(let members, _, _) = input {
                    let now = nowMilliseconds()
                    daemon.timing.withLock { $0.lastMembershipMilliseconds = now }
                    log("group view: \(members.map(\.description).joined(separator: " "))")
                    if case .membership(_, let joined, let left) = input {
                        for member in joined { daemon.monitor.record("node \(core.nodeName(member.nodeID)) joined (baton-crmd pid \(member.pid))") }
                        for member in left { daemon.monitor.record("node \(core.nodeName(member.nodeID)) left (baton-crmd pid \(member.pid))") }
                    }
                }
                // (The gate opens in the same step the core takes the new quorum state.)
                if case .quorum = input { quorumGate.quorumState() }
                let before = Set(core.view?.nodeIDs ?? [])
                let wasSettled = core.settled
                let appliedBefore = core.cibSequence
                await perform(core.handle(input))
                if core.cibSequence > appliedBefore {
                    let now = nowMilliseconds()
                    daemon.timing.withLock { $0.lastCIBApplyMilliseconds = now }
                }
                if wasSettled, !core.settled, core.keepsTransitionRun, var controller {
                    // A join round: nothing more starts (requests would be dropped in it).
                    let directives = controller.invalidate("a join round (a node joined)", now: daemon.now)
                    self.controller = controller
                    await performController(directives)
                }
                let gone = before.subtracting(core.view?.nodeIDs ?? [])
                if !gone.isEmpty, var controller {
                    let directives = controller.nodesLeft(Set(gone.map(core.nodeName)), now: daemon.now)
                    self.controller = controller
                    await performController(directives)
                }
            case .timer(let kind, let generation):
                guard runningTimers[kind] == generation else { continue }
                runningTimers[kind] = nil
                await perform(core.handle(.timer(kind)))
            case .attribute(let target, let name, let value, let reply):
                do {
                    let directives = try core.requestAttribute(target, name: name, value: value)
                    reply.send("accepted\n")
                    await perform(directives)
                } catch {
                    reply.send("error: \(error)\n")
                }
            case .cibQuery(let scope, let reply):
                do {
                    reply.send(PacemakerXMLText.text(try core.cibQuery(scope: scope), formatted: true))
                } catch {
                    reply.send("error: \(error)\n")
                }
            case .cibWrite(let operation, let reply):
                let now = nowMilliseconds()
                daemon.timing.withLock { $0.lastCIBRequestMilliseconds = now }
                do {
                    let (requestID, directives) = try core.requestCIB(operation, stamp: Self.stamp(client: "cibadmin"))
                    cibReplies[requestID] = reply
                    await perform(directives)
                } catch {
                    reply.send("error: \(error)\n")
                }
            case .executorResult(let result):
                let message = ExecuteResult(result, node: core.local.nodeID, wallClockSeconds: UInt64(max(0, Date().timeIntervalSince1970)))
                await perform(core.sendResult(message))
            case .recheck(let generation):
                guard generation == recheckGeneration, var controller else { break }
                recheckArmedAt = nil
                let directives = controller.recheck(now: daemon.now)
                self.controller = controller
                await performController(directives)
            case .controllerTick(let generation):
                guard generation == controllerTickGeneration, var controller else { break }
                controllerTickAt = nil
                let directives = controller.tick(now: daemon.now)
                self.controller = controller
                await performController(directives)
            case .attributeTable(let reply):
                do {
                    var table = CIBAttributes.table(of: try CIB(xml: try core.cibQuery()))
                    table.localNode = core.status().localName
                    reply.send(table.text)
                } catch {
                    reply.send("error: \(error)\n")
                }
            case .attributeApply(let changes, let reply):
                await apply(changes, reply: reply)
            case .resourceCleanup(let request, let reply):
                await adminCleanup(request, reply: reply)
            case .resourceFail(let request, let reply):
                await adminFail(request, reply: reply)
            case .ended(let source, let error):
                log("\(source) ended\(error.map { ": \($0)" } ?? "") — corosync gone; exiting for a restart", .error)
                return 1
            case .terminate:
                if await cleanStop() { return 0 }
            case .fenceHistory(let reply):
                reply.send(core.fenceHistory.map(\.line).joined(separator: "\n") + (core.fenceHistory.isEmpty ? "" : "\n"))
            case .fenceNode(let target, let action, let reply):
                await adminFence(target: target, action: action, reply: reply)
            case .confirmDown(let target, let reply):
                do {
                    let key = "confirm:\(core.local.nodeID.rawValue):\(nextAdminFence)"
                    nextAdminFence += 1
                    let directives = try core.confirmDown(target, key: key, wallClockSeconds: UInt64(max(0, Date().timeIntervalSince1970)))
                    fenceReplies[key] = reply
                    await perform(directives)
                } catch {
                    reply.send("error: \(error)\n")
                }
            case .fenceDone(let record):
                await perform([.broadcast(.fenceResult(record))])
            case .monitoring(let reply):
                reply.send(monitoringSnapshot())
            case .shutdownEscalated:
                log("shutdown-escalation passed before the DC let this node go: leaving the group", .warning)
                return 0
            case .tickets(let changes, let reply):
                await requestTickets(changes, reply: reply)
            case .leaseCheck(let generation):
                await leaseCheck(generation: generation)
            case .quorumSettled(let generation):
                // driveController below schedules on the quorum as it is now.
                guard generation == quorumSettleGeneration else { break }
                quorumSettleArmedAt = nil
            case .writesSettled(let generation):
                // driveController below schedules, acknowledged or not.
                guard generation == writesSettleGeneration else { break }
                writesSettleArmedAt = nil
            case .quorumNodeList(let ring):
                quorumGate.quorumNodeList(ring: ring)
            case .groupRing(let ring):
                quorumGate.groupRing(ring)
            case .groupMembership(let nodeLevel):
                quorumGate.groupMembership(nodeLevel: nodeLevel)
            }
            if leaveNow {
                log("the DC's do_shutdown: this node's resources are away; leaving the group", .notice)
                return 0
            }
            await driveController()
            if daemon.hasOverflowed {
                log("more than \(Daemon.eventsQueuedMax) events waited for the loop: exiting for a restart", .critical)
                return 1
            }
            armLeaseTimer()
            publish()
        }
        return 1
    }

    /// The agent tools' changes: transient attributes to the DC (one request each), the
    /// permanent ones and cluster options one CIB patch, written as crm_attribute writes them
    /// (CIBAttributes). The reply: "accepted", or the CIB write's acknowledgement.
    mutating func apply(_ changes: [AttributeChangeLine], reply: AdminReply) async {
        var directives: [NodeCore.Directive] = []
        var configuration: [AttributeChangeLine] = []
        do {
            for change in changes {
                guard change.key.scope == .status else {
                    configuration.append(change)
                    continue
                }
                guard let node = core.settings.nodelist.first(where: { $0.name == change.key.node }) else {
                    throw CIBRequestError("status: no node named \(change.key.node) in the nodelist")
                }
                directives += try core.requestAttribute(.node(node.nodeID), name: change.key.name, value: change.value)
            }
            if configuration.isEmpty {
                reply.send("accepted\n")
            } else {
                var edited = try CIB(xml: core.cib.document)
                let before = CIBAttributes.table(of: edited)
                var after = before
                for change in configuration { try after.set(change.key, change.value) }
                try CIBAttributes.apply(from: before, to: after, in: &edited)
                guard let patch = try Patchset.make(from: core.cib.document, to: edited.xml, asCIB: true, withDigest: false) else {
                    reply.send("accepted\n")
                    return await perform(directives)
                }
                let (requestID, written) = try core.requestCIB(.patch(patch.text()), stamp: Self.stamp(client: "crm_attribute"))
                cibReplies[requestID] = reply
                directives += written
            }
        } catch {
            reply.send("error: \(error)\n")
        }
        await perform(directives)
    }

    mutating func perform(_ directives: [NodeCore.Directive]) async {
        // What the controller sends while the core's directives are carried out is stamped
        // with the view the core is in now (a view change's own directives included).
        if controller != nil, let fingerprint = core.view?.fingerprint { controller?.view = fingerprint }
        for directive in directives {
            switch directive {
            case .broadcast(let message):
                if case .resourceHistory(let report) = message { log("resource history report sent (\(report.part.count) bytes)") }
                guard let bytes = MessageWire.encodedIfFits(message) else {
                    log("not sent: a \(message) over \(MessageWire.messageBytesMax) bytes", .error)
                    continue
                }
                do {
                    try await daemon.group.send(bytes)
                } catch {
                    // The group's event stream ends with the same error and the loop exits.
                    log("send failed: \(error)", .error)
                }
            case .startTimer(let kind, let duration):
                runningTimers[kind] = nextGeneration
                timers.yield(TimerRequest(duration: duration, event: .timer(kind, generation: nextGeneration)))
                nextGeneration += 1
                log("waiting up to \(duration) for nodes never seen (dc-deadtime)")
            case .cancelTimer(let kind):
                runningTimers[kind] = nil
            case .dcChanged(let from, let to):
                let now = nowMilliseconds()
                daemon.timing.withLock { $0.dcSinceMilliseconds = to == nil ? nil : now }
                log("DC: \(from.map(\.description) ?? "none") -> \(to.map(\.description) ?? "none")", .notice)
                daemon.monitor.record("DC: \(from.map { core.nodeName($0.nodeID) } ?? "none") -> \(to.map { core.nodeName($0.nodeID) } ?? "none")")
            case .quorumChanged(let quorate):
                let now = nowMilliseconds()
                daemon.timing.withLock { $0.quorateSinceMilliseconds = quorate ? now : nil }
                log(quorate ? "partition with quorum" : "partition WITHOUT quorum (no-quorum-policy=\(core.noQuorumPolicy))", quorate ? .notice : .warning)
                let waiting = quorumLoss.holdsUntil(now: daemon.now, noQuorumPolicy: core.noQuorumPolicy) != nil
                let lostAt = quorumLoss.lostAt
                quorumLoss.quorumChanged(quorate, now: daemon.now)
                if quorate, waiting, let lostAt {
                    log("quorum back \(daemon.now - lostAt) after its loss, within the \(quorumLoss.settle) the DC waits: the loss was not acted on", .notice)
                } else if !quorate, let until = quorumLoss.holdsUntil(now: daemon.now, noQuorumPolicy: core.noQuorumPolicy) {
                    log("a DC acts on the loss (no-quorum-policy=\(core.noQuorumPolicy)) in \(until - daemon.now) unless quorum comes back first (--quorum-loss-settle)")
                }
                daemon.monitor.record(quorate ? "partition with quorum" : "partition WITHOUT quorum")
            case .cibApplied(let write):
                if write.origin == core.local, let reply = cibReplies.removeValue(forKey: write.requestID) {
                    reply.send("ok \(core.cib.version)\n")
                }
            case .cibRefused(let requestID, let reason):
                log("CIB write \(requestID) refused by the DC: \(reason)", .warning)
                cibReplies.removeValue(forKey: requestID)?.send("error: \(reason)\n")
            case .cibCommitted(let version):
                let now = nowMilliseconds()
                daemon.timing.withLock { $0.lastCIBCommitMilliseconds = now }
                // What a majority holds (a write applied here but not yet acknowledged may be
                // rolled back at a split): never a CIB that could lose against the majority's.
                daemon.writer.post(core.confirmedCIB.document, version: version)
            case .garbage(let sender, let reason):
                log("dropped a message from \(sender): \(reason)", .warning)
            case .execute(let request):
                if executedAhead.removeValue(forKey: request.transitionKey) != nil { continue }
                await execute(request)
            case .resourceResult(let result):
                guard var controller else { continue }
                let more = controller.result(result, now: daemon.now)
                self.controller = controller
                await performController(more)
            case .resourcesChanged:
                guard var controller else { continue }
                let more = controller.invalidate("membership or resource history changed", now: daemon.now)
                self.controller = controller
                await performController(more)
            case .requestDropped(let key, let reason):
                log("request \(key) dropped by every member: \(reason)", .warning)
                fenceReplies.removeValue(forKey: key)?.send("error: the fence request was not delivered (\(reason)): ask again\n")
                // A stop this DC ran ahead of its broadcast runs all the same: its result comes.
                if executedAhead.removeValue(forKey: key) != nil { continue }
                guard var controller else { continue }
                let more = controller.notDelivered(key: key, reason: reason, now: daemon.now)
                self.controller = controller
                await performController(more)
            case .fence(let request):
                runFence(request)
            case .fenceRecorded(let record):
                await fenceRecorded(record)
            case .ticketsApplied(let change):
                await ticketsApplied(change)
            }
            if case .cibCommitted = directive, var controller {
                let more = controller.invalidate("CIB changed", now: daemon.now)
                self.controller = controller
                await performController(more)
            }
            // As Pacemaker's controller aborts on a quorum change: the scheduler applies
            // no-quorum-policy (a node left alone when the others' corosync stopped, no CPG view
            // change, must stop its resources).
            if case .quorumChanged(let quorate) = directive, var controller {
                let more = controller.invalidate(quorate ? "quorum gained" : "quorum lost", now: daemon.now)
                self.controller = controller
                await performController(more)
            }
        }
    }

    /// The DC's loop: a controller while this node is DC; a new graph when one is due and every
    /// member's resource history is in; its tick timer at the run's next deadline.
    mutating func driveController() async {
        guard core.isDC else {
            if core.keepsTransitionRun, controller != nil {
                // A join round under way: the run's actions in flight are waited for (their
                // results are recorded as always); no new graph until the round ends.
                return
            }
            if controller != nil { log("no longer DC: the transition run is dropped") }
            controller = nil
            return
        }
        // Transition numbers go on from this process's last stint as DC: a late result of an
        // earlier stint's transition N (same identity) must never match the new run's N.
        var controller = self.controller ?? DCController(settings: .init(node: core.local.nodeID, process: Int(core.local.pid)),
                                                         transitionsBefore: transitionsRun)
        controller.view = core.view?.fingerprint ?? 0
        controller.fenceExecutors = [core.local.nodeID] + (core.view?.members ?? []).filter {
            core.joinedMembers.contains($0) && $0 != core.local
        }.map(\.nodeID)
        var directives: [DCController.Directive] = []
        let waiting = controller.due && !core.historyComplete
            ? "a new graph waits for the resource history of \(core.joinedMembers.map(\.nodeID).filter { !core.historyReported.contains($0) }.sorted())"
            : nil
        if let waiting, waiting != lastWaitLog { log(waiting) }
        lastWaitLog = waiting
        let gateWait = controller.due ? quorumGate.waitReason.map { "a new graph waits for \($0)" } : nil
        if let gateWait, gateWait != lastGateLog { log(gateWait) }
        lastGateLog = gateWait
        // A quorum loss is waited out (QuorumLossSettle), but never past a ticket's lease deadline.
        let settling = controller.leaseWaiting ? nil : quorumLoss.holdsUntil(now: daemon.now, noQuorumPolicy: core.noQuorumPolicy)
        if controller.due, let settling, quorumSettleArmedAt != settling {
            quorumSettleArmedAt = settling
            quorumSettleGeneration += 1
            log("a new graph waits \(settling - daemon.now) for the ring to settle after the quorum loss")
            timers.yield(TimerRequest(duration: max(.zero, settling - daemon.now), event: .quorumSettled(generation: quorumSettleGeneration)))
        }
        let writesHold = ownWrites.holdsUntil(now: daemon.now, pending: core.ownWritesUnacknowledged)
        if controller.due, core.historyComplete, let writesHold, writesSettleArmedAt != writesHold {
            writesSettleArmedAt = writesHold
            writesSettleGeneration += 1
            log("a new graph waits up to \(Int(((writesHold - daemon.now) / .milliseconds(1)).rounded())) ms for this DC's CIB writes to be acknowledged")
            timers.yield(TimerRequest(duration: max(.zero, writesHold - daemon.now), event: .writesSettled(generation: writesSettleGeneration)))
        }
        if controller.due && core.historyComplete && quorumGate.isCurrent && settling == nil && writesHold == nil {
            do {
                let cib = try CIB(xml: core.cibQuery())
                var nodes: [String: NodeID] = [:]
                for node in core.settings.nodelist { nodes[node.name] = node.nodeID }
                let wall = Self.wallClockMilliseconds()
                directives = controller.schedule(cib, nodes: nodes, now: daemon.now, wallClockSeconds: Int(wall / 1000), wallClockMilliseconds: wall)
            } catch {
                log("the scheduler cannot read the CIB: \(error)", .error)
            }
        }
        self.controller = controller
        transitionsRun = controller.transitionID
        await performController(directives)
        if let deadline = self.controller?.nextDeadline, controllerTickAt != deadline {
            controllerTickAt = deadline
            controllerTickGeneration += 1
            let generation = controllerTickGeneration
            timers.yield(TimerRequest(duration: max(.zero, deadline - daemon.now), event: .controllerTick(generation: generation)))
        }
        if let at = self.controller?.recheckAt, recheckArmedAt != at {
            recheckArmedAt = at
            recheckGeneration += 1
            let seconds = (at - daemon.now).components.seconds
            log("recheck in \(seconds) s (\(seconds < 60 * 15 ? "a failure-timeout expiry or " : "")cluster-recheck-interval)")
            timers.yield(TimerRequest(duration: max(.zero, at - daemon.now), event: .recheck(generation: recheckGeneration)))
        }
    }

    mutating func performController(_ directives: [DCController.Directive]) async {
        for directive in directives {
            switch directive {
            case .send(let request):
                // As Pacemaker's controller logs "Initiating stop operation R_stop_0 on N".
                log("initiating \(request.action.operation) of \(request.action.resource)\(request.action.intervalMilliseconds > 0 ? " every \(request.action.intervalMilliseconds) ms" : "") on node \(request.node) (\(request.transitionKey))")
                // A stop or demote on the DC's own node runs at once, not when its broadcast
                // comes back: a slow ring (retransmits, a membership change) must not hold a
                // stop the lease deadline asked for. Its delivery is then skipped.
                if request.node == core.local.nodeID, ["stop", "demote"].contains(request.action.operation) {
                    if executedAhead.count >= 1024, let oldest = executedAhead.min(by: { $0.value < $1.value }) {
                        executedAhead.removeValue(forKey: oldest.key)
                    }
                    executedAheadCount += 1
                    executedAhead[request.transitionKey] = executedAheadCount
                    await execute(request)
                }
                await perform([.broadcast(.executeRequest(request))])
            case .log(let line):
                log(line)
                daemon.monitor.noteControllerLine(line)
            case .fence(let request):
                await perform([.broadcast(.fenceRequest(request))])
            case .clearFailures(let node, let resource):
                await clearFailures(node: node, resource: resource)
            }
        }
    }

    /// An action the DC sent this node: to the executor; a request the executor refuses comes
    /// back as a failed result (the DC's graph must hear of it); a cancel is confirmed at once.
    mutating func execute(_ request: ExecuteRequest) async {
        if request.resourceClass == "crmd" && request.operation == "do_shutdown" {
            if shuttingDown { leaveNow = true } else { log("a do_shutdown from the DC while not stopping: ignored") }
            return
        }
        if request.resourceClass == "stonith" { return await registerDevice(request) }
        guard let executor = daemon.executor.withLock({ $0 }) else { return }
        let wall = UInt64(max(0, Date().timeIntervalSince1970))
        var failure: String?
        if request.operation == "cancel" {
            let action = request.meta["operation"] ?? "monitor"
            executor.cancel(resource: request.resource, action: action, interval: .milliseconds(Int64(request.intervalMilliseconds)))
        } else if let standard = AgentStandard(rawValue: request.resourceClass) {
            var meta = request.meta
            for name in ["timeout", "interval", "name", "start_delay"] { meta[name] = nil }
            let operation = OperationRequest(
                resource: AgentResource(id: request.resource, standard: standard, provider: request.provider.isEmpty ? nil : request.provider,
                                        type: request.type, parameters: request.parameters),
                action: request.operation, interval: .milliseconds(Int64(request.intervalMilliseconds)),
                timeout: .milliseconds(Int64(max(1, request.timeoutMilliseconds))),
                startDelay: .milliseconds(Int64(request.meta["start_delay"] ?? "") ?? 0), meta: meta,
                featureSet: executor.settings.featureSet, transitionKey: request.transitionKey)
            do {
                try executor.request(operation)
                // record-pending: every member records it as in flight until its result comes
                // (before it: the executor's result is handled after this event).
                if let pending = NodeCore.pendingResult(of: request, node: core.local.nodeID, wallClockSeconds: wall) {
                    await perform(core.sendResult(pending))
                }
            } catch {
                failure = error.description
            }
        } else {
            failure = "class '\(request.resourceClass)' is not one the executor runs"
        }
        guard request.operation == "cancel" || failure != nil else { return }
        let target = Int(request.meta["op_target_rc"] ?? "") ?? 0
        let result = ExecuteResult(
            node: core.local.nodeID, transitionKey: request.transitionKey, action: request.action, targetRC: target,
            rc: failure == nil ? target : OCFReturnCode.unknownError.rawValue,
            opStatus: failure == nil ? ExecutionStatus.done.rawValue : ExecutionStatus.error.rawValue,
            exitReason: String((failure ?? "").prefix(200)), callID: 0, execMilliseconds: 0, queueMilliseconds: 0, wallClockSeconds: wall)
        if let failure { log("action \(request.resource)_\(request.operation) refused by the executor: \(failure)") }
        await perform(core.sendResult(result))
    }

    func publish() {
        var snapshot = core.status()
        if core.isDC { snapshot.transitionIdle = controller.map { !$0.running && !$0.due } ?? false }
        daemon.status.withLock { $0 = snapshot }
        daemon.monitor.observe(running: controller?.running ?? false, now: daemon.now)
    }
}

/// Saves the configuration off the event loop, as pacemaker-based writes the CIB from a child
/// process: the newest document posted wins (a save overtaken by a newer write is skipped), so
/// a burst of writes costs one save per save's duration, not one per write. `finish` saves
/// what is still pending and returns (SIGTERM, corosync gone).
final class CIBWriter: Sendable {
    private struct State: Sendable {
        var pending: (document: XMLElement, version: CIBVersion)?
        var finished = false
        var lastSaved: Int64?
    }

    private let store: CIBStore
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(store: CIBStore) {
        self.store = store
        Thread { [self] in run() }.start()
    }

    /// When the last save completed (fsyncs included), wall-clock milliseconds.
    var lastSavedMilliseconds: Int64? { state.withLock { $0.lastSaved } }

    func post(_ document: XMLElement, version: CIBVersion) {
        state.withLock { $0.pending = (document, version) }
        wake.signal()
    }

    func finish() {
        state.withLock { $0.finished = true }
        wake.signal()
        done.wait()
    }

    private func run() {
        while true {
            wake.wait()
            let (next, finished) = state.withLock { state in
                defer { state.pending = nil }
                return (state.pending, state.finished)
            }
            if let next {
                do {
                    try store.save(next.document, lastWritten: CtimeText.text(secondsSinceEpoch: Date().timeIntervalSince1970))
                    let now = nowMilliseconds()
                    state.withLock { $0.lastSaved = now }
                } catch {
                    log("CIB \(next.version) NOT saved: \(error)", .error)
                }
            }
            if finished {
                done.signal()
                return
            }
        }
    }
}
