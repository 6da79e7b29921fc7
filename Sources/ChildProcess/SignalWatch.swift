import CChildProcess
import Dispatch
import Glibc
import Synchronization

/// A daemon's signals (SIGTERM, SIGINT, SIGHUP, SIGUSR1 …) turned into calls, with no instant at
/// which one is ignored or lost.
///
/// Why not a bare `DispatchSource.makeSignalSource`: on Linux it needs the signal set to
/// SIG_IGN first (so that it does not kill the process), and libdispatch installs its own
/// handler only later, on its manager thread, when it registers the source. A SIGTERM that
/// arrived in between was dropped by the kernel as ignored: batond, started and told to stop
/// within that fraction of a millisecond, ran on (caught by watching /proc/PID/status's SigIgn
/// during start-up). Here `init` installs the handler itself, synchronously, before it returns:
/// until then the signal keeps its default action (a daemon stopped that early simply ends),
/// after it every signal reaches `action`. The handler only writes the signal's number to a
/// self-pipe; a dispatch read source on the pipe calls `action` on a global queue (several
/// arrivals of one signal before the read may be delivered as one, as with any signal).
///
/// Several watches may live in one process (tests); one signal has at most one watch. Ending
/// a watch (deinit) puts its signals back to their default action.
public final class SignalWatch: Sendable {
    public let signals: [Int32]

    private static let registry = Mutex<Registry>(Registry())

    private struct Registry: ~Copyable {
        var actions: [Int32: @Sendable (Int32) -> Void] = [:]
        var reader: (any DispatchSourceRead)?
    }

    public struct Failure: Error, CustomStringConvertible, Equatable, Sendable {
        public let description: String
    }

    /// Catches each of `signals` at once and calls `action` with the signal's number for each
    /// arrival. Throws when a signal already has a watch or the kernel refuses (the reason).
    public init(signals: [Int32], action: @escaping @Sendable (Int32) -> Void) throws(Failure) {
        precondition(!signals.isEmpty, "SignalWatch: no signal to watch")
        precondition(signals.allSatisfy { $0 > 0 && $0 < 65 && $0 != SIGKILL && $0 != SIGSTOP },
                     "SignalWatch: \(signals) holds a signal that cannot be caught")
        // Registered before `signals` is set: a watch that throws is never fully initialized,
        // so its deinit (which would release another watch's signals) does not run.
        let result: Result<Void, Failure> = Self.registry.withLock { registry in
            if let taken = signals.first(where: { registry.actions[$0] != nil }) {
                return .failure(Failure(description: "signal \(taken) is already watched"))
            }
            let pipe = baton_signal_pipe_open()
            guard pipe >= 0 else {
                return .failure(Failure(description: "cannot open the signal pipe: \(String(cString: strerror(baton_errno())))"))
            }
            if registry.reader == nil {
                let reader = DispatchSource.makeReadSource(fileDescriptor: pipe, queue: .global())
                reader.setEventHandler { Self.drain(pipe) }
                reader.resume()
                registry.reader = reader
            }
            for number in signals { registry.actions[number] = action }
            for (index, number) in signals.enumerated() where baton_signal_catch(number) != 0 {
                let reason = String(cString: strerror(baton_errno()))
                for caught in signals[..<index] { _ = baton_signal_default(caught) }
                for number in signals { registry.actions[number] = nil }
                return .failure(Failure(description: "cannot catch signal \(number): \(reason)"))
            }
            return .success(())
        }
        try result.get()
        self.signals = signals
    }

    deinit {
        Self.registry.withLock { registry in
            for number in signals {
                _ = baton_signal_default(number)
                registry.actions[number] = nil
            }
        }
    }

    /// What the kernel does with `number` now: for tests and diagnostics.
    public enum Disposition: Equatable, Sendable {
        case defaultAction, ignored, watched, otherHandler
    }

    public static func disposition(of number: Int32) -> Disposition? {
        switch baton_signal_disposition(number) {
        case 0: .defaultAction
        case 1: .ignored
        case 2: .watched
        case 3: .otherHandler
        default: nil
        }
    }

    /// Reads every byte waiting in the pipe and calls each signal's action once per byte.
    private static func drain(_ pipe: Int32) {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(pipe, $0.baseAddress, $0.count) }
            if count < 0, baton_errno() == EINTR { continue }
            guard count > 0 else { return }
            for byte in buffer[..<count] {
                let number = Int32(byte)
                if let action = registry.withLock({ $0.actions[number] }) { action(number) }
            }
        }
    }
}
