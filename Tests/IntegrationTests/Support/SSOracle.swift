import Foundation

/// One LISTEN row as `ss` prints it, normalised to backlogd's labels.
struct SSListener: Hashable, CustomStringConvertible {
    var family: String   // inet, inet6, unix
    var address: String  // numeric, no brackets; `*` (dual-stack) becomes `::`
    var port: UInt16?
    var inode: UInt32
    var recvQ: UInt32
    var sendQ: UInt32

    var description: String { "\(family) \(address):\(port.map(String.init) ?? "-") ino \(inode) \(recvQ)/\(sendQ)" }
}

enum SSOracle {
    /// `ss -ltnHe` (or -ltnHe in a namespace): `LISTEN 5 4 127.0.0.1:80 0.0.0.0:* ino:123 sk:1 …`
    static func parseTCP(_ text: String) -> [SSListener] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[0] == "LISTEN", let rq = UInt32(f[1]), let sq = UInt32(f[2]),
                  let colon = f[3].lastIndex(of: ":"), let port = UInt16(f[3][f[3].index(after: colon)...]),
                  let ino = f.first(where: { $0.hasPrefix("ino:") }).flatMap({ UInt32($0.dropFirst(4)) })
            else { return nil }
            var addr = String(f[3][..<colon])
            var family = "inet"
            if addr == "*" {
                addr = "::"
                family = "inet6"
            } else if addr.hasPrefix("[") {
                addr = String(addr.dropFirst().replacingOccurrences(of: "]", with: ""))
                family = "inet6"
            }
            return SSListener(family: family, address: addr, port: port, inode: ino, recvQ: rq, sendQ: sq)
        }
    }

    /// `ss -xlH`: `u_str LISTEN 4 3 /path 12345 * 0` (paths in tests have no spaces).
    static func parseUnix(_ text: String) -> [SSListener] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[1] == "LISTEN", let rq = UInt32(f[2]), let sq = UInt32(f[3]), let ino = UInt32(f[5])
            else { return nil }
            return SSListener(family: "unix", address: String(f[4]), port: nil, inode: ino, recvQ: rq, sendQ: sq)
        }
    }
}
