/// The socket cookies seen so far in one dump, to drop a socket the kernel hands
/// over twice (a dump resumed after an insertion into the bucket it stopped in).
/// It runs once per record of a deep dump — 100 000 times on a busy host — so it
/// is a flat open-addressing table (linear probing, a multiplicative hash:
/// cookies come from a counter, so consecutive ones spread evenly) instead of a
/// `Set`, whose seeded SipHash and per-dump allocation were half of the deep
/// tick's own work. Its storage is kept from one dump to the next.
///
/// Each insertion into a table of 100 000 cookies misses the cache; one at a time
/// those misses are most of the cost. `touch` loads the slots of a whole batch
/// first, in a loop with no dependence between loads, so that the processor
/// waits for many at once; the insertions then find them in the cache.
struct CookieSet {
    /// 0 marks an empty slot; the cookie 0 is remembered apart.
    private var slots: [UInt64] = []
    private var shift: UInt64 = 64
    private var hasZero = false
    private(set) var count = 0

    /// The most a table may be filled before it doubles.
    private static let maxLoad = 0.7

    /// Empties the set for a new dump of about `expected` sockets.
    mutating func reset(expecting expected: Int) {
        let wanted = Self.capacity(for: max(expected, 1))
        // Keep the storage unless it is far too big for what is coming (the host emptied).
        if slots.count < wanted || slots.count > wanted * 8 {
            allocate(wanted)
        } else if count > 0 || hasZero {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        count = 0
        hasZero = false
    }

    /// Adds `cookie`; false when it was already there.
    mutating func insert(_ cookie: UInt64) -> Bool {
        guard cookie != 0 else {
            defer { hasZero = true }
            return !hasZero
        }
        if slots.isEmpty || Double(count + 1) > Double(slots.count) * Self.maxLoad { grow() }
        let inserted = slots.withUnsafeMutableBufferPointer { Self.place(cookie, in: $0, shift: shift) }
        if inserted { count += 1 }
        return inserted
    }

    /// Loads the home slots of `cookies` (a batch about to be inserted); what it
    /// returns only keeps the loads from being optimized away.
    func touch<C: Collection>(_ cookies: C) -> UInt64 where C.Element == UInt64 {
        guard !slots.isEmpty else { return 0 }
        return slots.withUnsafeBufferPointer { slots in
            var acc: UInt64 = 0
            for c in cookies { acc ^= slots[Self.home(c, shift: shift)] }
            return acc
        }
    }

    func contains(_ cookie: UInt64) -> Bool {
        guard cookie != 0 else { return hasZero }
        guard !slots.isEmpty else { return false }
        return slots.withUnsafeBufferPointer { Self.probe(cookie, in: $0, shift: shift).found }
    }

    /// Slots in use by the table (for tests of the storage reuse).
    var capacity: Int { slots.count }

    private static func capacity(for n: Int) -> Int {
        var c = 64
        while Double(n) > Double(c) * maxLoad { c *= 2 }
        return c
    }

    private static func home(_ cookie: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (cookie &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot that holds `cookie`, or the empty one where it would go.
    private static func probe(_ cookie: UInt64, in slots: UnsafeBufferPointer<UInt64>, shift: UInt64) -> (slot: Int, found: Bool) {
        let mask = slots.count - 1
        var i = home(cookie, shift: shift)
        while true {
            let s = slots[i]
            if s == cookie { return (i, true) }
            if s == 0 { return (i, false) }
            i = (i + 1) & mask
        }
    }

    /// Puts `cookie` in its slot; false when it is there already.
    private static func place(_ cookie: UInt64, in slots: UnsafeMutableBufferPointer<UInt64>, shift: UInt64) -> Bool {
        let (slot, found) = probe(cookie, in: UnsafeBufferPointer(slots), shift: shift)
        if !found { slots[slot] = cookie }
        return !found
    }

    private mutating func allocate(_ capacity: Int) {
        slots = [UInt64](repeating: 0, count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
    }

    private mutating func grow() {
        let old = slots
        allocate(Self.capacity(for: max(count + 1, old.count)))
        let shift = shift
        slots.withUnsafeMutableBufferPointer { new in
            for c in old where c != 0 { _ = Self.place(c, in: new, shift: shift) }
        }
    }
}
