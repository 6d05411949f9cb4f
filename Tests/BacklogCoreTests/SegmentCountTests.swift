import BacklogCore
import Testing

/// InSegs from /proc/net/snmp's two `Tcp:` lines; anything odd is nil, never a number.
@Suite struct SegmentCountTests {
    static let snmp = """
        Ip: Forwarding DefaultTTL InReceives
        Ip: 1 64 1234
        Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
        Tcp: 1 200 120000 -1 10 12 0 0 3 4711 4800 0 0 1 0
        Udp: InDatagrams NoPorts
        Udp: 5 6

        """

    @Test func readsInSegs() {
        #expect(SegmentCount.parse(Array(Self.snmp.utf8)) == 4711)
    }

    @Test func oddFilesGiveNil() {
        #expect(SegmentCount.parse([]) == nil)
        #expect(SegmentCount.parse(Array("Tcp: InSegs\nTcp: many\n".utf8)) == nil)
        #expect(SegmentCount.parse(Array("Tcp: A B InSegs\nTcp: 1 2\n".utf8)) == nil, "fewer values than names")
        #expect(SegmentCount.parse(Array("Tcp: A B\nTcp: 1 2\n".utf8)) == nil, "no InSegs")
        #expect(SegmentCount.parse(Array("Tcp: InSegs\nTcp: 18446744073709551616\n".utf8)) == nil, "past UInt64")
        #expect(SegmentCount.parse(Array("Tcp: A InSegs\nTcp: 1 7".utf8)) == 7, "no newline at the end")
    }

    /// The live file of this namespace has it.
    @Test func theLiveFileHasIt() {
        let count = SegmentCount()
        let first = count.read()
        #expect(first != nil)
        #expect(count.read().map { $0 >= first ?? 0 } == true, "read again from the open file")
    }
}
