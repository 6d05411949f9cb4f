/// The deep tick's share of the two CPU budgets. The fast tick keeps to
/// `fast.cpu_budget` but is never slower than 2 s, so where its floor is dear
/// (a hundred namespaces, each LISTEN dump walking every listener of the host)
/// it spends more than its budget. The deep tick then gets what the two budgets
/// together leave — at most its own budget, at least a quarter of it, so that
/// the diagnosis never stops — and collection as a whole stays within
/// `fast.cpu_budget` + `deep.cpu_budget`.
///
/// What the rest of collection costs is measured on the collection threads
/// themselves (NetnsThread.cpuSeconds: fast ticks, wake-ups, publication),
/// between one deep tick and the next, less the deep tick's own CPU.
struct DeepBudget: Sendable {
    /// Each thread's CPU seconds at the last deep tick.
    private var last: [ObjectIdentifier: Double] = [:]
    private var lastAt: Double?
    /// What collection other than the deep tick costs, as a fraction of one core (smoothed).
    private(set) var othersShare: Double?

    /// At the end of a deep tick that cost `deepCPU`: the threads' CPU now.
    mutating func record(threads: [(id: ObjectIdentifier, cpu: Double)], deepCPU: Double, now: Double) {
        var used = 0.0
        var next: [ObjectIdentifier: Double] = [:]
        for t in threads {
            // A thread new since the last look (or a new one at a freed one's address) counts whole.
            let before = last[t.id].flatMap { $0 <= t.cpu ? $0 : nil } ?? 0
            used += t.cpu - before
            next[t.id] = t.cpu
        }
        if let lastAt, now - lastAt > 0 {
            let share = max(0, used - deepCPU) / (now - lastAt)
            othersShare = othersShare.map { 0.5 * $0 + 0.5 * share } ?? share
        }
        last = next
        lastAt = now
    }

    /// The deep tick's budget: min(deep, max(deep / 4, fast + deep − what the rest costs)).
    func budget(deep: Double, fast: Double) -> Double {
        guard let othersShare else { return deep }
        return min(deep, max(deep / 4, fast + deep - othersShare))
    }
}
