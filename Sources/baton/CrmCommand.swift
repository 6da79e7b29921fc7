import ArgumentParser

/// `baton crm …`: the site cluster's resource manager (baton-crmd), in Pacemaker's shapes.
struct CrmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "The site cluster's resource manager (baton-crmd): status, CIB, attributes.",
        subcommands: [CrmStatus.self]
    )
}
