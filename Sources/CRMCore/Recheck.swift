import CIB
import Scheduler

/// When the DC runs the scheduler again with no event (issue 14, point 1: "a recheck time
/// computed from failure-timeout"), pure. Pacemaker 2.1.5 since 2.0.3 (CRM-LIVE.md §1.1, §3):
/// the scheduler notes, for every resource with failure-timeout whose fail count on a node is
/// not expired yet, the instant it expires (the node's last failure of it + failure-timeout
/// + 1 s: unpack.c check_operation_expiry, pe__update_recheck_time); the controller re-runs
/// the scheduler then, or after cluster-recheck-interval (default 15 min, 0: never) if that
/// comes first (controld_start_recheck_timer). The re-run finds the fail count expired: the
/// scheduler forgets the failure (clear_failcount) and the resource may return to the node it
/// prefers.
///
/// | input (the CIB the graph was made from, its wall-clock second) | recheck              |
/// |-------------------------------------------------------------------|----------------------|
/// | a fail count > 0 of a resource with failure-timeout T, last failure L, L + T > now | L + T + 1 |
/// | several                                                           | the earliest         |
/// | cluster-recheck-interval I > 0                                    | at most now + I      |
/// | nothing to expire, I = 0                                          | none                 |
///
/// | a date_expression's next change C > now (Scheduler's DateRules)    | C                    |
///
/// The date rules' half of Pacemaker's recheck-by (pe__eval_date_expr's next_change): a
/// location rule, a set of options or attributes whose date range begins or ends is applied at
/// that second, not at the next interval.
public enum Recheck {
    /// Pacemaker's cluster-recheck-interval default.
    public static let intervalDefault: Duration = .seconds(15 * 60)
    /// A recheck due already waits this long (controld_start_recheck_timer's 500 ms).
    public static let overdueDelay: Duration = .milliseconds(500)

    /// How long after the graph made at `now` (wall-clock seconds) the DC re-runs the
    /// scheduler; nil: not until an event.
    public static func delay(_ cib: CIB, now: Int) -> Duration? {
        let interval = self.interval(cib)
        let expiries = [failureExpiry(cib, now: now), DateRules.nextChange(in: cib.configuration.xml, after: now)].compactMap { $0 }
        guard let expiry = expiries.min() else { return interval }
        let untilExpiry = expiry > now ? Duration.seconds(expiry - now) : overdueDelay
        guard let interval else { return untilExpiry }
        return min(interval, untilExpiry)
    }

    /// cluster-recheck-interval (nil when 0 or unreadable as a positive span).
    public static func interval(_ cib: CIB) -> Duration? {
        guard let text = cib.configuration.clusterProperty("cluster-recheck-interval") else { return intervalDefault }
        guard let milliseconds = Duration.milliseconds(parsing: text) else { return intervalDefault }
        return milliseconds > 0 ? .milliseconds(milliseconds) : nil
    }

    /// The earliest wall-clock second at which a fail count not yet expired at `now` expires
    /// (last failure + failure-timeout + 1), nil when none will.
    public static func failureExpiry(_ cib: CIB, now: Int) -> Int? {
        let timeouts = failureTimeouts(cib.configuration)
        guard !timeouts.isEmpty else { return nil }
        var earliest: Int?
        for state in cib.status.nodeStates {
            // The node's fail counts and last failures, by resource (instance numbers dropped:
            // an anonymous clone's instances share the clone's timeout).
            var counted: Set<String> = []
            var lastFailure: [String: Int] = [:]
            for set in state.transientAttributes?.sets ?? [] {
                for pair in set.pairs {
                    let name = pair.name
                    guard let value = pair.value else { continue }
                    if let resource = resource(in: name, prefix: "fail-count-"), value != "0", !value.isEmpty {
                        counted.insert(resource)
                    } else if let resource = resource(in: name, prefix: "last-failure-"), let seconds = Int(value) {
                        lastFailure[resource] = max(lastFailure[resource] ?? 0, seconds)
                    }
                }
            }
            for resource in counted {
                guard let timeout = timeouts[resource], let last = lastFailure[resource] else { continue }
                let (end, overflow) = last.addingReportingOverflow(timeout)
                // Expired already (the scheduler forgets it at `now`): nothing to wait for.
                guard !overflow, end > now, end < Int.max else { continue }
                let expiry = end + 1
                earliest = min(earliest ?? expiry, expiry)
            }
        }
        return earliest
    }

    /// The resource a fail-count or last-failure attribute names ("fail-count-R#op_interval",
    /// or the older "fail-count-R"), without a clone instance number.
    static func resource(in name: String, prefix: String) -> String? {
        guard name.hasPrefix(prefix) else { return nil }
        var id = Substring(name.dropFirst(prefix.count))
        if let hash = id.lastIndex(of: "#") { id = id[..<hash] }
        if let colon = id.lastIndex(of: ":"), !id[id.index(after: colon)...].isEmpty,
           id[id.index(after: colon)...].allSatisfy(\.isNumber) {
            id = id[..<colon]
        }
        return id.isEmpty ? nil : String(id)
    }

    /// failure-timeout in whole seconds per primitive id (and clone id), where positive: the
    /// primitive's own meta attribute, else its group's, else its clone's, else rsc_defaults.
    static func failureTimeouts(_ configuration: Configuration) -> [String: Int] {
        func seconds(_ text: String?) -> Int? {
            guard let text, let milliseconds = Duration.milliseconds(parsing: text) else { return nil }
            return milliseconds / 1000
        }
        let defaults = configuration.resourceDefaults?.first { $0.rules.isEmpty && $0["failure-timeout"] != nil }?["failure-timeout"]
        var timeouts: [String: Int] = [:]
        func note(_ primitive: Primitive, inherited: [ResourceAttributes], clone: String?) {
            let chain = [primitive.attributes] + inherited
            let value = chain.lazy.compactMap { $0.metaValue("failure-timeout") }.first ?? defaults
            guard let timeout = seconds(value), timeout > 0 else { return }
            timeouts[primitive.id] = timeout
            if let clone { timeouts[clone] = timeout }
        }
        for resource in configuration.resources {
            switch resource {
            case .primitive(let primitive):
                note(primitive, inherited: [], clone: nil)
            case .group(let group):
                for member in group.members { note(member, inherited: [group.attributes], clone: nil) }
            case .clone(let clone):
                switch clone.child {
                case .primitive(let primitive): note(primitive, inherited: [clone.attributes], clone: clone.id)
                case .group(let group):
                    for member in group.members { note(member, inherited: [group.attributes, clone.attributes], clone: nil) }
                case nil: break
                }
            case .other:
                break
            }
        }
        return timeouts
    }
}
