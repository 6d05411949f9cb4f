import Foundation

/// Small servers and clients in Python for the hung-or-busy tests: each does one
/// thing a real server does when it is busy or hung, nothing else. Run with
/// `TestServers.start(mode, args, in: ns)`; each prints `ready` once it listens.
enum TestServers {
    static let script = #"""
import os, socket, sys, threading, time

def listener(port, backlog=64):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(backlog)
    print("ready", flush=True)
    return l

def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data:
        b = c.recv(4096)
        if not b:
            return None
        data += b
    return data

def answer(c, body=b"ok\n"):
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    c.close()

mode, port = sys.argv[1], int(sys.argv[2])

if mode == "cpu":
    # One process, one request at a time, each SECONDS of CPU.
    seconds = float(sys.argv[3])
    l = listener(port)
    while True:
        c, _ = l.accept()
        read_head(c)
        end = time.process_time() + seconds
        x = 0
        while time.process_time() < end:
            x += 1
        answer(c)

elif mode == "upload":
    # One process, one request at a time, each reading its body as it trickles in.
    l = listener(port)
    while True:
        c, _ = l.accept()
        head = read_head(c) or b""
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
        while len(body) < length:
            b = c.recv(1)
            if not b:
                break
            body += b
        answer(c)

elif mode == "idle":
    # Serves until the file HANG exists, then stops calling accept() and does nothing.
    hang = sys.argv[3]
    l = listener(port)
    l.settimeout(0.2)
    while not os.path.exists(hang):
        try:
            c, _ = l.accept()
        except socket.timeout:
            continue
        read_head(c)
        answer(c)
    while True:
        time.sleep(3600)

elif mode == "lock":
    # The accept loop takes a lock per connection; once HANG exists another thread
    # takes it and never gives it back, while two more threads sleep in a loop.
    hang = sys.argv[3]
    lock = threading.Lock()
    def holder():
        while not os.path.exists(hang):
            time.sleep(0.1)
        lock.acquire()
        while True:
            time.sleep(3600)
    def sleeper():
        while True:
            time.sleep(1)
    for f in (holder, sleeper, sleeper):
        threading.Thread(target=f, daemon=True).start()
    l = listener(port)
    while True:
        with lock:
            c, _ = l.accept()
        read_head(c)
        answer(c)

elif mode in ("requests", "keepalive"):
    # N clients, each: connect, GET, read until the server closes, again (a client waits as
    # long as it takes). `requests` asks the server to close after the answer; `keepalive`
    # is browser-like: one request, then idle on the connection until the server closes it.
    n = int(sys.argv[3])
    request = b"GET / HTTP/1.1\r\nHost: t\r\n" + (b"Connection: close\r\n" if mode == "requests" else b"") + b"\r\n"
    def client():
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=120)
                c.sendall(request)
                while c.recv(4096):
                    pass
                c.close()
            except OSError:
                time.sleep(0.1)
    for _ in range(n):
        threading.Thread(target=client, daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)

elif mode == "trickle":
    # One client uploading SECONDS*10 bytes, one every 0.1 s, again and again.
    seconds = float(sys.argv[3])
    def client():
        while True:
            try:
                n = int(seconds * 10)
                c = socket.create_connection(("127.0.0.1", port), timeout=120)
                c.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
                for _ in range(n):
                    c.sendall(b"x")
                    time.sleep(0.1)
                while c.recv(4096):
                    pass
                c.close()
            except OSError:
                time.sleep(0.1)
    threading.Thread(target=client, daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)
"""#

    /// Starts `mode` with `args` in `ns` and waits for its `ready` line.
    static func start(_ mode: String, port: UInt16, _ args: [String] = [], in ns: NetNamespace) throws -> BackgroundProcess {
        let path = temporaryPath("servers") + ".py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let p = try BackgroundProcess(["python3", "-u", path, mode, "\(port)"] + args, in: ns)
        do {
            try waitUntil("\(mode) to be ready") {
                if let s = p.poll() { throw DaemonExited(status: s, log: p.log) }
                return p.log.contains("ready")
            }
        } catch {
            p.stop()
            throw error
        }
        return p
    }
}
