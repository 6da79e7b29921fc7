/// The node's heuristics (corosync.conf `quorum.device.heuristics`), as corosync-qdevice
/// 3.0.3 runs them: WHEN they run and WHAT their result is. No I/O: the shell starts the
/// `exec_` commands a `run` directive names (all in parallel, no shell, absolute paths: the
/// `execv` qdevice uses), reports each command's end, and hands in the time.
///
/// | when                                   | timeout        | qdevice                                   |
/// |----------------------------------------|----------------|-------------------------------------------|
/// | votequorum's ring (the first one: start-up) | `syncTimeout` | node list notify, sync in progress      |
/// | connected to the arbitrator (modes on and sync) | `timeout` | after-connect heuristics             |
/// | every `interval` while connected (mode on)  | `timeout` | regular heuristics                      |
///
/// Pass: every command exited 0 within the timeout. Fail: one exited otherwise (the run
/// ends at once: the others are cancelled), or the timeout passed (the shell kills the
/// commands' process groups). A new run (a new ring, a new connection) supersedes one in
/// flight, whose result is dropped (qdevice's sequence numbers); a regular run waits while
/// another is in flight. Mode off: no runs, the result is undefined (the arbitrator scores
/// nothing).
public struct DeviceHeuristics: Sendable {
    public struct RunID: Hashable, Comparable, Sendable, CustomStringConvertible {
        public let rawValue: UInt64
        public init(_ rawValue: UInt64) { self.rawValue = rawValue }
        public static func < (left: RunID, right: RunID) -> Bool { left.rawValue < right.rawValue }
        public var description: String { "run \(rawValue)" }
    }

    /// Why a run started.
    public enum Reason: String, Sendable, Hashable {
        case membership, connect, regular
    }

    public enum Input: Sendable {
        /// votequorum's new ring (the first is the start-up run).
        case ringChanged
        /// Registered with the arbitrator.
        case connected
        case disconnected
        /// One command of a run ended: exited 0 (`passed`) or not (a non-zero exit, a
        /// signal, a spawn failure, the shell's own timeout).
        case finished(RunID, command: String, passed: Bool)
        case tick
    }

    public enum Directive: Sendable, Hashable {
        /// Start every command, in parallel; each ends with `finished`.
        case run(RunID, [HeuristicsCommand], timeout: Duration)
        /// Kill what is left of a run (its result no longer matters).
        case cancel(RunID)
        /// A run's result (every finished run, changed or not: the device holds its membership
        /// report for the arbitrator until it comes).
        case result(HeuristicsResult, reason: Reason)
        case wakeUp(at: QuorumInstant)
    }

    /// A run in flight.
    public struct Run: Sendable, Equatable {
        public let id: RunID
        public let reason: Reason
        public let started: QuorumInstant
        public let deadline: QuorumInstant
        public var pending: Set<String>
    }

    /// The last finished run, for the admin view.
    public struct Finished: Sendable, Equatable {
        public let reason: Reason
        public let result: HeuristicsResult
        public let at: QuorumInstant
        public let duration: Duration
        /// The commands that failed (exec_ names, without the prefix); "timeout: …" when the
        /// deadline passed with these still running.
        public let failed: [String]
    }

    public let settings: HeuristicsSettings
    public private(set) var running: Run?
    public private(set) var result: HeuristicsResult = .undefined
    public private(set) var lastRun: Finished?
    public private(set) var connected = false
    /// The next regular run (mode on, while connected).
    public private(set) var nextRegular: QuorumInstant?
    public private(set) var runs = 0
    private var nextID: UInt64 = 1

    public init(settings: HeuristicsSettings) {
        self.settings = settings
    }

    public var enabled: Bool { settings.mode != .off }

    public mutating func handle(_ input: Input, now: QuorumInstant) -> [Directive] {
        guard enabled else { return [] }
        var directives: [Directive] = []
        switch input {
        case .ringChanged:
            directives += start(.membership, timeout: settings.syncTimeout, now: now)
        case .connected:
            connected = true
            directives += start(.connect, timeout: settings.timeout, now: now)
        case .disconnected:
            connected = false
            nextRegular = nil
        case .finished(let id, let command, let passed):
            guard var run = running, run.id == id, run.pending.contains(command) else { break }  // superseded, or twice
            run.pending.remove(command)
            running = run
            if !passed {
                directives += finish(.fail, failed: [command], now: now)
            } else if run.pending.isEmpty {
                directives += finish(.pass, failed: [], now: now)
            }
        case .tick:
            if let run = running, now >= run.deadline {
                directives += finish(.fail, failed: run.pending.sorted().map { "timeout: \($0)" }, now: now)
            }
            if running == nil, let due = nextRegular, now >= due {
                directives += start(.regular, timeout: settings.timeout, now: now)
            }
        }
        if let next = nextWakeUp { directives.append(.wakeUp(at: max(next, now))) }
        return directives
    }

    mutating func start(_ reason: Reason, timeout: Duration, now: QuorumInstant) -> [Directive] {
        var directives: [Directive] = []
        if let old = running { directives.append(.cancel(old.id)) }  // superseded
        let id = RunID(nextID)
        nextID += 1
        runs += 1
        running = Run(id: id, reason: reason, started: now, deadline: now + timeout, pending: Set(settings.commands.map(\.name)))
        nextRegular = nil
        directives.append(.run(id, settings.commands, timeout: timeout))
        return directives
    }

    mutating func finish(_ outcome: HeuristicsResult, failed: [String], now: QuorumInstant) -> [Directive] {
        guard let run = running else { return [] }
        running = nil
        result = outcome
        lastRun = Finished(reason: run.reason, result: outcome, at: now, duration: now - run.started, failed: failed)
        if settings.mode == .on && connected { nextRegular = now + settings.interval }
        var directives: [Directive] = []
        if !run.pending.isEmpty { directives.append(.cancel(run.id)) }
        directives.append(.result(outcome, reason: run.reason))
        return directives
    }

    var nextWakeUp: QuorumInstant? {
        switch (running?.deadline, nextRegular) {
        case (let deadline?, _): deadline  // no regular run starts while one is in flight
        case (nil, let regular?): regular
        case (nil, nil): nil
        }
    }
}

/// `quorum.device.heuristics.mode`.
public enum HeuristicsMode: String, Sendable, Hashable, CaseIterable {
    /// No heuristics (qdevice's default).
    case off
    /// At start-up, on every membership change, on connecting, and every `interval`.
    case on
    /// At start-up, on every membership change and on connecting.
    case sync
}

/// One `exec_NAME: command` of `quorum.device.heuristics`.
public struct HeuristicsCommand: Sendable, Hashable, CustomStringConvertible {
    /// NAME (without `exec_`).
    public let name: String
    /// The split command: the executable (an absolute path) and its arguments.
    public let arguments: [String]

    public init(name: String, arguments: [String]) {
        precondition(!arguments.isEmpty, "heuristics command \(name) without an executable")
        self.name = name
        self.arguments = arguments
    }

    public var description: String { "exec_\(name): \(arguments.joined(separator: " "))" }
}

/// `quorum.device.heuristics` with qdevice's defaults: timeout half the device timeout (5 s),
/// sync_timeout half the device's sync_timeout (15 s), interval 3 × the device timeout (30 s).
public struct HeuristicsSettings: Sendable, Hashable {
    public var mode: HeuristicsMode
    /// For the runs on connecting and the regular ones.
    public var timeout: Duration
    /// For the runs on a membership change (and at start-up).
    public var syncTimeout: Duration
    public var interval: Duration
    public var commands: [HeuristicsCommand]

    /// qdevice's bounds (`heuristics_min_timeout` … in corosync-qdevice(8)).
    public static let timeoutRange: ClosedRange<UInt32> = 1_000...120_000
    public static let intervalRange: ClosedRange<UInt32> = 1_000...3_600_000
    public static let commandsMax = 32

    public init(mode: HeuristicsMode = .off, deviceTimeout: Duration = .seconds(10), deviceSyncTimeout: Duration = .seconds(30),
                timeout: Duration? = nil, syncTimeout: Duration? = nil, interval: Duration? = nil, commands: [HeuristicsCommand] = []) {
        self.mode = mode
        self.timeout = timeout ?? deviceTimeout / 2
        self.syncTimeout = syncTimeout ?? deviceSyncTimeout / 2
        self.interval = interval ?? deviceTimeout * 3
        self.commands = commands
    }
}

/// The split of an `exec_` value into arguments, as qdevice does it (its "quote" lexer, not a
/// shell): blanks separate words; a backslash takes the next character literally; between
/// double quotes blanks are kept and a backslash escapes only `\` and `"` (before any other
/// character it stays); a newline ends the command. No variables, globs, pipes or
/// redirections: for those, name a script or `/bin/sh -c "…"`. Unlike qdevice, an unclosed
/// quote is an error rather than the end of the word.
public enum HeuristicsCommandLine {
    public static func split(_ text: String) -> Result<[String], HeuristicsCommandLineError> {
        var words: [String] = []
        var word = ""
        var inWord = false
        var iterator = Array(text).makeIterator()
        func close() {
            if inWord { words.append(word) }
            word = ""
            inWord = false
        }
        scan: while let character = iterator.next() {
            switch character {
            case "\n", "\r":
                break scan
            case " ", "\t", "\u{0B}", "\u{0C}":
                close()
            case "\\":
                guard let next = iterator.next(), next != "\n", next != "\r" else { break scan }  // a trailing backslash is dropped
                word.append(next)
                inWord = true
            case "\"":
                inWord = true
                var closed = false
                quoted: while let inner = iterator.next() {
                    switch inner {
                    case "\"":
                        closed = true
                        break quoted
                    case "\\":
                        guard let next = iterator.next() else { break quoted }
                        if next != "\\" && next != "\"" { word.append("\\") }
                        word.append(next)
                    case "\n", "\r":
                        break quoted
                    default:
                        word.append(inner)
                    }
                }
                guard closed else { return .failure(.unclosedQuote) }
            default:
                word.append(character)
                inWord = true
            }
        }
        close()
        guard let executable = words.first else { return .failure(.empty) }
        guard executable.hasPrefix("/") else { return .failure(.notAbsolute(executable)) }
        return .success(words)
    }
}

public enum HeuristicsCommandLineError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case unclosedQuote
    case notAbsolute(String)

    public var description: String {
        switch self {
        case .empty: "a command (an absolute path and its arguments)"
        case .unclosedQuote: "a command with its double quotes closed"
        case .notAbsolute(let word): "an absolute path to the executable, not '\(word)' (commands run without a shell or PATH search, as qdevice's execv)"
        }
    }
}
