/// What batond's and baton-crmd's monitoring listeners share, with no I/O: the HTTP/1.0 answer
/// to a request line, HTML escaping for the status pages and label escaping for the Prometheus
/// text format. Both daemons put the same limits around it (connections, request bytes, time
/// to send the request); the listeners themselves differ (NIO in batond, threads in
/// baton-crmd), the answers must not.
public enum MonitoringText {
    /// Bytes a request (line and headers) may take; a longer one is closed unanswered.
    public static let requestBytesMax = 8192

    /// The whole HTTP/1.0 answer to a request line: GET /metrics the text format, HEAD /metrics
    /// its headers alone (Content-Length of the body a GET would get), another method 405 with
    /// `Allow`, any other path 404. `/` and `/status` answer the status page (HTML) the same way.
    /// `metrics` and `status` are called only when their body is wanted.
    public static func response(to requestLine: String, metrics: () -> String, status: () -> String) -> String {
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true).map { part in
            part.hasSuffix("\r") ? String(part.dropLast()) : String(part)
        }
        let method = parts.first ?? ""
        let target = parts.count > 1 ? parts[1] : ""
        let path = String(target.prefix { $0 != "?" })
        var statusLine = "200 OK"
        var body: String
        var extra = ""
        var contentType = "text/plain; version=0.0.4; charset=utf-8"
        let page = path == "/" || path == "/status"
        if path != "/metrics" && !page {
            statusLine = "404 Not Found"
            body = "/metrics (Prometheus) and /status (HTML) are served here\n"
        } else if method == "GET" || method == "HEAD" {
            body = page ? status() : metrics()
            if page { contentType = "text/html; charset=utf-8" }
        } else {
            statusLine = "405 Method Not Allowed"
            body = "\(path) answers GET and HEAD\n"
            extra = "Allow: GET, HEAD\r\n"
        }
        let headers = "HTTP/1.0 \(statusLine)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\(extra)Connection: close\r\n\r\n"
        return method == "HEAD" ? headers : headers + body
    }

    /// The request line of a request received so far, once its header block has ended (an empty
    /// line); nil while more is to come (or never, for bytes that are not UTF-8: the listener's
    /// size and time limits close such a connection).
    public static func requestLine(of received: [UInt8]) -> String? {
        // Bytes, not Characters: "\r\n" is one Character in Swift and never equals "\n".
        func holds(_ pattern: [UInt8]) -> Bool {
            received.count >= pattern.count && (0...(received.count - pattern.count)).contains { start in
                received[start..<(start + pattern.count)].elementsEqual(pattern)
            }
        }
        guard String(validating: received, as: UTF8.self) != nil, holds([13, 10, 13, 10]) || holds([10, 10]) else { return nil }
        var line = Array(received.prefix { $0 != 10 })
        if line.last == 13 { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }

    /// Text for HTML: & < > " ' escaped (names and ids come from the CIB and configuration).
    public static func escapeHTML(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A label value in the text format: backslash, double quote and line feed escaped.
    public static func labelValue(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// The page style both daemons' status pages use.
    public static let pageStyle = """
        body { font-family: sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
        h1 { font-size: 1.4em; margin-bottom: 0.2em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
        table { border-collapse: collapse; min-width: 40em; background: #fff; }
        th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
        th { background: #eee; }
        tr.here td { background: #d8f5d8; } tr.elsewhere td { background: #e4ecfa; } tr.none td { background: #f4f4f4; }
        tr.down td { background: #fadada; } .ok { color: #176917; font-weight: bold; } .bad { color: #b00; font-weight: bold; }
        td.time { white-space: nowrap; font-family: monospace; } .summary { color: #555; }
        """
}
