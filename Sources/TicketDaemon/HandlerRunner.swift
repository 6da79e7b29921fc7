import ChildProcess
import Foundation

/// Runs a ticket's before-acquire-handler with booth's environment through the project's
/// child-process primitive (no thread per run; the handler's process group is killed at the
/// timeout) and reports success (every program exited 0 in time) or failure. A directory means
/// every executable file in it, in name order, one after the other; the first failure decides.
public struct HandlerRunner: Sendable {
    public let configurationName: String
    public let configurationPath: String
    public let localName: String
    public let timeout: Duration
    let runner: ChildProcessRunner
    /// Bytes of a failing handler's output kept for the log.
    static let outputLimit = 4096

    public init(
        configurationName: String, configurationPath: String, localName: String, timeout: Duration, runner: ChildProcessRunner
    ) {
        self.configurationName = configurationName
        self.configurationPath = configurationPath
        self.localName = localName
        self.timeout = timeout
        self.runner = runner
    }

    /// `completion` runs on the runner's thread.
    public func run(handler path: String, ticket: String, expires: Int?, completion: @escaping @Sendable (Bool, String) -> Void) {
        var environment = ProcessInfo.processInfo.environment
        environment["BOOTH_TICKET"] = ticket
        environment["BOOTH_LOCAL"] = localName
        environment["BOOTH_CONF_NAME"] = configurationName
        environment["BOOTH_CONF_PATH"] = configurationPath
        environment["BOOTH_TICKET_EXPIRES"] = expires.map(String.init) ?? "0"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            completion(false, "\(path) does not exist")
            return
        }
        var programs = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            programs = names.sorted().map { path + "/" + $0 }.filter { FileManager.default.isExecutableFile(atPath: $0) }
        }
        let specs = programs.map {
            ChildProcessSpec(executable: $0, environment: environment, outputLimit: Self.outputLimit, timeout: timeout, killGrace: .seconds(2))
        }
        runner.runInTurn(specs) { failed in
            guard let (spec, outcome) = failed else {
                completion(true, "\(specs.count) program(s) succeeded")
                return
            }
            completion(false, "\(spec.executable) \(outcome.failureDetail)")
        }
    }
}

extension ChildProcessRunner {
    /// Runs `specs` one after the other while each exits 0; `completion` gets the first that did
    /// not (with its outcome), or nil when all did.
    func runInTurn(_ specs: [ChildProcessSpec], completion: @escaping @Sendable ((ChildProcessSpec, ChildOutcome)?) -> Void) {
        guard let first = specs.first else { return completion(nil) }
        run(first) { outcome in
            guard outcome.exit == .exited(0) else { return completion((first, outcome)) }
            self.runInTurn(Array(specs.dropFirst()), completion: completion)
        }
    }
}

extension ChildOutcome {
    /// "exited 3: <output>" / "timed out: ..." / "spawn failed ...", for logs and back-end errors.
    var failureDetail: String {
        let output = (standardOutputText + standardErrorText).trimmingWhitespace()
        let head = problem.map { "\(exit): \($0)" } ?? exit.description
        return output.isEmpty ? head : head + ": " + output
    }
}
