/// The order in which GLib 2.74's GHashTable (Debian 12) iterates string keys inserted in a
/// given order: crm_mon walks its ticket table that way, so `-c` lists tickets in it.
/// g_str_hash (djb2), index (hash * 11) mod a prime per size, quadratic probing, growth and
/// shrink as ghash.c does them.
public enum GLibHashOrder {
    static let primeModulo: [UInt32] = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521,
                                        131_071, 262_139, 524_287, 1_048_573, 2_097_143]
    static let shiftMin = 3

    static func hash(_ key: String) -> UInt32 {
        var value: UInt32 = 5381
        for byte in key.utf8 { value = value &* 33 &+ UInt32(byte) }
        return value < 2 ? 2 : value   // 0 and 1 mark unused and deleted slots
    }

    public static func order(_ keys: [String]) -> [String] {
        var shift = shiftMin
        var slots = [String?](repeating: nil, count: 1 << shift)
        var count = 0
        func insert(_ key: String, into slots: inout [String?], shift: Int) {
            let mask = (1 << shift) - 1
            var index = Int((hash(key) &* 11) % primeModulo[shift])
            var step = 0
            while let occupant = slots[index] {
                if occupant == key { return }
                step += 1
                index = (index + step) & mask
            }
            slots[index] = key
        }
        for key in keys where !slots.contains(key) {
            insert(key, into: &slots, shift: shift)
            count += 1
            // g_hash_table_maybe_resize (no deletions here: occupied == count).
            let size = 1 << shift
            if (size > count * 4 && size > 1 << shiftMin) || size <= count + count / 16 {
                var wanted = count * 2, newShift = 0
                while wanted > 0 { wanted >>= 1; newShift += 1 }
                newShift = min(max(newShift, shiftMin), primeModulo.count - 1)
                var grown = [String?](repeating: nil, count: 1 << newShift)
                for case let old? in slots { insert(old, into: &grown, shift: newShift) }
                slots = grown
                shift = newShift
            }
        }
        precondition(slots.compactMap { $0 }.count == count, "GLibHashOrder: every key has a slot")
        return slots.compactMap { $0 }
    }
}
