import Foundation
import Testing

/// Listeners of processes in Kubernetes pods' cgroups, made for real in this
/// hybrid host's hierarchies in the layouts the kubelet makes (systemd and cgroupfs
/// drivers, each on cgroup v2 and on v1 — the name=systemd hierarchy, and a
/// controller's alone), and a pods directory written as the kubelet writes it.
@Suite(.serialized) struct KubernetesAttributionTests {
    struct Layout {
        var name: String
        var port: UInt16
        var uid: String
        var container: String
        /// The pod's cgroup directories, outermost first; the container's is the last.
        var cgroups: [String]
    }

    static func layouts() -> [Layout] {
        func uid() -> String { UUID().uuidString.lowercased() }
        func id() -> String { (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined() }
        let (a, b, c, d, e) = (uid(), uid(), uid(), uid(), uid())
        let (ia, ib, ic, id4, ie) = (id(), id(), id(), id(), id())
        let underscored = a.replacingOccurrences(of: "-", with: "_")
        let underscoredE = e.replacingOccurrences(of: "-", with: "_")
        return [
            // systemd driver, cgroup v2 (the unified hierarchy; name=systemd stays at the root).
            Layout(name: "bdpod1", port: 7081, uid: a, container: ia, cgroups: [
                "/sys/fs/cgroup/unified/kubepods.slice", "/sys/fs/cgroup/unified/kubepods.slice/kubepods-burstable.slice",
                "/sys/fs/cgroup/unified/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(underscored).slice",
                "/sys/fs/cgroup/unified/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(underscored).slice/cri-containerd-\(ia).scope",
            ]),
            // cgroupfs driver, cgroup v1, the name=systemd hierarchy.
            Layout(name: "bdpod2", port: 7082, uid: b, container: ib, cgroups: [
                "/sys/fs/cgroup/systemd/kubepods", "/sys/fs/cgroup/systemd/kubepods/besteffort",
                "/sys/fs/cgroup/systemd/kubepods/besteffort/pod\(b)", "/sys/fs/cgroup/systemd/kubepods/besteffort/pod\(b)/\(ib)",
            ]),
            // cgroupfs driver, cgroup v1, a Guaranteed pod in the pids controller's hierarchy only.
            Layout(name: "bdpod3", port: 7083, uid: c, container: ic, cgroups: [
                "/sys/fs/cgroup/pids/kubepods", "/sys/fs/cgroup/pids/kubepods/pod\(c)", "/sys/fs/cgroup/pids/kubepods/pod\(c)/\(ic)",
            ]),
            // cgroupfs driver, cgroup v2.
            Layout(name: "bdpod4", port: 7084, uid: d, container: id4, cgroups: [
                "/sys/fs/cgroup/unified/kubepods", "/sys/fs/cgroup/unified/kubepods/burstable",
                "/sys/fs/cgroup/unified/kubepods/burstable/pod\(d)", "/sys/fs/cgroup/unified/kubepods/burstable/pod\(d)/\(id4)",
            ]),
            // systemd driver, cgroup v1 (the name=systemd hierarchy), a Guaranteed pod.
            Layout(name: "bdpod5", port: 7085, uid: e, container: ie, cgroups: [
                "/sys/fs/cgroup/systemd/kubepods.slice", "/sys/fs/cgroup/systemd/kubepods.slice/kubepods-pod\(underscoredE).slice",
                "/sys/fs/cgroup/systemd/kubepods.slice/kubepods-pod\(underscoredE).slice/cri-containerd-\(ie).scope",
            ]),
        ]
    }

    @Test func podsAreAttributedByNamespaceAndName() throws {
        try withNamespace { ns in
            let dir = temporaryPath("pods")
            let pods = "\(dir)/pods"
            try FileManager.default.createDirectory(atPath: pods, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let layouts = Self.layouts()
            for l in layouts {
                try #require(FileManager.default.fileExists(atPath: URL(fileURLWithPath: l.cgroups[0]).deletingLastPathComponent().path + "/cgroup.procs"),
                             "no cgroup hierarchy at \(l.cgroups[0])")
            }
            var processes: [BackgroundProcess] = []
            var made: [String] = []
            defer {
                for p in processes { p.stop() }
                // Innermost first; a hierarchy's shared parents (kubepods) go once empty.
                for path in made.reversed() { rmdir(path) }
            }
            for l in layouts {
                let p = try OwnershipTests.listenerProcess(l.name, port: l.port, in: ns, dir: dir)
                processes.append(p)
                for path in l.cgroups where !FileManager.default.fileExists(atPath: path) {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                    made.append(path)
                }
                try "\(p.pid)\n".write(toFile: "\(l.cgroups.last!)/cgroup.procs", atomically: false, encoding: .utf8)
            }
            // Forged: the kubelet's layout made below another slice (as systemd delegation lets a user
            // do under user@UID.service), with a pods directory entry for its UID: no pod.
            let forgedUID = UUID().uuidString.lowercased()
            let forgedRoot = "/sys/fs/cgroup/unified/bd-user-\(getpid())-\(nextUniqueNumber()).slice"
            let forgedCgroups = [forgedRoot, "\(forgedRoot)/kubepods", "\(forgedRoot)/kubepods/burstable",
                                 "\(forgedRoot)/kubepods/burstable/pod\(forgedUID)", "\(forgedRoot)/kubepods/burstable/pod\(forgedUID)/app"]
            let forger = try OwnershipTests.listenerProcess("bdforge", port: 7086, in: ns, dir: dir)
            processes.append(forger)
            for path in forgedCgroups {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                made.append(path)
            }
            try "\(forger.pid)\n".write(toFile: "\(forgedCgroups.last!)/cgroup.procs", atomically: false, encoding: .utf8)
            // The kubelet's log directories: <namespace>_<name>_<uid>; the third pod's comes later.
            try FileManager.default.createDirectory(atPath: "\(pods)/shop_web-0_\(layouts[0].uid)", withIntermediateDirectories: false)
            try FileManager.default.createDirectory(atPath: "\(pods)/kube-system_coredns-5d78c9869d-x7x2k_\(layouts[1].uid)", withIntermediateDirectories: false)
            // Not a pod directory: ignored.
            try FileManager.default.createDirectory(atPath: "\(pods)/no_uid_here", withIntermediateDirectories: false)
            try FileManager.default.createDirectory(atPath: "\(pods)/kube-system_coredns-forged_\(forgedUID)", withIntermediateDirectories: false)
            // Two entries claim the fourth pod's UID: it gets no name rather than a guess.
            for entry in ["kube-system_etcd-0_\(layouts[3].uid)", "team-b_app-0_\(layouts[3].uid)"] {
                try FileManager.default.createDirectory(atPath: "\(pods)/\(entry)", withIntermediateDirectories: false)
            }

            let args = StuckConnectionScenarioTests.fastDaemon + ["--kubernetes.pods-dir", pods]
            let daemon = try startDaemon(in: ns, args)
            defer { daemon.stop() }
            func info(_ l: Layout, namespace: String, name: String) throws -> Bool {
                MetricsText.value(try scrape(ns).text, "backlogd_listener_info", [
                    "port": "\(l.port)", "process": l.name, "container": l.container,
                    "k8s_namespace_name": namespace, "k8s_pod_name": name, "k8s_pod_uid": l.uid,
                ]) == 1
            }
            do {
                try waitUntil("the pods' listeners to be attributed") {
                    try info(layouts[0], namespace: "shop", name: "web-0")
                        && info(layouts[1], namespace: "kube-system", name: "coredns-5d78c9869d-x7x2k")
                        && info(layouts[2], namespace: "", name: "")
                        && info(layouts[3], namespace: "", name: "") && info(layouts[4], namespace: "", name: "")
                        && MetricsText.value(try scrape(ns).text, "backlogd_listener_info", [
                            "port": "7086", "process": "bdforge", "k8s_namespace_name": "", "k8s_pod_name": "", "k8s_pod_uid": "",
                        ]) == 1
                        // The daemon's own listener, bound after its first tick (owners now come with the deep tick
                        // that found them, so the pods' can be named before a fast tick has seen it).
                        && MetricsText.value(try scrape(ns).text, "backlogd_listener_info", ["port": "24519"]) == 1
                }
            } catch {
                let lines = try scrape(ns).text.split(separator: "\n").filter { $0.hasPrefix("backlogd_listener_info{") }
                Issue.record("\(error); the info series: \(lines.joined(separator: "\n"))")
                throw error
            }
            // The unit is the container's scope where the systemd driver names one.
            let text = try scrape(ns).text
            #expect(MetricsText.value(text, "backlogd_kubernetes_pod_uid_conflicts", [:]) == 1, "the fourth pod's UID, claimed twice")
            #expect(text.contains("port=\"7081\",socket=\"0\",process=\"bdpod1\",unit=\"cri-containerd-\(layouts[0].container).scope\""))
            // Not in a pod: the labels are there, empty.
            #expect(MetricsText.value(text, "backlogd_listener_info", ["port": "24519", "container": "", "k8s_pod_uid": "", "k8s_namespace_name": ""]) == 1)

            // The kubelet makes the third pod's directory later: looked up again (at most every 10 s).
            try FileManager.default.createDirectory(atPath: "\(pods)/payments_api-7f9c_\(layouts[2].uid)", withIntermediateDirectories: false)
            try waitUntil("the third pod to be named", timeout: 60) { try info(layouts[2], namespace: "payments", name: "api-7f9c") }

            let doc = try OnceDocument.decode(try scrape(ns, "/snapshot").text)
            #expect(doc.listener(port: 7081)?.owner?.pod == .init(uid: layouts[0].uid, namespace: "shop", name: "web-0"))
            #expect(doc.listener(port: 7082)?.owner?.container == layouts[1].container)
            // --once, which reads the pods directory once.
            let once = try ns.exec([backlogdPath(), "--once", "--window", "0", "--kubernetes.pods-dir", pods]).stdout
            #expect(once.contains("bdpod2[\(processes[1].pid)] pod kube-system/coredns-5d78c9869d-x7x2k"), "\(once)")
        }
    }
}
