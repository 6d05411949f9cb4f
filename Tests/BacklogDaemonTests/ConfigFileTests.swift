import BacklogCore
import BacklogDaemon
import Foundation
import Testing

/// The YAML config: every key, the defaults, and errors that name key and line.
@Suite struct ConfigFileTests {
    @Test func emptyFileAndCommentsGiveDefaults() throws {
        #expect(try ConfigFile.parse("") == DaemonConfig())
        #expect(try ConfigFile.parse("# nothing here\n") == DaemonConfig())
    }

    @Test func exampleFileIsValidAndShowsTheDefaults() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../config/config.yaml").standardized
        let config = try ConfigLoader.load(path: url.path)
        #expect(config == DaemonConfig(), "config/config.yaml should show the built-in defaults")
    }

    @Test func everyKey() throws {
        let c = try ConfigFile.parse("""
            listen: ["127.0.0.1:9999", "[::1]:9999", ":8080"]
            interval: 500ms
            peak_window: 1m
            ports:
              include: [80, "8000-8099"]
              exclude: 8081
            http:
              max_connections: 300
              idle_timeout: 2.5s
              read_timeout: 3
              max_header_bytes: 4096
            log_level: debug
            addresses:
              include: ["127.*"]
              exclude: ["127.0.0.2"]
            processes:
              include: [nginx, "php-fpm*"]
              exclude: [sshd]
            units:
              include: ["*.service"]
              exclude: "ssh.service"
            max_listeners: 500
            namespaces:
              all: true
              include: ["ns:*", "prod-*"]
              exclude: [host]
            fast:
              cpu_budget: 0.05
            deep:
              min_interval: 3s
              cpu_budget: 0.02
            thresholds:
              near_full_ratio: 0.5
              not_accepting_after: 4s
              hung_after: 12s
              stalled_after: 20s
              close_wait_min: 11
              close_wait_after: 45s
              half_open_min: 12
              deferred_min: 13
            probe:
              recover_after: 5s
            agent:
              listen: ["127.0.0.1:24520", "[::1]:24520"]
              max_connections: 64
            web:
              config_file: /etc/backlogd/web.yml
            kubernetes:
              pods_dir: /srv/kubelet/pods
            """)
        // Every key of the table was set to something other than its default…
        let unchanged = SettingsTable.all.filter { $0.value(in: c) == $0.defaultText }.map(\.key)
        #expect(unchanged.isEmpty, "keys left at their default: \(unchanged)")
        // …and went to the field it names (a table that swapped two keys fails here).
        #expect(c.collection.fastCPUBudget == 0.05 && c.collection.deepMinInterval == 3 && c.collection.deepCPUBudget == 0.02)
        let t = c.collection.collector.thresholds
        #expect(t.nearFullRatio == 0.5 && t.notAcceptingAfter == 4 && t.stalledAfter == 20)
        #expect(t.hungAfter == 12 && t.recoverAfter == 5)
        #expect(t.closeWaitMin == 11 && t.closeWaitAfter == 45 && t.halfOpenMin == 12 && t.deferredMin == 13)
        #expect(c.collection.namespaces == NamespaceSettings(all: true, filter: PatternFilter(include: ["ns:*", "prod-*"], exclude: ["host"])))
        #expect(c.collection.collector.selection.addresses.exclude == ["127.0.0.2"] && c.collection.collector.selection.processes.include == ["nginx", "php-fpm*"])
        #expect(c.collection.collector.selection.units.exclude == ["ssh.service"] && c.collection.collector.selection.maxListeners == 500)
        #expect(c.listen == [ListenAddress(host: "127.0.0.1", port: 9999), ListenAddress(host: "::1", port: 9999), ListenAddress(host: "", port: 8080)])
        #expect(c.collection.collector.selection.addresses.include == ["127.*"] && c.collection.collector.selection.processes.exclude == ["sshd"] && c.collection.collector.selection.units.include == ["*.service"])
        #expect(c.collection.interval == 0.5 && c.collection.peakWindow == 60)
        #expect(c.collection.collector.ports == PortFilter(include: [80...80, 8000...8099], exclude: [8081...8081]))
        #expect(c.http.maxConnections == 300 && c.http.idleTimeout == 2.5 && c.http.readTimeout == 3 && c.http.maxHeaderBytes == 4096)
        #expect(c.logLevel == .debug)
        #expect(c.agent.listen == [ListenAddress(host: "127.0.0.1", port: 24520), ListenAddress(host: "::1", port: 24520)])
        #expect(c.agent.limits.maxConnections == 64)
        #expect(c.webConfigFile == "/etc/backlogd/web.yml")
        #expect(c.collection.collector.podsDir == "/srv/kubelet/pods")
        #expect(c.collection.collector.ports.admits(8000) && !c.collection.collector.ports.admits(8081) && !c.collection.collector.ports.admits(22) && c.collection.collector.ports.admits(nil))
    }

    @Test(arguments: [
        ("interval: 1s\nlisten: [\"127.0.0.1:1\"]\nbogus: 1\n", 3, "bogus: unknown key"),
        ("http:\n  max_conections: 5\n", 2, "http.max_conections: unknown key"),
        ("interval: 5x\n", 1, "interval: '5x' is not a duration"),
        ("interval: 0x10\n", 1, "interval: '0x10' is not a duration"),
        ("interval: 2h\n", 1, "interval: 2h is out of range"),
        ("\n\nports:\n  include: [80, 70000]\n", 4, "ports.include: '70000' is not a port"),
        ("ports:\n  exclude: [\"90-80\"]\n", 2, "ports.exclude: '90-80' is not a port"),
        ("listen: [\"::1:80\"]\n", 1, "listen: '::1:80' is not HOST:PORT"),
        ("listen: []\n", 1, "listen: at least one address is needed"),
        ("log_level: loud\n", 1, "log_level: 'loud' is not one of"),
        ("kubernetes:\n  pods_dir: var/log/pods\n", 2, "kubernetes.pods_dir: 'var/log/pods' is not an absolute path"),
        ("http:\n  max_connections: -1\n", 2, "http.max_connections: '-1' is not a whole number"),
        ("http:\n  max_header_bytes: 10\n", 2, "http.max_header_bytes: 10 is out of range"),
        ("interval: 1s\ninterval: 2s\n", 1, "interval: duplicate key"),
        ("http:\n  read_timeout: 1s\n  read_timeout: 1s\n", 2, "read_timeout: duplicate key"),
        ("interval: 2s\npeak_window: 1s\n", 2, "peak_window: 1s is shorter than interval 2s"),
        ("thresholds:\n  not_accepting_after: 5s\n  hung_after: 3s\n", 3,
         "thresholds.hung_after: 3s is shorter than thresholds.not_accepting_after 5s"),
        ("ports: 80\n", 1, "ports: expected a mapping"),
        ("listen: [127.0.0.1:1\n", 2, "not valid YAML"),
        ("- a\n- b\n", 1, "expected a mapping"),
        ("namespaces:\n  all: yes\n", 2, "namespaces.all: 'yes' is not true or false"),
        ("namespaces:\n  every: true\n", 2, "namespaces.every: unknown key"),
        ("agent:\n  listen: [\"24520\"]\n", 2, "agent.listen: '24520' is not HOST:PORT"),
        ("agent:\n  max_connections: 0\n", 2, "agent.max_connections: 0 is out of range"),
        ("listen: [\"127.0.0.1:24519\"]\nagent:\n  listen: [\":24519\"]\n", 3, "agent.listen: :24519 takes the port of the HTTP endpoint's 127.0.0.1:24519"),
        ("agent:\n  listen: [\"127.0.0.1:1\", \"127.0.0.1:1\"]\n", 2, "agent.listen: an address is listed twice"),
    ] as [(String, Int, String)])
    func errorsNameKeyAndLine(text: String, line: Int, message: String) {
        do {
            let c = try ConfigFile.parse(text)
            Issue.record("accepted: \(c)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func fileErrorsNameTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bd-config-\(UUID().uuidString).yaml").path
        defer { unlink(path) }
        try "http:\n  idle_timeout: never\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: path) }
        do { _ = try ConfigLoader.load(path: path) } catch {
            #expect(error.description == "\(path):2: http.idle_timeout: 'never' is not a duration (e.g. 250ms, 15s, 1m)")
        }
        // A named file must exist; the default one may be missing.
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: path + ".missing") }
    }

    @Test func textForms() {
        #expect(DurationText.seconds("250ms") == 0.25 && DurationText.seconds("1.5s") == 1.5 && DurationText.seconds("2m") == 120)
        #expect(DurationText.seconds("3") == 3 && DurationText.seconds("1.2.3s") == nil && DurationText.seconds("") == nil && DurationText.seconds("-1s") == nil)
        #expect(ListenAddress("[::]:1")?.host == "::" && ListenAddress("0.0.0.0:65535")?.port == 65535)
        #expect(ListenAddress("1.2.3.4:65536") == nil && ListenAddress("1.2.3.4") == nil && ListenAddress("[::1]80") == nil)
        #expect(PortRangeText.parse("22") == 22...22 && PortRangeText.parse("1-2") == 1...2 && PortRangeText.parse("1-") == nil)
    }

    /// Found by the config fuzzer: nested complex keys made Yams' duplicate-key check
    /// run for minutes (the -x2 file: > 100 s). Refused before Yams sees them: the guard's
    /// own message proves it (Yams would fail later, with another). No time limit: on a
    /// loaded 2-core CI machine a queued test's clock runs before it gets a thread.
    @Test func complexKeysAreRefusedBeforeYams() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../fuzz/corpus/config").standardized
        for name in ["config-yams-nested-complex-keys.yaml", "config-yams-nested-complex-keys-x2.yaml"] {
            let text = try String(contentsOf: corpus.appendingPathComponent(name), encoding: .utf8)
            #expect(throws: ConfigError.self, "\(name)") { try ConfigFile.parse(text) }
            do { _ = try ConfigFile.parse(text) } catch {
                #expect(error.message.contains("complex keys"), "\(error)")
            }
        }
        #expect(throws: ConfigError.self) { try ConfigFile.parse("? interval\n: 1s\n") }
        #expect(throws: ConfigError.self) { try ConfigFile.parse("processes:\n  include: [[[[[[[[[x]]]]]]]]]\n") }
        // `?` in patterns, quoted, after a comment mark or inside a word, is no key indicator.
        let c = try ConfigFile.parse("""
            # a comment ? with a question
            processes:
              include: ["web? x", 'a ? b', web?]
              exclude:
                - db?
                - "\\" ? "
            """)
        #expect(c.collection.collector.selection.processes.include == ["web? x", "a ? b", "web?"])
        #expect(c.collection.collector.selection.processes.exclude == ["db?", "\" ? "])
    }
}
