/// Splits the growth of TcpExt ListenOverflows (one counter per namespace) among
/// the TCP listeners seen full at any tick since the previous counter read, or
/// at that read: an estimate, exported as such. Growth while none was full is
/// kept as unattributed. The counter need not be read at every tick.
/// Its per-listener state lives in the ListenerTable's slots (no sets of keys
/// built per tick); a listener that goes takes its share with it.
struct OverflowAttribution: Sendable {
    private var lastCounter: UInt64?
    private(set) var unattributed: Double = 0

    struct Slot: Sendable {
        var fullSinceRead = false
        var fullAtLastRead = false
        var share = 0.0
    }

    /// A read of ListenOverflows: its growth since the last read goes to the TCP
    /// listeners marked full since then (`Slot.fullSinceRead`, set by the table's
    /// tick) or full at the last read.
    mutating func read(_ listeners: [Listener], _ tracking: inout [ListenerTable.Tracking], counter: UInt64) {
        if let last = lastCounter, counter > last {
            let growth = Double(counter - last)
            let targets = tracking.indices.filter { tracking[$0].overflow.fullSinceRead || tracking[$0].overflow.fullAtLastRead }
            if targets.isEmpty {
                unattributed += growth
            } else {
                for i in targets { tracking[i].overflow.share += growth / Double(targets.count) }
            }
        }
        lastCounter = counter
        for i in tracking.indices {
            tracking[i].overflow.fullAtLastRead = listeners[i].family != .unix && listeners[i].isFull
            tracking[i].overflow.fullSinceRead = false
        }
    }

    /// Each TCP listener's share so far (UNIX listeners: nil).
    static func shares(_ listeners: inout [Listener], _ tracking: [ListenerTable.Tracking]) {
        // Changes are found before anything is written: the optimizer makes the array
        // unique ahead of a loop that may write, which copies it (the last snapshot shares it).
        let changed = listeners.indices.filter {
            listeners[$0].family != .unix && listeners[$0].overflowsEstimated != tracking[$0].overflow.share
        }
        for i in changed { listeners[i].overflowsEstimated = tracking[i].overflow.share }
    }
}
