import CCorosync

/// A `cs_error_t` returned by a Corosync client library call, kept with its C name
/// (`CS_ERR_TRY_AGAIN`) because that is the name admins and Corosync's logs use.
public struct CorosyncStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    init(_ status: cs_error_t) { self.rawValue = status.rawValue }

    public static let ok = CorosyncStatus(rawValue: 1)
    /// The daemon went away (or was never there): the handle is dead; reconnect.
    public static let library = CorosyncStatus(rawValue: 2)
    /// Transient (flow control, sync in progress): retry after a pause.
    public static let tryAgain = CorosyncStatus(rawValue: 6)
    public static let invalidParameter = CorosyncStatus(rawValue: 7)
    public static let badHandle = CorosyncStatus(rawValue: 9)
    public static let notExist = CorosyncStatus(rawValue: 12)
    public static let exist = CorosyncStatus(rawValue: 14)
    public static let messageError = CorosyncStatus(rawValue: 22)
    public static let tooBig = CorosyncStatus(rawValue: 26)

    /// The `cs_error_t` enumerator's name, as in <corosync/corotypes.h>.
    public var name: String {
        switch rawValue {
        case 1: "CS_OK"
        case 2: "CS_ERR_LIBRARY"
        case 3: "CS_ERR_VERSION"
        case 4: "CS_ERR_INIT"
        case 5: "CS_ERR_TIMEOUT"
        case 6: "CS_ERR_TRY_AGAIN"
        case 7: "CS_ERR_INVALID_PARAM"
        case 8: "CS_ERR_NO_MEMORY"
        case 9: "CS_ERR_BAD_HANDLE"
        case 10: "CS_ERR_BUSY"
        case 11: "CS_ERR_ACCESS"
        case 12: "CS_ERR_NOT_EXIST"
        case 13: "CS_ERR_NAME_TOO_LONG"
        case 14: "CS_ERR_EXIST"
        case 15: "CS_ERR_NO_SPACE"
        case 16: "CS_ERR_INTERRUPT"
        case 17: "CS_ERR_NAME_NOT_FOUND"
        case 18: "CS_ERR_NO_RESOURCES"
        case 19: "CS_ERR_NOT_SUPPORTED"
        case 20: "CS_ERR_BAD_OPERATION"
        case 21: "CS_ERR_FAILED_OPERATION"
        case 22: "CS_ERR_MESSAGE_ERROR"
        case 23: "CS_ERR_QUEUE_FULL"
        case 24: "CS_ERR_QUEUE_NOT_AVAILABLE"
        case 25: "CS_ERR_BAD_FLAGS"
        case 26: "CS_ERR_TOO_BIG"
        case 27: "CS_ERR_NO_SECTIONS"
        case 28: "CS_ERR_CONTEXT_NOT_FOUND"
        case 30: "CS_ERR_TOO_MANY_GROUPS"
        case 100: "CS_ERR_SECURITY"
        default: "CS_ERR_UNKNOWN(\(rawValue))"
        }
    }

    public var description: String { name }
}

/// Every failure of the Corosync module. Errors from the C libraries keep the function
/// and the `cs_error_t` name; the other cases are limits this module enforces.
public enum CorosyncError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A client library call returned something other than CS_OK.
    case call(function: String, status: CorosyncStatus)
    /// CS_ERR_TRY_AGAIN kept coming back for the whole bounded back-off.
    case retriesExhausted(function: String, attempts: Int, status: CorosyncStatus)
    /// A message larger than the configured limit was refused before sending.
    case messageTooLarge(bytes: Int, limit: Int)
    /// The consumer of an event sequence fell behind by more than the buffer limit.
    case eventBufferOverflow(limit: Int)
    /// A name (group, qdevice, cmap key) is empty or longer than the C API allows.
    case invalidName(String, limit: Int)
    /// The handle was closed by its owner.
    case closed
    /// The waiting task was cancelled.
    case cancelled
    /// A bounded wait ran out.
    case timedOut(operation: String, after: Duration)

    /// The `cs_error_t` behind this error, if it came from Corosync.
    public var status: CorosyncStatus? {
        switch self {
        case .call(_, let status), .retriesExhausted(_, _, let status): status
        default: nil
        }
    }

    /// True when corosync is gone (CS_ERR_LIBRARY): the handle must be re-established.
    public var isConnectionLost: Bool { status == .library }

    public var description: String {
        switch self {
        case .call(let function, let status): "\(function): \(status.name)"
        case .retriesExhausted(let function, let attempts, let status):
            "\(function): \(status.name) after \(attempts) attempts"
        case .messageTooLarge(let bytes, let limit): "message of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .eventBufferOverflow(let limit): "event consumer fell behind by more than \(limit) events"
        case .invalidName(let name, let limit): "invalid name '\(name)' (1...\(limit) bytes)"
        case .closed: "handle closed"
        case .cancelled: "cancelled"
        case .timedOut(let operation, let after): "\(operation) timed out after \(after)"
        }
    }
}

@inline(__always)
func check(_ status: cs_error_t, _ function: String) throws(CorosyncError) {
    guard status == CS_OK else { throw CorosyncError.call(function: function, status: CorosyncStatus(status)) }
}
