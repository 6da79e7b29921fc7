import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10's lossy network with real daemons: site-a, site-b and the arbitrator each in its
/// own network namespace behind `scripts/impair-bed`'s impairing switch (`baton-impair`; this
/// kernel has no netem), three tickets granted on a clean network, then 25 % loss, 200 ± 100
/// ms delay and 5 % duplication on every frame. A sampler reads both sites' CIB files every
/// 20 ms: no ticket may change holder, none may be without a holder for 1 % of the time, and
/// no instant may show one ticket granted at both sites. Before the datagram path and the
/// renewal fix (TCP alone, renewals given up after `retries` resends) tickets changed holder
/// here; `baton lossy-bench` runs the same for 180 s and compares two builds.
extension EndToEnd {
    @Suite struct LossyNetwork {
        static let missing = skipReason("BatondTests", skipping: "LossyNetwork", [
            Requirement.root("network namespaces and packet sockets need it"), Requirement.ipCommand, Requirement.built("baton-impair"),
        ])

        static let impairedSpan: Duration = .seconds(80)
        /// The least lease a holder may have left between renewals: a renewal starts with
        /// 4.8 s left (expire 10 s, renewal 5 s, 1 % drift bound), and resent every 0.5 s it
        /// falls under 1 s only if 7 tries in a row fail (0.19^7 at 25 % loss each way).
        /// Over TCP a stalled stream let it run down, and out.
        static let leaseLeftMin = 1.0

        @Test(.enabled(if: missing == nil, "needs root, iproute2 and the built baton-impair; the reason is printed on stderr"))
        func holdersKeptAt25PercentLoss() async throws {
            let names = ["ticketA", "ticketB", "ticketC"]
            let tickets = names.map { "ticket = \"\($0)\"\n  expire = 10\n  timeout = 1\n  retries = 3\n" }.joined()
            try await withImpairBed(seed: 10) { bed in try await withCluster(members: ImpairBed.members, tickets: tickets, start: false) { cluster in
                bed.place(cluster)
                try cluster.startAll()
                try await cluster.waitReady()
                for (index, ticket) in names.enumerated() {
                    let site = index == 1 ? "site-b" : "site-a"
                    let grant = try await cluster.grant(ticket, at: site)
                    #expect(grant.status == 0, "grant \(ticket) at \(site): \(grant)")
                }
                try await waitUntil("every ticket granted in a CIB file") {
                    names.allSatisfy { ticket in cluster.cibGranted(ticket, at: "site-a") || cluster.cibGranted(ticket, at: "site-b") }
                }
                try await bed.set("0.25", "200", "100", "0.05")
                async let leaseLeft = sampleLeaseLeft(cluster, sites: ["site-a", "site-b"], for: Self.impairedSpan)
                let figures = try await sampleHolders(cluster, tickets: names, for: Self.impairedSpan)
                let leastLeft = try await leaseLeft
                print("lossy network (namespaces, 25 % loss, 200 ± 100 ms, 5 % duplication, \(Int(seconds(Self.impairedSpan))) s): \(figures); least lease left at a holder \(String(format: "%.2f", leastLeft)) s; switch: \(try await bed.stats())")
                #expect(figures.doubleHolderSamples == 0, "a ticket was granted at both sites at once")
                #expect(figures.holderChanges == 0, "\(figures)\n\(cluster.logs())")
                #expect(figures.withoutHolderShare < 0.01, "\(figures)")
                #expect(leastLeft >= Self.leaseLeftMin, "a holder's lease ran down to \(leastLeft) s before a renewal got through")
            } }
        }
    }
}


extension EndToEnd.LossyNetwork {
    /// A firewall that passes TCP and drops UDP (Baton spoke TCP alone before the datagram
    /// path): frames go over TCP too while no datagram comes from a peer, so tickets are granted
    /// and kept as before. Without that fallback every election frame was lost.
    @Test(.enabled(if: EndToEnd.LossyNetwork.missing == nil, "needs root, iproute2 and the built baton-impair; the reason is printed on stderr"))
    func udpDroppedByAFirewallFallsBackToTCP() async throws {
        let tickets = "ticket = \"ticketA\"\n  expire = 10\n  timeout = 1\n  retries = 3\n"
        try await withImpairBed(seed: 11) { bed in try await withCluster(members: ImpairBed.members, tickets: tickets, start: false) { cluster in
            try await bed.set("0", "0", "0", "0", "1")
            bed.place(cluster)
            try cluster.startAll()
            try await cluster.waitReady()
            let grant = try await cluster.grant("ticketA", at: "site-a")
            #expect(grant.status == 0, "grant with UDP dropped: \(grant)")
            try await waitUntil("ticketA granted at site-a") { cluster.cibGranted("ticketA", at: "site-a") }
            // Two and a half leases: renewals must get through over TCP.
            let figures = try await sampleHolders(cluster, tickets: ["ticketA"], for: .seconds(25))
            print("UDP dropped by the switch, 25 s: \(figures); switch: \(try await bed.stats())")
            #expect(figures.holderChanges == 0 && figures.withoutHolder == .zero, "\(figures)")
            #expect(figures.doubleHolderSamples == 0)
        } }
    }
}

/// The least `lease_remaining_seconds` any site reported for a ticket granted there, asking
/// `baton list --output json` at each site every 500 ms for `span`.
func sampleLeaseLeft(_ cluster: Cluster, sites: [String], for span: Duration) async throws -> Double {
    var least = Double.infinity
    let start = ContinuousClock.now
    while ContinuousClock.now - start < span {
        for site in sites {
            for entry in (try? await cluster.listJSON(at: site)) ?? [] where entry["granted_here"] as? Bool == true {
                if let left = entry["lease_remaining_seconds"] as? Double { least = min(least, left) }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
    }
    return least
}

struct HolderFigures: CustomStringConvertible {
    var samples = 0
    var holderChanges = 0
    var doubleHolderSamples = 0
    /// Summed over tickets.
    var withoutHolder: Duration = .zero
    var span: Duration = .zero
    var tickets = 0
    var withoutHolderShare: Double { seconds(withoutHolder) / (seconds(span) * Double(max(tickets, 1))) }
    var description: String {
        String(format: "%d holder changes, %.2f s without a holder over %d tickets (%.3f %%), %d samples with a double holder (%d samples)",
               holderChanges, seconds(withoutHolder), tickets, withoutHolderShare * 100, doubleHolderSamples, samples)
    }
}

/// Reads both sites' CIB files every 20 ms for `span`: holder changes (a ticket granted at
/// another site than the one that held it last), time without a holder, double holders.
func sampleHolders(_ cluster: Cluster, tickets: [String], for span: Duration) async throws -> HolderFigures {
    var figures = HolderFigures(tickets: tickets.count)
    var lastHolder: [String: String] = [:]
    let start = ContinuousClock.now
    var previous = start
    var withoutNow = Set<String>()
    while ContinuousClock.now - start < span {
        let now = ContinuousClock.now
        figures.withoutHolder += (now - previous) * withoutNow.count
        previous = now
        withoutNow = []
        figures.samples += 1
        for ticket in tickets {
            let holders = ["site-a", "site-b"].filter { cluster.cibGranted(ticket, at: $0) }
            if holders.count > 1 { figures.doubleHolderSamples += 1 }
            guard let holder = holders.first else {
                withoutNow.insert(ticket)
                continue
            }
            if let last = lastHolder[ticket], last != holder { figures.holderChanges += 1 }
            lastHolder[ticket] = holder
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    figures.withoutHolder += (ContinuousClock.now - previous) * withoutNow.count
    figures.span = ContinuousClock.now - start
    return figures
}
