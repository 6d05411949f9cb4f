import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The alert path end to end: three "hosts" (namespaces joined by veth pairs to a
/// monitoring namespace), each with backlogd and a real nginx; a real Prometheus
/// scraping them by file_sd with the shipped config/alerts.yml, and a real
/// Alertmanager notifying a webhook. One host's nginx is stopped under client
/// traffic: the not-accepting alert arrives for that host only, and resolves.
@Suite(.serialized) struct FleetAlertTests {
    /// The shipped rules with every `for:` set to `duration` (README, "Alerts and
    /// dashboard"): the shipped values are for people on call, not for a test.
    static func rules(for duration: String) throws -> String {
        let text = try String(contentsOfFile: "\(AlertRulesTests.configDir)/alerts.yml", encoding: .utf8)
        return text.replacingOccurrences(of: #"(?m)^(\s+)for: \S+$"#, with: "$1for: \(duration)", options: .regularExpression)
    }

    /// `mon` ⟷ `host` over a veth pair: 10.201.i.1 on the monitoring side, 10.201.i.2 on the host.
    static func link(_ mon: NetNamespace, _ host: NetNamespace, _ i: Int) throws {
        try run(["ip", "-n", mon.name, "link", "add", "h\(i)", "type", "veth", "peer", "name", "eth0", "netns", host.name])
        try run(["ip", "-n", mon.name, "addr", "add", "10.201.\(i).1/30", "dev", "h\(i)"])
        try run(["ip", "-n", mon.name, "link", "set", "h\(i)", "up"])
        try run(["ip", "-n", host.name, "addr", "add", "10.201.\(i).2/30", "dev", "eth0"])
        try run(["ip", "-n", host.name, "link", "set", "eth0", "up"])
    }

    @Test func theHungHostAlertsAloneAndResolves() throws {
        let mon = try NetNamespace(tag: "mon")
        defer { mon.remove() }
        var hosts: [NetNamespace] = []
        defer { for h in hosts { h.remove() } }
        var servers: [NginxServer] = []
        var daemons: [BackgroundProcess] = []
        defer {
            for d in daemons { d.stop() }
            for s in servers { s.stop() }
        }
        for i in 1...3 {
            let h = try NetNamespace(tag: "host")
            hosts.append(h)
            try Self.link(mon, h, i)
            servers.append(try NginxServer(in: h, port: 8080, backlog: 511, body: "host\(i)"))
            // Loopback (the harness's) and the address Prometheus scrapes.
            daemons.append(try startDaemon(in: h, ["--listen", "10.201.\(i).2:24519"]))
        }

        let alertmanager = try AlertmanagerServer(in: mon)
        defer { alertmanager.stop() }
        let prometheus = try PrometheusServer(in: mon, arguments: ["--rules.alert.resend-delay=1s"]) { dir in
            try Self.rules(for: "5s").write(toFile: "\(dir)/alerts.yml", atomically: true, encoding: .utf8)
            let targets = (1...3).map { #"{"targets": ["10.201.\#($0).2:24519"], "labels": {"instance": "host\#($0)"}}"# }
            try "[\(targets.joined(separator: ", "))]".write(toFile: "\(dir)/targets.json", atomically: true, encoding: .utf8)
            return """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files: ["\(dir)/alerts.yml"]
                alerting:
                  alertmanagers:
                    - static_configs:
                        - targets: ["127.0.0.1:9093"]
                scrape_configs:
                  - job_name: backlogd
                    file_sd_configs:
                      - files: ["\(dir)/targets.json"]
                        refresh_interval: 1s

                """
        }
        defer { prometheus.stop() }
        try waitUntil("Prometheus to scrape the three hosts", timeout: 90) {
            try prometheus.query("up{job=\"backlogd\"} == 1").count == 3
        }
        // Idle hosts alert on nothing: once Prometheus holds ten scrapes of each host (its rules,
        // evaluated every second, have had longer than their 5 s `for:`), none fires and none
        // was sent. Prometheus' own progress, not this clock: a loaded machine slows it.
        try waitUntil("ten scrapes of each host", timeout: 90) {
            try prometheus.query("count_over_time(up{job=\"backlogd\"}[5m]) >= 10").count == 3
        }
        #expect(try prometheus.query("ALERTS{alertstate=\"firing\"}").isEmpty)
        #expect(alertmanager.received.isEmpty, "\(alertmanager.received)")

        // host2's nginx hangs; its clients keep connecting (and sending their requests).
        let hung = servers[1]
        for pid in hung.processes { kill(pid, SIGSTOP) }
        let bag = SocketBag()
        defer { bag.closeAll() }
        try hosts[1].enter {
            for _ in 0..<6 {
                let fd = try HTTPProbe.connect("127.0.0.1", 8080, bag: bag)
                try HTTPProbe.send(fd, "GET / HTTP/1.1\r\nHost: host2\r\n\r\n")
            }
        }
        // The others keep serving their clients.
        for i in [0, 2] { #expect(try hosts[i].enter { try HTTPProbe.get(8080, "/") }.status == 200) }

        var firing: AlertmanagerServer.Alert?
        try waitUntil("the not-accepting alert to reach the receiver", timeout: 120) {
            firing = alertmanager.received.first { $0.status == "firing" && $0.labels["alertname"] == "BacklogdListenerNotAccepting" }
            return firing != nil
        }
        let a = try #require(firing)
        #expect(a.labels["instance"] == "host2" && a.labels["job"] == "backlogd" && a.labels["netns"] == "host")
        #expect(a.labels["address"] == "127.0.0.1" && a.labels["port"] == "8080" && a.labels["process"] == "nginx")
        #expect(a.labels["severity"] == "critical")
        #expect(a.labels["unit"] == nil, "no systemd as PID 1 here: the unit label is empty, and Prometheus drops it")
        #expect(a.annotations["summary"] == "127.0.0.1:8080 (nginx) is not accepting connections on host2")
        let description = a.annotations["description"] ?? ""
        #expect(description.hasPrefix("The inet listener 127.0.0.1:8080 in netns host on host2 (nginx, pid \(hung.master.pid)) has 6 connections waiting for accept(), the oldest for "), "\(description)")
        #expect(description.contains("(length 6 of 511): the process is hung or has stopped calling accept()"), "\(description)")
        // Alerts for the hung host only.
        let others = alertmanager.received.filter { $0.labels["instance"] != "host2" }
        #expect(others.isEmpty, "\(others.map(\.labels))")

        try DashboardQueries.expectData(from: prometheus, instance: "host2", port: "8080")

        for pid in hung.processes { kill(pid, SIGCONT) }
        try waitUntil("the resolution to reach the receiver", timeout: 120) {
            alertmanager.received.contains { $0.status == "resolved" && $0.labels["alertname"] == "BacklogdListenerNotAccepting" && $0.labels["instance"] == "host2" }
        }
        #expect(alertmanager.received.allSatisfy { $0.labels["instance"] == "host2" }, "\(alertmanager.received.map(\.labels))")
    }
}
