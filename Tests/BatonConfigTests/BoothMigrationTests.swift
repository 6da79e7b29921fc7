import BatonConfig
import Testing

/// `baton migrate-booth`'s core: a booth.conf as booth's documentation writes them becomes a
/// Baton configuration that loads with its TLS keys, tickets and comments kept.
@Suite struct BoothMigrationTests {
    static let boothFile = """
        # booth.conf of a two-site cluster
        transport = UDP
        port = 9929
        arbitrator = 192.168.201.100
        site = 192.168.201.101   # Prague
        site = 192.168.202.101
        authfile = /etc/booth/authkey
        ticket = "ticket-A"
            expire = 600
            timeout = 5
            retries = 5
            before-acquire-handler = /usr/share/booth/service-runnable db
            acquire-after = 60
        ticket = "ticket-B"
            mode = manual

        """

    @Test func aBoothFileBecomesABatonFileThatLoads() throws {
        let result = try BoothMigration.convert(
            Self.boothFile, fileName: "/etc/booth/booth.conf", certificateAuthority: "/etc/baton/tls/ca.pem",
            certificate: "/etc/baton/tls/member.pem", privateKey: "/etc/baton/tls/member.key",
            names: ["192.168.201.101": "site-prague", "192.168.201.100": "arbitrator", "10.0.0.9": "nobody"])
        let loaded = try BatonConfigurationParser.parse(text: result.text, fileName: "converted")
        let configuration = loaded.configuration
        #expect(configuration.transportSecurity?.certificateAuthorityFile == "/etc/baton/tls/ca.pem")
        #expect(configuration.tickets.map(\.name) == ["ticket-A", "ticket-B"])
        #expect(configuration.members.map(\.certificateName) == ["arbitrator", "site-prague", "192.168.202.101"])
        // Nothing booth-only is read any more; what booth had is still there to see.
        #expect(!loaded.warnings.contains { $0.kind == .authenticationFileReplacedByTransportSecurity || $0.kind == .transportReplaced })
        #expect(result.text.contains("# authfile = /etc/booth/authkey    # booth only"))
        #expect(result.text.contains("site = 192.168.201.101 name=site-prague   # Prague"))
        #expect(result.text.contains("# booth.conf of a two-site cluster"))
        #expect(result.text.contains("before-acquire-handler = /usr/share/booth/service-runnable db"))
        // TLS before the first ticket (a global key inside a ticket section would read as global anyway,
        // but an admin reads the file top down).
        let tls = try #require(result.text.firstRange(of: "tls-ca = "))
        let ticket = try #require(result.text.firstRange(of: "ticket = \"ticket-A\""))
        #expect(tls.lowerBound < ticket.lowerBound)
        #expect(result.notes.contains { $0.contains("192.168.202.101: no certificate name given") })
        #expect(result.notes.contains { $0.contains("--name 10.0.0.9=nobody: no member with that address") })
        #expect(result.notes.contains { $0.contains(":2: 'transport' commented out") })
    }

    @Test func aBoothFileThatDoesNotLoadIsRefusedWithItsLine() {
        #expect {
            _ = try BoothMigration.convert("port = ninety\n", fileName: "bad.conf", certificateAuthority: "a", certificate: "b", privateKey: "c")
        } throws: { error in
            "\(error)".hasPrefix("bad.conf:1")
        }
    }
}
