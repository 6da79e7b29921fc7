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
public func skipReason(_ target: String, skipping what: String, _ reasons: [String]) -> String? {
    guard !reasons.isEmpty else { return nil }
    let message = "\(target): SKIPPING \(what): " + reasons.joined(separator: "; ")
    FileHandle.standardError.write(Data((message + "\n").utf8))
    return message
}
