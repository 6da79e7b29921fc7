import CRMCore
import Foundation
import Testing

/// baton-crmd's /metrics and /status (`--metrics`, issue 17 point 8) on three corosync nodes
/// running Dummy resources: the text passes `promtool check metrics` and names the right DC and
/// the resources' roles where they run; a failed monitor's fail count appears; the page, loaded
/// in headless chromium inside a node's namespace, shows the nodes and resources and is drawn
/// (screenshot decoded: its size, its colours, the running rows' green).
extension RealCorosync {
@Suite(.serialized)
struct CrmdMonitoringLiveTests {
    static let port = 9940
    static let promtool = "/usr/bin/promtool"
    static let chromium = "/usr/bin/chromium"
    static let python = "/usr/bin/python3"

    /// GET or HEAD `path` on node `node`'s listener (inside its namespace): the status code,
    /// the body written to `file`.
    static func fetch(_ bed: CrmdBed, node: Int, _ path: String, method: String = "GET", into file: String) async throws -> Int {
        let script = """
            import http.client, sys
            connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
            connection.request(sys.argv[2], sys.argv[3])
            response = connection.getresponse()
            open(sys.argv[4], "wb").write(response.read())
            print("status", response.status, "length", response.getheader("Content-Length"))
            """
        let result = try await run([Paths.testbed, "-d", bed.testbed.directory, "exec", String(node), python, "-c", script,
                                    String(port), method, path, file])
        guard result.status == 0, let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("status ") }),
              let code = Int(line.split(separator: " ")[1]) else { throw TestFailure("\(method) \(path) on node\(node): \(result.output)") }
        return code
    }

    static func metrics(_ bed: CrmdBed, node: Int) async throws -> String {
        let file = "\(bed.testbed.directory)/metrics-node\(node).txt"
        let code = try await fetch(bed, node: node, "/metrics", into: file)
        guard code == 200 else { throw TestFailure("GET /metrics on node\(node): \(code)") }
        return try String(contentsOfFile: file, encoding: .utf8)
    }

    static func sample(_ series: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.map { String($0.dropFirst(series.count + 1)) }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func metricsAndStatusPageOfARunningCluster() async throws {
        for tool in [Self.promtool, Self.chromium, Self.python] where !FileManager.default.isExecutableFile(atPath: tool) {
            print("CrmdMonitoringLiveTests: skipped, \(tool) is not installed (promtool: Debian's prometheus; chromium: Debian's chromium)")
            return
        }
        let ids = ["d1", "d2", "d3"]
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try CrmdResourceTests.cib(ids, status: false).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3], extra: ["--metrics", "127.0.0.1:\(Self.port)"])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let dcNode = Int(dc.nodeID.rawValue)
            let placed = try await CrmdResourceTests.waitForEachOnce(bed, ids)

            // Every node's metrics: the same DC, each resource Started where its agent runs.
            var texts: [Int: String] = [:]
            try await waitUntil("every node's /metrics shows node\(dcNode) as DC and \(placed) started") {
                for node in 1...3 {
                    guard let text = try? await Self.metrics(bed, node: node) else { return false }
                    texts[node] = text
                    guard Self.sample("baton_crmd_dc_info{dc=\"node\(dcNode)\"}", in: text) == "1",
                          Self.sample("baton_crmd_is_dc", in: text) == (node == dcNode ? "1" : "0"),
                          Self.sample("baton_crmd_partition_quorate", in: text) == "1",
                          Self.sample("baton_crmd_members", in: text) == "3",
                          placed.allSatisfy({ Self.sample("baton_crmd_resource_active{resource=\"\($0.key)\",node=\"node\($0.value)\",role=\"Started\"}", in: text) == "1" })
                    else { return false }
                }
                return true
            }
            let dcText = try #require(texts[dcNode])
            #expect(Self.sample("baton_crmd_node_info{node=\"node\(dcNode)\",node_id=\"\(dcNode)\"}", in: dcText) == "1")
            #expect(Self.sample("baton_crmd_last_transition_duration_seconds", in: dcText) != nil, "the DC ran transitions: \(dcText)")
            #expect(Self.sample("process_open_fds", in: dcText) != nil)
            #expect(dcText.contains("baton_crmd_build_info{version=\""))
            // The reference linter of the text format.
            let lint = try await run(["/bin/sh", "-c", "\(Self.promtool) check metrics < \"$1\"", "lint", "\(bed.testbed.directory)/metrics-node\(dcNode).txt"])
            #expect(lint.status == 0, "promtool check metrics: \(lint.output)")
            // HEAD: headers only; another method 405.
            let headFile = "\(bed.testbed.directory)/head.txt"
            #expect(try await Self.fetch(bed, node: dcNode, "/metrics", method: "HEAD", into: headFile) == 200)
            #expect((try? String(contentsOfFile: headFile, encoding: .utf8)) == "")
            #expect(try await Self.fetch(bed, node: dcNode, "/metrics", method: "POST", into: headFile) == 405)

            // A figure, not a target: how long a scrape takes here (median of 20, inside the DC's namespace).
            let timing = """
                import http.client, statistics, sys, time
                spans = []
                for _ in range(20):
                    started = time.monotonic()
                    connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
                    connection.request("GET", sys.argv[2]); connection.getresponse().read(); connection.close()
                    spans.append((time.monotonic() - started) * 1000)
                print("median", round(statistics.median(spans), 1), "max", round(max(spans), 1))
                """
            for path in ["/metrics", "/status"] {
                let timed = try await run([Paths.testbed, "-d", bed.testbed.directory, "exec", String(dcNode), Self.python, "-c", timing, String(Self.port), path])
                log("crmd \(path) with \(ids.count) resources: \(timed.output.split(separator: "\n").last ?? "") ms")
            }

            // The limits (batond's): a request over 8 KiB is closed unanswered, a client that
            // sends nothing is closed within the request time, a 9th client at once while 8 are
            // held (counted in baton_crmd_metrics_connections_refused_total).
            let limits = """
                import socket, sys, time
                port = int(sys.argv[1])
                def connect():
                    return socket.create_connection(("127.0.0.1", port), timeout=60)
                def answer(s):
                    try:
                        return s.recv(100)
                    except ConnectionResetError:
                        return b""
                s = connect()
                try:
                    s.sendall(b"GET /metrics HTTP/1.0\\r\\nX-Long: " + b"a" * 9000)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                print("oversize", "closed" if answer(s) == b"" else "answered")
                s = connect(); started = time.monotonic(); data = answer(s)
                print("idle", "closed" if data == b"" else "answered", round(time.monotonic() - started, 1))
                held = [connect() for _ in range(8)]
                ninth = connect(); started = time.monotonic(); data = answer(ninth)
                print("ninth", "closed" if data == b"" else "answered", round(time.monotonic() - started, 1))
                for h in held: h.close()
                """
            var limitOutput = ""
            try await waitUntil("a 9th client refused while 8 are held, on node\(dcNode)") {
                let result = try await run([Paths.testbed, "-d", bed.testbed.directory, "exec", String(dcNode), Self.python, "-c", limits, String(Self.port)])
                limitOutput = result.output
                guard result.status == 0 else { throw TestFailure("the limits' client: \(result.output)") }
                let text = try await Self.metrics(bed, node: dcNode)
                return (Double(Self.sample("baton_crmd_metrics_connections_refused_total", in: text) ?? "0") ?? 0) >= 1
            }
            #expect(limitOutput.contains("oversize closed") && limitOutput.contains("idle closed") && limitOutput.contains("ninth closed"), "\(limitOutput)")
            log("crmd metrics limits: \(limitOutput.split(separator: "\n").joined(separator: "; "))")

            // A failed monitor (d1's state file deleted): its fail count on that node appears.
            let victim = try #require(placed["d1"])
            try FileManager.default.removeItem(atPath: CrmdResourceTests.stateFile(bed, node: victim, "d1"))
            var after = ""
            try await waitUntil("d1's fail count on node\(victim) in node\(dcNode)'s /metrics") {
                guard let text = try? await Self.metrics(bed, node: dcNode) else { return false }
                after = text
                return Self.sample("baton_crmd_resource_failures{resource=\"d1\",node=\"node\(victim)\"}", in: text) == "1"
            }
            // Linted again, now with a fail count among the samples.
            let afterFile = try bed.file("metrics-after-failure.txt", after)
            let relint = try await run(["/bin/sh", "-c", "\(Self.promtool) check metrics < \"$1\"", "lint", afterFile])
            #expect(relint.status == 0, "promtool check metrics: \(relint.output)")
            try await CrmdResourceTests.waitForEachOnce(bed, ids, where: placed)

            // The page in a real headless browser, inside the DC's namespace.
            let url = "http://127.0.0.1:\(Self.port)/status"
            let profile = bed.testbed.directory + "/chromium"
            let browser = [Paths.testbed, "-d", bed.testbed.directory, "exec", String(dcNode), Self.chromium, "--headless", "--no-sandbox",
                           "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)", "--hide-scrollbars", "--window-size=1100,800"]
            var dom = ""
            try await waitUntil("the page shows the nodes, the DC and every resource where it runs") {
                dom = try await run(browser + ["--dump-dom", url], timeLimit: Patience.deadline).output
                return dom.contains("<td>node\(dcNode) <b>(DC)</b></td><td>online</td>")
                    && placed.allSatisfy { dom.contains("<td>\($0.key)</td><td>ocf:pacemaker:Dummy</td><td>Started</td><td>node\($0.value)</td>") }
            }
            #expect((1...3).allSatisfy { dom.contains("<td>node\($0)") }, "\(dom)")
            #expect(dom.contains("<td>d1</td><td>node\(victim)</td><td>1</td>"), "the fail count is not on the page: \(dom)")
            #expect(dom.contains("transition "), "no transition among the recent events: \(dom)")
            let screenshot = bed.testbed.directory + "/crmd-status.png"
            let shot = try await run(browser + ["--screenshot=\(screenshot)", url], timeLimit: Patience.deadline)
            #expect(FileManager.default.fileExists(atPath: screenshot), "\(shot.output)")
            // Size, colours, pixels of the running rows' green.
            let decoded = try await ScreenshotFigures.of(screenshot, python: Self.python)
            let figures = decoded.figures
            #expect(decoded.status == 0 && figures.count == 4, "\(decoded.output)")
            if figures.count == 4 {
                #expect(figures[0] == 1100 && figures[1] == 800, "screenshot size \(figures)")
                #expect(figures[2] > 20, "the screenshot has \(figures[2]) colours: blank")
                #expect(figures[3] > 1000, "\(figures[3]) pixels of the running rows' green: the rows are not drawn")
            }
            log("crmd status page: DOM \(dom.utf8.count) bytes; screenshot \(figures) (width, height, colours, green pixels)")
        }
    }
}
}
