/// Which TCP listeners to report, by local port. UNIX listeners have no port
/// and are always reported. An empty include list means every port.
public struct PortFilter: Sendable, Hashable {
    public var include: [ClosedRange<UInt16>]
    public var exclude: [ClosedRange<UInt16>]

    public init(include: [ClosedRange<UInt16>] = [], exclude: [ClosedRange<UInt16>] = []) {
        self.include = include
        self.exclude = exclude
    }

    public static let all = PortFilter()

    public func admits(_ port: UInt16?) -> Bool {
        guard let port else { return true }
        if !include.isEmpty && !include.contains(where: { $0.contains(port) }) { return false }
        return !exclude.contains(where: { $0.contains(port) })
    }

    /// `80`, `8000-8099`: how the config file and the flags write a range.
    public static func text(_ r: ClosedRange<UInt16>) -> String {
        r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound)"
    }
}
