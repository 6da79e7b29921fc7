import ArgumentParser
import BatonConfig
import BatonVersion
import ChildProcess
import Dispatch
import Foundation
import Logging
import TLSTransport
import TicketDaemon
import DaemonLogging

/// batond: the Baton ticket manager daemon, for a site or an arbitrator.
@main
struct Batond: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batond",
        abstract: "The Baton ticket manager daemon (site or arbitrator role).",
        discussion: """
            Runs in the foreground (systemd Type=simple). SIGTERM or SIGINT stop it: tickets led here are \
            revoked here and handed over to the next connected site, then a last state write. SIGUSR1 stops it \
            keeping them granted, exit 75, for a restart in place within the lease (an upgrade). \
            SIGHUP re-reads the configuration: TLS certificates, key and handshake timeout for new connections, and tickets at once \
            (added ones start, removed ones are revoked here, changed ones keep their holder) and peers' new \
            addresses; adding, removing or renaming members waits for a restart.
            Exit status: 0 stopped cleanly, 75 stopped by SIGUSR1 (restart in place), 1 bad configuration, files, \
            or a socket or state directory another batond holds, 2 runtime failure.
            Logs go to stderr; under systemd each line carries its syslog priority for the journal.
            """,
        version: BatonVersion.version)

    @Option(name: .shortAndLong, help: "Configuration file (booth.conf format with Baton's TLS keys).")
    var config = "/etc/baton/baton.conf"
    @Option(name: [.customShort("s"), .long], help: "This member's name (else `identity` in the file, else the certificate's name).")
    var site: String?
    @Option(help: "Directory of the state journal (default: /var/lib/baton for baton.conf, /var/lib/baton/CONFNAME for CONFNAME.conf).")
    var stateDirectory: String?
    @Option(help: "Directory of the admin socket.") var runDirectory = "/run/baton"
    @Option(help: "Admin socket (default: RUN-DIRECTORY/CONFNAME-MEMBER.sock, CONFNAME the configuration file's name without .conf).")
    var socket: String?
    @Option(help: "Site back end: file (a CIB ticket section in a file), pacemaker (crm_ticket), crmd (baton-crmd's live CIB), or none (arbitrators).")
    var backEnd: String?
    @Option(help: "baton-crmd's admin socket, for the crmd back end.") var crmdSocket = CrmdBackEnd.defaultSocket
    @Option(help: "File of the file back end (default: STATE-DIRECTORY/cib-tickets.xml).") var cibFile: String?
    @Option(help: "Serve Prometheus metrics at HOST:PORT (for example 127.0.0.1:9939).") var metrics: String?
    @Option(help: "Site quorum: corosync (follow the local node's quorum; losing it releases held tickets), crmd (baton-crmd's quorum through --crmd-socket, with the crmd back end; baton-crmd unreachable counts as lost), or none.")
    var siteQuorum = "none"
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: Logger.Level = .info
    @Option(help: ArgumentHelp(
        "Take over from booth: write this member's state from FILE, `booth list`'s output saved before booth stopped, then exit (- reads stdin).",
        discussion: "Once per member, before batond's first start there and within booth's lease; see the README's \"Coming from booth\"."))
    var adoptBooth: String?

    func run() async throws {
        var logger = Logger(label: "batond") { DaemonLogHandler(label: $0) }
        logger.logLevel = logLevel
        signal(SIGPIPE, SIG_IGN)
        raiseDescriptorLimit(logger: logger)

        let loaded: LoadedConfiguration
        do {
            loaded = try BatonConfigurationParser.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("batond: \(error)\n".utf8))
            throw ExitCode(1)
        }
        for warning in loaded.warnings { logger.warning("\(warning)") }
        let plan: DaemonPlan
        do {
            var names: [String] = []
            if site == nil, loaded.configuration.identity == nil, let security = loaded.configuration.transportSecurity {
                names = (try? TLSContext(files: TLSFiles(
                    certificateAuthorityFile: security.certificateAuthorityFile, certificateFile: security.certificateFile,
                    privateKeyFile: security.privateKeyFile)).ownCertificateNames) ?? []
            }
            plan = try DaemonPlan(configuration: loaded.configuration, path: config, identity: site ?? loaded.configuration.identity, certificateNames: names)
        } catch {
            FileHandle.standardError.write(Data("batond: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let siteBackEnd: any SiteBackEnd
        switch backEnd ?? (plan.membership.isSite ? "file" : "none") {
        case "none":
            guard !plan.membership.isSite else {
                FileHandle.standardError.write(Data("batond: a site needs a back end (file, pacemaker or crmd)\n".utf8))
                throw ExitCode(1)
            }
            siteBackEnd = NoBackEnd()
        case "file": siteBackEnd = FileCIBBackEnd(path: cibFile ?? Batond.defaultStateDirectory(self.stateDirectory, config) + "/cib-tickets.xml")
        case "pacemaker": siteBackEnd = try CrmTicketBackEnd()
        case "crmd": siteBackEnd = CrmdBackEnd(socket: crmdSocket)
        case let other:
            FileHandle.standardError.write(Data("batond: --back-end \(other): expected file, pacemaker, crmd or none\n".utf8))
            throw ExitCode(1)
        }
        var metricsAddress: (host: String, port: Int)?
        if let metrics {
            guard let colon = metrics.lastIndex(of: ":"), let port = Int(metrics[metrics.index(after: colon)...]), (1...65535).contains(port) else {
                FileHandle.standardError.write(Data("batond: --metrics \(metrics): expected HOST:PORT\n".utf8))
                throw ExitCode(1)
            }
            metricsAddress = (String(metrics[..<colon]), port)
        }
        // Per configuration file, so that several geo clusters can run on one host.
        let configurationFileName = Batond.configurationFileName(config)
        let stateDirectory = Batond.defaultStateDirectory(self.stateDirectory, config)
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard let quorumSource = SiteQuorumSource(rawValue: siteQuorum) else {
            FileHandle.standardError.write(Data("batond: --site-quorum \(siteQuorum): expected corosync, crmd or none\n".utf8))
            throw ExitCode(1)
        }
        if quorumSource == .crmd && !(siteBackEnd is CrmdBackEnd) {
            FileHandle.standardError.write(Data("batond: --site-quorum crmd needs --back-end crmd (it asks the same baton-crmd)\n".utf8))
            throw ExitCode(1)
        }
        let socketPath = socket ?? "\(runDirectory)/\(configurationFileName)-\(plan.selfEndpoint.name).sock"
        let socketDirectory = String(socketPath[..<(socketPath.lastIndex(of: "/") ?? socketPath.startIndex)])
        if !socketDirectory.isEmpty { mkdir(socketDirectory, 0o700) }
        // Before anything touches the CIB, the journal or the socket: this member's socket and
        // state directory are ours alone, or we stop here.
        let claim: InstanceClaim
        do {
            claim = try InstanceClaim(socketPath: socketPath, stateDirectory: stateDirectory)
        } catch {
            FileHandle.standardError.write(Data("batond: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let adoptBooth {
            do {
                let report = try await BoothAdoption.adopt(
                    listFile: adoptBooth, plan: plan, stateDirectory: stateDirectory, backEnd: siteBackEnd)
                print(report, terminator: "")
            } catch {
                FileHandle.standardError.write(Data("batond: --adopt-booth: \(error)\n".utf8))
                throw ExitCode(1)
            }
            withExtendedLifetime(claim) {}
            return
        }
        let daemon: TicketDaemon
        do {
            daemon = try TicketDaemon(
                plan: plan, stateDirectory: stateDirectory, socketPath: socketPath, backEnd: siteBackEnd,
                metricsAddress: metricsAddress, siteQuorum: quorumSource, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("batond: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let (shutdown, stop) = AsyncStream<Void>.makeStream()
        let configPath = config
        let identity = plan.selfEndpoint.name
        let signals: SignalWatcher
        do {
            signals = try SignalWatcher(stop: stop, keepAndStop: {
                daemon.keepTicketsOnStop()
                stop.yield()
            }, reload: {
                daemon.reload(Result {
                    let reloaded = try BatonConfigurationParser.load(path: configPath)
                    return try DaemonPlan(configuration: reloaded.configuration, path: configPath, identity: identity, certificateNames: [])
                })
            })
        } catch {
            FileHandle.standardError.write(Data("batond: \(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            try await daemon.run(shutdown: shutdown)
        } catch {
            logger.critical("batond failed: \(error)")
            throw ExitCode(2)
        }
        withExtendedLifetime(signals) {}
        withExtendedLifetime(claim) {}
        // SIGUSR1: a restart in place; the unit's RestartForceExitStatus=75 starts batond again.
        // (The loop has shut down: nothing writes the flag any more.)
        if daemon.keepsTickets { throw ExitCode(75) }
    }

    /// `geo1` for `/etc/baton/geo1.conf`: names the admin socket and the default state
    /// directory, so that each configuration file has its own.
    static func configurationFileName(_ path: String) -> String {
        var name = Substring(path.split(separator: "/").last ?? "baton")
        if name.hasSuffix(".conf") { name = name.dropLast(5) }
        return name.isEmpty ? "baton" : String(name)
    }

    static func defaultStateDirectory(_ given: String?, _ config: String) -> String {
        if let given { return given }
        let name = configurationFileName(config)
        return name == "baton" ? "/var/lib/baton" : "/var/lib/baton/\(name)"
    }
}

/// Raises the soft limit on open descriptors to the hard one (at most
/// `ConnectionLimits.descriptorsSoftLimitMax`): the usual soft 1024 is what a connection flood
/// exhausts first. `LimitNOFILE=` in the unit sets the hard limit.
func raiseDescriptorLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let wanted = min(limit.rlim_max, rlim_t(ConnectionLimits.descriptorsSoftLimitMax))
    if limit.rlim_cur < wanted {
        let before = limit.rlim_cur
        limit.rlim_cur = wanted
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.info("open descriptors limit raised", metadata: ["limit.before": .string("\(before)"), "limit.now": .string("\(wanted)")])
            return
        }
    }
    logger.info("open descriptors limit", metadata: ["limit.now": .string("\(limit.rlim_cur)")])
}

/// SIGTERM/SIGINT end the daemon; SIGUSR1 ends it keeping its tickets; SIGHUP reloads the
/// configuration. Caught from the moment this is built (`SignalWatch`: never ignored, never
/// lost), until it is released.
final class SignalWatcher {
    let watch: SignalWatch

    init(stop: AsyncStream<Void>.Continuation, keepAndStop: @escaping @Sendable () -> Void, reload: @escaping @Sendable () -> Void) throws {
        watch = try SignalWatch(signals: [SIGTERM, SIGINT, SIGUSR1, SIGHUP]) { number in
            switch number {
            case SIGUSR1: keepAndStop()
            case SIGHUP: reload()
            default: stop.yield()
            }
        }
    }
}

/// `--log-level` takes swift-log's level names; anything else is refused with the list.
extension Logger.Level: @retroactive ExpressibleByArgument {}
