import BatonConfig
import Foundation
import Testing
import TicketDaemon

/// `admin-from` and `clock-drift-max` reach what the daemon runs.
struct PlanKeysTests {
    static func plan(_ extra: String) throws -> DaemonPlan {
        let text = """
            site = 10.0.0.1 name=site-a
            site = 10.0.0.2 name=site-b
            arbitrator = 10.0.0.3 name=arbitrator
            tls-ca = /ca.pem
            tls-certificate = /m.pem
            tls-private-key = /m.key
            \(extra)
            ticket = A
              expire = 10
            """
        let loaded = try BatonConfigurationParser.parse(text: text, fileName: "geo.conf")
        return try DaemonPlan(configuration: loaded.configuration, path: "geo.conf", identity: "site-a", certificateNames: [])
    }

    @Test func adminFromBecomesTheMembersAnswered() throws {
        #expect(try Self.plan("").remoteAdministrators == [0, 1])
        #expect(try Self.plan("admin-from = all").remoteAdministrators == [0, 1, 2])
        #expect(try Self.plan("admin-from = none").remoteAdministrators == [])
        #expect(try Self.plan("admin-from = arbitrator").remoteAdministrators == [2])
    }

    /// The README said the drift bound was configured; it was fixed at 10,000 ppm. Now the
    /// key reaches every ticket's policy and shortens the leader's lease by it.
    @Test func clockDriftMaxReachesEveryTicket() throws {
        let standard = try Self.plan("").policies[0]
        let wide = try Self.plan("clock-drift-max = 5%").policies[0]
        #expect(standard.clockDriftMaxPartsPerMillion == 10_000)
        #expect(wide.clockDriftMaxPartsPerMillion == 50_000)
        #expect(wide.leaderLease < standard.leaderLease)
        #expect(wide.expireRealMax > standard.expireRealMax)
    }

    /// Loading from a file (relative TLS paths resolved) keeps both keys: the first cut
    /// rebuilt the configuration there and silently fell back to the defaults.
    @Test func loadingFromAFileKeepsTheKeys() throws {
        let path = NSTemporaryDirectory() + "plan-keys-\(getpid()).conf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "site = 10.0.0.1\nsite = 10.0.0.2\narbitrator = 10.0.0.3\ntls-ca = ca.pem\ntls-certificate = m.pem\ntls-private-key = m.key\nadmin-from = all\nclock-drift-max = 2%\nticket = A\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try BatonConfigurationParser.load(path: path).configuration
        #expect(configuration.adminFrom == .all)
        #expect(configuration.clockDriftMaxPartsPerMillion == 20_000)
        #expect(configuration.transportSecurity?.certificateFile.hasPrefix("/") == true)
    }
}
