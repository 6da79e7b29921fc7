import ArgumentParser

/// `baton crm …`: the per-site resource manager's admin commands, in Pacemaker's shapes so
/// that habits carry over (crm_mon, cibadmin, crm_diff). Each area adds its group here.
struct CrmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "The site's resource manager: CIB access and status, in Pacemaker's shapes.",
        subcommands: [
            CrmCib.self,
        ]
    )
}
