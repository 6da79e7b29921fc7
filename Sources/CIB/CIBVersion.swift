/// The version of a CIB: `admin_epoch.epoch.num_updates`, compared in that order.
///
/// Why a value of its own: every node of a site compares versions to order writes (a patchset
/// applies only to the version it was made from), to pick the best CIB at join and resync
/// (the highest version wins), and to see a stale patch. Pacemaker's rules
/// (CRM-LIVE.md §1.2, lib/common/patchset.c `xml_create_patchset`):
///
/// | change                                   | admin_epoch | epoch | num_updates |
/// |------------------------------------------|-------------|-------|-------------|
/// | the configuration section changes        | =           | +1    | 0           |
/// | only the status section (or root) changes| =           | =     | +1          |
/// | the admin raises it (`cibadmin` by hand) | +1          | =     | =           |
public struct CIBVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var adminEpoch: Int
    public var epoch: Int
    public var numUpdates: Int

    /// The attribute names on `<cib>` (and on a patchset's `<source>`/`<target>`), in order.
    public static let attributeNames = ["admin_epoch", "epoch", "num_updates"]

    public init(adminEpoch: Int = 0, epoch: Int = 0, numUpdates: Int = 0) {
        precondition(adminEpoch >= 0 && epoch >= 0 && numUpdates >= 0,
                     "CIB version fields are never negative: \(adminEpoch).\(epoch).\(numUpdates)")
        self.adminEpoch = adminEpoch
        self.epoch = epoch
        self.numUpdates = numUpdates
    }

    /// Reads the three attributes of `element` (a `<cib>` or a patchset's `<source>`/`<target>`).
    /// A missing attribute reads as `missing` (Pacemaker: 0 when comparing, 1 when making a
    /// patchset); a value that is not a non-negative integer is an error naming the element.
    public init(of element: XMLElement, missing: Int = 0) throws(CIBError) {
        var fields = [Int]()
        for name in Self.attributeNames {
            guard let text = element[name] else { fields.append(missing); continue }
            guard let value = Int(text), value >= 0 else {
                throw CIBError(.invalidValue(attribute: name, value: text), element: element.name,
                               id: element["id"], line: element.line)
            }
            fields.append(value)
        }
        self.init(adminEpoch: fields[0], epoch: fields[1], numUpdates: fields[2])
    }

    /// Writes the three attributes onto `element` (kept in place when present, else appended).
    public func write(to element: inout XMLElement) {
        element["admin_epoch"] = String(adminEpoch)
        element["epoch"] = String(epoch)
        element["num_updates"] = String(numUpdates)
    }

    /// What kind of change a write made, for `bumped(by:)`.
    public enum Change: Sendable, Equatable {
        /// Anything under `<configuration>` was created, modified, moved or deleted.
        case configuration
        /// Only the status section (or root attributes other than the versions) changed.
        case status
        /// The admin raised admin_epoch on purpose (the only way it changes).
        case admin
    }

    /// The version after a change of the given kind (Pacemaker's rules, table above).
    public func bumped(by change: Change) -> CIBVersion {
        let next: CIBVersion
        switch change {
        case .configuration: next = CIBVersion(adminEpoch: adminEpoch, epoch: epoch + 1, numUpdates: 0)
        case .status: next = CIBVersion(adminEpoch: adminEpoch, epoch: epoch, numUpdates: numUpdates + 1)
        case .admin: next = CIBVersion(adminEpoch: adminEpoch + 1, epoch: epoch, numUpdates: numUpdates)
        }
        precondition(next > self, "a change must raise the version: \(self) -> \(next)")
        return next
    }

    public static func < (lhs: CIBVersion, rhs: CIBVersion) -> Bool {
        (lhs.adminEpoch, lhs.epoch, lhs.numUpdates) < (rhs.adminEpoch, rhs.epoch, rhs.numUpdates)
    }

    /// The best CIB at join or resync: the highest version wins; among equal versions the
    /// first candidate wins (the caller orders candidates, e.g. the DC's own first, so that
    /// every node reaches the same choice). Nil for no candidates.
    public static func best<Candidate>(_ candidates: [(Candidate, CIBVersion)]) -> (Candidate, CIBVersion)? {
        var best: (Candidate, CIBVersion)?
        for candidate in candidates where best == nil || candidate.1 > best!.1 {
            best = candidate
        }
        return best
    }

    /// `admin_epoch.epoch.num_updates`, as Pacemaker logs it.
    public var description: String { "\(adminEpoch).\(epoch).\(numUpdates)" }
}
