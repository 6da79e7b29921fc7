import ArgumentParser
import BatonClient
import ExecutablePath
import Foundation

/// glibc's mallopt(3) (malloc.h is not part of Swift's Glibc module); plain C ints.
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// The process entry: `Baton`'s command line, run as ArgumentParser's async `main` would,
/// except that synchronous commands (simulate, conformance, the benchmarks, the demo) run
/// right here on the main thread instead of on a worker thread of the concurrency runtime.
///
/// Why: glibc gives each worker thread its own malloc arena, and grows such an arena a few
/// pages at a time, each step an mprotect call: reading a 32-node x 1000-resource CIB (~60 MB
/// of small objects) made ~7,000 of them. The main thread's arena grows with brk, in steps
/// of M_TOP_PAD, which these commands set to 64 MiB (address space only: pages still come
/// when touched, and what lies beyond the pad is still given back).
@main
enum Entry {
    /// M_TOP_PAD in malloc.h.
    private static let topPadParameter: Int32 = -2
    private static let topPadBytes: Int32 = 64 << 20

    static func main() {
        let command: ParsableCommand
        do {
            command = try Baton.parseAsRoot()
        } catch {
            exitWithUsageError(error)
        }
        if let asynchronous = command as? AsyncParsableCommand {
            runOnConcurrencyRuntime(asynchronous)
        } else {
            _ = mallopt(topPadParameter, topPadBytes)
            var synchronous = command
            do {
                try synchronous.run()
            } catch {
                Baton.exit(withError: error)
            }
        }
    }

    /// A command line that does not parse: ArgumentParser's message and status (64), or with
    /// `--output json` on the line the same as ClientJSON.error on stdout, as every other
    /// failure of the ticket commands is reported then. Help and --version are no errors.
    private static func exitWithUsageError(_ error: any Error) -> Never {
        let arguments = CommandLine.arguments.dropFirst()
        let json = arguments.contains("--output=json") || zip(arguments, arguments.dropFirst()).contains { $0 == "--output" && $1 == "json" }
        let status = Baton.exitCode(for: error)
        guard json, status != .success else { Baton.exit(withError: error) }
        print(ClientJSON.error(Baton.message(for: error), exitStatus: status.rawValue).text)
        Baton.exit(withError: ExitCode(status.rawValue))
    }

    /// Runs an async command as a task and parks the main thread; the process ends when the
    /// command does (exit status 0, or the error's).
    private static func runOnConcurrencyRuntime(_ command: AsyncParsableCommand) -> Never {
        nonisolated(unsafe) var command = command
        Task.detached {
            do {
                try await command.run()
                Baton.exit()
            } catch {
                Baton.exit(withError: error)
            }
        }
        dispatchMain()
    }
}

/// The directory of this very executable (/proc/self/exe, symbolic links resolved): where
/// batond and baton-full are installed beside it. argv[0] is only a name when the command was
/// found through PATH (`baton demo` from /usr/sbin), so it does not say where.
func executableDirectory() -> String {
    ExecutablePath.directory(of: ownExecutable())
}

/// This executable's path (/proc/self/exe), argv[0] made absolute only if the kernel does not say.
func ownExecutable() -> String {
    ExecutablePath.current() ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
}
