import BacklogCore

extension NetNamespace {
    /// One `--once` collection of this namespace, in this process, as `backlogd --once`
    /// does it (labelled `host`, as backlogd labels its own namespace).
    func collect(window: Double = 0, netstat: NetstatSource = NetstatSource(),
                 sysctl: SysctlSource = SysctlSource()) throws -> Publication {
        let path = "/run/netns/\(name)"
        let ns = WatchedNamespace(label: WatchedNamespace.hostLabel, inode: NetnsInode.of(path: path) ?? 0, path: path)
        return try BlockingWait.run {
            await OnceCollection.collect([ns], window: window, settings: CollectorSettings(), netstat: netstat, sysctl: sysctl)
        }
    }
}
