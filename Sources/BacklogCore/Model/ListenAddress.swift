/// One address the HTTP endpoint binds: `127.0.0.1:24519`, `[::1]:24519`, or
/// `:24519` for every address (IPv6 dual-stack `::`, or `0.0.0.0` on hosts without IPv6).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// Numeric host without brackets; empty for "every address".
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
            guard hostPart.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            // An IPv6 address needs brackets, or its last group reads as the port.
            guard !hostPart.contains(":") else { return nil }
        }
        guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portPart), port <= 65535,
              hostPart.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "." || $0 == ":" || $0 == "%" || $0.isLetter) })
        else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String {
        host.isEmpty ? ":\(port)" : host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
