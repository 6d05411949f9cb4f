#!/usr/bin/env python3
"""Seeds for the request-head harness: request heads real clients send.

Run as root: `fuzz/seeds/capture-request-heads.py OUTDIR`. In a network namespace
of its own it listens on 127.0.0.1 and records the head of each request from curl
(plain, gzip, absolute-form through a proxy setting, HTTP/1.0), Python's urllib and
a Prometheus server scraping it. Each file starts with the harness's control byte
(0x3f: 64-byte reads, no clock; see RequestHeadHarness.swift), then the head.
"""
import os, socket, subprocess, sys, tempfile, threading, time

HEADS = []


def serve(srv):
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        HEADS.append(data)
        body = b"up 1\n"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        conn.close()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 24519))
    srv.listen(16)
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
    url = "http://127.0.0.1:24519/metrics"
    clients = [
        ("curl", ["curl", "-s", url]),
        ("curl-gzip", ["curl", "-s", "--compressed", "-H", "Accept: text/plain", url]),
        ("curl-absolute-form", ["curl", "-s", "-x", "http://127.0.0.1:24519", "http://backlogd.example:24519/metrics"]),
        ("curl-http10", ["curl", "-s", "-0", "http://127.0.0.1:24519/healthz"]),
        ("curl-snapshot-query", ["curl", "-s", "-H", "Accept: application/json", url.replace("/metrics", "/snapshot?pretty=1")]),
        ("python-urllib", [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen('{url}').read()"]),
    ]
    names = []
    for name, cmd in clients:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=10)
        names.append(name)
    # Prometheus scraping us: its first request head, then it is stopped.
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                    "scrape_configs: [{job_name: backlogd, static_configs: [{targets: ['127.0.0.1:24519']}]}]\n")
        before = len(HEADS)
        p = subprocess.Popen(["prometheus", f"--config.file={conf}", f"--storage.tsdb.path={tmp}/data",
                              "--web.listen-address=127.0.0.1:9090"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while len(HEADS) == before and time.time() < deadline:
                time.sleep(0.2)
        finally:
            p.kill()
            p.wait()
        if len(HEADS) > before:
            names.append("prometheus")
    for name, head in zip(names, HEADS):
        with open(os.path.join(out, name + ".txt"), "wb") as f:
            f.write(b"\x3f" + head)
    srv.close()


if __name__ == "__main__":
    main()
