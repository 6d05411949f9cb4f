import BacklogCore
import Yams

/// Reads the YAML config file into a DaemonConfig. Strict: an unknown key, a
/// duplicate key or a bad value is an error naming the key and its line, so a
/// typo never silently falls back to a default.
public enum ConfigFile {
    /// Parses YAML text; an empty document gives the defaults.
    public static func parse(_ text: String) throws(ConfigError) -> DaemonConfig {
        var config = DaemonConfig()
        // An empty file, or one with only comments, means the defaults.
        guard let top = try document(text) else { return config }
        for (key, value, keyLine) in try pairs(top, prefix: "") {
            if let setting = SettingsTable.setting(key: key) {
                try read(setting, value, into: &config)
            } else if SettingsTable.isSection(key) {
                for (sub, v, subLine) in try pairs(try mapping(value, key: key), prefix: key + ".") {
                    guard let setting = SettingsTable.setting(key: sub) else { throw unknown(sub, line: subLine) }
                    try read(setting, v, into: &config)
                }
            } else {
                throw unknown(key, line: keyLine)
            }
        }
        do {
            try config.validate()
        } catch {
            var e = error
            e.line = Self.line(of: error.key, in: top)
            throw e
        }
        return config
    }

    /// The line of a key (`listen`, `agent.listen`) in the file, if it is there.
    package static func line(of key: String?, in top: Node.Mapping) -> Int? {
        guard let key else { return nil }
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        guard let (k, v) = top.first(where: { $0.key.string == parts[0] }) else { return nil }
        guard parts.count == 2 else { return k.mark?.line }
        return v.mapping?.first { $0.key.string == parts[1] }?.key.mark?.line ?? k.mark?.line
    }

    /// The top-level mapping of a YAML file (this one, or the web config); nil when
    /// the file is empty or only comments. Errors name the line.
    package static func document(_ text: String) throws(ConfigError) -> Node.Mapping? {
        try YAMLShapeGuard.check(text)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
            throw ConfigError(key: keys.map { PrintableText.quoted($0) }.joined(separator: ", "), line: context.mark.line, "duplicate key (this is its first line)")
        } catch let e as YamlError {
            throw ConfigError(key: nil, line: Self.line(of: e), "not valid YAML: \(Self.problem(of: e))")
        } catch {
            throw ConfigError(key: nil, line: nil, "not valid YAML: \(PrintableText.quoted("\(error)"))")
        }
        guard let root, !(root.scalar.map { ["", "~", "null"].contains($0.string) } ?? false) else { return nil }
        return try mapping(root, key: "(top level)")
    }

    /// Keys of a mapping with their values, rejecting non-string and duplicate keys.
    package static func pairs(_ m: Node.Mapping, prefix: String) throws(ConfigError) -> [(String, Node, Int?)] {
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

    package static func unknown(_ key: String, line: Int?) -> ConfigError {
        ConfigError(key: key, line: line, "unknown key")
    }

    package static func line(_ node: Node) -> Int? { node.mark?.line }

    package static func mapping(_ node: Node, key: String) throws(ConfigError) -> Node.Mapping {
        guard let m = node.mapping else { throw ConfigError(key: key, line: line(node), "expected a mapping of keys") }
        return m
    }

    package static func string(_ node: Node, key: String) throws(ConfigError) -> String {
        guard let s = node.scalar?.string else { throw ConfigError(key: key, line: line(node), "expected a single value") }
        return s
    }

    /// A setting's texts from its node: one scalar, or (for lists) a scalar or a sequence of them.
    static func read(_ setting: Setting, _ node: Node, into config: inout DaemonConfig) throws(ConfigError) {
        let items: [Node]
        if let seq = node.sequence {
            guard setting.isList else { throw ConfigError(key: setting.key, line: line(node), "expected a single value") }
            items = Array(seq)
        } else {
            items = [node]
        }
        let texts = try items.map { n throws(ConfigError) in try string(n, key: setting.key) }
        do {
            try setting.apply(texts, to: &config)
        } catch {
            let at = error.item.map { items[$0] } ?? node
            throw ConfigError(key: setting.key, line: line(at), error.message)
        }
    }

    static func line(of e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .reader(_, let offset?, _, let yaml): yaml.prefix(offset).reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        default: nil
        }
    }

    /// The problem alone: Yams' own description quotes the offending line whole.
    /// `U+0000`: how a reader error names the character it stopped at (never the character itself).
    static func codePoint(_ value: Int32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    static func problem(of e: YamlError) -> String {
        switch e {
        case .scanner(let c, let p, _, _), .parser(let c, let p, _, _), .composer(let c, let p, _, _):
            c.map { "\(p) \($0.text)" } ?? p
        case .reader(let p, _, let value, _): value >= 0 ? "\(p) (character \(codePoint(value)))" : p
        default: PrintableText.quoted("\(e)")
        }
    }
}
