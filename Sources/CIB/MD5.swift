/// MD5 (RFC 1321), for Pacemaker's digests only: they are MD5 by definition
/// (lib/common/digest.c `crm_md5sum`), not a security measure here. Public so that the one
/// implementation serves every module (the Scheduler's operation digests keep their own copy
/// in Scheduler/Digest.swift until they move to this one).
public struct MD5 {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
    private var pending = [UInt8]()
    private var length: UInt64 = 0

    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]
    /// floor(abs(sin(i + 1)) * 2^32), RFC 1321's table.
    private static let constants: [UInt32] = [
        0xd76a_a478, 0xe8c7_b756, 0x2420_70db, 0xc1bd_ceee, 0xf57c_0faf, 0x4787_c62a, 0xa830_4613, 0xfd46_9501,
        0x6980_98d8, 0x8b44_f7af, 0xffff_5bb1, 0x895c_d7be, 0x6b90_1122, 0xfd98_7193, 0xa679_438e, 0x49b4_0821,
        0xf61e_2562, 0xc040_b340, 0x265e_5a51, 0xe9b6_c7aa, 0xd62f_105d, 0x0244_1453, 0xd8a1_e681, 0xe7d3_fbc8,
        0x21e1_cde6, 0xc337_07d6, 0xf4d5_0d87, 0x455a_14ed, 0xa9e3_e905, 0xfcef_a3f8, 0x676f_02d9, 0x8d2a_4c8a,
        0xfffa_3942, 0x8771_f681, 0x6d9d_6122, 0xfde5_380c, 0xa4be_ea44, 0x4bde_cfa9, 0xf6bb_4b60, 0xbebf_bc70,
        0x289b_7ec6, 0xeaa1_27fa, 0xd4ef_3085, 0x0488_1d05, 0xd9d4_d039, 0xe6db_99e5, 0x1fa2_7cf8, 0xc4ac_5665,
        0xf429_2244, 0x432a_ff97, 0xab94_23a7, 0xfc93_a039, 0x655b_59c3, 0x8f0c_cc92, 0xffef_f47d, 0x8584_5dd1,
        0x6fa8_7e4f, 0xfe2c_e6e0, 0xa301_4314, 0x4e08_11a1, 0xf753_7e82, 0xbd3a_f235, 0x2ad7_d2bb, 0xeb86_d391,
    ]

    mutating func update<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(buffer: $0) }
        if done == nil { Array(bytes).withUnsafeBufferPointer { update(buffer: $0) } }
    }

    /// Whole blocks straight from the input; only a partial block is kept.
    private mutating func update(buffer: UnsafeBufferPointer<UInt8>) {
        length &+= UInt64(buffer.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, buffer.count)
            pending.append(contentsOf: buffer[0..<take])
            offset = take
            guard pending.count == 64 else { return }
            let block = pending
            block.withUnsafeBufferPointer { compress($0) }
            pending.removeAll(keepingCapacity: true)
        }
        if buffer.count - offset >= 64 {
            var current = state
            Self.constants.withUnsafeBufferPointer { constants in
                Self.shifts.withUnsafeBufferPointer { shifts in
                    while buffer.count - offset >= 64 {
                        current = Self.compress(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[offset..<(offset + 64)]),
                                                state: current, constants: constants, shifts: shifts)
                        offset += 64
                    }
                }
            }
            state = current
        }
        pending.append(contentsOf: buffer[offset...])
    }

    /// The digest as 32 lowercase hex digits (what `crm_md5sum` returns).
    mutating func finalizeHex() -> String {
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for shift in stride(from: 0, to: 64, by: 8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        let savedLength = length
        update(tail)
        precondition(pending.isEmpty, "MD5 padding must end on a block boundary")
        length = savedLength
        var hex = ""
        for word in [state.0, state.1, state.2, state.3] {
            for shift in stride(from: 0, to: 32, by: 8) {
                let byte = UInt8(truncatingIfNeeded: word >> UInt32(shift))
                hex += String(byte >> 4, radix: 16) + String(byte & 0xf, radix: 16)
            }
        }
        return hex
    }

    private mutating func compress(_ block: UnsafeBufferPointer<UInt8>) {
        state = Self.constants.withUnsafeBufferPointer { constants in
            Self.shifts.withUnsafeBufferPointer { shifts in
                Self.compress(UnsafeRawBufferPointer(block), state: state, constants: constants, shifts: shifts)
            }
        }
    }

    /// One 64-byte block; the tables come in as buffers (no lazy-global check or bounds
    /// check per round: this runs over every byte of a 60 MB CIB for each digest).
    private static func compress(_ raw: UnsafeRawBufferPointer, state: (UInt32, UInt32, UInt32, UInt32),
                                 constants: UnsafeBufferPointer<UInt32>, shifts: UnsafeBufferPointer<UInt32>) -> (UInt32, UInt32, UInt32, UInt32) {
        precondition(raw.count == 64, "MD5 compresses 64-byte blocks")
        var (a, b, c, d) = state
        for round in 0..<64 {
            var f: UInt32
            let g: Int
            switch round {
            case 0..<16: f = (b & c) | (~b & d); g = round
            case 16..<32: f = (d & b) | (~d & c); g = (5 * round + 1) % 16
            case 32..<48: f = b ^ c ^ d; g = (3 * round + 5) % 16
            default: f = c ^ (b | ~d); g = (7 * round) % 16
            }
            // MD5's words are little-endian.
            let word = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: g * 4, as: UInt32.self))
            f = f &+ a &+ constants[round] &+ word
            a = d
            d = c
            c = b
            let shift = shifts[round]
            b = b &+ ((f << shift) | (f >> (32 - shift)))
        }
        return (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }

    /// The digest of a string's UTF-8 bytes.
    public static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    public static func hex<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var md5 = MD5()
        md5.update(bytes)
        return md5.finalizeHex()
    }
}
