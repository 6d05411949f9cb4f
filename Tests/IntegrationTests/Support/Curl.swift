import Foundation

/// curl inside a test namespace, against the daemon's https://127.0.0.1:24519.
/// `status`: the HTTP status, or 0 when no response came (curl's exit code in `exit`).
struct Curl {
    var status: Int
    var exit: Int32
    var stderr: String

    static func get(_ ns: NetNamespace, _ path: String = "/healthz", _ args: [String] = [], scheme: String = "https") throws -> Curl {
        let r = try ns.exec(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"] + args
                            + ["\(scheme)://127.0.0.1:24519\(path)"], check: false)
        return Curl(status: Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, exit: r.status, stderr: r.stderr)
    }

    /// The body of a 200 (the metrics text), or an error.
    static func text(_ ns: NetNamespace, _ path: String = "/metrics", _ args: [String]) throws -> String {
        try ns.exec(["curl", "-sS", "--fail", "--max-time", "20"] + args + ["https://127.0.0.1:24519\(path)"]).stdout
    }
}
