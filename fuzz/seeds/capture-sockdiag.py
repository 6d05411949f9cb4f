#!/usr/bin/env python3
"""Seeds for the tcp-message and unix-message harnesses: real sock_diag replies.

Run as root: `fuzz/seeds/capture-sockdiag.py OUTDIR`. In a network namespace of
its own it makes listeners (v4, v6, dual-stack, v6only, bound to a device,
SO_REUSEPORT, with unaccepted connections), established connections with unread
bytes, CLOSE-WAIT, a TCP_DEFER_ACCEPT request socket (SYN-RECV), TIME-WAIT and
UNIX stream/seqpacket listeners (path, abstract, long name), then asks the kernel
for them as the shim does (tcp_info) and with every extension, and writes each
reply message (one nlmsghdr + payload, as bd_parse_*_message gets it) to a file.
"""
import os, socket, struct, subprocess, sys, time

SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
# File names say what a message is: the state byte after the family byte.
STATES = {1: "estab", 2: "synsent", 3: "synrecv", 4: "finwait1", 5: "finwait2", 6: "timewait",
          7: "close", 8: "closewait", 9: "lastack", 10: "listen"}
UNIX_TYPES = {1: "stream", 2: "dgram", 5: "seqpacket"}


def dump(payload):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    s.bind((0, 0))
    s.send(struct.pack("=IHHII", 16 + len(payload), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + payload)
    msgs = []
    while True:
        buf = s.recv(65536)
        off = 0
        while off + 16 <= len(buf):
            length, kind = struct.unpack_from("=IH", buf, off)
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                s.close()
                return msgs
            msgs.append(buf[off:off + length])
            off += (length + 3) & ~3


def inet_request(family, ext):
    # inet_diag_req_v2: family, protocol, ext, pad, states, then a zero sockid.
    return struct.pack("=BBBBI", family, socket.IPPROTO_TCP, ext, 0, 0xFFFFFFFF) + bytes(48)


def unix_request(show):
    # unix_diag_req: family, protocol, pad, states, ino, show, cookie.
    return struct.pack("=BBHIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, show) + bytes(8)


def listener(family, addr, port, backlog=8, **opts):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if opts.get("reuseport"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if "v6only" in opts:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, opts["v6only"])
    if opts.get("device"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, opts["device"].encode())
    if opts.get("defer"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
    s.bind((addr, port))
    s.listen(backlog)
    return s


def make_sockets(tmp):
    keep = []
    full = listener(socket.AF_INET, "127.0.0.1", 8080, backlog=2)
    keep.append(full)
    for _ in range(3):  # one more than the backlog: a full queue
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", 8080))
        keep.append(c)
    keep.append(listener(socket.AF_INET, "0.0.0.0", 8081, backlog=4096))
    keep.append(listener(socket.AF_INET6, "::1", 8082))
    keep.append(listener(socket.AF_INET6, "::", 8083, v6only=0))
    keep.append(listener(socket.AF_INET6, "::", 8084, v6only=1))
    keep.append(listener(socket.AF_INET, "127.0.0.1", 8085, device="lo"))
    keep += [listener(socket.AF_INET, "127.0.0.1", 8086, reuseport=True) for _ in range(2)]
    # Established with unread bytes on both sides, and CLOSE-WAIT.
    srv = listener(socket.AF_INET6, "::", 8087, v6only=0)
    keep.append(srv)
    for addr in ("127.0.0.1", "::1"):
        c = socket.create_connection((addr, 8087))
        c.sendall(b"GET / HTTP/1.1\r\n\r\n")
        a, _ = srv.accept()
        a.sendall(b"x" * 3000)
        keep += [c, a]
    c = socket.create_connection(("127.0.0.1", 8087))
    a, _ = srv.accept()
    c.close()  # the accepted side is now CLOSE-WAIT, the client FIN-WAIT-2
    keep.append(a)
    # TIME-WAIT: the accepted side closes first and the client answers.
    c = socket.create_connection(("127.0.0.1", 8087))
    a, _ = srv.accept()
    a.close()
    time.sleep(0.1)
    c.close()
    # SYN-RECV: TCP_DEFER_ACCEPT holds a handshake without data as a request socket.
    keep.append(listener(socket.AF_INET, "127.0.0.1", 8088, defer=True))
    c = socket.create_connection(("127.0.0.1", 8088))
    keep.append(c)
    # UNIX: a path with a pending connection, abstract, seqpacket, a 107-byte path.
    path = os.path.join(tmp, "app.sock")
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(path)
    u.listen(16)
    keep.append(u)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    keep.append(c)
    for kind, name in ((socket.SOCK_STREAM, "\0backlogd-seed"), (socket.SOCK_SEQPACKET, "\0backlogd-seq"),
                       (socket.SOCK_STREAM, os.path.join(tmp, "l" * (107 - len(tmp) - 1)))):
        s = socket.socket(socket.AF_UNIX, kind)
        s.bind(name)
        s.listen(5)
        keep.append(s)
    keep += list(socket.socketpair())
    time.sleep(0.3)
    return keep


def main():
    out = sys.argv[1]
    tcp_dir, unix_dir = os.path.join(out, "tcp-message"), os.path.join(out, "unix-message")
    os.makedirs(tcp_dir, exist_ok=True)
    os.makedirs(unix_dir, exist_ok=True)
    tmp = f"/tmp/bdseed{os.getpid()}"
    os.makedirs(tmp)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    keep = make_sockets(tmp)
    seen = set()

    def write(d, prefix, msgs):
        for m in msgs:
            if m in seen:
                continue
            seen.add(m)
            kind = f"{STATES.get(m[17], m[17])}" if d == tcp_dir else f"{UNIX_TYPES.get(m[17], m[17])}-{STATES.get(m[18], m[18])}"
            with open(os.path.join(d, f"{prefix}-{kind}-{len(seen):02d}.bin"), "wb") as f:
                f.write(m)

    for family, name in ((socket.AF_INET, "v4"), (socket.AF_INET6, "v6")):
        write(tcp_dir, f"{name}-info", dump(inet_request(family, 1 << 1)))  # INET_DIAG_INFO, as the shim asks
        write(tcp_dir, f"{name}-allext", dump(inet_request(family, 0xFF)))
    write(unix_dir, "name-rqlen", dump(unix_request(0x01 | 0x10)))  # UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN, as the shim asks
    write(unix_dir, "all", dump(unix_request(0xFF)))
    for s in keep:
        s.close()
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
