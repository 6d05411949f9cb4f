/// The process behind a listening socket, or why it is not known.
public struct Owner: Sendable, Hashable, Codable {
    public var pid: Int32
    /// /proc/<pid>/comm: untrusted text, escaped wherever it is printed.
    public var comm: String
    /// /proc/<pid>/cmdline, arguments joined by spaces; for JSON and --once only.
    public var cmdline: String
    /// The systemd unit of the process's cgroup (`nginx.service`, `docker-<id>.scope`), if any.
    public var unit: String?
    /// A container id when the unit names one (`docker-<id>.scope`, `cri-containerd-<id>.scope`, …).
    public var container: String?
    /// The cgroup path the unit was taken from (untrusted text, like comm); for JSON and --once.
    public var cgroup: String?
    /// The Kubernetes pod of that cgroup (its UID; namespace and name where the node's pods directory tells them).
    public var pod: KubernetesPod?
    /// Processes holding the socket: this one first, then its descendants that hold it
    /// (nginx's workers), whose descriptors are counted for fd_limit_reached.
    public var holders: [Int32] = []

    public init(pid: Int32, comm: String, cmdline: String, unit: String?, container: String?, cgroup: String? = nil,
                pod: KubernetesPod? = nil) {
        self.pid = pid
        self.comm = comm
        self.cmdline = cmdline
        self.unit = unit
        self.container = container
        self.cgroup = cgroup
        self.pod = pod
    }
}

/// Why a listener has no owner.
public enum Unattributed: String, Sendable, Hashable, Codable, CaseIterable {
    /// Some processes' fds could not be read (another user's, without CAP_DAC_READ_SEARCH/CAP_SYS_PTRACE).
    case noPermission = "no_permission"
    /// Every process was read and none holds the socket (it is going away, or held only in flight).
    case notFound = "not_found"
    /// The scan ran out of its time budget before it got there.
    case scanIncomplete = "scan_incomplete"
}
