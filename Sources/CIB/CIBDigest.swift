/// Pacemaker 2.1.5's CIB digests (lib/common/digest.c), byte for byte:
///
/// - **versioned** (`calculate_xml_versioned_digest(xml, FALSE, TRUE, crm_feature_set)`): what
///   a v2 patchset carries in `<diff digest=…>` and what peers compare after applying it. For
///   a CIB whose `crm_feature_set` is 3.0.5 or later: MD5 of the unformatted, filtered text
///   (`PacemakerXMLText`). For an older or missing feature set it is the on-disk form.
/// - **on-disk** (`calculate_on_disk_digest`): what `cib.xml.sig` holds and `cibadmin
///   --md5-sum` prints: MD5 of " " + the unformatted, unfiltered text + "\n".
///
/// `cibadmin --md5-sum-versioned` prints the versioned one.
public enum CIBDigest {
    /// The versioned digest of a document root (normally `<cib>`).
    public static func compute(_ root: XMLElement) -> String {
        compute(root, featureSet: root["crm_feature_set"])
    }

    /// The versioned digest with the form chosen by `featureSet` (`crm_diff -c` chooses by
    /// the source document's).
    public static func compute(_ root: XMLElement, featureSet: String?) -> String {
        guard usesVersionedForm(featureSet: featureSet) else { return onDisk(root) }
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 16)
        PacemakerXMLText.append(root, formatted: false, filtered: true, depth: 0, to: &buffer)
        return MD5.hex(buffer)
    }

    /// The on-disk digest (`cib.xml.sig`, `cibadmin --md5-sum`).
    public static func onDisk(_ root: XMLElement) -> String {
        var buffer: [UInt8] = [UInt8(ascii: " ")]
        buffer.reserveCapacity(1 << 16)
        PacemakerXMLText.append(root, formatted: false, filtered: false, depth: 0, to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
        return MD5.hex(buffer)
    }

    /// `compare_version("3.0.5", version) > 0` selects the v1 form: a feature set below 3.0.5,
    /// or none.
    static func usesVersionedForm(featureSet: String?) -> Bool {
        guard let featureSet else { return false }
        return compareVersions("3.0.5", featureSet) <= 0
    }

    /// Pacemaker's `compare_version`: dot-separated decimal fields compared as numbers, a
    /// missing field counts as 0. Returns -1, 0 or 1.
    static func compareVersions(_ lhs: String, _ rhs: String) -> Int {
        func fields(_ text: String) -> [Int] {
            text.split(separator: ".", omittingEmptySubsequences: false).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        }
        let left = fields(lhs), right = fields(rhs)
        for index in 0..<max(left.count, right.count) {
            let leftField = index < left.count ? left[index] : 0
            let rightField = index < right.count ? right[index] : 0
            if leftField != rightField { return leftField < rightField ? -1 : 1 }
        }
        return 0
    }
}
