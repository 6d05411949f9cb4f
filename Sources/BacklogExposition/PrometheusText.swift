/// A hand-written writer for the Prometheus text exposition format 0.0.4.
public enum MetricType: String, Sendable {
    case counter
    case gauge
    case untyped
}

public enum SampleValue: Sendable, Hashable {
    case int(Int64)
    case uint(UInt64)
    case double(Double)
}

public struct Sample: Sendable {
    /// Label pairs in the order they are written; callers keep a fixed order.
    public var labels: [(String, String)]
    public var value: SampleValue

    public init(_ labels: [(String, String)] = [], _ value: SampleValue) {
        self.labels = labels
        self.value = value
    }
}

public struct MetricFamily: Sendable {
    public var name: String
    public var help: String
    public var type: MetricType
    public var samples: [Sample]

    public init(_ name: String, _ type: MetricType, help: String, samples: [Sample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }
}

public enum PrometheusText {
    /// Families sorted by name; HELP and TYPE for each; a family that appears
    /// twice is merged; a series (same label set) that appears twice keeps its first value.
    public static func render(_ families: [MetricFamily], format: ExpositionFormat = .text) -> String {
        var merged: [String: MetricFamily] = [:]
        for f in families {
            if merged[f.name] == nil { merged[f.name] = f } else { merged[f.name]!.samples += f.samples }
        }
        var out: [UInt8] = []
        for name in merged.keys.sorted() {
            let f = merged[name]!
            out += format.header(name, f.type, help: f.help) + samples(f)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A family's sample lines, the first of two same label sets kept.
    static func samples(_ f: MetricFamily) -> [UInt8] {
        var w = ByteWriter(capacity: f.samples.count * 96)
        var seen = Set<ByteKey>()
        for s in f.samples {
            var labels = ByteWriter()
            if !s.labels.isEmpty {
                labels.append(byte: 0x7B)
                labels.appendLabels(s.labels)
                labels.append(byte: 0x7D)
            }
            guard seen.insert(ByteKey(labels.bytes)).inserted else { continue }
            w.append(f.name)
            w.append(labels.bytes)
            w.append(byte: 0x20)
            w.append(s.value)
            w.append(byte: 0x0A)
        }
        return w.bytes
    }

    /// Label values escape backslash, double quote and line feed. Swift strings
    /// are valid UTF-8 already: untrusted bytes are decoded with replacement
    /// where they enter (AddressText, ownership).
    public static func escapeLabelValue(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return s }
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed.
    public static func escapeHelp(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Integers exactly; floats in Go-compatible spelling: +Inf, -Inf, NaN.
    public static func format(_ v: SampleValue) -> String {
        switch v {
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .double(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d > 0 ? "+Inf" : "-Inf" }
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        }
    }
}
