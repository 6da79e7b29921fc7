@testable import Corosync
import Synchronization
import Testing

@Suite struct RetryTests {
    final class Counter: Sendable {
        let value = Mutex(0)
        func next() -> Int { value.withLock { $0 += 1; return $0 } }
    }

    @Test func tryAgainIsRetriedThenSucceeds() async throws {
        let counter = Counter()
        let result = try await retryingTryAgain("cpg_mcast_joined", policy: RetryPolicy(attemptsMax: 5)) { () async throws(CorosyncError) -> Int in
            let attempt = counter.next()
            if attempt < 3 { throw CorosyncError.call(function: "cpg_mcast_joined", status: .tryAgain) }
            return attempt
        }
        #expect(result == 3)
    }

    @Test func tryAgainIsBounded() async {
        let counter = Counter()
        await #expect(throws: CorosyncError.retriesExhausted(function: "cpg_join", attempts: 4, status: .tryAgain)) {
            try await retryingTryAgain("cpg_join", policy: RetryPolicy(attemptsMax: 4)) { () async throws(CorosyncError) in
                _ = counter.next()
                throw CorosyncError.call(function: "cpg_join", status: .tryAgain)
            }
        }
        #expect(counter.value.withLock { $0 } == 4)
    }

    @Test func otherErrorsAreNotRetried() async {
        let counter = Counter()
        await #expect(throws: CorosyncError.call(function: "cpg_join", status: .library)) {
            try await retryingTryAgain("cpg_join", policy: RetryPolicy()) { () async throws(CorosyncError) in
                _ = counter.next()
                throw CorosyncError.call(function: "cpg_join", status: .library)
            }
        }
        #expect(counter.value.withLock { $0 } == 1)
    }

    @Test func reconnectGivesUpAtItsTimeLimit() async {
        // Only the outcome is checked: wall-clock bounds do not belong in unit tests on shared machines.
        await #expect {
            try await Reconnect.retrying(for: .milliseconds(300)) { () async throws(CorosyncError) in
                throw CorosyncError.call(function: "cpg_model_initialize", status: .library)
            }
        } throws: { error in
            if case .timedOut = error as? CorosyncError { return true }
            return false
        }
    }
}
