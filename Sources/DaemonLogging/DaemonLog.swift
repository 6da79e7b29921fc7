#if canImport(Glibc)
import Glibc
#endif
import Logging

/// batond's and baton-crmd's log lines on stderr. Under systemd, whose journal reads stderr, each line starts
/// with its syslog priority (`<6>` info … `<3>` error, sd-daemon(3)'s convention) and carries no
/// timestamp, the journal adds its own; elsewhere (a terminal, a file) a line is
/// `TIME LEVEL LABEL: MESSAGE key=value …`. Neither names Swift modules or types.
public struct DaemonLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let journal: Bool

    public init(label: String, journal: Bool = DaemonLogHandler.stderrIsJournal()) {
        self.label = label
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let text = DaemonLogHandler.line(
            level: event.level, message: "\(event.message)", metadata: merged, label: label,
            time: journal ? nil : DaemonLogHandler.timestamp())
        text.utf8CString.withUnsafeBufferPointer { buffer in
            _ = write(STDERR_FILENO, buffer.baseAddress, buffer.count - 1)
        }
    }

    /// The syslog priority of a level (sd-daemon(3)): debug 7, info 6, notice 5, warning 4,
    /// error 3, critical 2.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// One line, newline included. `time` nil: the journal's form.
    public static func line(level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, time: String?) -> String {
        let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\(fieldValue("\($0.value)"))" }.joined(separator: " ")
        let body = fields.isEmpty ? message : message + " " + fields
        // A message with a line feed would start a line the journal reads without a priority.
        let flat = body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " | ")
        if let time { return "\(time) \(level) \(label): \(flat)\n" }
        return "<\(priority(level))>\(flat)\n"
    }

    /// A metadata value as logfmt writes it: bare when it has no space, quote or `=`, else in
    /// double quotes with `"` and `\` escaped, so `key=value` pairs split unambiguously.
    public static func fieldValue(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" }) else { return value }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// systemd sets JOURNAL_STREAM=DEVICE:INODE of the stream it connected to stdout/stderr;
    /// stderr is the journal when its own device and inode are those (systemd.exec(5)).
    public static func stderrIsJournal() -> Bool {
        guard let variable = getenv("JOURNAL_STREAM") else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return matchesJournalStream(String(cString: variable), device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    public static func matchesJournalStream(_ value: String, device: UInt64, inode: UInt64) -> Bool {
        let parts = value.split(separator: ":")
        guard parts.count == 2, let streamDevice = UInt64(parts[0]), let streamInode = UInt64(parts[1]) else { return false }
        return streamDevice == device && streamInode == inode
    }

    /// UTC, to the millisecond: 2026-12-06T20:15:03.123Z.
    public static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var broken = tm()
        gmtime_r(&seconds, &broken)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(broken.tm_year + 1900)-\(two(broken.tm_mon + 1))-\(two(broken.tm_mday))T\(two(broken.tm_hour)):\(two(broken.tm_min)):\(two(broken.tm_sec)).\(fraction)Z"
    }
}
