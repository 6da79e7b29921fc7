import ChildProcess
import Foundation
import Glibc

/// A child a test started (ChildProcess's `SpawnedChild`: reaped once, never signalled or
/// waited for again after that: every test target runs in one process, and a pid the kernel
/// hands out anew may by then be another test's child), in a process group of its own, with
/// the exit status as a shell shows it (128 + signal when killed, -1 when unknown).
public final class TestChild: Sendable {
    public let child: SpawnedChild
    public var pid: pid_t { child.pid }

    private init(_ child: SpawnedChild) { self.child = child }

    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        case path(String)
        case descriptor(Int32)
    }

    /// Starts `arguments` (`arguments[0]` looked up in PATH when it has no slash), stdout and
    /// stderr onto the given descriptors, the environment given or this process's. A spawn that
    /// meets ETXTBSY is tried again until `Patience.deadline`: a program a test has just copied
    /// can still be open for writing in a child that another test forked in between and that
    /// has not reached its exec yet; that passes.
    public static func spawn(
        _ arguments: [String], stdin: Input = .path("/dev/null"), stdout: Int32, stderr: Int32,
        environment: [String: String]? = nil
    ) throws -> TestChild {
        precondition(!arguments.isEmpty, "spawn without a program")
        var input: Int32
        switch stdin {
        case .path(let path):
            input = open(path, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { throw TestFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        case .descriptor(let fd): input = fd
        }
        defer { if case .path = stdin { close(input) } }
        do {
            return TestChild(try SpawnedChild.spawn(arguments[0], Array(arguments.dropFirst()), environment: environment,
                                                    standardInput: input, standardOutput: stdout, standardError: stderr,
                                                    retryBusyFor: Patience.deadline))
        } catch {
            throw TestFailure(error.description)
        }
    }

    /// The exit status, or nil while running. Reaps the child the first time it has ended.
    public func poll() -> Int32? { child.poll()?.shellStatus }

    /// Sends `number` to the child alone, unless it has been reaped.
    public func signal(_ number: Int32) { child.signal(number) }

    /// SIGKILL to its process group and wait, unless it has been reaped; the exit status.
    @discardableResult
    public func killAndReap() -> Int32 { child.killAndReap().shellStatus }

    /// Sends `number` to its process group, then waits for it; the exit status.
    @discardableResult
    public func signalAndReap(_ number: Int32) -> Int32 { child.signalAndReap(number).shellStatus }

    /// The same, waiting with Task.sleep: a long run must not hold one of the cooperative pool's
    /// threads (two on this machine) for its whole length, or the other tests' tasks starve.
    public static func run(_ arguments: [String], timeLimit: Duration = Patience.deadline) async throws -> (status: Int32, output: String) {
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
            try await Task.sleep(for: .milliseconds(20))
            status = child.poll()
        }
        return (status!, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    /// Runs `arguments` to its end (stdin /dev/null; stdout and stderr together into a temporary
    /// file), polling, killed at `timeLimit`. Synchronous, for short teardowns in `defer`: it
    /// blocks its thread (in a test, one of the cooperative pool's), so anything long uses `run`.
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
}
