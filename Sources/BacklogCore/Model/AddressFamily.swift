/// The `family` label of a listener (CONTRACT.md).
public enum AddressFamily: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case inet
    case inet6
    case unix

    public static func < (a: AddressFamily, b: AddressFamily) -> Bool {
        a.sortOrder < b.sortOrder
    }

    private var sortOrder: Int {
        switch self {
        case .inet: 0
        case .inet6: 1
        case .unix: 2
        }
    }
}
