import ArgumentParser
import BatonVersion

/// `baton`: the admin command line of the Baton suite.
/// Every area of the product adds its subcommands here. The process starts in `Entry`.
struct Baton: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "Multi-site ticket and quorum arbitration for Linux HA clusters.",
        discussion: """
            Ticket commands talk to the batond of this machine over its admin socket (/run/baton/CONF-MEMBER.sock, \
            CONF the configuration file's name without .conf: one per configuration; root only). With -s MEMBER \
            and no socket of MEMBER here, they dial MEMBER over TLS with this machine's member certificate, which \
            MEMBER answers if its admin-from allows (default: sites).
            Exit status of list, grant, revoke, standby, activate, move, peers, attr:
              0  done (or accepted, without -w)
              1  refused or failed (the message says why, in booth's words where booth has them)
              6  the configuration file cannot be read or is invalid
              7  batond is not running here
             64  bad command line
            status exits 0 running, 7 not running, 1 bad configuration (booth's codes).
            """,
        version: BatonVersion.version,
        subcommands: [
            List.self, Grant.self, Revoke.self, Standby.self, Activate.self, Move.self, Peers.self, Status.self, Attr.self,
        ],
        // What admins type every day first (above); then the site's cluster, set-up, and the lab
        // commands (simulators, benchmarks, conformance) apart, so `baton --help` reads in that order.
        groupedSubcommands: [
            CommandGroup(name: "Site cluster", subcommands: [CrmCommand.self, ClusterCommand.self, AgentCommand.self, FenceCommand.self]),
            CommandGroup(name: "Set-up and migration", subcommands: [PkiCommand.self, MigrateBoothCommand.self]),
            CommandGroup(name: "Lab (simulators, benchmarks, conformance, demo)", subcommands: [
                Demo.self, GeoSimulate.self, Bench.self, LossyBench.self, GeoBenchCommand.self,
                ConformanceCommand.self, SimulateCommand.self, BenchmarkCommand.self, FuzzCommand.self, ExecutorBenchCommand.self,
                DifferentialCommand.self,
                CrmMonDifferentialCommand.self,
                QuorumSimulateCommand.self,
            ]),
        ]
    )
}
