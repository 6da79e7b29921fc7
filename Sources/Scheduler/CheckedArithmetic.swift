
/// The numbers the scheduler takes from a CIB (times, timeouts, intervals, call ids,
/// utilization, counts) are whatever the file holds: issue 10 trapped on an interval of
/// 2^63-1 that crm_simulate accepts. Arithmetic on them saturates instead of trapping, which
/// keeps their meaning (a failure that expires 2^63 s from now never expires), and counts that
/// size a loop are bounded.
extension Int {
    func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    func multipliedSaturated(by other: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }
}

enum SchedulerLimits {
    /// Instances of one clone (or the number of nodes, when more). crm_simulate spends minutes
    /// on clone-max=100000 (it makes every instance); a cluster has at most a few hundred nodes.
    static let instancesMax = 1024
    /// Replicas of one bundle: each is a container, an address, a connection and a guest node
    /// (`baton fuzz` found replicas=4294967295 clipped to 1024 taking 52 s; 256 take 3 s, debug).
    static let bundleReplicasMax = 256

    /// Pacemaker reads utilization and capacity as C ints: a value outside is clipped to its
    /// range (sums of such values then fit an Int); text that is no number is 0.
    static func integer(_ text: String?) -> Int {
        guard let text else { return 0 }
        if let value = Int(text) { return Int(Int32(clamping: value)) }
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return 0 }
        return text.first == "-" ? Int(Int32.min) : Int(Int32.max)
    }
}
