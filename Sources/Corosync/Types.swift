// NodeID lives in ClusterIdentity (a leaf that the pure node core shares); re-exported here.
@_exported import ClusterIdentity

// RingID lives in ClusterIdentity too (shared with the quorum device's pure cores).

/// Bounded exponential back-off for CS_ERR_TRY_AGAIN.
public struct RetryPolicy: Sendable, Hashable {
    public var attemptsMax: Int
    public var delayInitial: Duration
    public var delayMax: Duration
    public init(attemptsMax: Int = 400, delayInitial: Duration = .milliseconds(1), delayMax: Duration = .milliseconds(50)) {
        precondition(attemptsMax >= 1, "RetryPolicy: attemptsMax must be at least 1, is \(attemptsMax)")
        precondition(delayInitial > .zero && delayMax >= delayInitial, "RetryPolicy: 0 < delayInitial <= delayMax")
        self.attemptsMax = attemptsMax
        self.delayInitial = delayInitial
        self.delayMax = delayMax
    }
}

/// Calls `operation` again while it fails with CS_ERR_TRY_AGAIN, with bounded back-off.
func retryingTryAgain<T: Sendable>(
    _ function: String, policy: RetryPolicy, _ operation: () async throws(CorosyncError) -> T
) async throws(CorosyncError) -> T {
    var delay = policy.delayInitial
    for attempt in 1...policy.attemptsMax {
        do {
            return try await operation()
        } catch let error where error.status == .tryAgain {
            if attempt == policy.attemptsMax {
                throw CorosyncError.retriesExhausted(function: function, attempts: attempt, status: .tryAgain)
            }
            do { try await Task.sleep(for: delay) } catch { throw CorosyncError.cancelled }
            delay = min(delay * 2, policy.delayMax)
        }
    }
    preconditionFailure("retryingTryAgain: loop of \(policy.attemptsMax) attempts fell through")
}
