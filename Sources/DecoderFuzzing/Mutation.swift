/// Seeded mutation of valid inputs, for fuzzing Baton's decoders (peer and client frames, the
/// state journal, the configuration, CIB XML).
///
/// Everything here is deterministic: input number `index` of a run with seed `seed` is the
/// same bytes on every machine and in every build, so a failure is reported as (seed, index)
/// plus the mutation chain, and either replays it.

import SeededRandom

/// The fuzzers' generator: SplitMix64 (SeededRandom). `FuzzGenerator(seed:index:)` makes
/// input `index` of the run seeded with `seed` on its own.
public typealias FuzzGenerator = SplitMix64

/// One change to an input; a chain of them, applied to a corpus entry in order, makes a
/// fuzz input.
public enum Mutation: Sendable, Equatable, CustomStringConvertible {
    case flipBit(offset: Int, bit: Int)
    case truncate(length: Int)
    case insert(offset: Int, bytes: [UInt8])
    case delete(offset: Int, count: Int)
    /// Bytes `from..<to` of corpus entry `entry` replace everything from `at` on.
    case splice(entry: Int, from: Int, to: Int, at: Int)
    /// `count` bytes at `offset` replaced by `bytes`: an extreme integer over a binary field,
    /// or over the digits of a decimal number in text.
    case replace(offset: Int, count: Int, bytes: [UInt8])

    public var description: String {
        switch self {
        case .flipBit(let offset, let bit): "flip bit \(bit) of byte \(offset)"
        case .truncate(let length): "truncate to \(length) bytes"
        case .insert(let offset, let bytes): "insert \(Self.show(bytes)) at \(offset)"
        case .delete(let offset, let count): "delete \(count) bytes at \(offset)"
        case .splice(let entry, let from, let to, let at): "splice corpus entry \(entry) bytes \(from)..<\(to) at \(at)"
        case .replace(let offset, let count, let bytes): "replace \(count) bytes at \(offset) by \(Self.show(bytes))"
        }
    }

    private static func show(_ bytes: [UInt8]) -> String {
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return "\"" + String(decoding: bytes, as: UTF8.self) + "\"" }
        return "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Applies the change; offsets past the end are clipped (a recorded chain always replays).
    public func apply(to input: inout [UInt8], corpus: [[UInt8]]) {
        switch self {
        case .flipBit(let offset, let bit):
            guard offset < input.count else { return }
            input[offset] ^= UInt8(1) << UInt8(bit & 7)
        case .truncate(let length):
            if length < input.count { input.removeSubrange(length...) }
        case .insert(let offset, let bytes):
            input.insert(contentsOf: bytes, at: min(offset, input.count))
        case .delete(let offset, let count):
            guard offset < input.count else { return }
            input.removeSubrange(offset..<min(input.count, offset + count))
        case .splice(let entry, let from, let to, let at):
            let source = corpus[entry]
            let range = min(from, source.count)..<min(to, source.count)
            input.replaceSubrange(min(at, input.count)..., with: source[range])
        case .replace(let offset, let count, let bytes):
            let start = min(offset, input.count)
            input.replaceSubrange(start..<min(input.count, start + count), with: bytes)
        }
    }
}

/// What the mutator knows of a target's format, for the extreme-integer mutation.
public enum InputFormat: Sendable {
    /// Big-endian binary fields: 1, 2, 4 or 8 bytes anywhere get an extreme value.
    case binary
    /// Text with decimal numbers (XML, key = value): a run of digits gets an extreme number.
    case text
}

public enum Mutator {
    /// Extreme values of binary fields, most significant byte first.
    static let extremeFields: [[UInt8]] = {
        var fields: [[UInt8]] = []
        for width in [1, 2, 4, 8] {
            fields.append(Array(repeating: 0xFF, count: width))
            fields.append(Array(repeating: 0x00, count: width))
            fields.append([0x80] + Array(repeating: 0x00, count: width - 1))
            fields.append([0x7F] + Array(repeating: 0xFF, count: width - 1))
            fields.append(Array(repeating: 0x00, count: width - 1) + [0x01])
            fields.append(Array(repeating: 0xFF, count: width - 1) + [0xFE])
        }
        return fields
    }()

    /// Extreme decimal numbers: the edges of Int64, UInt64, Int32, UInt32 and beyond.
    static let extremeNumbers: [String] = [
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "99999999999999999999999999999", "4294967295",
        "4294967296", "2147483647", "2147483648", "-2147483649", "-1", "0", "-0", "+1", "1000000", "-1000000",
        "65535", "65536", "000000000000000000000001", "1e308", "0x7fffffff",
    ]

    /// Input `index` of the run `seed` over `corpus`: the corpus entry it starts from, the
    /// chain of 1 to 4 mutations, and the bytes (at most `bytesMax`).
    public static func input(seed: UInt64, index: Int, corpus: [[UInt8]], format: InputFormat, bytesMax: Int)
        -> (entry: Int, chain: [Mutation], bytes: [UInt8]) {
        precondition(!corpus.isEmpty, "fuzzing needs at least one valid input")
        var generator = FuzzGenerator(seed: seed, index: index)
        let entry = generator.below(corpus.count)
        var bytes = corpus[entry]
        var chain: [Mutation] = []
        for _ in 0..<(1 + generator.below(4)) {
            let mutation = choose(&generator, input: bytes, corpus: corpus, format: format)
            mutation.apply(to: &bytes, corpus: corpus)
            chain.append(mutation)
            if bytes.count > bytesMax {
                let cut = Mutation.truncate(length: bytesMax)
                cut.apply(to: &bytes, corpus: corpus)
                chain.append(cut)
            }
        }
        return (entry, chain, bytes)
    }

    /// Replays a chain on its corpus entry (what `input` made, from the report alone).
    public static func replay(entry: Int, chain: [Mutation], corpus: [[UInt8]]) -> [UInt8] {
        var bytes = corpus[entry]
        for mutation in chain { mutation.apply(to: &bytes, corpus: corpus) }
        return bytes
    }

    static func choose(_ generator: inout FuzzGenerator, input: [UInt8], corpus: [[UInt8]], format: InputFormat) -> Mutation {
        let count = input.count
        func offset() -> Int { count == 0 ? 0 : generator.below(count) }
        switch generator.below(10) {
        case 0, 1:
            return .flipBit(offset: offset(), bit: generator.below(8))
        case 2:
            return .truncate(length: count == 0 ? 0 : generator.below(count))
        case 3:
            let length = 1 + generator.below(generator.below(4) == 0 ? 64 : 4)
            // Random bytes, or bytes that mean something to the formats (markup, separators).
            let interesting: [UInt8] = Array("<>/=\"'&;#!?[]- \n\r\t0129".utf8) + [0x00, 0x80, 0xFF, 0xC3]
            let bytes = (0..<length).map { _ in
                generator.below(2) == 0 ? UInt8(truncatingIfNeeded: generator.next()) : interesting[generator.below(interesting.count)]
            }
            return .insert(offset: count == 0 ? 0 : generator.below(count + 1), bytes: bytes)
        case 4:
            return .delete(offset: offset(), count: 1 + generator.below(generator.below(4) == 0 ? 256 : 8))
        case 5:
            let entry = generator.below(corpus.count)
            let source = corpus[entry].count
            let from = source == 0 ? 0 : generator.below(source)
            let to = from + generator.below(source - from + 1)
            return .splice(entry: entry, from: from, to: to, at: count == 0 ? 0 : generator.below(count + 1))
        default:
            return extremeInteger(&generator, input: input, format: format)
        }
    }

    /// An extreme value over a field: any 1/2/4/8 bytes of a binary input; the next run of
    /// digits (with its sign) after a random place of a text input.
    static func extremeInteger(_ generator: inout FuzzGenerator, input: [UInt8], format: InputFormat) -> Mutation {
        switch format {
        case .binary:
            let field = extremeFields[generator.below(extremeFields.count)]
            guard input.count >= field.count else { return .insert(offset: 0, bytes: field) }
            return .replace(offset: generator.below(input.count - field.count + 1), count: field.count, bytes: field)
        case .text:
            let number = Array(extremeNumbers[generator.below(extremeNumbers.count)].utf8)
            guard !input.isEmpty else { return .insert(offset: 0, bytes: number) }
            let start = generator.below(input.count)
            func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
            for step in 0..<input.count {
                var first = (start + step) % input.count
                guard isDigit(input[first]) else { continue }
                while first > 0, isDigit(input[first - 1]) { first -= 1 }
                if first > 0, input[first - 1] == UInt8(ascii: "-") || input[first - 1] == UInt8(ascii: "+") { first -= 1 }
                var end = first + 1
                while end < input.count, isDigit(input[end]) { end += 1 }
                return .replace(offset: first, count: end - first, bytes: number)
            }
            return .insert(offset: start, bytes: number)
        }
    }
}
