/// Re-establishes Corosync handles after the daemon went away (CS_ERR_LIBRARY).
public enum Reconnect {
    /// Calls `connect` until it succeeds, while it fails with CS_ERR_LIBRARY (daemon not
    /// there yet), CS_ERR_TRY_AGAIN (daemon still syncing) or a bad handle, for at most
    /// `timeLimit`, with back-off from 50 ms to 1 s. Other errors are thrown at once.
    public static func retrying<T: Sendable>(
        for timeLimit: Duration,
        delayInitial: Duration = .milliseconds(50),
        delayMax: Duration = .seconds(1),
        _ connect: () async throws(CorosyncError) -> T
    ) async throws(CorosyncError) -> T {
        precondition(timeLimit > .zero, "Reconnect.retrying: timeLimit must be positive")
        let clock = ContinuousClock()
        let deadline = clock.now + timeLimit
        var delay = delayInitial
        var attempts = 0
        while true {
            attempts += 1
            do {
                return try await connect()
            } catch {
                let transient: Set<CorosyncStatus> = [.library, .tryAgain, .badHandle]
                guard let status = error.status, transient.contains(status) else { throw error }
                if clock.now + delay > deadline {
                    throw CorosyncError.timedOut(operation: "reconnect (\(attempts) attempts, last \(status.name))", after: timeLimit)
                }
                do { try await Task.sleep(for: delay) } catch { throw CorosyncError.cancelled }
                delay = min(delay * 2, delayMax)
            }
        }
    }
}
