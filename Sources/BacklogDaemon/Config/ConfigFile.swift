import BacklogCore
import Logging
import Yams

/// Reads the YAML config file into a DaemonConfig. Strict: an unknown key, a
/// duplicate key or a bad value is an error naming the key and its line, so a
/// typo never silently falls back to a default.
public enum ConfigFile {
    /// Parses YAML text; an empty document gives the defaults.
    public static func parse(_ text: String) throws(ConfigError) -> DaemonConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
            throw ConfigError(key: keys.joined(separator: ", "), line: context.mark.line, "duplicate key (this is its first line)")
        } catch let e as YamlError {
            throw ConfigError(key: nil, line: Self.line(of: e), "not valid YAML: \(Self.problem(of: e))")
        } catch {
            throw ConfigError(key: nil, line: nil, "not valid YAML: \(error)")
        }
        var config = DaemonConfig()
        // An empty file, or one with only comments, means the defaults.
        guard let root, !(root.scalar.map { ["", "~", "null"].contains($0.string) } ?? false) else {
            return config
        }
        let top = try mapping(root, key: "(top level)")
        for (key, value, keyLine) in try pairs(top, prefix: "") {
            switch key {
            case "listen":
                let items = value.sequence.map(Array.init) ?? [value]
                config.listen = try items.map { node throws(ConfigError) in
                    let s = try string(node, key: key)
                    guard let a = ListenAddress(s) else {
                        throw ConfigError(key: key, line: line(node), "'\(s)' is not HOST:PORT (e.g. 127.0.0.1:\(DaemonConfig.defaultPort), [::1]:\(DaemonConfig.defaultPort), :\(DaemonConfig.defaultPort))")
                    }
                    return a
                }
            case "interval":
                config.interval = try duration(value, key: key, in: 0.01...60)
            case "peak_window":
                config.peakWindow = try duration(value, key: key, in: 0.01...3600)
            case "ports":
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: "ports.") {
                    let ranges = try portRanges(v, key: sub)
                    switch sub {
                    case "ports.include": config.ports.include = ranges
                    case "ports.exclude": config.ports.exclude = ranges
                    default: throw unknown(sub, line: subLine)
                    }
                }
            case "http":
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: "http.") {
                    switch sub {
                    case "http.max_connections": config.http.maxConnections = try integer(v, key: sub, in: 1...1_000_000)
                    case "http.idle_timeout": config.http.idleTimeout = try duration(v, key: sub, in: 0.1...3600)
                    case "http.read_timeout": config.http.readTimeout = try duration(v, key: sub, in: 0.1...3600)
                    case "http.max_header_bytes": config.http.maxHeaderBytes = try integer(v, key: sub, in: 256...1_048_576)
                    default: throw unknown(sub, line: subLine)
                    }
                }
            case "addresses", "processes", "units":
                var f = PatternFilter()
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: key + ".") {
                    switch sub {
                    case key + ".include": f.include = try patterns(v, key: sub)
                    case key + ".exclude": f.exclude = try patterns(v, key: sub)
                    default: throw unknown(sub, line: subLine)
                    }
                }
                switch key {
                case "addresses": config.selection.addresses = f
                case "processes": config.selection.processes = f
                default: config.selection.units = f
                }
            case "namespaces":
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: "namespaces.") {
                    switch sub {
                    case "namespaces.all": config.namespaces.all = try boolean(v, key: sub)
                    case "namespaces.include": config.namespaces.filter.include = try patterns(v, key: sub)
                    case "namespaces.exclude": config.namespaces.filter.exclude = try patterns(v, key: sub)
                    default: throw unknown(sub, line: subLine)
                    }
                }
            case "max_listeners":
                config.selection.maxListeners = try integer(value, key: key, in: 1...10_000_000)
            case "fast":
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: "fast.") {
                    switch sub {
                    case "fast.cpu_budget": config.fastCPUBudget = try fraction(v, key: sub, in: 0.0001...1)
                    default: throw unknown(sub, line: subLine)
                    }
                }
            case "deep":
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: "deep.") {
                    switch sub {
                    case "deep.min_interval": config.deepMinInterval = try duration(v, key: sub, in: 0.1...3600)
                    case "deep.cpu_budget": config.deepCPUBudget = try fraction(v, key: sub, in: 0.0001...1)
                    default: throw unknown(sub, line: subLine)
                    }
                }
            case "thresholds":
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: "thresholds.") {
                    switch sub {
                    case "thresholds.near_full_ratio": config.thresholds.nearFullRatio = try fraction(v, key: sub, in: 0.01...1)
                    case "thresholds.not_accepting_after": config.thresholds.notAcceptingAfter = try duration(v, key: sub, in: 0...3600)
                    case "thresholds.stalled_after": config.thresholds.stalledAfter = try duration(v, key: sub, in: 0...3600)
                    case "thresholds.close_wait_min": config.thresholds.closeWaitMin = try integer(v, key: sub, in: 1...1_000_000)
                    case "thresholds.close_wait_after": config.thresholds.closeWaitAfter = try duration(v, key: sub, in: 0...86400)
                    case "thresholds.half_open_min": config.thresholds.halfOpenMin = try integer(v, key: sub, in: 1...1_000_000)
                    case "thresholds.deferred_min": config.thresholds.deferredMin = try integer(v, key: sub, in: 1...1_000_000)
                    default: throw unknown(sub, line: subLine)
                    }
                }
            case "log_level":
                let s = try string(value, key: key)
                guard let level = Logger.Level(rawValue: s) else {
                    throw ConfigError(key: key, line: line(value), "'\(s)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                config.logLevel = level
            default:
                throw unknown(key, line: keyLine)
            }
        }
        do {
            try config.validate()
        } catch {
            var e = error
            e.line = top.first { $0.key.string == error.key }?.key.mark?.line
            throw e
        }
        return config
    }

    /// Keys of a mapping with their values, rejecting non-string and duplicate keys.
    static func pairs(_ m: Node.Mapping, prefix: String) throws(ConfigError) -> [(String, Node, Int?)] {
        var seen = Set<String>()
        var out: [(String, Node, Int?)] = []
        for (k, v) in m {
            guard let name = k.scalar?.string else {
                throw ConfigError(key: nil, line: line(k), "keys must be plain names")
            }
            let key = prefix + name
            guard seen.insert(key).inserted else { throw ConfigError(key: key, line: line(k), "duplicate key") }
            out.append((key, v, line(k)))
        }
        return out
    }

    static func unknown(_ key: String, line: Int?) -> ConfigError {
        ConfigError(key: key, line: line, "unknown key")
    }

    static func line(_ node: Node) -> Int? { node.mark?.line }

    static func mapping(_ node: Node, key: String) throws(ConfigError) -> Node.Mapping {
        guard let m = node.mapping else { throw ConfigError(key: key, line: line(node), "expected a mapping of keys") }
        return m
    }

    static func string(_ node: Node, key: String) throws(ConfigError) -> String {
        guard let s = node.scalar?.string else { throw ConfigError(key: key, line: line(node), "expected a single value") }
        return s
    }

    static func patterns(_ node: Node, key: String) throws(ConfigError) -> [String] {
        try (node.sequence.map(Array.init) ?? [node]).map { n throws(ConfigError) in try string(n, key: key) }
    }

    static func boolean(_ node: Node, key: String) throws(ConfigError) -> Bool {
        let s = try string(node, key: key)
        switch s {
        case "true": return true
        case "false": return false
        default: throw ConfigError(key: key, line: line(node), "'\(s)' is not true or false")
        }
    }

    static func duration(_ node: Node, key: String, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let s = try string(node, key: key)
        guard let v = DurationText.seconds(s) else {
            throw ConfigError(key: key, line: line(node), "'\(s)' is not a duration (e.g. 250ms, 15s, 1m)")
        }
        guard range.contains(v) else {
            throw ConfigError(key: key, line: line(node), "\(s) is out of range \(DurationText.text(range.lowerBound))–\(DurationText.text(range.upperBound))")
        }
        return v
    }

    static func fraction(_ node: Node, key: String, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let s = try string(node, key: key)
        guard s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(s) else {
            throw ConfigError(key: key, line: line(node), "'\(s)' is not a number (e.g. 0.8)")
        }
        guard range.contains(v) else {
            throw ConfigError(key: key, line: line(node), "\(s) is out of range \(range.lowerBound)–\(range.upperBound)")
        }
        return v
    }

    static func integer(_ node: Node, key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let s = try string(node, key: key)
        guard s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(s) else {
            throw ConfigError(key: key, line: line(node), "'\(s)' is not a whole number")
        }
        guard range.contains(v) else {
            throw ConfigError(key: key, line: line(node), "\(v) is out of range \(range.lowerBound)–\(range.upperBound)")
        }
        return v
    }

    static func portRanges(_ node: Node, key: String) throws(ConfigError) -> [ClosedRange<UInt16>] {
        let items = node.sequence.map(Array.init) ?? [node]
        return try items.map { item throws(ConfigError) in
            let s = try string(item, key: key)
            guard let r = PortRangeText.parse(s) else {
                throw ConfigError(key: key, line: line(item), "'\(s)' is not a port or a range (e.g. 80, 8000-8099)")
            }
            return r
        }
    }

    static func line(of e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    static func problem(of e: YamlError) -> String {
        switch e {
        case .scanner(let c, let p, _, _), .parser(let c, let p, _, _), .composer(let c, let p, _, _):
            c.map { "\(p) \($0.text)" } ?? p
        default: "\(e)"
        }
    }
}
