import CIB

// MD5 is the CIB module's (`CIB.MD5`), the one the CIB's own digests use.

/// Pacemaker's digest of a resource's parameters as recorded in `op-digest`: the MD5 of the
/// parameters element as libxml2 dumped it (" <parameters a="1" b="2"/>\n", names sorted). Public:
/// the executor records, and the CIB generator writes, the digests the scheduler compares.
public func parameterDigest(_ parameters: [String: String], only names: Set<String>? = nil) -> String {
    let selected = parameters.keys.filter { names?.contains($0) ?? true }.sorted()
    let attributes = selected.map { " \($0)=\"\(escapeAttribute(parameters[$0]!))\"" }.joined()
    return MD5.hex(" <parameters\(attributes)/>\n")
}

/// Attribute value escaping as libxml2 writes it (the graph writer adds control characters).
func escapeAttribute(_ value: String) -> String {
    var result = ""
    for character in value {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        default: result.append(character)
        }
    }
    return result
}
