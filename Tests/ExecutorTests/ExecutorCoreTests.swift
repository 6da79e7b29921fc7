import Executor
import Testing

/// The executor's rules on the pure core: directives in, directives out, no processes.
struct ExecutorCoreTests {
    static let dummy = AgentResource(id: "d1", standard: .ocf, provider: "pacemaker", type: "Dummy", parameters: ["state": "/tmp/d1.state"])
    static func noName(_ code: Int32) -> String { "errno \(code)" }

    static func runs(_ directives: [ExecutorDirective]) -> [(CallID, AgentInvocation)] {
        directives.compactMap { if case .run(_, let call, let invocation) = $0 { (call, invocation) } else { nil } }
    }

    static func reports(_ directives: [ExecutorDirective]) -> [OperationResult] {
        directives.compactMap { if case .report(let result) = $0 { result } else { nil } }
    }

    @Test func oneOperationAtATimePerResourceTheRestInArrivalOrder() throws {
        var core = ExecutorCore(settings: ExecutorSettings())
        let start = try core.request(OperationRequest(resource: Self.dummy, action: "start"), now: .zero)
        #expect(Self.runs(start).map(\.1.arguments) == [["start"]])
        // One-shot operations carry a timeout, not an interval or a name (as in crm_simulate's graphs).
        #expect(Self.runs(start)[0].1.environment.keys.filter { $0.hasPrefix("OCF_RESKEY_CRM_meta") } == ["OCF_RESKEY_CRM_meta_timeout"])
        let monitor = try core.request(OperationRequest(resource: Self.dummy, action: "monitor"), now: .milliseconds(1))
        #expect(Self.runs(monitor).isEmpty, "a second operation ran while the first was in flight")
        // Another resource is not held up.
        let other = AgentResource(id: "d2", standard: .ocf, provider: "pacemaker", type: "Dummy", parameters: [:])
        #expect(Self.runs(try core.request(OperationRequest(resource: other, action: "start"), now: .milliseconds(2))).count == 1)
        let done = core.finished(
            resource: "d1", call: Self.runs(start)[0].0, exit: .exited(0), standardOutput: [], standardError: [], now: .milliseconds(50),
            errnoName: Self.noName)
        #expect(Self.reports(done).map(\.verdict) == [AgentVerdict(rc: .ok, status: .done, exitReason: nil)])
        #expect(Self.reports(done).first?.execTime == .milliseconds(50))
        #expect(Self.runs(done).map(\.1.arguments) == [["monitor"]])
    }

    @Test func recurringMonitorsRescheduleAndReportChangesOnly() throws {
        var core = ExecutorCore(settings: ExecutorSettings())
        let first = try core.request(OperationRequest(resource: Self.dummy, action: "monitor", interval: .seconds(10)), now: .zero)
        let call = Self.runs(first)[0].0
        #expect(Self.runs(first)[0].1.environment["OCF_RESKEY_CRM_meta_interval"] == "10000")
        var now = Duration.milliseconds(20)
        var reported: [OCFReturnCode] = []
        for rc: Int32 in [0, 0, 0, 7, 7, 0] {
            let directives = core.finished(resource: "d1", call: call, exit: .exited(rc), standardOutput: [], standardError: [], now: now, errnoName: Self.noName)
            reported += Self.reports(directives).map(\.verdict.rc)
            #expect(Self.runs(directives).isEmpty)
            #expect(core.nextWake() == now + .seconds(10))
            // Nothing before the interval has passed; the run comes at it, with the same call id.
            #expect(Self.runs(core.tick(now: now + .seconds(9))).isEmpty)
            now += .seconds(10)
            let next = Self.runs(core.tick(now: now))
            #expect(next.map(\.0) == [call])
            now += .milliseconds(20)
        }
        #expect(reported == [.ok, .notRunning, .ok])
    }

    @Test func stopCancelsTheResourcesRecurringOperations() throws {
        var core = ExecutorCore(settings: ExecutorSettings())
        let monitor = try core.request(OperationRequest(resource: Self.dummy, action: "monitor", interval: .seconds(10)), now: .zero)
        let monitorCall = Self.runs(monitor)[0].0
        _ = core.finished(resource: "d1", call: monitorCall, exit: .exited(0), standardOutput: [], standardError: [], now: .milliseconds(10), errnoName: Self.noName)
        let probe = try core.request(OperationRequest(resource: Self.dummy, action: "monitor", interval: .seconds(30)), now: .milliseconds(20))
        let probeCall = Self.runs(probe)[0].0
        // The 30 s monitor is in flight when the stop comes: it is stopped; the idle 10 s one is
        // reported cancelled at once; the stop waits for the resource to be idle.
        let stop = try core.request(OperationRequest(resource: Self.dummy, action: "stop"), now: .milliseconds(30))
        #expect(stop.contains(.stop(resource: "d1", call: probeCall)))
        #expect(Self.reports(stop).map { [$0.callID, $0.verdict.status == .cancelled ? CallID(value: -1) : $0.callID] } == [[monitorCall, CallID(value: -1)]])
        #expect(Self.runs(stop).isEmpty)
        let ended = core.finished(resource: "d1", call: probeCall, exit: .cancelled, standardOutput: [], standardError: [], now: .milliseconds(40), errnoName: Self.noName)
        #expect(Self.reports(ended).map(\.verdict.status) == [.cancelled])
        #expect(Self.runs(ended).map(\.1.arguments) == [["stop"]])
        #expect(core.load(of: "d1").recurring == 0)
        #expect(Self.runs(core.tick(now: .seconds(100))).isEmpty, "a cancelled recurring op ran again")
    }

    @Test func startDelayHoldsTheOperation() throws {
        var core = ExecutorCore(settings: ExecutorSettings())
        let directives = try core.request(OperationRequest(resource: Self.dummy, action: "start", startDelay: .seconds(5)), now: .seconds(1))
        #expect(Self.runs(directives).isEmpty)
        #expect(core.nextWake() == .seconds(6))
        #expect(Self.runs(core.tick(now: .seconds(5))).isEmpty)
        let run = Self.runs(core.tick(now: .seconds(6)))
        #expect(run.count == 1)
        let done = core.finished(resource: "d1", call: run[0].0, exit: .exited(0), standardOutput: [], standardError: [], now: .seconds(7), errnoName: Self.noName)
        #expect(Self.reports(done).first?.queueTime == .seconds(5))
    }

    @Test func cancelOfARecurringOperation() throws {
        var core = ExecutorCore(settings: ExecutorSettings())
        let call = Self.runs(try core.request(OperationRequest(resource: Self.dummy, action: "monitor", interval: .seconds(10)), now: .zero))[0].0
        _ = core.finished(resource: "d1", call: call, exit: .exited(0), standardOutput: [], standardError: [], now: .milliseconds(10), errnoName: Self.noName)
        let cancelled = core.cancel(resource: "d1", action: "monitor", interval: .seconds(10), now: .seconds(1))
        #expect(Self.reports(cancelled).map(\.verdict.status) == [.cancelled])
        #expect(Self.runs(core.tick(now: .seconds(60))).isEmpty)
        #expect(core.nextWake() == nil)
    }

    @Test func resultsMapAsPacemakerMapsThem() {
        func verdict(_ exit: AgentExit, _ standard: AgentStandard = .ocf, _ action: String = "start", stderr: String = "") -> AgentVerdict {
            AgentVerdict.of(exit, standard: standard, action: action, standardError: Array(stderr.utf8), agent: "ocf:pacemaker:Dummy", errnoName: Self.noName)
        }
        for code in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191] {
            #expect(verdict(.exited(Int32(code))).rc.rawValue == code)
        }
        #expect(verdict(.exited(10)).rc == .unknownError)
        #expect(verdict(.exited(200)).rc == .unknownError)
        #expect(verdict(.timedOut) == AgentVerdict(rc: .unknownError, status: .timedOut, exitReason: nil))
        #expect(verdict(.cancelled).status == .cancelled)
        #expect(verdict(.signaled(9)).status == .error)
        #expect(verdict(.spawnFailed(errno: 2)) == AgentVerdict(rc: .notInstalled, status: .notInstalled, exitReason: "ocf:pacemaker:Dummy: errno 2"))
        #expect(verdict(.spawnFailed(errno: 13)).rc == .insufficientPrivileges)
        // The last exit reason line wins, to its end of line.
        #expect(verdict(.exited(6), stderr: "ocf-exit-reason:first\nnoise\nocf-exit-reason:Configuration is wrong\nmore\n").exitReason == "Configuration is wrong")
        #expect(verdict(.exited(1), stderr: "ocf-exit-reason:\n").exitReason == nil)
        #expect(verdict(.exited(1), stderr: "ocf-exit-reason:" + String(repeating: "x", count: 300)).exitReason?.count == 128)
        #expect(verdict(.exited(1), .lsb, stderr: "ocf-exit-reason:not for lsb").exitReason == nil)
        // LSB status has its own codes; other LSB actions share OCF's up to 7.
        #expect(verdict(.exited(3), .lsb, "monitor").rc == .notRunning)
        #expect(verdict(.exited(150), .lsb, "status").rc == .notInstalled)
        #expect(verdict(.exited(4), .lsb, "status").rc == .unknownError)
        #expect(verdict(.exited(7), .lsb, "start").rc == .notRunning)
        #expect(verdict(.exited(8), .lsb, "start").rc == .unknownError)
        #expect(verdict(.exited(3), .systemd, "monitor").rc == .notRunning)
        // systemctl's 5, a unit not loaded: a stop of it succeeds, a start finds it not installed.
        #expect(verdict(.exited(5), .systemd, "stop") == AgentVerdict(rc: .ok, status: .done, exitReason: nil))
        #expect(verdict(.exited(5), .systemd, "start") == AgentVerdict(rc: .notInstalled, status: .notInstalled, exitReason: nil))
        #expect(verdict(.exited(1), .systemd, "start").rc == .unknownError)
        // systemctl is-active prints the ActiveState: activating and deactivating are pending
        // (rc 193, op-status -1), as Pacemaker maps them; failed or inactive is not running.
        func state(_ code: Int32, _ printed: String) -> AgentVerdict {
            AgentVerdict.of(.exited(code), standard: .systemd, action: "monitor", standardOutput: Array(printed.utf8), standardError: [],
                            agent: "systemd:x", errnoName: Self.noName)
        }
        #expect(state(3, "activating\n") == AgentVerdict(rc: .unknown, status: .pending, exitReason: nil))
        #expect(state(3, "deactivating\n") == AgentVerdict(rc: .unknown, status: .pending, exitReason: nil))
        #expect(state(3, "failed\n").rc == .notRunning)
        #expect(state(3, "inactive\n").rc == .notRunning)
        #expect(state(0, "reloading\n").rc == .ok)
        #expect(OCFReturnCode.unknown.rawValue == 193 && ExecutionStatus.pending.rawValue == -1)
    }

    /// A systemd start or stop is done when its job is queued; the core then monitors the unit
    /// until it has settled, as pacemaker-execd does: a tenth of the timeout (at most 2 s)
    /// apart, the resource held meanwhile, one result for the operation, timed from its first run.
    @Test func aSystemdStartOrStopIsSettledByFollowUpMonitors() throws {
        var core = ExecutorCore(settings: ExecutorSettings())
        let unit = AgentResource(id: "u", standard: .systemd, provider: nil, type: "u", parameters: [:])
        func finish(_ call: CallID, _ code: Int32, _ printed: String, at now: Duration) -> [ExecutorDirective] {
            core.finished(resource: "u", call: call, exit: .exited(code), standardOutput: Array(printed.utf8), standardError: [],
                          now: now, errnoName: Self.noName)
        }
        let start = Self.runs(try core.request(OperationRequest(resource: unit, action: "start", timeout: .seconds(60)), now: .zero))
        #expect(start.map(\.1.arguments) == [["start", "--no-block", "u.service"]])
        let call = start[0].0
        // The job is queued: no result yet; a monitor that comes meanwhile waits.
        #expect(finish(call, 0, "", at: .milliseconds(100)).isEmpty)
        #expect(Self.runs(try core.request(OperationRequest(resource: unit, action: "monitor"), now: .milliseconds(200))).isEmpty)
        #expect(Self.runs(core.tick(now: .milliseconds(2000))).isEmpty)
        #expect(core.nextWake() == .milliseconds(2100))
        let poll = Self.runs(core.tick(now: .milliseconds(2100)))
        #expect(poll.map(\.1.arguments) == [["is-active", "u.service"]])
        #expect(poll.first?.1.timeout == .milliseconds(59_900))
        // Still activating: again 2 s later; then active: the start's result, ok, from its first run.
        #expect(finish(call, 3, "activating\n", at: .milliseconds(2200)).isEmpty)
        let second = Self.runs(core.tick(now: .milliseconds(4200)))
        #expect(second.map(\.0) == [call])
        let done = finish(call, 0, "active\n", at: .milliseconds(4300))
        #expect(Self.reports(done).map(\.verdict) == [AgentVerdict(rc: .ok, status: .done, exitReason: nil)])
        #expect(Self.reports(done).map(\.operation.action) == ["start"])
        #expect(Self.reports(done).first?.execTime == .milliseconds(4300))
        // The monitor that waited runs now.
        #expect(Self.runs(done).map(\.1.arguments) == [["is-active", "u.service"]])
        let monitorCall = Self.runs(done)[0].0
        #expect(Self.reports(finish(monitorCall, 0, "active\n", at: .milliseconds(4400))).map(\.verdict.rc) == [.ok])
        // A stop polls while the unit is still active or deactivating; inactive is stopped.
        let stop = Self.runs(try core.request(OperationRequest(resource: unit, action: "stop", timeout: .seconds(10)), now: .seconds(5)))
        #expect(stop.map(\.1.arguments) == [["stop", "--no-block", "u.service"]])
        var now = Duration.seconds(5)
        for printed in ["", "active\n", "deactivating\n"] {
            #expect(finish(stop[0].0, printed.isEmpty ? 0 : printed == "active\n" ? 0 : 3, printed, at: now).isEmpty)
            now += .seconds(1)
            #expect(Self.runs(core.tick(now: now)).map(\.0) == [stop[0].0])
        }
        #expect(Self.reports(finish(stop[0].0, 3, "inactive\n", at: now)).map(\.verdict) == [AgentVerdict(rc: .ok, status: .done, exitReason: nil)])
        // A start whose unit fails settles as an error; one still activating when its time is
        // up is a timeout.
        let failing = Self.runs(try core.request(OperationRequest(resource: unit, action: "start", timeout: .seconds(10)), now: .seconds(20)))
        _ = finish(failing[0].0, 0, "", at: .seconds(20))
        _ = core.tick(now: .seconds(21))
        #expect(Self.reports(finish(failing[0].0, 3, "failed\n", at: .seconds(21))).map(\.verdict.rc) == [.unknownError])
        let slow = Self.runs(try core.request(OperationRequest(resource: unit, action: "start", timeout: .seconds(1)), now: .seconds(30)))
        now = .seconds(30)
        var last: [OperationResult] = []
        for _ in 0..<20 where last.isEmpty {
            last = Self.reports(finish(slow[0].0, now == .seconds(30) ? 0 : 3, now == .seconds(30) ? "" : "activating\n", at: now))
            if let wake = core.nextWake(), last.isEmpty {
                now = wake
                #expect(Self.runs(core.tick(now: now)).count == 1)
            }
        }
        #expect(last.map(\.verdict.status) == [.timedOut])
        #expect(now < .seconds(31))
    }

    @Test func theEnvironmentIsPacemakerExecds() {
        let settings = ExecutorSettings(baseEnvironment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "overridden"])
        let resource = AgentResource(id: "ip", standard: .ocf, provider: "heartbeat", type: "IPaddr2", parameters: ["ip": "192.0.2.5", "OCF_CHECK_LEVEL": "10"])
        let invocation = AgentInvocation.of(
            resource, action: "monitor", timeout: .seconds(20),
            meta: ["timeout": "20000", "interval": "0", "name": "monitor", "on_node": "node1", "op_target_rc": "7", "target-role": "Started"],
            featureSet: "3.16.1", settings: settings)
        #expect(invocation.executable == "/usr/lib/ocf/resource.d/heartbeat/IPaddr2")
        #expect(invocation.arguments == ["monitor"])
        #expect(invocation.environment == [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "OCF_RESKEY_ip": "192.0.2.5", "OCF_CHECK_LEVEL": "10",
            "OCF_RESKEY_CRM_meta_timeout": "20000", "OCF_RESKEY_CRM_meta_interval": "0", "OCF_RESKEY_CRM_meta_name": "monitor",
            "OCF_RESKEY_CRM_meta_on_node": "node1", "OCF_RESKEY_CRM_meta_op_target_rc": "7", "OCF_RESKEY_CRM_meta_target_role": "Started", "OCF_RESKEY_crm_feature_set": "3.16.1",
            "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1", "OCF_ROOT": "/usr/lib/ocf",
            "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:", "OCF_RESOURCE_INSTANCE": "ip", "OCF_RESOURCE_TYPE": "IPaddr2",
            "OCF_RESOURCE_PROVIDER": "heartbeat",
        ])
        let lsb = AgentInvocation.of(
            AgentResource(id: "cron", standard: .lsb, provider: nil, type: "cron", parameters: ["x": "y"]), action: "monitor",
            timeout: .seconds(20), meta: [:], featureSet: nil, settings: settings)
        #expect(lsb.executable == "/etc/init.d/cron" && lsb.arguments == ["status"] && lsb.environment == settings.baseEnvironment)
    }

    @Test func badRequestsAreRefusedWithWhatAndWhere() {
        var core = ExecutorCore(settings: ExecutorSettings())
        let escaping = AgentResource(id: "x", standard: .ocf, provider: "..", type: "Dummy", parameters: [:])
        #expect(throws: ExecutorError("resource x: agent provider '..' is not a plain name")) {
            try core.request(OperationRequest(resource: escaping, action: "start"), now: .zero)
        }
        #expect(throws: ExecutorError("d1_start_0: timeout must be positive")) {
            try core.request(OperationRequest(resource: Self.dummy, action: "start", timeout: .zero), now: .zero)
        }
    }
}
