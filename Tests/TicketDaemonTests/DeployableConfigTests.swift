import BatonConfig
import Foundation
import Testing
import TicketDaemon

/// The configs in sites/ and arbitrator/ are what admins copy: they must load, be the same on
/// every member, and give every member a daemon plan.
struct DeployableConfigTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let files = ["sites/site-a/baton.conf", "sites/site-b/baton.conf", "arbitrator/baton.conf"]

    @Test(arguments: files)
    func loadsWithoutWarnings(_ file: String) throws {
        let loaded = try BatonConfigurationParser.load(path: Self.root.appendingPathComponent(file).path)
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(loaded.configuration.members.map(\.certificateName) == ["site-a", "site-b", "arbitrator"])
        #expect(loaded.configuration.tickets.map(\.name) == ["ticket-db", "ticket-ip"])
        #expect(loaded.configuration.transportSecurity != nil)
    }

    @Test func everyMemberGetsTheSameFileAndAPlan() throws {
        let texts = try Self.files.map { try String(contentsOf: Self.root.appendingPathComponent($0), encoding: .utf8) }
        #expect(Set(texts).count == 1)
        let path = Self.root.appendingPathComponent(Self.files[0]).path
        let configuration = try BatonConfigurationParser.load(path: path).configuration
        for member in ["site-a", "site-b", "arbitrator"] {
            let plan = try DaemonPlan(configuration: configuration, path: path, identity: nil, certificateNames: [member])
            #expect(plan.selfEndpoint.name == member)
            #expect(plan.membership.isSite == (member != "arbitrator"))
            #expect(plan.policies.map(\.expire) == [.seconds(60), .seconds(60)])
        }
    }

    @Test func systemdUnitsRunTheRightBackEnd() throws {
        for (directory, backEnd) in [("sites/site-a", "pacemaker"), ("sites/site-b", "pacemaker"), ("arbitrator", "none")] {
            let unit = try String(contentsOf: Self.root.appendingPathComponent("\(directory)/batond.service"), encoding: .utf8)
            #expect(unit.contains("--back-end \(backEnd)"))
            #expect(unit.contains("ExecStart=/usr/sbin/batond -c /etc/baton/baton.conf"))
            // Sites follow their Corosync quorum: losing it releases what they hold.
            #expect(unit.contains("--site-quorum corosync") == (backEnd == "pacemaker"))
            // Issue 10: the descriptor limit is raised (a connection flood exhausted the default 1024).
            #expect(unit.split(separator: "\n").contains("LimitNOFILE=65536"), "\(directory)/batond.service sets no LimitNOFILE")
        }
    }

    /// Issue 10, point 7: one batond per geo cluster on a host, from a template.
    @Test func templatesRunOneConfigurationPerInstance() throws {
        for (directory, backEnd) in [("sites/site-a", "pacemaker"), ("sites/site-b", "pacemaker"), ("arbitrator", "none")] {
            let unit = try String(contentsOf: Self.root.appendingPathComponent("\(directory)/batond@.service"), encoding: .utf8)
            #expect(unit.contains("ExecStart=/usr/sbin/batond -c /etc/baton/%i.conf --state-directory /var/lib/baton/%i --back-end \(backEnd)"))
            #expect(unit.contains("StateDirectory=baton/%i"))
            // systemd removes a RuntimeDirectory at stop: with instances sharing /run/baton,
            // stopping one would delete the others' sockets.
            #expect(unit.contains("RuntimeDirectoryPreserve=yes"))
            #expect(!unit.contains("--metrics 127.0.0.1"), "instances cannot share one metrics port")
            let plain = try String(contentsOf: Self.root.appendingPathComponent("\(directory)/batond.service"), encoding: .utf8)
            #expect(plain.contains("RuntimeDirectoryPreserve=yes"))
            for text in [unit, plain] {
                #expect(text.contains("RestartForceExitStatus=75") && text.contains("SuccessExitStatus=75"), "SIGUSR1's restart in place")
                #expect(text.split(separator: "\n").contains("LimitNOFILE=65536"), "\(directory): a unit sets no LimitNOFILE")
            }
        }
    }
}
