import ArgumentParser

/// `baton crm fence NODE [--off|--reboot]` (stonith_admin --reboot/--fence), `baton crm fence
/// --history` (stonith_admin --history '*') and `baton crm node confirm-down NODE`
/// (stonith_admin --confirm) against this node's baton-crmd. A fence returns once a node that
/// can run a device for the target ran it (exit 0) or it failed (exit 1).
struct CrmFence: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fence",
        abstract: "Fence a node through the cluster's fence devices (stonith_admin --reboot), or show the fence history.")
    @Argument(help: "The node to fence.") var node: String?
    @Flag(help: "Power the node off (stonith_admin --fence) instead of rebooting it.") var off = false
    @Flag(help: "Reboot the node (the default).") var reboot = false
    @Flag(help: "Every fence action this node knows of, oldest first (target, action, device, executing node, result, time).")
    var history = false
    @OptionGroup var access: CrmdCIBAccess

    func validate() throws {
        guard history != (node != nil) else { throw ValidationError("give a NODE to fence, or --history") }
        guard !(off && reboot) else { throw ValidationError("--off and --reboot exclude each other") }
        guard !history || (!off && !reboot) else { throw ValidationError("--history takes no --off or --reboot") }
    }

    func run() throws {
        if history {
            print(try access.send("fence history"), terminator: "")
        } else if let node {
            print(try access.send("fence \(node) \(off ? "off" : "reboot")"), terminator: "")
        }
    }
}

extension CrmNodeCommand {
    struct ConfirmDown: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm-down",
            abstract: "Tell the cluster a lost node is down (stonith_admin --confirm): it counts as fenced. Only when it really is off.")
        @Argument(help: "The node.") var node: String
        @OptionGroup var access: CrmdCIBAccess

        func run() throws {
            print(try access.send("confirm-down \(node)"), terminator: "")
        }
    }
}
