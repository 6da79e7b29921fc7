import Testing
import TicketElection
import TicketWire

/// Issue 10, point 10: a reply over the frame limit traps in `Frame.encoded()` (Frame.swift's
/// precondition); `Frame.replyBytes` must instead send an error reply with the same id.
struct OversizeReplyTests {
    static func reply(attributes count: Int) -> ClientReply {
        let value = String(repeating: "v", count: 4096)
        return ClientReply(id: 77, body: .attributes((0..<count).map { Attribute(name: "attribute-\($0)", value: value) }))
    }

    @Test func anOversizeReplyBecomesAnErrorReply() throws {
        let oversize = Self.reply(attributes: 1100)
        #expect(Frame.reply(oversize).encodedIfFits() == nil)
        let bytes = Frame.replyBytes(oversize)
        #expect(bytes.count <= Frame.headerBytes + Frame.payloadBytesMax)
        guard case .reply(let decoded) = try Frame.decode(bytes), case .error(let message) = decoded.body else {
            Issue.record("the oversize reply did not become an error reply")
            return
        }
        #expect(decoded.id == 77)
        #expect(message.contains("over the frame limit of 4194304 bytes"), "\(message)")
    }

    @Test func aReplyThatFitsIsSentAsItIs() throws {
        let fitting = Self.reply(attributes: 64)
        #expect(Frame.replyBytes(fitting) == Frame.reply(fitting).encoded())
        #expect(try Frame.decode(Frame.replyBytes(fitting)) == .reply(fitting))
    }
}
