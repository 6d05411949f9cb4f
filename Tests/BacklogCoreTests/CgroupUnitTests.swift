import BacklogCore
import Testing

/// /proc/<pid>/cgroup in the layouts hosts have.
@Suite struct CgroupUnitTests {
    @Test func pureV2() {
        #expect(CgroupUnit.parse("0::/system.slice/nginx.service\n").unit == "nginx.service")
        #expect(CgroupUnit.parse("0::/system.slice/php-fpm.service/pool-www\n").unit == "php-fpm.service", "a service's own sub-cgroup")
        #expect(CgroupUnit.parse("0::/user.slice/user-1000.slice/session-3.scope\n").unit == "session-3.scope")
        #expect(CgroupUnit.parse("0::/\n").unit == nil)
    }

    @Test func hybridPrefersTheNamedSystemdHierarchy() {
        let text = "12:pids:/system.slice/redis.service\n1:name=systemd:/system.slice/redis.service\n0::/\n"
        #expect(CgroupUnit.parse(text).unit == "redis.service")
        // Only the v2 hierarchy set (name=systemd at the root): the v2 path.
        #expect(CgroupUnit.parse("1:name=systemd:/\n0::/system.slice/app.service\n").unit == "app.service")
    }

    @Test func containers() {
        let id = String(repeating: "ab12", count: 16)
        let docker = CgroupUnit.parse("0::/system.slice/docker-\(id).scope\n")
        #expect(docker.unit == "docker-\(id).scope" && docker.container == id)
        let cri = CgroupUnit.parse("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-\(id).scope\n")
        #expect(cri.container == id)
        #expect(CgroupUnit.parse("0::/system.slice/nginx.service\n").container == nil)
        #expect(CgroupUnit.parse("garbage\n\n::\n").unit == nil)
    }

    /// Containers found in any component, and the path kept where no unit is named.
    @Test func nestedAndCgroupfsContainers() {
        let id = String(repeating: "cd34", count: 16)
        let nested = CgroupUnit.parseWithPath("0::/machine.slice/libpod-\(id).scope/init.scope\n")
        #expect(nested.unit == "init.scope" && nested.container == id)
        let cgroupfs = CgroupUnit.parseWithPath("1:name=systemd:/kubepods/burstable/pod0f1e/\(id)\n0::/\n")
        #expect(cgroupfs.unit == nil && cgroupfs.container == id && cgroupfs.path == "/kubepods/burstable/pod0f1e/\(id)")
        #expect(CgroupUnit.parseWithPath("0::/\n").path == nil)
        #expect(CgroupUnit.parseWithPath("0::/system.slice/deadbeef\n").container == nil, "short hex is not an id")
    }
}
