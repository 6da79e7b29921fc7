import Testing
import TicketElection
@testable import BatonConfig

/// `admin-from` (issue 10, point 14) and `clock-drift-max` (point 3: the README said the drift
/// bound was configured; it was fixed at 10,000 ppm).
@Suite struct AdminFromKey {
    let members = """
        site = 10.0.0.1 name=site-a
        site = 10.0.0.2 name=site-b
        arbitrator = 10.0.0.3 name=arbitrator

        """

    @Test func defaultsToSites() throws {
        let configuration = try load(members + "ticket = A\n").configuration
        #expect(configuration.adminFrom == .sites)
        #expect(configuration.members.map(configuration.mayAdministerRemotely) == [true, true, false])
    }

    @Test func allSitesNoneAndNames() throws {
        #expect(try load(members + "admin-from = all\nticket = A\n").configuration.adminFrom == .all)
        #expect(try load(members + "admin-from = SITES\nticket = A\n").configuration.adminFrom == .sites)
        let none = try load(members + "admin-from = none\nticket = A\n").configuration
        #expect(none.adminFrom == .none)
        #expect(none.members.allSatisfy { !none.mayAdministerRemotely($0) })
        // Names or addresses, comma or space separated; kept as certificate names.
        let named = try load(members + "admin-from = site-b, 10.0.0.3\nticket = A\n").configuration
        #expect(named.adminFrom == .members(["site-b", "arbitrator"]))
        #expect(named.members.map(named.mayAdministerRemotely) == [false, true, true])
    }

    @Test func unknownNamesAndMixedKeywordsAreRejectedWithTheirLine() {
        let unknown = rejection(members + "admin-from = site-a, site-z\nticket = A\n")
        #expect(unknown?.line == 4)
        #expect(unknown?.rejection == .unknownAdminMember("site-z"))
        #expect(unknown?.description.contains("test.conf:4") == true, "\(String(describing: unknown))")
        #expect(rejection(members + "admin-from = all site-a\nticket = A\n")?.rejection == .invalidAdminFrom("all site-a"))
        #expect(rejection(members + "admin-from =\nticket = A\n")?.line == 4)
    }
}

@Suite struct ClockDriftKey {
    let members = "site = 10.0.0.1\nsite = 10.0.0.2\narbitrator = 10.0.0.3\n"

    @Test func defaultIsOnePercent() throws {
        #expect(try load(members + "ticket = A\n").configuration.clockDriftMaxPartsPerMillion == 10_000)
    }

    @Test func percentAndPartsPerMillion() throws {
        for (text, expected) in [("2%", 20_000), ("0.5%", 5_000), ("0.125%", 1_250), ("10%", 100_000), ("0%", 0), ("2500ppm", 2_500), ("2500PPM", 2_500)] {
            #expect(try load(members + "clock-drift-max = \(text)\nticket = A\n").configuration.clockDriftMaxPartsPerMillion == expected, "\(text)")
        }
    }

    @Test func badValuesAreRejectedWithTheirLine() {
        for text in ["1", "abc%", "1.%", ".5%", "0.0001%", "-1%", "1e3ppm", "ppm", "%"] {
            let error = rejection(members + "clock-drift-max = \(text)\nticket = A\n")
            #expect(error?.line == 4, "\(text): \(String(describing: error))")
            #expect(error?.rejection == .invalidClockDrift(text), "\(text)")
        }
        for text in ["10.001%", "11%", "100001ppm"] {
            #expect(rejection(members + "clock-drift-max = \(text)\nticket = A\n")?.rejection == .clockDriftOutOfRange(text), "\(text)")
        }
    }
}
