import ArgumentParser

/// `baton crm …`: the site cluster's resource manager (baton-crmd), in Pacemaker's shapes so
/// that habits carry over (crm_mon, cibadmin, crm_diff). Each area adds its group here.
struct CrmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "The site cluster's resource manager (baton-crmd): status, CIB, attributes.",
        subcommands: [
            CrmStatus.self,
            CrmCib.self,
            CrmProperty.self,
            CrmAttributeCommand.self,
            CrmNodeCommand.self,
            CrmSimulate.self,
            CrmResourceCommand.self,
            CrmTicketCommand.self,
            CrmFence.self,
        ]
    )
}
