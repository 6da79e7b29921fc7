/// What an agent's end means, as pacemaker-execd maps it (Pacemaker 2.1.5,
/// lib/services/services_linux.c `async_action_complete`, services_ocf.c `services__ocf2ocf`,
/// services_lsb.c `services__lsb2ocf`, `services__handle_exec_error`).

/// OCF return codes (the agent's exit code, mapped per class).
public enum OCFReturnCode: Int, Sendable, Equatable, CaseIterable {
    case ok = 0
    case unknownError = 1
    case invalidParameter = 2
    case unimplementedFeature = 3
    case insufficientPrivileges = 4
    case notInstalled = 5
    case notConfigured = 6
    case notRunning = 7
    case runningPromoted = 8
    case failedPromoted = 9
    case degraded = 190
    case degradedPromoted = 191
    /// PCMK_OCF_UNKNOWN: no result yet, the rc of a pending operation (a systemd unit still
    /// activating or deactivating).
    case unknown = 193
}

/// Pacemaker's execution status (`enum pcmk_exec_status`, recorded as op-status).
public enum ExecutionStatus: Int, Sendable, Equatable {
    case pending = -1
    case done = 0
    case cancelled = 1
    case timedOut = 2
    case notSupported = 3
    case error = 4
    case errorHard = 5
    case errorFatal = 6
    case notInstalled = 7
    case notConnected = 8
    case invalid = 9
}

/// How the agent process ended, as the shell saw it (ChildExit, without the shell's types).
public enum AgentExit: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    case timedOut
    case cancelled
    case spawnFailed(errno: Int32)
    /// It ended but its exit status could not be collected.
    case statusLost
}

/// The class of a resource agent (Pacemaker's "standard").
public enum AgentStandard: String, Sendable, Equatable, CaseIterable {
    case ocf, lsb, systemd
}

/// rc, op-status and exit reason of one finished operation.
public struct AgentVerdict: Sendable, Equatable {
    public let rc: OCFReturnCode
    public let status: ExecutionStatus
    public let exitReason: String?

    public init(rc: OCFReturnCode, status: ExecutionStatus, exitReason: String?) {
        self.rc = rc
        self.status = status
        self.exitReason = exitReason
    }

    /// Pacemaker's EXIT_REASON_MAX_LEN.
    public static let exitReasonMax = 128
    public static let exitReasonPrefix = "ocf-exit-reason:"

    /// The verdict for `exit` of `action` by an agent of `standard`, with the agent's stderr
    /// (OCF agents' exit reason: the text after the last `ocf-exit-reason:` to the end of its
    /// line, at most 128 bytes) and stdout (a systemd monitor's `systemctl is-active` prints the
    /// unit's ActiveState there). `errnoName` names an errno for the reason of a spawn failure.
    public static func of(
        _ exit: AgentExit, standard: AgentStandard, action: String, standardOutput: [UInt8] = [], standardError: [UInt8],
        agent: String, errnoName: (Int32) -> String
    ) -> AgentVerdict {
        switch exit {
        case .exited(let code):
            let rc: OCFReturnCode
            switch standard {
            case .ocf: rc = OCFReturnCode(rawValue: Int(code)) ?? .unknownError
            // systemctl is-active succeeds for active and reloading; a unit activating or
            // deactivating is pending, as Pacemaker maps its ActiveState (systemd.c
            // parse_status_result); any other state is not running.
            case .systemd where action == "monitor" || action == "status":
                if code != 0 && systemdPendingStates.contains(firstLine(standardOutput)) {
                    return AgentVerdict(rc: .unknown, status: .pending, exitReason: nil)
                }
                rc = code == 0 ? .ok : .notRunning
            // The rest fail or not (start and stop are queued as jobs, --no-block).
            // systemctl exits 5 for a unit it has not loaded (none by that name): as Pacemaker,
            // a stop of it succeeds, any other action finds it not installed.
            case .systemd where code == 5 && action == "stop": rc = .ok
            case .systemd where code == 5: return AgentVerdict(rc: .notInstalled, status: .notInstalled, exitReason: nil)
            case .systemd: rc = code == 0 ? .ok : .unknownError
            case .lsb: rc = lsbToOCF(action: action, code: code)
            }
            let reason = standard == .ocf ? exitReason(in: standardError) : nil
            return AgentVerdict(rc: rc, status: .done, exitReason: reason)
        case .signaled(let signal):
            return AgentVerdict(rc: .unknownError, status: .error, exitReason: "\(kind(action)) interrupted by signal \(signal)")
        case .timedOut:
            return AgentVerdict(rc: .unknownError, status: .timedOut, exitReason: nil)
        case .cancelled:
            return AgentVerdict(rc: .ok, status: .cancelled, exitReason: nil)
        case .statusLost:
            return AgentVerdict(rc: .unknownError, status: .error, exitReason: "\(kind(action)) ended but its exit status was lost")
        case .spawnFailed(let code):
            // ENOENT, EISDIR, ENOTDIR, EINVAL, ENOEXEC: not installed; EACCES, EPERM: privileges.
            switch code {
            case 2, 21, 20, 22, 8:
                return AgentVerdict(rc: .notInstalled, status: .notInstalled, exitReason: "\(agent): \(errnoName(code))")
            case 13, 1:
                return AgentVerdict(rc: .insufficientPrivileges, status: .error, exitReason: "\(agent): \(errnoName(code))")
            default:
                return AgentVerdict(rc: .unknownError, status: .error, exitReason: errnoName(code))
            }
        }
    }

    /// The ActiveStates of a unit between two states: a monitor then has no result yet.
    static let systemdPendingStates: Set<String> = ["activating", "deactivating"]

    /// The first line of `bytes`, without its end of line.
    static func firstLine(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    static func kind(_ action: String) -> String {
        action == "monitor" || action == "status" ? "Monitor" : "Operation"
    }

    /// LSB: status actions have their own codes; other actions share OCF's codes up to 7.
    static func lsbToOCF(action: String, code: Int32) -> OCFReturnCode {
        guard action == "status" || action == "monitor" else {
            return (0...7).contains(code) ? OCFReturnCode(rawValue: Int(code))! : .unknownError
        }
        switch code {
        case 0: return .ok
        case 1, 2, 3: return .notRunning  // dead with a pid file, dead with a lock, not running
        case 150: return .notInstalled  // Pacemaker's PCMK_LSB_STATUS_NOT_INSTALLED
        case 151: return .insufficientPrivileges  // PCMK_LSB_STATUS_INSUFFICIENT_PRIV
        default: return .unknownError  // 4 (unknown) and the rest
        }
    }

    static func exitReason(in standardError: [UInt8]) -> String? {
        let prefix = Array(exitReasonPrefix.utf8)
        guard standardError.count >= prefix.count else { return nil }
        var start: Int?
        var index = 0
        while index + prefix.count <= standardError.count {
            if standardError[index] == prefix[0] && Array(standardError[index..<(index + prefix.count)]) == prefix {
                start = index + prefix.count
                index += prefix.count
            } else {
                index += 1
            }
        }
        guard let start, start < standardError.count, standardError[start] != UInt8(ascii: "\n") else { return nil }
        let end = standardError[start...].firstIndex(of: UInt8(ascii: "\n")) ?? standardError.count
        return String(decoding: standardError[start..<min(end, start + exitReasonMax)], as: UTF8.self)
    }
}
