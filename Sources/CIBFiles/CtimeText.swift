#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Times as Pacemaker writes them for people (`Sun Dec  6 13:40:00 2026`, local time):
/// the CIB's `cib-last-written`, crm_mon's "Last updated". The caller passes the time (here,
/// beside CIBStore, because it reads the local time zone: no pure module may).
public enum CtimeText {
    public static func text(secondsSinceEpoch seconds: Double) -> String {
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a %b %e %H:%M:%S %Y", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
