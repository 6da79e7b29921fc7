import ClusterIdentity
import QuorumArbiter

/// The node's quorum device as corosync.conf gives it (read from cmap, `quorum.device.*`):
///
///     quorum {
///       provider: corosync_votequorum
///       device {
///         model: baton
///         votes: 1               # ffsplit: 1; lms: leave it out (votequorum gives nodes − 1)
///         timeout: 10000          # ms (qdevice's default)
///         sync_timeout: 30000     # ms (qdevice's default)
///         baton {
///           host: 192.0.2.30      # the arbitrator
///           port: 9930
///           arbitrator_name: arbitrator   # the name its certificate carries (default: host)
///           ca_file: /etc/baton/tls/ca.pem
///           cert_file: /etc/baton/tls/member.pem
///           key_file: /etc/baton/tls/member.key
///           tie_breaker: lowest   # lowest | highest | a node id
///           algorithm: ffsplit    # ffsplit | lms
///           keep_active_partition_tie_breaker: on
///         }
///         heuristics {            # optional; qdevice's keys and defaults
///           mode: sync            # off (default) | sync | on
///           timeout: 5000         # ms, runs on connecting and regular runs (default timeout / 2)
///           sync_timeout: 15000   # ms, runs on a membership change (default sync_timeout / 2)
///           interval: 30000       # ms between regular runs, mode on (default 3 × timeout)
///           exec_gateway: /usr/bin/ping -q -c 1 -W 1 192.0.2.1
///           exec_disk: /usr/bin/test -e /srv/data/.mounted
///         }
///       }
///     }
///
/// `exec_` values are split as qdevice splits them (`HeuristicsCommandLine`): no shell, the
/// executable an absolute path.
public struct DeviceConfiguration: Sendable, Equatable {
    public static let modelName = "baton"
    public static let defaultPort = 9930

    /// `quorum.device.votes`; nil when absent (votequorum then gives the device the nodes'
    /// votes − 1, which lms needs).
    public var votes: UInt32?
    public var timeout: Duration
    public var syncTimeout: Duration
    public var host: String
    public var port: Int
    public var arbitratorName: String
    public var caFile: String
    public var certFile: String
    public var keyFile: String
    public var tieBreaker: TieBreaker
    public var algorithm: DecisionAlgorithm
    public var keepActivePartition: Bool
    public var heuristics: HeuristicsSettings

    /// The cmap keys this reads (under `quorum.device.`).
    public static let keys = [
        "model", "votes", "timeout", "sync_timeout", "baton.host", "baton.port", "baton.arbitrator_name", "baton.ca_file",
        "baton.cert_file", "baton.key_file", "baton.tie_breaker", "baton.algorithm", "baton.keep_active_partition_tie_breaker",
        "heuristics.mode", "heuristics.timeout", "heuristics.sync_timeout", "heuristics.interval",
    ]
    /// The prefix of the heuristics commands' keys (under `quorum.device.`); any name follows.
    public static let execPrefix = "heuristics.exec_"

    /// Parses the values of `keys` and of every `heuristics.exec_NAME` (absent keys missing from
    /// `values`); the error names the key.

    public static func parse(_ values: [String: String]) throws(DeviceConfigurationError) -> DeviceConfiguration {
        func key(_ name: String) -> String { "quorum.device.\(name)" }
        func number(_ name: String, default fallback: UInt32, range: ClosedRange<UInt32>) throws(DeviceConfigurationError) -> UInt32 {
            guard let text = values[name] else { return fallback }
            guard let value = UInt32(text), range.contains(value) else {
                throw DeviceConfigurationError(key: key(name), value: text, expected: "a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        guard let model = values["model"] else {
            throw DeviceConfigurationError(key: key("model"), value: nil, expected: "'\(modelName)' (no quorum device is configured)")
        }
        guard model == modelName else { throw DeviceConfigurationError(key: key("model"), value: model, expected: "'\(modelName)'") }
        let votes = values["votes"] == nil ? nil : try number("votes", default: 1, range: 1...64)
        let timeout = try number("timeout", default: 10_000, range: 1_000...3_600_000)
        let syncTimeout = try number("sync_timeout", default: 30_000, range: 1_000...3_600_000)
        guard syncTimeout >= timeout else {
            throw DeviceConfigurationError(key: key("sync_timeout"), value: String(syncTimeout), expected: "at least timeout (\(timeout))")
        }
        guard let host = values["baton.host"], !host.isEmpty, host.utf8.count <= 255 else {
            throw DeviceConfigurationError(key: key("baton.host"), value: values["baton.host"], expected: "the arbitrator's address")
        }
        let port = try number("baton.port", default: UInt32(defaultPort), range: 1...65_535)
        let tieBreaker: TieBreaker
        switch values["baton.tie_breaker"] ?? "lowest" {
        case "lowest": tieBreaker = .lowest
        case "highest": tieBreaker = .highest
        case let text:
            guard let node = UInt32(text), node >= 1 else {
                throw DeviceConfigurationError(key: key("baton.tie_breaker"), value: text, expected: "lowest, highest or a node id")
            }
            tieBreaker = .node(NodeID(node))
        }
        let algorithm: DecisionAlgorithm
        switch values["baton.algorithm"] ?? "ffsplit" {
        case "ffsplit": algorithm = .ffsplit
        case "lms": algorithm = .lms
        case let text: throw DeviceConfigurationError(key: key("baton.algorithm"), value: text, expected: "ffsplit or lms")
        }
        let keepActive: Bool
        switch values["baton.keep_active_partition_tie_breaker"] ?? "on" {
        case "on", "yes", "1": keepActive = true
        case "off", "no", "0": keepActive = false
        case let text: throw DeviceConfigurationError(key: key("baton.keep_active_partition_tie_breaker"), value: text, expected: "on or off")
        }
        let heuristics = try parseHeuristics(values, timeout: timeout, syncTimeout: syncTimeout)
        return DeviceConfiguration(
            votes: votes, timeout: .milliseconds(Int64(timeout)), syncTimeout: .milliseconds(Int64(syncTimeout)), host: host, port: Int(port),
            arbitratorName: values["baton.arbitrator_name"] ?? host, caFile: values["baton.ca_file"] ?? "/etc/baton/tls/ca.pem",
            certFile: values["baton.cert_file"] ?? "/etc/baton/tls/member.pem", keyFile: values["baton.key_file"] ?? "/etc/baton/tls/member.key",
            tieBreaker: tieBreaker, algorithm: algorithm, keepActivePartition: keepActive, heuristics: heuristics)
    }

    static func parseHeuristics(_ values: [String: String], timeout: UInt32, syncTimeout: UInt32) throws(DeviceConfigurationError) -> HeuristicsSettings {
        func key(_ name: String) -> String { "quorum.device.\(name)" }
        func milliseconds(_ name: String, range: ClosedRange<UInt32>) throws(DeviceConfigurationError) -> Duration? {
            guard let text = values[name] else { return nil }
            guard let value = UInt32(text), range.contains(value) else {
                throw DeviceConfigurationError(key: key(name), value: text, expected: "milliseconds, a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return .milliseconds(Int64(value))
        }
        let modeText = values["heuristics.mode"] ?? "off"
        guard let mode = HeuristicsMode(rawValue: modeText) else {
            throw DeviceConfigurationError(key: key("heuristics.mode"), value: modeText, expected: "on, sync or off")
        }
        var commands: [HeuristicsCommand] = []
        for (name, text) in values.filter({ $0.key.hasPrefix(execPrefix) }).sorted(by: { $0.key < $1.key }) {
            let command = String(name.dropFirst(execPrefix.count))
            guard !command.isEmpty else { throw DeviceConfigurationError(key: key(name), value: text, expected: "exec_NAME with a name") }
            switch HeuristicsCommandLine.split(text) {
            case .success(let arguments): commands.append(HeuristicsCommand(name: command, arguments: arguments))
            case .failure(let problem): throw DeviceConfigurationError(key: key(name), value: text, expected: problem.description)
            }
        }
        guard commands.count <= HeuristicsSettings.commandsMax else {
            throw DeviceConfigurationError(key: key("heuristics"), value: "\(commands.count) exec_ commands", expected: "at most \(HeuristicsSettings.commandsMax)")
        }
        if mode != .off && commands.isEmpty {
            throw DeviceConfigurationError(key: key("heuristics.mode"), value: modeText, expected: "off, or at least one heuristics.exec_NAME command")
        }
        return HeuristicsSettings(
            mode: mode, deviceTimeout: .milliseconds(Int64(timeout)), deviceSyncTimeout: .milliseconds(Int64(syncTimeout)),
            timeout: try milliseconds("heuristics.timeout", range: HeuristicsSettings.timeoutRange),
            syncTimeout: try milliseconds("heuristics.sync_timeout", range: HeuristicsSettings.timeoutRange),
            interval: try milliseconds("heuristics.interval", range: HeuristicsSettings.intervalRange), commands: commands)
    }

    /// Checks the device's votes against the configured node list (every node votes 1):
    /// lms needs the nodes − 1 votes votequorum gives when `votes` is absent (then one node
    /// with the vote is quorate and a partition without it never is); another explicit value
    /// is refused, as qdevice refuses ffsplit with votes other than 1. qdevice 3.0.3 itself
    /// only says so in its man page.
    public func checkVotes(configuredNodes: Int) throws(DeviceConfigurationError) {
        guard algorithm == .lms, let votes else { return }
        let expected = LastManStanding.defaultDeviceVotes(configuredNodes: configuredNodes)
        guard votes == expected else {
            throw DeviceConfigurationError(
                key: "quorum.device.votes", value: String(votes),
                expected: "\(expected) (the \(configuredNodes) configured nodes − 1) for algorithm lms, or no votes key (votequorum's default)")
        }
    }

    /// The device core's settings (heartbeat 0.4 × timeout, polls 0.5 × timeout).
    public var settings: QuorumDevice.Settings {
        var settings = QuorumDevice.Settings(timeout: timeout, syncTimeout: syncTimeout)
        settings.heuristicsEnabled = heuristics.mode != .off
        return settings
    }
}

/// A corosync.conf quorum device setting Baton cannot use: which key, what it held, what it takes.
public struct DeviceConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let value: String?
    public let expected: String
    public var description: String { "corosync.conf \(key)\(value.map { " = '\($0)'" } ?? " is missing"): expected \(expected)" }
}
