import ChildProcess
import Glibc
import Synchronization
import Testing
import TestSupport

/// SignalWatch: a signal is caught from the instant the watch exists, never ignored, never
/// lost. (SIGUSR2 and SIGWINCH: nothing else in the test process uses them.)
@Suite(.serialized) struct SignalWatchTests {
    /// The handler is in place when `init` returns: the kernel neither ignores the signal nor
    /// applies its default. Before, daemons set SIG_IGN and let libdispatch install its handler
    /// later on another thread; a signal in between was dropped.
    @Test func theSignalIsCaughtWhenInitReturnsAndEachArrivalIsCalled() async throws {
        let calls = Mutex<[Int32]>([])
        let watch = try SignalWatch(signals: [SIGUSR2]) { number in calls.withLock { $0.append(number) } }
        #expect(SignalWatch.disposition(of: SIGUSR2) == .watched)
        for round in 1...5 {
            #expect(kill(getpid(), SIGUSR2) == 0)
            try await waitUntil("SIGUSR2 number \(round) reaches the action") { calls.withLock { $0.count } >= round }
        }
        #expect(calls.withLock { $0 } == Array(repeating: SIGUSR2, count: 5))
        withExtendedLifetime(watch) {}
    }

    @Test func oneSignalHasOneWatchAndEndingAWatchRestoresTheDefault() throws {
        do {
            let first = try SignalWatch(signals: [SIGWINCH]) { _ in }
            #expect(throws: SignalWatch.Failure.self) { try SignalWatch(signals: [SIGUSR2, SIGWINCH]) { _ in } }
            // The failed watch took nothing: SIGUSR2 is free and at its default.
            #expect(SignalWatch.disposition(of: SIGUSR2) == .defaultAction)
            #expect(SignalWatch.disposition(of: SIGWINCH) == .watched)
            withExtendedLifetime(first) {}
        }
        #expect(SignalWatch.disposition(of: SIGWINCH) == .defaultAction)
        let again = try SignalWatch(signals: [SIGWINCH]) { _ in }
        #expect(SignalWatch.disposition(of: SIGWINCH) == .watched)
        withExtendedLifetime(again) {}
    }
}
