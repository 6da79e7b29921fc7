import Testing
import TicketElection
@testable import BatonConfig

/// Parses or fails the test with the error's text.
func load(_ text: String, file: String = "booth.conf") throws -> LoadedConfiguration {
    try BatonConfigurationParser.parse(text: text, fileName: file)
}

/// The rejection a text produces, or nil when it loads.
func rejection(_ text: String) -> ConfigurationError? {
    do {
        _ = try BatonConfigurationParser.parse(text: text, fileName: "test.conf")
        return nil
    } catch {
        return error
    }
}

let threeMembers = """
site = 10.0.0.1
site = 10.0.0.2
arbitrator = 10.0.0.3

"""

@Suite struct Defaults {
    @Test func boothDefaultsApply() throws {
        let loaded = try load(threeMembers + "ticket = \"ticketA\"\n")
        let configuration = loaded.configuration
        #expect(configuration.port == 9929)
        #expect(configuration.name == "booth")
        #expect(configuration.members.count == 3)
        #expect(configuration.sites.map(\.address) == ["10.0.0.1", "10.0.0.2"])
        #expect(configuration.arbitrators.map(\.address) == ["10.0.0.3"])
        #expect(configuration.members.map(\.certificateName) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(configuration.members.map(\.port) == [9929, 9929, 9929])
        let ticket = try #require(configuration.ticket(named: "ticketA"))
        #expect(ticket.expire == .seconds(600))
        #expect(ticket.timeout == .seconds(5))
        #expect(ticket.retries == 10)
        #expect(ticket.renewalFrequency == .seconds(300))
        #expect(ticket.acquireAfter == .zero)
        #expect(ticket.mode == .automatic)
        #expect(ticket.weights == [0, 0, 0])
        #expect(ticket.beforeAcquireHandler == nil)
        #expect(ticket.attributePrerequisites.isEmpty)
        #expect(ticket.line == 4)
        #expect(configuration.maximumTimeSkew == .seconds(120))
        #expect(configuration.siteUser == "hacluster" && configuration.siteGroup == "haclient")
        #expect(configuration.arbitratorUser == "nobody")
        #expect(configuration.transportSecurity == nil)
        #expect(loaded.warnings.map(\.kind) == [.transportSecurityMissing])
    }

    @Test func renewalDefaultsToHalfTheExpire() throws {
        let loaded = try load(threeMembers + "ticket = A\nexpire = 90\n")
        #expect(loaded.configuration.tickets[0].renewalFrequency == .seconds(45))
    }
}

@Suite struct Syntax {
    @Test func commentsQuotesAndBlankLines() throws {
        let text = """
        # a comment
           # an indented comment

        site="10.0.0.1"   # trailing comment
        site = '10.0.0.2'
        arbitrator =10.0.0.3
        ticket = "ticket-a/1"
          before-acquire-handler = "/usr/share/booth/service-runnable db#1"
        """
        let configuration = try load(text).configuration
        #expect(configuration.members.map(\.address) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(configuration.tickets[0].name == "ticket-a/1")
        #expect(configuration.tickets[0].beforeAcquireHandler == "/usr/share/booth/service-runnable db#1")
    }

    @Test func crlfLineEndingsLoad() throws {
        let configuration = try load("site = 10.0.0.1\r\nsite = 10.0.0.2\r\narbitrator = 10.0.0.3\r\nticket = A\r\nexpire = 60\r\n").configuration
        #expect(configuration.tickets[0].expire == .seconds(60))
    }

    @Test func lineWithoutEqualsIsRejectedWithItsLine() throws {
        let error = try #require(rejection(threeMembers + "ticket = A\nexpire 600\n"))
        #expect(error.line == 5)
        #expect(error.file == "test.conf")
        #expect(error.rejection == .malformedLine("expire 600"))
        #expect(error.description == "test.conf:5: expected 'key = value', got 'expire 600'")
    }

    @Test func unterminatedQuote() {
        #expect(rejection("site = \"10.0.0.1\n")?.rejection == .unterminatedQuote)
    }

    @Test func unknownKeyIsRejected() {
        let error = rejection(threeMembers + "colour = blue\n")
        #expect(error?.rejection == .unknownKey("colour"))
        #expect(error?.line == 4)
    }

    @Test func overlongLineIsRejected() {
        let error = rejection("site = 10.0.0.1\n# " + String(repeating: "x", count: 5000) + "\n")
        #expect(error?.line == 2)
        if case .lineTooLong = error?.rejection {} else { Issue.record("expected lineTooLong, got \(String(describing: error))") }
    }

    @Test func wordsAfterAQuotedValueOfANonMemberKeyAreRejected() {
        #expect(rejection(threeMembers + "ticket = \"A\" extra\n")?.line == 4)
    }
}

@Suite struct GlobalKeys {
    @Test func portMustBeANumber() {
        // booth: atoi("abc") == 0, silently.
        #expect(rejection("port = abc\n" + threeMembers)?.rejection == .invalidPort("abc"))
        #expect(rejection("port = 0\n" + threeMembers)?.rejection == .invalidPort("0"))
        #expect(rejection("port = 65536\n" + threeMembers)?.rejection == .invalidPort("65536"))
        #expect(rejection("port = 99x\n" + threeMembers)?.line == 1)
    }

    @Test func portApplies() throws {
        let configuration = try load("port = 9930\n" + threeMembers).configuration
        #expect(configuration.port == 9930)
        #expect(configuration.members.allSatisfy { $0.port == 9930 })
    }

    @Test func transportIsReplacedWithAWarning() throws {
        let loaded = try load("transport = UDP\n" + threeMembers)
        #expect(loaded.warnings.contains { $0.kind == .transportReplaced && $0.line == 1 })
        #expect(rejection("transport = carrier-pigeon\n" + threeMembers)?.rejection == .invalidTransport("carrier-pigeon"))
    }

    @Test func authfileWarnsThatTLSReplacesIt() throws {
        let loaded = try load("authfile = /etc/booth/authkey\nenable-authfile = yes\n" + threeMembers)
        let warnings = loaded.warnings.filter { $0.kind == .authenticationFileReplacedByTransportSecurity }
        #expect(warnings.map(\.line) == [1, 2])
        #expect(warnings[0].description.hasPrefix("booth.conf:1: warning: 'authfile' is ignored"))
    }

    @Test func userAndGroupKeysAreKept() throws {
        let configuration = try load(threeMembers + "site-user = booth\nsite-group = booth\narbitrator-user = baton\narbitrator-group = baton\n").configuration
        #expect(configuration.siteUser == "booth")
        #expect(configuration.siteGroup == "booth")
        #expect(configuration.arbitratorUser == "baton")
        #expect(configuration.arbitratorGroup == "baton")
        #expect(rejection(threeMembers + "site-user = 'bad user'\n")?.rejection == .invalidAccountName(key: "site-user", value: "bad user"))
    }

    @Test func maxtimeskewAndDebug() throws {
        let loaded = try load(threeMembers + "maxtimeskew = 60\ndebug = 1\n")
        #expect(loaded.configuration.maximumTimeSkew == .seconds(60))
        #expect(loaded.configuration.debugLevel == 1)
        #expect(loaded.warnings.contains { $0.kind == .maximumTimeSkewUnused })
        #expect(rejection(threeMembers + "debug = loud\n")?.rejection == .invalidDebugLevel("loud"))
    }

    @Test func configurationName() throws {
        #expect(try load("name = geo1\n" + threeMembers).configuration.name == "geo1")
        #expect(rejection("name = 'a b'\n" + threeMembers)?.rejection == .invalidName(kind: "configuration", name: "a b"))
    }

    @Test func repeatedGlobalKeyWarns() throws {
        let loaded = try load("port = 9930\nport = 9931\n" + threeMembers)
        #expect(loaded.configuration.port == 9931)
        #expect(loaded.warnings.contains { $0.kind == .keyRepeated && $0.line == 2 })
    }
}

@Suite struct Members {
    @Test func noSiteIsRejected() {
        let error = rejection("arbitrator = 10.0.0.3\n")
        #expect(error?.rejection == .noSite)
        #expect(error?.line == nil)
        #expect(error?.description == "test.conf: no 'site' declared: at least one site is needed")
        #expect(rejection("")?.rejection == .noSite)
    }

    @Test func atMostSixteenMembers() throws {
        let sixteen = (1...16).map { "site = 10.0.0.\($0)\n" }.joined()
        #expect(try load(sixteen).configuration.members.count == 16)
        let error = rejection(sixteen + "arbitrator = 10.0.1.1\n")
        #expect(error?.rejection == .tooManyMembers(17))
        #expect(error?.line == 17)
    }

    @Test func evenMemberCountWarns() throws {
        let loaded = try load("site = 10.0.0.1\nsite = 10.0.0.2\n")
        #expect(loaded.warnings.contains { $0.kind == .evenMemberCount })
        #expect(!(try load(threeMembers).warnings.contains { $0.kind == .evenMemberCount }))
    }

    @Test func duplicateMembersAreRejected() {
        #expect(rejection("site = 10.0.0.1\nsite = 10.0.0.1\n")?.rejection == .duplicateMember("10.0.0.1", firstLine: 1))
        #expect(rejection("site = 10.0.0.1 name=a\narbitrator = 10.0.0.2 name=a\n")?.rejection == .duplicateMember("a", firstLine: 1))
        // The same address on two ports is two members (loopback test beds).
        #expect(rejection("site = 127.0.0.1 name=a port=9001\nsite = 127.0.0.1 name=b port=9002\narbitrator = 127.0.0.1 name=c port=9003\n") == nil)
    }

    @Test func addressesAreValidated() throws {
        let configuration = try load("site = ::ffff:192.168.202.100\nsite = [fd00::2]\narbitrator = arbitrator.example.net\n").configuration
        #expect(configuration.members.map(\.address) == ["::ffff:192.168.202.100", "fd00::2", "arbitrator.example.net"])
        #expect(rejection("site = 10.0.0.300\n")?.rejection == .invalidAddress("10.0.0.300"))
        #expect(rejection("site = fd00:::1\n")?.rejection == .invalidAddress("fd00:::1"))
        #expect(rejection("site = bad_host!\n")?.rejection == .invalidAddress("bad_host!"))
        #expect(rejection("site = \"\"\n")?.rejection == .emptyValue(key: "site"))
    }

    @Test func certificateNamesAndPortsOnMemberLines() throws {
        let text = """
        port = 9930
        site = "10.0.0.1" name=site-a.example.net
        site = 10.0.0.2 name=site-b port=9931
        arbitrator = 10.0.0.3   name="arbitrator"   # the third location
        identity = site-b
        """
        let configuration = try load(text).configuration
        #expect(configuration.members.map(\.certificateName) == ["site-a.example.net", "site-b", "arbitrator"])
        #expect(configuration.members.map(\.port) == [9930, 9931, 9930])
        #expect(configuration.members.map(\.index) == [0, 1, 2])
        #expect(configuration.members.map(\.line) == [2, 3, 4])
        #expect(configuration.localMember?.address == "10.0.0.2")
        #expect(configuration.member(named: "10.0.0.3")?.certificateName == "arbitrator")
        #expect(rejection("site = 10.0.0.1 nom=a\n")?.rejection == .invalidMemberAttribute("nom=a"))
        #expect(rejection("site = 10.0.0.1 name=bad_name\n")?.rejection == .invalidMemberAttribute("name=bad_name"))
        #expect(rejection("site = 10.0.0.1 port=x\n")?.rejection == .invalidPort("x"))
    }

    @Test func localMemberFromCertificateNames() throws {
        let text = "site = 10.0.0.1 name=site-a\nsite = 10.0.0.2 name=site-b\narbitrator = 10.0.0.3 name=arbitrator\n"
        let configuration = try load(text).configuration
        #expect(configuration.localMember(certificateNames: ["site-b"])?.address == "10.0.0.2")
        #expect(configuration.localMember(certificateNames: ["nobody"]) == nil)
        #expect(configuration.localMember(certificateNames: ["site-a", "site-b"]) == nil)
        let explicit = try load(text + "identity = arbitrator\n").configuration
        #expect(explicit.localMember(certificateNames: ["arbitrator"])?.role == .arbitrator)
        // The identity and the certificate disagree: no answer rather than a wrong one.
        #expect(explicit.localMember(certificateNames: ["site-a"]) == nil)
    }

    @Test func identityMustNameAMember() throws {
        #expect(try load(threeMembers + "identity = 10.0.0.2\n").configuration.localMember?.address == "10.0.0.2")
        let error = rejection(threeMembers + "identity = site-z\n")
        #expect(error?.rejection == .unknownIdentity("site-z"))
        #expect(error?.line == 4)
    }
}

@Suite struct Tickets {
    @Test func ticketNames() {
        #expect(rejection(threeMembers + "ticket = \"bad name\"\n")?.rejection == .invalidName(kind: "ticket", name: "bad name"))
        #expect(rejection(threeMembers + "ticket = bad_name\n")?.rejection == .invalidName(kind: "ticket", name: "bad_name"))
        let long = String(repeating: "t", count: 64)
        #expect(rejection(threeMembers + "ticket = \(long)\n")?.rejection == .invalidName(kind: "ticket", name: long))
        #expect(rejection(threeMembers + "ticket = \(String(long.dropLast()))\n") == nil)
    }

    @Test func duplicateTicketIsRejected() {
        let error = rejection(threeMembers + "ticket = A\nticket = B\nticket = A\n")
        #expect(error?.rejection == .duplicateTicket("A", firstLine: 4))
        #expect(error?.line == 6)
    }

    @Test func durationsInSecondsAndMilliseconds() throws {
        let text = threeMembers + """
        ticket = A
          expire = 10
          timeout = 500ms
          retries = 3
          renewal-freq = 4s
          acquire-after = 1500ms
        """
        let ticket = try load(text).configuration.tickets[0]
        #expect(ticket.expire == .seconds(10))
        #expect(ticket.timeout == .milliseconds(500))
        #expect(ticket.renewalFrequency == .seconds(4))
        #expect(ticket.acquireAfter == .milliseconds(1500))
    }

    @Test func badDurationsAreRejected() {
        #expect(rejection(threeMembers + "ticket = A\nexpire = ten\n")?.rejection == .invalidDuration(key: "expire", value: "ten"))
        #expect(rejection(threeMembers + "ticket = A\nexpire = -5\n")?.rejection == .invalidDuration(key: "expire", value: "-5"))
        #expect(rejection(threeMembers + "ticket = A\nexpire = 1.5\n")?.rejection == .invalidDuration(key: "expire", value: "1.5"))
        #expect(rejection(threeMembers + "ticket = A\nexpire = 0\n")?.rejection == .durationOutOfRange(key: "expire", value: "0"))
        #expect(rejection(threeMembers + "ticket = A\ntimeout = 0ms\n")?.rejection == .durationOutOfRange(key: "timeout", value: "0ms"))
        #expect(rejection(threeMembers + "ticket = A\nexpire = 99999999\n")?.rejection == .durationOutOfRange(key: "expire", value: "99999999"))
        #expect(rejection(threeMembers + "ticket = A\nacquire-after = 0\n") == nil)
    }

    @Test func stopBeforeIsReadAndMustLeaveTheRenewalItsRoom() throws {
        let ticket = try load(threeMembers + "ticket = A\nexpire = 10\ntimeout = 1\nretries = 3\nstop-before = 3500ms\n").configuration.tickets[0]
        #expect(ticket.stopBefore == .milliseconds(3500))
        #expect(try load(threeMembers + "ticket = A\n").configuration.tickets[0].stopBefore == nil)
        #expect(rejection(threeMembers + "ticket = A\nexpire = 10\ntimeout = 1\nretries = 3\nstop-before = 0\n") == nil)
        let tooLong = rejection(threeMembers + "ticket = A\nexpire = 10\ntimeout = 1\nretries = 3\nstop-before = 5\n")
        #expect(tooLong?.rejection == .stopBeforeTooLong(ticket: "A", stopBefore: .seconds(5), expire: .seconds(10), renewalFrequency: .seconds(5)))
        #expect(tooLong?.line == 8)
        #expect(rejection(threeMembers + "ticket = A\nstop-before = soon\n")?.rejection == .invalidDuration(key: "stop-before", value: "soon"))
    }

    @Test func retriesRange() {
        #expect(rejection(threeMembers + "ticket = A\nretries = 2\n")?.rejection == .retriesOutOfRange(2))
        #expect(rejection(threeMembers + "ticket = A\nretries = 101\n")?.rejection == .retriesOutOfRange(101))
        #expect(rejection(threeMembers + "ticket = A\nretries = many\n")?.rejection == .invalidInteger(key: "retries", value: "many"))
        #expect(rejection(threeMembers + "ticket = A\nretries = 3\n") == nil)
        #expect(rejection(threeMembers + "ticket = A\nretries = 100\nexpire = 3600\n") == nil)
    }

    @Test func retryBudgetMustFitTheExplicitRenewal() throws {
        // timeout * (retries + 1) = 5 * 11 = 55 s, not below 50 s.
        let error = rejection(threeMembers + "ticket = A\nrenewal-freq = 50\n")
        #expect(error?.rejection == .retryBudgetNotBelowRenewal(ticket: "A", timeout: .seconds(5), retries: 10, renewalFrequency: .seconds(50)))
        #expect(error?.line == 5)
        #expect(rejection(threeMembers + "ticket = A\nrenewal-freq = 56\n") == nil)
        // With the derived renewal (expire / 2 = 30 s) it is a warning, so booth files load.
        let loaded = try load(threeMembers + "ticket = A\nexpire = 60\n")
        #expect(loaded.warnings.contains { $0.kind == .retryBudgetReachesRenewal && $0.line == 4 })
    }

    @Test func renewalMustBeBelowExpire() {
        let error = rejection(threeMembers + "ticket = A\nexpire = 100\ntimeout = 1\nretries = 3\nrenewal-freq = 100\n")
        #expect(error?.rejection == .renewalNotBelowExpire(ticket: "A", renewalFrequency: .seconds(100), expire: .seconds(100)))
    }

    @Test func modeMustBeAutoOrManual() throws {
        // booth: anything but "manual" silently means auto.
        #expect(rejection(threeMembers + "ticket = A\nmode = manaul\n")?.rejection == .invalidMode("manaul"))
        #expect(try load(threeMembers + "ticket = A\nmode = MANUAL\n").configuration.tickets[0].mode == .manual)
        #expect(try load(threeMembers + "ticket = A\nmode = auto\n").configuration.tickets[0].mode == .automatic)
    }

    @Test func manualTicketsSkipLeaseRules() throws {
        let ticket = try load("site = 10.0.0.1\nsite = 10.0.0.2\nticket = M\nmode = manual\nrenewal-freq = 1\n").configuration.tickets[0]
        #expect(ticket.mode == .manual)
    }

    @Test func attributePrerequisites() throws {
        let text = threeMembers + """
        ticket = A
          attr-prereq = auto role eq primary
          attr-prereq = manual health ne bad
        """
        let ticket = try load(text).configuration.tickets[0]
        #expect(ticket.attributePrerequisites == [
            AttributePrerequisite(trigger: .automatic, name: "role", comparison: .equal, value: "primary"),
            AttributePrerequisite(trigger: .manual, name: "health", comparison: .notEqual, value: "bad"),
        ])
        #expect(ticket.attributePrerequisites[0].isSatisfied(by: ["role": "primary"]))
        #expect(!ticket.attributePrerequisites[0].isSatisfied(by: [:]))
        #expect(ticket.attributePrerequisites[1].isSatisfied(by: [:]))
        #expect(rejection(threeMembers + "ticket = A\nattr-prereq = sometimes role eq x\n")?.rejection == .invalidAttributePrerequisite("sometimes role eq x"))
        #expect(rejection(threeMembers + "ticket = A\nattr-prereq = auto role gt x\n")?.rejection == .invalidAttributePrerequisite("auto role gt x"))
        #expect(rejection(threeMembers + "ticket = A\nattr-prereq = auto role\n")?.rejection == .invalidAttributePrerequisite("auto role"))
    }

    @Test func weights() throws {
        let ticket = try load(threeMembers + "ticket = A\nweights = 2, 1, 0\n").configuration.tickets[0]
        #expect(ticket.weights == [2, 1, 0])
        let padded = try load(threeMembers + "ticket = A\nweights = 2\n")
        #expect(padded.configuration.tickets[0].weights == [2, 0, 0])
        #expect(padded.warnings.contains { $0.kind == .weightsPadded && $0.line == 5 })
        let arbitrator = try load(threeMembers + "ticket = A\nweights = 0,0,5\n")
        #expect(arbitrator.warnings.contains { $0.kind == .arbitratorWeightIgnored })
        #expect(rejection(threeMembers + "ticket = A\nweights = 1,2,3,4\n")?.rejection == .tooManyWeights(given: 4, members: 3))
        #expect(rejection(threeMembers + "ticket = A\nweights = 1,x\n")?.rejection == .invalidWeights("1,x"))
    }

    @Test func repeatedTicketKeyWarns() throws {
        let loaded = try load(threeMembers + "ticket = A\nexpire = 60\nexpire = 120\n")
        #expect(loaded.configuration.tickets[0].expire == .seconds(120))
        #expect(loaded.warnings.contains { $0.kind == .keyRepeated && $0.line == 6 })
    }
}

@Suite struct DefaultsSections {
    @Test func defaultsPassEveryPerTicketKey() throws {
        // booth's __defaults__ did not pass acquire-after, renewal-freq, the handler or attr-prereq.
        let text = threeMembers + """
        ticket = "__defaults__"
          expire = 120
          timeout = 2
          retries = 4
          renewal-freq = 30
          acquire-after = 15
          before-acquire-handler = /usr/share/booth/service-runnable
          attr-prereq = auto role eq primary
          mode = manual
          weights = 1,2,3
        ticket = A
        ticket = B
          mode = auto
          attr-prereq = manual other ne x
        """
        let tickets = try load(text).configuration.tickets
        for ticket in tickets {
            #expect(ticket.expire == .seconds(120))
            #expect(ticket.timeout == .seconds(2))
            #expect(ticket.retries == 4)
            #expect(ticket.renewalFrequency == .seconds(30))
            #expect(ticket.acquireAfter == .seconds(15))
            #expect(ticket.beforeAcquireHandler == "/usr/share/booth/service-runnable")
            #expect(ticket.weights == [1, 2, 3])
        }
        #expect(tickets[0].mode == .manual)
        #expect(tickets[0].attributePrerequisites.map(\.name) == ["role"])
        #expect(tickets[1].mode == .automatic)
        // A ticket's own attr-prereq lines replace the inherited ones.
        #expect(tickets[1].attributePrerequisites.map(\.name) == ["other"])
    }

    @Test func perTicketKeysBeforeAnyTicketAreDefaults() throws {
        // booth: "Modifications are inherited by tickets which follow."
        let text = threeMembers + "expire = 60\nacquire-after = 10\nticket = A\nexpire = 30\nticket = B\n"
        let tickets = try load(text).configuration.tickets
        #expect(tickets.map(\.expire) == [.seconds(30), .seconds(60)])
        #expect(tickets.map(\.acquireAfter) == [.seconds(10), .seconds(10)])
    }

    @Test func defaultsSectionAfterATicketAffectsOnlyLaterTickets() throws {
        let text = threeMembers + "ticket = A\nticket = __defaults__\nexpire = 60\nticket = B\n"
        let tickets = try load(text).configuration.tickets
        #expect(tickets.map(\.expire) == [.seconds(600), .seconds(60)])
    }
}

@Suite struct TransportSecuritySettings {
    @Test func tlsKeysLoad() throws {
        let text = threeMembers + """
        tls-ca = /etc/baton/tls/ca.pem
        tls-certificate = /etc/baton/tls/site-a.pem
        tls-private-key = /etc/baton/tls/site-a.key
        tls-handshake-timeout = 3s
        """
        let loaded = try load(text)
        let security = try #require(loaded.configuration.transportSecurity)
        #expect(security.certificateAuthorityFile == "/etc/baton/tls/ca.pem")
        #expect(security.certificateFile == "/etc/baton/tls/site-a.pem")
        #expect(security.privateKeyFile == "/etc/baton/tls/site-a.key")
        #expect(security.handshakeTimeout == .seconds(3))
        #expect(!loaded.warnings.contains { $0.kind == .transportSecurityMissing })
    }

    @Test func incompleteTLSSettingsAreRejected() {
        let error = rejection(threeMembers + "tls-ca = /ca.pem\n")
        #expect(error?.rejection == .incompleteTransportSecurity(missing: ["tls-certificate", "tls-private-key"]))
        #expect(error?.line == 4)
    }
}

@Suite struct Loader {
    @Test func missingFileIsATypedError() {
        do {
            _ = try BatonConfigurationParser.load(path: "/nonexistent/baton/booth.conf")
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.file == "/nonexistent/baton/booth.conf")
            if case .unreadableFile = error.rejection {} else { Issue.record("unexpected \(error)") }
        }
    }
}
