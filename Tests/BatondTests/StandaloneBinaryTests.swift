import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The shipped binaries run on a node without the Swift toolchain: the Swift runtime and
/// Foundation are linked in (`-static-stdlib`, Package.swift), so nothing they load comes from
/// the toolchain or from the build directory. Checked two ways: `ldd` resolves every library
/// outside both, and the binaries run with the toolchain hidden under an empty tmpfs in a
/// private mount namespace (as on a node where it was never installed).
@Suite struct StandaloneBinaries {
    /// The toolchain this test process runs on: the directory above `usr/lib/swift` of the
    /// libswiftCore.so the test bundle itself loaded (for example /opt/swift).
    static let toolchain: String? = {
        // Read with read(2): /proc files say they are empty to stat, which Foundation believes.
        let descriptor = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < 64 << 20 {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last, path.hasSuffix("/libswiftCore.so"),
                  let range = path.range(of: "/usr/lib/swift")
            else { continue }
            return String(path[..<range.lowerBound])
        }
        return nil
    }()

    /// Every shipped binary (`baton` runs `baton-full` for what it does not answer itself).
    static let products = ["batond", "baton", "baton-full", "baton-corosync-probe"]
    static var binaries: [String] { products.map(BuildPaths.product) }

    static let missing = skipReason("BatondTests", skipping: "StandaloneBinaries", products.map(Requirement.built) + [
        toolchain == nil ? "this test process loaded no libswiftCore.so, so there is no toolchain to hide" : nil,
        Requirement.executable("/usr/bin/ldd", "libc-bin"),
    ])

    static let namespaceMissing = skipReason("BatondTests", skipping: "StandaloneBinaries.runWithTheToolchainHidden", [
        Requirement.root("a private mount namespace needs CAP_SYS_ADMIN"), Requirement.executable("/usr/bin/unshare", "util-linux"),
    ])

    @Test(.enabled(if: missing == nil, "needs the built binaries and ldd; the reason is printed on stderr"))
    func lddFindsNothingInTheToolchainOrTheBuildDirectory() async throws {
        let toolchain = try #require(Self.toolchain)
        let build = BuildPaths.productsDirectory.deletingLastPathComponent().path
        for binary in Self.binaries {
            let ldd = try await run(["/usr/bin/ldd", binary])
            #expect(ldd.status == 0, "ldd \(binary): \(ldd)")
            let lines = ldd.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(!lines.isEmpty, "ldd \(binary) printed nothing: \(ldd)")
            for line in lines {
                #expect(!line.contains("not found"), "\(binary): \(line)")
                #expect(!line.contains(toolchain + "/") && !line.contains(build + "/"), "\(binary) loads from the toolchain or the build: \(line)")
                #expect(!line.contains("libswift") && !line.contains("libFoundation") && !line.contains("libdispatch"), "\(binary): \(line)")
            }
        }
    }

    /// `unshare --mount`, an empty tmpfs over the toolchain, then the command: what a node
    /// without Swift sees. The first check proves the toolchain is really gone in there.
    @Test(.enabled(if: missing == nil && namespaceMissing == nil, "needs root, unshare and the built binaries; the reason is printed on stderr"))
    func runWithTheToolchainHidden() async throws {
        let toolchain = try #require(Self.toolchain)
        let runtime = toolchain + "/usr/lib/swift/linux/libswiftCore.so"
        #expect(FileManager.default.fileExists(atPath: runtime), "the runtime this test loaded: \(runtime)")
        let directory = "/tmp/baton-standalone-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        func hidden(_ command: [String]) async throws -> CommandResult {
            // sh -c 'mount … "$0" && exec "$@"': the toolchain path and the command as arguments, never spliced into the script.
            try await run(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", "mount -t tmpfs -o ro tmpfs \"$0\" && exec \"$@\"",
                           toolchain] + command, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LD_LIBRARY_PATH": ""])
        }
        let gone = try await hidden(["/usr/bin/test", "-e", runtime])
        #expect(gone.status == 1, "the toolchain is still visible in the namespace: \(gone)")

        for binary in [Paths.batond, Paths.baton, Paths.batonFull] {
            let help = try await hidden([binary, "--help"])
            #expect(help.status == 0, "\(binary) --help with the toolchain hidden: \(help)")
            #expect(help.stdout.contains("USAGE:"), "\(binary) --help: \(help)")
        }
        let status = try await hidden([Paths.baton, "status", "--socket", directory + "/nobody.sock"])
        #expect(status.status == 7, "baton status with no batond must say not running (7): \(status)")
        let probe = try await hidden([BuildPaths.product("baton-corosync-probe"), "--help"])
        #expect(probe.status == 0, "baton-corosync-probe --help with the toolchain hidden: \(probe)")
    }
}
