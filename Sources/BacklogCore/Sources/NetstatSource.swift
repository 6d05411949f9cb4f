/// Reads and parses /proc/net/netstat (the collecting thread's namespace via thread-self).
/// A value owned by one collector: its layout cache changes with each read.
public struct NetstatSource: Sendable {
    public var path: String
    /// Header layouts of earlier reads (the names do not change while the kernel runs).
    private var cache = NetstatLayoutCache()

    /// `/proc/thread-self/net` follows the calling thread's network namespace,
    /// where `/proc/net` follows the main thread's (KERNEL-NOTES.md).
    public init(path: String = "/proc/thread-self/net/netstat") {
        self.path = path
    }

    public mutating func read() throws -> NetstatCounters {
        let bytes = try ProcFile.read(path)
        do {
            return try NetstatParser.parse(bytes: bytes, cache: &cache)
        } catch {
            throw SourceError("\(path): \(error)")
        }
    }
}

/// A source's failure, with a message that names what failed.
public struct SourceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
