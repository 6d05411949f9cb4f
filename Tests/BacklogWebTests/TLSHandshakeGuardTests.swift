@testable import BacklogWeb
import Testing

/// The SAN forms client_allowed_sans is compared with: Go's net.IP.String().
@Suite struct TLSHandshakeGuardTests {
    @Test func addressesPrintAsGoPrintsThem() {
        #expect(TLSHandshakeGuard.ipText([127, 0, 0, 1]) == "127.0.0.1")
        #expect(TLSHandshakeGuard.ipText([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]) == "2001:db8::1")
        #expect(TLSHandshakeGuard.ipText(Array(repeating: 0, count: 10) + [0xFF, 0xFF, 10, 0, 0, 7]) == "10.0.0.7", "v4-mapped prints as v4")
        #expect(TLSHandshakeGuard.ipText([1, 2, 3]) == nil)
    }
}
