#!/usr/bin/env python3
"""Basic-auth timing, known user against unknown user, per bcrypt cost.

For each cost: a backlogd in a network namespace of its own whose web config has
one user (prom, a hash made by htpasswd at that cost); GET /healthz with a wrong
password, alternately as prom and as a user that does not exist, each request
from a loopback address of its own (no address is backed off after its failure),
paced so that the checks stay within their CPU budget. Prints per cost the 10th,
50th and 90th percentile of each and whether the two ranges overlap. Run as root:

    python3 Tests/Scripts/auth_timing.py --backlogd .build/release/backlogd --costs 5,10,14 --samples 50
"""
import argparse, base64, http.client, json, os, statistics, subprocess, sys, tempfile, time

def measure(port, samples):
    out = {"known": [], "unknown": []}
    n = 0
    for i in range(samples):
        for who in ("known", "unknown"):
            n += 1
            src = "127.1.%d.%d" % (n // 250, n % 250 + 1)
            user = "prom" if who == "known" else "nobody-%d" % i
            auth = base64.b64encode(("%s:wrong-%d" % (user, i)).encode()).decode()
            t0 = time.monotonic()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(src, 0))
            c.request("GET", "/healthz", headers={"Authorization": "Basic " + auth})
            status = c.getresponse().status
            c.close()
            took = time.monotonic() - t0
            if status != 401:
                raise SystemExit("unexpected %d for %s" % (status, who))
            out[who].append(took)
            # Four times as long again: the checks' average stays at a fifth of a core (their budget).
            time.sleep(took * 4)
    print(json.dumps(out))

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlogd", required=True)
    ap.add_argument("--costs", default="5,10,14")
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--measure", type=int)  # internal: inside the namespace
    a = ap.parse_args()
    if a.measure:
        return measure(a.measure, a.samples)
    print("cost  known p10/p50/p90 (ms)     unknown p10/p50/p90 (ms)   overlap")
    for cost in [int(c) for c in a.costs.split(",")]:
        ns = "bd-auth-%d-%d" % (os.getpid(), cost)
        d = tempfile.mkdtemp(prefix="bd-auth-")
        daemon = None
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
            h = subprocess.run(["htpasswd", "-nbBC", str(cost), "", "secret"], check=True, capture_output=True, text=True).stdout.strip().strip(":")
            web = os.path.join(d, "web.yml")
            with open(web, "w") as f:
                f.write('basic_auth_users:\n  prom: "%s"\n' % h)
            daemon = subprocess.Popen(["ip", "netns", "exec", ns, a.backlogd, "--listen", "127.0.0.1:24519", "--web.config.file", web],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(300):
                r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    "http://127.0.0.1:24519/healthz"], capture_output=True, text=True)
                if r.stdout == "401":
                    break
                time.sleep(0.1)
            r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, __file__, "--backlogd", a.backlogd,
                                "--samples", str(a.samples), "--measure", "24519"], check=True, capture_output=True, text=True)
            t = json.loads(r.stdout)
            k, u = t["known"], t["unknown"]
            overlap = pct(k, 0.1) <= pct(u, 0.9) and pct(u, 0.1) <= pct(k, 0.9)
            ms = lambda xs: "%.1f/%.1f/%.1f" % (pct(xs, 0.1) * 1e3, statistics.median(xs) * 1e3, pct(xs, 0.9) * 1e3)
            print("%4d  %-26s %-26s %s" % (cost, ms(k), ms(u), "yes" if overlap else "NO"), flush=True)
            print("AUTH_TIMING " + json.dumps({"cost": cost, "known_p50_s": statistics.median(k), "unknown_p50_s": statistics.median(u),
                                              "overlap": overlap}), flush=True)
        finally:
            if daemon:
                daemon.kill()
                daemon.wait()
            subprocess.run(["ip", "netns", "delete", ns])
            subprocess.run(["rm", "-rf", d])

if __name__ == "__main__":
    main()
