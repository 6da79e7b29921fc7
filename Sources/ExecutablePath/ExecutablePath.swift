#if canImport(Glibc)
import Glibc
#endif

/// Where the running executable is: the kernel's /proc/self/exe, symbolic links resolved.
/// argv[0] does not say: it is only a name when the command was found through PATH (`baton
/// demo` from /usr/sbin). Glibc only, so the small `baton` front (no Foundation) shares it with
/// baton-full and the executor, which find their sibling binaries (baton-full, batond,
/// baton-agent-tools) beside it.
public enum ExecutablePath {
    /// This executable's absolute path, nil only when /proc is not mounted.
    public static func current() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory of `path` ("." when it names none).
    public static func directory(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    }
}
