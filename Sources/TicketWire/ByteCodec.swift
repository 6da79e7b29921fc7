/// Big-endian byte writer and bounds-checked reader: the only places bytes are touched.

public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { append(UInt64(value), count: 2) }
    public mutating func u32(_ value: UInt32) { append(UInt64(value), count: 4) }
    public mutating func u64(_ value: UInt64) { append(value, count: 8) }
    public mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }
    public mutating func bool(_ value: Bool) { u8(value ? 1 : 0) }
    public mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// A string of at most `lengthMax` UTF-8 bytes behind a one- or two-byte length.
    public mutating func string(_ value: String, lengthMax: Int) {
        // No intermediate array: this runs for every ticket name of every frame and journal record.
        let count = value.utf8.count
        precondition(count <= lengthMax, "string of \(count) bytes over its limit \(lengthMax)")
        if lengthMax <= 255 { u8(UInt8(count)) } else { u16(UInt16(count)) }
        bytes.append(contentsOf: value.utf8)
    }

    public mutating func patchU32(_ value: UInt32, at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * (3 - index))) }
    }

    /// The low `count` bytes of `value`, most significant first, in one append.
    private mutating func append(_ value: UInt64, count: Int) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0[(8 - count)...]) }
    }
}

/// Why bytes could not be decoded: what was wrong and at which byte offset.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(field: String, offset: Int)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt8)
    case unknownFrameType(UInt8)
    case frameTooLarge(length: Int, limit: Int)
    case lengthMismatch(declared: Int, actual: Int)
    case invalid(field: String, offset: Int, reason: String)
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncated(let field, let offset): "frame truncated reading \(field) at byte \(offset)"
        case .badMagic(let found): "not a Baton frame (magic 0x\(String(found, radix: 16)))"
        case .unsupportedVersion(let version): "unsupported frame version \(version) (this build speaks \(Frame.version))"
        case .unknownFrameType(let type): "unknown frame type \(type)"
        case .frameTooLarge(let length, let limit): "frame of \(length) bytes exceeds the limit of \(limit)"
        case .lengthMismatch(let declared, let actual): "frame declares \(declared) payload bytes, has \(actual)"
        case .invalid(let field, let offset, let reason): "invalid \(field) at byte \(offset): \(reason)"
        case .trailingBytes(let count): "\(count) bytes after the last field"
        }
    }
}

public struct ByteReader {
    let bytes: [UInt8]
    public private(set) var offset: Int
    let end: Int

    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = end ?? bytes.count
        precondition(start >= 0 && self.end <= bytes.count && start <= self.end, "reader bounds \(start)..<\(self.end) outside \(bytes.count)")
    }

    public var remaining: Int { end - offset }

    public mutating func u8(_ field: String) throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(field: field, offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16(_ field: String) throws(WireError) -> UInt16 { UInt16(try integer(field, count: 2)) }
    public mutating func u32(_ field: String) throws(WireError) -> UInt32 { UInt32(try integer(field, count: 4)) }
    public mutating func u64(_ field: String) throws(WireError) -> UInt64 { try integer(field, count: 8) }
    public mutating func i64(_ field: String) throws(WireError) -> Int64 { Int64(bitPattern: try integer(field, count: 8)) }

    public mutating func bool(_ field: String) throws(WireError) -> Bool {
        let at = offset
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalid(field: field, offset: at, reason: "boolean byte \(other)")
        }
    }

    public mutating func string(_ field: String, lengthMax: Int) throws(WireError) -> String {
        let at = offset
        let length = lengthMax <= 255 ? Int(try u8(field)) : Int(try u16(field))
        guard length <= lengthMax else { throw .invalid(field: field, offset: at, reason: "length \(length) over \(lengthMax)") }
        guard remaining >= length else { throw .truncated(field: field, offset: offset) }
        let slice = bytes[offset..<(offset + length)]
        offset += length
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw .invalid(field: field, offset: at, reason: "not UTF-8")
        }
        return text
    }

    private mutating func integer(_ field: String, count: Int) throws(WireError) -> UInt64 {
        guard remaining >= count else { throw .truncated(field: field, offset: offset) }
        var value: UInt64 = 0
        for index in 0..<count { value = value << 8 | UInt64(bytes[offset + index]) }
        offset += count
        return value
    }
}
