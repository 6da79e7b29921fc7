#if canImport(Glibc)
import Glibc
#endif

/// The Prometheus client libraries' standard process metrics (`process_*`), read from
/// /proc/self as they read them, so dashboards made for any exporter work on batond and
/// baton-crmd too (both serve them at /metrics; this module is shared so that baton-crmd does
/// not link batond's daemon).
public struct ProcessMetrics: Equatable, Sendable {
    public var cpuSeconds: Double
    public var startTimeSeconds: Double
    public var residentBytes: Int
    public var virtualBytes: Int
    public var openDescriptors: Int
    public var maxDescriptors: Int

    /// The fields of /proc/PID/stat that matter here: utime, stime, starttime (clock ticks since
    /// boot), vsize (bytes), rss (pages). The command name (field 2) may hold spaces and
    /// parentheses: the fields are counted after its last ')'.
    public struct Stat: Equatable, Sendable {
        public var userTicks: Int
        public var systemTicks: Int
        public var startTicks: Int
        public var virtualBytes: Int
        public var residentPages: Int

        public init?(_ text: String) {
            guard let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
            // fields[0] is field 3 (state): field N is fields[N - 3].
            guard fields.count > 21, let user = Int(fields[11]), let system = Int(fields[12]), let start = Int(fields[19]),
                  let virtualBytes = Int(fields[20]), let resident = Int(fields[21]) else { return nil }
            (userTicks, systemTicks, startTicks, self.virtualBytes, residentPages) = (user, system, start, virtualBytes, resident)
        }
    }

    /// `btime` of /proc/stat: the boot time in seconds since 1970.
    public static func bootTime(_ procStat: String) -> Int? {
        for line in procStat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int(String(line.dropFirst(6).filter { $0 != " " }))
        }
        return nil
    }

    /// This process now; nil when /proc is not mounted.
    public static func current() -> ProcessMetrics? {
        guard let statText = readSmallFile("/proc/self/stat"), let stat = Stat(statText),
              let procStat = readSmallFile("/proc/stat"), let boot = bootTime(procStat) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = sysconf(Int32(_SC_PAGESIZE))
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return ProcessMetrics(
            cpuSeconds: Double(stat.userTicks + stat.systemTicks) / ticks,
            startTimeSeconds: Double(boot) + Double(stat.startTicks) / ticks,
            residentBytes: stat.residentPages * page, virtualBytes: stat.virtualBytes,
            openDescriptors: countDirectoryEntries("/proc/self/fd"), maxDescriptors: Int(limit.rlim_cur))
    }

    /// A /proc file read whole (they are small and report a size of 0, so read to the end).
    public static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Entries of a directory other than . and .. (for /proc/self/fd: the open descriptors,
    /// less the one this listing holds).
    static func countDirectoryEntries(_ path: String) -> Int {
        guard let directory = opendir(path) else { return 0 }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { count += 1 }
        }
        closedir(directory)
        return max(0, count - 1)
    }

    /// The text format's lines, with HELP and TYPE as the client libraries write them.
    public var exposition: [String] {
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) -> [String] {
            ["# HELP \(name) \(help)", "# TYPE \(name) \(type)", "\(name) \(value)"]
        }
        return metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", "\(cpuSeconds)")
            + metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", "\(startTimeSeconds)")
            + metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", "\(residentBytes)")
            + metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", "\(virtualBytes)")
            + metric("process_open_fds", "gauge", "Number of open file descriptors.", "\(openDescriptors)")
            + metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", "\(maxDescriptors)")
    }
}
