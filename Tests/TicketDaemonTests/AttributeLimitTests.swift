import Foundation
import Testing
import TicketCore
import TicketDaemon
import TicketElection
import TicketWire

/// Issue 10, point 10: 1,100 site attributes of 4 KiB, then `attr list`, made a reply over the
/// 4 MiB frame limit and trapped batond (and again after every restart, from the journal).
struct AttributeLimitTests {
    static let value = String(repeating: "v", count: 4096)

    static func setAttribute(_ core: inout DaemonCore, _ index: Int, now: LocalInstant) -> ReplyBody? {
        let request = ClientRequest(id: UInt64(index), command: .ticket(name: "ticket0", .setAttribute(name: "a\(index)", value: value)))
        return core.command(request, from: DaemonCore.ClientToken(1), now: now).replies.first?.reply.body
    }

    /// Before the limits every one of the 1,100 was accepted and the list reply trapped in
    /// `Frame.encoded()`; now the 65th is refused, naming the limit, and the list fits a frame.
    @Test func theSixtyFifthAttributeIsRefusedAndTheListFits() throws {
        var cores = try DaemonCoreTests.cores(tickets: 2)
        let now = LocalInstant(nanoseconds: 1_000_000_000)
        _ = cores[0].start([:], now: now)
        var refused: [String] = []
        for index in 0..<1100 {
            switch Self.setAttribute(&cores[0], index, now: now) {
            case .outcome(let outcome): #expect(outcome.succeeded, "set a\(index): \(outcome.text)")
            case .error(let message): refused.append(message)
            case let other: Issue.record("set a\(index): unexpected \(String(describing: other))")
            }
        }
        #expect(refused.count == 1100 - AttributeLimits.perTicketMax)
        #expect(refused.first?.contains("already holds 64 attributes, the most one ticket may hold (64)") == true, "\(refused.first ?? "")")
        #expect(cores[0].instance(named: "ticket0")?.attributes.count == AttributeLimits.perTicketMax)
        // Replacing a value that is there is still allowed at the limit.
        let replaced = cores[0].command(
            ClientRequest(id: 9, command: .ticket(name: "ticket0", .setAttribute(name: "a0", value: "new"))), from: DaemonCore.ClientToken(1), now: now)
        guard case .outcome(let outcome) = replaced.replies.first?.reply.body else {
            Issue.record("no outcome for a replacement at the limit")
            return
        }
        #expect(outcome.succeeded)
        let list = cores[0].command(ClientRequest(id: 7, command: .listAttributes(ticket: "ticket0")), from: DaemonCore.ClientToken(1), now: now)
        let reply = try #require(list.replies.first?.reply)
        guard case .reply(let decoded) = try Frame.decode(Frame.replyBytes(reply)), case .attributes(let attributes) = decoded.body else {
            Issue.record("the list reply did not come back as attributes")
            return
        }
        #expect(attributes.count == AttributeLimits.perTicketMax)
    }

    @Test func oversizeNamesAndValuesAreRefusedWithTheLimit() throws {
        var cores = try DaemonCoreTests.cores(tickets: 1)
        let now = LocalInstant(nanoseconds: 1)
        _ = cores[0].start([:], now: now)
        let long = cores[0].command(
            ClientRequest(id: 1, command: .ticket(name: "ticket0", .setAttribute(name: "x", value: String(repeating: "v", count: 4097)))),
            from: DaemonCore.ClientToken(1), now: now)
        #expect(long.replies.first?.reply.body == .error("attribute x not set for ticket ticket0: attribute value of 4097 bytes is over the limit of 4096"))
        let empty = cores[0].command(
            ClientRequest(id: 2, command: .ticket(name: "ticket0", .setAttribute(name: "", value: "v"))), from: DaemonCore.ClientToken(1), now: now)
        #expect(empty.replies.first?.reply.body == .error("attribute  not set for ticket ticket0: an attribute name cannot be empty"))
    }

    /// A journal written before the limits (1,100 attributes of 4 KiB) loads: the first 64 by
    /// name are kept with a warning, the ticket's election state is kept whole, and the list
    /// reply fits. Before, the restored attributes came back whole and the list trapped again.
    @Test func aJournalHoldingTooManyAttributesLoadsTruncatedWithAWarning() throws {
        var cores = try DaemonCoreTests.cores(tickets: 1)
        let now = LocalInstant(nanoseconds: 1_000_000_000)
        var state = PersistentTicketState()
        state.term = 7
        state.intendedGranted = true
        for index in 0..<1100 { state.attributes[String(format: "a%04d", index)] = Self.value }
        let batch = cores[0].start(["ticket0": .restored(state, elapsed: .known(.seconds(1)))], now: now)
        #expect(batch.warnings.count == 1)
        #expect(batch.warnings.first?.contains("1036 of 1100 site attributes") == true, "\(batch.warnings)")
        let instance = try #require(cores[0].instance(named: "ticket0"))
        #expect(instance.attributes.count == AttributeLimits.perTicketMax)
        #expect(instance.attributes["a0000"] != nil && instance.attributes["a0063"] != nil && instance.attributes["a0064"] == nil)
        #expect(instance.term == 7)
        let list = cores[0].command(ClientRequest(id: 7, command: .listAttributes(ticket: "ticket0")), from: DaemonCore.ClientToken(1), now: now)
        let reply = try #require(list.replies.first?.reply)
        #expect(Frame.reply(reply).encodedIfFits() != nil)
    }

    /// The total over all tickets is bounded too, at load as when set.
    @Test func theTotalOverAllTicketsIsBounded() throws {
        let (kept, dropped) = AttributeLimits.bounded(Dictionary(uniqueKeysWithValues: (0..<70).map { ("n\($0)", "v") }), totalBudget: 10)
        #expect(kept.count == 10 && dropped == 60)
        #expect(AttributeLimits.refusal(name: "n", value: "v", replacing: false, ticketCount: 3, totalCount: AttributeLimits.totalMax)?
            .contains("over all tickets") == true)
        #expect(AttributeLimits.refusal(name: "n", value: "v", replacing: true, ticketCount: 64, totalCount: AttributeLimits.totalMax) == nil)
    }
}
