import QuorumArbiter
import QuorumDeviceShell
import Testing

/// corosync.conf's `quorum.device.heuristics` as the node's device reads it from cmap.
@Suite struct QuorumDeviceConfigurationTests {
    static let base = ["model": "baton", "baton.host": "192.0.2.30"]

    static func parse(_ extra: [String: String]) throws(DeviceConfigurationError) -> DeviceConfiguration {
        try DeviceConfiguration.parse(base.merging(extra) { $1 })
    }

    @Test("no heuristics section: mode off, qdevice's defaults, the device does not wait for them")
    func absent() throws {
        let configuration = try Self.parse([:])
        #expect(configuration.heuristics == HeuristicsSettings(mode: .off))
        #expect(!configuration.settings.heuristicsEnabled)
    }

    @Test("mode, timeouts, interval and exec_ commands; defaults follow the device's timeouts")
    func full() throws {
        let configuration = try Self.parse([
            "timeout": "4000", "sync_timeout": "20000", "heuristics.mode": "on", "heuristics.interval": "2000",
            "heuristics.exec_ping": "/usr/bin/ping -q -c 1 \"192.0.2.1\"", "heuristics.exec_a_file": "/usr/bin/test -e /tmp/x",
        ])
        let heuristics = configuration.heuristics
        #expect(heuristics.mode == .on && heuristics.timeout == .seconds(2) && heuristics.syncTimeout == .seconds(10) && heuristics.interval == .seconds(2))
        #expect(heuristics.commands == [HeuristicsCommand(name: "a_file", arguments: ["/usr/bin/test", "-e", "/tmp/x"]),
                                        HeuristicsCommand(name: "ping", arguments: ["/usr/bin/ping", "-q", "-c", "1", "192.0.2.1"])])
        #expect(configuration.settings.heuristicsEnabled)
        let explicit = try Self.parse(["heuristics.mode": "sync", "heuristics.timeout": "1000", "heuristics.sync_timeout": "120000",
                                       "heuristics.exec_x": "/bin/true"])
        #expect(explicit.heuristics.timeout == .seconds(1) && explicit.heuristics.syncTimeout == .seconds(120) && explicit.heuristics.interval == .seconds(30))
    }

    @Test("bad heuristics settings: an error naming the key")
    func errors() {
        func key(_ values: [String: String]) -> String? {
            do {
                _ = try Self.parse(values)
                return nil
            } catch {
                return error.key
            }
        }
        #expect(key(["heuristics.mode": "maybe", "heuristics.exec_x": "/bin/true"]) == "quorum.device.heuristics.mode")
        #expect(key(["heuristics.mode": "on"]) == "quorum.device.heuristics.mode", "on without a command")
        #expect(key(["heuristics.mode": "on", "heuristics.exec_x": "/bin/true", "heuristics.timeout": "5s"]) == "quorum.device.heuristics.timeout")
        #expect(key(["heuristics.mode": "on", "heuristics.exec_x": "/bin/true", "heuristics.timeout": "500"]) == "quorum.device.heuristics.timeout")
        #expect(key(["heuristics.mode": "on", "heuristics.exec_x": "/bin/true", "heuristics.sync_timeout": "-1"]) == "quorum.device.heuristics.sync_timeout")
        #expect(key(["heuristics.mode": "on", "heuristics.exec_x": "/bin/true", "heuristics.interval": "0"]) == "quorum.device.heuristics.interval")
        #expect(key(["heuristics.mode": "on", "heuristics.exec_x": ""]) == "quorum.device.heuristics.exec_x")
        #expect(key(["heuristics.mode": "sync", "heuristics.exec_ping": "ping 192.0.2.1"]) == "quorum.device.heuristics.exec_ping")
        #expect(key(["heuristics.mode": "sync", "heuristics.exec_q": "/bin/echo \"open"]) == "quorum.device.heuristics.exec_q")
        var many: [String: String] = ["heuristics.mode": "on"]
        for index in 0...HeuristicsSettings.commandsMax { many["heuristics.exec_\(index)"] = "/bin/true" }
        #expect(key(many) == "quorum.device.heuristics")
        var message = ""
        do {
            _ = try Self.parse(["heuristics.mode": "sync", "heuristics.exec_ping": "ping 192.0.2.1"])
        } catch {
            message = error.description
        }
        #expect(message.contains("quorum.device.heuristics.exec_ping") && message.contains("absolute path"), "\(message)")
    }

    @Test("algorithm lms is accepted; its device votes are votequorum's nodes − 1, another explicit value is refused")
    func lmsVotes() throws {
        let lms = try Self.parse(["baton.algorithm": "lms"])
        #expect(lms.algorithm == .lms && lms.votes == nil)
        try lms.checkVotes(configuredNodes: 4)
        try Self.parse(["baton.algorithm": "lms", "votes": "3"]).checkVotes(configuredNodes: 4)
        #expect(LastManStanding.defaultDeviceVotes(configuredNodes: 4) == 3)
        #expect(LastManStanding.defaultDeviceVotes(configuredNodes: 2) == 1)
        do {
            try Self.parse(["baton.algorithm": "lms", "votes": "1"]).checkVotes(configuredNodes: 4)
            Issue.record("lms with 1 vote on 4 nodes was accepted")
        } catch {
            #expect(error.key == "quorum.device.votes")
            #expect(error.description.contains("3 (the 4 configured nodes − 1) for algorithm lms"), "\(error)")
        }
        // ffsplit is not checked here (its 1 vote is the arbitrator's rule, unchanged).
        try Self.parse(["votes": "1"]).checkVotes(configuredNodes: 4)
        #expect(throws: DeviceConfigurationError.self) { try Self.parse(["baton.algorithm": "lsm"]) }
    }
}
