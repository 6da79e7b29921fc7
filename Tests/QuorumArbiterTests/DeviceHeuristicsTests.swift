import ClusterIdentity
import QuorumArbiter
import Testing

/// The node's heuristics core: when qdevice 3.0.3 runs the exec_ commands, with which timeout,
/// and what the result is; and the device holding its membership report for that result.
@Suite struct DeviceHeuristicsTests {
    static let commands = [HeuristicsCommand(name: "disk", arguments: ["/usr/bin/test", "-e", "/srv"]),
                           HeuristicsCommand(name: "ping", arguments: ["/usr/bin/ping", "-c", "1", "192.0.2.1"])]
    static func settings(_ mode: HeuristicsMode) -> HeuristicsSettings { HeuristicsSettings(mode: mode, commands: commands) }

    static func runs(_ directives: [DeviceHeuristics.Directive]) -> [(DeviceHeuristics.RunID, Duration)] {
        directives.compactMap { if case .run(let id, _, let timeout) = $0 { return (id, timeout) } else { return nil } }
    }
    static func results(_ directives: [DeviceHeuristics.Directive]) -> [HeuristicsResult] {
        directives.compactMap { if case .result(let result, _) = $0 { return result } else { return nil } }
    }

    @Test("qdevice's defaults: timeout half the device timeout, sync_timeout half its sync_timeout, interval 3 × timeout")
    func defaults() {
        let settings = HeuristicsSettings(deviceTimeout: .seconds(10), deviceSyncTimeout: .seconds(30))
        #expect(settings.mode == .off && settings.timeout == .seconds(5) && settings.syncTimeout == .seconds(15) && settings.interval == .seconds(30))
        let other = HeuristicsSettings(deviceTimeout: .seconds(4), deviceSyncTimeout: .seconds(20), timeout: .seconds(2))
        #expect(other.timeout == .seconds(2) && other.syncTimeout == .seconds(10) && other.interval == .seconds(12))
    }

    @Test("mode off: nothing runs, the result stays undefined")
    func off() {
        var heuristics = DeviceHeuristics(settings: Self.settings(.off))
        #expect(heuristics.handle(.ringChanged, now: at(0)).isEmpty)
        #expect(heuristics.handle(.connected, now: at(1)).isEmpty)
        #expect(heuristics.handle(.tick, now: at(100)).isEmpty)
        #expect(heuristics.result == .undefined && heuristics.runs == 0)
    }

    @Test("a ring runs every command with sync_timeout; all exit 0 → pass; one fails → fail at once, the rest cancelled")
    func passAndFail() throws {
        var heuristics = DeviceHeuristics(settings: Self.settings(.sync))
        let first = heuristics.handle(.ringChanged, now: at(0))
        let (id, timeout) = try #require(Self.runs(first).first)
        #expect(timeout == .seconds(15))
        #expect(first.contains(.run(id, Self.commands, timeout: .seconds(15))))
        #expect(first.contains(.wakeUp(at: at(15))))
        #expect(Self.results(heuristics.handle(.finished(id, command: "disk", passed: true), now: at(1))).isEmpty)
        #expect(Self.results(heuristics.handle(.finished(id, command: "ping", passed: true), now: at(2))) == [.pass])
        #expect(heuristics.result == .pass && heuristics.running == nil && heuristics.lastRun?.duration == .seconds(2))
        // A duplicate report of a finished run changes nothing.
        #expect(heuristics.handle(.finished(id, command: "ping", passed: false), now: at(3)).isEmpty)

        let second = heuristics.handle(.ringChanged, now: at(10))
        let (next, _) = try #require(Self.runs(second).first)
        let failed = heuristics.handle(.finished(next, command: "ping", passed: false), now: at(11))
        #expect(Self.results(failed) == [.fail])
        #expect(failed.contains(.cancel(next)), "disk still runs: killed")
        #expect(heuristics.lastRun?.failed == ["ping"])
        #expect(heuristics.handle(.finished(next, command: "disk", passed: true), now: at(12)).isEmpty, "the cancelled command's end is dropped")
        #expect(heuristics.result == .fail)
    }

    @Test("a run past its timeout fails and its commands are killed")
    func timeout() throws {
        var heuristics = DeviceHeuristics(settings: Self.settings(.sync))
        let (id, _) = try #require(Self.runs(heuristics.handle(.ringChanged, now: at(0))).first)
        _ = heuristics.handle(.finished(id, command: "disk", passed: true), now: at(1))
        #expect(Self.results(heuristics.handle(.tick, now: at(14))).isEmpty)
        let expired = heuristics.handle(.tick, now: at(15))
        #expect(Self.results(expired) == [.fail] && expired.contains(.cancel(id)))
        #expect(heuristics.lastRun?.failed == ["timeout: ping"])
    }

    @Test("a new ring supersedes a run in flight: its result is dropped")
    func superseded() throws {
        var heuristics = DeviceHeuristics(settings: Self.settings(.sync))
        let (old, _) = try #require(Self.runs(heuristics.handle(.ringChanged, now: at(0))).first)
        let again = heuristics.handle(.ringChanged, now: at(1))
        let (new, _) = try #require(Self.runs(again).first)
        #expect(again.contains(.cancel(old)) && new != old)
        #expect(heuristics.handle(.finished(old, command: "disk", passed: false), now: at(2)).allSatisfy { if case .result = $0 { false } else { true } })
        _ = heuristics.handle(.finished(new, command: "disk", passed: true), now: at(2))
        #expect(Self.results(heuristics.handle(.finished(new, command: "ping", passed: true), now: at(2))) == [.pass])
    }

    @Test("on connecting: a run with the regular timeout (modes on and sync)")
    func connect() throws {
        for mode in [HeuristicsMode.on, .sync] {
            var heuristics = DeviceHeuristics(settings: Self.settings(mode))
            let (_, timeout) = try #require(Self.runs(heuristics.handle(.connected, now: at(0))).first)
            #expect(timeout == .seconds(5))
        }
    }

    @Test("mode on: every interval while connected, never while disconnected; mode sync: never")
    func regular() throws {
        var on = DeviceHeuristics(settings: Self.settings(.on))
        var (id, _) = try #require(Self.runs(on.handle(.connected, now: at(0))).first)
        _ = on.handle(.finished(id, command: "disk", passed: true), now: at(1))
        #expect(on.handle(.finished(id, command: "ping", passed: true), now: at(1)).contains(.wakeUp(at: at(31))))
        #expect(Self.runs(on.handle(.tick, now: at(30))).isEmpty)
        let due = on.handle(.tick, now: at(31))
        (id, _) = try #require(Self.runs(due).first)
        #expect(Self.runs(due).first?.1 == .seconds(5) && on.running?.reason == .regular)
        _ = on.handle(.finished(id, command: "disk", passed: true), now: at(32))
        #expect(Self.results(on.handle(.finished(id, command: "ping", passed: false), now: at(32))) == [.fail])
        #expect(on.nextRegular == at(62))
        _ = on.handle(.disconnected, now: at(40))
        #expect(on.nextRegular == nil && Self.runs(on.handle(.tick, now: at(100))).isEmpty)

        var sync = DeviceHeuristics(settings: Self.settings(.sync))
        (id, _) = try #require(Self.runs(sync.handle(.connected, now: at(0))).first)
        _ = sync.handle(.finished(id, command: "disk", passed: true), now: at(1))
        _ = sync.handle(.finished(id, command: "ping", passed: true), now: at(1))
        #expect(sync.nextRegular == nil && Self.runs(sync.handle(.tick, now: at(1_000))).isEmpty)
    }

    @Test("a regular run waits while another is in flight")
    func regularWaits() throws {
        var on = DeviceHeuristics(settings: Self.settings(.on))
        var (id, _) = try #require(Self.runs(on.handle(.connected, now: at(0))).first)
        _ = on.handle(.finished(id, command: "disk", passed: true), now: at(0))
        _ = on.handle(.finished(id, command: "ping", passed: true), now: at(0))
        (id, _) = try #require(Self.runs(on.handle(.ringChanged, now: at(29))).first)
        #expect(on.nextRegular == nil)
        #expect(Self.runs(on.handle(.tick, now: at(30))).isEmpty, "the membership run is in flight")
        _ = on.handle(.finished(id, command: "disk", passed: true), now: at(33))
        _ = on.handle(.finished(id, command: "ping", passed: true), now: at(33))
        #expect(on.nextRegular == at(63))
    }

    @Test("exec_ values split as qdevice's lexer does: blanks, backslash, double quotes; no shell")
    func split() {
        #expect(HeuristicsCommandLine.split("/bin/ping -q -c 1 \"www.example.org\"") == .success(["/bin/ping", "-q", "-c", "1", "www.example.org"]))
        #expect(HeuristicsCommandLine.split("  /usr/bin/test\t-f /tmp/a\\ b  ") == .success(["/usr/bin/test", "-f", "/tmp/a b"]))
        #expect(HeuristicsCommandLine.split("/bin/sh -c \"test -e \\\"/x y\\\" && echo \\\\ \\n\"") == .success(["/bin/sh", "-c", "test -e \"/x y\" && echo \\ \\n"]))
        #expect(HeuristicsCommandLine.split("/bin/echo a\"b c\"d") == .success(["/bin/echo", "ab cd"]))
        #expect(HeuristicsCommandLine.split("/bin/echo \"\"") == .success(["/bin/echo", ""]))
        #expect(HeuristicsCommandLine.split("/bin/true\n/bin/false") == .success(["/bin/true"]), "a newline ends the command")
        #expect(HeuristicsCommandLine.split("   ") == .failure(.empty))
        #expect(HeuristicsCommandLine.split("/bin/echo \"open") == .failure(.unclosedQuote))
        #expect(HeuristicsCommandLine.split("ping -c 1 host") == .failure(.notAbsolute("ping")))
    }

    static func device(heuristics enabled: Bool) -> QuorumDevice {
        var settings = QuorumDevice.Settings()
        settings.heuristicsEnabled = enabled
        return QuorumDevice(registration: DeviceRegistration(nodeID: NodeID(1), configuredNodes: ids(1, 2), heartbeatInterval: settings.heartbeatInterval),
                            settings: settings, now: at(0))
    }

    static func sent(_ directives: [QuorumDevice.Directive]) -> [DeviceMessage] {
        directives.compactMap { if case .send(_, let message) = $0 { return message } else { return nil } }
    }

    /// Connects `device` (open, registered) at `now`; what it sent on `registered`.
    static func connect(_ device: inout QuorumDevice, now: QuorumInstant) -> [DeviceMessage] {
        #expect(device.handle(.tick, now: now).contains(.open))
        _ = device.handle(.connectionOpened(ConnectionID(1)), now: now)
        return sent(device.handle(.message(ConnectionID(1), .registered), now: now))
    }

    @Test("with heuristics the device holds the membership report until the run's result, on connecting and on a ring")
    func deviceHoldsReport() {
        var device = Self.device(heuristics: true)
        _ = device.handle(.ringChanged(ring(1, 1), members: ids(1, 2)), now: at(0))
        #expect(Self.connect(&device, now: at(0)).isEmpty, "the connect run first")
        #expect(Self.sent(device.handle(.heuristicsChanged(.fail), now: at(1))) == [.membership(MembershipReport(ring: ring(1, 1), members: ids(1, 2), heuristics: .fail))])
        // A new ring: the report waits for the membership run.
        #expect(Self.sent(device.handle(.ringChanged(ring(1, 2), members: ids(1)), now: at(2))).isEmpty)
        #expect(Self.sent(device.handle(.heuristicsChanged(.fail), now: at(3))) == [.membership(MembershipReport(ring: ring(1, 2), members: ids(1), heuristics: .fail))])
        // A regular run: only a change is sent.
        #expect(Self.sent(device.handle(.heuristicsChanged(.fail), now: at(4))).isEmpty)
        #expect(Self.sent(device.handle(.heuristicsChanged(.pass), now: at(5))) == [.heuristics(.pass)])

        var plain = Self.device(heuristics: false)
        _ = plain.handle(.ringChanged(ring(1, 1), members: ids(1, 2)), now: at(0))
        #expect(Self.connect(&plain, now: at(0)) == [.membership(MembershipReport(ring: ring(1, 1), members: ids(1, 2)))])
        #expect(Self.sent(plain.handle(.ringChanged(ring(1, 2), members: ids(1)), now: at(2))) == [.membership(MembershipReport(ring: ring(1, 2), members: ids(1)))])
    }
}
