#!/usr/bin/python3
"""telltale's statsd over UDP: the highest rate it takes with < 1 % loss, measured exactly as
../shared/bench/statsd_udp.py measures etsy statsd (its anchorlib: the paced sendmmsg blaster,
the rate search, the CPU meter), so the two numbers are comparable side by side.

A release telltale runs with statsd only (flush every 1 s, like the etsy peer), a socket receive
buffer equal to the peer's (net.core.rmem_default = 212992 B unless --rcvbuf), and a storage
schema giving `stats_counts.bench.*` 1 s slots, so every flush is kept. Each trial sends
N = R x 10 s counter increments `bench.cK:1|c` (K over 1000 keys; --lines 10 packs 10 per
datagram), waits for the flushes, and sums the stored `stats_counts.bench.*` values through
/render. loss = 1 - sum / sent.

  benches/statsd_udp.py [--lines 1|10] [--rcvbuf B] [--bench-dir ../shared/bench]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HTTP, PORT = 18083, 18125


def render_sum(t0):
    url = (f"http://127.0.0.1:{HTTP}/render?target=stats_counts.bench.*&format=json"
           f"&from={int(t0) - 2}&until={int(time.time()) + 2}")
    data = json.load(urllib.request.urlopen(url, timeout=60))
    return sum(p[0] for s in data for p in s["datapoints"] if p[0] is not None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1, choices=(1, 10))
    ap.add_argument("--rcvbuf", type=int, default=212992)
    ap.add_argument("--bench-dir", default=os.path.join(HERE, "..", "..", "shared", "bench"))
    ap.add_argument("--start", type=float, default=None)
    ap.add_argument("--budget", type=float, default=150.0)
    ap.add_argument("--duration", type=float, default=10.0)
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.bench_dir))
    import anchorlib as A  # noqa: E402

    t_begin = time.time()
    if a.start is None:
        a.start = 200000 if a.lines == 1 else 50000
    tmp = tempfile.mkdtemp(prefix="telltale-statsd-bench.")
    with open(os.path.join(tmp, "schemas.conf"), "w") as f:
        f.write("[bench]\npattern = ^stats_counts\\.bench\\.\nretentions = 1s:1h\n"
                "[default]\npattern = .*\nretentions = 10s:6h\n")
    with open(os.path.join(tmp, "telltale.toml"), "w") as f:
        f.write(f'data_dir = "{tmp}/data"\n[http]\nlisten = "127.0.0.1:{HTTP}"\n'
                '[syslog]\nlisten = "off"\n[carbon]\nlisten = "off"\n'
                f'[statsd]\nlisten = "127.0.0.1:{PORT}"\ntcp = false\nflush_interval_ms = 1000\n'
                f'udp_recv_buffer = {a.rcvbuf}\n[metrics]\nschemas = "{tmp}/schemas.conf"\n')
    binary = os.environ.get("TELLTALE_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/telltale/target")),
        "release", "telltale")
    srv = subprocess.Popen([binary, "serve", "--config", os.path.join(tmp, "telltale.toml")],
                           stderr=open(os.path.join(tmp, "server.log"), "w"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{HTTP}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        if a.lines == 1:
            pl = [b"bench.c%d:1|c" % i for i in range(1000)]
        else:
            pl = [b"\n".join(b"bench.c%d:1|c" % ((j * a.lines + i) % 1000) for i in range(a.lines))
                  for j in range(1000 // a.lines)]
        b = A.UdpBlaster(PORT, pl)
        b.send(2000, 20000)
        time.sleep(2.5)

        def do(rate):
            t0 = time.time()
            time.sleep(1.0 - (t0 % 1.0))  # start on a second boundary
            t0 = time.time()
            cpu = A.CpuMeter([srv.pid]).start()
            sent, el = b.send(int(rate * a.duration), rate)
            c = cpu.stop()
            time.sleep(3.0)  # two flushes after the last datagram
            got = render_sum(t0)
            exp = sent * a.lines
            r = dict(rate=rate, achieved=sent / el, sent=sent, counted=got,
                     counted_per_s=got / el, loss=1 - got / exp if exp else 0,
                     cpu=c["peer_cpu"], gen_cpu=c["gen_cpu"], foreign=c["foreign"])
            A.log(A.fmt(r))
            return r

        res, trials = A.rate_search(do, a.start, t_begin, a.budget, a.duration + 5)
        res = dict(lines=a.lines, rcvbuf=a.rcvbuf, **res, metrics_per_s=res["max_ok_rate"] * a.lines,
                   peak_metrics_per_s=max(t["counted_per_s"] for t in trials))
        print("telltale_statsd_udp " + A.fmt(res))
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
