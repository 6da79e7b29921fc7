import Foundation

// What the test targets that drive real processes (BatondTests, CorosyncTests,
// TLSTransportTests) share.

/// A failure a test reports by throwing, with what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where the package's files and the executables built next to the test bundle are.
public enum BuildPaths {
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Pacemaker 2.1.5's scheduler suite, beside the repository (`../shared`, as CI has it).
    public static let conformanceSuite = packageRoot.appendingPathComponent("../shared/conformance/pacemaker-2.1.5").standardizedFileURL

    /// The directory of the running test binary (`swift build --build-tests` puts the
    /// package's executables there too).
    public static let productsDirectory: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // Swift Testing may run from inside a .xctest bundle directory on some layouts.
        if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
        return directory
    }()

    /// An executable product of the package, by name.
    public static func product(_ name: String) -> String {
        productsDirectory.appendingPathComponent(name).path
    }
}

/// A capability check's verdict: nil when nothing is missing; otherwise the reasons, also
/// printed on standard error ("TARGET: SKIPPING WHAT: reason; reason"), so that a skip is
/// never silent.
/// `reasons` holds one entry per check, nil where the check passed (see `Requirement`).
public func skipReason(_ target: String, skipping what: String, _ checks: [String?]) -> String? {
    let reasons = checks.compactMap { $0 }
    guard !reasons.isEmpty else { return nil }
    let message = "\(target): SKIPPING \(what): " + reasons.joined(separator: "; ")
    FileHandle.standardError.write(Data((message + "\n").utf8))
    return message
}

/// The checks the suites that drive real processes repeat, for `skipReason`: each is nil when
/// met, or the reason (with the package or command that brings it) when not.
public enum Requirement {
    /// Root, for `why` (namespaces, packet sockets, mounts).
    public static func root(_ why: String) -> String? { geteuid() == 0 ? nil : "not root (\(why))" }

    /// An executable at `path`; `missing` says what it is for and how to install it.
    public static func executable(_ path: String, _ missing: String) -> String? {
        FileManager.default.isExecutableFile(atPath: path) ? nil : "no \(path) (\(missing))"
    }

    /// The `ip` command (iproute2), wherever the distribution puts it.
    public static var ipCommand: String? {
        ["/usr/bin/ip", "/bin/ip", "/usr/sbin/ip", "/sbin/ip"].contains(where: FileManager.default.isExecutableFile(atPath:))
            ? nil : "no ip command (apt-get install iproute2)"
    }

    /// An executable product of this package, built next to the test bundle.
    public static func built(_ product: String) -> String? {
        let path = BuildPaths.product(product)
        return FileManager.default.isExecutableFile(atPath: path) ? nil : "\(path) is not built (swift build --build-tests builds it)"
    }
}

/// How long the tests that drive real processes, sockets and timers wait. A test waits for what
/// it awaits by polling a condition, and a poll ends as soon as the condition holds: a generous
/// deadline costs nothing when things work, while a short fixed one fails a correct test on a
/// loaded machine (2 cores shared with builds and other suites). So every such wait uses these,
/// never a few seconds picked by hand. How fast something happens is a figure for a benchmark
/// (`baton bench`), not an assertion here: where a test still bounds a real-time delay, the
/// bound is the property under test plus `slack`, a generous sanity bound.
///
/// `BATON_TEST_PATIENCE` multiplies every figure (for example 3 on a very slow machine);
/// default 1.
public enum Patience {
    /// The factor from `BATON_TEST_PATIENCE` (a positive number; anything else is 1).
    public static let factor: Double = {
        guard let text = ProcessInfo.processInfo.environment["BATON_TEST_PATIENCE"], let value = Double(text),
              value.isFinite, value > 0, value <= 100
        else { return 1 }
        return value
    }()

    /// The longest a test waits for something that must happen: 60 s × factor.
    public static let deadline: Duration = .seconds(60 * factor)

    /// Whole seconds of `deadline`, for programs that take a timeout in seconds.
    public static var deadlineSeconds: Int { Int((60 * factor).rounded(.up)) }

    /// What a real-time bound under test gets on top on a loaded machine (timers, polls and
    /// process starts run late): 5 s × factor.
    public static let slack: Duration = .seconds(5 * factor)

    /// A test's time limit (Swift Testing's `.timeLimit(.minutes(…))`), a backstop against
    /// hangs only: 10 minutes × factor.
    public static var testMinutes: Int { Int((10 * factor).rounded(.up)) }
}

/// Polls `condition` every `interval` until it holds or `limit` passes; returns the time it took.
/// The limit is a backstop (`Patience.deadline`): a test that claims a real-time bound measures
/// the time this returns and checks it apart.
@discardableResult
public func waitUntil(
    _ what: String, within limit: Duration = Patience.deadline, interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async throws -> Duration {
    let start = ContinuousClock.now
    while true {
        if try await condition() { return ContinuousClock.now - start }
        if ContinuousClock.now - start > limit { throw TestFailure("timed out after \(limit) waiting for: \(what)") }
        try await Task.sleep(for: interval)
    }
}

/// A new empty directory under the temporary directory, named PREFIX-UUID (the caller removes it).
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The attributes of the `<ticket_state id=TICKET …/>` line in a CIB's (or its status
/// section's) text, one element per line as the CIB writers here print it; empty when absent.
public func ticketStateAttributes(_ ticket: String, in text: String) -> [String: String] {
    for line in text.split(separator: "\n") where line.contains("<ticket_state ") && line.contains("id=\"\(ticket)\"") {
        var attributes: [String: String] = [:]
        var rest = Substring(line)
        while let equals = rest.range(of: "=\"") {
            let key = rest[..<equals.lowerBound].split(separator: " ").last.map(String.init) ?? ""
            let after = rest[equals.upperBound...]
            guard let close = after.firstIndex(of: "\"") else { break }
            attributes[key] = String(after[..<close])
            rest = after[after.index(after: close)...]
        }
        return attributes
    }
    return [:]
}
