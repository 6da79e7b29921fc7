import CIB

/// MD5 (RFC 1321), for Pacemaker's operation digests. Not for security: Pacemaker records
/// MD5 digests of resource parameters, and comparing with them is all this is used for.
enum MD5 {
    static func hex(_ text: String) -> String {
        var message = Array(text.utf8)
        let bitLength = UInt64(message.count) * 8
        message.append(0x80)
        while message.count % 64 != 56 { message.append(0) }
        for index in 0..<8 { message.append(UInt8((bitLength >> (8 * UInt64(index))) & 0xff)) }
        let constants = Self.constants, shifts = Self.shifts
        var a0: UInt32 = 0x67452301, b0: UInt32 = 0xefcdab89, c0: UInt32 = 0x98badcfe, d0: UInt32 = 0x10325476
        // A digest per resource and operation: no array is allocated per block or per digit.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { words in
            message.withUnsafeBufferPointer { message in
                for chunk in stride(from: 0, to: message.count, by: 64) {
                    for index in 0..<16 {
                        let base = chunk + index * 4
                        words[index] = UInt32(message[base]) | UInt32(message[base + 1]) << 8
                            | UInt32(message[base + 2]) << 16 | UInt32(message[base + 3]) << 24
                    }
                    var a = a0, b = b0, c = c0, d = d0
                    for index in 0..<64 {
                        var f: UInt32
                        var g: Int
                        switch index {
                        case 0..<16: f = (b & c) | (~b & d); g = index
                        case 16..<32: f = (d & b) | (~d & c); g = (5 * index + 1) % 16
                        case 32..<48: f = b ^ c ^ d; g = (3 * index + 5) % 16
                        default: f = c ^ (b | ~d); g = (7 * index) % 16
                        }
                        f = f &+ a &+ constants[index] &+ words[g]
                        a = d; d = c; c = b
                        b = b &+ ((f << shifts[index]) | (f >> (32 - shifts[index])))
                    }
                    a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
                }
            }
        }
        let digits = Array("0123456789abcdef".utf8)
        var result = [UInt8](repeating: 0, count: 32)
        for (wordIndex, word) in [a0, b0, c0, d0].enumerated() {
            for index in 0..<4 {
                let byte = UInt8((word >> (8 * UInt32(index))) & 0xff)
                result[wordIndex * 8 + index * 2] = digits[Int(byte >> 4)]
                result[wordIndex * 8 + index * 2 + 1] = digits[Int(byte & 0x0f)]
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]

    /// The 64 per-round constants (computed once: a lazily initialised constant).
    private static let constants: [UInt32] = (0..<64).map { index in
        UInt32(truncatingIfNeeded: Int64((abs(sin(Double(index + 1))) * 4_294_967_296).rounded(.down)))
    }

    private static func sin(_ x: Double) -> Double {
        // Taylor series with range reduction; precise enough for the 64 MD5 constants
        // (checked against the RFC's test vectors in the tests).
        var value = x.truncatingRemainder(dividingBy: 2 * Double.pi)
        if value > Double.pi { value -= 2 * Double.pi }
        var term = value, sum = value
        for n in 1..<30 {
            term *= -value * value / Double((2 * n) * (2 * n + 1))
            sum += term
        }
        return sum
    }
}

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
