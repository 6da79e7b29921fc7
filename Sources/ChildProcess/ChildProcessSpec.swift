/// What to run: one program, exactly as given (no shell, no PATH search), with exactly this
/// environment. The limits travel with the request: a child never captures more than
/// `outputLimit` bytes per stream nor runs past `timeout`.
public struct ChildProcessSpec: Sendable, Equatable {
    /// An absolute path (no PATH search: an agent or handler runs what the admin named).
    public var executable: String { didSet { commandBlock = nil } }
    /// argv[1...].
    public var arguments: [String] { didSet { commandBlock = nil } }
    /// argv[0]; the executable's path when nil.
    public var argument0: String? { didSet { commandBlock = nil } }
    /// The child's whole environment (nothing of ours leaks in unless the caller puts it here).
    public var environment: [String: String] { didSet { commandBlock = nil } }
    /// The child's working directory; ours when nil.
    public var workingDirectory: String?
    /// Written to the child's stdin, which is then closed; stdin is /dev/null when empty.
    public var standardInput: [UInt8]
    /// Bytes kept of stdout and of stderr, each; the rest is read (the child never blocks on a
    /// full pipe), counted and dropped.
    public var outputLimit: Int
    /// From the spawn; nil: none. At the timeout the child's process group gets SIGTERM, then
    /// SIGKILL after `killGrace`, repeated every `killRepeat` until the group is gone.
    public var timeout: Duration?
    /// SIGTERM to SIGKILL; `.zero` sends SIGKILL at once (pacemaker-execd's way).
    public var killGrace: Duration
    /// argv and envp as C strings, once `prepared()` has built them (dropped when any of the
    /// four fields they come from changes).
    var commandBlock: CommandBlock?

    public static let outputLimitMax = 64 << 20
    public static let argumentCountMax = 4096
    public static let standardInputMax = 16 << 20

    public init(
        executable: String, arguments: [String] = [], argument0: String? = nil, environment: [String: String] = [:],
        workingDirectory: String? = nil, standardInput: [UInt8] = [], outputLimit: Int = 64 << 10,
        timeout: Duration? = nil, killGrace: Duration = .seconds(5)
    ) {
        self.executable = executable
        self.arguments = arguments
        self.argument0 = argument0
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.outputLimit = outputLimit
        self.timeout = timeout
        self.killGrace = killGrace
    }

    /// The same request with its argv and envp built (and their strings checked) now, once:
    /// each run of the copy (the executor's recurring monitor, every 10 s) then spawns from them
    /// with no string work. Changing the executable, arguments or environment drops them.
    public func prepared() -> ChildProcessSpec {
        var copy = self
        copy.commandBlock = makeCommandBlock()
        return copy
    }

    func makeCommandBlock() -> CommandBlock {
        CommandBlock(arguments: [argument0 ?? executable] + arguments, environment: environment)
    }

    public static func == (left: ChildProcessSpec, right: ChildProcessSpec) -> Bool {
        left.executable == right.executable && left.arguments == right.arguments && left.argument0 == right.argument0
            && left.environment == right.environment && left.workingDirectory == right.workingDirectory
            && left.standardInput == right.standardInput && left.outputLimit == right.outputLimit && left.timeout == right.timeout
            && left.killGrace == right.killGrace
    }

    /// Why this request cannot be run as given (nil: it can). A NUL inside a string would cut
    /// it short at exec, so it is refused rather than run as something else.
    public var problem: String? {
        if !executable.hasPrefix("/") { return "executable '\(executable)' is not an absolute path" }
        if arguments.count > Self.argumentCountMax { return "\(arguments.count) arguments (at most \(Self.argumentCountMax))" }
        if outputLimit < 0 || outputLimit > Self.outputLimitMax { return "output limit \(outputLimit) outside 0...\(Self.outputLimitMax)" }
        if standardInput.count > Self.standardInputMax { return "\(standardInput.count) bytes of stdin (at most \(Self.standardInputMax))" }
        if let timeout, timeout < .zero { return "negative timeout \(timeout)" }
        if killGrace < .zero { return "negative kill grace \(killGrace)" }
        if executable.utf8.contains(0) || (workingDirectory ?? "").utf8.contains(0) {
            return "a NUL byte inside an argument, path or environment entry"
        }
        if let commandBlock { return commandBlock.problem }
        if (argument0 ?? "").utf8.contains(0) || arguments.contains(where: { $0.utf8.contains(0) })
            || environment.contains(where: { $0.key.utf8.contains(0) || $0.value.utf8.contains(0) }) {
            return "a NUL byte inside an argument, path or environment entry"
        }
        if environment.keys.contains(where: { $0.isEmpty || $0.utf8.contains(UInt8(ascii: "=")) }) {
            return "an environment name that is empty or contains '='"
        }
        return nil
    }
}

/// How a child ended.
public enum ChildExit: Sendable, Equatable, CustomStringConvertible {
    /// It exited by itself with this code.
    case exited(Int32)
    /// A signal it was not sent by us killed it.
    case signaled(Int32)
    /// It ran past its timeout; its process group was killed.
    case timedOut
    /// `cancel` (or the runner's shutdown) ended it, or it never started.
    case cancelled
    /// posix_spawn failed (exec errors included: ENOENT, EACCES, ENOEXEC ...), or the request was
    /// invalid (EINVAL, with `ChildOutcome.problem`), or the queue was full (EAGAIN).
    case spawnFailed(errno: Int32)
    /// It ended, but its exit status was collected by another waiter in this process (waitpid
    /// answered ECHILD: something else reaped it, or SIGCHLD is ignored). Its output is kept.
    case statusLost

    public var description: String {
        switch self {
        case .exited(let code): "exited \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        case .timedOut: "timed out"
        case .cancelled: "cancelled"
        case .spawnFailed(let code): "spawn failed (errno \(code))"
        case .statusLost: "ended, its exit status collected elsewhere"
        }
    }
}

/// What a finished child left: its exit, its bounded output, and when it ran.
public struct ChildOutcome: Sendable {
    public let exit: ChildExit
    public let standardOutput: [UInt8]
    public let standardError: [UInt8]
    /// Bytes read past `outputLimit` and dropped.
    public let standardOutputDropped: Int
    public let standardErrorDropped: Int
    /// 0 when it never started.
    public let pid: Int32
    /// From the request to the spawn (waiting for a free slot under the concurrency limit).
    public let queueTime: Duration
    /// From the spawn to the child's end (and, after a kill, to its whole group's end).
    public let runTime: Duration
    /// What was wrong with the request or the spawn, in words (nil when it ran).
    public let problem: String?

    public var standardOutputText: String { String(decoding: standardOutput, as: UTF8.self) }
    public var standardErrorText: String { String(decoding: standardError, as: UTF8.self) }
}

/// Names one request, for `cancel`.
public struct ChildID: Sendable, Hashable {
    public let value: UInt64
}
