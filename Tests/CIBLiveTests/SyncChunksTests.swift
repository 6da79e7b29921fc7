import CIBGenerator
import Testing
@testable import CIB

/// Full syncs split into chunks that fit one CPG message, and put back together.
@Suite struct SyncChunksTests {
    static func payload(_ count: Int) -> [UInt8] {
        var state: UInt32 = 7
        return (0..<count).map { _ in state = state &* 1_103_515_245 &+ 12_345; return UInt8(truncatingIfNeeded: state >> 16) }
    }

    @Test(arguments: [0, 1, 1000, SyncChunks.messageBytesMaxDefault - SyncChunks.headerBytes,
                      SyncChunks.messageBytesMaxDefault - SyncChunks.headerBytes + 1, 3_500_000])
    func splitsIntoMessagesThatFitAndReassembles(size: Int) throws {
        let payload = Self.payload(size)
        let chunks = SyncChunks.split(payload, transfer: 42)
        #expect(chunks.allSatisfy { $0.encoded().count <= SyncChunks.messageBytesMaxDefault })
        var reassembler = SyncChunks.Reassembler()
        var result: [UInt8]?
        for chunk in chunks {
            #expect(result == nil)
            result = try reassembler.add(SyncChunks.Chunk(decoding: chunk.encoded()))
        }
        #expect(result == payload)
    }

    /// A 60 MB CIB (32 nodes x 4,000 resources, what the issue names) goes through in 1 MiB messages.
    @Test func aSixtyMegabyteCIBGoesThrough() throws {
        let text = LargeCIB.text(nodes: 32, resources: 4000)
        let payload = Array(text.utf8)
        #expect(payload.count > 50_000_000)
        let chunks = SyncChunks.split(payload, transfer: 1)
        #expect(chunks.count == (payload.count + SyncChunks.messageBytesMaxDefault - SyncChunks.headerBytes - 1)
                / (SyncChunks.messageBytesMaxDefault - SyncChunks.headerBytes))
        var reassembler = SyncChunks.Reassembler()
        var result: [UInt8]?
        for chunk in chunks { result = try reassembler.add(SyncChunks.Chunk(decoding: chunk.encoded())) }
        #expect(result == payload)
    }

    @Test func outOfOrderLostOrCorruptChunksAreRefused() throws {
        let payload = Self.payload(5000)
        let chunks = SyncChunks.split(payload, transfer: 9, messageBytesMax: 1000)
        var reassembler = SyncChunks.Reassembler()
        _ = try reassembler.add(chunks[0])
        #expect(throws: SyncChunkError.self) { _ = try reassembler.add(chunks[2]) }   // chunk 1 lost
        // Starting over works; a corrupted byte fails the digest at the end.
        var corrupted = chunks
        corrupted[3].payload[10] ^= 0xff
        var result: [UInt8]?
        do {
            for chunk in corrupted { result = try reassembler.add(chunk) }
            Issue.record("a corrupted transfer was accepted")
        } catch {
            #expect(error.description.contains("payload digest"))
        }
        #expect(result == nil)
        #expect(throws: SyncChunkError.self) { _ = try SyncChunks.Chunk(decoding: [1, 2, 3]) }
        var badMagic = chunks[0].encoded()
        badMagic[0] = 0
        #expect(throws: SyncChunkError("bytes 0-3 are not the chunk magic \"CIBC\"")) { _ = try SyncChunks.Chunk(decoding: badMagic) }
    }
}
