import Testing
@testable import BatonConfig

/// The ticket limit: large enough for 10,000 tickets (issue 3's scale target), still a limit.
@Suite struct TicketLimit {
    static func tickets(_ count: Int) -> String {
        threeMembers + (0..<count).map { "ticket = \"t\($0)\"\n" }.joined()
    }

    @Test func tenThousandTicketsLoad() throws {
        let loaded = try load(Self.tickets(10_000))
        #expect(loaded.configuration.tickets.count == 10_000)
        #expect(Limits.ticketsMaximum >= 10_000)
    }

    @Test func oneTicketOverTheLimitIsRejected() throws {
        #expect(try load(Self.tickets(Limits.ticketsMaximum)).configuration.tickets.count == Limits.ticketsMaximum)
        let error = rejection(Self.tickets(Limits.ticketsMaximum + 1))
        #expect(error?.rejection == .tooManyTickets(Limits.ticketsMaximum + 1))
        #expect(error?.line == 4 + Limits.ticketsMaximum)
    }
}
