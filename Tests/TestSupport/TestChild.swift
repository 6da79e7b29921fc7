import Foundation
import Glibc
import Synchronization

/// A child a test started with posix_spawn, waited for by polling waitpid(WNOHANG), so no
/// Foundation run loop or SIGCHLD handling is involved.
///
/// It remembers whether it has been reaped, and after that it neither signals nor waits for
/// its pid again: every test target runs in one process, and a pid the kernel hands out anew
/// (pid_max is 32768 here) may by then belong to a child another test started, through
/// ChildProcess for example. A second `waitpid` on it would take that child's exit status
/// (its owner then meets ECHILD), and a `kill` would hit the wrong process.
public final class TestChild: Sendable {
    public let pid: pid_t
    /// The exit status once reaped (128 + signal when killed; -1 when it could not be read).
    private let reaped = Mutex<Int32?>(nil)

    private init(pid: pid_t) { self.pid = pid }

    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        case path(String)
        case descriptor(Int32)
    }

    /// Starts `arguments` (`arguments[0]` looked up in PATH), with stdout and stderr dup2'ed from
    /// the given descriptors, the environment given or this process's, `closeInChild` closed.
    /// A spawn that meets ETXTBSY is tried again until `Patience.deadline`: a program a test has
    /// just copied can still be open for writing in a child that another test forked in between
    /// and that has not reached its exec yet; that passes.
    public static func spawn(
        _ arguments: [String], stdin: Input = .path("/dev/null"), stdout: Int32, stderr: Int32,
        environment: [String: String]? = nil, closeInChild: [Int32] = []
    ) throws -> TestChild {
        precondition(!arguments.isEmpty, "spawn without a program")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch stdin {
        case .path(let path): posix_spawn_file_actions_addopen(&actions, 0, path, O_RDONLY, 0)
        case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        for fd in closeInChild { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var environmentPointers: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { environmentPointers?.forEach { free($0) } }
        var pid: pid_t = 0
        var status: Int32
        let giveUp = ContinuousClock.now + Patience.deadline
        repeat {
            if environmentPointers != nil {
                status = environmentPointers!.withUnsafeMutableBufferPointer { posix_spawnp(&pid, arguments[0], &actions, nil, argv, $0.baseAddress) }
            } else {
                status = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
            }
            if status == ETXTBSY { usleep(10_000) }
        } while status == ETXTBSY && ContinuousClock.now < giveUp
        guard status == 0 else { throw TestFailure("posix_spawn \(arguments[0]): \(String(cString: strerror(status)))") }
        return TestChild(pid: pid)
    }

    /// The exit status (128 + signal when killed), or nil while running. Reaps the child the
    /// first time it has ended; later calls return the same status without a waitpid.
    public func poll() -> Int32? {
        reaped.withLock { reaped in
            if let status = reaped { return status }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == 0 { return nil }
            reaped = result == pid ? Self.decode(status) : -1
            return reaped
        }
    }

    /// Sends `number` unless the child has been reaped (its pid may be another process's now).
    public func signal(_ number: Int32) {
        reaped.withLock { reaped in
            if reaped == nil { _ = kill(pid, number) }
        }
    }

    /// SIGKILL and wait for it, unless it has been reaped already; returns the exit status.
    @discardableResult
    public func killAndReap() -> Int32 { signalAndReap(SIGKILL) }

    /// Sends `number`, then waits for the child to end; returns its exit status. Unless it has
    /// been reaped already.
    @discardableResult
    public func signalAndReap(_ number: Int32) -> Int32 {
        reaped.withLock { reaped in
            if let status = reaped { return status }
            _ = kill(pid, number)
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
            reaped = result == pid ? Self.decode(status) : -1
            return reaped!
        }
    }

    /// Runs `arguments` to its end (stdin /dev/null; stdout and stderr together into a temporary
    /// file), polling, killed at `timeLimit`. Synchronous, for teardowns in `defer`; it blocks
    /// its thread, so async callers run it off the cooperative pool or accept that.
    public static func runToEnd(_ arguments: [String], timeLimit: Duration = Patience.deadline) throws -> (status: Int32, output: String) {
        let path = NSTemporaryDirectory() + "baton-test-\(UUID().uuidString).out"
        let output = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw TestFailure("cannot open \(path)") }
        defer {
            close(output)
            unlink(path)
        }
        let child = try spawn(arguments, stdout: output, stderr: output)
        let deadline = ContinuousClock.now + timeLimit
        var status = child.poll()
        while status == nil {
            if ContinuousClock.now > deadline {
                child.killAndReap()
                throw TestFailure("\(arguments.joined(separator: " ")) did not finish within \(timeLimit)")
            }
            usleep(10_000)
            status = child.poll()
        }
        return (status!, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    private static func decode(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
