#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFuzzerDriver

// One build, every harness: BACKLOGD_FUZZ_HARNESS picks the one this process
// runs, before libFuzzer reads its flags and inputs.
let selected = Harness.fromEnvironment()
var arguments = CommandLine.arguments
if let max = selected.maxLength, !arguments.contains(where: { $0.hasPrefix("-max_len=") }) {
    arguments.insert("-max_len=\(max)", at: 1)
}
// C strings for the driver, kept for the life of the process.
var argc = CInt(arguments.count)
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = .allocate(capacity: arguments.count + 1)
for (i, a) in arguments.enumerated() { argv![i] = strdup(a) }
argv![arguments.count] = nil
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    selected.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
})
