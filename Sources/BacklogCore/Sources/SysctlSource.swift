/// The sysctls that bound listen queues, read from /proc/sys (follows the calling thread's netns).
public struct SysctlSource: Sendable {
    public static let names = [
        "net.core.somaxconn",
        "net.ipv4.tcp_max_syn_backlog",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_abort_on_overflow",
        "net.ipv4.tcp_synack_retries",
    ]

    public var root: String
    public var names: [String]

    public init(root: String = "/proc/sys", names: [String] = SysctlSource.names) {
        self.root = root
        self.names = names
    }

    /// Values by name, and the errors of those that could not be read or parsed.
    public func read() -> (values: [String: Int64], errors: [String]) {
        var values: [String: Int64] = [:]
        var errors: [String] = []
        for name in names {
            let path = root + "/" + name.replacingDots()
            do {
                let text = try ProcFile.readString(path).trimmingWhitespace()
                guard let v = Int64(text) else {
                    errors.append("\(path): '\(text.prefix(40))' is not an integer")
                    continue
                }
                values[name] = v
            } catch {
                errors.append("\(error)")
            }
        }
        return (values, errors)
    }
}

extension String {
    fileprivate func replacingDots() -> String {
        String(map { $0 == "." ? "/" : $0 })
    }

    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
