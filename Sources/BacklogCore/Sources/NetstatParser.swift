/// Counters of /proc/net/netstat (or /proc/net/snmp): every field of every section.
public struct NetstatCounters: Sendable, Hashable {
    /// section ("TcpExt") -> field ("ListenOverflows") -> value
    public var sections: [String: [String: UInt64]]

    public init(sections: [String: [String: UInt64]]) {
        self.sections = sections
    }

    public func value(section: String, field: String) -> UInt64? {
        sections[section]?[field]
    }
}

public struct NetstatParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

/// The file is pairs of lines: `TcpExt: Name1 Name2 …` then `TcpExt: 1 2 …`.
/// Parsed generically so new kernel fields are kept; anything that breaks the
/// pairing is an error naming the line, never a silent zero.
public enum NetstatParser {
    public static func parse(_ text: String) throws(NetstatParseError) -> NetstatCounters {
        var sections: [String: [String: UInt64]] = [:]
        // The kernel ends every line with a newline: without one the last
        // number may be cut short, and a shorter number is a wrong number.
        if !text.isEmpty && !text.hasSuffix("\n") {
            let lastLine = text.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            throw NetstatParseError(line: lastLine, reason: "truncated: the last line has no newline")
        }
        // Blank lines carry nothing; keep the numbers of the others for errors.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().filter {
            !$0.element.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" }
        }
        var i = 0
        while i < lines.count {
            let (index, header) = lines[i]
            let lineNo = index + 1
            guard i + 1 < lines.count else {
                throw NetstatParseError(line: lineNo, reason: "header line without a value line")
            }
            let (name, fields) = try split(header, line: lineNo)
            let valueNo = lines[i + 1].offset + 1
            let (valueName, values) = try split(lines[i + 1].element, line: valueNo)
            guard name == valueName else {
                throw NetstatParseError(line: valueNo, reason: "value line is for section '\(valueName)', expected '\(name)'")
            }
            guard fields.count == values.count else {
                throw NetstatParseError(line: valueNo, reason: "\(name): \(fields.count) names but \(values.count) values")
            }
            guard sections[name] == nil else {
                throw NetstatParseError(line: lineNo, reason: "section '\(name)' appears twice")
            }
            var section: [String: UInt64] = [:]
            for (field, raw) in zip(fields, values) {
                guard let v = parseValue(raw) else {
                    throw NetstatParseError(line: valueNo, reason: "\(name) \(field): '\(raw.prefix(40))' is not a number")
                }
                guard section.updateValue(v, forKey: String(field)) == nil else {
                    throw NetstatParseError(line: lineNo, reason: "\(name): field '\(field)' appears twice")
                }
            }
            sections[name] = section
            i += 2
        }
        guard !sections.isEmpty else {
            throw NetstatParseError(line: 1, reason: "no sections")
        }
        return NetstatCounters(sections: sections)
    }

    private static func split(_ line: Substring, line no: Int) throws(NetstatParseError) -> (String, [Substring]) {
        guard let colon = line.firstIndex(of: ":") else {
            throw NetstatParseError(line: no, reason: "no 'Section:' prefix")
        }
        let name = String(line[..<colon])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw NetstatParseError(line: no, reason: "bad section name")
        }
        let rest = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        guard !rest.isEmpty else {
            throw NetstatParseError(line: no, reason: "section '\(name)' has no fields")
        }
        return (name, rest)
    }

    /// Counters are unsigned; /proc/net/snmp has a few signed fields (e.g. MaxConn = -1).
    private static func parseValue(_ raw: Substring) -> UInt64? {
        if let v = UInt64(raw) { return v }
        if let s = Int64(raw) { return UInt64(bitPattern: s) }
        return nil
    }
}
