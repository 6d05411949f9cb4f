import NIOCore
import Synchronization

/// The open client connections: enforces the connection cap and lets shutdown
/// reach every connection.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: Channel] = [:]
        var refused: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Registers `channel` unless `cap` connections are open already.
    func admit(_ channel: Channel, cap: Int) -> Bool {
        state.withLock { s in
            guard s.channels.count < cap else {
                s.refused += 1
                return false
            }
            s.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var all: [Channel] { state.withLock { Array($0.channels.values) } }
    var count: Int { state.withLock { $0.channels.count } }
    var refused: UInt64 { state.withLock { $0.refused } }
}
