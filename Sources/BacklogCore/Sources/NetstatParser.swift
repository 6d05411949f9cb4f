#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Counters of /proc/net/netstat (or /proc/net/snmp): every field of every section.
/// Field names live in a layout shared between reads (they do not change while
/// the kernel runs); each read carries only its values.
public struct NetstatCounters: Sendable, Hashable {
    struct Section: Sendable, Hashable {
        var layout: NetstatLayout
        var values: [UInt64]
    }

    var storage: [String: Section]

    init(storage: [String: Section]) {
        self.storage = storage
    }

    public init(sections: [String: [String: UInt64]]) {
        storage = sections.mapValues { fields in
            let names = fields.keys.sorted()
            return Section(layout: NetstatLayout(names: names), values: names.map { fields[$0]! })
        }
    }

    /// section ("TcpExt") -> field ("ListenOverflows") -> value
    public var sections: [String: [String: UInt64]] {
        storage.mapValues { s in Dictionary(uniqueKeysWithValues: zip(s.layout.names, s.values)) }
    }

    public func value(section: String, field: String) -> UInt64? {
        guard let s = storage[section], let i = s.layout.index[field] else { return nil }
        return s.values[i]
    }
}

/// The field names of one section header line.
final class NetstatLayout: Sendable, Hashable {
    let names: [String]
    let index: [String: Int]

    init(names: [String]) {
        self.names = names
        self.index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func == (a: NetstatLayout, b: NetstatLayout) -> Bool { a === b || a.names == b.names }
    func hash(into h: inout Hasher) { h.combine(names) }
}

/// Header lines already parsed, by their bytes: a later read with the same
/// header skips splitting it into names again. Use from one thread at a time.
/// Header lines seen before, with what they parse to. A file has a handful of
/// sections, so a list compared byte for byte (length first) beats hashing
/// each ~2 KB header line a byte at a time on every read.
public struct NetstatLayoutCache: Sendable {
    static let capacity = 64
    var layouts: [(header: [UInt8], name: String, layout: NetstatLayout)] = []
    public init() {}

    func find(_ line: ArraySlice<UInt8>) -> (String, NetstatLayout)? {
        for entry in layouts where entry.header.count == line.count && !line.isEmpty {
            let same = entry.header.withUnsafeBytes { a in
                line.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
            }
            if same { return (entry.name, entry.layout) }
        }
        return nil
    }

    mutating func insert(_ line: ArraySlice<UInt8>, _ name: String, _ layout: NetstatLayout) {
        if layouts.count >= Self.capacity { layouts.removeAll() }
        layouts.append((Array(line), name, layout))
    }
}

public struct NetstatParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

/// The file is pairs of lines: `TcpExt: Name1 Name2 …` then `TcpExt: 1 2 …`.
/// Parsed generically so new kernel fields are kept; anything that breaks the
/// pairing is an error naming the line, never a silent zero. Works on bytes:
/// it runs on every fast tick.
public enum NetstatParser {
    public static func parse(_ text: String) throws(NetstatParseError) -> NetstatCounters {
        var cache = NetstatLayoutCache()
        return try parse(bytes: Array(text.utf8), cache: &cache)
    }

    public static func parse(bytes: [UInt8], cache: inout NetstatLayoutCache) throws(NetstatParseError) -> NetstatCounters {
        let newline = UInt8(ascii: "\n")
        // The kernel ends every line with a newline: without one the last
        // number may be cut short, and a shorter number is a wrong number.
        if let last = bytes.last, last != newline {
            let lastLine = bytes.reduce(1) { $1 == newline ? $0 + 1 : $0 }
            throw NetstatParseError(line: lastLine, reason: "truncated: the last line has no newline")
        }
        // Lines with their numbers; blank lines carry nothing.
        var lines: [(no: Int, range: Range<Int>)] = []
        var start = 0
        var no = 1
        for i in bytes.indices where bytes[i] == newline {
            if !bytes[start..<i].allSatisfy(isSpace) { lines.append((no, start..<i)) }
            start = i + 1
            no += 1
        }
        var storage: [String: NetstatCounters.Section] = [:]
        var i = 0
        while i < lines.count {
            let header = lines[i]
            guard i + 1 < lines.count else {
                throw NetstatParseError(line: header.no, reason: "header line without a value line")
            }
            let valueLine = lines[i + 1]
            let (name, layout) = try headerLayout(bytes[header.range], line: header.no, cache: &cache)
            let (valueName, rest) = try splitName(bytes[valueLine.range], line: valueLine.no)
            guard valueName.elementsEqual(name.utf8) else {
                throw NetstatParseError(line: valueLine.no, reason: "value line is for section '\(String(decoding: valueName, as: UTF8.self))', expected '\(name)'")
            }
            var values: [UInt64] = []
            values.reserveCapacity(layout.names.count)
            var tokenStart: Int?
            for j in rest.startIndex...rest.endIndex {
                let atEnd = j == rest.endIndex
                if !atEnd && !isSpace(rest[j]) {
                    if tokenStart == nil { tokenStart = j }
                    continue
                }
                guard let t = tokenStart else { continue }
                tokenStart = nil
                let token = rest[t..<j]
                guard let v = number(token) else {
                    let field = values.count < layout.names.count ? layout.names[values.count] : "?"
                    throw NetstatParseError(line: valueLine.no, reason: "\(name) \(field): '\(String(decoding: token.prefix(40), as: UTF8.self))' is not a number")
                }
                values.append(v)
            }
            guard values.count == layout.names.count else {
                throw NetstatParseError(line: valueLine.no, reason: "\(name): \(layout.names.count) names but \(values.count) values")
            }
            guard storage[name] == nil else {
                throw NetstatParseError(line: header.no, reason: "section '\(name)' appears twice")
            }
            storage[name] = NetstatCounters.Section(layout: layout, values: values)
            i += 2
        }
        guard !storage.isEmpty else {
            throw NetstatParseError(line: 1, reason: "no sections")
        }
        return NetstatCounters(storage: storage)
    }

    static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r")
    }

    /// `Name:` and what follows, with the name checked.
    static func splitName(_ line: ArraySlice<UInt8>, line no: Int) throws(NetstatParseError) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw NetstatParseError(line: no, reason: "no 'Section:' prefix")
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) }) else {
            throw NetstatParseError(line: no, reason: "bad section name")
        }
        let rest = line[(colon + 1)...]
        guard rest.contains(where: { !isSpace($0) }) else {
            throw NetstatParseError(line: no, reason: "section '\(String(decoding: name, as: UTF8.self))' has no fields")
        }
        return (name, rest)
    }

    static func headerLayout(_ line: ArraySlice<UInt8>, line no: Int, cache: inout NetstatLayoutCache) throws(NetstatParseError) -> (String, NetstatLayout) {
        if let hit = cache.find(line) { return hit }
        let (nameBytes, rest) = try splitName(line, line: no)
        let name = String(decoding: nameBytes, as: UTF8.self)
        let names = rest.split(whereSeparator: isSpace).map { String(decoding: $0, as: UTF8.self) }
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted {
            throw NetstatParseError(line: no, reason: "\(name): field '\(n)' appears twice")
        }
        let layout = NetstatLayout(names: names)
        cache.insert(line, name, layout)
        return (name, layout)
    }

    /// Counters are unsigned; /proc/net/snmp has a few signed fields (e.g. MaxConn = -1).
    static func number(_ token: ArraySlice<UInt8>) -> UInt64? {
        var digits = token
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var v: UInt64 = 0
        for d in digits {
            guard d >= 0x30 && d <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d - 0x30))
            guard !o1 && !o2 else { return nil }
            v = a
        }
        if negative {
            guard v <= UInt64(Int64.max) + 1 else { return nil }
            return UInt64(bitPattern: v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v))
        }
        return v
    }
}
