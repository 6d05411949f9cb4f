#!/usr/bin/env bash
# Seeds for the cgroup harness: real /proc/<pid>/cgroup files. As root, on a host
# with the name=systemd hierarchy and/or cgroup v2 mounted: moves a `sleep` into
# cgroups named as systemd, docker, podman and kubelet name them, copies the
# kernel's /proc/<pid>/cgroup for each, and removes what it made.
#   fuzz/seeds/capture-cgroup.sh OUTDIR
set -euo pipefail
out=$1
mkdir -p "$out"
roots=()
for r in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [ -e "$r/cgroup.procs" ] && roots+=("$r")
done
[ ${#roots[@]} -gt 0 ] || { echo "no writable cgroup hierarchy" >&2; exit 1; }
id=4f1c2b8e9d0a7f3e6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a
paths=(
    system.slice/bdseed-nginx.service
    system.slice/bdseed-nginx.service/worker
    user.slice/user-1000.slice/session-7.scope
    user.slice/user-1000.slice/user@1000.service/app.slice/bdseed-app.service
    system.slice/docker-$id.scope
    machine.slice/libpod-$id.scope/init.scope
    system.slice/cri-containerd-$id.scope
    kubepods/burstable/pod1b2c3d4e-aaaa-bbbb-cccc-1234567890ab/$id
    docker/$id
    bdseed-plain
)
sleep 60 &
pid=$!
made=()
cleanup() {
    kill "$pid" 2>/dev/null || true
    for ((i=${#made[@]}-1; i>=0; i--)); do rmdir "${made[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
n=0
cat "/proc/$pid/cgroup" > "$out/root.txt"
for p in "${paths[@]}"; do
    for r in "${roots[@]}"; do
        d=$r
        for part in ${p//\// }; do
            d=$d/$part
            [ -d "$d" ] || { mkdir "$d"; made+=("$d"); }
        done
        echo "$pid" > "$d/cgroup.procs"
    done
    n=$((n + 1))
    name=$(printf '%02d-%s' "$n" "$(echo "$p" | sed 's#/#_#g; s#'"$id"'#ID#g')")
    cat "/proc/$pid/cgroup" > "$out/$name.txt"
done
# Back to the root before the directories go.
for r in "${roots[@]}"; do echo "$pid" > "$r/cgroup.procs"; done
cat /proc/self/cgroup > "$out/self.txt"
