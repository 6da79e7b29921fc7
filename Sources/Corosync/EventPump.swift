import CCorosync
import Dispatch
import Synchronization

/// Watches one client-library handle's fd and turns its callbacks into an AsyncThrowingStream.
///
/// The read source runs on the handle's serial queue: `*_dispatch(CS_DISPATCH_ALL)` (which
/// runs the C callbacks on the calling thread) never runs on a Swift concurrency thread.
/// The stream ends with the library's error (CS_ERR_LIBRARY when corosync goes away),
/// with `.eventBufferOverflow` when its consumer falls too far behind, or normally on close.
/// The handle is finalized in the source's cancel handler: only after the fd is no longer
/// watched, as libdispatch requires before its fd may be closed.
final class EventPump<Event: Sendable>: Sendable {
    let queue: DispatchQueue
    let stream: AsyncThrowingStream<Event, any Error>
    let bufferLimit: Int
    private let continuation: AsyncThrowingStream<Event, any Error>.Continuation
    private let state = Mutex(State())

    /// Proof for `@unchecked Sendable`: libdispatch objects are thread-safe (resume and cancel
    /// may be called from any thread), and besides, this source is only resumed (in `start`)
    /// and cancelled (in `stopOnQueue`) on `queue`, which both check with dispatchPrecondition.
    struct SourceBox: @unchecked Sendable {
        let source: any DispatchSourceRead
    }

    private struct State {
        var source: SourceBox?
        var failure: CorosyncError?
        var stopping = false
        var finalized = false
        var finalize: (@Sendable () -> Void)?
    }

    init(queue: DispatchQueue, bufferLimit: Int) {
        precondition(bufferLimit >= 1, "EventPump: bufferLimit must be at least 1, is \(bufferLimit)")
        self.queue = queue
        self.bufferLimit = bufferLimit
        (stream, continuation) = AsyncThrowingStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(bufferLimit))
    }

    /// Called by C callbacks, on `queue`. A dropped event ends the stream: silently losing a
    /// membership change or a message would break the ordering guarantees callers rely on.
    func yield(_ event: Event) {
        if case .dropped = continuation.yield(event) {
            state.withLock { if $0.failure == nil { $0.failure = .eventBufferOverflow(limit: bufferLimit) } }
        }
    }

    /// Starts watching `fd`. `dispatch` runs `*_dispatch`; `finalize` runs `*_finalize` once.
    func start(fd: Int32, dispatchFunction: String, dispatch: @escaping @Sendable () -> cs_error_t,
               finalize: @escaping @Sendable () -> Void) {
        precondition(fd >= 0, "EventPump.start: bad fd \(fd)")
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [self] in
            let status = dispatch()
            if status != CS_OK && status != CS_ERR_TRY_AGAIN {
                state.withLock { if $0.failure == nil { $0.failure = .call(function: dispatchFunction, status: CorosyncStatus(status)) } }
            }
            if let failure = state.withLock({ $0.failure }) { stopOnQueue(failure) }
        }
        source.setCancelHandler { [self] in finishOnQueue() }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.queue.async { self.stopOnQueue(nil) }
        }
        // On `queue` (the event handler cannot run before this returns), so resuming before
        // the source is stored is safe; the source is not touched here after it is stored.
        dispatchPrecondition(condition: .onQueue(queue))
        source.resume()
        state.withLock {
            precondition($0.source == nil, "EventPump.start called twice")
            $0.source = SourceBox(source: source)
            $0.finalize = finalize
        }
    }

    /// Hands a freshly opened handle to the pump (the common tail of opening a cpg, quorum or
    /// votequorum handle): the handle's context is set to `owner`, which the handle keeps
    /// retained until it is finalized; `fd` is watched, `dispatch` runs `LIBRARY_dispatch`, and
    /// `finalize` runs `LIBRARY_finalize` once, when the pump stops. On `queue`.
    func attach<Owner: AnyObject & Sendable>(
        _ owner: Owner, library: String, fd: Int32, setContext: (UnsafeMutableRawPointer) -> Void,
        dispatch: @escaping @Sendable () -> cs_error_t, finalize: @escaping @Sendable () -> Void
    ) {
        let context = Unmanaged.passRetained(owner)
        setContext(context.toOpaque())
        start(fd: fd, dispatchFunction: library + "_dispatch", dispatch: dispatch, finalize: {
            finalize()
            context.release()
        })
    }

    /// The status of a call made right after `attach` (`*_trackstart`): on failure the pump
    /// is stopped, which finalizes the handle, and the error is thrown. On `queue`.
    func checkAfterAttach(_ status: cs_error_t, _ function: String) throws(CorosyncError) {
        guard status != CS_OK else { return }
        let error = CorosyncError.call(function: function, status: CorosyncStatus(status))
        stopOnQueue(error)
        throw error
    }

    /// Stops watching, finalizes the handle, ends the stream (with `failure` if given). On `queue`.
    func stopOnQueue(_ failure: CorosyncError?) {
        dispatchPrecondition(condition: .onQueue(queue))
        let box: SourceBox? = state.withLock {
            if let failure, $0.failure == nil { $0.failure = failure }
            if $0.stopping { return nil }
            $0.stopping = true
            return $0.source
        }
        if let box { box.source.cancel() } else if state.withLock({ $0.source == nil }) { finishOnQueue() }
    }

    private func finishOnQueue() {
        let taken: (finalize: (@Sendable () -> Void)?, failure: CorosyncError?)? = state.withLock {
            if $0.finalized { return nil }
            $0.finalized = true
            $0.source = nil
            return ($0.finalize, $0.failure)
        }
        guard let (finalize, failure) = taken else { return }
        finalize?()
        state.withLock { $0.finalize = nil }
        if let failure { continuation.finish(throwing: failure) } else { continuation.finish() }
    }

    var isStopped: Bool { state.withLock { $0.stopping } }
}

/// Runs the calls that follow a handle's initialisation; if one fails, the handle (which
/// nothing else owns yet) is finalized before the error goes on.
func finalizingOnFailure<T>(_ finalize: () -> Void, _ body: () throws(CorosyncError) -> T) throws(CorosyncError) -> T {
    do throws(CorosyncError) {
        return try body()
    } catch {
        finalize()
        throw error
    }
}
