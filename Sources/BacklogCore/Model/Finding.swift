/// A judgement about the numbers, in one sentence, with its severity.
public struct Finding: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Hashable, Codable, Comparable {
        case info
        case warning
        case critical

        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }

        var rank: Int {
            switch self {
            case .info: 0
            case .warning: 1
            case .critical: 2
            }
        }
    }

    /// The `kind` label (CONTRACT.md), e.g. `accept_queue_full`.
    public var kind: String
    public var severity: Severity
    /// The listener it is about; nil for namespace-wide findings.
    public var listener: Listener?
    public var message: String

    public init(kind: String, severity: Severity, listener: Listener?, message: String) {
        self.kind = kind
        self.severity = severity
        self.listener = listener
        self.message = message
    }
}
