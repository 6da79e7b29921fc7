/// The switches of the random CIB generator. Each generated CIB says which of them it used, so
/// that agreement with crm_simulate can be reported per feature.
public enum CIBFeature: String, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    /// Offline nodes: some cleanly down, some unclean (left without being expected to).
    case nodesDown = "nodes-down"
    /// Nodes in standby (the node attribute standby=on).
    case standby
    /// Nodes in maintenance (the node attribute maintenance=true).
    case maintenance
    /// stonith-enabled=true with a fence device (class stonith).
    case stonith
    /// Primitives of class lsb beside ocf.
    case lsb
    /// resource-stickiness on resources and in rsc_defaults.
    case stickiness
    /// meta target-role (Stopped, Started, Unpromoted, Promoted).
    case targetRole = "target-role"
    /// meta migration-threshold (and fail counts that reach it when failures are on).
    case migrationThreshold = "migration-threshold"
    /// meta allow-migrate=true on primitives.
    case allowMigrate = "allow-migrate"
    case groups
    /// Clones (interleave, clone-max, clone-node-max, globally-unique).
    case clones
    /// Promotable clones of ocf:pacemaker:Stateful.
    case promotable
    /// rsc_location with node scores.
    case locations
    /// rsc_location with rules (node attributes, #uname).
    case locationRules = "location-rules"
    /// rsc_colocation chains with scores, -INFINITY and with-rsc-role included.
    case colocations
    /// rsc_order (kinds, symmetrical, promote-then-start).
    case orders
    /// rsc_ticket with loss-policy and ticket state in the status.
    case tickets
    /// Failed monitors, starts and stops, recoveries, fail-count and last-failure, on-fail.
    case failures
    /// A primitive active on two nodes at once.
    case multipleActive = "multiple-active"
    /// A primitive whose recorded op-digest no longer matches its definition (restart).
    case definitionChange = "definition-change"
    /// have-quorum=0 with a no-quorum-policy.
    case quorum

    /// The "plain" inputs: primitives, groups, clones, colocations, orders, no failures.
    public static let plain: Set<CIBFeature> = [.groups, .clones, .colocations, .orders]

    public var description: String { rawValue }

    public static func < (lhs: CIBFeature, rhs: CIBFeature) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Reads a comma-separated list of feature names ("plain" and "all" stand for their sets).
    public static func parseList(_ text: String) -> Set<CIBFeature>? {
        var result: Set<CIBFeature> = []
        for word in text.split(separator: ",") {
            switch word {
            case "plain": result.formUnion(plain)
            case "all": result.formUnion(allCases)
            default:
                guard let feature = CIBFeature(rawValue: String(word)) else { return nil }
                result.insert(feature)
            }
        }
        return result
    }
}
