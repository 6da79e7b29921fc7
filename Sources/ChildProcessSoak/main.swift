// baton-child-soak [RUNS [SEED [CONCURRENCY]]]: the child-process primitive's property run.
// Random children (exit codes, output sizes against random limits, stdin, timeouts, children
// that ignore SIGTERM, fork grandchildren that outlive them or hide from the kill, kill
// themselves, cannot be spawned), each outcome checked against what the child was told to do;
// then, after the runner's shutdown: no process left in any group it made, no zombie child,
// the same descriptors and threads as before the runner. Prints figures and exits 0, or prints
// every violation (with the seed to replay) and exits 1. Run by Tests/ChildProcessTests.
import CChildProcess
import ChildProcess
import GeoSimulation
import Glibc
import Synchronization

let arguments = CommandLine.arguments
let runs = arguments.count > 1 ? Int(arguments[1]) ?? 10_000 : 10_000
let seed = arguments.count > 2 ? UInt64(arguments[2]) ?? 1 : 1
let concurrency = arguments.count > 3 ? Int(arguments[3]) ?? 32 : 32

enum Kind: String, CaseIterable {
    case exitCode, output, input, sleepTimeout, ignoreTerm, grandchildren, hidingGrandchild, ownSignal, missing, closedInput
}

struct Expectation: Sendable {
    let kind: String
    let exit: ChildExit?
    let outputSize: Int?
    let limit: Int
    let input: [UInt8]
}

func descriptors() -> Set<String> {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    defer { closedir(directory) }
    var names = Set<String>()
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { names.insert(name) }
    }
    names.remove(String(dirfd(directory)))
    return names
}

/// (pid, ppid, pgrp, state) of every process, from /proc/PID/stat.
func processes() -> [(pid: Int32, parent: Int32, group: Int32, state: Character)] {
    guard let directory = opendir("/proc") else { return [] }
    defer { closedir(directory) }
    var found: [(Int32, Int32, Int32, Character)] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        guard let pid = Int32(name), let file = fopen("/proc/\(name)/stat", "re") else { continue }
        var buffer = [CChar](repeating: 0, count: 1024)
        let line = fgets(&buffer, 1024, file) != nil
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        fclose(file)
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        guard let close = line.lastIndex(of: ")") else { continue }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let state = fields[0].first, let parent = Int32(fields[1]), let group = Int32(fields[2]) else { continue }
        found.append((pid, parent, group, state))
    }
    return found
}

func sh(_ script: String) -> (String, [String]) { ("/bin/sh", ["-c", script]) }

func soak(runs: Int, seed: UInt64, concurrency: Int) throws -> Int32 {
    var generator = SeededGenerator(seed: seed)
    let fdsBefore = descriptors()
    let threadsBefore = baton_thread_count()
    let started = ContinuousClock.now
    let runner = try ChildProcessRunner(concurrencyMax: concurrency, killRepeat: .milliseconds(200))
    let violations = Mutex<[String]>([])
    let groups = Mutex<Set<Int32>>([])
    let counts = Mutex<[String: Int]>([:])
    let finished = Mutex(0)

    for index in 0..<runs {
        let kind = Kind.allCases[Int(generator.next() % UInt64(Kind.allCases.count))]
        let code = Int32(generator.next() % 256)
        let limit = Int(generator.next() % (48 << 10))
        var spec = ChildProcessSpec(executable: "/bin/sh", environment: ["PATH": "/usr/bin:/bin"], outputLimit: limit)
        var expected: ChildExit? = nil
        var size: Int? = nil
        var input: [UInt8] = []
        let timeout = Duration.milliseconds(Int64(generator.next() % 60))
        let grace = Duration.milliseconds(Int64(generator.next() % 30))
        func script(_ text: String) { spec.arguments = ["-c", text] }
        switch kind {
        case .exitCode:
            script("exit \(code)"); expected = .exited(code); size = 0
        case .output:
            let bytes = Int(generator.next() % (128 << 10))
            script("head -c \(bytes) /dev/zero; echo oops >&2; exit \(code)"); expected = .exited(code); size = bytes
        case .input:
            input = (0..<Int(generator.next() % (96 << 10))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            spec.standardInput = input
            script("exec cat"); expected = .exited(0); size = input.count
        case .sleepTimeout:
            script("sleep 30"); spec.timeout = timeout; spec.killGrace = grace; expected = .timedOut
        case .ignoreTerm:
            script("trap '' TERM; sleep 30 & wait; sleep 30"); spec.timeout = timeout; spec.killGrace = grace; expected = .timedOut
        case .grandchildren:
            // Grandchildren that outlive the child by a little (it exits first), no timeout.
            script("sleep 0.0\(generator.next() % 10) & (sleep 0.02; exit 3) & exit \(code)"); expected = .exited(code)
        case .hidingGrandchild:
            // A grandchild that ignores SIGTERM and keeps the pipes open, then the child times out.
            script("(trap '' TERM; exec sleep 30) & trap '' TERM; sleep 30"); spec.timeout = timeout; spec.killGrace = grace; expected = .timedOut
        case .ownSignal:
            script("kill -USR1 $$; sleep 1"); expected = .signaled(SIGUSR1)
        case .missing:
            spec.executable = "/nonexistent/agent-\(index)"; expected = .spawnFailed(errno: ENOENT)
        case .closedInput:
            spec.standardInput = [UInt8](repeating: 7, count: 1 << 20)
            script("exec 0<&-; exit \(code)"); expected = .exited(code); size = 0
        }
        let expectation = Expectation(kind: kind.rawValue, exit: expected, outputSize: size, limit: limit, input: input)
        runner.run(spec) { outcome in
            var problems: [String] = []
            if let exit = expectation.exit, outcome.exit != exit { problems.append("exit \(outcome.exit), expected \(exit)") }
            if let size = expectation.outputSize {
                let kept = min(size, expectation.limit)
                if outcome.standardOutput.count != kept || outcome.standardOutputDropped != size - kept {
                    problems.append("stdout kept \(outcome.standardOutput.count) dropped \(outcome.standardOutputDropped), expected \(kept) and \(size - kept)")
                }
                if !expectation.input.isEmpty && outcome.standardOutput != Array(expectation.input.prefix(kept)) {
                    problems.append("stdout is not the stdin given")
                }
            }
            if outcome.standardOutput.count > expectation.limit || outcome.standardError.count > expectation.limit {
                problems.append("output over the limit \(expectation.limit)")
            }
            if outcome.pid > 0 { groups.withLock { _ = $0.insert(outcome.pid) } }
            if !problems.isEmpty {
                violations.withLock { $0.append("run \(index) (\(expectation.kind)): " + problems.joined(separator: "; ")) }
            }
            counts.withLock { $0[expectation.kind, default: 0] += 1 }
            finished.withLock { $0 += 1 }
        }
    }

    // Every completion comes before shutdown returns (shutdown waits for running children).
    while finished.withLock({ $0 }) < runs { usleep(10_000) }
    let ran = ContinuousClock.now - started
    runner.shutdown()

    // Grandchildren that outlived their child by design end by themselves; orphans are reaped by
    // init. Wait for it (generously), then check.
    let made = groups.withLock { $0 }
    let me = getpid()
    var leftovers: [String] = []
    var zombies: [String] = []
    let deadline = ContinuousClock.now + .seconds(60)
    repeat {
        let all = processes()
        leftovers = all.filter { made.contains($0.group) }.map { "pid \($0.pid) group \($0.group) state \($0.state)" }
        zombies = all.filter { $0.parent == me && $0.state == "Z" }.map { "zombie child \($0.pid)" }
        if leftovers.isEmpty && zombies.isEmpty { break }
        usleep(50_000)
    } while ContinuousClock.now < deadline

    var problems = violations.withLock { $0 }
    problems += leftovers.map { "left running: \($0)" } + zombies
    let fdsAfter = descriptors()
    if fdsAfter != fdsBefore { problems.append("descriptors before \(fdsBefore.sorted()), after \(fdsAfter.sorted())") }
    let threadsAfter = baton_thread_count()
    if threadsAfter != threadsBefore { problems.append("threads before \(threadsBefore), after \(threadsAfter)") }

    let figures = counts.withLock { $0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    print("child-soak: seed \(seed), \(runs) runs, concurrency \(concurrency), \(made.count) process groups, in \(ran)")
    print("child-soak: kinds: \(figures)")
    print("child-soak: descriptors \(fdsBefore.count) before and \(fdsAfter.count) after, threads \(threadsBefore) and \(threadsAfter)")
    if problems.isEmpty {
        print("child-soak: no process, descriptor or zombie left")
        return 0
    }
    for problem in problems.prefix(50) { print("child-soak: VIOLATION \(problem)") }
    print("child-soak: \(problems.count) violations (replay: baton-child-soak \(runs) \(seed) \(concurrency))")
    return 1
}

exit(try soak(runs: runs, seed: seed, concurrency: concurrency))
