/// Appends exposition text as bytes: no String is built per line, integers are
/// written digit by digit, and label values are escaped only when they need it.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    mutating func append(byte: UInt8) { bytes.append(byte) }

    mutating func append(_ v: UInt64) {
        if v < 10 {
            bytes.append(0x30 + UInt8(v))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var v = v
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[n] = 0x30 + UInt8(v % 10)
                v /= 10
                n += 1
            }
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    mutating func append(_ v: Int64) {
        if v < 0 {
            bytes.append(0x2D)
            append(UInt64(bitPattern: 0 &- v))
        } else {
            append(UInt64(v))
        }
    }

    /// A sample value as PrometheusText.format spells it.
    mutating func append(_ v: SampleValue) {
        switch v {
        case .int(let i): append(i)
        case .uint(let u): append(u)
        case .double(let d):
            if d == d.rounded(), abs(d) < 1e15 { append(Int64(d)) } else { append(PrometheusText.format(v)) }
        }
    }

    /// `a="1",b="2"`: label pairs in their order, comma-separated, without braces.
    mutating func appendLabels(_ pairs: [(String, String)]) {
        for (i, (k, v)) in pairs.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            appendLabel(k, v)
        }
    }

    /// `name="value"` with the value escaped (backslash, double quote, line feed).
    mutating func appendLabel(_ name: String, _ value: String) {
        append(name)
        bytes.append(0x3D)
        bytes.append(0x22)
        var value = value
        value.withUTF8 { v in
            if !v.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) {
                bytes.append(contentsOf: v)
                return
            }
            for c in v {
                switch c {
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                default: bytes.append(c)
                }
            }
        }
        bytes.append(0x22)
    }
}
