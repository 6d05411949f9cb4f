import Foundation

/// The listener-drop cases of README's "Drops", each made with real sockets in a
/// namespace of the test's own by a small python3 program that keeps them open
/// until it is stopped (by PID). It prints `ready` once the scenario is set up.
enum DropScenario {
    static func start(_ name: String, in ns: NetNamespace) throws -> BackgroundProcess {
        let p = try BackgroundProcess(["python3", "-c", script, name], in: ns)
        do {
            try waitUntil("the \(name) scenario to be set up") {
                if let s = p.poll() { throw DaemonExited(status: s, log: p.log) }
                return p.log.contains("ready")
            }
        } catch {
            p.stop()
            throw error
        }
        return p
    }

    private static let script = #"""
        import socket, subprocess, sys, time
        case = sys.argv[1]
        def sysctl(name, value):
            open("/proc/sys/" + name.replace(".", "/"), "w").write(str(value))
        def nft(text):
            subprocess.run(["nft", "-f", "-"], input=text, text=True, check=True)
        def listener(port, backlog, fam=socket.AF_INET, addr="127.0.0.1", reuseport=False, v6only=None, defer=None):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuseport: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
            if defer is not None: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, defer)
            s.bind((addr, port)); s.listen(backlog)
            return s
        def client(port, sport=0, block=True):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if sport:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); c.bind(("127.0.0.1", sport))
            if block:
                c.settimeout(2); c.connect(("127.0.0.1", port))
            else:
                c.setblocking(False)
                try: c.connect(("127.0.0.1", port))
                except BlockingIOError: pass
            return c
        keep = []
        if case == "syn":
            # Accept queue full when the SYN arrives: two listeners at different rates, one idle.
            a, b, idle = listener(7101, 1), listener(7102, 1), listener(7103, 8)
            keep += [a, b, idle] + [client(7101, block=False) for _ in range(8)] + [client(7102, block=False) for _ in range(3)]
        elif case == "synqueue":
            # SYN queue full without syncookies: the clients' final ACKs never arrive.
            sysctl("net.ipv4.tcp_syncookies", 0)
            nft("table inet bd { chain in { type filter hook input priority 0; policy accept;\n"
                "tcp dport 7104 tcp flags & (syn|ack) == ack drop\n}\n}\n")
            keep += [listener(7104, 2)] + [client(7104, block=False) for _ in range(5)]
        elif case in ("ack", "abort"):
            # Final ACKs refused: two handshakes wait (their ACKs held back) while the
            # accept queue fills, then the ACKs are let through.
            sysctl("net.ipv4.tcp_abort_on_overflow", 1 if case == "abort" else 0)
            nft("table inet bd { chain in { type filter hook input priority 0; policy accept;\n"
                "tcp dport 7105 tcp sport { 40001, 40002 } tcp flags & (syn|ack) == ack drop\n}\n}\n")
            keep += [listener(7105, 2), client(7105, sport=40001), client(7105, sport=40002)]
            keep += [client(7105) for _ in range(3)]
            subprocess.run(["nft", "delete", "table", "inet", "bd"], check=True)
        elif case == "defer":
            # TCP_DEFER_ACCEPT: each client's bare final ACK is ignored.
            keep += [listener(7106, 16, defer=5)] + [client(7106) for _ in range(3)]
        elif case == "reuseport":
            # Clients are spread over the members by a hash of their address: 32 so that each gets some.
            keep += [listener(7107, 0, reuseport=True), listener(7107, 0, reuseport=True)]
            for _ in range(32):
                keep.append(client(7107, block=False)); time.sleep(0.01)
        elif case == "dualstack":
            keep += [listener(7108, 1, fam=socket.AF_INET6, addr="::", v6only=0)]
            keep += [client(7108, block=False) for _ in range(6)]
        else:
            sys.exit("no case " + case)
        print("ready", flush=True)
        while True: time.sleep(60)
        """#
}
