import BacklogCore
import Testing

/// Early looks share the deep tick's budget, averaged over 60 s: one may start
/// while what they spent in the last minute is under the deep tick's share of
/// it; the deep tick keeps what they leave (never less than a quarter).
@Suite struct EarlyLookGateTests {
    @Test func looksStopWhenTheMinutesShareIsSpent() {
        let gate = EarlyLookGate()
        gate.share = 0.01  // 0.6 CPU-seconds a minute
        #expect(gate.mayLook())
        gate.record(cpu: 0.5)
        #expect(gate.mayLook(), "0.5 of 0.6 spent")
        gate.record(cpu: 0.2)
        #expect(!gate.mayLook(), "0.7 of 0.6 spent")
        #expect(abs(gate.spent() - 0.7) < 1e-9)
        // A larger share (the deep tick's budget grew) lets them go on.
        gate.share = 0.02
        #expect(gate.mayLook())
    }

    @Test func theDeepTickGetsWhatIsLeftAndAtLeastAQuarter() {
        let gate = EarlyLookGate()
        #expect(gate.deepShare(of: 0.01) == 0.01, "nothing spent: all of it")
        gate.record(cpu: 0.3)  // 0.005 of a core over the minute
        #expect(abs(gate.deepShare(of: 0.01) - 0.005) < 1e-9)
        gate.record(cpu: 3)
        #expect(gate.deepShare(of: 0.01) == 0.0025, "a quarter, however much they spent")
    }

    /// What they spent since the last deep tick is handed to it once (it is deep work).
    @Test func drainHandsTheCPUOverOnce() {
        let gate = EarlyLookGate()
        gate.record(cpu: 0.1)
        gate.record(cpu: 0.2)
        #expect(abs(gate.drain() - 0.3) < 1e-9)
        #expect(gate.drain() == 0)
        #expect(abs(gate.spent() - 0.3) < 1e-9, "still within the minute")
    }
}
