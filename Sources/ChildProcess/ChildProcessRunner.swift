import CChildProcess
import Glibc
import Synchronization

/// The project's one way to start a process: bounded in every direction, with no thread per
/// child. One event-loop thread per runner waits (epoll) on every child's pidfd and pipes and on
/// the earliest deadline; requests beyond `concurrencyMax` wait in a queue of at most `queueMax`.
///
/// Each child runs in its own process group (as pacemaker-execd runs agents), so a timeout or a
/// cancel ends everything it started: SIGTERM to the group, SIGKILL after the request's grace,
/// and SIGKILL again every `killRepeat` until no process of the group is left (a grandchild that
/// forked away in the meantime is caught by the next round). A child that exits by itself keeps
/// its group: an agent that starts a daemon leaves the daemon running. Its pipes are drained at
/// its exit and closed (a daemon that kept them gets EPIPE, not a reader forever).
///
/// Every descriptor is close-on-exec and each child closes all but 0-2 (closefrom), children are
/// reaped by pid as their pidfd fires (no zombie, and nobody else's child is reaped), and
/// completions run on the runner's thread in the order children end: they must be quick (hop to
/// the caller's own loop for real work).
public final class ChildProcessRunner: Sendable {
    public let concurrencyMax: Int
    public let queueMax: Int
    public let killRepeat: Duration
    private let shared: RunnerShared
    private let thread: pthread_t

    public static let concurrencyLimitMax = 4096

    /// Throws when the kernel refuses the runner's epoll or eventfd descriptor, or its thread.
    public init(concurrencyMax: Int = 32, queueMax: Int = 100_000, killRepeat: Duration = .seconds(1)) throws(ChildProcessError) {
        precondition((1...Self.concurrencyLimitMax).contains(concurrencyMax), "concurrencyMax \(concurrencyMax) outside 1...\(Self.concurrencyLimitMax)")
        precondition(queueMax >= 0, "queueMax \(queueMax) is negative")
        precondition(killRepeat > .zero, "killRepeat must be positive")
        self.concurrencyMax = concurrencyMax
        self.queueMax = queueMax
        self.killRepeat = killRepeat
        let epoll = baton_epoll_create()
        guard epoll >= 0 else { throw ChildProcessError("epoll_create1", errno: baton_errno()) }
        let wake = baton_eventfd()
        guard wake >= 0 else {
            let code = baton_errno()
            close(epoll)
            throw ChildProcessError("eventfd", errno: code)
        }
        guard baton_epoll_control(epoll, 1, wake, RunnerLoop.readable, RunnerLoop.wakeToken) == 0 else {
            let code = baton_errno()
            close(epoll)
            close(wake)
            throw ChildProcessError("epoll_ctl(eventfd)", errno: code)
        }
        shared = RunnerShared(epoll: epoll, wake: wake)
        let loop = LoopStart(shared: shared, concurrencyMax: concurrencyMax, queueMax: queueMax, killRepeat: killRepeat)
        let context = Unmanaged.passRetained(loop).toOpaque()
        var handle = pthread_t()
        let created = pthread_create(&handle, nil, { raw in
            let start = Unmanaged<LoopStart>.fromOpaque(raw!).takeRetainedValue()
            baton_block_sigpipe()
            start.shared.loopThread.store(UInt(pthread_self()), ordering: .relaxed)
            var loop = RunnerLoop(shared: start.shared, concurrencyMax: start.concurrencyMax, queueMax: start.queueMax, killRepeat: start.killRepeat)
            loop.run()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<LoopStart>.fromOpaque(context).release()
            shared.closeDescriptors()
            throw ChildProcessError("pthread_create", errno: created)
        }
        thread = handle
    }

    deinit { shutdown() }

    /// Queues `spec`; `completion` runs once, on the runner's thread, when the child and (after a
    /// kill) its whole group are gone, or at once for a refused request.
    @discardableResult
    public func run(_ spec: ChildProcessSpec, completion: @escaping @Sendable (ChildOutcome) -> Void) -> ChildID {
        let submitted = ContinuousClock.now
        let id = shared.inbox.withLock { inbox -> ChildID? in
            guard !inbox.stopping else { return nil }
            inbox.nextID += 1
            let id = ChildID(value: inbox.nextID)
            inbox.requests.append(Request(id: id, spec: spec, submitted: submitted, completion: completion))
            shared.wakeLockedUnlessOnLoop()
            return id
        }
        guard let id else {
            completion(ChildOutcome.notRun(.cancelled, problem: "the runner is shut down", submitted: submitted))
            return ChildID(value: 0)
        }
        return id
    }

    /// Runs `spec` to its end.
    public func run(_ spec: ChildProcessSpec) async -> ChildOutcome {
        await withCheckedContinuation { continuation in
            run(spec) { continuation.resume(returning: $0) }
        }
    }

    /// Sets the runner's one alarm: `handler` runs once on the runner's thread at `deadline` (or
    /// as soon after as the thread is free), unless a later call replaces or clears (nil) it
    /// first. For a caller that schedules its own work next to its children (the executor's
    /// start-delays and recurring operations): no timer thread of its own, no hop between two
    /// threads per wake-up, and what the handler asks `run` for starts in the same loop pass.
    public func setAlarm(_ deadline: ContinuousClock.Instant?, handler: @escaping @Sendable () -> Void) {
        shared.inbox.withLock { inbox in
            guard !inbox.stopping else { return }
            inbox.alarmGeneration += 1
            inbox.alarm = deadline.map { Alarm(deadline: $0, generation: inbox.alarmGeneration, handler: handler) }
            shared.wakeLockedUnlessOnLoop()
        }
    }

    /// Ends a queued request (never started) or a running child (its group killed as at a
    /// timeout, exit `.cancelled`). Nothing for an unknown or finished one.
    public func cancel(_ id: ChildID) {
        shared.inbox.withLock { inbox in
            guard !inbox.stopping else { return }
            inbox.cancels.append(id)
            shared.wakeLocked()
        }
    }

    /// Children running and requests queued, as the loop last saw them.
    public var load: (running: Int, queued: Int) {
        shared.inbox.withLock { ($0.running, $0.queued) }
    }

    /// Cancels every queued request, kills every running child's group, waits for them to be
    /// gone, stops the thread and closes the runner's descriptors. Idempotent. Called from a
    /// completion (the runner's own thread), it cannot wait for itself: the thread then ends
    /// after this completion and the descriptors close with the last reference.
    public func shutdown() {
        let first = shared.inbox.withLock { inbox -> Bool in
            guard !inbox.stopping else { return false }
            inbox.stopping = true
            shared.wakeLocked()
            return true
        }
        guard first else { return }
        if pthread_equal(pthread_self(), thread) != 0 {
            pthread_detach(thread)
            return
        }
        pthread_join(thread, nil)
        shared.closeDescriptors()
    }
}

/// A failure of the runner's own set-up, with the call and its errno.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32
    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }
    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

struct Request: Sendable {
    let id: ChildID
    let spec: ChildProcessSpec
    let submitted: ContinuousClock.Instant
    let completion: @Sendable (ChildOutcome) -> Void
}

struct Alarm: Sendable {
    let deadline: ContinuousClock.Instant
    let generation: UInt64
    let handler: @Sendable () -> Void
}

struct Inbox: Sendable {
    var nextID: UInt64 = 0
    var alarm: Alarm?
    var alarmGeneration: UInt64 = 0
    var requests: [Request] = []
    var cancels: [ChildID] = []
    var stopping = false
    var running = 0
    var queued = 0
}

/// What the caller's threads and the loop thread share: the inbox under a mutex, and two
/// descriptors that live as long as the runner.
final class RunnerShared: Sendable {
    let inbox = Mutex(Inbox())
    let descriptorsOpen = Mutex(true)
    let epoll: Int32
    let wake: Int32
    /// The loop thread's pthread_t once it runs (0 before): a request made on that thread (from
    /// a completion or the alarm) needs no eventfd wake-up, the loop takes its inbox again
    /// before it waits.
    let loopThread = Atomic<UInt>(0)

    init(epoll: Int32, wake: Int32) {
        self.epoll = epoll
        self.wake = wake
    }

    /// Wakes the loop; only under the inbox lock, while not stopped (so never after the
    /// descriptors are closed).
    func wakeLocked() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    func wakeLockedUnlessOnLoop() {
        if loopThread.load(ordering: .relaxed) != UInt(pthread_self()) { wakeLocked() }
    }

    /// After the loop thread has ended.
    func closeDescriptors() {
        descriptorsOpen.withLock { open in
            guard open else { return }
            open = false
            close(epoll)
            close(wake)
        }
    }

    deinit { closeDescriptors() }
}

final class LoopStart: Sendable {
    let shared: RunnerShared
    let concurrencyMax: Int
    let queueMax: Int
    let killRepeat: Duration
    init(shared: RunnerShared, concurrencyMax: Int, queueMax: Int, killRepeat: Duration) {
        self.shared = shared
        self.concurrencyMax = concurrencyMax
        self.queueMax = queueMax
        self.killRepeat = killRepeat
    }
}

extension ChildOutcome {
    static func notRun(_ exit: ChildExit, problem: String, submitted: ContinuousClock.Instant) -> ChildOutcome {
        ChildOutcome(
            exit: exit, standardOutput: [], standardError: [], standardOutputDropped: 0, standardErrorDropped: 0, pid: 0,
            queueTime: ContinuousClock.now - submitted, runTime: .zero, problem: problem)
    }
}
