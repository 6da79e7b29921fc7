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

    /// SIGTERM to its process group, then its end polled for `limit` (blocking this thread:
    /// for teardowns), SIGKILL past it; the exit status. A program that hangs in its own
    /// SIGTERM handling never holds a teardown: Debian's corosync-qdevice was seen stuck on a
    /// futex after SIGTERM (a loaded clean run), and a plain signal-and-wait waited forever.
    @discardableResult
    public func terminate(within limit: Duration = .seconds(15)) -> Int32 {
        child.signalGroup(SIGTERM)
        do {
            return try finishBlocking(within: limit, "pid \(pid) after SIGTERM")
        } catch {
            print("\(error): killed")
            return killAndReap()  // the recorded end of finishBlocking's kill
        }
    }

    /// Waits for the end, polling with Task.sleep (a long wait must not hold one of the
    /// cooperative pool's threads, two on this machine, or the other tests' tasks starve);
    /// SIGKILL and a TestFailure naming `what` at `limit`. The exit status.
    public func finish(
        within limit: Duration, _ what: @autoclosure () -> String, interval: Duration = .milliseconds(10)
    ) async throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while true {
            if let status = try pollOrKill(deadline: deadline, limit: limit, what) { return status }
            try await Task.sleep(for: interval)
        }
    }

    /// The same, blocking its thread with usleep: for short teardowns in `defer` only.
    public func finishBlocking(within limit: Duration, _ what: @autoclosure () -> String) throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while true {
            if let status = try pollOrKill(deadline: deadline, limit: limit, what) { return status }
            usleep(10_000)
        }
    }

    /// One step of both waits: the status once ended; past the deadline, killed and a failure.
    private func pollOrKill(deadline: ContinuousClock.Instant, limit: Duration, _ what: () -> String) throws -> Int32? {
        if let status = poll() { return status }
        guard ContinuousClock.now <= deadline else {
            killAndReap()
            throw TestFailure("\(what()) did not finish within \(limit)")
        }
        return nil
    }

    /// Runs `arguments` to its end (stdin /dev/null; stdout and stderr together into a temporary
    /// file), killed at `timeLimit`; waits with `finish`.
    public static func run(_ arguments: [String], timeLimit: Duration = Patience.deadline) async throws -> (status: Int32, output: String) {
        let output = try OutputFile()
        defer { output.remove() }
        let status = try await spawn(arguments, stdout: output.descriptor, stderr: output.descriptor)
            .finish(within: timeLimit, arguments.joined(separator: " "))
        return (status, output.text)
    }

    /// The same, synchronous (`finishBlocking`), for short teardowns in `defer`: anything long
    /// uses `run`.
    public static func runToEnd(_ arguments: [String], timeLimit: Duration = Patience.deadline) throws -> (status: Int32, output: String) {
        let output = try OutputFile()
        defer { output.remove() }
        let status = try spawn(arguments, stdout: output.descriptor, stderr: output.descriptor)
            .finishBlocking(within: timeLimit, arguments.joined(separator: " "))
        return (status, output.text)
    }
}

/// A temporary file a test's child writes its output into, read back once it has ended.
public struct OutputFile: Sendable {
    public let path: String
    public let descriptor: Int32

    public init(prefix: String = "baton-test") throws {
        path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString).out"
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    public var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Closes the descriptor and deletes the file (once, in a `defer`).
    public func remove() {
        close(descriptor)
        unlink(path)
    }
}
