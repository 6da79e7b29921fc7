import ChildProcess
import ClusterIdentity
import Corosync
import Foundation
import Logging
import NIOCore
import NIOPosix
import QuorumArbiter
import QuorumWire
import TLSTransport

/// The node's quorum device daemon: registers with votequorum as the device (model "baton"),
/// follows votequorum's ring, talks to the arbitrator over TLS and polls what `QuorumDevice`
/// decides. The core runs on one event loop (`loop`), as does the arbitrator connection;
/// votequorum's notifications reach it in order from one task, and polls leave it in order
/// through one queue (`polls`), so a later poll never overtakes an earlier one.
public final class QuorumNodeDevice: Sendable {
    /// Where the device stands, for the log and the tests.
    public struct Snapshot: Sendable, Equatable {
        public let connected: Bool
        public let ring: RingID?
        public let vote: Vote?
        public let castsVote: Bool
    }

    final class State {
        var core: QuorumDevice
        var channels: [ConnectionID: any Channel] = [:]
        var nextConnection: UInt64 = 1
        var wakeUp = WakeUp()
        var lastCast: Bool?
        /// When votequorum's latest ring came (until the arbitrator's vote for it): the decision time.
        var ringSince: (ring: RingID, at: QuorumInstant)?
        /// Registered with votequorum (until `stop`).
        var registered = true
        /// The heuristics (`quorum.device.heuristics`): when they run, their result.
        var heuristics: DeviceHeuristics
        var heuristicsChildren: [DeviceHeuristics.RunID: [ChildID]] = [:]
        var heuristicsWakeUp = WakeUp()
        init(core: QuorumDevice, heuristics: DeviceHeuristics) {
            self.core = core
            self.heuristics = heuristics
        }
    }

    public let configuration: DeviceConfiguration
    public let clusterName: String
    public let nodeID: NodeID
    let loop: any EventLoop
    let state: NIOLoopBoundBox<State>
    let voteQuorum: VoteQuorum
    let tls: ReloadableTLSContext
    let logger: Logger
    let polls: AsyncStream<(castVote: Bool, ring: RingID)>.Continuation
    let pollStream: AsyncStream<(castVote: Bool, ring: RingID)>
    /// Runs the heuristics commands (nil: mode off).
    let runner: ChildProcessRunner?

    private init(configuration: DeviceConfiguration, clusterName: String, nodeID: NodeID, loop: any EventLoop, state: NIOLoopBoundBox<State>,
                 voteQuorum: VoteQuorum, tls: ReloadableTLSContext, runner: ChildProcessRunner?, logger: Logger) {
        self.runner = runner
        self.configuration = configuration
        self.clusterName = clusterName
        self.nodeID = nodeID
        self.loop = loop
        self.state = state
        self.voteQuorum = voteQuorum
        self.tls = tls
        self.logger = logger
        (pollStream, polls) = AsyncStream.makeStream(of: (castVote: Bool, ring: RingID).self, bufferingPolicy: .bufferingNewest(64))
    }

    /// Reads the device's configuration from cmap (`quorum.device.*`, the cluster name, this
    /// node's id and the node list).
    public static func readConfiguration() async throws -> (DeviceConfiguration, clusterName: String, nodeID: NodeID, nodes: [NodeID]) {
        let map = try await ClusterMap.connect()
        do {
            // Untyped, so that the catch below casts (a typed catch with a where clause crashes swiftc 6.3.1's SILGen here).
            func string(_ key: String) async throws -> String? { try await map.string(key) }
            var values: [String: String] = [:]
            for key in DeviceConfiguration.keys {
                let full = "quorum.device.\(key)"
                do {
                    if let text = try await string(full) { values[key] = text }
                } catch let error as CorosyncError where error.status == .invalidParameter {
                    // A number (corosync stores timeout, votes… as integers).
                    if let number = try await map.uint32(full) { values[key] = String(number) }
                }
            }
            for full in try await map.keys(prefix: "quorum.device.\(DeviceConfiguration.execPrefix)") {
                if let text = try await string(full) { values[String(full.dropFirst("quorum.device.".count))] = text }
            }
            let configuration = try DeviceConfiguration.parse(values)
            guard let clusterName = try await map.clusterName(), !clusterName.isEmpty else {
                throw DeviceConfigurationError(key: "totem.cluster_name", value: nil, expected: "the cluster's name (the arbitrator keys the cluster by it)")
            }
            guard let nodeID = try await map.localNodeID() else {
                throw DeviceConfigurationError(key: "runtime.votequorum.this_node_id", value: nil, expected: "this node's id")
            }
            let nodes = Array(Set(try await map.nodes().map(\.nodeID))).sorted()
            try configuration.checkVotes(configuredNodes: nodes.count)
            await map.close()
            return (configuration, clusterName, nodeID, nodes)
        } catch {
            await map.close()
            throw error
        }
    }

    /// Registers with votequorum and starts; `run` then drives it until votequorum goes away
    /// or `stop`.
    public static func start(configuration: DeviceConfiguration, clusterName: String, nodeID: NodeID, configuredNodes: [NodeID],
                             group: any EventLoopGroup, logger: Logger) async throws -> QuorumNodeDevice {
        let tls = try ReloadableTLSContext(files: TLSFiles(
            certificateAuthorityFile: configuration.caFile, certificateFile: configuration.certFile, privateKeyFile: configuration.keyFile))
        let settings = configuration.settings
        let registration = DeviceRegistration(
            nodeID: nodeID, configuredNodes: configuredNodes, tieBreaker: configuration.tieBreaker,
            keepActivePartition: configuration.keepActivePartition, algorithm: configuration.algorithm, heartbeatInterval: settings.heartbeatInterval)
        if let problem = QuorumArbiter.problem(with: registration) { throw DeviceConfigurationError(key: "nodelist", value: nil, expected: problem) }
        let runner = configuration.heuristics.mode == .off ? nil : try ChildProcessRunner(concurrencyMax: HeuristicsSettings.commandsMax)
        let voteQuorum = try await VoteQuorum.connect(track: true)
        do {
            try await voteQuorum.registerDevice(name: DeviceConfiguration.modelName)
        } catch {
            await voteQuorum.close()
            runner?.shutdown()
            throw error
        }
        let loop = group.next()
        let state = try await loop.submit {
            NIOLoopBoundBox(State(core: QuorumDevice(registration: registration, settings: settings, now: quorumNow()),
                                  heuristics: DeviceHeuristics(settings: configuration.heuristics)), eventLoop: loop)
        }.get()
        let device = QuorumNodeDevice(configuration: configuration, clusterName: clusterName, nodeID: nodeID, loop: loop, state: state,
                                      voteQuorum: voteQuorum, tls: tls, runner: runner, logger: logger)
        logger.notice("quorum device registered with votequorum", metadata: [
            "cluster": .string(clusterName), "node": .string("\(nodeID)"), "arbitrator": .string("\(configuration.host):\(configuration.port)"),
            "timeout": .string("\(configuration.timeout)"), "sync_timeout": .string("\(configuration.syncTimeout)"),
            "heuristics": .string(configuration.heuristics.mode == .off ? "off" : "\(configuration.heuristics.mode.rawValue) (\(configuration.heuristics.commands.map(\.name).joined(separator: ", ")))"),
        ])
        try await loop.submit { device.feed(.tick) }.get()
        return device
    }

    /// Follows votequorum and carries out polls until votequorum's stream ends (corosync
    /// stopped) or the task is cancelled; throws what ended it.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await poll in pollStream {
                    // The core watches the call: one that hangs (corosync paused) takes the device off the arbitrator.
                    let started = quorumNow()
                    loop.execute { [self] in feed(.votequorumCall(since: started)) }
                    defer { loop.execute { [self] in feed(.votequorumCall(since: nil)) } }
                    do {
                        try await voteQuorum.pollDevice(name: DeviceConfiguration.modelName, castVote: poll.castVote, ringID: poll.ring)
                    } catch let error as CorosyncError where error.status == .messageError {
                        logger.debug("quorum device: poll for a ring votequorum has left", metadata: ["ring": .string("\(poll.ring)")])
                    }
                }
            }
            group.addTask { [self] in
                defer { polls.finish() }
                for try await event in voteQuorum.events {
                    guard case .nodeList(let ring, let nodes) = event else { continue }
                    let members = Array(Set(nodes)).sorted()
                    guard members.contains(nodeID) else {
                        logger.warning("quorum device: a node list without this node; ignored", metadata: ["ring": .string("\(ring)")])
                        continue
                    }
                    loop.execute { [self] in
                        logger.info("quorum device: new ring", metadata: ["ring": .string("\(ring)"), "members": .string(members.map(\.description).joined(separator: ","))])
                        feed(.ringChanged(ring, members: members))
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Unregisters from votequorum and closes the arbitrator connection.
    public func stop() async {
        try? await loop.submit { [state] in
            state.value.registered = false
            state.value.wakeUp.cancel()
            state.value.heuristicsWakeUp.cancel()
            for channel in state.value.channels.values { channel.close(promise: nil) }
        }.get()
        polls.finish()
        do {
            try await voteQuorum.unregisterDevice(name: DeviceConfiguration.modelName)
        } catch {
            logger.warning("quorum device: unregister failed", metadata: ["error": .string("\(error)")])
        }
        await voteQuorum.close()
        runner?.shutdown()
    }

    public func snapshot() async throws -> Snapshot {
        try await loop.submit { [state] in
            let core = state.value.core
            return Snapshot(connected: { if case .connected = core.link { true } else { false } }(), ring: core.ring, vote: core.vote, castsVote: core.castsVote)
        }.get()
    }

    /// The admin view (`baton-qdevice status`, `metrics`).
    public func status() -> EventLoopFuture<NodeDeviceStatus> {
        let arbitrator = "\(configuration.host):\(configuration.port)"
        return loop.submit { [state, clusterName] in
            NodeDeviceStatus(device: state.value.core, clusterName: clusterName, arbitrator: arbitrator, registered: state.value.registered,
                             heuristics: state.value.heuristics, now: quorumNow())
        }
    }

    /// On the loop: one input to the core, its directives carried out in order.
    func feed(_ input: QuorumDevice.Input) {
        loop.preconditionInEventLoop()
        let now = quorumNow()
        if case .ringChanged(let ring, _) = input { state.value.ringSince = (ring, now) }
        let wasStalled = state.value.core.votequorumStalled
        let wasConnected = state.value.core.isConnected
        for directive in state.value.core.handle(input, now: now) {
            switch directive {
            case .open:
                open()
            case .send(let id, let message):
                if case .register(let registration) = message {
                    state.value.channels[id]?.send(.register(clusterName: clusterName, registration))
                } else {
                    state.value.channels[id]?.send(.device(message))
                }
            case .close(let id):
                if let channel = state.value.channels.removeValue(forKey: id) { loop.execute { channel.close(promise: nil) } }
            case .poll(let castVote, let ring):
                if !castVote, state.value.core.vote == nil, state.value.core.ring == ring {
                    logger.info("quorum device: no vote for ring \(ring) yet; polling no meanwhile")
                }
                if let since = state.value.ringSince, since.ring == ring, state.value.core.vote != nil {
                    let milliseconds = (now - since.at) / .milliseconds(1)
                    logger.notice("quorum device: the arbitrator's vote for ring \(ring) came \(Int(milliseconds.rounded())) ms after the ring")
                    state.value.ringSince = nil
                }
                if state.value.lastCast != castVote {
                    logger.notice("quorum device: vote \(castVote ? "cast" : "withdrawn")", metadata: ["ring": .string("\(ring)")])
                    state.value.lastCast = castVote
                }
                polls.yield((castVote, ring))
            case .wakeUp(let at):
                schedule(at)
            }
        }
        if state.value.core.votequorumStalled != wasStalled {
            if state.value.core.votequorumStalled {
                logger.warning("quorum device: votequorum has not answered for \(state.value.core.settings.votequorumStallLimit) (corosync paused or stuck); leaving the arbitrator until it does")
            } else {
                logger.notice("quorum device: votequorum answers again; reconnecting to the arbitrator")
            }
        }
        // The heuristics run on every ring and on every new connection (after the core has
        // held the membership report for their result).
        if case .ringChanged = input { feedHeuristics(.ringChanged) }
        if state.value.core.isConnected != wasConnected { feedHeuristics(state.value.core.isConnected ? .connected : .disconnected) }
    }

    /// On the loop: one input to the heuristics core; runs and kills the commands it names.
    func feedHeuristics(_ input: DeviceHeuristics.Input) {
        loop.preconditionInEventLoop()
        guard let runner, state.value.registered else { return }
        let before = state.value.heuristics.result
        for directive in state.value.heuristics.handle(input, now: quorumNow()) {
            switch directive {
            case .run(let id, let commands, let timeout):
                var children: [ChildID] = []
                let environment = ProcessInfo.processInfo.environment
                for command in commands {
                    // The core decides the timeout's fail itself; the runner's own timeout kills what is left.
                    let spec = ChildProcessSpec(executable: command.arguments[0], arguments: Array(command.arguments.dropFirst()), environment: environment,
                                                outputLimit: 4096, timeout: timeout, killGrace: .seconds(1))
                    children.append(runner.run(spec) { [self] outcome in
                        let passed = outcome.exit == .exited(0)
                        loop.execute { [self] in
                            if !passed, state.value.heuristicsChildren[id] != nil {
                                let output = String(decoding: outcome.standardError.isEmpty ? outcome.standardOutput : outcome.standardError, as: UTF8.self)
                                logger.info("quorum device: heuristics exec_\(command.name) failed: \(outcome.exit)", metadata: [
                                    "output": .string(String(output.prefix(200)))])
                            }
                            feedHeuristics(.finished(id, command: command.name, passed: passed))
                        }
                    })
                }
                state.value.heuristicsChildren[id] = children
            case .cancel(let id):
                for child in state.value.heuristicsChildren.removeValue(forKey: id) ?? [] { runner.cancel(child) }
            case .result(let result, let reason):
                if let last = state.value.heuristics.lastRun, last.failed.contains(where: { $0.hasPrefix("timeout") }) {
                    logger.warning("quorum device: heuristics timed out", metadata: ["commands": .string(last.failed.joined(separator: ", "))])
                }
                if result != before {
                    logger.notice("quorum device: heuristics result \(before.rawValue) → \(result.rawValue)", metadata: ["run": .string(reason.rawValue)])
                }
                feed(.heuristicsChanged(result))
            case .wakeUp(let at):
                scheduleHeuristics(at)
            }
        }
        // Children of finished runs are forgotten (the `cancel` above covers unfinished ones).
        state.value.heuristicsChildren = state.value.heuristicsChildren.filter { $0.key == state.value.heuristics.running?.id }
    }

    func scheduleHeuristics(_ at: QuorumInstant) { arm(\.heuristicsWakeUp, at) { $0.feedHeuristics(.tick) } }

    func schedule(_ at: QuorumInstant) { arm(\.wakeUp, at) { $0.feed(.tick) } }

    /// One wake-up timer: the earliest asked for wins (a later one while it is pending is
    /// already covered: the core asks again on its tick).
    struct WakeUp {
        var task: Scheduled<Void>?
        var at: QuorumInstant?
        mutating func cancel() {
            task?.cancel()
            (task, at) = (nil, nil)
        }
    }

    private func arm(_ timer: ReferenceWritableKeyPath<State, WakeUp>, _ at: QuorumInstant, fire: @escaping (QuorumNodeDevice) -> Void) {
        if let pending = state.value[keyPath: timer].at, pending <= at, state.value[keyPath: timer].task != nil { return }
        state.value[keyPath: timer].cancel()
        state.value[keyPath: timer].at = at
        state.value[keyPath: timer].task = loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, at.nanoseconds)))) { [self] in
            state.value[keyPath: timer] = WakeUp()
            fire(self)
        }
    }

    /// Dials the arbitrator; the outcome comes back as `connectionOpened` or `connectionClosed`.
    func open() {
        let id = ConnectionID(state.value.nextConnection)
        state.value.nextConnection += 1
        let configuration = self.configuration
        let handshakeTimeout = configuration.settings.heartbeatInterval
        Task { [self] in
            do {
                let connection = try await TLSChannels.connect(
                    host: configuration.host, port: configuration.port, expectedPeerName: configuration.arbitratorName, context: tls,
                    handshakeTimeout: handshakeTimeout, group: loop, logger: logger
                ) { [self] channel in
                    let handler = QuorumFrameHandler(
                        logger: logger,
                        onFrame: { [self] frame in
                            guard case .arbiter(let message) = frame else {
                                logger.warning("quorum device: a node's frame from the arbitrator; closing")
                                channel.close(promise: nil)
                                return
                            }
                            feed(.message(id, message))
                        },
                        onClose: { [self] in
                            state.value.channels[id] = nil
                            feed(.connectionClosed(id))
                        })
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
                loop.execute { [self] in
                    guard connection.channel.isActive else { return }  // closed meanwhile: `connectionClosed` was fed
                    state.value.channels[id] = connection.channel
                    logger.info("quorum device: connected to the arbitrator", metadata: ["arbitrator": .string(connection.peer.description)])
                    feed(.connectionOpened(id))
                }
            } catch {
                loop.execute { [self] in
                    logger.info("quorum device: cannot reach the arbitrator", metadata: ["reason": .string(connectFailureDescription(error))])
                    feed(.connectionClosed(id))
                }
            }
        }
    }
}
