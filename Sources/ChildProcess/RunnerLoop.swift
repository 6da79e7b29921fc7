import CChildProcess
import Glibc

/// One running child, as the loop thread sees it (confined to that thread).
final class RunningChild {
    let request: Request
    let pid: pid_t
    let started: ContinuousClock.Instant
    var pidfd: Int32
    var outputFD: Int32
    var errorFD: Int32
    var inputFD: Int32
    var inputOffset = 0
    var output: [UInt8] = []
    var error: [UInt8] = []
    var outputDropped = 0
    var errorDropped = 0
    /// The request's timeout, until it fires.
    var deadline: ContinuousClock.Instant?
    /// When its stdout and stderr pipes join the epoll set (nil once they have): see
    /// `RunnerLoop.pipeWatchDelay`.
    var watchPipesAt: ContinuousClock.Instant?
    /// When the group gets its next SIGKILL (or, once the child is reaped, its next check).
    var killAt: ContinuousClock.Instant?
    var recheck: Duration = .milliseconds(10)
    /// The end of the SIGTERM grace after a timeout (the group is only probed until then).
    var graceEnd: ContinuousClock.Instant?
    /// Why we killed the group (`.timedOut` or `.cancelled`), once we did.
    var endedBy: ChildExit?
    /// How the child itself ended, once reaped.
    var reaped: ChildExit?
    var groupGone = false

    init(request: Request, pid: pid_t, started: ContinuousClock.Instant, pidfd: Int32, outputFD: Int32, errorFD: Int32, inputFD: Int32) {
        self.request = request
        self.pid = pid
        self.started = started
        self.pidfd = pidfd
        self.outputFD = outputFD
        self.errorFD = errorFD
        self.inputFD = inputFD
        deadline = request.spec.timeout.map { started + $0 }
    }

    var finished: Bool { reaped != nil && (endedBy == nil || groupGone) }
}

/// The event loop of one `ChildProcessRunner`, on its own thread: epoll over the wake eventfd
/// and every child's pidfd and pipes, with the earliest deadline as the wait's timeout.
struct RunnerLoop {
    static let wakeToken = UInt64.max
    /// EPOLLIN and EPOLLOUT (the Glibc module does not carry them).
    static let readable: UInt32 = 0x001
    static let writable: UInt32 = 0x004
    static let readSliceMax = 256 << 10
    /// A child's output pipes are watched only from this long after its start: one that ends
    /// sooner (most agent runs: a monitor of a few milliseconds) costs the loop one wake-up, at
    /// its pidfd, where its pipes are drained, instead of one per pipe's end-of-file as well.
    /// Until then its output waits in the pipes (64 KiB each); a child that fills one waits at
    /// most this long for the loop to start reading.
    static let pipeWatchDelay: Duration = .milliseconds(50)
    /// How long a spawn that meets ETXTBSY is tried again (start).
    static let busyRetry: Duration = .milliseconds(500)

    let shared: RunnerShared
    let concurrencyMax: Int
    let queueMax: Int
    let killRepeat: Duration
    var running: [UInt64: RunningChild] = [:]
    var queued: [UInt64: Request] = [:]
    var order: [UInt64] = []
    var orderHead = 0
    var stopping = false
    /// The inbox's alarm as last taken.
    var alarm: Alarm?
    var scratch = [UInt8](repeating: 0, count: 64 << 10)

    init(shared: RunnerShared, concurrencyMax: Int, queueMax: Int, killRepeat: Duration) {
        self.shared = shared
        self.concurrencyMax = concurrencyMax
        self.queueMax = queueMax
        self.killRepeat = killRepeat
    }

    private enum Stream: UInt64 {
        case pidfd = 0, output = 1, error = 2, input = 3
    }

    mutating func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        var events = [UInt32](repeating: 0, count: 64)
        while true {
            let count = baton_epoll_wait(shared.epoll, &tokens, &events, 64, waitMilliseconds(now: .now))
            precondition(count >= 0 || baton_errno() == EINTR, "epoll_wait failed: errno \(baton_errno())")
            for index in 0..<Int(max(count, 0)) {
                if tokens[index] == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = read(shared.wake, &value, 8)
                    continue
                }
                let id = tokens[index] >> 2
                guard let child = running[id], let stream = Stream(rawValue: tokens[index] & 3) else { continue }
                switch stream {
                case .pidfd: reap(child)
                case .output, .error: drain(child, stream)
                case .input: feed(child)
                }
            }
            takeInbox()
            let now = ContinuousClock.now
            ringAlarm(now: now)
            for child in running.values { tick(child, now: now) }
            // Finished children free their slots before queued requests take them: a request
            // waiting behind the last running child would otherwise wait for a wake-up that
            // never comes.
            finishDone()
            // What the alarm's handler and the completions asked for on this thread (they
            // wrote no wake-up): taken now, started in this pass.
            takeInbox()
            startQueued()
            let load = (running.count, queued.count)
            let exit = stopping && running.isEmpty && queued.isEmpty
            shared.inbox.withLock { inbox in
                inbox.running = load.0
                inbox.queued = load.1
            }
            if exit { return }
        }
    }

    /// Runs the alarm's handler when its deadline has come (outside the inbox lock: the
    /// handler may call `run` and `setAlarm`), and forgets it unless the handler set another.
    private mutating func ringAlarm(now: ContinuousClock.Instant) {
        guard let due = alarm, due.deadline <= now else { return }
        alarm = nil
        shared.inbox.withLock { inbox in
            if inbox.alarm?.generation == due.generation { inbox.alarm = nil }
        }
        due.handler()
    }

    /// Until the earliest timeout, kill or alarm, rounded up to whole milliseconds; -1 for none.
    private func waitMilliseconds(now: ContinuousClock.Instant) -> Int32 {
        var earliest: ContinuousClock.Instant? = alarm?.deadline
        // No array per child: this runs at every pass of the loop.
        func consider(_ instant: ContinuousClock.Instant?) {
            if let instant, earliest.map({ instant < $0 }) ?? true { earliest = instant }
        }
        for child in running.values {
            if child.endedBy == nil { consider(child.deadline) }
            consider(child.killAt)
            consider(child.watchPipesAt)
        }
        guard let earliest else { return -1 }
        let left = earliest - now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    private mutating func takeInbox() {
        let (requests, cancels, stop, alarm) = shared.inbox.withLock { inbox in
            defer {
                inbox.requests.removeAll(keepingCapacity: true)
                inbox.cancels.removeAll(keepingCapacity: true)
            }
            return (inbox.requests, inbox.cancels, inbox.stopping, inbox.alarm)
        }
        self.alarm = stop ? nil : alarm
        for request in requests {
            if let problem = request.spec.problem {
                request.completion(.notRun(.spawnFailed(errno: EINVAL), problem: problem, submitted: request.submitted))
            } else if queued.count >= queueMax {
                request.completion(.notRun(.spawnFailed(errno: EAGAIN), problem: "queue full (\(queueMax) waiting)", submitted: request.submitted))
            } else {
                queued[request.id.value] = request
                order.append(request.id.value)
            }
        }
        for id in cancels { cancel(id.value) }
        if stop && !stopping {
            stopping = true
            for id in Array(queued.keys) { cancel(id) }
            for id in Array(running.keys) { cancel(id) }
        }
    }

    private mutating func cancel(_ id: UInt64) {
        if let request = queued.removeValue(forKey: id) {
            request.completion(.notRun(.cancelled, problem: "cancelled before it started", submitted: request.submitted))
        } else if let child = running[id], child.endedBy == nil, child.reaped == nil {
            child.endedBy = .cancelled
            killGroup(child, signal: SIGKILL)
            child.killAt = .now + (child.reaped == nil ? killRepeat : child.recheck)
        }
    }

    private mutating func startQueued() {
        while running.count < concurrencyMax && orderHead < order.count {
            let id = order[orderHead]
            orderHead += 1
            guard let request = queued.removeValue(forKey: id) else { continue }
            start(request)
        }
        if orderHead > 1024 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
    }

    private mutating func start(_ request: Request) {
        let spec = request.spec
        var output: [Int32] = [-1, -1], error: [Int32] = [-1, -1], input: [Int32] = [-1, -1]
        func closeAll() { for fd in output + error + input where fd >= 0 { close(fd) } }
        func fail(_ call: String, _ code: Int32) {
            closeAll()
            request.completion(.notRun(.spawnFailed(errno: code), problem: "\(call): \(String(cString: strerror(code)))", submitted: request.submitted))
        }
        guard baton_pipe(&output, 1) == 0 else { return fail("pipe", baton_errno()) }
        guard baton_pipe(&error, 1) == 0 else { return fail("pipe", baton_errno()) }
        if !spec.standardInput.isEmpty {
            guard baton_pipe(&input, 0) == 0 else { return fail("pipe", baton_errno()) }
        }
        // Built by the caller once for a command it runs again and again, else here.
        let command = spec.commandBlock ?? spec.makeCommandBlock()
        var pid: pid_t = 0
        // ETXTBSY is tried again for a moment, as SpawnedChild.spawn's `retryBusyFor` does: a
        // program just written (an admin's handler copied into place) can be held open for
        // writing by a child another thread forked, until that child has closed its
        // descriptors; under load that can take a few scheduler ticks.
        let giveUp = ContinuousClock.now + Self.busyRetry
        var spawned: Int32
        repeat {
            spawned = withExtendedLifetime(command) {
                baton_vfork_spawn(&pid, spec.executable, command.argv, command.envp, spec.workingDirectory, input[0], output[1], error[1], 1)
            }
            if spawned == ETXTBSY && ContinuousClock.now < giveUp { usleep(5_000) } else { break }
        } while true
        guard spawned == 0 else { return fail("spawn \(spec.executable)", spawned) }
        let started = ContinuousClock.now
        for fd in [output[1], error[1], input[0]] where fd >= 0 { close(fd) }
        output[1] = -1; error[1] = -1; input[0] = -1
        let pidfd = baton_pidfd_open(pid)
        guard pidfd >= 0 else {
            // Without a pidfd the loop cannot wait for it: end it now (a blocking reap of a
            // SIGKILLed child is immediate) rather than leave it unwatched.
            let code = baton_errno()
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return fail("pidfd_open", code)
        }
        let child = RunningChild(request: request, pid: pid, started: started, pidfd: pidfd, outputFD: output[0], errorFD: error[0], inputFD: input[1])
        running[request.id.value] = child
        let base = request.id.value << 2
        let registered = baton_epoll_control(shared.epoll, 1, pidfd, RunnerLoop.readable, base | Stream.pidfd.rawValue) == 0
            && (input[1] < 0 || baton_epoll_control(shared.epoll, 1, input[1], RunnerLoop.writable, base | Stream.input.rawValue) == 0)
        precondition(registered, "epoll_ctl of child \(pid)'s descriptors failed: errno \(baton_errno())")
        child.watchPipesAt = started + Self.pipeWatchDelay
    }

    /// Adds a child's stdout and stderr pipes (those still open) to the epoll set.
    private func watchPipes(_ child: RunningChild) {
        child.watchPipesAt = nil
        let base = child.request.id.value << 2
        for (fd, stream) in [(child.outputFD, Stream.output), (child.errorFD, Stream.error)] where fd >= 0 {
            let registered = baton_epoll_control(shared.epoll, 1, fd, RunnerLoop.readable, base | stream.rawValue) == 0
            precondition(registered, "epoll_ctl of child \(child.pid)'s pipe failed: errno \(baton_errno())")
        }
    }

    private mutating func reap(_ child: RunningChild) {
        var exited: Int32 = 0, code: Int32 = 0
        let result = baton_reap(child.pid, &exited, &code)
        // ECHILD: another waiter in this process took its status (a waitpid on a stale pid that
        // the kernel gave to this child, or SIGCHLD ignored). Its pidfd said it ended: report
        // that, rather than take the whole process down.
        let lost = result < 0 && baton_errno() == ECHILD
        precondition(result >= 0 || lost, "waitpid(\(child.pid)) failed: errno \(baton_errno())")
        guard result == 1 || lost else { return }
        child.reaped = lost ? .statusLost : exited == 1 ? .exited(code) : .signaled(code)
        close(child.pidfd)
        child.pidfd = -1
        // Whatever it wrote before it exited is in the pipes now: take it, then close them even if
        // something it started still holds the other end.
        drain(child, .output)
        drain(child, .error)
        closeStream(child, .output)
        closeStream(child, .error)
        closeStream(child, .input)
        child.watchPipesAt = nil
        if child.endedBy != nil {
            killGroup(child, signal: 0)
            child.killAt = .now + child.recheck
        }
    }

    private mutating func drain(_ child: RunningChild, _ stream: Stream) {
        let fd = stream == .output ? child.outputFD : child.errorFD
        guard fd >= 0 else { return }
        let limit = child.request.spec.outputLimit
        var taken = 0
        while taken < Self.readSliceMax {
            let count = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                break  // any other error ends the stream
            }
            if count == 0 { break }
            taken += count
            let kept = stream == .output ? child.output.count : child.error.count
            let keep = min(count, max(0, limit - kept))
            if stream == .output {
                child.output.append(contentsOf: scratch[0..<keep])
                child.outputDropped += count - keep
            } else {
                child.error.append(contentsOf: scratch[0..<keep])
                child.errorDropped += count - keep
            }
            if taken >= Self.readSliceMax { return }  // level-triggered: the loop comes back
        }
        closeStream(child, stream)
    }

    private func feed(_ child: RunningChild) {
        guard child.inputFD >= 0 else { return }
        let bytes = child.request.spec.standardInput
        while child.inputOffset < bytes.count {
            let written = bytes.withUnsafeBytes { write(child.inputFD, $0.baseAddress! + child.inputOffset, $0.count - child.inputOffset) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                if errno == EPIPE { baton_clear_pending_sigpipe() }
                break  // the child closed its stdin: the rest is not wanted
            }
            child.inputOffset += written
        }
        closeStream(child, .input)
    }

    private func closeStream(_ child: RunningChild, _ stream: Stream) {
        switch stream {
        case .output: if child.outputFD >= 0 { close(child.outputFD); child.outputFD = -1 }
        case .error: if child.errorFD >= 0 { close(child.errorFD); child.errorFD = -1 }
        case .input: if child.inputFD >= 0 { close(child.inputFD); child.inputFD = -1 }
        case .pidfd: break
        }
    }

    /// Signals the child's group; once the child is reaped, notes whether the group is gone:
    /// no process left, or only zombies (orphans that init has not reaped yet: they run
    /// nothing, and on this test bed init reaps only every two seconds or so).
    private func killGroup(_ child: RunningChild, signal: Int32) {
        let delivered = kill(-child.pid, signal) == 0
        let code = errno
        guard child.reaped != nil else { return }
        if !delivered && code == ESRCH {
            child.groupGone = true
        } else if delivered && signal != SIGTERM {
            child.groupGone = baton_group_has_live_process(child.pid) == 0
        }
    }

    private func tick(_ child: RunningChild, now: ContinuousClock.Instant) {
        if let at = child.watchPipesAt, at <= now, child.reaped == nil { watchPipes(child) }
        if child.endedBy == nil, let deadline = child.deadline, deadline <= now {
            child.endedBy = .timedOut
            let grace = child.request.spec.killGrace
            killGroup(child, signal: grace > .zero ? SIGTERM : SIGKILL)
            if grace > .zero { child.graceEnd = now + grace }
            child.killAt = now + (grace > .zero ? grace : (child.reaped == nil ? killRepeat : child.recheck))
        }
        if let killAt = child.killAt, killAt <= now, !child.groupGone {
            // During the SIGTERM grace a reaped child's group is only probed (signal 0).
            killGroup(child, signal: (child.graceEnd ?? now) > now ? 0 : SIGKILL)
            if child.reaped == nil {
                child.killAt = now + killRepeat
            } else {
                // Reaped: what is left are its descendants dying (or being reaped by init);
                // look again soon, backing off to the kill period.
                child.recheck = min(child.recheck * 2, killRepeat)
                child.killAt = now + child.recheck
            }
        }
    }

    private mutating func finishDone() {
        // At every pass of the loop: no array unless a child has finished.
        guard running.values.contains(where: \.finished) else { return }
        let done = running.values.filter(\.finished)
        let now = ContinuousClock.now
        for child in done.sorted(by: { $0.started < $1.started }) {
            running[child.request.id.value] = nil
            precondition(child.pidfd < 0 && child.outputFD < 0 && child.errorFD < 0 && child.inputFD < 0, "child \(child.pid) finished with a descriptor open")
            let outcome = ChildOutcome(
                exit: child.endedBy ?? child.reaped!, standardOutput: child.output, standardError: child.error,
                standardOutputDropped: child.outputDropped, standardErrorDropped: child.errorDropped, pid: child.pid,
                queueTime: child.started - child.request.submitted, runTime: now - child.started, problem: nil)
            child.request.completion(outcome)
        }
    }
}
