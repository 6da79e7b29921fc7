import ArgumentParser

/// `baton`: the admin command line of the Baton suite.
/// Every area of the product adds its subcommands here.
@main
struct Baton: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "Multi-site ticket and quorum arbitration for Linux HA clusters.",
        subcommands: [
            List.self, Grant.self, Revoke.self, Standby.self, Activate.self, Move.self, Peers.self, Status.self, Attr.self,
            Demo.self, GeoSimulate.self, ClusterCommand.self, Bench.self,
        ]
    )
}
