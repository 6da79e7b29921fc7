/// Character rules for names in the configuration. ASCII only: these names end up in
/// certificates, file names, environment variables and CIB attributes.

private func isASCIIAlphanumeric(_ character: Character) -> Bool {
    character.isASCII && (character.isLetter || character.isNumber)
}

/// booth's rule for ticket names: `[A-Za-z0-9-/]`, 1...63 characters. Without the slash for
/// names that become file names or attribute names.
func isValidName(_ name: String, allowingSlash: Bool) -> Bool {
    guard !name.isEmpty, name.count <= Limits.nameLengthMaximum else { return false }
    return name.allSatisfy { isASCIIAlphanumeric($0) || $0 == "-" || ($0 == "_" && !allowingSlash) || ($0 == "/" && allowingSlash) }
}

/// A certificate name is a DNS name: labels of letters, digits and '-', joined by dots.
func isValidCertificateName(_ name: String) -> Bool {
    guard !name.isEmpty, name.count <= Limits.certificateNameLengthMaximum else { return false }
    let labels = name.split(separator: ".", omittingEmptySubsequences: false)
    return labels.allSatisfy { label in
        !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
            && label.allSatisfy { isASCIIAlphanumeric($0) || $0 == "-" }
    }
}

/// POSIX-portable user and group names (plus '.'), at most 32 characters.
func isValidAccountName(_ name: String) -> Bool {
    guard let first = name.first, name.count <= 32 else { return false }
    guard first.isASCII && (first.isLetter || first == "_") else { return false }
    return name.allSatisfy { isASCIIAlphanumeric($0) || $0 == "_" || $0 == "-" || $0 == "." }
}

func isValidIPv4Address(_ text: some StringProtocol) -> Bool {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return false }
    return parts.allSatisfy { part in
        !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part).map { $0 <= 255 } == true
    }
}

func isValidIPv6Address(_ text: String) -> Bool {
    guard text.contains(":"), text.count <= 45 else { return false }
    var groups = text.components(separatedByString: "::")
    guard groups.count <= 2 else { return false }
    let compressed = groups.count == 2
    var pieces: [Substring] = []
    for group in groups where !group.isEmpty {
        pieces.append(contentsOf: group.split(separator: ":", omittingEmptySubsequences: false))
    }
    groups = []
    var groupCount = 0
    for (index, piece) in pieces.enumerated() {
        if index == pieces.count - 1 && piece.contains(".") {
            guard isValidIPv4Address(piece) else { return false }
            groupCount += 2
            continue
        }
        guard !piece.isEmpty, piece.count <= 4, piece.allSatisfy({ $0.isHexDigit }) else { return false }
        groupCount += 1
    }
    return compressed ? groupCount <= 7 : groupCount == 8
}

/// A member address: IPv4, IPv6, or a host name (resolved by the shell, not here).
func isValidAddress(_ text: String) -> Bool {
    if text.contains(":") { return isValidIPv6Address(text) }
    if text.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) { return isValidIPv4Address(text) }
    return isValidCertificateName(text)
}

extension String {
    /// Splits on a multi-character separator (Foundation-free).
    func components(separatedByString separator: String) -> [String] {
        var result: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            result.append(String(rest[rest.startIndex..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        result.append(String(rest))
        return result
    }
}
