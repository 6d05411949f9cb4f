import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Holds every process that opens one file inside its open(2) until released:
/// a fanotify FAN_OPEN_PERM mark on the file's inode (python3 calls
/// fanotify_init/fanotify_mark through ctypes: Swift's Glibc module lacks them).
/// The kernel waits for the helper's answer however the file is opened
/// (O_NONBLOCK too), so a test can hold a process at exactly that point. If the
/// helper dies, the kernel lets the open through: nothing stays stuck.
final class OpenHold: @unchecked Sendable {
    private let helper: BackgroundProcess

    init(_ path: String) throws {
        helper = try BackgroundProcess(["python3", "-c", Self.script, path])
        do {
            try waitUntil("the fanotify mark on \(path)") {
                if let status = helper.poll() { throw POSIXFailure("fanotify helper exited \(status): \(helper.log)") }
                return helper.log.contains("marked")
            }
        } catch {
            helper.stop()
            throw error
        }
    }

    /// The pid of the first process held, once one is.
    var heldPid: pid_t? {
        helper.log.split(separator: "\n").first { $0.hasPrefix("held ") }.flatMap { pid_t($0.dropFirst(5)) }
    }

    /// Lets the held opens (and any later ones) through and ends the helper.
    func release() { helper.stop() }

    private static let script = """
        import ctypes, os, signal, struct, sys
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
        FAN_CLASS_CONTENT, FAN_CLOEXEC, FAN_OPEN_PERM, FAN_MARK_ADD, FAN_ALLOW = 0x4, 0x1, 0x10000, 0x1, 0x1
        fd = libc.fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, os.O_RDONLY)
        if fd < 0 or libc.fanotify_mark(fd, FAN_MARK_ADD, FAN_OPEN_PERM, -100, sys.argv[1].encode()) != 0:
            sys.exit("fanotify: " + os.strerror(ctypes.get_errno()))
        held = []
        def allow(*_):
            for f in held:
                os.write(fd, struct.pack("iI", f, FAN_ALLOW))
            os._exit(0)
        signal.signal(signal.SIGTERM, allow)
        print("marked", flush=True)
        while True:
            buf = os.read(fd, 4096)
            while len(buf) >= 24:
                length, _, _, _, _, f, pid = struct.unpack("IBBHQii", buf[:24])
                held.append(f)
                print("held %d" % pid, flush=True)
                buf = buf[length:]
        """
}
