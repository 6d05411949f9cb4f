#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Shell-style patterns (`*`, `?`, `[...]`, as fnmatch(3)) to include or leave out.
/// An empty include list means everything.
public struct PatternFilter: Sendable, Hashable {
    public var include: [String]
    public var exclude: [String]

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    public var isEmpty: Bool { include.isEmpty && exclude.isEmpty }

    public func admits(_ value: String) -> Bool {
        if !include.isEmpty && !include.contains(where: { fnmatch($0, value, 0) == 0 }) { return false }
        return !exclude.contains { fnmatch($0, value, 0) == 0 }
    }
}

/// Which listeners become series, beyond the port filter: by address, by the
/// owner's process name and unit, and at most `maxListeners` of them (fullest
/// first). A listener whose owner is unknown is never left out for that: the
/// process and unit filters only judge listeners whose owner is known.
public struct ListenerSelection: Sendable, Hashable {
    public var addresses = PatternFilter()
    public var processes = PatternFilter()
    public var units = PatternFilter()
    public var maxListeners: Int?

    public init(addresses: PatternFilter = PatternFilter(), processes: PatternFilter = PatternFilter(),
                units: PatternFilter = PatternFilter(), maxListeners: Int? = nil) {
        self.addresses = addresses
        self.processes = processes
        self.units = units
        self.maxListeners = maxListeners
    }

    /// Whether any pattern is set (the cap is not a pattern).
    public var filtersAnything: Bool { !(addresses.isEmpty && processes.isEmpty && units.isEmpty) }

    public func admits(_ l: Listener) -> Bool {
        guard addresses.admits(l.address) else { return false }
        guard let owner = l.owner else { return true }
        return processes.admits(owner.comm) && units.admits(owner.unit ?? "")
    }
}
