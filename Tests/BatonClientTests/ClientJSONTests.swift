import BatonClient
import Foundation
import Testing
import TicketElection
import TicketWire

/// The ticket commands' JSON, written without Foundation: valid JSON that Foundation's parser
/// reads back to the values given, keys sorted, strings escaped.
struct ClientJSONTests {
    static func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func stringsAreEscaped() throws {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{00} é ✓ 🎫 /"
        let text = JSONValue.string(awkward).text
        #expect(try Self.parse(text) as? String == awkward)
        #expect(text.contains("\\u0007") && text.contains("\\u0000"))
    }

    @Test func layoutIsPrettyWithSortedKeys() {
        let value = JSONValue.object(["b": .array([.integer(1), .null, .bool(true)]), "a": .object([:]), "c": .array([])])
        #expect(value.text == """
            {
              "a" : {},
              "b" : [
                1,
                null,
                true
              ],
              "c" : []
            }
            """)
    }

    @Test func numbersReadBackAndNonFiniteIsNull() throws {
        for number in [0.0, 1.5, -2.25, 9.731, 1e-7, 123456789.125, 30.0] {
            let parsed = try Self.parse(JSONValue.number(number).text) as? NSNumber
            #expect(parsed?.doubleValue == number, "\(number) → \(JSONValue.number(number).text)")
        }
        #expect(JSONValue.number(.nan).text == "null")
        #expect(JSONValue.number(.infinity).text == "null")
        #expect(JSONValue.integer(Int.min).text == String(Int.min))
    }

    @Test func listCarriesEveryField() throws {
        let tickets = [
            TicketSummary(name: "ticket-db", manual: false, term: 7, leader: "site-a", leaseRemaining: .milliseconds(9_500),
                          commitPending: nil, grantedHere: true, standby: false, manualHolders: []),
            TicketSummary(name: "manual \"m\"", manual: true, term: UInt64.max, leader: nil, leaseRemaining: nil,
                          commitPending: .seconds(2), grantedHere: false, standby: true, manualHolders: ["site-a", "site-b"]),
        ]
        let parsed = try #require(try Self.parse(ClientJSON.list(tickets, configuration: nil).text) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(parsed[0]["ticket"] as? String == "ticket-db")
        #expect(parsed[0]["mode"] as? String == "auto")
        #expect((parsed[0]["term"] as? NSNumber)?.intValue == 7)
        #expect(parsed[0]["leader"] as? String == "site-a")
        #expect(parsed[0]["leader_address"] as? String == "site-a", "no configuration: the name")
        #expect((parsed[0]["lease_remaining_seconds"] as? NSNumber)?.doubleValue == 9.5)
        #expect(parsed[0]["commit_pending_seconds"] is NSNull)
        #expect(parsed[0]["granted_here"] as? Bool == true)
        #expect(parsed[1]["ticket"] as? String == "manual \"m\"")
        #expect(parsed[1]["leader"] is NSNull)
        #expect(parsed[1]["manual_holders"] as? [String] == ["site-a", "site-b"])
        #expect((parsed[1]["commit_pending_seconds"] as? NSNumber)?.doubleValue == 2)
        #expect(parsed[1]["standby"] as? Bool == true)
    }

    @Test func outcomePeersStatusAttributes() throws {
        let outcome = try #require(try Self.parse(ClientJSON.outcome(ticket: "t", OutcomeSummary(succeeded: false, text: "ticket is not owned")).text)
            as? [String: Any])
        #expect(outcome["succeeded"] as? Bool == false && outcome["message"] as? String == "ticket is not owned")
        let peers = try #require(try Self.parse(ClientJSON.peers([
            PeerSummary(name: "arbitrator", site: false, address: "10.0.0.3", connected: true, lastHeard: .milliseconds(250)),
        ]).text) as? [[String: Any]])
        #expect(peers.first?["role"] as? String == "arbitrator" && (peers.first?["last_heard_seconds"] as? NSNumber)?.doubleValue == 0.25)
        let status = try #require(try Self.parse(ClientJSON.status(DaemonSummary(name: "site-a", site: true, tickets: 3, uptime: .seconds(61))).text)
            as? [String: Any])
        #expect(status["running"] as? Bool == true && (status["tickets"] as? NSNumber)?.intValue == 3)
        #expect(status["pid"] == nil, "a daemon that does not say gets no made-up pid")
        let process = DaemonProcess(pid: 4242, lockFile: "/run/baton/booth.sock.lock", configurationName: "booth", address: "192.0.2.10", port: 9929)
        let described = try #require(try Self.parse(ClientJSON.status(DaemonSummary(name: "site-a", site: true, tickets: 3, uptime: .seconds(61),
                                                                                    process: process)).text) as? [String: Any])
        #expect((described["pid"] as? NSNumber)?.intValue == 4242 && described["configuration_name"] as? String == "booth"
                && described["address"] as? String == "192.0.2.10" && (described["port"] as? NSNumber)?.intValue == 9929)
        let attributes = try #require(try Self.parse(ClientJSON.attributes([Attribute(name: "colour", value: "blue")]).text) as? [String: String])
        #expect(attributes == ["colour": "blue"])
    }
}

/// `baton status` prints booth's line; scripts `eval` it as they do booth's.
struct BoothStatusLineTests {
    @Test func theLineIsBoothsAndAShellReadsItBack() throws {
        let process = DaemonProcess(pid: 4242, lockFile: "/run/baton/it's.sock.lock", configurationName: "booth", address: "192.0.2.10", port: 9929)
        let line = try #require(ClientText.boothStatusLine(DaemonSummary(name: "site-a", site: true, tickets: 3, uptime: .seconds(61), process: process)))
        #expect(line == "booth_lockpid=4242 booth_lockfile='/run/baton/it'\\''s.sock.lock' booth_pid=4242 booth_state=started booth_type=site "
                + "booth_cfg_name='booth' booth_addr_string='192.0.2.10' booth_port=9929")
        #expect(ClientText.boothStatusLine(DaemonSummary(name: "site-a", site: true, tickets: 3, uptime: .seconds(61))) == nil)
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "eval \"$1\"; printf '%s|%s|%s|%s|%s' \"$booth_state\" \"$booth_type\" \"$booth_cfg_name\" \"$booth_lockfile\" \"$booth_port\"", "sh", line]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        #expect(output == "started|site|booth|/run/baton/it's.sock.lock|9929")
    }
}
