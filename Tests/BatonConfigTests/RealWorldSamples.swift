import Testing
@testable import BatonConfig

/// Files in the shapes that pcs, crmsh and the booth manual produce. They must load, with a
/// warning where they rely on something Baton replaces (authfile, transport).
@Suite struct RealWorldSamples {
    /// `pcs booth setup sites … arbitrators …` then `pcs booth ticket add …`.
    @Test func pcsGeneratedFile() throws {
        let text = """
        authfile = /etc/booth/booth.key
        site = 192.168.122.11
        site = 192.168.122.12
        arbitrator = 192.168.122.13
        ticket = "apacheticket"
          expire = 300
          timeout = 5
        ticket = "dbticket"
          mode = manual
        """
        let loaded = try BatonConfigurationParser.parse(text: text, fileName: "/etc/booth/booth.conf")
        #expect(loaded.configuration.members.count == 3)
        #expect(loaded.configuration.tickets.map(\.name) == ["apacheticket", "dbticket"])
        #expect(loaded.configuration.tickets[0].expire == .seconds(300))
        #expect(loaded.configuration.tickets[0].renewalFrequency == .seconds(150))
        #expect(loaded.configuration.tickets[1].mode == .manual)
        #expect(loaded.warnings.map(\.kind) == [.authenticationFileReplacedByTransportSecurity, .transportSecurityMissing])
        #expect(loaded.warnings[0].description.hasPrefix("/etc/booth/booth.conf:1: warning:"))
    }

    /// A newer pcs adds `enable-authfile = yes`; quoted values everywhere as crmsh writes them.
    @Test func crmshStyleQuotedFile() throws {
        let text = """
        transport="UDP"
        port="9929"
        arbitrator="10.1.3.1"
        site="10.1.1.1"
        site="10.1.2.1"
        authfile="/etc/booth/authkey"
        enable-authfile="yes"
        ticket="ticket-nfs"
        expire="600"
        timeout="10"
        retries="5"
        acquire-after="60"
        before-acquire-handler="/usr/share/booth/service-runnable db"
        ticket="ticket-web"
        expire="600"
        weights="0,1,2"
        """
        let loaded = try BatonConfigurationParser.parse(text: text, fileName: "booth.conf")
        let configuration = loaded.configuration
        #expect(configuration.members.map(\.role) == [.arbitrator, .site, .site])
        #expect(configuration.tickets[0].timeout == .seconds(10))
        #expect(configuration.tickets[0].retries == 5)
        #expect(configuration.tickets[0].acquireAfter == .seconds(60))
        #expect(configuration.tickets[1].weights == [0, 1, 2])
        #expect(loaded.warnings.contains { $0.kind == .transportReplaced && $0.line == 1 })
        #expect(loaded.warnings.filter { $0.kind == .authenticationFileReplacedByTransportSecurity }.count == 2)
        // Weight on the arbitrator (first line) is 0: no arbitrator warning.
        #expect(!loaded.warnings.contains { $0.kind == .arbitratorWeightIgnored })
    }

    /// The verbose example from booth's manual page.
    @Test func boothManualExample() throws {
        let text = """
        transport = udp
        port = 9930

        # D-85774
        site="192.168.201.100"
        # D-90409
        site="::ffff:192.168.202.100"
        # A-1120
        arbitrator="192.168.203.100"

        ticket="ticket-db8"
            expire        = 600
            acquire-after = 60
            timeout       = 10
            retries       = 5
        """
        let configuration = try BatonConfigurationParser.parse(text: text, fileName: "booth.conf").configuration
        #expect(configuration.port == 9930)
        #expect(configuration.members[1].address == "::ffff:192.168.202.100")
        #expect(configuration.tickets[0].acquireAfter == .seconds(60))
    }

    /// A Baton file: the booth keys plus TLS and certificate names.
    @Test func batonFileWithTLS() throws {
        let text = """
        # Baton: two sites and an arbitrator, mutual TLS 1.3
        port = 9929
        site = 10.99.0.1 name=site-a
        site = 10.99.0.2 name=site-b
        arbitrator = 10.99.0.3 name=arbitrator
        tls-ca = /etc/baton/tls/ca.pem
        tls-certificate = /etc/baton/tls/member.pem
        tls-private-key = /etc/baton/tls/member.key
        identity = site-a

        ticket = "__defaults__"
            expire = 10
            timeout = 1
            retries = 3
            acquire-after = 5
        ticket = "ticketA"
            weights = 1,2,0
        ticket = "ticketM"
            mode = manual
        """
        let loaded = try BatonConfigurationParser.parse(text: text, fileName: "baton.conf")
        #expect(loaded.warnings.isEmpty)
        let configuration = loaded.configuration
        #expect(configuration.localMember?.certificateName == "site-a")
        #expect(configuration.transportSecurity?.handshakeTimeout == .seconds(10))
        #expect(configuration.tickets.map(\.expire) == [.seconds(10), .seconds(10)])
        #expect(configuration.tickets[0].renewalFrequency == .seconds(5))
        #expect(configuration.tickets[1].mode == .manual)
    }

    @Test func relativeTLSPathsAreRelativeToTheConfigurationFile() throws {
        let path = "/tmp/baton-config-test-\(UInt32.random(in: 0...UInt32.max)).conf"
        try writeFile(path, "site = 10.0.0.1\ntls-ca = tls/ca.pem\ntls-certificate = /etc/baton/member.pem\ntls-private-key = member.key\n")
        defer { removeFile(path) }
        let security = try #require(try BatonConfigurationParser.load(path: path).configuration.transportSecurity)
        #expect(security.certificateAuthorityFile == "/tmp/tls/ca.pem")
        #expect(security.certificateFile == "/etc/baton/member.pem")
        #expect(security.privateKeyFile == "/tmp/member.key")
    }

    /// The loader reads a real file and names it in diagnostics.
    @Test func loadFromDisk() throws {
        let path = "/tmp/baton-config-test-\(UInt32.random(in: 0...UInt32.max)).conf"
        let text = "site = 10.0.0.1\nsite = 10.0.0.2\narbitrator = 10.0.0.3\nticket = A\nexpire = abc\n"
        try writeFile(path, text)
        defer { removeFile(path) }
        do {
            _ = try BatonConfigurationParser.load(path: path)
            Issue.record("a bad file loaded")
        } catch {
            #expect(error.description == "\(path):5: expire 'abc' is not a time span (seconds, 'Ns' or 'Nms')")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

struct WriteFailure: Error {}

func writeFile(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "wb") else { throw WriteFailure() }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw WriteFailure() }
}

func removeFile(_ path: String) {
    unlink(path)
}
