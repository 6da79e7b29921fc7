/// Pacemaker's names for the transient node attributes the scheduler reads
/// (CRM-LIVE.md §1.4; conformance CIBs), so that CIBs and habits carry over.
public enum AttributeName {
    /// `fail-count-RSC#OP_INTERVAL`, the interval in milliseconds (`fail-count-db#monitor_10000`).
    public static func failCount(resource: String, operation: String, intervalMilliseconds: Int) -> String {
        precondition(intervalMilliseconds >= 0, "failCount: negative interval \(intervalMilliseconds)")
        return "fail-count-\(resource)#\(operation)_\(intervalMilliseconds)"
    }

    /// `last-failure-RSC#OP_INTERVAL`: when the last failure happened (seconds since the epoch).
    public static func lastFailure(resource: String, operation: String, intervalMilliseconds: Int) -> String {
        precondition(intervalMilliseconds >= 0, "lastFailure: negative interval \(intervalMilliseconds)")
        return "last-failure-\(resource)#\(operation)_\(intervalMilliseconds)"
    }

    /// `master-RSC`: the promotion score crm_master sets.
    public static func promotionScore(resource: String) -> String { "master-\(resource)" }

    /// `shutdown`: a clean stop was requested (the value is the request's time).
    public static let shutdown = "shutdown"

    /// The cluster option every node must know to act alone when quorum is lost.
    public static let noQuorumPolicy = "no-quorum-policy"
}
