import CChildProcess
import Glibc
import Synchronization

/// A child that outlives the call that starts it: a daemon the demo, a benchmark or a test
/// starts, watches and stops. (A bounded run with a timeout and captured output is
/// `ChildProcessRunner`'s.) Spawned as the runner spawns: no PATH search unless the name has no
/// slash, every signal at its default and none blocked, every descriptor other than 0–2 closed.
///
/// It is reaped once, and after that it is neither signalled nor waited for again: a pid the
/// kernel hands out anew (pid_max is 32768 here) may by then be another child's of this
/// process, and a second waitpid would take that child's exit status (its owner then meets
/// ECHILD) while a kill would hit the wrong process.
public final class SpawnedChild: Sendable {
    public let pid: pid_t
    /// Whether it leads a process group of its own (then `signalGroup` reaches what it forks).
    public let ownGroup: Bool
    private let ended = Mutex<Ended?>(nil)

    /// How it ended, and what it used when a blocking wait collected it.
    private struct Ended {
        var exit: ChildExit
        var usage: ChildUsage?
    }

    private init(pid: pid_t, ownGroup: Bool) {
        self.pid = pid
        self.ownGroup = ownGroup
    }

    /// Starts `executable` with `arguments`. `environment` nil: this process's. `standardInput`
    /// -1: /dev/null. `ownGroup`: a process group of its own (so that its whole group can be
    /// killed), or this process's (so that a Ctrl-C at the terminal reaches it as well).
    /// `retryBusyFor`: how long a spawn that meets ETXTBSY is tried again (a program just copied
    /// can be held open for writing, for a moment, by a child another thread forked in between).
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        standardInput: Int32 = -1, standardOutput: Int32, standardError: Int32,
        workingDirectory: String? = nil, ownGroup: Bool = true, retryBusyFor: Duration = .zero
    ) throws(SpawnError) -> SpawnedChild {
        let path = try resolve(executable)
        let command = CommandBlock(arguments: [executable] + arguments, environment: environment ?? currentEnvironment())
        let giveUp = ContinuousClock.now + retryBusyFor
        while true {
            var pid: pid_t = 0
            let result = withExtendedLifetime(command) {
                baton_spawn_grouped(&pid, path, command.argv, command.envp, workingDirectory, standardInput, standardOutput,
                                    standardError, ownGroup ? 1 : 0)
            }
            if result == 0 { return SpawnedChild(pid: pid, ownGroup: ownGroup) }
            guard result == ETXTBSY, ContinuousClock.now < giveUp else { throw SpawnError(executable: executable, code: result) }
            usleep(10_000)
        }
    }

    /// How it ended, or nil while it runs. Reaps it the first time it has ended.
    public func poll() -> ChildExit? {
        ended.withLock { ended in
            if let ended { return ended.exit }
            var exited: Int32 = 0, code: Int32 = 0
            let result = baton_reap(pid, &exited, &code)
            if result == 0 { return nil }
            let exit: ChildExit = result < 0 ? .statusLost : exited == 1 ? .exited(code) : .signaled(code)
            ended = Ended(exit: exit, usage: nil)
            return exit
        }
    }

    /// Waits for it to end (blocking this thread) and returns how; its resource usage is then in
    /// `usage`.
    @discardableResult
    public func wait() -> ChildExit {
        ended.withLock { ended in Self.collect(pid, &ended) }
    }

    /// CPU time and peak memory, when `wait` (or a reaping signal call) collected it.
    public var usage: ChildUsage? { ended.withLock { $0?.usage } }

    /// Sends `number` to it alone, unless it has been reaped.
    public func signal(_ number: Int32) {
        ended.withLock { ended in
            if ended == nil { _ = kill(pid, number) }
        }
    }

    /// Sends `number` to its whole process group (to it alone when it has none of its own),
    /// unless it has been reaped: then its group may be gone or another's.
    public func signalGroup(_ number: Int32) {
        ended.withLock { ended in
            if ended == nil { _ = kill(ownGroup ? -pid : pid, number) }
        }
    }

    /// Sends `number` (to its group when it has one), then waits for it to end; returns how it
    /// ended (the recorded end if it had been reaped already).
    @discardableResult
    public func signalAndReap(_ number: Int32) -> ChildExit {
        ended.withLock { ended in
            if let ended { return ended.exit }
            _ = kill(ownGroup ? -pid : pid, number)
            return Self.collect(pid, &ended)
        }
    }

    /// SIGKILL (to its group when it has one) and wait.
    @discardableResult
    public func killAndReap() -> ChildExit { signalAndReap(SIGKILL) }

    private static func collect(_ pid: pid_t, _ ended: inout Ended?) -> ChildExit {
        if let ended { return ended.exit }
        var exited: Int32 = 0, code: Int32 = 0
        var cpu: Int64 = 0, peak: Int64 = 0
        let result = baton_wait_usage(pid, &exited, &code, &cpu, &peak)
        let exit: ChildExit = result < 0 ? .statusLost : exited == 1 ? .exited(code) : .signaled(code)
        ended = Ended(exit: exit, usage: result < 0 ? nil : ChildUsage(cpuSeconds: Double(cpu) / 1e6, peakKilobytes: Int(peak)))
        return exit
    }

    /// `name` itself when it has a slash; otherwise the first executable `name` in PATH.
    private static func resolve(_ name: String) throws(SpawnError) -> String {
        if name.contains("/") { return name }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw SpawnError(executable: name, code: ENOENT)
    }

    private static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}

/// What a child used, from wait4.
public struct ChildUsage: Sendable, Equatable {
    /// User + system CPU seconds.
    public let cpuSeconds: Double
    /// Peak resident memory (ru_maxrss), its own alone.
    public let peakKilobytes: Int
}

/// A child that could not be started: which program, and the error.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public let executable: String
    public let code: Int32
    public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
}

extension ChildExit {
    /// The status a shell would show: the exit code, or 128 + the signal; -1 when unknown.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        default: -1
        }
    }
}
