import BacklogCore

/// The query of `GET /probe`: `port=P[&address=A][&netns=N]`, or `path=/run/x.sock`
/// for a UNIX listener. Values are percent-decoded (`%25` for the `%` of
/// `fe80::1%25eth0`); an unknown or repeated key, or a control character in a
/// value, is an error, so a typo is not silently a probe of something else.
enum ProbeQuery {
    struct Bad: Error, Equatable {
        var message: String
    }

    static func parse(_ query: Substring) throws(Bad) -> ProbeTarget {
        var values: [String: String] = [:]
        for item in query.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pair[0])
            guard ["port", "address", "netns", "path"].contains(key) else {
                throw Bad(message: "unknown parameter '\(PrintableText.quoted(key, limit: 40))'; use port, address, netns or path")
            }
            guard values[key] == nil else { throw Bad(message: "\(key) is given twice") }
            guard pair.count == 2, let value = percentDecoded(pair[1]) else {
                throw Bad(message: "\(key) has no value or bad percent-encoding")
            }
            // A NUL would end the value for the C calls behind it (`127.0.0.1%00junk`).
            if let c = value.unicodeScalars.first(where: PrintableText.needsEscape) {
                let hex = String(c.value, radix: 16, uppercase: true)
                throw Bad(message: "\(key) holds a control character (U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))")
            }
            values[key] = value
        }
        let netns = values["netns"] ?? WatchedNamespace.hostLabel
        guard !netns.isEmpty else { throw Bad(message: "netns is empty") }
        if let path = values["path"] {
            guard values["port"] == nil, values["address"] == nil else { throw Bad(message: "path names a UNIX listener: no port or address with it") }
            guard !path.isEmpty else { throw Bad(message: "path is empty") }
            return ProbeTarget(netns: netns, socket: .unix(path: path))
        }
        guard let portText = values["port"] else { throw Bad(message: "port is missing: /probe?port=P[&address=A][&netns=N]") }
        guard let port = Self.port(portText) else { throw Bad(message: "port '\(PrintableText.quoted(portText, limit: 40))' is not 1–65535") }
        var address: String?
        if var a = values["address"] {
            if a.hasPrefix("["), a.hasSuffix("]") { a = String(a.dropFirst().dropLast()) }
            guard let n = ProbeTarget.numericAddress(a) else {
                throw Bad(message: "address '\(PrintableText.quoted(a, limit: 60))' is not a numeric IPv4 or IPv6 address")
            }
            address = n
        }
        return ProbeTarget(netns: netns, socket: .tcp(address: address, port: port))
    }

    static func port(_ s: some StringProtocol) -> UInt16? {
        guard !s.isEmpty, s.utf8.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(s), p > 0 else { return nil }
        return p
    }

    /// RFC 3986 percent-decoding (`+` stays `+`); nil for a bad escape or invalid UTF-8.
    static func percentDecoded(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = s.utf8.makeIterator()
        while let b = it.next() {
            guard b == UInt8(ascii: "%") else {
                bytes.append(b)
                continue
            }
            guard let h = it.next().flatMap(hex), let l = it.next().flatMap(hex) else { return nil }
            bytes.append(h << 4 | l)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
