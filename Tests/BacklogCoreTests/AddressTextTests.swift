import BacklogCore
import Testing

@Suite struct AddressTextTests {
    @Test func unixNames() {
        #expect(AddressText.unixPath(Array("/run/php/fpm.sock".utf8)) == "/run/php/fpm.sock")
        #expect(AddressText.unixPath([0] + Array("abstract".utf8)) == "@abstract")
        #expect(AddressText.unixPath(Array("/tmp/a".utf8) + [0, 0]) == "/tmp/a")
        #expect(AddressText.unixPath([]) == "")
        // Invalid UTF-8 from an untrusted program is replaced, never passed on.
        let name = AddressText.unixPath([0x2F, 0xFF, 0xC3, 0x28])
        #expect(name == "/\u{FFFD}\u{FFFD}(")
    }
}
