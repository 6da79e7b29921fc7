#if canImport(Glibc)
import Glibc
#endif
import TicketElection

/// The clocks batond reads: CLOCK_BOOTTIME for every lease (monotonic, counts suspend, shared
/// by every process of one boot, so a restarted batond can measure the time since its last
/// state write), and the kernel's boot id to tell a restart from a reboot.
public enum SystemClock {
    public static func now() -> LocalInstant {
        var spec = timespec()
        let result = clock_gettime(CLOCK_BOOTTIME, &spec)
        precondition(result == 0, "clock_gettime(CLOCK_BOOTTIME) failed: errno \(errno)")
        return LocalInstant(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }

    /// /proc/sys/kernel/random/boot_id, or "unknown" (then every restart counts as a reboot).
    public static func bootID() -> String {
        guard let file = fopen("/proc/sys/kernel/random/boot_id", "r") else { return "unknown" }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return "unknown" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }

    /// Wall-clock time for what admins read (booth's "expires: 2026-11-22 08:46:49").
    public static func wallClockSeconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int(spec.tv_sec)
    }

    /// Wall-clock milliseconds since the epoch (baton-crmd's `stop-by`).
    public static func wallClockMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
