import Foundation

/// Runs a ticket's before-acquire-handler with booth's environment, on a worker thread, and
/// reports success (every program exited 0 in time) or failure. A directory means every
/// executable file in it, in name order; the first failure decides.
public struct HandlerRunner: Sendable {
    public let configurationName: String
    public let configurationPath: String
    public let localName: String
    public let timeout: Duration

    public init(configurationName: String, configurationPath: String, localName: String, timeout: Duration) {
        self.configurationName = configurationName
        self.configurationPath = configurationPath
        self.localName = localName
        self.timeout = timeout
    }

    public func run(handler path: String, ticket: String, expires: Int?, completion: @escaping @Sendable (Bool, String) -> Void) {
        var environment = ProcessInfo.processInfo.environment
        environment["BOOTH_TICKET"] = ticket
        environment["BOOTH_LOCAL"] = localName
        environment["BOOTH_CONF_NAME"] = configurationName
        environment["BOOTH_CONF_PATH"] = configurationPath
        environment["BOOTH_TICKET_EXPIRES"] = expires.map(String.init) ?? "0"
        let timeout = timeout
        let environmentForChild = environment
        Thread.detachNewThread {
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
            for program in programs {
                let result = runProcess(program, [], environment: environmentForChild, timeout: timeout)
                if result.status != 0 {
                    completion(false, "\(program) exited \(result.status)\(result.output.isEmpty ? "" : ": " + result.output.trimmingWhitespace())")
                    return
                }
            }
            completion(true, "\(programs.count) program(s) succeeded")
        }
    }
}
