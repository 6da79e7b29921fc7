// baton-crmd's fencer and controller events (issue 14): the fence actions this node runs
// (FenceRunner, off the event loop), what a fence result does here, the admin's fence,
// confirm-down and history, the stonith resources' registration, clear_failcount and the
// clean stop (SIGTERM: the `shutdown` attribute, then the DC's do_shutdown).
import CIB
import CRMCore
import Executor
import ExecutorShell
import Foundation

/// One fence run this node was asked for, with the devices as the CIB had them then.
struct FenceJob: Sendable {
    let request: FenceRequest
    let plan: FencePlan
    let local: NodeID
    let targetID: UInt32

    func run(_ runner: FenceRunner) async -> FenceRecord {
        await Loop.fence(request, plan: plan, runner: runner, local: local, targetID: targetID)
    }
}

extension Loop {
    /// Runs a fence request addressed to this node (the daemon's fence task group); its
    /// record comes back as `.fenceDone`.
    func runFence(_ request: FenceRequest) {
        let plan = FencePlan(cib: core.cib.document)
        let targetID = core.settings.nodelist.first { $0.name == request.target }?.nodeID.rawValue ?? 0
        log("fencing \(request.target) (\(request.action)) here for \(request.key): \(plan.attempts(for: request.target).count) device level(s)", .notice)
        daemon.fenceJobInput.yield(FenceJob(request: request, plan: plan, local: core.local.nodeID, targetID: targetID))
    }

    /// Each level (or device) in turn until one succeeds: a level succeeds when all of its
    /// devices do (Pacemaker's fencing-topology).
    static func fence(_ request: FenceRequest, plan: FencePlan, runner: FenceRunner, local: NodeID, targetID: UInt32) async -> FenceRecord {
        let fallback = Duration.milliseconds(Int64(clamping: max(1, request.timeoutMilliseconds)))
        let wall = { UInt64(max(0, Date().timeIntervalSince1970)) }
        var reasons: [String] = []
        var tried = "none"
        levels: for level in plan.attempts(for: request.target) {
            tried = level.map(\.id).joined(separator: ",")
            for device in level {
                do {
                    let configured = try await runner.device(id: device.id, agent: device.agent, parameters: device.parameters)
                    let outcome = await runner.fence(configured, action: request.action, target: request.target, nodeID: targetID,
                                                     fallbackTimeout: fallback)
                    guard outcome.result.ok else {
                        reasons.append("\(device.id): \(outcome.result)")
                        continue levels
                    }
                } catch {
                    reasons.append("\(device.id): \(error)")
                    continue levels
                }
            }
            return FenceRecord(executor: local, target: request.target, action: request.action, device: tried, succeeded: true,
                               reason: "", key: request.key, wallClockSeconds: wall())
        }
        let reason = reasons.isEmpty ? "no fence device is configured for \(request.target)" : reasons.joined(separator: "; ")
        return FenceRecord(executor: local, target: request.target, action: request.action, device: tried, succeeded: false,
                           reason: String(reason.prefix(2000)), key: request.key, wallClockSeconds: wall())
    }

    /// A fence result recorded here: logged, the admin who asked answered, the DC's graph told.
    mutating func fenceRecorded(_ record: FenceRecord) async {
        log("fence history: \(record.line)", .notice)
        daemon.monitor.record("fence history: \(record.line)")
        if record.executor == core.local.nodeID || record.key.hasPrefix("admin:\(core.local.nodeID.rawValue):"),
           let reply = fenceReplies.removeValue(forKey: record.key) {
            reply.send(record.succeeded ? "ok \(record.line)\n" : "error: \(record.line)\n")
        }
        guard var controller else { return }
        let directives = controller.fenced(record, now: daemon.now)
        self.controller = controller
        await performController(directives)
    }

    /// `baton crm fence NODE`: sent to a node that can run a device for the target (this one
    /// unless it is the target); the admin is answered with the result.
    mutating func adminFence(target: String, action: String, reply: AdminReply) async {
        guard let node = core.settings.nodelist.first(where: { $0.name == target }) else {
            return reply.send("error: no node named \(target) in the nodelist\n")
        }
        guard core.settled, let view = core.view else { return reply.send("error: this node has not joined a settled group yet\n") }
        let plan = FencePlan(cib: core.cib.document)
        let candidates = [core.local.nodeID] + view.members.filter { core.joinedMembers.contains($0) && $0 != core.local }.map(\.nodeID)
        guard let executor = plan.executor(for: node.nodeID, candidates: candidates) else {
            return reply.send("error: \(plan.devices.isEmpty ? "no fence device is configured" : "no other node can run a fence device for \(target)")\n")
        }
        let key = "admin:\(core.local.nodeID.rawValue):\(nextAdminFence)"
        nextAdminFence += 1
        fenceReplies[key] = reply
        let timeout = (try? CIB(xml: core.cib.document)).flatMap { $0.configuration.clusterProperty("stonith-timeout") }
            .flatMap(DCController.milliseconds) ?? 60_000
        await perform([.broadcast(.fenceRequest(FenceRequest(view: view.fingerprint, executor: executor, target: target, action: action,
                                                             key: key, timeoutMilliseconds: timeout)))])
    }

    /// clear_failcount: the resource's fail counts and last failures on the node, deleted
    /// through the DC.
    mutating func clearFailures(node: NodeID, resource: String) async {
        let names = (core.attributes[node] ?? [:]).keys.filter {
            $0.hasPrefix("fail-count-\(resource)#") || $0.hasPrefix("last-failure-\(resource)#")
        }
        var directives: [NodeCore.Directive] = []
        for name in names.sorted() {
            do { directives += try core.requestAttribute(.node(node), name: name, value: nil) } catch { log("clear_failcount \(name): \(error)") }
        }
        await perform(directives)
    }

    /// A stonith resource's operation: its registration with this node's fencer (start, stop;
    /// a monitor answers whether it is registered), as pacemaker-execd does for stonith.
    mutating func registerDevice(_ request: ExecuteRequest) async {
        let target = Int(request.meta["op_target_rc"] ?? "") ?? 0
        let rc: Int
        switch request.operation {
        case "start":
            registeredDevices.insert(request.resource)
            rc = OCFReturnCode.ok.rawValue
        case "stop":
            registeredDevices.remove(request.resource)
            rc = OCFReturnCode.ok.rawValue
        case "monitor":
            rc = registeredDevices.contains(request.resource) ? OCFReturnCode.ok.rawValue : OCFReturnCode.notRunning.rawValue
        case "cancel":
            rc = target
        default:
            rc = OCFReturnCode.unimplementedFeature.rawValue
        }
        let result = ExecuteResult(
            node: core.local.nodeID, transitionKey: request.transitionKey, action: request.action, targetRC: target, rc: rc,
            opStatus: ExecutionStatus.done.rawValue, exitReason: "", callID: 0, execMilliseconds: 0, queueMilliseconds: 0,
            wallClockSeconds: UInt64(max(0, Date().timeIntervalSince1970)))
        await perform(core.sendResult(result))
    }

    /// SIGTERM. True: leave now (a second SIGTERM; or no DC, quorum or other member to take
    /// over). Otherwise the `shutdown` attribute goes to the DC, whose graph moves this node's
    /// resources away and ends with do_shutdown (`leaveNow`), bounded by shutdown-escalation.
    mutating func cleanStop() async -> Bool {
        if shuttingDown {
            log("SIGTERM again: leaving the group now", .notice)
            return true
        }
        guard core.settled, core.dc != nil, core.quorate,
              core.joinedMembers.contains(where: { $0.nodeID != core.local.nodeID }) else {
            log("SIGTERM: leaving the group", .notice)
            return true
        }
        do {
            let directives = try core.requestAttribute(.node(core.local.nodeID), name: "shutdown",
                                                       value: String(Int(Date().timeIntervalSince1970)))
            shuttingDown = true
            log("SIGTERM: clean stop: the shutdown attribute asked for; leaving at the DC's do_shutdown, at most \(daemon.shutdownEscalation) from now", .notice)
            timers.yield(TimerRequest(duration: daemon.shutdownEscalation, event: .shutdownEscalated))
            await perform(directives)
            return false
        } catch {
            log("SIGTERM: the shutdown attribute cannot be asked for (\(error)): leaving the group", .warning)
            return true
        }
    }
}
