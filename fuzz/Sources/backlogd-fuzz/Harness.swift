#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One fuzz target: a name (its seed corpus is fuzz/corpus/NAME) and what it does
/// with one input. A run must never crash, hang or break an invariant it checks
/// (`check` stops the process so libFuzzer saves the input).
struct Harness: Sendable {
    let name: String
    /// libFuzzer's -max_len unless given: bytes past it only slow a harness down.
    var maxLength: Int? = nil
    let run: @Sendable (UnsafeRawBufferPointer) -> Void

    /// The harness named by BACKLOGD_FUZZ_HARNESS; `list` prints the names and exits.
    static func fromEnvironment() -> Harness {
        let wanted = getenv("BACKLOGD_FUZZ_HARNESS").map { String(cString: $0) } ?? ""
        if wanted == "list" {
            for h in all { print(h.name) }
            exit(0)
        }
        guard let h = all.first(where: { $0.name == wanted }) else {
            let names = all.map(\.name).joined(separator: ", ")
            printError("set BACKLOGD_FUZZ_HARNESS to one of: \(names) (or list)")
            exit(2)
        }
        return h
    }
}

/// A broken invariant: a finding like a crash, with the input saved by libFuzzer.
func check(_ condition: Bool, _ what: @autoclosure () -> String) {
    guard !condition else { return }
    printError("invariant broken: \(what())")
    abort()
}

/// To stderr, unbuffered (libFuzzer's own messages go there too).
func printError(_ message: String) {
    var line = "backlogd-fuzz: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
