import Foundation

/// A real Alertmanager (Debian prometheus-alertmanager) on 127.0.0.1:9093 in a test
/// namespace, grouping with 1 s waits and sending every notification, firing and
/// resolved, to a webhook receiver on 127.0.0.1:9095 that appends each body to a file.
final class AlertmanagerServer: @unchecked Sendable {
    let dir: String
    private var processes: [BackgroundProcess] = []

    init(in ns: NetNamespace) throws {
        dir = temporaryPath("alertmanager")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            route:
              receiver: hook
              group_by: [alertname, instance, netns, address, port]
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: hook
                webhook_configs:
                  - url: http://127.0.0.1:9095/
                    send_resolved: true
            """.write(toFile: "\(dir)/alertmanager.yml", atomically: true, encoding: .utf8)
        do {
            processes.append(try BackgroundProcess(["python3", "-c", """
                import http.server, sys
                class Hook(http.server.BaseHTTPRequestHandler):
                    def do_POST(self):
                        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                        with open(sys.argv[1], "ab") as f:
                            f.write(body.replace(b"\\n", b" ") + b"\\n")
                        self.send_response(200)
                        self.end_headers()
                    def log_message(self, *args):
                        pass
                http.server.HTTPServer(("127.0.0.1", 9095), Hook).serve_forever()
                """, "\(dir)/received"], in: ns))
            processes.append(try BackgroundProcess([
                "prometheus-alertmanager", "--config.file=\(dir)/alertmanager.yml", "--storage.path=\(dir)/data",
                "--web.listen-address=127.0.0.1:9093", "--cluster.listen-address=",
            ], in: ns))
            try waitUntil("Alertmanager to be ready", timeout: 60) {
                for p in processes { if let s = p.poll() { throw DaemonExited(status: s, log: p.log) } }
                return (try? ns.enter { try HTTPProbe.get(9093, "/-/ready").status }) == 200
            }
        } catch {
            stop()
            throw error
        }
    }

    /// One alert of a notification the receiver got.
    struct Alert {
        var status: String
        var labels: [String: String]
        var annotations: [String: String]
    }

    /// Every alert of every notification so far, in order.
    var received: [Alert] {
        let text = (try? String(contentsOfFile: "\(dir)/received", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").flatMap { line -> [Alert] in
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let alerts = json["alerts"] as? [[String: Any]] else { return [] }
            return alerts.map {
                Alert(status: $0["status"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:],
                      annotations: $0["annotations"] as? [String: String] ?? [:])
            }
        }
    }

    func stop() {
        for p in processes { p.stop() }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
