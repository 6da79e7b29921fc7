/// A full CIB sync larger than one CPG message, split into numbered chunks and put back
/// together. Pure: the shell sends `encoded()` chunks over CPG (which keeps one sender's
/// messages in order) and feeds received ones to a `Reassembler`.
///
/// Why: ProcessGroup refuses messages above `messageBytesMax` (1 MiB by default, Corosync's
/// own bound on a CPG message); a CIB of 32 nodes x 4,000 resources is ~60 MB of XML.
/// Patchsets stay small; only joins and resyncs send the whole document.
///
/// Chunk wire form (big-endian): magic "CIBC", version 1, transfer id (8 bytes), index and
/// count (4 bytes each), total bytes (8), MD5 of the whole payload (16), then the chunk's bytes.
public enum SyncChunks {
    /// Bytes of the header before each chunk's payload.
    public static let headerBytes = 4 + 1 + 8 + 4 + 4 + 8 + 16
    /// Default bound on one encoded chunk: ProcessGroup's default `messageBytesMax`.
    public static let messageBytesMaxDefault = 1 << 20
    /// Bound on a reassembled payload (the XML readers' document bound).
    public static let totalBytesMax = XMLLimits.documentBytesMax
    static let magic: [UInt8] = Array("CIBC".utf8)

    public struct Chunk: Equatable, Sendable {
        /// Chosen by the sender, unique among its transfers in flight (e.g. a counter).
        public var transfer: UInt64
        public var index: Int
        public var count: Int
        public var totalBytes: Int
        /// MD5 of the whole payload, as 32 hex digits.
        public var digest: String
        public var payload: [UInt8]

        public func encoded() -> [UInt8] {
            var bytes = SyncChunks.magic + [1]
            func put(_ value: UInt64, bytes width: Int) {
                for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
            }
            put(transfer, bytes: 8)
            put(UInt64(index), bytes: 4)
            put(UInt64(count), bytes: 4)
            put(UInt64(totalBytes), bytes: 8)
            bytes.append(contentsOf: SyncChunks.digestBytes(digest))
            precondition(bytes.count == SyncChunks.headerBytes, "chunk header is \(SyncChunks.headerBytes) bytes")
            bytes.append(contentsOf: payload)
            return bytes
        }

        /// Reads one encoded chunk; says what is wrong and at which byte.
        public init(decoding bytes: [UInt8]) throws(SyncChunkError) {
            guard bytes.count >= SyncChunks.headerBytes else {
                throw SyncChunkError("chunk of \(bytes.count) bytes is shorter than its \(SyncChunks.headerBytes)-byte header")
            }
            guard Array(bytes[0..<4]) == SyncChunks.magic else { throw SyncChunkError("bytes 0-3 are not the chunk magic \"CIBC\"") }
            guard bytes[4] == 1 else { throw SyncChunkError("byte 4: chunk version \(bytes[4]) is not 1") }
            func get(_ offset: Int, bytes width: Int) -> UInt64 {
                bytes[offset..<(offset + width)].reduce(0) { $0 << 8 | UInt64($1) }
            }
            transfer = get(5, bytes: 8)
            index = Int(get(13, bytes: 4))
            count = Int(get(17, bytes: 4))
            let total = get(21, bytes: 8)
            guard total <= UInt64(SyncChunks.totalBytesMax) else {
                throw SyncChunkError("bytes 21-28: total of \(total) bytes is over \(SyncChunks.totalBytesMax)")
            }
            totalBytes = Int(total)
            guard count >= 1, index < count else { throw SyncChunkError("bytes 13-20: chunk \(index) of \(count)") }
            digest = bytes[29..<45].map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined()
            payload = Array(bytes[SyncChunks.headerBytes...])
        }

        public init(transfer: UInt64, index: Int, count: Int, totalBytes: Int, digest: String, payload: [UInt8]) {
            self.transfer = transfer
            self.index = index
            self.count = count
            self.totalBytes = totalBytes
            self.digest = digest
            self.payload = payload
        }
    }

    /// Splits `payload` into chunks whose encoded size is at most `messageBytesMax`.
    public static func split(_ payload: [UInt8], transfer: UInt64, messageBytesMax: Int = messageBytesMaxDefault) -> [Chunk] {
        precondition(messageBytesMax > headerBytes, "a chunk must hold more than its header")
        precondition(payload.count <= totalBytesMax, "payload of \(payload.count) bytes is over \(totalBytesMax)")
        let digest = MD5.hex(payload)
        let room = messageBytesMax - headerBytes
        let count = max(1, (payload.count + room - 1) / room)
        var chunks = [Chunk]()
        chunks.reserveCapacity(count)
        for index in 0..<count {
            let start = index * room, end = min(payload.count, start + room)
            chunks.append(Chunk(transfer: transfer, index: index, count: count, totalBytes: payload.count,
                                digest: digest, payload: Array(payload[start..<end])))
        }
        precondition(chunks.reduce(0) { $0 + $1.payload.count } == payload.count, "chunks must cover the payload exactly")
        return chunks
    }

    static func digestBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        precondition(digits.count == 32, "an MD5 digest is 32 hex digits")
        func value(_ digit: UInt8) -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: preconditionFailure("digest digit \(digit) is not lowercase hex")
            }
        }
        return stride(from: 0, to: 32, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }

    /// Puts one transfer back together. Chunks must come in order (CPG keeps a sender's order);
    /// a chunk of another transfer starts over (the sender began a new sync).
    public struct Reassembler: Sendable {
        private var transfer: UInt64?
        private var expected = 0
        private var count = 0
        private var totalBytes = 0
        private var digest = ""
        private var buffer = [UInt8]()

        public init() {}

        /// The whole payload once the last chunk is in; nil before. Throws (and forgets the
        /// transfer) on a chunk out of order, sizes that disagree, or a digest mismatch.
        public mutating func add(_ chunk: Chunk) throws(SyncChunkError) -> [UInt8]? {
            if chunk.transfer != transfer || chunk.index == 0 {
                guard chunk.index == 0 else {
                    reset()
                    throw SyncChunkError("transfer \(chunk.transfer): chunk \(chunk.index) of \(chunk.count) without its start")
                }
                reset()
                transfer = chunk.transfer
                count = chunk.count
                totalBytes = chunk.totalBytes
                digest = chunk.digest
                buffer.reserveCapacity(chunk.totalBytes)
            }
            guard chunk.index == expected, chunk.count == count, chunk.totalBytes == totalBytes, chunk.digest == digest else {
                let message = "transfer \(chunk.transfer): chunk \(chunk.index) of \(chunk.count) does not follow chunk \(expected - 1) of \(count)"
                reset()
                throw SyncChunkError(message)
            }
            guard buffer.count + chunk.payload.count <= totalBytes else {
                reset()
                throw SyncChunkError("transfer \(chunk.transfer): chunk \(chunk.index) goes past the announced \(totalBytes) bytes")
            }
            buffer.append(contentsOf: chunk.payload)
            expected += 1
            guard expected == count else { return nil }
            defer { reset() }
            guard buffer.count == totalBytes else {
                throw SyncChunkError("transfer \(chunk.transfer): \(buffer.count) bytes arrived, \(totalBytes) announced")
            }
            let computed = MD5.hex(buffer)
            guard computed == digest else {
                throw SyncChunkError("transfer \(chunk.transfer): payload digest \(computed), announced \(digest)")
            }
            return buffer
        }

        private mutating func reset() {
            transfer = nil
            expected = 0
            count = 0
            totalBytes = 0
            digest = ""
            buffer = []
        }
    }
}

public struct SyncChunkError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
