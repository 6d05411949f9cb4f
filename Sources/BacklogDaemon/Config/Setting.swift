import BacklogCore
import Logging

/// One thing the daemon can be told: its config-file key, its flag, how its
/// text is read and checked (the range lives here, once), its help and its
/// default (shown from the built-in DaemonConfig). The YAML parser, the flags,
/// `--check-config`'s summary and `--help` all go through it.
public struct Setting: Sendable {
    /// `interval`, `deep.cpu_budget`.
    public let key: String
    /// The long flag without dashes: `interval`, `deep-cpu-budget`.
    public let flag: String
    public let valueName: String
    /// What it does, one sentence (the flag's help adds the key and the default).
    public let about: String
    /// A list: several values in the file (a YAML sequence) and a repeatable flag.
    public let isList: Bool
    /// Reads the texts (one, or a list's items) into the config; an error names the bad item.
    let read: @Sendable ([String], inout DaemonConfig) throws(SettingError) -> Void
    /// The value as the file writes it (for the summary and the default).
    let show: @Sendable (DaemonConfig) -> String

    /// The default, as `--help` prints it.
    public var defaultText: String { show(DaemonConfig()) }

    /// `<about> (config: <key>; default <default>)`: the flag's help.
    public var help: String { "\(about) (config: \(key); default \(defaultText))." }

    public func apply(_ texts: [String], to config: inout DaemonConfig) throws(SettingError) {
        try read(texts, &config)
    }

    public func value(in config: DaemonConfig) -> String { show(config) }
}

/// A value that does not fit its setting; `item` is the index of the bad list item.
public struct SettingError: Error, Sendable {
    public var message: String
    public var item: Int?

    public init(_ message: String, item: Int? = nil) {
        self.message = message
        self.item = item
    }
}

// The kinds of value, each with its reading and checks.
extension Setting {
    /// A value as an error quotes it: escaped, at most 80 characters.
    package static func quote(_ s: String) -> String { "'" + PrintableText.quoted(s) + "'" }

    static func one(_ texts: [String]) throws(SettingError) -> String {
        guard texts.count == 1 else { throw SettingError("expected a single value") }
        return texts[0]
    }

    static func duration(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, Double> & Sendable,
                         in range: ClosedRange<Double>, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "duration", about: about, isList: false, read: { texts, c throws(SettingError) in
            let s = try one(texts)
            guard let v = DurationText.seconds(s) else { throw SettingError("\(quote(s)) is not a duration (e.g. 250ms, 15s, 1m)") }
            guard range.contains(v) else {
                throw SettingError("\(PrintableText.quoted(s)) is out of range \(DurationText.text(range.lowerBound))–\(DurationText.text(range.upperBound))")
            }
            c[keyPath: path] = v
        }, show: { DurationText.text($0[keyPath: path]) })
    }

    static func fraction(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, Double> & Sendable,
                         in range: ClosedRange<Double>, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "fraction", about: about, isList: false, read: { texts, c throws(SettingError) in
            let s = try one(texts)
            guard s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(s) else {
                throw SettingError("\(quote(s)) is not a number (e.g. 0.8)")
            }
            guard range.contains(v) else { throw SettingError("\(PrintableText.quoted(s)) is out of range \(range.lowerBound)–\(range.upperBound)") }
            c[keyPath: path] = v
        }, show: { "\($0[keyPath: path])" })
    }

    static func integer(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, Int> & Sendable,
                        in range: ClosedRange<Int>, valueName: String = "n", _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: valueName, about: about, isList: false, read: { texts, c throws(SettingError) in
            c[keyPath: path] = try wholeNumber(try one(texts), in: range)
        }, show: { "\($0[keyPath: path])" })
    }

    static func optionalInteger(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, Int?> & Sendable,
                                in range: ClosedRange<Int>, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "n", about: about, isList: false, read: { texts, c throws(SettingError) in
            c[keyPath: path] = try wholeNumber(try one(texts), in: range)
        }, show: { $0[keyPath: path].map(String.init) ?? "none" })
    }

    static func wholeNumber(_ s: String, in range: ClosedRange<Int>) throws(SettingError) -> Int {
        guard s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(s) else { throw SettingError("\(quote(s)) is not a whole number") }
        guard range.contains(v) else { throw SettingError("\(v) is out of range \(range.lowerBound)–\(range.upperBound)") }
        return v
    }

    static func boolean(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, Bool> & Sendable, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "bool", about: about, isList: false, read: { texts, c throws(SettingError) in
            switch try one(texts) {
            case "true": c[keyPath: path] = true
            case "false": c[keyPath: path] = false
            case let s: throw SettingError("\(quote(s)) is not true or false")
            }
        }, show: { "\($0[keyPath: path])" })
    }

    static func patterns(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, [String]> & Sendable, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "pattern", about: about, isList: true, read: { texts, c throws(SettingError) in
            c[keyPath: path] = texts
        }, show: { $0[keyPath: path].isEmpty ? "none" : $0[keyPath: path].joined(separator: ",") })
    }

    static func ports(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, [ClosedRange<UInt16>]> & Sendable,
                      _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "port[-port]", about: about, isList: true, read: { texts, c throws(SettingError) in
            var out: [ClosedRange<UInt16>] = []
            for (i, s) in texts.enumerated() {
                guard let r = PortRangeText.parse(s) else { throw SettingError("\(quote(s)) is not a port or a range (e.g. 80, 8000-8099)", item: i) }
                out.append(r)
            }
            c[keyPath: path] = out
        }, show: { $0[keyPath: path].isEmpty ? "none" : $0[keyPath: path].map(PortFilter.text).joined(separator: ",") })
    }

    /// Addresses to bind (`listen`, `agent.listen`); `required`: at least one.
    static func addresses(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, [ListenAddress]> & Sendable,
                          required: Bool, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "host:port", about: about, isList: true, read: { texts, c throws(SettingError) in
            var out: [ListenAddress] = []
            for (i, s) in texts.enumerated() {
                guard let a = ListenAddress(s) else {
                    let p = DaemonConfig.defaultPort
                    throw SettingError("\(quote(s)) is not HOST:PORT (e.g. 127.0.0.1:\(p), [::1]:\(p), :\(p))", item: i)
                }
                out.append(a)
            }
            guard !required || !out.isEmpty else { throw SettingError("at least one address is needed") }
            c[keyPath: path] = out
        }, show: { $0[keyPath: path].isEmpty ? "none" : $0[keyPath: path].map(\.description).joined(separator: ",") })
    }

    /// A file path; empty or absent: none.
    static func path(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, String?> & Sendable, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "file", about: about, isList: false, read: { texts, c throws(SettingError) in
            let s = try one(texts)
            c[keyPath: path] = s.isEmpty ? nil : s
        }, show: { $0[keyPath: path] ?? "none" })
    }

    /// An absolute directory path with a default (not checked for existence: it may appear later).
    static func directory(_ key: String, flag: String, _ path: WritableKeyPath<DaemonConfig, String> & Sendable, _ about: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "dir", about: about, isList: false, read: { texts, c throws(SettingError) in
            let s = try one(texts)
            guard s.hasPrefix("/"), !s.utf8.contains(0) else { throw SettingError("\(quote(s)) is not an absolute path") }
            c[keyPath: path] = s
        }, show: { $0[keyPath: path] })
    }

    static func logLevel(_ about: String) -> Setting {
        Setting(key: "log_level", flag: "log-level", valueName: "level", about: about, isList: false, read: { texts, c throws(SettingError) in
            let s = try one(texts)
            guard let level = Logger.Level(rawValue: s) else {
                throw SettingError("\(quote(s)) is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.logLevel = level
        }, show: { $0.logLevel.rawValue })
    }
}
