#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc tuning for a long-running daemon (malloc.h is not part of Swift's Glibc module;
/// plain C ints, as in malloc.h).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32

/// Why a daemon needs this: glibc gives threads arenas of their own (up to 8 per core) and keeps
/// what was freed in them. baton-crmd's work comes in bursts on whichever thread of the
/// concurrency runtime runs its loop: a cold start, a full sync or a node's join builds and drops
/// megabytes of XML, and the freed pages stayed resident (a non-DC node with 1,000 resources
/// idled at 58-62 MB, ~12 MB of it freed memory malloc_trim gave back).
public enum HeapMemory {
    /// M_ARENA_MAX in malloc.h.
    private static let arenaMaxParameter: Int32 = -8

    /// At most `count` malloc arenas (glibc's MALLOC_ARENA_MAX); call before the threads start.
    /// An admin's own MALLOC_ARENA_MAX wins.
    public static func limitArenas(to count: Int32) {
        if getenv("MALLOC_ARENA_MAX") == nil { _ = glibcMallopt(arenaMaxParameter, count) }
    }

    /// Gives the freed pages of every arena back to the kernel (malloc_trim(0)); true when some
    /// were.
    @discardableResult
    public static func trim() -> Bool {
        glibcMallocTrim(0) == 1
    }
}
