#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFuzzerDriver

// One build, every harness: BACKLOGD_FUZZ_HARNESS picks the one this process
// runs, before libFuzzer reads its flags and inputs.
let selected = Harness.fromEnvironment()
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    selected.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
})
