/// A reading of one member's own monotonic clock, in nanoseconds since an arbitrary origin.
///
/// Pure modules never read a clock: shells (and the simulator) pass these in. Two members'
/// instants are never compared with each other; messages carry `Duration`s, not instants,
/// so wall-clock skew between sites cannot matter (TICKETS.md).
public struct LocalInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    public static let origin = LocalInstant(nanoseconds: 0)

    public static func < (left: LocalInstant, right: LocalInstant) -> Bool {
        left.nanoseconds < right.nanoseconds
    }

    /// Saturates at the ends of the clock instead of trapping: received spans are bounded
    /// before they are added (a week on the wire, twice expire in the election), and a clock
    /// reading 292 years from its origin is not one batond sees; saturation keeps even a
    /// missed bound from taking a member down.
    public static func + (instant: LocalInstant, span: Duration) -> LocalInstant {
        let (sum, overflow) = instant.nanoseconds.addingReportingOverflow(span.nanoseconds)
        return LocalInstant(nanoseconds: overflow ? (span > .zero ? .max : .min) : sum)
    }

    public static func - (instant: LocalInstant, span: Duration) -> LocalInstant {
        let (difference, overflow) = instant.nanoseconds.subtractingReportingOverflow(span.nanoseconds)
        return LocalInstant(nanoseconds: overflow ? (span > .zero ? .min : .max) : difference)
    }

    /// The span from `earlier` to `self` (negative when `earlier` is later).
    public func since(_ earlier: LocalInstant) -> Duration {
        // Int64 - Int64 may not fit an Int64; a Duration holds it exactly.
        .nanoseconds(nanoseconds) - .nanoseconds(earlier.nanoseconds)
    }

    public var description: String { Duration.nanoseconds(nanoseconds).shortDescription }
}

extension Duration {
    /// Whole nanoseconds; every span this product handles (at most days) fits an Int64. A span
    /// beyond ±292 years (only ever a hostile value) saturates instead of trapping.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? .min : .max }
        return sum
    }

    /// Milliseconds with three decimals at most, e.g. `10s`, `1.5s`, `250ms`.
    public var shortDescription: String {
        let total = nanoseconds
        let sign = total < 0 ? "-" : ""
        let magnitude = total.magnitude
        if magnitude % 1_000_000_000 == 0 { return "\(sign)\(magnitude / 1_000_000_000)s" }
        if magnitude >= 1_000_000_000 {
            let millis = magnitude / 1_000_000
            var fraction = String(millis % 1000)
            while fraction.count < 3 { fraction = "0" + fraction }
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return "\(sign)\(millis / 1000).\(fraction)s"
        }
        if magnitude % 1_000_000 == 0 { return "\(sign)\(magnitude / 1_000_000)ms" }
        return "\(sign)\(magnitude / 1000)us"
    }
}
