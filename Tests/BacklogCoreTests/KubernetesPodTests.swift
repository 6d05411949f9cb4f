import BacklogCore
import Foundation
import Testing

/// Pod UIDs in /proc/<pid>/cgroup as the kubelet's two cgroup drivers lay them
/// out, and pod names from a pods directory as the kubelet writes it.
@Suite struct KubernetesPodTests {
    let uid = "1b2c3d4e-aaaa-bbbb-cccc-1234567890ab"
    let id = String(repeating: "ab12", count: 16)

    @Test func systemdDriver() {
        let u = uid.replacingOccurrences(of: "-", with: "_")
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(u).slice/cri-containerd-\(id).scope\n") == uid)
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(u).slice/crio-\(id).scope\n") == uid)
        // Guaranteed: no QoS slice.
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods.slice/kubepods-pod\(u).slice/cri-containerd-\(id).scope\n") == uid)
        // A static pod's UID is its manifest's hash.
        let hash = "d41d8cd98f00b204e9800998ecf8427e"
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(hash).slice/x.scope\n") == hash)
    }

    @Test func cgroupfsDriverOnV1AndV2() {
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods/burstable/pod\(uid)/\(id)\n") == uid)
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods/pod\(uid)/\(id)\n") == uid, "Guaranteed")
        // v1: every controller has the path; name=systemd may be at the root (no systemd as PID 1).
        let v1 = "12:pids:/kubepods/besteffort/pod\(uid)/\(id)\n11:memory:/kubepods/besteffort/pod\(uid)/\(id)\n1:name=systemd:/\n0::/\n"
        #expect(KubernetesPod.uid(inCgroup: v1) == uid)
    }

    /// backlogd in a pod of its own with a private cgroup namespace (containerd on cgroup v2):
    /// other pods' cgroups are written relative to its root.
    @Test func seenFromInsideACgroupNamespace() {
        let u = uid.replacingOccurrences(of: "-", with: "_")
        #expect(KubernetesPod.uid(inCgroup: "0::/../../kubepods-besteffort-pod\(u).slice/cri-containerd-\(id).scope\n") == uid)
        #expect(KubernetesPod.uid(inCgroup: "0::/../pod\(uid)/\(id)\n") == uid)
        #expect(KubernetesPod.uid(inCgroup: "0::/../../../system.slice/containerd.service\n") == nil)
        #expect(KubernetesPod.uid(inCgroup: "0::/../../../kubepods-burstable.slice/kubepods-burstable-pod\(u).slice/x.scope\n") == uid,
                "a QoS level directly under the namespace root")
        #expect(KubernetesPod.uid(inCgroup: "0::/../../user.slice/user-1000.slice/kubepods/pod\(uid)/x\n") == nil, "below a user's slice")
        #expect(CgroupUnit.parseWithPath("0::/../../kubepods-besteffort-pod\(u).slice/cri-containerd-\(id).scope\n").container == id)
    }

    @Test func notAPod() {
        #expect(KubernetesPod.uid(inCgroup: "0::/system.slice/nginx.service\n") == nil)
        #expect(KubernetesPod.uid(inCgroup: "0::/system.slice/docker-\(id).scope\n") == nil)
        #expect(KubernetesPod.uid(inCgroup: "0::/pod\(uid)/x\n") == nil, "pod<uid> outside kubepods")
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods/burstable/podnot-a-uid/x\n") == nil)
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods/burstable/pod\(uid.uppercased())/x\n") == nil, "UIDs are lower case")
        #expect(KubernetesPod.uid(inCgroup: "0::/kubepods.slice/kubepods-burstable.slice\n") == nil)
        #expect(KubernetesPod.uid(inCgroup: "garbage\n::\n0::\n") == nil)
    }

    /// Paths only the kubelet should make, made below a user's or a service's own cgroup
    /// (systemd delegation lets an unprivileged user do it): no pod, not a forged one.
    @Test func podsOnlyWhereTheKubeletPutsThem() {
        let u = uid.replacingOccurrences(of: "-", with: "_")
        for forged in [
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/kubepods/pod\(uid)/x",
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/kubepods/burstable/pod\(uid)/x",
            "0::/user.slice/user-1000.slice/user@1000.service/kubepods.slice/kubepods-pod\(u).slice/x.scope",
            "0::/system.slice/node.scope/kubepods/burstable/pod\(uid)/\(id)",
            "0::/kubepods/burstable/extra/pod\(uid)/x",
            "0::/kubepods.slice/app.slice/kubepods-burstable-pod\(u).slice/x.scope",
        ] {
            #expect(KubernetesPod.uid(inCgroup: forged + "\n") == nil, "\(forged)")
        }
    }

    @Test func podNamesFromThePodsDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-pods-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let other = "0f0e0d0c-1111-2222-3333-444455556666"
        for entry in ["shop_web-0_\(uid)", "kube-system_coredns-5d78c9869d-x7x2k_\(other)", "no-uid_here",
                      "Bad_Name_aaaaaaaa-1111-2222-3333-444455556666", "_x_bbbbbbbb-1111-2222-3333-444455556666"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(entry)", withIntermediateDirectories: false)
        }
        let pods = PodDirectory(path: dir)
        #expect(pods.lookup(uid, now: 0).map { "\($0.namespace)/\($0.name)" } == "shop/web-0")
        #expect(pods.lookup(other, now: 0).map { "\($0.namespace)/\($0.name)" } == "kube-system/coredns-5d78c9869d-x7x2k")
        #expect(pods.lookup("aaaaaaaa-1111-2222-3333-444455556666", now: 0) == nil, "upper case is not a DNS name")
        #expect(pods.lookup("bbbbbbbb-1111-2222-3333-444455556666", now: 0) == nil, "empty namespace")
        // A pod that appears later is found once relistAfter has passed, not before.
        let later = "cccccccc-1111-2222-3333-444455556666"
        try FileManager.default.createDirectory(atPath: "\(dir)/payments_api_\(later)", withIntermediateDirectories: false)
        #expect(pods.lookup(later, now: 1) == nil)
        #expect(pods.lookup(later, now: 11)?.name == "api")
        // A UID two entries claim names no pod (whichever readdir gave last used to win).
        let twice = "dddddddd-1111-2222-3333-444455556666"
        for entry in ["kube-system_coredns-x_\(twice)", "team-b_app_\(twice)"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(entry)", withIntermediateDirectories: false)
        }
        #expect(pods.lookup(twice, now: 30) == nil && pods.claimedTwice == [twice])
        #expect(pods.lookup(uid, now: 30)?.name == "web-0", "the others are still named")
        // A missing directory: nothing, no crash.
        #expect(PodDirectory(path: dir + "/absent").lookup(uid, now: 0) == nil)
    }
}
